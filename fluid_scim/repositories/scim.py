"""Queries on SCIM users, groups and memberships. Every function takes ``organisation_id``; none commits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast, overload

import orjson
from sqlalchemy import (
    JSON,
    BindParameter,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    CursorResult,
    DateTime,
    Integer,
    Select,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    case,
    delete,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, SessionTransaction, aliased, make_transient_to_detached
from sqlalchemy.orm.attributes import InstrumentedAttribute, set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from fluid_scim.database import json_bytes, upsert_insert
from fluid_scim.extensions import db
from fluid_scim.models import Organisation, ScimGroup, ScimGroupMember, ScimUser, ScimUserValue, UserRecord
from fluid_scim.models.scim import is_resource_id
from fluid_scim.models.types import ReadJSON, utcnow
from fluid_scim.repositories import connections, organisations
from fluid_scim.repositories.filtering import sort_clause
from fluid_scim.repositories.mapping import FLUID_ROLES_ROWS, ValueRow
from fluid_scim.repositories.prepared import (
    TOGETHER_ROWS_AT_MOST,
    PreparedInsert,
    PreparedQuery,
    insert_together,
    native_sql,
    on_cursor,
)
from fluid_scim.repositories.record_cache import RecordCache
from fluid_scim.schema import USER_RESOURCE

MemberRow = tuple[str, str, str | None]  # (member id, member type, display)


# The statements of the hottest paths are built once, with bound parameters: building a SELECT and
# its cache key costs more than SQLite takes to run it (about 0.13 ms per statement, measured). Those a
# GET, a lookup or a list page runs are prepared too (repositories.prepared): compiled once, run on the
# connection's cursor.
_ORGANISATION: BindParameter[Any] = bindparam("organisation_id")
_ID: BindParameter[str] = bindparam("id")
_IDS: BindParameter[list[str]] = bindparam("ids", expanding=True)
_KEY: BindParameter[str] = bindparam("key")
_USER_BY_ID = select(ScimUser).where(ScimUser.organisation_id == _ORGANISATION, ScimUser.id == _ID)
_USER_BY_ID_FOR_UPDATE = _USER_BY_ID.with_for_update()
# A membership's group: the join of both ways of reading a user's groups (groups_of_users, _groups_of_the_user).
_GROUP_OF_MEMBERSHIP = (ScimGroup.organisation_id == ScimGroupMember.organisation_id) & (ScimGroup.id == ScimGroupMember.group_id)
_GROUPS_OF = (
    select(ScimGroupMember.member_id, ScimGroup.id, ScimGroup.display_name)
    .join(ScimGroup, _GROUP_OF_MEMBERSHIP)
    .where(ScimGroupMember.organisation_id == _ORGANISATION)
    .order_by(ScimGroup.display_name, ScimGroup.id)
)
# A list of ids (a page's 100 users) as one array parameter on PostgreSQL: psycopg caches and prepares
# only statements of 50 parameters or fewer, so an IN of 100 was parsed again at every execution and
# planned by the server every time. SQLite has no arrays: an expanding IN there.
_ID_ARRAY: BindParameter[Any] = bindparam("ids", type_=postgresql.ARRAY(String(36)))


def _among(column: ColumnElement[str] | InstrumentedAttribute[str]) -> dict[str, ColumnElement[bool]]:
    """``column`` is one of the ``ids`` parameter, spelled per backend."""
    return {"postgresql": column == any_(_ID_ARRAY), "sqlite": column.in_(_IDS)}


class _AmongIds:
    """A statement over the ``ids`` parameter: prepared on PostgreSQL (one array parameter), compiled per call
    on SQLite (an expanding IN, which a prepared statement cannot hold)."""

    __slots__ = ("_postgresql", "_sqlite")

    def __init__(self, statement: Select[*tuple[Any, ...]], column: ColumnElement[str] | InstrumentedAttribute[str]) -> None:
        among = _among(column)
        self._postgresql = PreparedQuery(statement.where(among["postgresql"]))
        self._sqlite = statement.where(among["sqlite"])

    def rows(self, connection: Connection, parameters: dict[str, Any]) -> Iterable[Sequence[Any]]:
        if connection.dialect.name == "postgresql":
            return self._postgresql.rows(connection, parameters)
        return connection.execute(self._sqlite, parameters)


_GROUPS_OF_USERS = _AmongIds(_GROUPS_OF, ScimGroupMember.member_id)
# One user's (a GET, a lookup by userName): no expanding IN, whose SQL is rendered again at every execution.
_GROUPS_OF_USER = PreparedQuery(_GROUPS_OF.where(ScimGroupMember.member_id == _ID))
_WITH_EMAIL = (
    select(ScimUserValue.user_id)
    .where(
        ScimUserValue.organisation_id == _ORGANISATION,
        ScimUserValue.attribute == "emails",
        func.lower(ScimUserValue.value).in_(bindparam("addresses", expanding=True)),
    )
    .limit(50)
)
# Hundreds of ids at a time (access recomputation reads users in chunks of 500): written into the
# statement as constants, which PostgreSQL looks each row up against in a hash. As parameters, a
# prepared statement's generic plan compares each row with every id, and while scim_user has no
# statistics yet (filled moments ago) it may read every user of the organisation for it.
_LISTED_IDS: BindParameter[list[str]] = bindparam("ids", expanding=True, literal_execute=True)
_USERS_BY_IDS = select(ScimUser).where(ScimUser.organisation_id == _ORGANISATION, ScimUser.id.in_(_LISTED_IDS))
_MEMBERSHIPS = select(ScimGroupMember.member_id, ScimGroupMember.group_id).where(
    ScimGroupMember.organisation_id == _ORGANISATION,
    ScimGroupMember.member_id.in_(_LISTED_IDS),
    ScimGroupMember.group_id.in_(bindparam("group_ids", expanding=True)),
)
_BY_KEY: dict[type[ScimUser] | type[ScimGroup], Select[Any]] = {
    ScimUser: select(ScimUser).where(ScimUser.organisation_id == _ORGANISATION, ScimUser.user_name_key == _KEY),
    ScimGroup: select(ScimGroup).where(ScimGroup.organisation_id == _ORGANISATION, ScimGroup.display_name_key == _KEY),
}


def get_user(organisation_id: object, user_id: str, *, for_update: bool = False) -> ScimUser | None:
    """The user with this id, to change: the one authentication read for this change, once, else one query."""
    if not is_resource_id(user_id):
        return None
    if not for_update:
        was_read, user = _read_with_token(organisation_id, user_id)
        if was_read:
            return user
    query = _USER_BY_ID_FOR_UPDATE if for_update else _USER_BY_ID
    return db.session.execute(query, {"organisation_id": organisation_id, "id": user_id}).scalar_one_or_none()


def users_by_ids(organisation_id: object, user_ids: Sequence[str]) -> list[ScimUser]:
    """These users (in no particular order): those the session has loaded already, the rest in one query.

    A loaded user counts when it is persistent, has no expired attribute and is not being deleted, so
    that a use case recomputing the access of users it just changed reads none of them again.
    """
    found: list[ScimUser] = []
    missing: list[str] = []
    for user_id in user_ids:
        loaded = db.session.identity_map.get(identity_key(ScimUser, (organisation_id, user_id)))
        if isinstance(loaded, ScimUser) and _current(loaded):
            found.append(loaded)
        else:
            missing.append(user_id)
    if missing:
        found.extend(db.session.execute(_USERS_BY_IDS, {"organisation_id": organisation_id, "ids": missing}).scalars())
    return found


def _current(user: ScimUser) -> bool:
    state = inspect(user)
    return state.persistent and not state.expired_attributes and user not in db.session.deleted


def user_ids_after(organisation_id: object, after: str, limit: int) -> Sequence[str]:
    """The next ``limit`` user ids greater than ``after``, in id order (keyset pagination over every user)."""
    return (
        db.session.execute(
            select(ScimUser.id)
            .where(ScimUser.organisation_id == organisation_id, ScimUser.id > after)
            .order_by(ScimUser.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )


@overload
def find_by_key(model: type[ScimUser], organisation_id: object, key: str) -> ScimUser | None: ...
@overload
def find_by_key(model: type[ScimGroup], organisation_id: object, key: str) -> ScimGroup | None: ...
def find_by_key(model: type[ScimUser] | type[ScimGroup], organisation_id: object, key: str) -> ScimUser | ScimGroup | None:
    """The user with this folded userName, or the group with this folded displayName (unique keys)."""
    found: ScimUser | ScimGroup | None = db.session.execute(
        _BY_KEY[model], {"organisation_id": organisation_id, "key": key}
    ).scalar_one_or_none()
    return found


_GROUP_BY_ID = select(ScimGroup).where(ScimGroup.organisation_id == _ORGANISATION, ScimGroup.id == _ID)
_GROUP_BY_ID_FOR_UPDATE = _GROUP_BY_ID.with_for_update()


def get_group(organisation_id: object, group_id: str, *, for_update: bool = False) -> ScimGroup | None:
    if not is_resource_id(group_id):
        return None
    query = _GROUP_BY_ID_FOR_UPDATE if for_update else _GROUP_BY_ID
    return db.session.execute(query, {"organisation_id": organisation_id, "id": group_id}).scalar_one_or_none()


def group_display_names(organisation_id: object, group_ids: Iterable[str]) -> dict[str, str]:
    """displayName of each of these groups that exists."""
    rows = db.session.execute(
        select(ScimGroup.id, ScimGroup.display_name).where(
            ScimGroup.organisation_id == organisation_id, ScimGroup.id.in_(list(group_ids))
        )
    )
    return {row[0]: row[1] for row in rows}


def add_group(group: ScimGroup) -> None:
    """Add a new group and flush it, so that its id can be referred to at once."""
    db.session.add(group)
    db.session.flush()


_VALUES = cast(Table, ScimUserValue.__table__)
_INSERT_VALUES = PreparedInsert(insert(_VALUES))
_VALUE_COLUMNS = tuple(column.key for column in _VALUES.columns)


def _value_rows(rows: Iterable[ValueRow]) -> list[dict[str, Any]]:
    """Value rows as the Core INSERT takes them (one executemany, or a part of a statement that inserts more).

    Nothing reads them back through the ORM (filters and deletes are SQL), and the ORM's unit of work
    cost more than the INSERT itself: a sixth of a create's CPU went to flushing them (measured).
    """
    return [{key: row.get(key) for key in _VALUE_COLUMNS} for row in rows]


_USER_ATTRIBUTES = tuple((attribute.key, attribute.columns[0]) for attribute in inspect(ScimUser).column_attrs)


def _default_of(column: Any) -> Any:
    """The value a column's Python-side default gives a new row (None without one)."""
    default = column.default
    if default is None or not (default.is_scalar or default.is_callable):
        return None
    return default.arg(None) if default.is_callable else default.arg  # a callable's arg takes the execution context


