"""SCIM filters and sortBy as SQL (RFC 7644 §3.4.2.2, §3.4.2.3) over ``scim_user`` / ``scim_group``.

:func:`filter_clause` turns a parsed filter into a WHERE condition on the :class:`ScimUser` or
:class:`ScimGroup` entity itself (not an alias); the caller adds ``organisation_id == X``. It
reproduces :mod:`fluid_scim.filters.evaluate` exactly, with these documented differences:

* ``userName eq`` (and a Group's ``displayName eq``) compares the NFKC-folded uniqueness key, so
  it finds the resource a create with that name would collide with even when the two differ by
  NFKC normalisation (full-width letters, ligatures); other operators use ``lower()``.
* Member and group ids (``members.value``, ``groups.value``) are compared without ``lower()`` on
  the column, relying on ids being server-assigned lower-case UUID text, so that the membership
  indexes answer. ``manager.value`` is the value as the client sent it (free text for Okta), so it
  is compared like any other caseExact=false string.
* A multi-valued attribute is present (``emails pr``) when it has at least one stored entry.
* The parser refuses a literal holding NUL (``fluid_scim.text``: no stored value can hold one, and
  PostgreSQL cannot bind it); a node built otherwise that holds one matches nothing.

Beyond the reference's type errors, these raise :class:`InvalidFilter` for anything but ``pr``,
``eq null`` and ``ne null``: ``password``, ``meta.location``, ``meta.version``, the ``$ref``
sub-attributes and binary values (``x509Certificates.value``). ``groups.type`` is always "direct".

:func:`sort_clause` returns ORDER BY terms ending with the id, so that pages are stable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, SQLColumnExpression, and_, func, not_, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from fluid_scim.errors import InvalidFilter, InvalidValue
from fluid_scim.filters import And, AttrPath, Compare, Filter, FilterError, Not, Or, Present, ValuePath, parse_path, render
from fluid_scim.repositories.filtering_sources import ResourceColumns, RowScope, Scope, UserColumns, columns_for
from fluid_scim.repositories.filtering_values import STRING_TYPES, CodePoint, Operand, compare, present
from fluid_scim.schema import Attribute, Resolved, ResourceType, UnknownAttribute, resolve

__all__ = ["filter_clause", "sort_clause"]

# "Some value satisfies the condition" (None: some value exists) for one attribute path.
_Some = Callable[[ColumnElement[bool] | None], ColumnElement[bool]]


def filter_clause(resource_type: ResourceType, node: Filter, *, organisation_id: object | None = None) -> ColumnElement[bool]:
    """The WHERE condition selecting the resources of ``resource_type`` that match ``node``.

    ``organisation_id``, the organisation the caller reads, lets a declared custom attribute's
    test be answered from its index first (:meth:`UserColumns.custom`).

    Raises :class:`InvalidFilter` for an unknown attribute, an attribute that is not filterable,
    or an operator or literal the attribute's type does not support (before touching data).
    """
    return _Translator(columns_for(resource_type, organisation_id)).filter(node, None)


def sort_clause(
    resource_type: ResourceType, sort_by: str | None, descending: bool, *, filtered: bool = False
) -> list[ColumnElement[Any]]:
    """ORDER BY terms for ``sortBy`` (``None``: creation time), always ending with the id.

    Strings that are not caseExact sort by ``lower()``, all strings by code point. Resources
    without a value (NULL or "") come last in ascending and first in descending order (RFC 7644
    §3.4.2.3); ``descending`` reverses the whole order, the id included. A multi-valued attribute
    sorts by its primary value, else its first. Raises :class:`InvalidValue` for a path that is not
    an attribute, is complex, is not filterable, is binary, or is ``groups``/``members``.

    The resource's unique name (``userName``, a Group's ``displayName``) is required and never empty:
    it sorts by ``lower()`` alone, without NULLIF and NULLS LAST, so that the (organisation_id,
    lower(name), id) indexes answer the order (the admin console lists users by userName).

    ``filtered``: the rows are chosen by a filter, whose index should find them; the sort key is then
    an :class:`OrderOnly` term, so that SQLite does not walk an index in the order instead.
    """
    columns = columns_for(resource_type)
    entity = columns.entity
    keys: list[tuple[SQLColumnExpression[Any], bool]] = [(entity.created_at, False)]  # (key, never without a value)
    if sort_by is not None:
        found = _sort_key(columns, sort_by)
        keys = [] if found is None else [found]
    if filtered:
        keys = [(OrderOnly(key), valued) for key, valued in keys]
    terms: list[ColumnElement[Any]] = [
        (key.desc() if descending else key.asc()) if valued
        else (key.desc().nulls_first() if descending else key.asc().nulls_last())
        for key, valued in keys
    ]
    terms.append(entity.id.desc() if descending else entity.id.asc())
    return terms


class OrderOnly(FunctionElement[Any]):
    """An ORDER BY term that no index should answer: ``+(expr)`` on SQLite, ``expr`` elsewhere.

    SQLite's planner, without statistics (nothing runs ANALYZE on its file), prefers walking an index
    in the requested order over finding a filter's rows by the filter's index and sorting them: with
    the creation index, ``filter=externalId eq "…"`` walked every user of the organisation. A unary
    ``+`` keeps the order and disqualifies the term from index use (SQLite's query planner
    documentation, "Disqualifying WHERE Clause Terms Using Unary-'+'"). PostgreSQL plans by cost.
    """

    name = "order_only"
    inherit_cache = True


@compiles(OrderOnly)
def _order_only(element: OrderOnly, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(OrderOnly, "sqlite")
def _order_only_sqlite(element: OrderOnly, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+({compiler.process(element.clauses, **kw)})"


class _Translator:
    def __init__(self, columns: ResourceColumns) -> None:
        self._columns = columns

    def filter(self, node: Filter, scope: Scope | None) -> ColumnElement[bool]:
        """``scope`` is the complex attribute inside whose ``[...]`` the node sits, if any."""
        if isinstance(node, And):
            return and_(self.filter(node.left, scope), self.filter(node.right, scope))
        if isinstance(node, Or):
            return or_(self.filter(node.left, scope), self.filter(node.right, scope))
        if isinstance(node, Not):
            return not_(self.filter(node.operand, scope))
        if isinstance(node, ValuePath):
            if node.sub_attr is not None:
                raise InvalidFilter(f"'{render(node)}' must be followed by an operator")
            element = self._bracket_scope(node.attr, scope)
            return element.any(self.filter(node.filter, element))
        if isinstance(node, Present):
            return self._present(node.path, scope)
        if isinstance(node, Compare):
            return self._compare(node, scope)
        raise TypeError(f"not a filter node: {node!r}")

    def _present(self, path: AttrPath | ValuePath, scope: Scope | None) -> ColumnElement[bool]:
        some, operand = self._values(path, scope, compare=False)
        return some(None if operand is None else present(operand))

    def _compare(self, node: Compare, scope: Scope | None) -> ColumnElement[bool]:
        if node.value is None:
            exists = self._present(node.path, scope)
            if node.op == "eq":
                return not_(exists)
            if node.op == "ne":
                return exists
            raise InvalidFilter(f"'{node.op}' cannot compare with null; use 'eq null', 'ne null' or 'pr'")
        some, operand = self._values(node.path, scope, compare=True)
        if operand is None:
            raise InvalidFilter(f"'{render(node.path)}' is a complex attribute; compare one of its sub-attributes")
        # ne is "no value equals", so true when there is no value at all.
        hit = some(compare(operand, "eq" if node.op == "ne" else node.op, node.value))
        return not_(hit) if node.op == "ne" else hit

    def _values(self, path: AttrPath | ValuePath, scope: Scope | None, *, compare: bool) -> tuple[_Some, Operand | None]:
        """How to test "some value of ``path``", and the operand standing for one value (None for
        a complex attribute without sub-attribute, whose values are its elements)."""
        if isinstance(path, ValuePath):  # Entra's emails[type eq "work"].value
            if path.sub_attr is None:
                raise InvalidFilter(f"'{render(path)}' needs a sub-attribute, such as '.value', to compare")
            element = self._bracket_scope(path.attr, scope)
            chosen = self.filter(path.filter, element)
            operand = element.operand(self._sub(element, path.sub_attr))
            return (lambda condition: element.any(chosen if condition is None else and_(chosen, condition))), operand
        if scope is not None:
            if path.schema is not None or path.sub_attr is not None:
                raise InvalidFilter(f"'{render(path)}' inside '{scope.label}[...]' must be a plain sub-attribute name")
            return _itself, scope.operand(self._sub(scope, path.attr))
        resolved = self._resolve(path)
        if resolved.attribute.custom_id is not None:
            custom = self._custom(resolved)
            return custom.any, custom.operand(resolved.attribute)
        if resolved.attribute.type != "complex":
            return _itself, self._columns.operand(resolved)
        element = self._columns.scope(resolved)
        sub = resolved.sub_attribute
        if sub is None and compare and element.multi_valued:
            sub = self._sub(element, "value")  # emails co "x" compares emails.value
        if sub is None:
            return element.any, None
        # A value of a singular complex attribute's sub-attribute implies the attribute.
        return (element.any if element.multi_valued else _itself), element.operand(sub)

    def _bracket_scope(self, attr: AttrPath, scope: Scope | None) -> Scope:
        if scope is not None:
            raise InvalidFilter(f"value filters cannot be nested inside '{scope.label}[...]'")
        resolved = self._resolve(attr)
        if attr.sub_attr is not None or resolved.attribute.type != "complex":
            raise InvalidFilter(f"'{render(attr)}' is not a complex attribute, so it cannot take '[...]'")
        return self._columns.scope(resolved)

    def _resolve(self, path: AttrPath) -> Resolved:
        try:
            return resolve(self._columns.resource_type, path.schema, path.attr, path.sub_attr)
        except UnknownAttribute as error:
            raise InvalidFilter(f"unknown attribute '{render(path)}': {error}") from None

    def _custom(self, resolved: Resolved) -> RowScope:
        columns = self._columns
        assert isinstance(columns, UserColumns)  # only Users have declared attributes
        return columns.custom(resolved)

    @staticmethod
    def _sub(scope: Scope, name: str) -> Attribute:
        sub = scope.attribute.sub(name)
        if sub is None:
            raise InvalidFilter(
                f"unknown attribute '{scope.label}.{name}': '{scope.attribute.name}' has no sub-attribute '{name}'"
            )
        return sub


def _itself(condition: ColumnElement[bool] | None) -> ColumnElement[bool]:
    assert condition is not None  # only complex attributes test for elements
    return condition


def _sort_key(columns: ResourceColumns, sort_by: str) -> tuple[SQLColumnExpression[Any], bool] | None:
    """The expression to order by, and whether every resource has a value for it (None when it is the
    same for every resource)."""
    resolved = _sort_path(columns.resource_type, sort_by)
    try:
        element, operand = _sort_operand(columns, resolved)
    except InvalidFilter as error:  # not filterable
        raise InvalidValue(f"cannot sort by '{sort_by}': {error.detail}") from None
    kind = operand.attribute.type
    if not operand.filterable or kind in ("binary", "complex"):
        raise InvalidValue(f"cannot sort by '{operand.label}': it is not sortable")
    if isinstance(operand.expr, BindParameter):  # meta.resourceType: the same for every resource
        return None
    key = operand.expr
    if operand.key is not None and not operand.attribute.case_exact:  # the unique name: never empty
        return CodePoint(func.lower(key)), True
    if kind in STRING_TYPES:
        folded = operand.attribute.case_exact or operand.lowercase
        key = func.nullif(key if folded else func.lower(key), "")  # "" is no value
    if isinstance(element, RowScope):  # multi-valued: its primary value, else its first
        key = element.first(key)
    return (CodePoint(key) if kind in STRING_TYPES else key), False


def _sort_path(resource_type: ResourceType, sort_by: str) -> Resolved:
    """``sortBy`` resolved to an attribute (or sub-attribute) of the resource type; no filters."""
    try:
        path = parse_path(sort_by)
    except FilterError as error:
        raise InvalidValue(f"sortBy '{sort_by}' is not an attribute path: {error}") from None
    if path.value_filter is not None or path.sub_attr is not None:
        raise InvalidValue(f"sortBy '{sort_by}' must be an attribute path such as 'name.familyName', without '[...]'")
    try:
        return resolve(resource_type, path.attr.schema, path.attr.attr, path.attr.sub_attr)
    except UnknownAttribute as error:
        raise InvalidValue(f"cannot sort by '{sort_by}': {error}") from None


def _sort_operand(columns: ResourceColumns, resolved: Resolved) -> tuple[Scope | None, Operand]:
    """The column to sort by and, for a complex attribute, its scope; a multi-valued one sorts by ``value``."""
    if resolved.attribute.custom_id is not None and isinstance(columns, UserColumns):
        custom = columns.custom(resolved)
        return custom, custom.operand(resolved.attribute)
    if resolved.attribute.type != "complex":
        return None, columns.operand(resolved)
    element = columns.scope(resolved)
    sub = resolved.sub_attribute
    if sub is None and element.multi_valued:
        sub = element.attribute.sub("value")
    if sub is None:
        raise InvalidValue(f"cannot sort by the complex attribute '{element.label}'; name one of its sub-attributes")
    return element, element.operand(sub)
