"""A database outage answers a retryable SCIM error; every response carries the security headers."""

import pytest

from tests.support.urns import ERROR_URN


def test_an_unreachable_database_is_a_503_scim_error_with_retry_after(app_factory, tenant):
    client = app_factory(database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere").test_client()
    response = client.get("/scim/v2/Users", headers={"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    body = response.get_json(force=True)
    assert body["schemas"] == [ERROR_URN] and body["status"] == "503"
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
    names = [name.lower() for name, _ in response.headers]
    assert len(names) == len(set(names)), f"a header is written twice: {names}"


def test_hsts_when_served_over_https(app_factory):
    response = app_factory(public_scheme="https").test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_a_connection_lost_to_a_database_restart_is_one_503_then_service_resumes(app, tenant, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a database server restart needs PostgreSQL (FLUID_TEST_POSTGRES_URL)")
    import psycopg
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from fluid_scim.extensions import db

    client = app.test_client()
    headers = {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"}
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    with app.app_context():
        # The pool now holds one connection; the server ends its backend, as a restart would.
        pid = db.session.execute(text("select pg_backend_pid()")).scalar_one()
        db.session.remove()
        assert db.engine.pool.checkedin() == 1
    parsed = make_url(database_url)
    with psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname=parsed.database, autocommit=True
    ) as admin:
        admin.execute("select pg_terminate_backend(%s)", (pid,))
    lost = client.get("/scim/v2/Users", headers=headers)
    assert lost.status_code == 503 and lost.headers["Retry-After"] == "30"
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200, "the pool renews itself"
