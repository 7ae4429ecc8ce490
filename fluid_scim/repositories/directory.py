"""Queries on an organisation's customised directory: declared attributes, their typed value rows,
undeclared attributes seen. Every function takes ``organisation_id``; none commits."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Connection, Select, bindparam, delete, func, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from fluid_scim.database import upsert_insert
from fluid_scim.extensions import db
from fluid_scim.models import AttributeDeclaration, Organisation, ScimUser, ScimUserCustomValue, UndeclaredAttribute

# Entra's matching-attribute lookup (`<declared attribute> eq "…"`) runs often: its statements are
# built once, with bound parameters, and compare as the filter translator does (see repositories.scim).
_ORGANISATION: BindParameter[Any] = bindparam("organisation_id")
_ATTRIBUTE: BindParameter[str] = bindparam("attribute_id")
_VALUE: BindParameter[str] = bindparam("value")


def _users_with(condition: ColumnElement[bool]) -> Select[Any]:
    holders = select(ScimUserCustomValue.user_id).where(
        ScimUserCustomValue.organisation_id == _ORGANISATION, ScimUserCustomValue.attribute_id == _ATTRIBUTE, condition
    )
    return (
        select(ScimUser)
        .where(ScimUser.organisation_id == _ORGANISATION, ScimUser.id.in_(holders))
        .order_by(ScimUser.created_at, ScimUser.id)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


_USERS_WITH_TEXT = {
    False: _users_with(func.lower(ScimUserCustomValue.text) == _VALUE),
    True: _users_with(ScimUserCustomValue.text == _VALUE),
}


def users_with_text(
    organisation_id: object, attribute_id: str, value: str, case_exact: bool, *, offset: int, limit: int
) -> Sequence[ScimUser]:
    """A page of the users holding ``value`` in a declared string attribute (``value`` lower-cased unless case-exact)."""
    parameters = {"organisation_id": organisation_id, "attribute_id": attribute_id, "value": value, "offset": offset,
                  "limit": limit}
    return db.session.scalars(_USERS_WITH_TEXT[case_exact], parameters).all()


def declarations(organisation_id: object) -> Sequence[AttributeDeclaration]:
    query = (
        select(AttributeDeclaration)
        .where(AttributeDeclaration.organisation_id == organisation_id)
        .order_by(AttributeDeclaration.schema_urn, AttributeDeclaration.name)
    )
    return db.session.scalars(query).all()


def declaration_by_key(organisation_id: object, key: str) -> AttributeDeclaration | None:
    query = select(AttributeDeclaration).where(
        AttributeDeclaration.organisation_id == organisation_id, AttributeDeclaration.path_key == key
    )
    return db.session.scalars(query).first()


def count_declarations(organisation_id: object) -> int:
    query = select(func.count()).select_from(AttributeDeclaration).where(AttributeDeclaration.organisation_id == organisation_id)
    return int(db.session.scalar(query) or 0)


def add_declaration(declaration: AttributeDeclaration) -> None:
    db.session.add(declaration)
    db.session.flush()


def delete_declaration(declaration: AttributeDeclaration) -> None:
    db.session.delete(declaration)


def bump_schema_version(organisation: Organisation) -> None:
    """A new version of the organisation's directory rules (declared attributes, attribute role
    mappings): what each worker caches by it is rebuilt. The version is a random stamp, not a count:
    a change rolled back after something was cached under its version must never share that
    version with a later change that commits. The in-memory organisation learns the new value."""
    version = secrets.randbelow(2**31 - 2) + 2
    db.session.execute(
        update(Organisation)
        .where(Organisation.id == organisation.id)
        .values(schema_version=version)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(organisation, "schema_version", version)


# -- typed value rows --------------------------------------------------------------------------------


def add_custom_values(rows: Iterable[ScimUserCustomValue]) -> None:
    db.session.add_all(list(rows))


def replace_custom_values(user: ScimUser, rows: Iterable[ScimUserCustomValue]) -> None:
    """Replace every typed custom row of ``user`` (a user has few: one per declared value)."""
    db.session.execute(
        delete(ScimUserCustomValue).where(
            ScimUserCustomValue.organisation_id == user.organisation_id, ScimUserCustomValue.user_id == user.id
        )
    )
    db.session.add_all(list(rows))


def insert_custom_values(rows: Sequence[dict[str, Any]]) -> None:
    """Insert typed rows given as column values, in batches (a declaration's values across the organisation)."""
    for start in range(0, len(rows), 1000):
        db.session.execute(insert(ScimUserCustomValue), list(rows[start : start + 1000]))


def delete_values_of(organisation_id: object, attribute_id: str) -> None:
    db.session.execute(
        delete(ScimUserCustomValue).where(
            ScimUserCustomValue.organisation_id == organisation_id, ScimUserCustomValue.attribute_id == attribute_id
        )
    )


def users_with_custom(organisation_id: object, after: str, limit: int) -> Sequence[ScimUser]:
    """Users holding any custom value, by id after ``after``: a batch of a whole-organisation pass."""
    query = (
        select(ScimUser)
        .where(ScimUser.organisation_id == organisation_id, ScimUser.custom.is_not(None), ScimUser.id > after)
        .order_by(ScimUser.id)
        .limit(limit)
    )
    return db.session.scalars(query).all()


def release(users: Sequence[ScimUser]) -> None:
    """Let the session forget rows already written (a whole-organisation pass holds one batch at a time)."""
    for user in users:
        db.session.expunge(user)


# -- undeclared attributes seen ---------------------------------------------------------------------


def add_sighting(
    connection: Connection, organisation_id: object, *, key: str, path: str, resource_type: str, value_kind: str,
    example: str, first: datetime, last: datetime, count: int,
) -> None:
    """Add ``count`` sightings of the undeclared ``path`` (first and last seen, an example resource)."""
    insert = upsert_insert(connection.dialect.name)
    statement = insert(UndeclaredAttribute).values(
        organisation_id=organisation_id, path_key=key, path=path, resource_type=resource_type, value_kind=value_kind,
        first_seen_at=first, last_seen_at=last, seen_count=count, example_resource_id=example,
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["organisation_id", "path_key"],
            set_={
                "last_seen_at": last,
                "seen_count": UndeclaredAttribute.seen_count + count,
                "value_kind": value_kind,
                "example_resource_id": example,
            },
        )
    )


