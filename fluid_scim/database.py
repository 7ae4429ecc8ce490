"""Engine set-up per backend: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import json
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
    if make_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": 15}, **codec}
    # No pre-ping (a round trip before every request): after a database restart, the first request on
    # each stale connection fails, is answered 503 with Retry-After, and the pool is renewed at once.
    return {"pool_size": 5, "max_overflow": 5, "pool_recycle": 1800, **codec}


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
    """A read-only request's own connection (repositories.connections), checked out at its first statement."""

    __slots__ = ("connection",)

    def __init__(self) -> None:
        self.connection: Connection | None = None

    def connection_of(self, engine: Engine) -> Connection:
        if self.connection is None:
            connection = engine.connect()
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            self.connection = connection
        return self.connection


READING: ContextVar[Reading | None] = ContextVar("fluid_scim_reading", default=None)


class ReadingAwareSession(FlaskSession):
    """Flask-SQLAlchemy's session; while a request only reads, bound to that request's own connection."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        reading = READING.get()
        if reading is not None and bind is None:
            return reading.connection_of(self._db.engine)
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
