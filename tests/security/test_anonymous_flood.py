"""Callers without the organisation's token cannot spend its request budget, nor fill its history.

Requests that do not authenticate (no ``Authorization`` header, a malformed one, a wrong token, a host
that is no organisation) are counted per client address and for all addresses together; over
either limit they are answered 429 (RFC 7644 §3.12, ``Retry-After``), those without a bearer token
before any database work. The organisation's own budget counts only its authenticated requests, and
a request with the right token is verified whatever the failure counters say. Refusals are counted
in the organisation's status each, but kept as history events only for a sample per minute; those
without a bearer token (never the identity provider's) are counted apart, outside its health verdict.
"""

from __future__ import annotations

from fluid_scim.services import history, organisations, provisioning_status
from fluid_scim.services.recorder import recorder_of
from tests.support.statements import captured_statements
from tests.support.tenants import Tenant, make_tenant
from tests.support.urns import ERROR_URN

FLOODER = "127.0.0.2"
IDP = "127.0.0.1"
# What an anonymous caller may send: nothing, another scheme, an empty bearer, a wrong token.
ANONYMOUS = ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}, {"Authorization": "Bearer fscim_guess"})


def _has_bearer(headers: dict[str, str]) -> bool:
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    return scheme == "Bearer" and bool(token.strip())


def _get(client, tenant: Tenant, address: str, headers: dict[str, str] | None = None):
    return client.get(
        "/scim/v2/ServiceProviderConfig",
        headers={"Host": tenant.host, **(headers if headers is not None else {"Authorization": f"Bearer {tenant.token}"})},
        environ_base={"REMOTE_ADDR": address},
    )


def _assert_429(response) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    body = response.get_json(force=True)
    assert body["schemas"] == [ERROR_URN] and body["status"] == "429"


def test_a_flood_from_one_address_is_refused_there_and_never_spends_the_organisations_budget(app_factory):
    # The organisation's budget is tiny: the flood alone would have exhausted it many times over.
    app = app_factory(
        ratelimit_default="5/minute", auth_failure_limit="8/minute", auth_failure_global_limit="1000/minute",
        record_flush_seconds=60,
    )
    tenant = make_tenant(app)
    client = app.test_client()

    answers = [_get(client, tenant, FLOODER, ANONYMOUS[i % len(ANONYMOUS)]).status_code for i in range(40)]
    assert answers[:8] == [401] * 8 and answers[8:] == [429] * 32
    _assert_429(_get(client, tenant, FLOODER, {"Authorization": "Bearer fscim_another-guess"}))
    # A host that is no organisation is a failure of its address as well.
    nobody = Tenant(slug="nobody-here", token="fscim_guess")
    assert [_get(client, nobody, "127.0.0.3").status_code for _ in range(9)] == [404] * 8 + [429]

    # Once over its limit, the address's requests without a bearer token cost no database work.
    with captured_statements(app) as statements:
        for headers in ANONYMOUS[:3]:
            _assert_429(_get(client, tenant, FLOODER, headers))
    assert statements == []

    # The organisation's identity provider gets its whole budget, from its own address or even the flooded one.
    assert [_get(client, tenant, IDP).status_code for _ in range(4)] == [200] * 4
    assert _get(client, tenant, FLOODER).status_code == 200, "the right token is verified, never locked out"
    refused = _get(client, tenant, IDP)
    _assert_429(refused)
    assert "too many requests for organisation" in refused.get_json(force=True)["detail"]


def test_many_addresses_exhaust_the_global_limit_and_the_right_token_still_works(app_factory):
    app = app_factory(
        ratelimit_default="10/minute", auth_failure_limit="5/minute", auth_failure_global_limit="20/minute",
        record_flush_seconds=60,
    )
    tenant, stranger = make_tenant(app), make_tenant(app)
    client = app.test_client()

    # Ten addresses, each within its own limit of 5: the first 20 failures are answered, then none.
    answers = [_get(client, tenant, f"127.0.0.{10 + n}", ANONYMOUS[n % len(ANONYMOUS)]).status_code
               for n in range(10) for _ in range(4)]
    assert answers.count(401) == 20 and answers[20:] == [429] * 20
    # A fresh address: without a bearer token refused at once, with a wrong one refused once verified.
    _assert_429(_get(client, tenant, "127.0.0.100", {}))
    _assert_429(_get(client, tenant, "127.0.0.101", {"Authorization": "Bearer fscim_guess"}))

    # Any organisation's right token still works, from an address that never failed or one that did.
    assert [_get(client, tenant, IDP).status_code for _ in range(3)] == [200] * 3
    assert _get(client, tenant, "127.0.0.10").status_code == 200
    assert _get(client, stranger, "127.0.0.102").status_code == 200


