"""A served worker keeps its reading connection between read-only requests (``database.KeptReadingConnection``).

gunicorn's ``post_fork`` switches it on; here each test switches it on for the test process, so that
``app.test_client()`` requests take the same path as a served worker's. What a caller must see is
unchanged: every read shows what was committed before it, whoever wrote it, and a connection the
database lost costs one 503, after which reads work again. The last test is about writes: the pool hands a
worker's next write the connection its last one returned.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text

from fluid_scim.database import KEPT_READING, KeptReadingConnection
from fluid_scim.extensions import db
from tests.support.tenants import Tenant


@pytest.fixture
def kept(app: Flask, app_factory: Any) -> Iterator[KeptReadingConnection]:
    KEPT_READING.switch_on()
    yield KEPT_READING
    KEPT_READING.switch_off()


def _headers(tenant: Tenant) -> dict[str, str]:
    return {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"}


def _checkouts(app: Flask) -> list[int]:
    """A list that grows by one at each connection the engine's pool hands out."""
    seen: list[int] = []
    with app.app_context():
        event.listen(db.engine.pool, "checkout", lambda *_: seen.append(1))
    return seen


def test_reads_take_one_connection_and_see_every_change_committed_between_them(app_factory, tenant, kept):
    # Events and status counts written in batches, as a served worker writes them, not in each request.
    app = app_factory(record_flush_seconds=3600)
    client = app.test_client()
    headers = _headers(tenant)
    created = client.post(
        "/scim/v2/Users", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "kept@example.com"},
        headers=headers,
    )
    assert created.status_code == 201
    user_id = created.json["id"]
    path, lookup = f"/scim/v2/Users/{user_id}", {"filter": 'userName eq "kept@example.com"'}
    checkouts = _checkouts(app)
    for name in ("First", "Second", "Third"):
        changed = client.patch(
            path,
            json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                  "Operations": [{"op": "replace", "path": "displayName", "value": name}]},
            headers=headers,
        )
        assert changed.status_code in (200, 204)
        assert client.get(path, headers=headers).json["displayName"] == name
        assert client.get("/scim/v2/Users", query_string=lookup, headers=headers).json["Resources"][0]["displayName"] == name
        page = client.get("/scim/v2/Users", query_string={"startIndex": 1, "count": 10}, headers=headers).json
        assert [user["displayName"] for user in page["Resources"]] == [name]
    reads_after_the_first = len(checkouts)
    for _ in range(5):
        assert client.get(path, headers=headers).status_code == 200
    assert len(checkouts) == reads_after_the_first, "the reads took no connection from the pool: they kept theirs"
    assert client.delete(path, headers=headers).status_code == 204
    assert client.get(path, headers=headers).status_code == 404


def test_a_change_written_outside_the_service_shows_in_the_next_read(app, tenant, kept):
    client = app.test_client()
    headers = _headers(tenant)
    created = client.post(
        "/scim/v2/Users", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "outside@example.com",
              "active": True},
        headers=headers,
    )
    path = f"/scim/v2/Users/{created.json['id']}"
    assert client.get(path, headers=headers).json["active"] is True
    with app.app_context(), db.engine.begin() as other:  # another connection, as another worker's would be
        other.execute(text("UPDATE scim_user SET active = :off WHERE id = :id"), {"off": False, "id": created.json["id"]})
    assert client.get(path, headers=headers).json["active"] is False


def test_switched_off_every_read_returns_its_connection_to_the_pool(app_factory, tenant):
    app = app_factory(record_flush_seconds=3600)
    client = app.test_client()
    headers = _headers(tenant)
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    checkouts, checkins = _checkouts(app), []
    with app.app_context():
        event.listen(db.engine.pool, "checkin", lambda *_: checkins.append(1))
    for _ in range(3):
        assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    assert len(checkouts) == len(checkins) == 3


def test_a_kept_connection_lost_to_a_database_restart_is_one_503_then_reads_resume(app, tenant, database_url, kept):
    if not database_url.startswith("postgresql"):
        pytest.skip("a database server restart needs PostgreSQL (FLUID_TEST_POSTGRES_URL)")
    import psycopg
    from sqlalchemy.engine import make_url

    client = app.test_client()
    headers = _headers(tenant)
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    connection = kept.kept()
    assert connection is not None
    pid = connection.exec_driver_sql("select pg_backend_pid()").scalar_one()
    parsed = make_url(database_url)
    with psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname=parsed.database, autocommit=True
    ) as admin:  # the server ends the kept connection's backend, as a restart would
        admin.execute("select pg_terminate_backend(%s)", (pid,))
    lost = client.get("/scim/v2/Users", headers=headers)
    assert lost.status_code == 503 and lost.headers["Retry-After"] == "30"
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200, "the next read connects anew"
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200



@pytest.mark.parametrize(("threads", "keeps"), [(1, True), (8, False)])
def test_only_a_worker_of_one_thread_keeps_its_reading_connection(app: Flask, tenant: Tenant, threads: int, keeps: bool) -> None:
    """gunicorn's ``post_fork`` passes the worker's threads: with ``--threads 8`` each thread keeping a
    connection, and as many writing beside them, would ask more of the pool (5 + 5 overflow) than it holds."""
    from app import reset_after_fork

    with app.app_context():
        db.engine.dispose()  # reset_after_fork drops the pool's connections unclosed, as a forked worker must: none here
    try:
        reset_after_fork(app, threads=threads)
        assert KEPT_READING.on is keeps
        assert app.test_client().get("/scim/v2/Users", headers=_headers(tenant)).status_code == 200
        assert (KEPT_READING.kept() is not None) is keeps
    finally:
        KEPT_READING.switch_off()


def test_a_workers_writes_take_back_the_connection_they_returned_last(app_factory, tenant):
    """The pool holds two connections once the recorder's thread took one while a request held the other; each
    following write takes back the connection the previous one returned, not the other thread's in turn (on
    SQLite, a connection that sees another's commit first discards its page cache)."""
    app = app_factory(record_flush_seconds=3600)
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    request_connection = engine.connect()

    def recorder() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    thread = threading.Thread(target=recorder)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    request_connection.close()
    used: list[int] = []
    event.listen(engine.pool, "checkout", lambda dbapi_connection, *_: used.append(id(dbapi_connection)))
    for index in range(4):
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"lifo{index}@example.com"}
        created = client.post("/scim/v2/Users", json=body, headers=_headers(tenant))
        assert created.status_code == 201
    assert len(used) >= 4
    assert len(set(used)) == 1
