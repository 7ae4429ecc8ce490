"""Tenancy and bearer authentication on everything under /scim/v2, over HTTP as an IdP calls."""

import pytest

from fluid_scim.services import organisations
from tests.support.tenants import make_tenant, scim_request
from tests.support.urns import ERROR_URN, SERVICE_PROVIDER_CONFIG_URN


def _assert_scim_error(response, status):
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)
    assert body["detail"]
    return body


@pytest.fixture
def two_tenants(app):
    return make_tenant(app), make_tenant(app)


@pytest.mark.live
@pytest.mark.parametrize(
    ("case", "headers", "status", "detail", "challenge"),
    [
        ("no header", {}, 401, "'Authorization: Bearer <secret token>' header is required", 'Bearer realm="fluid-scim"'),
        ("basic scheme", {"Authorization": "Basic dXNlcjpwYXNz"}, 401, "must use the Bearer scheme", 'error="invalid_request"'),
        ("empty bearer", {"Authorization": "Bearer "}, 401, "missing or malformed", 'error="invalid_request"'),
        ("wrong token", {"Authorization": "Bearer fscim_wrong"}, 401, "not valid for this organisation", 'error="invalid_token"'),
        ("oversized token", {"Authorization": "Bearer " + "x" * 5000}, 401, "missing or malformed", 'error="invalid_request"'),
    ],
)
def test_bad_credentials_are_401_with_a_bearer_challenge(live_server, two_tenants, case, headers, status, detail, challenge):
    tenant, _ = two_tenants
    response = scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=None, headers=headers)
    body = _assert_scim_error(response, status)
    assert detail in body["detail"]
    assert challenge in response.headers["WWW-Authenticate"]


@pytest.mark.live
def test_a_token_of_one_organisation_never_opens_another(live_server, two_tenants):
    first, second = two_tenants
    for tenant, other in ((first, second), (second, first)):
        ok = scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
        assert ok.status_code == 200
        refused = scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=other.token)
        _assert_scim_error(refused, 401)


@pytest.mark.live
def test_lower_case_bearer_scheme_is_accepted(live_server, tenant):
    response = scim_request(
        live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=None,
        headers={"Authorization": f"bearer {tenant.token}"},
    )
    assert response.status_code == 200


@pytest.mark.live
def test_organisation_without_token_refuses_everything(live_server, app):
    tenant = make_tenant(app, with_token=False)
    response = scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token="fscim_anything")
    _assert_scim_error(response, 401)


@pytest.mark.live
def test_sync_disabled_is_403_after_authentication_and_404_401_come_first(live_server, app, tenant):
    with app.app_context():
        organisations.set_scim_sync_enabled(slug=tenant.slug, enabled=False)
    refused = scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
    body = _assert_scim_error(refused, 403)
    assert f"SCIM sync is disabled for organisation '{tenant.slug}'" in body["detail"]
    assert "Disable SCIM User Sync" in body["detail"]
    # A wrong token still gets 401, not a hint that sync is off.
    _assert_scim_error(scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token="fscim_x"), 401)
    with app.app_context():
        organisations.set_scim_sync_enabled(slug=tenant.slug, enabled=True)
    again = scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
    assert again.status_code == 200


@pytest.mark.live
@pytest.mark.parametrize("host", ["unknown-org.localhost", "localhost", "x.{slug}.localhost", "{slug}.example.com", "127.0.0.1"])
def test_unknown_organisation_is_404_even_with_a_valid_token(live_server, tenant, host):
    response = scim_request(
        live_server.url, "GET", "/ServiceProviderConfig", host=host.format(slug=tenant.slug), token=tenant.token
    )
    body = _assert_scim_error(response, 404)
    assert "no Fluid organisation" in body["detail"]


@pytest.mark.live
def test_unknown_scim_paths_need_the_token_then_answer_scim_404_and_405(live_server, tenant):
    anonymous = scim_request(live_server.url, "GET", "/NoSuchThing", host=tenant.host, token=None)
    _assert_scim_error(anonymous, 401)
    missing = scim_request(live_server.url, "GET", "/NoSuchThing", host=tenant.host, token=tenant.token)
    assert "no SCIM endpoint at /scim/v2/NoSuchThing" in _assert_scim_error(missing, 404)["detail"]
    wrong_method = scim_request(live_server.url, "DELETE", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
    _assert_scim_error(wrong_method, 405)
    assert "GET" in wrong_method.headers["Allow"]


@pytest.mark.live
def test_service_provider_config_is_valid(live_server, tenant):
    response = scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [SERVICE_PROVIDER_CONFIG_URN]
    for feature in ("patch", "bulk", "filter", "changePassword", "sort", "etag"):
        assert isinstance(body[feature]["supported"], bool)
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert body["meta"]["location"] == f"http://{tenant.host}/scim/v2/ServiceProviderConfig"


@pytest.mark.parametrize(("trust", "expected"), [(None, 404), (1, 200)])
def test_forwarded_host_only_counts_behind_a_trusted_proxy(app_factory, tenant, trust, expected):
    client = (app_factory(trust_proxy=trust) if trust else app_factory()).test_client()
    response = client.get(
        "/scim/v2/ServiceProviderConfig",
        headers={"Host": "proxy.internal", "X-Forwarded-Host": tenant.host, "Authorization": f"Bearer {tenant.token}"},
    )
    assert response.status_code == expected
    # And the trusted proxy cannot be bypassed the other way: a forged header without trust is ignored.
    direct = client.get(
        "/scim/v2/ServiceProviderConfig",
        headers={"Host": tenant.host, "X-Forwarded-Host": "other.localhost", "Authorization": f"Bearer {tenant.token}"},
    )
    assert direct.status_code == (200 if not trust else 404)
