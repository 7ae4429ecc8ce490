"""A database outage answers a retryable SCIM error; every response carries the security headers."""

import pytest


def test_an_unreachable_database_is_a_503_scim_error_with_retry_after(app_factory, tenant):
    client = app_factory(database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere").test_client()
    response = client.get("/scim/v2/Users", headers={"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    body = response.get_json(force=True)
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and body["status"] == "503"
    assert "database is unavailable" in body["detail"] and "psycopg" not in body["detail"]


@pytest.mark.parametrize("path", ["/healthz", "/scim/v2/ServiceProviderConfig", "/scim/v2/Users", "/graphql"])
def test_security_headers_on_every_response(client, tenant, path):
    response = client.get(path, headers={"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"})
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in response.headers
    if path != "/healthz":
        assert response.headers["Cache-Control"] == "no-store"


def test_hsts_when_served_over_https(app_factory):
    response = app_factory(public_scheme="https").test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
