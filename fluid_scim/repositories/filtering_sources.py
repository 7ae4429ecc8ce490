"""Where each filterable SCIM attribute lives in SQL, for :mod:`.filtering`.

Simple attributes are :class:`Operand` s on the resource row. A complex attribute is a scope of
sub-attributes: :class:`ElementScope` for a singular one (``name``, ``meta``, ``manager``) whose
values are on the resource row too, :class:`RowScope` for a multi-valued one, one row per value
(``scim_user_value``, memberships), reached by an EXISTS correlated on ``organisation_id`` and the
id, or, where the organisation is known and the rows name their attribute (a user's values, declared
custom attributes), by :class:`KeyedRowScope`'s uncorrelated ``IN``. Each scope is made for each
filter node that uses it; the table aliases are made once per process (:func:`_alias`), each use a
subquery of its own.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    String,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.orm import aliased

from fluid_scim.errors import InvalidFilter, InvalidValue
from fluid_scim.models import ScimGroup, ScimGroupMember, ScimUser, ScimUserCustomValue, ScimUserValue
from fluid_scim.repositories.filtering_values import Operand
from fluid_scim.repositories.mapping import (
    DERIVED_USER_COLUMNS,
    FLUID_ROLES_ROWS,
    GROUP_COLUMNS,
    MULTI_VALUED,
    USER_COLUMNS,
    VALUE_COLUMNS,
)
from fluid_scim.schema import FLUID_URN, GROUP_RESOURCE, USER_RESOURCE, USER_URN, Attribute, Resolved, ResourceType

Entity = type[ScimUser] | type[ScimGroup]
REF = frozenset({"$ref"})  # the URI is made when rendering: only its presence can be tested


@dataclass(frozen=True, eq=False)
class ElementScope:
    """A singular complex attribute; its one value exists when ``exists`` holds."""

    attribute: Attribute
    label: str
    values: Mapping[str, SQLColumnExpression[Any]]
    exists: ColumnElement[bool]
    not_filterable: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()  # sub-attributes holding server-assigned (lower-case) ids
    multi_valued: bool = field(default=False, init=False)

    def operand(self, sub: Attribute) -> Operand:
        return _operand(self, sub)

    def any(self, condition: ColumnElement[bool] | None = None) -> ColumnElement[bool]:
        """The value exists (and satisfies ``condition``)."""
        return self.exists if condition is None else and_(self.exists, condition)


@dataclass(frozen=True, eq=False)
class RowScope:
    """A multi-valued complex attribute: one row of ``table`` per value, selected by ``correlation``."""

    attribute: Attribute
    label: str
    table: Any  # an aliased entity
    correlation: tuple[ColumnElement[bool], ...]
    outer: Entity
    values: Mapping[str, SQLColumnExpression[Any]]
    not_filterable: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()  # sub-attributes holding server-assigned (lower-case) ids
    # ORDER BY that puts the entry a sortBy reads first (primary, else first); None: no such entry.
    order: tuple[SQLColumnExpression[Any], ...] | None = None
    multi_valued: bool = field(default=True, init=False)

    def operand(self, sub: Attribute) -> Operand:
        return _operand(self, sub)

    def any(self, condition: ColumnElement[bool] | None = None) -> ColumnElement[bool]:
        """Some value exists (and satisfies ``condition``, evaluated on that one row)."""
        query: Select[Any] = select(literal_column("1")).select_from(self.table).where(*self.correlation)
        if condition is not None:
            query = query.where(condition)
        return query.correlate(self.outer).exists()

    def first(self, expr: SQLColumnExpression[Any]) -> ColumnElement[Any]:
        """``expr`` read from the primary value, else the first one (RFC 7644 §3.4.2.3 sortBy)."""
        if self.order is None:
            raise InvalidValue(f"cannot sort by '{self.label}': its values have no primary or first value")
        query = select(expr).select_from(self.table).where(*self.correlation).order_by(*self.order).limit(1)
        return query.correlate(self.outer).scalar_subquery()


@dataclass(frozen=True, eq=False)
class KeyedRowScope(RowScope):
    """A :class:`RowScope` whose rows name their organisation and attribute by value.

    "Some value satisfies" is then ``id IN (SELECT user_id … WHERE organisation_id = :org AND
    attribute_id = :attr AND …)`` (``attribute = 'emails'`` for a user's values), a subquery that
    does not depend on the outer row: both SQLite
    and PostgreSQL answer it from the (organisation, attribute, value) index first and then fetch
    the few users by primary key, where a correlated EXISTS makes SQLite visit every user of the
    organisation and probe once per user.
    """

    selection: tuple[ColumnElement[bool], ...] = ()
    member: Any = None  # the outer column the rows' ``user_id`` is matched with

    def any(self, condition: ColumnElement[bool] | None = None) -> ColumnElement[bool]:
        query: Select[Any] = select(self.table.user_id).where(*self.selection)
        if condition is not None:
            query = query.where(condition)
        return self.member.in_(query)


Scope = ElementScope | RowScope


def _label(resolved: Resolved) -> str:
    """The canonical path of the complex attribute itself (without a sub-attribute)."""
    return Resolved(resolved.schema, resolved.attribute).path


def _operand(scope: ElementScope | RowScope, sub: Attribute) -> Operand:
    expr = scope.values.get(sub.name)
    full = f"{scope.label}.{sub.name}"
    if expr is None:
        raise InvalidFilter(f"'{full}' is not filterable")
    return Operand(
        expr, sub, full, lowercase=sub.name in scope.ids, filterable=sub.name not in scope.not_filterable and sub.type != "binary"
    )


class ResourceColumns:
    """The SQL side of one resource type's attributes."""

    resource_type: ResourceType
    entity: Entity

    def operand(self, resolved: Resolved) -> Operand:  # pragma: no cover - overridden
        raise NotImplementedError

    def scope(self, resolved: Resolved) -> Scope:  # pragma: no cover - overridden
        raise NotImplementedError

    def _meta(self, resolved: Resolved) -> ElementScope:
        entity = self.entity
        values: dict[str, SQLColumnExpression[Any]] = {
            "created": entity.created_at,
            "lastModified": entity.updated_at,
            "resourceType": literal(self.resource_type.name, String),
            # Always present, but their values are made when rendering (base URL, ETag).
            "location": entity.id,
            "version": entity.id,
        }
        return ElementScope(resolved.attribute, _label(resolved), values, true(), frozenset({"location", "version"}))


class UserColumns(ResourceColumns):
    entity = ScimUser

    def __init__(self, resource_type: ResourceType = USER_RESOURCE, organisation_id: object | None = None) -> None:
        self.resource_type = resource_type  # the organisation's: its declared custom attributes included
        self.organisation_id = organisation_id  # the one the query reads, when known: see custom()

    def custom(self, resolved: Resolved) -> RowScope:
        """A declared custom attribute: its typed rows (``scim_user_custom_value``), one per value.

        Single- and multi-valued alike: "some value satisfies" is a subquery on the rows, which the
        (organisation, attribute, value) indexes answer; a sort reads the first value. With the
        organisation known, the subquery is :class:`KeyedRowScope`'s uncorrelated ``IN``, else an
        EXISTS correlated on the user. A string that is not caseExact is read as ``lower(text)``
        (the expression ``ix_scim_user_custom_value_text`` indexes, marked as lower-cased already):
        its "has a value" test is then on that expression too, and SQLite's planner, without
        statistics, no longer prefers the range ``text IS NOT NULL`` on ``ix_…_exact`` (which reads
        every value of the attribute) to the equality on ``lower(text)``.
        """
        attribute = resolved.attribute
        row = _alias(ScimUserCustomValue, "custom")
        correlation = (
            row.organisation_id == ScimUser.organisation_id,
            row.user_id == ScimUser.id,
            row.attribute_id == attribute.custom_id,
        )
        column: SQLColumnExpression[Any] = {
            "boolean": row.flag, "integer": row.number, "decimal": row.number, "dateTime": row.instant
        }.get(attribute.type, row.text)
        folded = attribute.type in ("string", "reference") and not attribute.case_exact
        if folded:
            column = func.lower(row.text)
        values, ids = {attribute.name: column}, frozenset({attribute.name} if folded else ())
        if self.organisation_id is None:
            return RowScope(attribute, resolved.path, row, correlation, ScimUser, values, ids=ids, order=(row.position,))
        selection = (row.organisation_id == self.organisation_id, row.attribute_id == attribute.custom_id)
        return KeyedRowScope(
            attribute, resolved.path, row, correlation, ScimUser, values, ids=ids, order=(row.position,),
            selection=selection, member=ScimUser.id,
        )

    def operand(self, resolved: Resolved) -> Operand:
        path, attribute = resolved.path, resolved.attribute
        if path == "id":
            return Operand(ScimUser.id, attribute, path)
        if path == "userName":
            return Operand(ScimUser.user_name, attribute, path, key=ScimUser.user_name_key)
        if path == "password":  # returned never: a hash, only its presence can be tested
            return Operand(ScimUser.password_hash, attribute, path, filterable=False)
        column = USER_COLUMNS.get(path) or DERIVED_USER_COLUMNS.get(path)
        if column is None:
            raise InvalidFilter(f"'{path}' is not filterable")
        return Operand(getattr(ScimUser, column), attribute, path)

    def scope(self, resolved: Resolved) -> Scope:
        attribute, label = resolved.attribute, _label(resolved)
        name = attribute.name
        if name == "meta":
            return self._meta(resolved)
        if name == "name":
            values = {sub.name: getattr(ScimUser, USER_COLUMNS[f"name.{sub.name}"]) for sub in attribute.sub_attributes}
            return ElementScope(attribute, label, values, or_(*(column.is_not(None) for column in values.values())))
        if name == "manager":
            manager = _alias(ScimUser, "manager")
            display = (
                select(manager.display_name)
                .where(manager.organisation_id == ScimUser.organisation_id, manager.id == ScimUser.manager_id)
                .correlate(ScimUser)
                .scalar_subquery()
            )
            # value: as the client sent it (free text: compared like any string); $ref: the user it
            # resolves to; displayName: that user's, else the one the client sent while unresolved.
            shown = func.coalesce(display, ScimUser.manager_display)
            values = {"value": ScimUser.manager_ref, "displayName": shown, "$ref": ScimUser.manager_id}
            return ElementScope(attribute, label, values, ScimUser.manager_ref.is_not(None), REF)
        if name == "groups":
            return _user_groups(attribute, label)
        if resolved.schema is not None and resolved.schema.id == FLUID_URN and name == "roles":
            return _user_values(attribute, label, self.organisation_id, rows=FLUID_ROLES_ROWS)
        if name in MULTI_VALUED and resolved.schema is not None and resolved.schema.id == USER_URN:
            return _user_values(attribute, label, self.organisation_id)
        raise InvalidFilter(f"'{label}' is not filterable")


@functools.cache
def _alias(model: Any, role: str) -> Any:
    """An alias of ``model`` for one role in the filters' subqueries, made once per process: a new alias
    per request had its columns adapted anew each time, which cost an ``emails`` lookup more than its
    SQL (cProfile). Each use is a subquery of its own, so one alias in several subqueries of a
    statement is valid SQL (``emails.type eq "home" and emails.value co "work"``)."""
    return aliased(model)


def _user_values(attribute: Attribute, label: str, organisation_id: object | None, *, rows: str | None = None) -> RowScope:
    """A multi-valued attribute's value rows (``scim_user_value``); with the organisation known,
    "some value satisfies" is :class:`KeyedRowScope`'s uncorrelated ``IN``, which the
    (organisation, attribute, lower(value)) index answers (``emails[type eq "work"].value eq …``)."""
    name = rows or attribute.name
    row = _alias(ScimUserValue, name)
    correlation = (row.organisation_id == ScimUser.organisation_id, row.user_id == ScimUser.id, row.attribute == name)
    values = {
        sub.name: getattr(row, VALUE_COLUMNS[sub.name]) for sub in attribute.sub_attributes if sub.name in VALUE_COLUMNS
    }
    order = (case((row.primary.is_(True), 0), else_=1), row.position)
    if organisation_id is None:
        return RowScope(attribute, label, row, correlation, ScimUser, values, order=order)
    selection = (row.organisation_id == organisation_id, row.attribute == name)
    return KeyedRowScope(
        attribute, label, row, correlation, ScimUser, values, order=order, selection=selection, member=ScimUser.id
    )


def _user_groups(attribute: Attribute, label: str) -> RowScope:
    """``groups``: read-only, one value per membership of the user (all direct)."""
    member = _alias(ScimGroupMember, "groups of a user")
    group = _alias(ScimGroup, "group of a membership")
    display = (
        select(group.display_name)
        .where(group.organisation_id == member.organisation_id, group.id == member.group_id)
        .correlate(member)
        .scalar_subquery()
    )
    correlation = (
        member.organisation_id == ScimUser.organisation_id,
        member.member_id == ScimUser.id,
        member.member_type == "User",
    )
    values = {"value": member.group_id, "display": display, "type": literal("direct", String), "$ref": member.group_id}
    return RowScope(attribute, label, member, correlation, ScimUser, values, REF, frozenset({"value", "$ref"}))


class GroupColumns(ResourceColumns):
    resource_type = GROUP_RESOURCE
    entity = ScimGroup

    def operand(self, resolved: Resolved) -> Operand:
        path, attribute = resolved.path, resolved.attribute
        if path == "id":
            return Operand(ScimGroup.id, attribute, path)
        if path == "displayName":
            return Operand(ScimGroup.display_name, attribute, path, key=ScimGroup.display_name_key)
        column = GROUP_COLUMNS.get(path)
        if column is None:
            raise InvalidFilter(f"'{path}' is not filterable")
        return Operand(getattr(ScimGroup, column), attribute, path)

    def scope(self, resolved: Resolved) -> Scope:
        attribute, label = resolved.attribute, _label(resolved)
        if attribute.name == "meta":
            return self._meta(resolved)
        if attribute.name != "members":
            raise InvalidFilter(f"'{label}' is not filterable")
        member = _alias(ScimGroupMember, "members of a group")
        user, group = _alias(ScimUser, "user member"), _alias(ScimGroup, "group member")
        # A member's display is the user's displayName, else its userName; a group's displayName.
        user_display = (
            select(func.coalesce(user.display_name, user.user_name))
            .where(user.organisation_id == member.organisation_id, user.id == member.member_id, member.member_type == "User")
            .correlate(member)
            .scalar_subquery()
        )
        group_display = (
            select(group.display_name)
            .where(group.organisation_id == member.organisation_id, group.id == member.member_id, member.member_type == "Group")
            .correlate(member)
            .scalar_subquery()
        )
        correlation = (member.organisation_id == ScimGroup.organisation_id, member.group_id == ScimGroup.id)
        values = {
            "value": member.member_id,
            "type": member.member_type,
            "display": func.coalesce(user_display, group_display),
            "$ref": member.member_id,
        }
        return RowScope(attribute, label, member, correlation, ScimGroup, values, REF, frozenset({"value", "$ref"}))


def columns_for(resource_type: ResourceType, organisation_id: object | None = None) -> ResourceColumns:
    """``organisation_id``: the organisation the query reads, when known (see :meth:`UserColumns.custom`)."""
    if resource_type.id == USER_RESOURCE.id:
        return UserColumns(resource_type, organisation_id)
    if resource_type.id == GROUP_RESOURCE.id:
        return GroupColumns()
    raise ValueError(f"no table for the resource type {resource_type.name!r}")