def add_user(user: ScimUser, rows: Iterable[ValueRow], *, probe_reports: bool = False) -> bool | None:
    """Insert a new user by one Core INSERT (the userName key's unique index speaks here) and its value rows;
    with ``probe_reports``, answer whether any report waits for the user as its manager (:func:`link_reports`
    takes the answer), else None.

    On PostgreSQL all of it goes in one statement (``prepared.insert_together``: one round trip instead of
    three; the probe leaves the new user out, which a statement cannot see anyway). The user then joins
    the session as persistent, as if it had been loaded, with every column set: the ORM's unit of work
    for the INSERT of this 45-column row cost about a fifth of a create (cProfile). Later changes to it
    in the transaction (access, manager links) are flushed as UPDATEs as before.
    """
    state = user.__dict__
    for key, column in _USER_ATTRIBUTES:
        if key not in state:
            setattr(user, key, _default_of(column))
    user_row = {column.key: state[key] for key, column in _USER_ATTRIBUTES}
    probe = (_REPORTS_WAITING, _waiting_parameters(user.organisation_id, user.id, user.external_id, user.employee_number))
    found = insert_together(
        db.session.connection(), [(_INSERT_USER, [user_row]), (_INSERT_VALUES, _value_rows(rows))],
        then=probe if probe_reports else None,
    )
    make_transient_to_detached(user)
    db.session.add(user)
    return bool(found) if probe_reports else None


# The value rows of some of a user's attributes, deleted by a Core statement built once on the session's
# connection: the session's ORM DELETE looked for the rows' objects to keep its identity map in step,
# and value rows are never ORM objects (they are inserted by _insert_values).
_DELETE_VALUES = delete(ScimUserValue).where(
    ScimUserValue.organisation_id == _ORGANISATION,
    ScimUserValue.user_id == _ID,
    ScimUserValue.attribute.in_(bindparam("attributes", expanding=True)),
)


def replace_user_values(user: ScimUser, rows: Iterable[ValueRow], *, attributes: Iterable[str]) -> None:
    """Replace the value rows of the named attributes (others, such as the Fluid roles, stay).

    On PostgreSQL, in one statement when there are rows to insert (:func:`_replace_values_in_one`).
    """
    names = list(attributes)
    values = _value_rows(rows)
    connection = db.session.connection()
    if names and values and _replace_values_in_one(connection, user, names, values):
        return
    if names:
        connection.execute(_DELETE_VALUES, {"organisation_id": user.organisation_id, "id": user.id, "attributes": names})
    _INSERT_VALUES.execute(connection, values)


# A user's value rows replaced in one statement on PostgreSQL, by number of rows (compiled once each): the
# DELETE is a data-modifying WITH that the INSERT's rows wait for (they are produced once ``gone`` has been
# read to its end, so the old rows are deleted first), and PostgreSQL accepts the same keys again once the
# transaction itself has deleted them. One round trip instead of two for a PATCH of e-mails, phones or
# addresses. Each value is cast to its column's type (a string to text), as the INSERT of VALUES would resolve it.
# Kept with PostgreSQL's own placeholders and the names in their order (prepared.native_sql).
_REPLACE_VALUES_SQL: dict[int, tuple[str, tuple[str, ...]]] = {}


