"""Column types shared by the models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


# What SQLAlchemy's SQLite DATETIME writes: "%Y-%m-%d %H:%M:%S.%f", 26 characters, no offset.
_SQLITE_STORED_LENGTH = 26


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], datetime | None] | None:
        """On SQLite (which stores the text of a naive UTC time) one step, ``datetime.fromisoformat``,
        rather than SQLAlchemy's parser followed by :meth:`process_result_value` (3 per user of a page)."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if type(value) is str and len(value) == _SQLITE_STORED_LENGTH:
                # The stored shape, "YYYY-MM-DD HH:MM:SS.ffffff": read as UTC in one step, a ninth of
                # the time of parsing it naive and then replacing its tzinfo (a page reads 300 of them).
                # Text of the same length in another shape (written by hand, with an offset) reads below.
                try:
                    return parse(value + "+00:00")
                except ValueError:
                    pass
            parsed = parse(value) if isinstance(value, str) else value
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

        return process


class ReadJSON(TypeDecorator[Any]):
    """A JSON column's text as a read decodes it (``type_coerce`` of the column cast to text, in a SELECT;
    columns stay ``JSON``): one ``orjson.loads`` of the text, rather than SQLAlchemy's two wrappers around
    it on SQLite (a page of 100 users decodes 300 values) or psycopg's decoding at each fetch on PostgreSQL.
    A value the driver decoded already is taken as it is."""

    impl = JSON
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        loads = orjson.loads

        def process(value: Any) -> Any:
            return None if value is None else loads(value) if isinstance(value, str | bytes) else value

        return process
