"""Engine set-up per backend: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import json
import logging
import threading
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import orjson
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Connection, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url

from fluid_scim.errors import InvalidValue
from fluid_scim.json_input import OutOfRange

log = logging.getLogger(__name__)


def prepare_database_url(url: str) -> str:
    """Create the directory of a SQLite file so that a fresh clone needs no set-up."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return url


def engine_options(url: str) -> dict[str, Any]:
    # JSON columns (a user's multi-valued attributes, event changes) through orjson: a page of 100
    # users decodes 200 documents.
    codec = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    # The pool hands out the connection returned last (SQLAlchemy's pool_use_lifo). A worker's request
    # thread and its recorder's thread each take one at times, so the pool holds two; first in, first
    # out, a worker's requests took them in turn, each the one the other thread wrote through last. On
    # SQLite a connection that sees another's commit discards its page cache: a create read about 60
    # pages instead of 5 (pread calls under strace) and cost 7% more CPU in-process (bench/README.md).
    # On PostgreSQL it changed nothing measurable; there, connections the pool does not need stay idle.
    pooling = {"pool_use_lifo": True}
    if make_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": 15}, **pooling, **codec}
    # No pre-ping (a round trip before every request): after a database restart, the first request on
    # each stale connection fails, is answered 503 with Retry-After, and the pool is renewed at once.
    return {"pool_size": 5, "max_overflow": 5, "pool_recycle": 1800, **pooling, **codec}


def upsert_insert(dialect_name: str) -> Any:
    """The ``insert`` with ON CONFLICT of the backend (``postgresql`` or ``sqlite``): both spell upserts alike."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON: orjson, or the standard library for what orjson refuses (an integer beyond 64 bits)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_fragment_value).encode()


def _fragment_value(value: Any) -> Any:
    """JSON orjson wrote already (``orjson.Fragment``, a kept rendering), for the standard library's encoder.

    A number out of range read from a request (``json_input.OutOfRange``, which coercion refuses or
    drops) is refused here too should one ever get this far: the request fails, nothing is written.
    """
    if isinstance(value, orjson.Fragment):
        return orjson.loads(orjson.dumps(value))
    if isinstance(value, OutOfRange):
        raise InvalidValue(value.detail)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _json_text(value: Any) -> str:
    return json_bytes(value).decode()


WAL_AUTOCHECKPOINT_PAGES = 10_000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL lets gunicorn workers read while one writes; foreign keys are off by default in SQLite."""
    if type(dbapi_connection).__module__.split(".")[0] != "sqlite3":
        return
    # SQLite's own lower() folds ASCII only; PostgreSQL's folds all of Unicode. Filters and
    # the expression indexes use lower(), so both backends must fold alike.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    # LIKE is case-insensitive for ASCII by default; filters lower() both sides themselves
    # when the attribute is caseExact=false, so LIKE must compare exactly.
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A checkpoint (copying the WAL back into the database file and syncing it) runs inside the commit
    # that crosses this many pages: at SQLite's default of 1,000 every hundred or so creates paid for
    # one, about 0.4 ms a create on average (cProfile of the commit: 0.9-1.1 ms, 0.53 ms with 10,000).
    # The WAL grows to about 40 MB between checkpoints instead of 4 MB.
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class Reading:
    """A read-only request's own connection (repositories.connections), checked out at its first statement,
    and what a statement of the request read ahead for a later one (``prefetched``, repositories.scim)."""

    __slots__ = ("connection", "prefetched")

    def __init__(self) -> None:
        self.connection: Connection | None = None
        self.prefetched: dict[tuple[Any, ...], Any] = {}

    def connection_of(self, engine: Engine) -> Connection:
        if self.connection is None:
            self.connection = KEPT_READING.take(engine)
        return self.connection


class KeptReadingConnection:
    """One reading connection a served worker's thread keeps from one read-only request to the next.

    Checking a connection out of the pool and back in, with SQLAlchemy's ``Connection`` made and closed
    around it, is about a twentieth of a GET by id's CPU. A gunicorn worker serves one request at a time
    on its main thread, so it can keep its reading connection instead: at the end of each reading
    request the connection is reset as the pool resets one it takes back (a rollback, which ends any
    snapshot a statement held), and the next reading request of the same thread takes it again, if it
    belongs to the engine's current pool and is neither closed nor invalidated (a lost database
    invalidates it: the request that met the loss was answered 503, and the next one connects anew). A
    connection kept for more than :attr:`RETURN_AFTER` seconds goes back to the pool, whose own rules
    (``pool_recycle``) then apply to it.

    Off unless :meth:`switch_on` is called: ``gunicorn.conf.py``'s ``post_fork`` does, through
    ``app.reset_after_fork``, for a worker of one thread (gunicorn's default sync worker: with several,
    the kept connections and the writes' could exhaust the pool). Elsewhere (tests with
    ``app.test_client()``, the CLI) every reading request checks a connection out of the pool and
    returns it, as before.
    """

    RETURN_AFTER = 60.0

    def __init__(self) -> None:
        self.on = False
        self._kept = threading.local()

    def switch_on(self) -> None:
        self.on = True

    def switch_off(self) -> None:
        """Keep nothing from now on; the calling thread's kept connection goes back to the pool."""
        self.on = False
        kept: tuple[Connection, float] | None = getattr(self._kept, "connection", None)
        self._kept.connection = None
        if kept is not None:
            kept[0].close()

    def kept(self) -> Connection | None:
        """The calling thread's kept connection between two reading requests, if it keeps one."""
        kept: tuple[Connection, float] | None = getattr(self._kept, "connection", None)
        return None if kept is None else kept[0]

    def take(self, engine: Engine) -> Connection:
        kept: tuple[Connection, float] | None = getattr(self._kept, "connection", None)
        if kept is not None:
            self._kept.connection = None
            connection, since = kept
            if connection.closed or connection.invalidated or connection.engine.pool is not engine.pool or (
                time.monotonic() - since > self.RETURN_AFTER
            ):
                connection.close()
            else:
                self._kept.since = since
                return connection
        connection = engine.connect()
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        self._kept.since = time.monotonic()
        return connection

    def give_back(self, connection: Connection) -> None:
        """The reading request is over: keep its connection, reset, for the next one; or return it to the pool."""
        if not self.on or connection.closed or connection.invalidated:
            connection.close()
            return
        try:
            if connection.in_transaction():
                connection.rollback()
            dbapi_connection = connection.connection.dbapi_connection
            if dbapi_connection is not None:
                dbapi_connection.rollback()  # what the pool's reset does to a connection it takes back
        except Exception:  # a connection that cannot be reset is not kept: the next request connects anew
            log.warning("a reading connection could not be reset; it is dropped", exc_info=True)
            connection.invalidate()
            connection.close()
            return
        self._kept.connection = (connection, self._kept.since)


KEPT_READING = KeptReadingConnection()


READING: ContextVar[Reading | None] = ContextVar("fluid_scim_reading", default=None)


class ReadingAwareSession(FlaskSession):
    """Flask-SQLAlchemy's session; while a request only reads, bound to that request's own connection."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        reading = READING.get()
        if reading is not None and bind is None:
            return reading.connection_of(self._db.engine)
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