def _replace_values_sql(count: int) -> tuple[str, tuple[str, ...]]:
    known = _REPLACE_VALUES_SQL.get(count)
    if known is None:
        dialect = postgresql.dialect()
        columns = [_VALUES.c[key] for key in _VALUE_COLUMNS]
        names = ", ".join(dialect.identifier_preparer.quote(column.name) for column in columns)
        # A string is cast to text, not to its column's varchar(n), which would cut an over-long value where the
        # INSERT refuses it.
        casts = ["TEXT" if isinstance(column.type, String) else column.type.compile(dialect=dialect) for column in columns]
        rows = ", ".join(
            "(" + ", ".join(f"%(r{index}_{column.key})s::{cast_}" for column, cast_ in zip(columns, casts, strict=True)) + ")"
            for index in range(count)
        )
        # Made of the table's own column names and types and of placeholders: no input reaches the text.
        native = native_sql(
            "WITH gone AS (DELETE FROM scim_user_value WHERE organisation_id = %(organisation_id)s::UUID"  # noqa: S608
            " AND user_id = %(user_id)s AND attribute = ANY(%(attributes)s) RETURNING 1)"
            f" INSERT INTO scim_user_value ({names}) SELECT * FROM (VALUES {rows}) AS incoming"
            " WHERE (SELECT count(*) FROM gone) >= 0"
        )
        assert native is not None  # no % in the text but its placeholders
        known = _REPLACE_VALUES_SQL[count] = native
    return known


def _replace_values_in_one(connection: Connection, user: ScimUser, names: list[str], values: list[dict[str, Any]]) -> bool:
    """Replace the rows in one statement on PostgreSQL; False (nothing done) elsewhere, past
    ``TOGETHER_ROWS_AT_MOST`` rows, or while a statement listener watches the engine."""
    dispatch = connection.dispatch
    if (
        connection.dialect.name != "postgresql"
        or len(values) > TOGETHER_ROWS_AT_MOST
        or dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
    ):
        return False
    sql, order = _replace_values_sql(len(values))
    given: dict[str, Any] = {"organisation_id": user.organisation_id, "user_id": user.id, "attributes": names}
    for index, row in enumerate(values):
        given.update({f"r{index}_{key}": value for key, value in row.items()})
    parameters = tuple(given[name] for name in order)
    on_cursor(connection, sql, parameters, lambda cursor: cursor.execute(sql, parameters), native=True)
    return True


# The access of many users, written in one statement per batch, each row's version checked and bumped
# as the ORM's flush would (the ``version_id_col``, for which the ORM writes one UPDATE per row).
# SQLite: an executemany of UPDATEs by primary key. PostgreSQL: one UPDATE joined with the batch's rows
# (``unnest`` of one array per column), its users found by ``id IN (...)``: until PostgreSQL has
# statistics on scim_user (a table filled moments ago, by the very push that now grants access) its
# planner may look each row of an executemany up through any index that starts with organisation_id,
# reading every user of the organisation for each row; this way it reads them once per batch.
_USERS = cast(Table, ScimUser.__table__)  # a declarative class maps a Table
_INSERT_USER = PreparedInsert(insert(_USERS))
_SET_ACCESS_EACH = (
    update(_USERS)
    .where(
        # An UPDATE may not name a bound parameter after a column of its table.
        _USERS.c.organisation_id == bindparam("tenant"),
        _USERS.c.id == bindparam("user"),
        _USERS.c.version == bindparam("seen_version"),
    )
    .values(
        access_granted=bindparam("granted"),
        fluid_roles=bindparam("roles"),
        access_changed_at=bindparam("changed_at"),
        version=_USERS.c.version + 1,
    )
)
_ACCESS_ROWS = (
    func.unnest(
        bindparam("users", type_=postgresql.ARRAY(String)),
        bindparam("seen_versions", type_=postgresql.ARRAY(Integer)),
        bindparam("granted", type_=postgresql.ARRAY(Boolean)),
        bindparam("roles", type_=postgresql.ARRAY(Text)),  # each a JSON text
        bindparam("changed_at", type_=postgresql.ARRAY(DateTime(timezone=True))),
    )
    .table_valued("user_id", "seen_version", "granted", "roles", "changed_at")
    .render_derived(name="access")
)
_SET_ACCESS_ALL = (
    update(_USERS)
    .where(
        _USERS.c.organisation_id == bindparam("tenant"),
        _USERS.c.id.in_(bindparam("user_ids", expanding=True, literal_execute=True)),  # see _LISTED_IDS
        _USERS.c.id == _ACCESS_ROWS.c.user_id,
        _USERS.c.version == _ACCESS_ROWS.c.seen_version,
    )
    .values(
        access_granted=_ACCESS_ROWS.c.granted,
        fluid_roles=type_coerce(sql_cast(_ACCESS_ROWS.c.roles, postgresql.JSON), JSON),
        access_changed_at=_ACCESS_ROWS.c.changed_at,
        version=_USERS.c.version + 1,
    )
)


_USER_VALUES = cast(Table, ScimUserValue.__table__)
_MEMBERS = cast(Table, ScimGroupMember.__table__)
_FLUID_ROLE_ROWS_OF = delete(ScimUserValue).where(
    ScimUserValue.organisation_id == _ORGANISATION,
    ScimUserValue.user_id.in_(_LISTED_IDS),
    ScimUserValue.attribute == FLUID_ROLES_ROWS,
)

AccessWrite = tuple[ScimUser, bool, list[str], datetime]  # (user, access granted, Fluid roles, when)


def set_access(organisation_id: object, changes: Sequence[AccessWrite]) -> None:
    """Store the access of loaded users the session has no other change of, in one statement.

    The loaded objects learn their new values (and version) without being read again, and stay clean:
    the session does not write them a second time, and may let them go once nothing refers to them.
    A user changed meanwhile by another transaction fails the version check (``StaleDataError``).
    """
    if not changes:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        columns = {
            "tenant": organisation_id,
            "users": [user.id for user, _, _, _ in changes],
            "user_ids": [user.id for user, _, _, _ in changes],
            "seen_versions": [user.version for user, _, _, _ in changes],
            "granted": [granted for _, granted, _, _ in changes],
            "roles": [json_bytes(list(roles)).decode() for _, _, roles, _ in changes],
            "changed_at": [changed_at for _, _, _, changed_at in changes],
        }
        result = db.session.execute(_SET_ACCESS_ALL, columns)
    else:
        rows = [
            {
                "tenant": organisation_id,
                "user": user.id,
                "seen_version": user.version,
                "granted": granted,
                "roles": list(roles),
                "changed_at": changed_at,
            }
            for user, granted, roles, changed_at in changes
        ]
        result = db.session.execute(_SET_ACCESS_EACH, rows)
    matched = cast("CursorResult[Any]", result).rowcount
    if matched != len(changes):
        raise StaleDataError(f"UPDATE of the access of {len(changes)} users matched {matched} rows")
    for user, granted, roles, changed_at in changes:
        set_committed_value(user, "access_granted", granted)
        set_committed_value(user, "fluid_roles", list(roles))
        set_committed_value(user, "access_changed_at", changed_at)
        set_committed_value(user, "version", user.version + 1)


