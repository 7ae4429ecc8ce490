"""SELECTs of the per-request hot paths, compiled once per dialect and run on the connection's own cursor.

Every SCIM request authenticates by one SELECT, and a GET or a lookup by userName reads its user by
one more. Through ``Connection.execute``, SQLAlchemy spends on each of them more than the driver
does: the statement's cache key, the compiled cache, the execution context, the parameters and the
result object are made anew per call. A :class:`PreparedSelect` does that part once. Its statement
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

Only plain SELECTs qualify: no expanding ``IN`` and no parameter rendered into the SQL text, which
need the per-call compilation this skips (refused when the statement is first compiled). The
processors, the result columns and the error handler are SQLAlchemy's own, reached by names it keeps
internal: the version is pinned in requirements.txt, and tests/test_prepared.py compares every
prepared statement's rows with ``Connection.execute``'s on both backends, so an upgrade that moves
them fails there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Dialect, Select

_Processor = Callable[[Any], Any] | None


@dataclass(slots=True)
class _Plan:
    """A statement compiled for one dialect: its SQL text and how its values are converted."""

    sql: str
    positional: bool
    binds: tuple[tuple[str, str, Any, _Processor], ...]  # (name in the SQL, parameter key, default, processor)
    result_types: tuple[Any, ...]
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
            values.append(value if process is None else process(value))
        if self.positional:
            return tuple(values)
        return {name: value for (name, *_), value in zip(self.binds, values, strict=True)}


class PreparedSelect:
    """A Core SELECT built once, compiled once per dialect, run on the DB-API cursor of a connection."""

    __slots__ = ("_plans", "statement")

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def rows(self, connection: Connection, parameters: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Every row: the converted values in the order of the statement's columns."""
        return self._run(connection, parameters, every=True)

    def first(self, connection: Connection, parameters: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row, or None."""
        rows = self._run(connection, parameters, every=False)
        return rows[0] if rows else None

    def _run(self, connection: Connection, parameters: Mapping[str, Any], *, every: bool) -> Sequence[Sequence[Any]]:
        dispatch = connection.dispatch
        if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
            return self._through_sqlalchemy(connection, parameters, every=every)
        dialect = connection.dialect
        plan = self._plans.get(dialect.name) or self._plan(connection)
        values = plan.parameters(parameters)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(plan.sql, values)
            fetched = cursor.fetchall() if every else cursor.fetchmany(1)
            converting = plan.converting
            if converting is None:  # psycopg builds its description anew at each reading: read it once
                converting = plan.converting = plan.converters(dialect, cursor.description)
        except dialect.loaded_dbapi.Error as error:
            # Closes the cursor, invalidates a lost connection, raises SQLAlchemy's exception.
            connection._handle_dbapi_exception(error, plan.sql, values, cursor, None)
        cursor.close()
        if not converting:
            return fetched
        rows = []
        for row in fetched:
            converted = list(row)
            for index, process in converting:
                converted[index] = process(converted[index])
            rows.append(converted)
        return rows

    def _through_sqlalchemy(
        self, connection: Connection, parameters: Mapping[str, Any], *, every: bool
    ) -> Sequence[Sequence[Any]]:
        result = connection.execute(self.statement, dict(parameters))
        if every:
            return [tuple(row) for row in result]
        row = result.first()
        return [] if row is None else [tuple(row)]

    def _plan(self, connection: Connection) -> _Plan:
        dialect = connection.dialect
        compiled = self.statement.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise TypeError("a prepared SELECT cannot have expanding or literal-execute parameters")
        names: Sequence[str] = compiled.positiontup if dialect.positional and compiled.positiontup else list(compiled.binds)
        binds = []
        for name in names:
            bind = compiled.binds[name]
            default = None if bind.callable is not None or bind.value is None else bind.value
            binds.append((name, bind.key, default, bind.type._cached_bind_processor(dialect)))
        # The same types CursorResult reads its processors from (a label's type, a type_coerce's).
        result_types = tuple(column[3] for column in compiled._result_columns)
        plan = _Plan(compiled.string, bool(dialect.positional), tuple(binds), result_types)
        self._plans[dialect.name] = plan
        return plan
