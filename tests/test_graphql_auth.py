"""Admin credentials: JWT verification (HS256 and RS256), the host rule, ``admin-token``, settings."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskCliRunner

from fluid_scim.config import ConfigError, Settings, load_settings
from fluid_scim.services import organisations
from graphql_admin.auth import InvalidAdminToken, bearer_credential, host_refusal, verify_admin_token
from tests.support.graphql import claims_for
from tests.support.tenants import Tenant

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
SETTINGS = Settings()
ACME_ID = "5b0c5f0e-7d6a-4a57-9a39-6b1f2f1c8e11"


def payload(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"sub": "ada@example.com", "org": "acme", "org_id": ACME_ID, "roles": ["fluid_admin"], "iat": now,
              "exp": now + 600, "iss": "fluid", "aud": "fluid-scim-admin"}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def sign(claims: dict[str, Any], key: Any = KEY, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def test_a_valid_credential() -> None:
    claims = verify_admin_token(sign(payload(platform_operator=True)), key=KEY, settings=SETTINGS)
    assert (claims.subject, claims.organisation, claims.organisation_id, claims.roles, claims.platform_operator) == (
        "ada@example.com", "acme", ACME_ID, ("fluid_admin",), True
    )
    assert claims.is_admin and claims.actor == "admin:ada@example.com"


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: sign(payload(iat=int(time.time()) - 4000, exp=int(time.time()) - 400)), "has expired"),
        (lambda: sign(payload(), OTHER_KEY), "is not valid"),
        (lambda: sign(payload(aud="someone-else")), "not meant for this service"),
        (lambda: sign(payload(iss="evil")), "not issued by Fluid"),
        (lambda: _unsigned(payload()), "is not valid"),
        (lambda: sign(payload(), KEY * 2, "HS512"), "is not valid"),
        (lambda: sign(payload(exp=int(time.time()) + 3601)), "within 3600 seconds"),
        (lambda: sign(payload(roles=None)), "lacks the 'roles' claim"),
        (lambda: sign(payload(org_id=None)), "lacks the 'org_id' claim"),
        (lambda: sign(payload(org=None)), "lacks the 'org' claim"),
        (lambda: sign(payload(aud=None)), "lacks the 'aud' claim"),
        (lambda: sign(payload(org="Not A Slug")), "'org' must be an organisation slug"),
        (lambda: sign(payload(org_id="acme")), "'org_id' must be the organisation's id"),
        (lambda: sign({**payload(), "org_id": None}), "'org_id' must be the organisation's id"),
        (lambda: sign(payload(roles="fluid_admin")), "'roles' must be a list"),
        (lambda: sign(payload(platform_operator="yes")), "'platform_operator' must be true or false"),
        (lambda: "not.a.jwt", "is not valid"),
    ],
    ids=["expired", "wrong-key", "wrong-audience", "wrong-issuer", "alg-none", "other-algorithm", "too-long-lived",
         "no-roles", "no-org-id", "no-org", "no-aud", "bad-org", "bad-org-id", "null-org-id", "bad-roles", "bad-operator",
         "garbage"],
)
def test_refused_credentials(token: Any, reason: str) -> None:
    with pytest.raises(InvalidAdminToken, match=reason):
        verify_admin_token(token(), key=KEY, settings=SETTINGS)


def test_rs256_with_a_configured_public_key() -> None:
    from graphql_admin.auth import verification_key

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    one_line = pem.replace("\n", "\\n")  # as an environment variable usually carries it
    settings = load_settings(environ={"FLUID_ADMIN_JWT_ALGORITHM": "RS256", "FLUID_ADMIN_JWT_PUBLIC_KEY": one_line})
    key = verification_key(settings, store=None)  # type: ignore[arg-type]  # RS256 never asks the store
    assert verify_admin_token(sign(payload(), private, "RS256"), key=key, settings=settings).organisation == "acme"
    # Algorithm confusion: an HS256 token keyed with the public key, and HS256 tokens in general, are refused.
    with pytest.raises(InvalidAdminToken):
        verify_admin_token(sign(payload(), KEY), key=key, settings=settings)
    with pytest.raises(InvalidAdminToken):
        verify_admin_token(sign(payload(), OTHER_KEY), key=key, settings=settings)


def test_settings_of_the_admin_api() -> None:
    with pytest.raises(ConfigError, match="FLUID_ADMIN_JWT_PUBLIC_KEY is required"):
        load_settings(environ={"FLUID_ADMIN_JWT_ALGORITHM": "RS256"})
    with pytest.raises(ConfigError, match="FLUID_ADMIN_JWT_PUBLIC_KEY must be a PEM public key"):
        load_settings(environ={"FLUID_ADMIN_JWT_ALGORITHM": "RS256", "FLUID_ADMIN_JWT_PUBLIC_KEY": "secret"})
    with pytest.raises(ConfigError, match="FLUID_ADMIN_ALLOW_TOKEN_REVEAL must be true or false"):
        load_settings(environ={"FLUID_ADMIN_ALLOW_TOKEN_REVEAL": "maybe"})
    settings = load_settings(
        environ={
            "FLUID_GRAPHQL_MAX_DEPTH": "6",
            "FLUID_GRAPHQL_MAX_COST": "900",
            "FLUID_GRAPHQL_MAX_PAGE_SIZE": "50",
            "FLUID_ADMIN_JWT_ISSUER": "fluid-eu",
            "FLUID_ADMIN_JWT_AUDIENCE": "scim",
            "FLUID_ADMIN_ALLOW_TOKEN_REVEAL": "true",
        }
    )
    assert (settings.graphql_max_depth, settings.graphql_max_cost, settings.graphql_max_page_size) == (6, 900, 50)
    assert (settings.admin_jwt_issuer, settings.admin_jwt_audience) == ("fluid-eu", "scim")
    assert settings.admin_allow_token_reveal is True


def test_bearer_header() -> None:
    assert bearer_credential("Bearer abc.def.ghi") == "abc.def.ghi"
    for header in (None, "", "Basic abc", "Bearer "):
        with pytest.raises(InvalidAdminToken, match="Authorization: Bearer"):
            bearer_credential(header)


@pytest.mark.parametrize(
    ("host", "operator", "refused"),
    [
        ("acme.localhost", False, None),
        ("acme.localhost:8000", False, None),
        ("globex.localhost", False, "this credential is for organisation 'acme', not 'globex'"),
        ("globex.localhost", True, "this credential is for organisation 'acme', not 'globex'"),
        ("localhost", False, "use your organisation's address, acme.localhost, for the admin API"),
        ("localhost", True, None),
        ("127.0.0.1:8000", True, None),
        ("x.acme.localhost", False, "use your organisation's address, acme.localhost, for the admin API"),
    ],
)
def test_host_rule(host: str, operator: bool, refused: str | None) -> None:
    assert host_refusal(claims_for("acme", operator=operator), host, "localhost") == refused


def test_admin_token_command(app: Flask, runner: FlaskCliRunner, tenant: Tenant) -> None:
    with app.app_context():
        key = app.extensions["fluid_secret_store"].admin_jwt_key()
    result = runner.invoke(args=["admin-token", tenant.slug, "--ttl", "120", "--url"])
    assert result.exit_code == 0, result.output
    token, url = result.stdout.splitlines()
    claims = verify_admin_token(token, key=key, settings=app.extensions["fluid_settings"])
    with app.app_context():
        organisation_id = str(organisations.get_organisation(slug=tenant.slug).id)
    assert claims.organisation == tenant.slug and claims.is_admin and not claims.platform_operator
    assert claims.organisation_id == organisation_id
    assert claims.expires_at - claims.issued_at == 120 and claims.subject.startswith("cli:")
    assert url == f"http://{tenant.slug}.localhost/admin#token={token}"

    operator = runner.invoke(args=["admin-token", "newco", "--operator", "--subject", "ops@example.com"])
    assert operator.exit_code == 0, operator.output
    claims = verify_admin_token(operator.stdout.strip(), key=key, settings=app.extensions["fluid_settings"])
    assert claims.platform_operator and claims.subject == "ops@example.com"
    assert claims.organisation_id is None  # no organisation "newco" yet: this credential administers none

    assert runner.invoke(args=["admin-token", "no-such-org"]).exit_code == 1
    assert runner.invoke(args=["admin-token", tenant.slug, "--ttl", "3601"]).exit_code == 2
