"""A worker killed in the middle of a large PATCH leaves it whole or absent; committed work survives."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import uuid

import pytest
import requests
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from fluid_scim.extensions import db
from fluid_scim.models import ScimGroupMember, ScimUser
from fluid_scim.models.scim import new_id
from fluid_scim.models.types import utcnow
from fluid_scim.repositories import mapping
from fluid_scim.repositories.scoping import across_organisations
from fluid_scim.services import organisations
from tests.support.services import wait_until
from tests.support.tenants import ScimClient, wait_until_recorded
from tests.support.urns import GROUP_URN, USER_URN

pytestmark = pytest.mark.live
MEMBERS = 5000


def _users(app, tenant, count: int) -> list[str]:
    """Many users at once, straight through the models (the PATCH under test is what goes over HTTP)."""
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        ids = []
        now = utcnow()
        for index in range(count):
            user = ScimUser(organisation_id=organisation.id, id=new_id(), version=1, created_at=now, updated_at=now)
            mapping.write_user(user, {"userName": f"bulk-{index}-{uuid.uuid4().hex[:6]}"})
            db.session.add(user)
            ids.append(user.id)
        db.session.commit()
    return ids


def _member_count(app, group_id: str) -> int:
    with app.app_context():
        return db.session.execute(
            across_organisations(select(func.count()).select_from(ScimGroupMember).where(ScimGroupMember.group_id == group_id))
        ).scalar_one()


def _writing_members(app, database_url: str) -> bool:
    """Whether another connection is writing: on PostgreSQL, rows of scim_group_member (its RowExclusiveLock);
    on SQLite, which has one writer at a time, anything (the write lock is taken)."""
    if database_url.startswith("sqlite"):
        probe = sqlite3.connect(make_url(database_url).database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:  # database is locked
            return True
        finally:
            probe.close()
    with app.app_context():
        locked = db.session.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation"
                " WHERE pg_class.relname = :table AND pg_locks.mode = 'RowExclusiveLock' AND pg_locks.pid <> pg_backend_pid())"
            ),
            {"table": ScimGroupMember.__tablename__},
        ).scalar_one()
        db.session.remove()
    return bool(locked)


def test_a_worker_killed_mid_patch_leaves_the_change_whole_or_absent(app, tenant, live_server, database_url):
    """The workers are killed once the PATCH writes its member rows, not after a fixed pause.

    Most of the PATCH's time goes to reading and checking; the writes come last and take a fraction
    of a second, so a fixed pause kills the worker before it writes anything (or, on a slow machine,
    before the request arrives). Waiting for the write puts the kill where whole-or-absent is at
    stake. The workers' recorders are drained first, so on SQLite the only writer left is the PATCH."""
    scim = ScimClient(live_server.url, tenant)
    survivor = scim.post("/Users", {"schemas": [USER_URN], "userName": f"committed-{uuid.uuid4().hex[:6]}"}).json()
    ids = _users(app, tenant, MEMBERS)
    group = scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": f"Crash {uuid.uuid4()}"}).json()
    outcome: dict[str, object] = {}

    def patch() -> None:
        try:
            response = scim.patch(
                f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}]
            )
            outcome["status"] = response.status_code
        except requests.RequestException as exc:  # the worker died under the request
            outcome["error"] = type(exc).__name__

    thread = threading.Thread(target=patch)
    workers = live_server.worker_pids()
    wait_until_recorded(app, tenant)
    thread.start()
    wait_until(
        lambda: _writing_members(app, database_url) or not thread.is_alive(), timeout=60, what="the PATCH writing members"
    )
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    thread.join(timeout=60)
    assert not thread.is_alive()

    count = _member_count(app, group["id"])
    print(f"crash outcome: {outcome}, members after: {count}")
    assert count in (0, MEMBERS), f"a half-applied PATCH: {count} of {MEMBERS} members"
    if outcome.get("status") == 204:
        assert count == MEMBERS, "a 204 means committed"

    # gunicorn starts new workers; nothing committed before the crash is lost, and service resumes.
    wait_until(
        lambda: len(live_server.worker_pids()) == len(workers) and not live_server.worker_pids() & workers,
        timeout=30,
        what="workers re-spawned",
    )
    assert scim.get(f"/Users/{survivor['id']}").json()["userName"] == survivor["userName"]
    again = scim.patch(f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": ids[0]}]}])
    assert again.status_code == 204 and _member_count(app, group["id"]) in (1, MEMBERS)
