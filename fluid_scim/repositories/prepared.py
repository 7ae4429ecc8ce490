"""Statements of the per-request hot paths, compiled once per dialect and run on the connection's own cursor.

Every SCIM request authenticates by one SELECT, and a GET or a lookup by userName reads its user by
one more. Through ``Connection.execute``, SQLAlchemy spends on each of them more than the driver
does: the statement's cache key, the compiled cache, the execution context, the parameters and the
result object are made anew per call. A :class:`PreparedQuery` does that part once. Its statement
is compiled the first time it runs on a dialect; from then on a call only converts the parameters,
runs the SQL text on a DB-API cursor of the same pooled connection (so in the same transaction, or in
autocommit where the request reads in autocommit) and converts the row values.

What stays exactly as SQLAlchemy does it:

* values are converted by the same processors SQLAlchemy itself applies, taken from the statement's
  types for this dialect (result processors once the first cursor description is known, as
  ``CursorResult`` takes them);
* a driver error goes through the connection's own handler, as it does from ``Connection.execute``:
  it is raised as SQLAlchemy's exception (``OperationalError`` for a lost database, which the SCIM
  surface answers 503), and a lost connection is invalidated and the pool renewed;
* while anything listens for ``before_cursor_execute`` or ``after_cursor_execute`` on the engine (a
  test counting statements, a tracer), statements go through ``Connection.execute``, so that none
  is hidden from a listener.

Two kinds qualify. A :class:`PreparedQuery` answers rows: a plain SELECT (or a UNION ALL of them), or an UPDATE … RETURNING
that sets every column it changes (a create's link of the reports waiting for it). No expanding ``IN``
and no parameter rendered into the SQL text, which need the per-call compilation this skips, and no
column whose Python-side default SQLAlchemy would compute per execution: refused when the statement
is first compiled. A :class:`PreparedInsert` inserts rows given as column values (a create's user, its
value rows, its event, its pending outbound events); a set of columns that leaves out a column with a
Python-side default goes through ``Connection.execute`` instead. The
processors, the result columns and the error handler are SQLAlchemy's own, reached by names it keeps
internal: the version is pinned in requirements.txt, and tests/test_prepared.py compares every
prepared statement's rows with ``Connection.execute``'s on both backends, so an upgrade that moves
them fails there.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from sqlalchemy import CompoundSelect, Connection, Dialect, Insert, Select, bindparam, insert
from sqlalchemy.sql.dml import ReturningUpdate

from fluid_scim.repositories.scoping import ACROSS_ORGANISATIONS, UnscopedTenantQuery, is_scoped

_Processor = Callable[[Any], Any] | None
_T = TypeVar("_T")
_REQUIRED = object()  # a parameter without a value of its own: the caller must give it, as Connection.execute requires


@dataclass(slots=True)
class _Plan:
    """A statement compiled for one dialect: its SQL text and how its values are converted."""

    sql: str
    positional: bool
    binds: tuple[tuple[str, str, Any, _Processor], ...]  # (name in the SQL, parameter key, default or _REQUIRED, processor)
    result_types: tuple[Any, ...]
    native: bool = False  # psycopg: the SQL has PostgreSQL's own $1 placeholders, for a RawCursor (native_sql)
    # (index, processor) of the result columns that have one: known from the first cursor description.
    converting: tuple[tuple[int, Callable[[Any], Any]], ...] | None = field(default=None)

    def converters(self, dialect: Dialect, description: Sequence[Sequence[Any]]) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        """The result processors SQLAlchemy's ``CursorResult`` would apply, by column index, None left out."""
        return tuple(
            (index, process)
            for index, (type_, column) in enumerate(zip(self.result_types, description, strict=True))
            if (process := type_._cached_result_processor(dialect, column[1])) is not None
        )

    def parameters(self, given: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        values = []
        for _name, key, default, process in self.binds:
            value = given[key] if key in given else default
            if value is _REQUIRED:
                raise KeyError(f"a value is required for the parameter {key!r}")
            values.append(value if process is None else process(value))
        if self.positional:
            return tuple(values)
        return {name: value for (name, *_), value in zip(self.binds, values, strict=True)}


class PreparedQuery:
    """A Core SELECT (or UPDATE … RETURNING) built once, compiled once per dialect, run on the DB-API cursor of a connection."""

    __slots__ = ("_plans", "statement")

    def __init__(
        self, statement: Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]] | ReturningUpdate[*tuple[Any, ...]]
    ) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def rows(self, connection: Connection, parameters: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Every row: the converted values in the order of the statement's columns."""
        return self._run(connection, parameters, every=True)

    def first(self, connection: Connection, parameters: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row, or None."""
        rows = self._run(connection, parameters, every=False)
        return rows[0] if rows else None

    def raw_rows(
        self, connection: Connection, parameters: Mapping[str, Any]
    ) -> tuple[Sequence[Sequence[Any]], Callable[[Sequence[Any]], Sequence[Any]]]:
        """Every row as the driver gave it, and the function that converts one as :meth:`rows` does: for a
        caller that keeps what it made of a row and converts only the rows it has not seen before."""
        dispatch = connection.dispatch
        if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
            return self._through_sqlalchemy(connection, parameters, every=True), _as_given
        fetched, converting = self._fetch(connection, parameters, every=True)
        return fetched, functools.partial(_converted, converting)

    def _run(self, connection: Connection, parameters: Mapping[str, Any], *, every: bool) -> Sequence[Sequence[Any]]:
        dispatch = connection.dispatch
        if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
            return self._through_sqlalchemy(connection, parameters, every=every)
        fetched, converting = self._fetch(connection, parameters, every=every)
        if not converting:
            return fetched
        return [_converted(converting, row) for row in fetched]

    def _fetch(
        self, connection: Connection, parameters: Mapping[str, Any], *, every: bool
    ) -> tuple[Sequence[Sequence[Any]], tuple[tuple[int, Callable[[Any], Any]], ...]]:
        """The driver's rows and the (index, processor) pairs that convert them."""
        dialect = connection.dialect
        plan = self._plans.get(dialect.name) or self._plan(connection)
        values = plan.parameters(parameters)

        def read(cursor: Any) -> tuple[Sequence[Sequence[Any]], tuple[tuple[int, Callable[[Any], Any]], ...]]:
            cursor.execute(plan.sql, values)
            fetched = cursor.fetchall() if every else cursor.fetchmany(1)
            return fetched, _converting(plan, dialect, cursor)

        return on_cursor(connection, plan.sql, values, read, native=plan.native)

    def _through_sqlalchemy(
        self, connection: Connection, parameters: Mapping[str, Any], *, every: bool
    ) -> Sequence[Sequence[Any]]:
        result = connection.execute(self.statement, dict(parameters))
        if every:
            return [tuple(row) for row in result]
        row = result.first()
        return [] if row is None else [tuple(row)]

    def plan_for(self, connection: Connection) -> _Plan:
        """The statement's plan on the connection's dialect (compiled, and judged by the tenant guard, once)."""
        return self._plans.get(connection.dialect.name) or self._plan(connection)

    def _plan(self, connection: Connection) -> _Plan:
        # The tenant guard's rule (repositories.scoping), judged once: a prepared statement runs on a
        # cursor, beneath the session's do_orm_execute hook that checks every other query.
        if not self.statement.get_execution_options().get(ACROSS_ORGANISATIONS) and not is_scoped(self.statement):
            raise UnscopedTenantQuery(f"prepared query on a tenant table without an organisation criterion: {self.statement}")
        plan = _compiled(self.statement, connection.dialect)
        if plan is None:
            raise TypeError("a prepared query cannot leave a column with a Python-side default to SQLAlchemy")
        self._plans[connection.dialect.name] = plan
        return plan


def _converted(converting: tuple[tuple[int, Callable[[Any], Any]], ...], row: Sequence[Any]) -> Sequence[Any]:
    if not converting:
        return row
    converted = list(row)
    for index, process in converting:
        converted[index] = process(converted[index])
    return converted


def _as_given(row: Sequence[Any]) -> Sequence[Any]:
    return row


class PreparedInsert:
    """A Core INSERT of rows given as column values, compiled once per dialect and set of columns."""

    __slots__ = ("_plans", "statement")

    def __init__(self, statement: Insert) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan | None] = {}

    def execute(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert the rows (one statement, or one executemany); every row names the same columns."""
        if not rows:
            return
        keys = tuple(rows[0])
        dispatch = connection.dispatch
        plan: _Plan | None = None
        if not (dispatch.before_cursor_execute or dispatch.after_cursor_execute) and all(tuple(row) == keys for row in rows):
            cache_key = (connection.dialect.name, keys)
            plan = self._plans[cache_key] if cache_key in self._plans else self._plan(connection, keys)
        if plan is None:
            connection.execute(self.statement, [dict(row) for row in rows] if len(rows) > 1 else dict(rows[0]))
            return
        values: list[Any] = [plan.parameters(row) for row in rows]

        def write(cursor: Any) -> None:
            if len(values) == 1:
                cursor.execute(plan.sql, values[0])
            else:
                cursor.executemany(plan.sql, values)

        on_cursor(connection, plan.sql, values, write, native=plan.native)

    def _plan(self, connection: Connection, keys: tuple[str, ...]) -> _Plan | None:
        # None (Connection.execute, then) when a column left out has a default SQLAlchemy computes per row.
        plan = _compiled(self.statement, connection.dialect, column_keys=list(keys))
        self._plans[(connection.dialect.name, keys)] = plan
        return plan


# Statements that insert into several tables at once, by shape: (the PreparedInsert, its row's keys, its
# number of rows) of each part. Bounded: past either bound, the parts run one after the other.
_TOGETHER: dict[tuple[tuple[tuple[PreparedInsert, tuple[str, ...], int], ...], PreparedQuery | None], _Plan | None] = {}
_TOGETHER_AT_MOST = 256
TOGETHER_ROWS_AT_MOST = 16  # rows of one part in one statement


def insert_together(
    connection: Connection,
    parts: Sequence[tuple[PreparedInsert, Sequence[Mapping[str, Any]]]],
    then: tuple[PreparedQuery, Mapping[str, Any]] | None = None,
) -> Sequence[Sequence[Any]] | None:
    """Insert each part's rows, in the order given; on PostgreSQL in one statement, so in one round trip.
    ``then``: a query to run after them, whose rows are returned (None without one).

    There, every part but the last is a data-modifying ``WITH`` of the last one's INSERT, or every part
    is one of ``then``'s SELECT (PostgreSQL runs each of them exactly once, to completion; they cannot
    depend on each other, and here none does: a transaction's provisioning events and its pending
    outbound events; a new user and its value rows). That SELECT reads the database as it was before
    the statement: it must not look for the rows inserted with it (a new user's probe for the reports
    waiting for it leaves the user out). The statement of a shape is compiled once. Elsewhere, or past
    :data:`TOGETHER_ROWS_AT_MOST` rows in a part, or with a statement listener on the engine, each
    part is its own :meth:`PreparedInsert.execute`, and ``then`` runs after them.
    """
    parts = [(prepared, rows) for prepared, rows in parts if rows]
    single = len(parts) < (1 if then is not None else 2)
    plan = None if single or connection.dialect.name != "postgresql" else _together_plan(connection, parts, then)
    if plan is None:
        for prepared, rows in parts:
            prepared.execute(connection, rows)
        return None if then is None else then[0].rows(connection, then[1])
    given = {
        f"p{part}_{index}_{key}": value
        for part, (_prepared, rows) in enumerate(parts)
        for index, row in enumerate(rows)
        for key, value in row.items()
    }
    if then is None:
        _run_together(connection, plan, given, fetch=False)
        return None
    return _run_together(connection, plan, {**given, **then[1]}, fetch=True)


def _run_together(connection: Connection, plan: _Plan, given: Mapping[str, Any], *, fetch: bool) -> Sequence[Sequence[Any]]:
    values = plan.parameters(given)

    def run(cursor: Any) -> Sequence[Sequence[Any]]:
        cursor.execute(plan.sql, values)
        if not fetch:
            return []
        converting = _converting(plan, connection.dialect, cursor)
        return [_converted(converting, row) for row in cursor.fetchall()]

    return on_cursor(connection, plan.sql, values, run, native=plan.native)


def _together_plan(
    connection: Connection,
    parts: Sequence[tuple[PreparedInsert, Sequence[Mapping[str, Any]]]],
    then: tuple[PreparedQuery, Mapping[str, Any]] | None,
) -> _Plan | None:
    dispatch = connection.dispatch
    if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
        return None
    shape = []
    for prepared, rows in parts:
        keys = tuple(rows[0])
        if len(rows) > TOGETHER_ROWS_AT_MOST or any(tuple(row) != keys for row in rows):
            return None
        shape.append((prepared, keys, len(rows)))
    key = (tuple(shape), None if then is None else then[0])
    if key in _TOGETHER:
        return _TOGETHER[key]
    if then is not None:
        then[0].plan_for(connection)  # the tenant guard's judgement of the query, as when it runs alone
    plan = _compiled(_together_statement(key[0], None if then is None else then[0]), connection.dialect)
    if len(_TOGETHER) < _TOGETHER_AT_MOST:
        _TOGETHER[key] = plan
    return plan


def _together_statement(
    shape: Sequence[tuple[PreparedInsert, tuple[str, ...], int]], then: PreparedQuery | None
) -> Insert | Select[Any]:
    statements = []
    for part, (prepared, keys, count) in enumerate(shape):
        table = prepared.statement.table
        rows = [
            {key: bindparam(f"p{part}_{index}_{key}", type_=table.c[key].type, required=True) for key in keys}
            for index in range(count)
        ]
        statements.append(insert(table).values(rows))
    if then is not None:
        if not isinstance(then.statement, Select):
            raise TypeError("only a SELECT can follow rows inserted together")
        return then.statement.add_cte(*(statement.cte(f"together_{part}") for part, statement in enumerate(statements)))
    *withs, last = statements
    return last.add_cte(*(statement.cte(f"together_{part}") for part, statement in enumerate(withs)))


def _compiled(
    statement: Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]] | ReturningUpdate[*tuple[Any, ...]] | Insert,
    dialect: Dialect,
    column_keys: list[str] | None = None,
) -> _Plan | None:
    """The statement's plan on ``dialect``; None when a column's Python-side default would be computed per
    execution (SQLAlchemy's own lists of such columns, ``insert_prefetch`` and ``update_prefetch``)."""
    compiled = statement.compile(dialect=dialect, column_keys=column_keys)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise TypeError("a prepared statement cannot have expanding or literal-execute parameters")
    if compiled.insert_prefetch or compiled.update_prefetch:
        return None
    names: Sequence[str] = compiled.positiontup if dialect.positional and compiled.positiontup else list(compiled.binds)
    binds = []
    for name in names:
        bind = compiled.binds[name]
        default = _REQUIRED if bind.required or bind.callable is not None else bind.value
        binds.append((name, bind.key, default, bind.type._cached_bind_processor(dialect)))
    # The same types CursorResult reads its processors from (a label's type, a type_coerce's).
    result_types = tuple(column[3] for column in compiled._result_columns)
    plan = _Plan(compiled.string, bool(dialect.positional), tuple(binds), result_types)
    return _natively(plan) if dialect.driver == "psycopg" and not plan.positional else plan


def _natively(plan: _Plan) -> _Plan:
    """The plan with PostgreSQL's own placeholders and its values in their order, where its SQL allows."""
    native = native_sql(plan.sql)
    if native is None:
        return plan
    sql, order = native
    by_name = {bind[0]: bind for bind in plan.binds}
    return _Plan(sql, True, tuple(by_name[name] for name in order), plan.result_types, native=True)


_PLACEHOLDER = re.compile(r"%(?:\(([^)]+)\))?(.)")


def native_sql(sql: str) -> tuple[str, tuple[str, ...]] | None:
    """``sql`` with psycopg's ``%(name)s`` placeholders as PostgreSQL's own ``$1``, ``$2``… (a name met again
    keeps its number) and ``%%`` as ``%``, and the names in the order of their numbers; None for any other
    ``%`` sequence (the statement then keeps psycopg's placeholders).

    psycopg converts a statement's placeholders at every execution, and keeps the result only for
    statements of at most 4,096 bytes and 50 parameters (``psycopg._queries``): a create's user with its
    value rows (about 115 parameters) took 160 µs of the worker's CPU each time. A ``RawCursor`` sends
    the text as it is (psycopg's documentation, "Raw query cursors"). The scan is psycopg's own: it
    does not tell a placeholder inside a quoted literal from one outside, and neither does psycopg.
    """
    numbers: dict[str, int] = {}
    unexpected = False

    def replace(found: re.Match[str]) -> str:
        nonlocal unexpected
        name, kind = found.group(1), found.group(2)
        if name is None and kind == "%":
            return "%"
        if name is None or kind != "s":
            unexpected = True
            return found.group(0)
        return f"${numbers.setdefault(name, len(numbers) + 1)}"

    converted = _PLACEHOLDER.sub(replace, sql)
    return None if unexpected else (converted, tuple(numbers))


def on_cursor(connection: Connection, sql: str, parameters: Any, run: Callable[[Any], _T], *, native: bool) -> _T:
    """``run(cursor)`` on a DB-API cursor of the connection's (a psycopg ``RawCursor`` for SQL with native
    placeholders), closed after it. ``sql`` and ``parameters`` are what a driver error reports: it goes
    through the connection's own handler, as from ``Connection.execute``, which closes the cursor,
    invalidates a lost connection and raises SQLAlchemy's exception (``IntegrityError`` for a taken
    unique key, ``OperationalError`` for a lost database)."""
    if native:
        dbapi_connection = connection.connection.dbapi_connection
        assert isinstance(dbapi_connection, psycopg.Connection)
        cursor: Any = psycopg.RawCursor(dbapi_connection)
    else:
        cursor = connection.connection.cursor()
    try:
        result = run(cursor)
    except connection.dialect.loaded_dbapi.Error as error:
        connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
    cursor.close()
    return result


def _converting(plan: _Plan, dialect: Dialect, cursor: Any) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """The plan's result processors, from the first cursor description that it reads (psycopg builds its
    description anew at each reading: it is read once)."""
    converting = plan.converting
    if converting is None:
        converting = plan.converting = plan.converters(dialect, cursor.description)
    return converting
