"""The SQL statements an application sends while a block runs (SQLAlchemy's ``before_cursor_execute``)."""

from __future__ import annotations

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
