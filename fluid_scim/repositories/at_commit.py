"""Rows a transaction only writes, kept with its session until it commits, then inserted together.

A change's provisioning event and its pending outbound events are written by the transaction that
makes the change and read by nothing inside it. They are kept here (in the session's ``info``, in
the order they were added) and inserted by a ``before_commit`` hook with
:func:`~fluid_scim.repositories.prepared.insert_together`: on PostgreSQL one statement for all of
them, one round trip where each table took one. A rollback forgets them, as it voids every other
write of the transaction; a savepoint's commit leaves them to the outer commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from fluid_scim.repositories.prepared import PreparedInsert, insert_together

_KEPT = "fluid_rows_at_commit"


def add(session: Session, statement: PreparedInsert, rows: Sequence[Mapping[str, Any]]) -> None:
    """Keep ``rows`` (column values, every one naming the same columns) for ``statement`` until the commit."""
    kept: dict[PreparedInsert, list[Mapping[str, Any]]] = session.info.setdefault(_KEPT, {})
    kept.setdefault(statement, []).extend(rows)


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer commit writes them
    kept_rows: dict[PreparedInsert, list[Mapping[str, Any]]] | None = session.info.pop(_KEPT, None)
    if kept_rows:
        insert_together(session.connection(), list(kept_rows.items()))


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_KEPT, None)
