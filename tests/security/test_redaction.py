"""Nothing shaped like a credential that a caller sends reaches a log line or the database: the
organisation's real SCIM token, an admin JWT and a Vault token sent in a User-Agent, an
X-Request-Id, a query parameter, a filter, a path or the Authorization of a refused request are
masked everywhere (fluid_scim.redaction); an X-Request-Id that is not a UUID is replaced by ours."""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import uuid
from typing import Any

import pytest
import requests
from flask import Flask

from fluid_scim.extensions import db
from fluid_scim.logs import JsonFormatter
from tests.support.graphql import credential, graphql_post
from tests.support.services import LiveServer
from tests.support.tenants import ScimClient, Tenant, scim_request, wait_until_recorded

OUR_ID = re.compile(r"[0-9a-f]{32}")


def _secrets(app: Flask, tenant: Tenant) -> dict[str, str]:
    return {
        "scim token": tenant.token,
        "admin jwt": credential(app, tenant.slug),
        "vault token": "hvs." + secrets.token_urlsafe(72),
        "entered token": "Qx7" + secrets.token_urlsafe(40),
    }


def _database_text(app: Flask) -> str:
    """Every row of every table, as text (read on a connection of its own, like an operator would)."""
    rows = []
    with app.app_context(), db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            rows += [repr(tuple(row)) for row in connection.execute(table.select())]
    return "\n".join(rows)


def _send_everywhere(live_server: LiveServer, tenant: Tenant, admin: str, secret: str) -> None:
    """Send ``secret`` in every place a caller controls; each request id echoed back must be ours.

    The refusals come first and a failure that echoes the secret in its detail last, so that the
    organisation's status keeps that detail as its last error.
    """
    client = ScimClient(live_server.url, tenant, user_agent=f"Provisioner/1.0 {secret}")
    refused = [
        client.get("/Users", headers={"Authorization": f"Bearer {secret}x"}),
        client.get("/Users", headers={"Authorization": secret}),
        scim_request(
            live_server.url, "GET", "/Users", host=tenant.host, token=None, headers={"Authorization": f"Basic {secret}"}
        ),
        graphql_post(live_server.url, "{ viewer { subject } }", host=tenant.host, token=secret + "x"),
    ]
    assert [response.status_code for response in refused] == [401, 401, 401, 401]
    # An admin change through GraphQL, with the secret as its request id and user agent.
    changed = requests.post(
        f"{live_server.url}/graphql",
        json={"query": "mutation { setScimSyncEnabled(enabled: true) { __typename } }"},
        headers={"Host": tenant.host, "Authorization": f"Bearer {admin}", "User-Agent": secret, "X-Request-Id": secret},
        timeout=10,
    )
    assert changed.json() == {"data": {"setScimSyncEnabled": {"__typename": "Organisation"}}}
    answered = [
        client.get("/Users", headers={"X-Request-Id": secret}),
        client.get("/Users", params={"trace": secret, "count": "1"}),
        client.get("/Users", params={"attributes": secret}),
        client.get("/Users", params={"filter": f'userName eq "{secret}" and'}),
        client.get("/Users", params={"filter": f'{secret} eq "x"'}),
        client.get(f"/Users/{secret}"),
        client.get(f"/Groups/{secret}"),
        client.patch(f"/Users/{secret}", [{"op": "replace", "path": "active", "value": False}]),
    ]
    assert [response.status_code for response in answered] == [200, 200, 400, 400, 400, 404, 404, 404]
    # The caller is told what it sent (so the last error kept in the status holds it); nothing keeps it.
    assert all(secret in response.json()["detail"] for response in answered[-3:])
    for response in [*refused, changed, *answered]:
        assert OUR_ID.fullmatch(response.headers["X-Request-Id"]), response.headers["X-Request-Id"]


@pytest.mark.live
@pytest.mark.parametrize("name", ["scim token", "admin jwt", "vault token", "entered token"])
def test_a_secret_sent_anywhere_in_a_request_reaches_no_log_line_and_no_stored_row(
    app: Flask, live_server: LiveServer, tenant: Tenant, name: str
) -> None:
    secret = _secrets(app, tenant)[name]
    _send_everywhere(live_server, tenant, credential(app, tenant.slug), secret)
    wait_until_recorded(app, tenant)

    logs, stored = live_server.log_text(), _database_text(app)
    assert "Provisioner/1.0 [REDACTED]" in logs and "Provisioner/1.0 [REDACTED]" in stored  # the requests were seen
    assert secret not in logs, f"the {name} reached a log line"
    assert secret not in stored, f"the {name} reached the database"