def note_undeclared(
    organisation_id: object, *, path: str, resource_type: str, value_kind: str, resource_id: str, now: datetime,
    count: int = 1,
) -> None:
    """Note, in the current transaction, ``count`` resources holding the undeclared ``path`` (a removed declaration's values)."""
    add_sighting(
        db.session.connection(), organisation_id, key=path.lower(), path=path, resource_type=resource_type,
        value_kind=value_kind, example=resource_id, first=now, last=now, count=count,
    )


def known_undeclared(organisation_id: object, keys: Sequence[str]) -> set[str]:
    query = select(UndeclaredAttribute.path_key).where(
        UndeclaredAttribute.organisation_id == organisation_id, UndeclaredAttribute.path_key.in_(list(keys))
    )
    return set(db.session.scalars(query).all())


def count_undeclared(organisation_id: object) -> int:
    query = select(func.count()).select_from(UndeclaredAttribute).where(UndeclaredAttribute.organisation_id == organisation_id)
    return int(db.session.scalar(query) or 0)


def undeclared(organisation_id: object, limit: int) -> Sequence[UndeclaredAttribute]:
    query = (
        select(UndeclaredAttribute)
        .where(UndeclaredAttribute.organisation_id == organisation_id)
        .order_by(UndeclaredAttribute.last_seen_at.desc(), UndeclaredAttribute.path_key)
        .limit(limit)
    )
    return db.session.scalars(query).all()


def forget_undeclared(organisation_id: object, key: str) -> None:
    db.session.execute(
        delete(UndeclaredAttribute).where(
            UndeclaredAttribute.organisation_id == organisation_id, UndeclaredAttribute.path_key == key
        )
    )


def value_rows(organisation_id: object, user_id: str) -> list[dict[str, Any]]:
    """The typed rows of one user (for tests and diagnostics)."""
    query = select(ScimUserCustomValue).where(
        ScimUserCustomValue.organisation_id == organisation_id, ScimUserCustomValue.user_id == user_id
    )
    return [
        {"attribute_id": row.attribute_id, "position": row.position, "text": row.text, "number": row.number,
         "flag": row.flag, "instant": row.instant}
        for row in db.session.scalars(query)
    ]
