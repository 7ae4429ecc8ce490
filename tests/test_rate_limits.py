"""Per-organisation rate limits and throttled failed bearer attempts (memory and Redis storage).

What callers without the token may cost is shown in tests/security/test_anonymous_flood.py."""

import uuid

import pytest

from tests.support.tenants import make_tenant
from tests.support.urns import ERROR_URN


def _get(client, tenant, token=None):
    token = tenant.token if token is None else token
    return client.get("/scim/v2/ServiceProviderConfig", headers={"Host": tenant.host, "Authorization": f"Bearer {token}"})


def _assert_429(response):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    body = response.get_json(force=True)
    assert body["schemas"] == [ERROR_URN] and body["status"] == "429"


def test_each_organisation_has_its_own_budget(app_factory, app):
    limited = app_factory(ratelimit_default="5/minute")
    first, second = make_tenant(app), make_tenant(app)
    client = limited.test_client()
    assert [_get(client, first).status_code for _ in range(5)] == [200] * 5
    refused = _get(client, first)
    _assert_429(refused)
    assert "too many requests for organisation" in refused.get_json(force=True)["detail"]
    assert _get(client, second).status_code == 200, "another organisation is not affected"


def test_an_organisation_can_be_given_its_own_limit(app_factory, app):
    tenant, other = make_tenant(app), make_tenant(app)
    client = app_factory(ratelimit_default="50/minute", ratelimit_overrides={tenant.slug: "2/minute"}).test_client()
    assert [_get(client, tenant).status_code for _ in range(3)] == [200, 200, 429]
    assert [_get(client, other).status_code for _ in range(3)] == [200, 200, 200]


def test_failed_bearer_attempts_are_throttled_but_never_the_right_token(app_factory, app):
    tenant, other = make_tenant(app), make_tenant(app)
    client = app_factory(auth_failure_limit="3/minute").test_client()
    assert [_get(client, tenant, "fscim_guess").status_code for _ in range(3)] == [401, 401, 401]
    _assert_429(_get(client, tenant, "fscim_guess"))
    assert _get(client, tenant).status_code == 200, "the right token is never locked out"
    _assert_429(_get(client, tenant, "fscim_another-guess"))
    # The limit is the client address's, whichever organisation it tries.
    _assert_429(_get(client, other, "fscim_guess"))
    assert _get(client, other).status_code == 200


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [("127.0.0.2", "127.0.0.2"), ("::ffff:127.0.0.2", "127.0.0.2"), ("::1", "::/64")],
)
def test_a_client_is_counted_by_its_ipv4_address_or_its_ipv6_64(app, address, counted_as):
    from fluid_scim.scim_http.rate_limits import client_address

    with app.test_request_context("/scim/v2/Users", environ_base={"REMOTE_ADDR": address}):
        assert client_address() == counted_as


@pytest.mark.parametrize("storage", ["redis://127.0.0.1:6379/15"])
def test_redis_storage_is_shared_by_every_worker(app_factory, app, storage):
    tenant = make_tenant(app)
    settings = {"ratelimit_storage_url": storage, "ratelimit_default": f"4/minute;{uuid.uuid4().int % 1000 + 1000}/hour"}
    worker_a, worker_b = app_factory(**settings).test_client(), app_factory(**settings).test_client()
    statuses = [
        _get(worker_a, tenant).status_code,
        _get(worker_b, tenant).status_code,
        _get(worker_a, tenant).status_code,
        _get(worker_b, tenant).status_code,
    ]
    assert statuses == [200] * 4
    _assert_429(_get(worker_a, tenant))
    _assert_429(_get(worker_b, tenant))


def test_an_unreachable_storage_lets_provisioning_through(app_factory, app, caplog):
    from tests.support.services import free_port

    tenant = make_tenant(app)
    client = app_factory(ratelimit_storage_url=f"redis://127.0.0.1:{free_port()}/0", ratelimit_default="1/minute").test_client()
    assert [_get(client, tenant).status_code for _ in range(3)] == [200, 200, 200]
    assert "rate-limit storage unavailable" in caplog.text
