"""One stored SCIM value against one filter literal, as a SQL condition (used by :mod:`.filtering`).

Every condition built here is two-valued: it is FALSE, never NULL, when the stored value is NULL,
so that ``NOT`` (and ``ne``, which is ``NOT eq``) keep the meaning the in-memory evaluator
(:mod:`fluid_scim.filters.evaluate`) gives them. The type rules and error cases are the
reference's, raised as :class:`InvalidFilter` before any row is read.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, String, and_, false, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from fluid_scim.errors import InvalidFilter
from fluid_scim.filters import CompValue
from fluid_scim.filters.canonical import render_value
from fluid_scim.repositories.mapping import aware, fold
from fluid_scim.schema import Attribute

STRING_TYPES = ("string", "reference", "binary")
SUBSTRING_OPS = frozenset({"co", "sw", "ew"})
ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
LIKE_ESCAPE = "\\"


class CodePoint(FunctionElement[str]):
    """``expr`` ordered by code point: ``(expr) COLLATE "C"`` on PostgreSQL, whatever the database
    collation; ``(expr)`` on SQLite, whose BINARY collation already orders UTF-8 by code point."""

    name = "code_point"
    inherit_cache = True
    type = String()


@compiles(CodePoint)
def _code_point(element: CodePoint, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"


@compiles(CodePoint, "postgresql")
def _code_point_postgresql(element: CodePoint, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


@dataclass(frozen=True, slots=True)
class Operand:
    """A value of one (sub-)attribute as a SQL expression, NULL when there is no value.

    ``key`` is the NFKC-folded uniqueness key (``userName``, a Group's ``displayName``): ``eq``
    compares it with ``fold(literal)`` so that the unique index answers. ``lowercase`` marks
    server-assigned ids (member and group ids: canonical lower-case UUID text), which a
    caseExact=false comparison need not ``lower()``, so that the key indexes answer.
    ``filterable=False`` allows only ``pr``, ``eq null`` and ``ne null`` (password, meta.location,
    $ref, binaries).
    """

    expr: SQLColumnExpression[Any]  # a column, an ORM attribute or an expression
    attribute: Attribute
    label: str
    key: SQLColumnExpression[str] | None = None
    lowercase: bool = False
    filterable: bool = True


def present(operand: Operand) -> ColumnElement[bool]:
    """``pr`` of one value: not NULL, and not "" for strings (the reference's ``_is_present``)."""
    if operand.attribute.type in STRING_TYPES:
        return and_(operand.expr.is_not(None), operand.expr != "")
    return operand.expr.is_not(None)


def compare(operand: Operand, op: str, literal: CompValue) -> ColumnElement[bool]:
    """``value op literal`` for ``op`` in eq, co, sw, ew, gt, ge, lt, le (``ne`` is the caller's
    ``NOT eq``; null literals are the caller's too). FALSE when the value is NULL."""
    kind, label = operand.attribute.type, operand.label
    if kind == "complex":
        raise InvalidFilter(f"'{label}' is a complex attribute; compare one of its sub-attributes")
    if not operand.filterable:
        raise InvalidFilter(f"'{label}' is not filterable: only 'pr', 'eq null' and 'ne null' can test it")
    if kind == "boolean":
        return _boolean(operand, op, literal)
    if op in SUBSTRING_OPS and kind in ("integer", "decimal", "dateTime"):
        raise InvalidFilter(f"'{op}' only works on strings, and '{label}' is a {kind} attribute")
    if kind in ("integer", "decimal"):
        if not _is_number(literal):
            raise _mismatch(operand, literal)
        return and_(operand.expr.is_not(None), ORDERING[op](operand.expr, literal))
    if kind == "dateTime":
        return _datetime(operand, op, literal)
    return _string(operand, op, literal)


def parse_datetime(value: CompValue) -> datetime | None:
    """A filter literal as an aware instant, as the reference reads it (naive means UTC)."""
    return aware(value)


def like_pattern(op: str, text: str) -> str:
    """A LIKE pattern (escape character ``\\``) that matches ``text`` literally for co/sw/ew."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]


def _boolean(operand: Operand, op: str, literal: CompValue) -> ColumnElement[bool]:
    if op != "eq":
        raise InvalidFilter(f"'{op}' cannot be used with the boolean attribute '{operand.label}'; use eq, ne or pr")
    if isinstance(literal, str) and literal.lower() in ("true", "false"):
        literal = literal.lower() == "true"  # Entra sends roles[primary eq "True"]
    if not isinstance(literal, bool):
        raise _mismatch(operand, literal)
    return and_(operand.expr.is_not(None), operand.expr == literal)


def _datetime(operand: Operand, op: str, literal: CompValue) -> ColumnElement[bool]:
    instant = parse_datetime(literal)
    if instant is None:
        raise InvalidFilter(
            f"'{operand.label}' is a dateTime attribute; compare it with an ISO 8601 string "
            f'such as "2011-05-13T04:42:34Z", not {render_value(literal)}'
        )
    try:
        instant = instant.astimezone(UTC)
    except OverflowError:
        # Outside the UTC range of datetime, so after (year 9999, west of UTC) or before
        # (year 1, east of UTC) every stored instant.
        later = instant.year == MAXYEAR
        if op == "eq" or (op in ("gt", "ge")) == later:
            return false()
        return operand.expr.is_not(None)
    return and_(operand.expr.is_not(None), ORDERING[op](operand.expr, instant))


def _string(operand: Operand, op: str, literal: CompValue) -> ColumnElement[bool]:
    if not isinstance(literal, str):
        raise _mismatch(operand, literal)
    attribute, expr = operand.attribute, operand.expr
    if attribute.type == "binary" and op in ("gt", "ge", "lt", "le"):
        raise InvalidFilter(f"'{op}' cannot be used with the binary attribute '{operand.label}'")
    if op == "eq" and operand.key is not None:
        return operand.key == fold(literal)
    wanted = literal if attribute.case_exact else literal.lower()
    column = expr if attribute.case_exact or operand.lowercase else func.lower(expr)
    test: ColumnElement[bool]
    if op in SUBSTRING_OPS:
        test = column.like(like_pattern(op, wanted), escape=LIKE_ESCAPE)
    elif op == "eq":
        test = column == wanted
    else:
        test = ORDERING[op](CodePoint(column), wanted)
    return and_(expr.is_not(None), test)


def _is_number(value: CompValue) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _mismatch(operand: Operand, literal: CompValue) -> InvalidFilter:
    return InvalidFilter(
        f"cannot compare the {operand.attribute.type} attribute '{operand.label}' with {render_value(literal)}"
    )