@pytest.mark.live
def test_a_request_id_is_kept_only_when_it_is_a_uuid(live_server: LiveServer, tenant: Tenant) -> None:
    client = ScimClient(live_server.url, tenant)
    for incoming in (str(uuid.uuid4()), uuid.uuid4().hex, str(uuid.uuid4()).upper()):
        assert client.get("/ServiceProviderConfig", headers={"X-Request-Id": incoming}).headers["X-Request-Id"] == incoming
    for incoming in (tenant.token, "entra-7f3a.42", "hvs.CAESIJ9ab", str(uuid.uuid4()) + "x", "{" + str(uuid.uuid4()) + "}"):
        echoed = client.get("/ServiceProviderConfig", headers={"X-Request-Id": incoming}).headers["X-Request-Id"]
        assert echoed != incoming and OUR_ID.fullmatch(echoed)


class _Opaque:
    def __init__(self, value: str) -> None:
        self.value = value

    def __str__(self) -> str:
        return f"Opaque({self.value})"


def test_every_field_of_a_log_record_is_redacted(app: Flask, tenant: Tenant) -> None:
    jwt_value = credential(app, tenant.slug)
    vault_value = "hvs." + secrets.token_urlsafe(72)
    record = logging.LogRecord(
        "fluid_scim.anything", logging.WARNING, __file__, 1, "calling %s with %r", (tenant.token, {"auth": jwt_value}), None
    )
    try:
        raise RuntimeError(f"refused {vault_value}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    record.__dict__.update(
        {
            "user_agent": f"curl/8 {tenant.token}",
            "headers": {"X-Request-Id": vault_value, "nested": [jwt_value, ("deeper", {"again": tenant.token})]},
            "values": {tenant.token, jwt_value},
            "object": _Opaque(vault_value),
            tenant.token: "a secret as a key",
            "count": 3,
        }
    )
    record.stack_info = f"Stack (most recent call last):\n  {jwt_value}"
    line = JsonFormatter().format(record)
    entry: dict[str, Any] = json.loads(line)
    for secret in (tenant.token, jwt_value, vault_value):
        assert secret not in line
    assert entry["user_agent"] == "curl/8 [REDACTED]" and entry["count"] == 3
    assert entry["headers"]["nested"][1][1] == {"again": "[REDACTED]"}
    assert entry["message"] == "calling [REDACTED] with {'auth': '[REDACTED]'}"
    assert entry["object"] == "Opaque([REDACTED])" and "[REDACTED]" in entry["exception"]


def test_a_log_line_keeps_non_ascii_text_and_integers_beyond_64_bits() -> None:
    record = logging.LogRecord("fluid_scim.anything", logging.INFO, __file__, 1, "Zoë's import", (), None)
    record.__dict__.update({"employees": 2**70, "when": uuid.UUID(int=7), "city": "Kraków"})
    line = JsonFormatter().format(record)
    entry: dict[str, Any] = json.loads(line)
    assert "\n" not in line and "Kraków" in line  # one line, UTF-8 as it is
    assert entry["message"] == "Zoë's import" and entry["city"] == "Kraków"
    assert entry["employees"] == 2**70 and entry["when"] == str(uuid.UUID(int=7))


def test_each_shape_of_secret_is_masked_and_ordinary_text_is_not() -> None:
    from fluid_scim.redaction import redact

    masked = [
        "Bearer abc.def-123",
        "Basic dXNlcjpwYXNz",
        "fscim_" + secrets.token_urlsafe(32),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0." + secrets.token_urlsafe(32),
        "hvs." + secrets.token_urlsafe(72),
        "hvb." + secrets.token_urlsafe(40),
        "s.AbCdEfGhIjKlMnOpQrStUvWx",
        "Qx7" + secrets.token_urlsafe(40),
        "zq8!mt3#vl9~wr2$kp7^nb4|xc6*hj1%a",
    ]
    for value in masked:
        assert value not in redact(f"before {value} after"), value
        assert redact(f"before {value} after").startswith("before ") and redact(f"before {value} after").endswith(" after")
    assert redact("?token=abc&password=xyz&count=1") == "?token=[REDACTED]&password=[REDACTED]&count=1"
    ordinary = [
        "/scim/v2/Users/2819c223-7f76-453a-919d-413861904646",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
        "Microsoft.Identity.Provisioning",
        "werkzeug.exceptions.RequestEntityTooLarge",
        uuid.uuid4().hex + uuid.uuid4().hex,
        "acme-2024-production-eu-west-1-tenant-x",
        "the admin credential has expired",
    ]
    for value in ordinary:
        assert redact(value) == value