def replace_fluid_roles(organisation_id: object, roles: Mapping[str, Sequence[str]]) -> None:
    """Replace the Fluid role rows (the filterable copy of the effective roles) of these users: one DELETE, one INSERT."""
    if not roles:
        return
    db.session.execute(_FLUID_ROLE_ROWS_OF, {"organisation_id": organisation_id, "ids": list(roles)})
    rows = [
        {"organisation_id": organisation_id, "user_id": user_id, "attribute": FLUID_ROLES_ROWS, "position": index, "value": role}
        for user_id, names in roles.items()
        for index, role in enumerate(names)
    ]
    if rows:
        db.session.execute(insert(_USER_VALUES), rows)


def _windowed(
    query: Select[Any], order_by: Sequence[ColumnElement[Any]], offset: Any, limit: Any, clause: ColumnElement[bool] | None = None
) -> Select[Any]:
    """``query`` filtered by ``clause``, in this order, cut to the window (values or bound parameters)."""
    if clause is not None:
        query = query.where(clause)
    return query.order_by(*order_by).offset(offset).limit(limit)


# -- Users as records, for the SCIM read views ------------------------------------------------------

# A GET, a lookup or a list page only renders its users: it reads the columns a representation shows
# as plain records (:class:`UserRecord`, attributes named as on ScimUser), not ORM objects. Building
# 100 ORM users was a quarter of a page's time (cProfile); a Core row and a namespace cost a fraction.
def _read_as(column: Column[Any]) -> ColumnElement[Any]:
    """A JSON column read as its text and decoded by :class:`ReadJSON`; any other as it is.

    As text on PostgreSQL too, where psycopg would decode ``json``/``jsonb`` as it fetches the row: a kept
    page's row (record_cache) is then compared, text for text, before anything is decoded, and a row
    that is answered from what is kept is never decoded (a page of 100 Entra users fetched 300 values).
    """
    return _read_as_text(column) if isinstance(column.type, JSON) else column


