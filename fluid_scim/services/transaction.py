"""Where use cases end their transaction, and how a Bulk request makes them one.

Services (SCIM, admin, the webhook worker, retention) call :func:`commit` or :func:`rollback`,
never the session's own; inside :func:`all_or_nothing` (a Bulk request) :func:`commit` only
flushes, and the single commit happens when every operation has succeeded. The recorder's batches,
written apart from any request, run in :func:`on_own_connection`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection

from fluid_scim.extensions import db
from fluid_scim.repositories import connections

_deferred: ContextVar[bool] = ContextVar("fluid_scim_deferred_commit", default=False)


def commit() -> None:
    if _deferred.get():
        db.session.flush()
    else:
        db.session.commit()


def flush() -> None:
    """Send the pending changes inside the current transaction (a unique index speaks now, not at commit)."""
    db.session.flush()


def rollback() -> None:
    """Void what the current use case wrote and end its transaction (a refused row, a lost race).

    A read-only request's own connection goes back to the pool here too: what runs after it in the
    request runs on the session again.
    """
    if connections.is_reading():
        connections.end_reading()
    db.session.rollback()


@contextmanager
def rolled_back_on_failure() -> Iterator[None]:
    """One use case of a caller that goes on after a failure (a GraphQL request's next mutation).

    Whatever the failed use case left in the session is void, so the next one cannot commit it.
    """
    try:
        yield
    except BaseException:
        rollback()
        raise


def reads_only_from_here() -> None:
    """What is left of this request only reads: on PostgreSQL, run it in autocommit.

    That saves the BEGIN and ROLLBACK round trips of a read (a GET, or rendering the answer of a
    change after its commit). Nothing is lost: under READ COMMITTED each statement takes its own
    snapshot inside a transaction too. A no-op inside a transaction, and on SQLite.
    """
    if connections.is_reading():  # in autocommit already, on the request's own connection
        return
    session = db.session()
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def read_only_request() -> None:
    """The request only reads (a SCIM GET or HEAD): its statements run on a connection of its own, in
    autocommit on PostgreSQL, without the ORM session unless an ORM query needs one (repositories.connections).
    :func:`end_read_only_request` ends it, whatever happened.
    """
    connections.begin_reading()


def end_read_only_request() -> None:
    connections.end_reading()


@contextmanager
def all_or_nothing() -> Iterator[None]:
    token = _deferred.set(True)
    try:
        yield
        _deferred.reset(token)
        db.session.commit()
    except BaseException:
        _deferred.reset(token)
        db.session.rollback()
        raise


@contextmanager
def on_own_connection() -> Iterator[Connection]:
    """A transaction on a connection of its own, apart from the session: committed when the block ends, rolled back if it raises.

    For writes that belong to no request (the recorder's batches, flushed from a thread or after the
    answer), so that they neither see nor end whatever the session holds.
    """
    with db.engine.begin() as connection:
        yield connection
