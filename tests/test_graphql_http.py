"""The admin API over HTTP against gunicorn: the article's admin flow, refused credentials, limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask

from fluid_scim.services import organisations
from tests.support.graphql import credential, graphql_post
from tests.support.services import LiveServer, Vault
from tests.support.tenants import ScimClient, Tenant
from tests.support.urns import USER_URN

pytestmark = pytest.mark.live
ENTRA_AGENT = "Microsoft.Identity.Provisioning/1.0"
TEST_CONNECTION = '/Users?filter=userName eq "test-connection-probe"'
SYNC = "mutation($on: Boolean!) { setScimSyncEnabled(enabled: $on) { __typename ... on Organisation { scimSyncEnabled } } }"


@pytest.fixture(scope="module")
def strict_server(database_url: str, vault: Vault, artifacts_dir: Path) -> Iterator[LiveServer]:
    """A second server with tight limits and introspection off, as production would run it."""
    env = {
        "FLUID_DATABASE_URL": database_url,
        "VAULT_ADDR": vault.addr,
        "VAULT_TOKEN": vault.token,
        "FLUID_DOTENV": "",
        "FLUID_GRAPHQL_MAX_DEPTH": "4",
        "FLUID_GRAPHQL_MAX_COST": "200",
        "FLUID_GRAPHQL_INTROSPECTION": "false",
    }
    server = LiveServer.start(env, artifacts_dir, workers=1)
    try:
        yield server
    finally:
        server.stop()


def gql(server: LiveServer, tenant: Tenant, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = graphql_post(server.url, query, host=tenant.host, token=token, variables=variables)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return response.json()


def test_article_admin_flow(app: Flask, tenant: Tenant, live_server: LiveServer, vault: Vault) -> None:
    admin = credential(app, tenant.slug)
    entra = ScimClient(live_server.url, tenant, user_agent=ENTRA_AGENT)
    assert entra.get(TEST_CONNECTION).status_code == 200

    # "Disable SCIM User Sync" on: Entra's requests are refused and change nothing.
    off = gql(live_server, tenant, admin, SYNC, {"on": False})
    assert off["data"]["setScimSyncEnabled"] == {"__typename": "Organisation", "scimSyncEnabled": False}
    refused = entra.post("/Users", {"schemas": [USER_URN], "userName": "x@example.com"})
    assert refused.status_code == 403
    assert gql(live_server, tenant, admin, SYNC, {"on": True})["data"]["setScimSyncEnabled"]["scimSyncEnabled"] is True
    assert entra.get(TEST_CONNECTION).status_code == 200

    # Generate a token, copy it once: the old one stops at once, the new one works.
    generate = "mutation { generateScimToken { ... on GeneratedScimToken { token fingerprint } } }"
    generated = gql(live_server, tenant, admin, generate)
    new_token = generated["data"]["generateScimToken"]["token"]
    assert entra.get(TEST_CONNECTION).status_code == 401
    copied = ScimClient(live_server.url, Tenant(tenant.slug, new_token), user_agent=ENTRA_AGENT)
    assert copied.get(TEST_CONNECTION).status_code == 200

    # Never readable again: not in any query's answer; reading it back is off; Vault holds it.
    page = gql(live_server, tenant, admin, """{ organisation { scimToken { isSet fingerprint source lastUsedAt } }
        provisioningStatus { tokenSet tokenLastUsedAt }
        provisioningEvents(first: 50) { edges { node { operation actor changes detail } } } }""")
    assert new_token not in str(page) and tenant.token not in str(page)
    assert page["data"]["organisation"]["scimToken"]["fingerprint"] == generated["data"]["generateScimToken"]["fingerprint"]
    reveal = gql(live_server, tenant, admin, "mutation { revealScimToken { __typename ... on RevealedScimToken { token } } }")
    assert reveal["data"]["revealScimToken"] == {"__typename": "NotAllowed"}
    with app.app_context():
        location = app.extensions["fluid_secret_store"].describe_location(organisations.get_organisation(slug=tenant.slug).id)
    assert vault.read_kv(location.split("/data/", 1)[1])["data"]["token"] == new_token

    # The history names the acting admin for each change.
    events = [edge["node"] for edge in page["data"]["provisioningEvents"]["edges"]]
    admin_changes = [(event["operation"], event["actor"]) for event in events if (event["actor"] or "").startswith("admin:")]
    assert admin_changes[:3] == [
        ("token.generated", "admin:ada@example.com"),
        ("sync.enabled", "admin:ada@example.com"),
        ("sync.disabled", "admin:ada@example.com"),
    ]


def test_refused_credentials(app: Flask, tenant: Tenant, live_server: LiveServer) -> None:
    with app.app_context():
        key = app.extensions["fluid_secret_store"].admin_jwt_key()
        organisation_id = str(organisations.get_organisation(slug=tenant.slug).id)
    now = int(time.time())
    base = {"sub": "ada@example.com", "org": tenant.slug, "org_id": organisation_id, "roles": ["fluid_admin"], "iss": "fluid",
            "aud": "fluid-scim-admin"}
    refused = {
        "expired": jwt.encode({**base, "iat": now - 4000, "exp": now - 400}, key, algorithm="HS256"),
        "wrongly signed": jwt.encode({**base, "iat": now, "exp": now + 600}, b"x" * 32, algorithm="HS256"),
        "wrong audience": jwt.encode({**base, "aud": "another-api", "iat": now, "exp": now + 600}, key, algorithm="HS256"),
        "missing": None,
    }
    for why, token in refused.items():
        response = graphql_post(live_server.url, "{ viewer { subject } }", host=tenant.host, token=token)
        assert response.status_code == 401, why
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        assert response.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    other = credential(app, "another-org")
    wrong_host = graphql_post(live_server.url, "{ viewer { subject } }", host=tenant.host, token=other)
    assert wrong_host.status_code == 403
    good = graphql_post(live_server.url, "{ viewer { subject } }", host=tenant.host, token=credential(app, tenant.slug))
    assert good.json() == {"data": {"viewer": {"subject": "ada@example.com"}}}


def test_limits_over_http(app: Flask, tenant: Tenant, live_server: LiveServer, strict_server: LiveServer) -> None:
    admin = credential(app, tenant.slug)
    costly = "{ users(first: 100) { edges { node { accessTrail(first: 100) { edges { node { what } } } } } } }"
    too_costly = gql(live_server, tenant, admin, costly)
    assert too_costly["data"] is None and too_costly["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"

    deep = "{ users { edges { node { accessTrail { edges { node { what } } } } } } }"
    too_deep = gql(strict_server, tenant, admin, deep)
    assert too_deep["data"] is None and "exceeds maximum operation depth of 4" in too_deep["errors"][0]["message"]
    cheap_enough = gql(strict_server, tenant, admin, "{ users(first: 5) { edges { node { userName email } } } }")
    assert cheap_enough == {"data": {"users": {"edges": []}}}
    over_budget = gql(strict_server, tenant, admin, "{ users(first: 100) { edges { node { userName email } } } }")
    assert over_budget["errors"][0]["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 401, "maxCost": 200}
    introspection = gql(strict_server, tenant, admin, "{ __schema { types { name } } }")
    assert introspection["data"] is None and "introspection" in introspection["errors"][0]["message"].lower()
