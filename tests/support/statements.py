"""The SQL statements an application sends while a block runs (SQLAlchemy's ``before_cursor_execute``), and its
round trips on PostgreSQL (libpq's trace)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event

from fluid_scim.extensions import db


@contextmanager
def captured_statements(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    """(statement, parameters) of every statement ``app``'s engine runs meanwhile, in order."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)



@contextmanager
def postgres_round_trips(app: Flask) -> Iterator[list[int]]:
    """On PostgreSQL (0 on SQLite), how many times the server answered "ready for query" on the connections ``app``'s
    pool hands out while the block runs: their round trips, read from libpq's trace of the wire protocol
    (no statement listener, which would send prepared statements through SQLAlchemy). The one-item list
    is filled in when the block ends."""
    from psycopg.pq import Trace

    counted = [0]
    traced: list[Any] = []
    with app.app_context():
        engine = db.engine
    with tempfile.TemporaryFile() as trace:

        def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
            pgconn = getattr(dbapi_connection, "pgconn", None)  # SQLite: nothing to trace, no round trips
            if pgconn is not None and pgconn not in traced:
                pgconn.trace(trace.fileno())
                pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
                traced.append(pgconn)

        event.listen(engine, "checkout", checkout)
        try:
            yield counted
        finally:
            event.remove(engine, "checkout", checkout)
            for pgconn in traced:
                pgconn.untrace()
            trace.seek(0)
            counted[0] = sum(1 for line in trace.read().decode("utf-8", "replace").splitlines()
                             if line.startswith("B\t") and "\tReadyForQuery" in line)
