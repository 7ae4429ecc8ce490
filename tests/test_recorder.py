"""Events of reads and refusals and the status counts are written in batches, off the request path.

The default (``FLUID_RECORD_FLUSH_SECONDS=1``) is what production runs; the rest of the in-process
suite writes them in the request (``0``) so that a test can look at once.
"""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select

from fluid_scim.extensions import db
from fluid_scim.models import ProvisioningEvent
from fluid_scim.services import history, organisations, provisioning_status
from fluid_scim.services.recorder import recorder_of
from tests.support.services import LiveServer
from tests.support.tenants import ScimClient, make_tenant, wait_until_recorded
from tests.support.urns import USER_URN


def _stored_reads(app, slug: str) -> int:
    with app.app_context():
        organisation = organisations.get_organisation(slug=slug)
        count = db.session.execute(
            select(func.count())
            .select_from(ProvisioningEvent)
            .where(ProvisioningEvent.organisation_id == organisation.id, ProvisioningEvent.operation == "user.read")
        ).scalar_one()
        db.session.remove()
        return int(count)


def _headers(tenant) -> dict[str, str]:
    return {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "User-Agent": "Microsoft.Identity.Provisioning"}


def test_reads_wait_in_memory_and_are_written_together(app_factory):
    app = app_factory(record_flush_seconds=60)
    tenant = make_tenant(app)
    client = app.test_client()
    created = client.post(
        "/scim/v2/Users", json={"schemas": [USER_URN], "userName": "batched@contoso.com"}, headers=_headers(tenant)
    )
    assert created.status_code == 201
    for _ in range(5):
        assert client.get(f"/scim/v2/Users/{created.json['id']}", headers=_headers(tenant)).status_code == 200
    assert client.get("/scim/v2/Users/" + str(uuid.uuid4()), headers=_headers(tenant)).status_code == 404
    assert client.get("/scim/v2/Users", headers={**_headers(tenant), "Authorization": "Bearer fscim_wrong"}).status_code == 401

    # The change's own event is already stored; the reads and refusals are not, yet.
    assert _stored_reads(app, tenant.slug) == 0
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        # Reading the status or the history writes what this process holds first.
        status = provisioning_status.status_of(organisation=organisation)
        assert status.last_hour.requests == 8 and status.last_hour.errors == 2 and status.last_hour.unauthorized == 1
        assert status.consecutive_failures == 2 and status.last_error_status == 401 and status.last_success_at is not None
        page = history.list_events(organisation=organisation, limit=50, kind="scim")
        assert sorted(event.operation for event in page.events) == sorted(["user.created", *["user.read"] * 6, "users.list"])
        refused = [event for event in page.events if event.status == 401]
        assert len(refused) == 1 and refused[0].token_fingerprint is None
    assert _stored_reads(app, tenant.slug) == 6


def _reading(app_factory, interval: float, reads: int):
    """An app recording every ``interval`` seconds, a tenant, and ``reads`` GETs of missing users."""
    app = app_factory(record_flush_seconds=interval)
    tenant = make_tenant(app)
    client = app.test_client()
    for _ in range(reads):
        assert client.get("/scim/v2/Users/" + str(uuid.uuid4()), headers=_headers(tenant)).status_code == 404
    return app, tenant, client


def test_closing_writes_what_is_pending(app_factory):
    app, tenant, client = _reading(app_factory, 60, reads=3)
    assert _stored_reads(app, tenant.slug) == 0
    recorder_of(app).close()
    assert _stored_reads(app, tenant.slug) == 3
    # After closing (a worker on its way out), a request is written at once.
    client.get("/scim/v2/Users/" + str(uuid.uuid4()), headers=_headers(tenant))
    assert _stored_reads(app, tenant.slug) == 4


def test_the_thread_writes_within_the_interval(app_factory):
    app, tenant, _ = _reading(app_factory, 0.1, reads=4)
    assert wait_until_recorded_in_process(app, tenant.slug, expected=4) == 4


def wait_until_recorded_in_process(app, slug: str, *, expected: int) -> int:
    seen = 0
    for _ in range(200):  # 10 s at most
        seen = _stored_reads(app, slug)
        if seen >= expected:
            break
        time.sleep(0.05)
    return seen


def test_a_deleted_organisation_takes_its_pending_rows_along(app_factory):
    app = app_factory(record_flush_seconds=60)
    doomed, kept = make_tenant(app), make_tenant(app)
    client = app.test_client()
    for tenant in (doomed, kept):
        client.get("/scim/v2/Users/" + str(uuid.uuid4()), headers=_headers(tenant))
    with app.app_context():
        db.session.delete(organisations.get_organisation(slug=doomed.slug))
        db.session.commit()
    recorder_of(app).flush()
    assert _stored_reads(app, kept.slug) == 1


