"""The connection a repository's Core statements run on: the ORM session's, or a read-only request's own.

A SCIM GET or HEAD writes nothing (but, once a minute, a token's last use). Its statements are the
authentication lookup, the user or page it reads and the groups of those users: Core statements,
most of them prepared (:mod:`fluid_scim.repositories.prepared`). Run through the ORM session, each
such request also paid for the session's own life, made, begun, closed and removed: about 70 µs, more
than a prepared statement costs. So while such a request runs (from :func:`begin_reading` to
:func:`end_reading`), :func:`current` hands out a connection of the request's own from the same pool,
in autocommit on PostgreSQL (a read saves the BEGIN and ROLLBACK round trips; under READ COMMITTED
each statement takes its own snapshot inside a transaction too). The session is made only if
something runs an ORM query, and then on that same connection (``database.ReadingAwareSession``): one
connection per request either way, and a write the request makes (a token's last use) is committed
on it.

Outside a reading request :func:`current` is the session's connection, in the session's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from fluid_scim.database import KEPT_READING, READING, Reading
from fluid_scim.extensions import db


def current() -> Connection:
    """Where a repository runs a Core statement now: the reading request's connection, else the session's."""
    reading = READING.get()
    if reading is None:
        return db.session.connection()
    return reading.connection_of(db.engine)


def read_ahead(key: tuple[Any, ...], value: Any) -> None:
    """Keep ``value`` for the rest of this reading request, for :func:`read_before` (nothing outside one)."""
    reading = READING.get()
    if reading is not None:
        reading.prefetched[key] = value


def read_before(key: tuple[Any, ...]) -> Any:
    """What :func:`read_ahead` kept under ``key`` in this reading request, else :data:`NOT_READ`."""
    reading = READING.get()
    return NOT_READ if reading is None else reading.prefetched.get(key, NOT_READ)


NOT_READ = object()


def is_reading() -> bool:
    return READING.get() is not None


def begin_reading() -> None:
    """From here until :func:`end_reading`, statements run on a connection of the request's own."""
    READING.set(Reading())


def end_reading() -> None:
    """Remove the session (it ran on that connection, if it ran); return the connection to the pool, or keep it
    for the thread's next reading request (``database.KeptReadingConnection``)."""
    reading = READING.get()
    if reading is None:
        return
    READING.set(None)
    if db.session.registry.has():
        db.session.remove()
    if reading.connection is not None:
        KEPT_READING.give_back(reading.connection)
