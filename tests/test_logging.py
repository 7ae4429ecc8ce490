"""JSON log lines with request ids; no token, digest or Vault credential in any line."""

import json

import pytest
import requests

from fluid_scim.extensions import db
from fluid_scim.logs import redact
from fluid_scim.models import ScimToken
from fluid_scim.services import organisations
from tests.support.tenants import make_tenant, scim_request


def _log_lines(live_server):
    return [json.loads(line) for line in live_server.log_text().splitlines() if line.strip()]


@pytest.mark.live
def test_every_line_is_json_and_request_ids_are_kept_or_made(live_server, tenant):
    incoming = "7f3a42c0-1b2d-4e5f-8a9b-0c1d2e3f4a5b"
    kept = scim_request(
        live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token,
        headers={"X-Request-Id": incoming},
    )
    assert kept.headers["X-Request-Id"] == incoming
    made = requests.get(f"{live_server.url}/healthz", headers={"X-Request-Id": "bad id with spaces"}, timeout=5)
    generated = made.headers["X-Request-Id"]
    assert generated != "bad id with spaces" and len(generated) == 32

    lines = _log_lines(live_server)  # raises if any line is not JSON
    access = [line for line in lines if line.get("request_id") == incoming]
    assert access and access[-1]["path"] == "/scim/v2/ServiceProviderConfig"
    assert access[-1]["status"] == 200 and access[-1]["organisation"] == tenant.slug
    assert access[-1]["method"] == "GET" and access[-1]["level"] == "info"
    assert any(line.get("request_id") == generated and line.get("path") == "/healthz" for line in lines)


@pytest.mark.live
def test_no_secret_reaches_a_log_line(app, live_server, vault):
    tenant = make_tenant(app)
    # Successful, refused and malformed uses of the token, with it in query strings too.
    scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
    scim_request(live_server.url, "GET", f"/ServiceProviderConfig?token={tenant.token}", host=tenant.host, token=tenant.token)
    scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token + "x")
    scim_request(live_server.url, "GET", "/Users", host=tenant.host, token=None, headers={"Authorization": tenant.token})
    scim_request(live_server.url, "GET", "/ServiceProviderConfig", host="other.localhost", token=tenant.token)
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        digest = db.session.get(ScimToken, organisation.id).digest
        key = app.extensions["fluid_secret_store"].token_digest_key()
    text = live_server.log_text()
    for secret in (tenant.token, digest.hex(), key.hex(), vault.token):
        assert secret not in text


def test_redaction_masks_credentials_that_slip_into_a_message():
    line = redact('calling with Authorization: Bearer abc.def-123 and {"token": "s3cr3t"} and fscim_AbC123_-x')
    assert "abc.def-123" not in line and "s3cr3t" not in line and "fscim_AbC123" not in line
    assert line.count("[REDACTED]") >= 3
