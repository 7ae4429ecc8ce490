"""Where each SCIM attribute lives in the database, and documents <-> rows.

The canonical document (see :mod:`fluid_scim.schema.coerce`) is what services work on; this module
is the only place that knows the column behind each attribute. The filter translator reads the
same maps, so an attribute is stored and filtered from one definition.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from fluid_scim.models import ScimGroup, ScimUser, ScimUserCustomValue, UserRecord
from fluid_scim.schema import ENTERPRISE_URN, ENTERPRISE_USER, FLUID_URN, USER, Attribute, ResourceType
from fluid_scim.schema.custom import declared_attributes
from fluid_scim.text import name_key

# Canonical path -> ScimUser column name, for single-valued attributes.
USER_COLUMNS: dict[str, str] = {
    "userName": "user_name",
    "externalId": "external_id",
    "displayName": "display_name",
    "nickName": "nick_name",
    "profileUrl": "profile_url",
    "title": "title",
    "userType": "user_type",
    "preferredLanguage": "preferred_language",
    "locale": "locale",
    "timezone": "timezone",
    "active": "active",
    "name.formatted": "name_formatted",
    "name.familyName": "name_family_name",
    "name.givenName": "name_given_name",
    "name.middleName": "name_middle_name",
    "name.honorificPrefix": "name_honorific_prefix",
    "name.honorificSuffix": "name_honorific_suffix",
    f"{ENTERPRISE_URN}:employeeNumber": "employee_number",
    f"{ENTERPRISE_URN}:costCenter": "cost_center",
    f"{ENTERPRISE_URN}:organization": "organization",
    f"{ENTERPRISE_URN}:division": "division",
    f"{ENTERPRISE_URN}:department": "department",
    # As the client named the manager; the resolved user's id (manager_id) is the service's to set.
    f"{ENTERPRISE_URN}:manager.value": "manager_ref",
    # Sent with an unresolved manager (Okta's managerId with the manager's name); shown until it resolves.
    f"{ENTERPRISE_URN}:manager.displayName": "manager_display",
}

# Read-only attributes Fluid derives (fluid_scim.services.access); filterable, never written from input.
DERIVED_USER_COLUMNS: dict[str, str] = {
    f"{FLUID_URN}:accessGranted": "access_granted",
    f"{FLUID_URN}:accessChangedAt": "access_changed_at",
}
# The scim_user_value rows holding a user's effective Fluid roles.
FLUID_ROLES_ROWS = "fluid:roles"

GROUP_COLUMNS: dict[str, str] = {"displayName": "display_name", "externalId": "external_id"}

# A row of scim_user_value as column values: plain dicts, inserted by one Core executemany (building
# ScimUserValue objects only to read their values back cost a twelfth of a create, cProfile).
ValueRow = dict[str, Any]
# Multi-valued user attributes kept as ScimUserValue rows, and sub-attribute -> column.
MULTI_VALUED: tuple[str, ...] = (
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
)
VALUE_COLUMNS: dict[str, str] = {
    "value": "value",
    "display": "display",
    "type": "type",
    "primary": "primary",
    "formatted": "formatted",
    "streetAddress": "street_address",
    "locality": "locality",
    "region": "region",
    "postalCode": "postal_code",
    "country": "country",
}


def fold(text: str) -> str:
    """The uniqueness key of a caseExact=false name (``userName``, a Group's ``displayName``):
    :func:`fluid_scim.text.name_key` (format characters dropped, NFKC, trimmed, lower-cased), so
    that names that look the same cannot be two accounts."""
    return name_key(text)


def _get_path(document: dict[str, Any], path: str) -> Any:
    if path.startswith(ENTERPRISE_URN + ":"):
        extension = document.get(ENTERPRISE_URN) or {}
        rest = path[len(ENTERPRISE_URN) + 1 :]
        head, _, sub = rest.partition(".")
        value = extension.get(head)
        return value.get(sub) if sub and isinstance(value, dict) else value
    head, _, sub = path.partition(".")
    value = document.get(head)
    return value.get(sub) if sub and isinstance(value, dict) else value


# The document keys that have columns or value rows; everything else is custom (see custom_part).
_STANDARD_USER_KEYS = frozenset({attribute.name for attribute in USER.attributes} | {"externalId", ENTERPRISE_URN})
_ENTERPRISE_KEYS = frozenset(attribute.name for attribute in ENTERPRISE_USER.attributes)


def custom_part(document: dict[str, Any]) -> dict[str, Any] | None:
    """The values of ``document`` no standard column holds: declared custom attributes and undeclared
    ones (kept as received), in the document's own shape; None when there are none."""
    custom = {key: value for key, value in document.items() if key not in _STANDARD_USER_KEYS}
    enterprise = document.get(ENTERPRISE_URN)
    if isinstance(enterprise, dict):
        extra = {key: value for key, value in enterprise.items() if key not in _ENTERPRISE_KEYS}
        if extra:
            custom[ENTERPRISE_URN] = extra
    return custom or None


def _merge_custom(document: dict[str, Any], custom: dict[str, Any] | None) -> None:
    for key, value in (custom or {}).items():
        if key == ENTERPRISE_URN:
            document.setdefault(ENTERPRISE_URN, {}).update(value)
        else:
            document[key] = value


def custom_rows(user: ScimUser, resource_type: ResourceType) -> list[ScimUserCustomValue]:
    """The typed rows of ``user``'s declared custom attributes (``resource_type`` is its organisation's), not added."""
    custom = user.custom or {}
    rows: list[ScimUserCustomValue] = []
    for urn, attribute in declared_attributes(resource_type):
        value = custom_value(custom, urn or "", attribute.name)
        rows.extend(ScimUserCustomValue(**row) for row in typed_rows(user.organisation_id, user.id, attribute, value))
    return rows


def typed_rows(organisation_id: Any, user_id: str, attribute: Attribute, value: Any) -> list[dict[str, Any]]:
    """The ``scim_user_custom_value`` rows (as column values) of one declared attribute's value."""
    values = value if isinstance(value, list) else [] if value is None else [value]
    return [
        {"organisation_id": organisation_id, "user_id": user_id, "attribute_id": attribute.custom_id, "position": position,
         **_typed(attribute, item)}
        for position, item in enumerate(values)
    ]


def custom_value(custom: dict[str, Any], urn: str, name: str) -> Any:
    """The value at ``urn:name`` (``urn`` "" for a top-level name) of a ``custom`` document; names and
    URNs match case-insensitively (RFC 7643 §2.1). None when there is none."""
    return _value_of(custom if not urn else _holder(custom, urn), name)


def _holder(custom: dict[str, Any], urn: str) -> dict[str, Any]:
    lowered = urn.lower()
    return next((value for key, value in custom.items() if key.lower() == lowered and isinstance(value, dict)), {})


def _value_of(holder: dict[str, Any], name: str) -> Any:
    if name in holder:
        return holder[name]
    lowered = name.lower()
    return next((value for key, value in holder.items() if key.lower() == lowered), None)


def _typed(attribute: Attribute, value: Any) -> dict[str, Any]:
    """One value in the column its declared type compares in (a value that does not fit stays NULL)."""
    row: dict[str, Any] = {"text": None, "number": None, "flag": None, "instant": None}
    kind = attribute.type
    if kind == "boolean":
        row["flag"] = value if isinstance(value, bool) else None
    elif kind in ("integer", "decimal"):
        row["number"] = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    elif kind == "dateTime":
        row["instant"] = instant(value)
    else:
        row["text"] = value if isinstance(value, str) else None
    return row


def aware(value: Any) -> datetime | None:
    """An ISO 8601 string as an aware datetime, as the filter evaluator reads it (naive means UTC)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def instant(value: Any) -> datetime | None:
    """A stored dateTime value as a UTC instant (coercion accepted it, so it is within range)."""
    parsed = aware(value)
    return None if parsed is None else parsed.astimezone(UTC)


def write_user(user: ScimUser, document: dict[str, Any]) -> list[ValueRow]:
    """Set every column of ``user`` from ``document`` and return its multi-valued rows (column values of
    ``scim_user_value``, to be inserted by the repository).

    Custom values go to ``user.custom``; their typed rows are :func:`custom_rows`.
    """
    for path, column in USER_COLUMNS.items():
        setattr(user, column, _get_path(document, path))
    user.user_name_key = fold(user.user_name)
    user.custom = custom_part(document)
    user.multi_valued = {name: document[name] for name in MULTI_VALUED if document.get(name)}
    rows: list[ValueRow] = []
    organisation_id, user_id = user.organisation_id, user.id
    for name, entries in user.multi_valued.items():
        for position, entry in enumerate(entries):
            row = {"organisation_id": organisation_id, "user_id": user_id, "attribute": name, "position": position}
            for sub, column in VALUE_COLUMNS.items():
                row[column] = entry.get(sub)
            rows.append(row)
    return rows


def fluid_role_rows(user: ScimUser, roles: list[str]) -> list[ValueRow]:
    """The value rows of a user's effective Fluid roles (``…:fluid:2.0:User:roles``, filterable)."""
    return [
        {"organisation_id": user.organisation_id, "user_id": user.id, "attribute": FLUID_ROLES_ROWS, "position": position,
         "value": role}
        for position, role in enumerate(roles)
    ]


def _read_plan() -> tuple[tuple[str, bool, str, str], ...]:
    """(column, in the enterprise extension, attribute, sub-attribute or "") per mapped path, worked out once."""
    plan = []
    for path, column in USER_COLUMNS.items():
        enterprise = path.startswith(ENTERPRISE_URN + ":")
        head, _, sub = (path[len(ENTERPRISE_URN) + 1 :] if enterprise else path).partition(".")
        plan.append((column, enterprise, head, sub))
    return tuple(plan)


_ABSENT = object()


def _compile_columns_reader() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The columns part of :func:`read_user` as one straight-line function, generated once from the
    mapping: no loop, no unpacking and no branch on the shape of each path per user (a page reads 100).

    Keys are added in the mapping's order, a nested object (``name``, the enterprise extension) where
    its first value is, as the loop it replaces did.
    """
    lines = ["def read_columns(loaded, user):", "    document = {}"]
    for column, enterprise, head, sub in _read_plan():
        target = "document.setdefault(ENTERPRISE_URN, {})" if enterprise else "document"
        lines += [
            f"    value = loaded.get({column!r}, _ABSENT)",
            "    if value is _ABSENT:",
            f"        value = getattr(user, {column!r})  # expired or deferred: let the ORM load it",
            "    if value is not None:",
            f"        {target}.setdefault({head!r}, {{}})[{sub!r}] = value" if sub else f"        {target}[{head!r}] = value",
        ]
    lines.append("    return document")
    namespace: dict[str, Any] = {"_ABSENT": _ABSENT, "ENTERPRISE_URN": ENTERPRISE_URN}
    exec(compile("\n".join(lines), "<fluid_scim user columns reader>", "exec"), namespace)  # noqa: S102 - our own mapping, no input
    return cast(Callable[[dict[str, Any], Any], dict[str, Any]], namespace["read_columns"])


_READ_COLUMNS = _compile_columns_reader()


def read_user(user: ScimUser | UserRecord) -> dict[str, Any]:
    """The canonical document of a stored user or user record (no id, meta, groups or password)."""
    loaded = user.__dict__  # column values, read without the ORM's attribute machinery (a page has 100 users)
    document = _READ_COLUMNS(loaded, user)
    # A record's JSON values were decoded for it alone and are not kept: they go into the document as
    # they are. An ORM user's are its own state, which the document must not share (the caller may change it).
    fresh = type(user) is UserRecord
    multi_valued = user.multi_valued
    for name in MULTI_VALUED:
        if multi_valued.get(name):
            document[name] = multi_valued[name] if fresh else [dict(entry) for entry in multi_valued[name]]
    custom = loaded.get("custom", _ABSENT)
    if custom is _ABSENT:
        custom = user.custom
    if custom:
        _merge_custom(document, custom if fresh else copy.deepcopy(custom))
    return document


def write_group(group: ScimGroup, document: dict[str, Any]) -> None:
    group.display_name = document["displayName"]
    group.display_name_key = fold(group.display_name)
    group.external_id = document.get("externalId")
    group.custom = {key: value for key, value in document.items() if key not in ("displayName", "externalId")} or None


def read_group(group: ScimGroup) -> dict[str, Any]:
    document: dict[str, Any] = {"displayName": group.display_name}
    if group.external_id is not None:
        document["externalId"] = group.external_id
    if group.custom:
        document.update(copy.deepcopy(group.custom))
    return document
