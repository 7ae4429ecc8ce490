"""Every query on a tenant table names its organisation; a guard refuses one that does not.

Tenant isolation rests on repositories: each function takes ``organisation_id`` and puts
``<table>.organisation_id = :organisation_id`` (or ``IN``) in its WHERE clause. The guard is the net
under that rule. Installed on the session (:func:`install_tenant_guard`), it looks at every SELECT,
UPDATE and DELETE the ORM runs and raises :class:`UnscopedTenantQuery` when the statement reads a
tenant table (one with an ``organisation_id`` column) and its WHERE clause compares no
``organisation_id`` with a value. The few jobs that work for the whole platform (retention purges,
the webhook worker's claims, the recorder's batches, an organisation's removal) say so with
:func:`across_organisations`, so that every exemption can be found by name.

A :class:`~fluid_scim.repositories.prepared.PreparedQuery` runs on a DB-API cursor, beneath the
session's hook: it applies :func:`is_scoped` itself, once, when the statement is first compiled.

INSERTs carry the organisation in their values and the unit of work flushes by primary key (which
leads with ``organisation_id``), so neither is checked. The verdict for a statement object is kept,
so the prebuilt statements of the hot paths are inspected once per process.
"""

from __future__ import annotations

import weakref
from typing import Any, TypeVar, cast

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ClauseElement, ColumnClause, ColumnElement
from sqlalchemy.sql.selectable import TableClause

ACROSS_ORGANISATIONS = "fluid_across_organisations"
_TENANT_COLUMN = "organisation_id"
_ORGANISATION = "organisation"
_Statement = TypeVar("_Statement", bound=Any)
_verdicts: weakref.WeakKeyDictionary[ClauseElement, bool] = weakref.WeakKeyDictionary()


class UnscopedTenantQuery(RuntimeError):
    """A query on a tenant table without an ``organisation_id`` criterion: a bug, never a client's fault."""


def across_organisations(statement: _Statement) -> _Statement:
    """Mark a statement that deliberately spans every organisation (a platform job, not a request)."""
    return statement.execution_options(**{ACROSS_ORGANISATIONS: True})


def install_tenant_guard(session: Any) -> None:
    """Check every ORM SELECT/UPDATE/DELETE of ``session`` (a Session class, sessionmaker or scoped session); once."""
    if not event.contains(session, "do_orm_execute", _check):
        event.listen(session, "do_orm_execute", _check)


def _check(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_relationship_load:
        return
    if state.execution_options.get(ACROSS_ORGANISATIONS):
        return
    statement = cast(ClauseElement, state.statement)  # every statement a session runs is a clause element
    verdict = _verdicts.get(statement)
    if verdict is None:
        verdict = is_scoped(statement)
        try:
            _verdicts[statement] = verdict
        except TypeError:  # not weak-referenceable: judged again next time
            pass
    if not verdict:
        raise UnscopedTenantQuery(f"query on a tenant table without an organisation criterion: {statement}")


def is_scoped(statement: ClauseElement) -> bool:
    """True when every tenant table the statement reads is tied to one organisation by a value.

    A table is tied when its ``organisation_id`` is compared with a value, or equated with the
    ``organisation_id`` of a tied table or the ``id`` of a tied ``organisation`` row (an
    ``organisation`` row is tied by its ``id`` or ``slug`` compared with a value); the comparisons
    may stand in the WHERE clause, a join's ON clause or a subquery. Aliases count as their table.
    """
    # One walk over the statement: the tables it reads (an alias leads to its table) and its comparisons.
    tenants: set[str] = set()
    tied: set[str] = set()
    links: list[tuple[str, str]] = []
    for node in visitors.iterate(statement):
        if isinstance(node, TableClause):
            if _TENANT_COLUMN in node.c:
                tenants.add(node.name)
        elif isinstance(node, BinaryExpression):
            left, right = _key_column(node.left), _key_column(node.right)
            if left and right:
                links.append((left, right))
            elif left and _is_value(node.right):
                tied.add(left)
            elif right and _is_value(node.left):
                tied.add(right)
    if not tenants:
        return True
    changed = True
    while changed:  # at most one pass per table: each pass ties a table or stops
        changed = False
        for a, b in links:
            if (a in tied) != (b in tied):
                tied.update((a, b))
                changed = True
    return tenants <= tied


def _name(table: Any) -> str:
    return str(getattr(getattr(table, "element", table), "name", ""))


def _key_column(element: ColumnElement[Any]) -> str | None:
    """The table name of an ``organisation_id`` column (or of ``organisation.id`` / ``.slug``), else None."""
    if not isinstance(element, ColumnClause) or element.table is None:
        return None
    table = _name(element.table)
    if element.name == _TENANT_COLUMN or (table == _ORGANISATION and element.name in ("id", "slug")):
        return table
    return None


def _is_value(element: ColumnElement[Any]) -> bool:
    return isinstance(element, BindParameter) or any(isinstance(child, BindParameter) for child in visitors.iterate(element))