def _read_as_text(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return type_coerce(sql_cast(column, Text), ReadJSON())


_NOT_SHOWN = frozenset({"organisation_id", "password_hash", "user_name_key", "origin", "linked_at"})
# The stored columns a record shows, as (attribute name, column): read by _RECORD, and by a deeper page's cut.
_SHOWN: tuple[tuple[str, Column[Any]], ...] = tuple(
    (attribute.key, _USERS.c[attribute.columns[0].key]) for attribute in inspect(ScimUser).column_attrs
    if attribute.key not in _NOT_SHOWN
)
_RECORD = select(*(_read_as(column).label(key) for key, column in _SHOWN))
_RECORD_KEYS: tuple[str, ...] = tuple(str(column.key) for column in _RECORD.selected_columns)


def _record(row: Sequence[Any]) -> UserRecord:
    record = UserRecord()
    record.__dict__.update(zip(_RECORD_KEYS, row, strict=True))
    return record


# One user (a GET, a lookup by userName) with its direct groups in the same statement, as a JSON array
# of [id, displayName] pairs: one round trip instead of two. A statement per backend, built once.
_GROUPS = cast(Table, ScimGroup.__table__)


def _groups_of_the_user(
    dialect_name: str, organisation: ColumnElement[Any] = _USERS.c.organisation_id, user_id: ColumnElement[Any] = _USERS.c.id
) -> ColumnElement[Any]:
    """The JSON array of the user's direct groups; the user is ``scim_user``'s row unless other columns are given."""
    pair_columns = (_GROUPS.c.id, _GROUPS.c.display_name)
    if dialect_name == "postgresql":
        in_order = (_GROUPS.c.display_name, _GROUPS.c.id)  # as groups_of_users orders them
        pairs = func.json_agg(postgresql.aggregate_order_by(func.json_build_array(*pair_columns), *in_order))
        aggregated: ColumnElement[Any] = sql_cast(pairs, Text)
    else:
        aggregated = func.json_group_array(func.json_array(*pair_columns))  # ordered in Python: see _record_with_groups
    return (
        select(aggregated)
        .select_from(_MEMBERS.join(_GROUPS, _GROUP_OF_MEMBERSHIP))
        .where(_MEMBERS.c.organisation_id == organisation, _MEMBERS.c.member_id == user_id)
        .scalar_subquery()
    )


# An organisation's users as records, each carrying its direct groups (last column), per backend.
_RECORDS_WITH_GROUPS = {
    dialect_name: _RECORD.add_columns(_groups_of_the_user(dialect_name)).where(_USERS.c.organisation_id == _ORGANISATION)
    for dialect_name in ("postgresql", "sqlite")
}
_RECORD_WITH_GROUPS = {
    dialect_name: {
        by: PreparedQuery(records.where(where))
        for by, where in (("id", _USERS.c.id == _ID), ("key", _USERS.c.user_name_key == _KEY))
    }
    for dialect_name, records in _RECORDS_WITH_GROUPS.items()
}


def _record_with_groups(by: str, parameters: dict[str, object]) -> UserRecord | None:
    read: UserRecord | object | None = connections.read_before(("user", by, parameters["organisation_id"], parameters[by]))
    if read is not connections.NOT_READ:
        return cast(UserRecord | None, read)
    connection = connections.current()
    dialect_name = connection.dialect.name
    row = _RECORD_WITH_GROUPS[dialect_name][by].first(connection, parameters)
    return None if row is None else _record_carrying_groups(row, dialect_name)


# The authentication lookup (organisations.WITH_TOKEN) with the user a GET by id or a `userName eq`
# lookup is about to read, in one statement: a LEFT JOIN on the user of the organisation found. One
# round trip instead of two for the commonest reads on PostgreSQL; one prepared statement instead of
# two on SQLite.
_WITH_TOKEN_AND_USER = {
    dialect_name: {
        by: PreparedQuery(
            organisations.WITH_TOKEN.add_columns(*_RECORD.selected_columns, _groups_of_the_user(dialect_name)).outerjoin(
                _USERS, and_(_USERS.c.organisation_id == Organisation.id, where)
            )
        )
        for by, where in (("id", _USERS.c.id == _ID), ("key", _USERS.c.user_name_key == _KEY))
    }
    for dialect_name in ("postgresql", "sqlite")
}


def organisation_token_and_user(
    slug: str, by: str, value: str
) -> tuple[Organisation, organisations.TokenCheck | None] | None:
    """:func:`organisations.find_with_token`, reading with it the organisation's user with this id (``by``
    ``"id"``) or folded userName (``"key"``), which :func:`user_record` or :func:`user_record_by_key` answer
    for the rest of the reading request without a statement (``None`` kept when there is no such user).

    Authentication has not checked the token when this runs: the user is only kept for the request,
    which reads it only once the token is verified, and the tenant's own (the join is on its id).
    """
    if by == "change":
        return _organisation_token_and_user_to_change(slug, value)
    if by == "id" and not is_resource_id(value):
        return organisations.find_with_token(slug)
    connection = connections.current()
    dialect_name = connection.dialect.name
    row = _WITH_TOKEN_AND_USER[dialect_name][by].first(connection, {"slug": slug, by: value})
    if row is None:
        return None
    organisation, token = organisations.organisation_and_token_of(row)
    user = row[organisations.WITH_TOKEN_WIDTH :]
    record = None if user[0] is None else _record_carrying_groups(user, dialect_name)
    connections.read_ahead(("user", by, organisation.id, value), record)
    return organisation, token


# A change of one user by id (PATCH, PUT, DELETE) reads the user, every column as the ORM loads it and its
# direct groups for the answer, in authentication's statement: on PostgreSQL two round trips fewer (the
# user's own SELECT in the transaction, the answer's groups after the commit), on SQLite two statements.
_USER_MANAGER = inspect(ScimUser).class_manager
_WITH_TOKEN_AND_USER_TO_CHANGE = {
    dialect_name: PreparedQuery(
        organisations.WITH_TOKEN.add_columns(
            *(column for _, column in _USER_ATTRIBUTES), _groups_of_the_user(dialect_name)
        ).outerjoin(_USERS, and_(_USERS.c.organisation_id == Organisation.id, _USERS.c.id == _ID))
    )
    for dialect_name in ("postgresql", "sqlite")
}
_TO_CHANGE = "fluid_user_read_with_token"  # the session's info: (organisation id, user id, the row's user values)


def _organisation_token_and_user_to_change(
    slug: str, user_id: str
) -> tuple[Organisation, organisations.TokenCheck | None] | None:
    if not is_resource_id(user_id):
        return organisations.find_with_token(slug)
    connection = connections.current()
    dialect_name = connection.dialect.name
    row = _WITH_TOKEN_AND_USER_TO_CHANGE[dialect_name].first(connection, {"slug": slug, "id": user_id})
    if row is None:
        return None
    organisation, token = organisations.organisation_and_token_of(row)
    db.session().info[_TO_CHANGE] = (organisation.id, user_id, row[organisations.WITH_TOKEN_WIDTH :], dialect_name)
    return organisation, token


def _read_with_token(organisation_id: object, user_id: str) -> tuple[bool, ScimUser | None]:
    """Whether authentication read this user for this transaction's change, and the user (None: there is none).

    Given once: a use case retried after a conflict reads the user again. It joins the session as if
    loaded, carrying its groups (``groups``: (id, displayName) pairs) for the answer (a change of a user
    changes none of its memberships).
    """
    info = db.session().info
    kept = info.get(_TO_CHANGE)
    if kept is None or kept[0] != organisation_id or kept[1] != user_id:
        return False, None
    del info[_TO_CHANGE]
    _, _, values, dialect_name = kept
    if values[0] is None:
        return True, None
    loaded = db.session.identity_map.get(identity_key(ScimUser, (organisation_id, user_id)))
    if isinstance(loaded, ScimUser):
        return True, loaded
    user: ScimUser = _USER_MANAGER.new_instance()
    user.__dict__.update(zip((key for key, _ in _USER_ATTRIBUTES), values[:-1], strict=True))
    make_transient_to_detached(user)  # its identity set, every attribute loaded and unchanged
    db.session.add(user)
    user.__dict__["groups"] = _record_carrying_groups_pairs(values[-1], dialect_name)
    return True, user


def groups_read_with_the_user(organisation_id: object, user_id: str) -> list[tuple[str, str]] | None:
    """The direct groups ((id, displayName) pairs) authentication read with this user for the transaction's
    change (:func:`get_user`), or None when it was not read that way."""
    loaded = db.session.identity_map.get(identity_key(ScimUser, (organisation_id, user_id)))
    groups = None if loaded is None else loaded.__dict__.get("groups")
    return groups if isinstance(groups, list) else None


@event.listens_for(Session, "after_transaction_end")
def _forget_read_with_token(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_TO_CHANGE, None)


def _record_carrying_groups(row: Sequence[Any], dialect_name: str) -> UserRecord:
    """A record of a row whose last column is :func:`_groups_of_the_user`'s JSON array."""
    record = _record(row[:-1])
    record.groups = _record_carrying_groups_pairs(row[-1], dialect_name)
    return record


def _record_carrying_groups_pairs(text: str | None, dialect_name: str) -> list[tuple[str, str]]:
    """:func:`_groups_of_the_user`'s JSON array as (id, displayName) pairs, in the order of groups_of_users."""
    groups: list[tuple[str, str]] = [(group_id, name) for group_id, name in orjson.loads(text)] if text else []
    if dialect_name != "postgresql":
        # PostgreSQL's aggregate is ordered by the database; SQLite's BINARY collation compares UTF-8 bytes,
        # which is the order Python compares str in.
        groups.sort(key=lambda pair: (pair[1], pair[0]))
    return groups


def user_record(organisation_id: object, user_id: str) -> UserRecord | None:
    """The user with this id, as a record carrying its direct groups (``groups``: (id, displayName) pairs)."""
    if not is_resource_id(user_id):
        return None
    return _record_with_groups("id", {"organisation_id": organisation_id, "id": user_id})


def user_record_by_key(organisation_id: object, key: str) -> UserRecord | None:
    """The user with this folded userName (the unique key), as a record carrying its direct groups."""
    return _record_with_groups("key", {"organisation_id": organisation_id, "key": key})


# An unfiltered list in the default order (filtering.sort_clause without sortBy), built once: building
# a 45-column SELECT and its cache key took longer than SQLite takes to run it.
# Each user carries its direct groups in the same statement, as a GET's does: a page is one statement
# and its COUNT(*), not a second one for the groups of 100 ids (on SQLite an expanding IN, compiled anew).
_RECORDS_BY_CREATION = {
    dialect_name: PreparedQuery(
        _windowed(
            records,
            sort_clause(USER_RESOURCE, None, False),
            bindparam("offset", type_=Integer),
            bindparam("limit", type_=Integer),
        )
    )
    for dialect_name, records in _RECORDS_WITH_GROUPS.items()
}


def _deeper_by_creation() -> Select[Any]:
    """PostgreSQL's default-order page past the first: the page is cut first, of the stored columns alone,
    and the groups subquery and the JSON columns' text are computed for its rows only.

    In one SELECT they were computed for every row the OFFSET skips too (``SubPlan`` loops = offset +
    limit in EXPLAIN ANALYZE): a page deep in an import cost as many subqueries as the rows before it.
    The first page keeps the one-SELECT form (it skips nothing), which the planner answers from the
    creation index even without statistics. SQLite computes a row's result columns only once the OFFSET
    has passed it.
    """
    stored = [column.label(key) for key, column in _SHOWN]
    offset, limit = bindparam("offset", type_=Integer), bindparam("limit", type_=Integer)
    order = sort_clause(USER_RESOURCE, None, False)
    page = _windowed(select(*stored).where(_USERS.c.organisation_id == _ORGANISATION), order, offset, limit).subquery("page")
    shown = [_read_as_text(page.c[key]).label(key) if isinstance(page.c[key].type, JSON) else page.c[key] for key in _RECORD_KEYS]
    return select(*shown, _groups_of_the_user("postgresql", _ORGANISATION, page.c.id)).order_by(page.c.created_at, page.c.id)


_DEEPER_BY_CREATION = {"postgresql": PreparedQuery(_deeper_by_creation())}


# The records of default-order pages, kept while their rows come back unchanged (record_cache).
_KEPT_RECORDS = RecordCache()
# Text columns, the same as the driver gives them and as a record holds them.
_PLAIN_COLUMNS = {name: _RECORD_KEYS.index(name) for name in ("id", "manager_id")}


def keep_records(capacity: int) -> None:
    """How many records of default-order pages this process keeps (``FLUID_KEPT_RECORDS``; 0: none)."""
    _KEPT_RECORDS.resize(capacity)


def user_records_by_creation(organisation_id: object, start_index: int, count: int) -> list[UserRecord]:
    """:func:`user_records_page` without a filter, in the default order; each record carries its direct groups."""
    connection = connections.current()
    dialect_name = connection.dialect.name
    parameters = {"organisation_id": organisation_id, "offset": start_index - 1, "limit": count}
    statement = (_DEEPER_BY_CREATION.get(dialect_name) if start_index > 1 else None) or _RECORDS_BY_CREATION[dialect_name]
    rows, convert = statement.raw_rows(connection, parameters)
    return _KEPT_RECORDS.records(
        organisation_id, rows, lambda row: _record_carrying_groups(convert(row), dialect_name), _PLAIN_COLUMNS
    )


def user_records_page(
    organisation_id: object, clause: ColumnElement[bool] | None, order_by: Sequence[ColumnElement[Any]], start_index: int,
    count: int,
) -> list[UserRecord]:
    """:func:`page` of users, as records."""
    query = _RECORD.where(_USERS.c.organisation_id == organisation_id)
    rows = connections.current().execute(_windowed(query, order_by, start_index - 1, count, clause))
    return [_record(row) for row in rows]


def page(
    model: type[ScimUser] | type[ScimGroup],
    organisation_id: object,
    clause: ColumnElement[bool] | None,
    order_by: Sequence[ColumnElement[Any]],
    start_index: int,
    count: int,
) -> Sequence[Any]:
    """One page (1-based ``start_index``) of the users or groups matching ``clause``, in this order."""
    query = select(model).where(model.organisation_id == organisation_id)
    return db.session.execute(_windowed(query, order_by, start_index - 1, count, clause)).scalars().all()


_COUNT_ALL = {
    model: PreparedQuery(select(func.count()).select_from(model).where(model.organisation_id == _ORGANISATION))
    for model in (ScimUser, ScimGroup)
}


def count(model: type[ScimUser] | type[ScimGroup], organisation_id: object, clause: ColumnElement[bool] | None) -> int:
    if clause is None:
        row = _COUNT_ALL[model].first(connections.current(), {"organisation_id": organisation_id})
        assert row is not None  # COUNT(*) answers one row
        return int(row[0])
    query = select(func.count()).select_from(model).where(model.organisation_id == organisation_id, clause)
    return int(db.session.execute(query).scalar_one())


# The managers' names of a page (or of one user), built once like the groups of users.
_DISPLAY_NAMES = _AmongIds(
    select(_USERS.c.id, func.coalesce(_USERS.c.display_name, _USERS.c.user_name)).where(
        _USERS.c.organisation_id == _ORGANISATION
    ),
    _USERS.c.id,
)


def display_names(organisation_id: object, user_ids: Iterable[str]) -> dict[str, str | None]:
    """displayName (else userName) of the given users, one query."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = _DISPLAY_NAMES.rows(connections.current(), {"organisation_id": organisation_id, "ids": ids})
    return {row[0]: row[1] for row in rows}


def groups_of_users(organisation_id: object, user_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """The direct groups (id, displayName) of each user, one query for a whole page."""
    if not user_ids:
        return {}
    # Columns only: run as a Core statement on the session's connection (half the cost of the ORM's execute).
    connection = connections.current()
    rows: Iterable[Sequence[Any]]
    if len(user_ids) == 1:
        rows = _GROUPS_OF_USER.rows(connection, {"organisation_id": organisation_id, "id": user_ids[0]})
    else:
        rows = _GROUPS_OF_USERS.rows(connection, {"organisation_id": organisation_id, "ids": list(user_ids)})
    result: dict[str, list[tuple[str, str]]] = {user_id: [] for user_id in user_ids}
    for member_id, group_id, name in rows:
        result[member_id].append((group_id, name))
    return result


def members_of(organisation_id: object, group_id: str) -> list[MemberRow]:
    """Every member of a group with its display name; only called when members are asked for."""
    member_user = aliased(ScimUser)
    member_group = aliased(ScimGroup)
    rows = db.session.execute(
        select(
            ScimGroupMember.member_id,
            ScimGroupMember.member_type,
            func.coalesce(member_user.display_name, member_user.user_name, member_group.display_name),
        )
        .outerjoin(
            member_user,
            (member_user.organisation_id == ScimGroupMember.organisation_id) & (member_user.id == ScimGroupMember.member_id),
        )
        .outerjoin(
            member_group,
            (member_group.organisation_id == ScimGroupMember.organisation_id) & (member_group.id == ScimGroupMember.member_id),
        )
        .where(ScimGroupMember.organisation_id == organisation_id, ScimGroupMember.group_id == group_id)
        .order_by(ScimGroupMember.created_at, ScimGroupMember.member_id)
    )
    return [(row[0], row[1], row[2]) for row in rows]


# One user's memberships among some groups (a change of one user recomputes its access), prepared, the
# groups one parameter: a PostgreSQL array, a JSON array on SQLite (``json_each``). Not two expanding INs
# rendered and compiled again at every change. Either way the members index is probed for each group.
_AMONG_GROUP_IDS = {
    "postgresql": ScimGroupMember.group_id == any_(bindparam("group_ids", type_=postgresql.ARRAY(String(36)))),
    "sqlite": ScimGroupMember.group_id.in_(
        select(func.json_each(bindparam("group_ids", type_=JSON)).table_valued("value").c.value)
    ),
}
_MEMBER_OF_GROUPS = {
    dialect_name: PreparedQuery(
        select(ScimGroupMember.group_id).where(
            ScimGroupMember.organisation_id == _ORGANISATION, ScimGroupMember.member_id == _ID, among_groups
        )
    )
    for dialect_name, among_groups in _AMONG_GROUP_IDS.items()
}


def memberships_in(organisation_id: object, user_ids: Sequence[str], group_ids: Iterable[str]) -> dict[str, set[str]]:
    """Of these groups, the ones each of these users is a direct member of (users in none are left out)."""
    groups = sorted(group_ids)
    if not groups or not user_ids:
        return {}
    if len(user_ids) == 1:
        connection = connections.current()
        parameters = {"organisation_id": organisation_id, "id": user_ids[0], "group_ids": groups}
        member_of = {group_id for (group_id,) in _MEMBER_OF_GROUPS[connection.dialect.name].rows(connection, parameters)}
        return {user_ids[0]: member_of} if member_of else {}
    parameters = {"organisation_id": organisation_id, "ids": list(user_ids), "group_ids": groups}
    found: dict[str, set[str]] = {}
    for member_id, group_id in db.session.execute(_MEMBERSHIPS, parameters):
        found.setdefault(member_id, set()).add(group_id)
    return found


def existing_member_types(organisation_id: object, ids: Sequence[str]) -> dict[str, str]:
    """Which of ``ids`` are users or groups of the organisation (two indexed lookups)."""
    ids = [member_id for member_id in ids if is_resource_id(member_id)]
    if not ids:
        return {}
    connection = connections.current()
    found = {
        user_id: "User"
        for user_id in connection.execute(_USER_IDS_AMONG, {"organisation_id": organisation_id, "ids": ids}).scalars()
    }
    missing = [member for member in ids if member not in found]
    if missing:
        parameters = {"organisation_id": organisation_id, "ids": missing}
        for group_id in connection.execute(_GROUP_IDS_AMONG, parameters).scalars():
            found[group_id] = "Group"
    return found


# Built once (every member batch of a group PATCH runs them); ids as constants, see _LISTED_IDS.
_USER_IDS_AMONG = select(ScimUser.id).where(ScimUser.organisation_id == _ORGANISATION, ScimUser.id.in_(_LISTED_IDS))
_GROUP_IDS_AMONG = select(ScimGroup.id).where(ScimGroup.organisation_id == _ORGANISATION, ScimGroup.id.in_(_LISTED_IDS))


def add_members(organisation_id: object, group_id: str, members: Sequence[tuple[str, str]]) -> None:
    """Insert memberships, ignoring ones that exist (idempotent; costs the same for any group size)."""
    if not members:
        return
    rows = [
        {
            "organisation_id": organisation_id,
            "group_id": group_id,
            "member_id": member_id,
            "member_type": member_type,
            "created_at": utcnow(),
        }
        for member_id, member_type in members
    ]
    # One statement, executed for many rows (compiled once, unlike a VALUES list thousands of rows long).
    insert = upsert_insert(db.session.get_bind().dialect.name)
    db.session.execute(insert(_MEMBERS).on_conflict_do_nothing(), rows)


def remove_members(organisation_id: object, group_id: str, member_ids: Iterable[str] | None) -> None:
    """Delete the listed memberships, or all of them when ``member_ids`` is None."""
    query = delete(ScimGroupMember).where(
        ScimGroupMember.organisation_id == organisation_id, ScimGroupMember.group_id == group_id
    )
    if member_ids is not None:
        ids = list(member_ids)
        if not ids:
            return
        query = query.where(ScimGroupMember.member_id.in_(ids))
    db.session.execute(query)


def delete_user(user: ScimUser) -> None:
    """Delete the user's row (its value rows go with it: ON DELETE CASCADE); memberships are the caller's."""
    db.session.delete(user)


def delete_group(group: ScimGroup) -> None:
    db.session.delete(group)


# Every deletion of a user runs these two: built once, like the lookups above.
_FORGET_MEMBER = delete(ScimGroupMember).where(
    ScimGroupMember.organisation_id == _ORGANISATION, ScimGroupMember.member_id == bindparam("member")
)
_CLEAR_MANAGER = (
    update(ScimUser)
    # An UPDATE may not name a bound parameter after a column of its table: "tenant", not "organisation_id".
    .where(ScimUser.organisation_id == bindparam("tenant"), ScimUser.manager_id == bindparam("former_manager"))
    .values(
        manager_id=None,
        # A reference by the deleted id names nothing any more (ids are never reissued); a free-text one
        # (an employee number) still says what the directory says and may name a later user.
        manager_ref=case((ScimUser.manager_ref == bindparam("former_manager"), None), else_=ScimUser.manager_ref),
        version=ScimUser.version + 1,
        updated_at=bindparam("now"),
    )
    # Reports loaded in this session (a Bulk request) learn their new version before they are written again.
    .execution_options(synchronize_session="fetch")
)


def forget_member_everywhere(organisation_id: object, member_id: str) -> None:
    db.session.execute(_FORGET_MEMBER, {"organisation_id": organisation_id, "member": member_id})


def clear_manager(organisation_id: object, manager_id: str) -> None:
    """The deleted user's reports have no manager any more; a free-text reference to it is kept, unresolved."""
    db.session.execute(_CLEAR_MANAGER, {"tenant": organisation_id, "former_manager": manager_id, "now": utcnow()})


def user_ids_with(organisation_id: object, column: str, value: str, *, except_id: str, limit: int) -> list[str]:
    """Ids of up to ``limit`` users (not ``except_id``) whose ``external_id`` or ``employee_number`` is ``value``."""
    attribute = {"external_id": ScimUser.external_id, "employee_number": ScimUser.employee_number}[column]
    query = (
        select(ScimUser.id)
        .where(ScimUser.organisation_id == organisation_id, attribute == value, ScimUser.id != except_id)
        .limit(limit)
    )
    return list(db.session.execute(query).scalars())


# The parameters of a create's link of reports: the organisation, the new user's id, and its externalId
# and employeeNumber (either may be None).
_TENANT: BindParameter[Any] = bindparam("tenant")
_MANAGER = bindparam("manager", type_=String())
_BY_EXTERNAL_ID = bindparam("by_external_id", type_=String())
_BY_EMPLOYEE_NUMBER = bindparam("by_employee_number", type_=String())


def _waiting_for_the_manager(report: Any) -> tuple[ColumnElement[bool], ...]:
    """The reports whose unresolved manager names the user ``:manager`` by id, externalId or employeeNumber.

    The predicate of ix_scim_user_manager_waiting, written as its own terms (each database uses a partial
    index only for a query that implies its predicate; an IN implies IS NOT NULL). Without statistics
    PostgreSQL had chosen an index with only organisation_id fixed and read every user of the organisation
    (2 ms a create at 2,000 users); the waiting reports' index is the smallest index that answers, with or
    without statistics.
    """
    return (
        report.organisation_id == _TENANT,
        report.manager_id.is_(None),
        report.manager_ref.in_([_MANAGER, _BY_EXTERNAL_ID, _BY_EMPLOYEE_NUMBER]),
        report.id != _MANAGER,
    )


def _link_reports() -> Any:
    """Reports waiting for a manager whom the user ``:manager`` is the one their reference resolves to.

    A report's ``manager_ref`` names the user by id, or else by externalId, or else by
    employeeNumber (:mod:`fluid_scim.services.managers`). The id always wins; by externalId or
    employeeNumber the user wins only when no other user (the report aside) matches the reference
    with the same or a higher rank: otherwise the reference is ambiguous and stays unresolved.
    """
    report, other = ScimUser, aliased(ScimUser)
    tenant, manager, external = _TENANT, _MANAGER, _BY_EXTERNAL_ID

    def rival_by(*matches: ColumnElement[bool]) -> ColumnElement[bool]:
        # One EXISTS per way of matching, each answered by its own index (the primary key,
        # ix_scim_user_external_id, ix_scim_user_employee_number): under one OR of the three, SQLite's
        # planner, without statistics, walked every user of the organisation for each candidate report.
        query = select(other.id).where(other.organisation_id == tenant, other.id != manager, other.id != report.id, *matches)
        return query.correlate(report).exists()

    rival = or_(
        rival_by(other.id == report.manager_ref),
        rival_by(other.external_id == report.manager_ref),
        # A user matched by externalId outranks any match by employeeNumber.
        rival_by(other.employee_number == report.manager_ref, func.coalesce(external, "") != report.manager_ref),
    )
    return (
        update(report)
        .where(*_waiting_for_the_manager(report), or_(report.manager_ref == manager, ~rival))
        .values(manager_id=manager, version=report.version + 1, updated_at=bindparam("now"))
        .returning(report.id)
    )


_LINK_REPORTS = PreparedQuery(_link_reports())

# Whether any report waits for a manager that the new or changed user could be: most creates find none
# and then skip the UPDATE above. Both statements are prepared on PostgreSQL (psycopg prepares a statement
# it runs often), and a prepared statement keeps the plan it was given, which on a new database is made
# while scim_user holds a handful of rows and has no statistics: for the UPDATE, a scan of the whole table,
# kept while the table grows (until an ANALYZE; in-process, 6 to 11 ms a create over the first 4,000 users,
# 5 to 6 ms with this SELECT in front), where this SELECT's plan reads ix_scim_user_manager_waiting
# whatever the table's size (tests/test_list_plans.py).
_REPORTS_WAITING = PreparedQuery(select(ScimUser.id).where(*_waiting_for_the_manager(ScimUser)).limit(1))


def _waiting_parameters(
    organisation_id: object, manager_id: str, external_id: str | None, employee_number: str | None
) -> dict[str, Any]:
    return {
        "tenant": organisation_id, "manager": manager_id, "by_external_id": external_id, "by_employee_number": employee_number
    }


def link_reports(
    organisation_id: object,
    manager_id: str,
    *,
    external_id: str | None,
    employee_number: str | None,
    waiting: bool | None = None,
) -> None:
    """Resolve to ``manager_id`` the unresolved managers that name it by id, externalId or employeeNumber: one
    UPDATE, when a SELECT of the waiting reports' index finds one that names it (usually none does).
    ``waiting``: that SELECT's answer, when the caller has it (:func:`add_user`).

    Run as a Core statement after an explicit flush: the ORM's bulk UPDATE with ``fetch`` synchronisation
    cost a fifth of a create's CPU (measured), for the rare create that links anyone. The reports it
    changed (``RETURNING``) are expired in the session, so a loaded one reads its new manager.
    """
    if waiting is False:
        return
    db.session.flush()
    parameters = _waiting_parameters(organisation_id, manager_id, external_id, employee_number)
    connection = db.session.connection()
    if waiting is None and _REPORTS_WAITING.first(connection, parameters) is None:
        return
    parameters["now"] = utcnow()
    for (report_id,) in _LINK_REPORTS.rows(connection, parameters):
        loaded = db.session.identity_map.get(identity_key(ScimUser, (organisation_id, report_id)))
        if loaded is not None:
            db.session.expire(loaded, ["manager_id", "version", "updated_at"])


def touch_group(group: ScimGroup) -> None:
    """New version and lastModified after a membership change, without a version check.

    Membership writes from parallel requests commute; only an explicit If-Match asks for a check.
    The in-memory group learns the new values without a second query.
    """
    db.session.flush()
    version, updated_at = db.session.execute(
        update(ScimGroup)
        .where(ScimGroup.organisation_id == group.organisation_id, ScimGroup.id == group.id)
        .values(version=ScimGroup.version + 1, updated_at=utcnow())
        .returning(ScimGroup.version, ScimGroup.updated_at)
        .execution_options(synchronize_session=False)
    ).one()
    set_committed_value(group, "version", version)
    set_committed_value(group, "updated_at", updated_at)


def user_exists_with_key(organisation_id: object, key: str, *, except_id: str | None = None) -> bool:
    query = select(ScimUser.id).where(ScimUser.organisation_id == organisation_id, ScimUser.user_name_key == key)
    if except_id:
        query = query.where(ScimUser.id != except_id)
    return db.session.execute(query.limit(1)).first() is not None


def group_exists_with_key(organisation_id: object, key: str, *, except_id: str | None = None) -> bool:
    query = select(ScimGroup.id).where(ScimGroup.organisation_id == organisation_id, ScimGroup.display_name_key == key)
    if except_id:
        query = query.where(ScimGroup.id != except_id)
    return db.session.execute(query.limit(1)).first() is not None


def imported_users_with_email(organisation_id: object, addresses: Sequence[str]) -> list[ScimUser]:
    """Imported users not yet adopted by SCIM having one of ``addresses`` (lower-case) as an e-mail.

    Two indexed steps (the e-mail index, then primary keys), so the cost does not grow with the
    organisation's size.
    """
    if not addresses:
        return []
    parameters = {"organisation_id": organisation_id, "addresses": list(addresses)}
    user_ids = db.session.connection().execute(_WITH_EMAIL, parameters).scalars().all()
    if not user_ids:
        return []
    return list(
        db.session.execute(
            select(ScimUser)
            .where(ScimUser.organisation_id == organisation_id, ScimUser.id.in_(sorted(set(user_ids))))
            .where(ScimUser.origin == "import", ScimUser.linked_at.is_(None))
            .limit(2)
        ).scalars()
    )


def imported_user_name_with_email(organisation_id: object, email: str) -> str | None:
    """The userName of an imported, not yet adopted user having ``email`` (any case), if any.

    Index look-ups on purpose — the e-mail rows by ``lower(value)``, then their users by primary
    key — rather than one semi-join (:func:`imported_users_with_email`): while the statistics lag
    behind a bulk import, PostgreSQL's planner may drive that semi-join from every user of the
    organisation, a scan per row that makes a large import quadratic.
    """
    owners = (
        db.session.execute(
            select(ScimUserValue.user_id).where(
                ScimUserValue.organisation_id == organisation_id,
                ScimUserValue.attribute == "emails",
                func.lower(ScimUserValue.value) == email.lower(),
            )
        )
        .scalars()
        .all()
    )  # no DISTINCT: it steers SQLite's planner away from the lower(value) index
    for user_id in dict.fromkeys(owners):  # each by primary key: no plan depends on statistics
        owner = db.session.execute(
            select(ScimUser.user_name, ScimUser.origin, ScimUser.linked_at).where(
                ScimUser.organisation_id == organisation_id, ScimUser.id == user_id
            )
        ).one_or_none()
        if owner is not None and owner.origin == "import" and owner.linked_at is None:
            return str(owner.user_name)
    return None