def test_a_flood_of_refusals_is_counted_in_the_status_but_sampled_in_the_history(app_factory, caplog):
    sample = 3
    app = app_factory(auth_failure_limit="10/minute", refusal_events_per_minute=sample)
    tenant = make_tenant(app)
    client = app.test_client()

    flood = 40
    kinds = [ANONYMOUS[i % len(ANONYMOUS)] for i in range(flood)]
    answers = [_get(client, tenant, FLOODER, headers).status_code for headers in kinds]
    assert answers.count(401) == 10 and answers.count(429) == flood - 10
    assert _get(client, tenant, IDP).status_code == 200

    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        status = provisioning_status.status_of(organisation=organisation)
        events = history.list_events(organisation=organisation, limit=200, kind="scim").events
    # The admin sees every refusal counted: those with a (wrong) bearer token as the identity
    # provider's traffic, those without one apart (an identity provider always sends one)...
    with_bearer = [answer for headers, answer in zip(kinds, answers, strict=True) if _has_bearer(headers)]
    assert status.last_hour.without_token == flood - len(with_bearer) > 0
    assert status.last_hour.requests == len(with_bearer) + 1
    assert status.last_hour.errors == len(with_bearer) and status.last_hour.unauthorized == with_bearer.count(401)
    # ...and a sample of each kind in the history (twice the sample if the flood straddled a minute).
    for refused_status in (401, 429):
        kept = [e for e in events if e.status == refused_status]
        assert 1 <= len(kept) <= 2 * sample, (refused_status, len(kept))
    assert [e.status for e in events if e.status < 400] == [200]
    # The operators' log says how many had no event of their own.
    recorder_of(app).close()
    left_out = [r for r in caplog.records if r.getMessage() == "refusals counted in the status without a history event each"]
    assert sum(r.left_out for r in left_out) == flood - sum(r.events_kept for r in left_out) > 0


def test_a_flood_without_tokens_leaves_the_health_verdict_to_the_identity_providers_traffic(app_factory):
    app = app_factory(auth_failure_limit="1000/minute", auth_failure_global_limit="1000/minute")
    tenant = make_tenant(app)
    client = app.test_client()
    for _ in range(5):
        assert _get(client, tenant, IDP).status_code == 200
    for index in range(60):
        assert _get(client, tenant, FLOODER, ANONYMOUS[index % 3]).status_code == 401  # no bearer token at all

    with app.app_context():
        status = provisioning_status.status_of(organisation=organisations.get_organisation(slug=tenant.slug))
    assert (status.verdict, status.reasons) == ("healthy", ())
    assert (status.last_hour.requests, status.last_hour.errors, status.last_hour.without_token) == (5, 0, 60)
    assert status.last_error_status is None and status.consecutive_failures == 0


def test_refusals_left_out_in_a_minute_a_later_minute_replaced_are_still_logged(app_factory, caplog):
    """A flood that straddles a minute: the first minute's sample is replaced by the second's before any
    flush, and its numbers still reach the operators' log (each minute's kept and left-out refusals)."""
    import uuid
    from datetime import UTC, datetime

    app = app_factory(refusal_events_per_minute=2)
    recorder = recorder_of(app)
    organisation_id = uuid.uuid4()
    first, second = datetime(2026, 1, 1, 9, 0, 30, tzinfo=UTC), datetime(2026, 1, 1, 9, 1, 5, tzinfo=UTC)
    kept = [recorder.in_sample(organisation_id, 401, at) for at in [first] * 5 + [second] * 3]
    assert kept == [True, True, False, False, False, True, True, False]
    recorder.close()
    logged = [(r.events_kept, r.left_out) for r in caplog.records
              if r.getMessage() == "refusals counted in the status without a history event each" and r.status == 401
              and r.organisation_id == str(organisation_id)]
    assert sorted(logged) == [(2, 1), (2, 3)]