@pytest.mark.live
def test_a_worker_stopping_writes_its_pending_events(app, database_url, vault, artifacts_dir):
    env = {
        "FLUID_DATABASE_URL": database_url,
        "VAULT_ADDR": vault.addr,
        "VAULT_TOKEN": vault.token,
        "FLUID_DOTENV": "",
        "FLUID_RECORD_FLUSH_SECONDS": "60",
    }
    tenant = make_tenant(app)
    server = LiveServer.start(env, artifacts_dir, workers=2)
    try:
        entra = ScimClient(server.url, tenant, user_agent="Microsoft.Identity.Provisioning")
        user = entra.post("/Users", {"schemas": [USER_URN], "userName": f"stop-{uuid.uuid4().hex[:8]}@contoso.com"}).json()
        for _ in range(10):
            assert entra.get(f"/Users/{user['id']}").status_code == 200
        assert _stored_reads(app, tenant.slug) == 0
    finally:
        server.stop()  # SIGTERM: gunicorn's worker_exit writes what each worker holds
    assert _stored_reads(app, tenant.slug) == 10
    assert wait_until_recorded(app, tenant, within=1) == 11


def test_pending_rows_wait_out_a_database_outage_within_a_bound(app_factory, monkeypatch, caplog):
    from sqlalchemy.exc import OperationalError

    from fluid_scim.services import recorder as recorder_module

    app, tenant, client = _reading(app_factory, 60, reads=3)
    recorder = recorder_of(app)
    real_write = recorder._write

    def outage(*_args, **_kwargs):
        raise OperationalError("INSERT …", {}, Exception("connection refused"))

    monkeypatch.setattr(recorder, "_write", outage)
    monkeypatch.setattr(recorder_module, "KEEP_AT_MOST", 4)
    assert recorder.flush() == 0  # nothing written, nothing lost yet
    for _ in range(3):
        client.get("/scim/v2/Users/" + str(uuid.uuid4()), headers=_headers(tenant))
    assert recorder.flush() == 0
    assert "dropped provisioning events" in caplog.text  # 6 pending, 4 kept: the oldest two go
    monkeypatch.setattr(recorder, "_write", real_write)
    assert recorder.flush() == 4
    assert _stored_reads(app, tenant.slug) == 4
    with app.app_context():
        status = provisioning_status.status_of(organisation=organisations.get_organisation(slug=tenant.slug))
    assert status.last_hour.requests == 6, "the counts survive whole (they are a few numbers per organisation)"


def test_purging_the_counters_keeps_the_last_two_days_of_every_organisation(app_factory):
    """A platform-wide job (the tenant guard lets it span organisations): old buckets go, recent ones stay."""
    from datetime import timedelta

    from fluid_scim.models import StatusBucket
    from fluid_scim.models.types import utcnow
    from fluid_scim.repositories.scoping import across_organisations

    app = app_factory(record_flush_seconds=0)
    first, second = make_tenant(app), make_tenant(app)
    for tenant in (first, second):
        assert app.test_client().get("/scim/v2/Users/" + str(uuid.uuid4()), headers=_headers(tenant)).status_code == 404
    with app.app_context():
        old = utcnow() - timedelta(days=3)
        for tenant in (first, second):
            organisation = organisations.get_organisation(slug=tenant.slug)
            db.session.add(StatusBucket(organisation_id=organisation.id, starts_at=old, requests=1, errors=0,
                                        unauthorized=0, query_not_found=0))
        db.session.commit()
        assert provisioning_status.purge_buckets() >= 2
        left = db.session.execute(across_organisations(select(StatusBucket.starts_at))).scalars().all()
        assert left and all(starts_at > old for starts_at in left)
        for tenant in (first, second):
            status = provisioning_status.status_of(organisation=organisations.get_organisation(slug=tenant.slug))
            assert status.last_hour.requests == 1 and status.last_day.requests == 1


def test_each_flush_moves_every_organisations_status_on_from_where_it_was(app_factory):
    """Across flushes the status row keeps what a later batch does not replace: the last success when the
    batch had none, the last error when it had none, and failures adding up until a success resets them."""
    app = app_factory(record_flush_seconds=60)
    first, second = make_tenant(app), make_tenant(app)
    client = app.test_client()
    recorder = recorder_of(app)
    missing = "/scim/v2/Users/" + str(uuid.uuid4())

    def status(tenant):
        with app.app_context():
            found = provisioning_status.status_of(organisation=organisations.get_organisation(slug=tenant.slug))
            db.session.remove()
            return found

    assert client.get("/scim/v2/Users", headers=_headers(first)).status_code == 200
    assert client.get(missing, headers=_headers(first)).status_code == 404
    assert client.get("/scim/v2/Users", headers=_headers(second)).status_code == 200
    recorder.flush()  # both organisations in one batch
    one, other = status(first), status(second)
    assert one.consecutive_failures == 1 and one.last_error_status == 404 and one.last_success_at is not None
    assert other.consecutive_failures == 0 and other.last_error_status is None and other.last_success_at is not None

    assert client.get("/scim/v2/Users", headers={**_headers(first), "Authorization": "Bearer fscim_wrong"}).status_code == 401
    recorder.flush()  # failures only: they add up, the last success stays
    after_failure = status(first)
    assert after_failure.consecutive_failures == 2 and after_failure.last_error_status == 401
    assert after_failure.last_success_at == one.last_success_at

    assert client.get("/scim/v2/Users", headers=_headers(first)).status_code == 200
    recorder.flush()  # a success only: failures reset, the last error stays
    after_success = status(first)
    assert after_success.consecutive_failures == 0 and after_success.last_error_status == 401
    assert after_success.last_error_at == after_failure.last_error_at
    assert after_success.last_success_at > one.last_success_at
    assert status(second).last_success_at == other.last_success_at  # untouched by batches without it
