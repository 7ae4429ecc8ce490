"""An organisation's customised User schema: declared custom attributes and the undeclared-attribute policy.

An organisation declares attributes in extension schemas of its own (Microsoft Entra's documented
``urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User``) or as plain top-level
names; :func:`user_resource_type` adds them to the standard User resource type (RFC 7643 §4.1,
§4.3), so that ``/Schemas``, validation, PATCH paths, filters and projection all read one
description. Attributes no schema defines follow the organisation's policy (``keep``, ``ignore``,
``reject``); kept ones are bounded here (:data:`VALUE_BYTES`, :data:`PER_RESOURCE`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fluid_scim.errors import InvalidValue, UnkeptValue
from fluid_scim.json_input import OutOfRange
from fluid_scim.schema.attributes import Attribute, ResourceType, Schema, SchemaExtension
from fluid_scim.schema.definitions import (
    COMMON_ATTRIBUTES,
    ENTERPRISE_URN,
    FLUID_URN,
    GROUP_RESOURCE,
    GROUP_URN,
    USER,
    USER_RESOURCE,
    USER_URN,
)
from fluid_scim.text import check_text, describe, refused_character

POLICIES = ("keep", "ignore", "reject")
CUSTOM_TYPES = ("string", "boolean", "integer", "decimal", "dateTime")
#: Largest JSON text of one undeclared value kept, and most undeclared attributes on one resource.
VALUE_BYTES = 2048
PER_RESOURCE = 32
#: Deepest nesting of an undeclared value (objects and arrays).
DEPTH = 4
#: Most values of one multi-valued declared attribute (each is a typed row a filter reads).
CUSTOM_VALUES = 100
#: Integers a declared attribute holds exactly (values are compared as IEEE doubles in SQL).
INTEGER_LIMIT = 2**53

# RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA.
ATTRIBUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,127}$")
# An extension schema URN: "urn:" NID ":" NSS (RFC 8141), without the characters a path would misread.
SCHEMA_URN = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*'%/]+$")
STANDARD_URNS = frozenset(urn.lower() for urn in (USER_URN, ENTERPRISE_URN, FLUID_URN, GROUP_URN))
_STANDARD_TOP = frozenset(
    {attribute.name.lower() for attribute in (*USER.attributes, *COMMON_ATTRIBUTES)} | {"schemas"}
)


@dataclass(frozen=True, slots=True)
class Declaration:
    """One declared attribute. ``schema_urn`` is "" for a top-level name of the User schema."""

    id: str
    schema_urn: str
    name: str
    type: str
    multi_valued: bool = False
    case_exact: bool = False
    description: str = ""

    @property
    def path(self) -> str:
        return f"{self.schema_urn}:{self.name}" if self.schema_urn else self.name

    @classmethod
    def of(cls, row: Any) -> Declaration:
        """A stored declaration (any object with these fields: the ``attribute_declaration`` row)."""
        return cls(row.id, row.schema_urn, row.name, row.type, row.multi_valued, row.case_exact, row.description)


def path_key(schema_urn: str, name: str) -> str:
    """The case-insensitive identity of a declared path (RFC 7643 §2.1: names are case-insensitive)."""
    return (f"{schema_urn}:{name}" if schema_urn else name).lower()


def check_declaration(schema_urn: str, name: str, type_: str) -> None:
    """Refuse a declaration the SCIM grammar or the standard schemas would misread."""
    if not ATTRIBUTE_NAME.match(name):
        raise InvalidValue(
            f"'{name}' is not an attribute name: a letter, then letters, digits, '-' or '_' (RFC 7643 §2.1), at most 128"
        )
    if type_ not in CUSTOM_TYPES:
        raise InvalidValue(f"the type must be one of {', '.join(CUSTOM_TYPES)}, not '{type_}'")
    if not schema_urn:
        if name.lower() in _STANDARD_TOP:
            raise InvalidValue(f"'{name}' is a standard User attribute (RFC 7643 §4.1) and cannot be declared again")
        return
    if len(schema_urn) > 255 or not SCHEMA_URN.match(schema_urn):
        raise InvalidValue(f"'{schema_urn}' is not a schema URN such as 'urn:ietf:params:scim:schemas:extension:Name:2.0:User'")
    if schema_urn.lower() in STANDARD_URNS:
        raise InvalidValue(f"'{schema_urn}' is a standard schema; declare custom attributes in an extension schema of your own")


def _attribute(declaration: Declaration) -> Attribute:
    description = declaration.description or "A custom attribute declared by the organisation."
    return Attribute(
        name=declaration.name,
        type=declaration.type,  # type: ignore[arg-type]  # one of CUSTOM_TYPES
        multi_valued=declaration.multi_valued,
        case_exact=declaration.case_exact,
        description=description,
        custom_id=declaration.id,
    )


def _schema_name(urn: str) -> str:
    """A readable name for a custom extension: the URN part before the version, e.g. ``CustomExtensionName``."""
    parts = [part for part in urn.split(":") if part and not re.match(r"^\d+(\.\d+)*$", part)]
    tail = [part for part in parts if part.lower() not in ("user", "urn")]
    return tail[-1] if tail else urn


def user_resource_type(declarations: Sequence[Declaration], *, undeclared: str) -> ResourceType:
    """The standard User resource type with ``declarations`` added and the ``undeclared`` policy."""
    top = tuple(_attribute(item) for item in declarations if not item.schema_urn)
    core = USER if not top else Schema(id=USER.id, name=USER.name, description=USER.description,
                                       attributes=(*USER.attributes, *top))
    grouped: dict[str, tuple[str, list[Attribute]]] = {}
    for item in declarations:
        if item.schema_urn:
            grouped.setdefault(item.schema_urn.lower(), (item.schema_urn, []))[1].append(_attribute(item))
    extensions = tuple(
        SchemaExtension(Schema(id=urn, name=_schema_name(urn), description="Custom attributes declared by the organisation.",
                               attributes=tuple(attributes)))
        for urn, attributes in grouped.values()
    )
    return replace(USER_RESOURCE, schema=core, extensions=(*USER_RESOURCE.extensions, *extensions), undeclared=undeclared)


def group_resource_type(*, undeclared: str) -> ResourceType:
    return GROUP_RESOURCE if undeclared == GROUP_RESOURCE.undeclared else replace(GROUP_RESOURCE, undeclared=undeclared)


def declared_attributes(resource_type: ResourceType) -> Iterator[tuple[str | None, Attribute]]:
    """(extension URN or None, attribute) of every declared custom attribute of the resource type."""
    for attribute in resource_type.schema.attributes:
        if attribute.custom_id is not None:
            yield None, attribute
    for extension in resource_type.extensions:
        for attribute in extension.schema.attributes:
            if attribute.custom_id is not None:
                yield extension.schema.id, attribute


# -- undeclared values ------------------------------------------------------------------------------


def undeclared_attribute(name: str) -> Attribute:
    """The stand-in for a name no schema defines: a value kept as received."""
    return Attribute(name=name, description="Not declared by the organisation; kept as received.", declared=False)


def undeclared_value(value: Any, *, label: str) -> Any:
    """An undeclared value as received, if it is plain JSON within the bounds; None when unassigned.
    :class:`UnkeptValue` says why one cannot be kept."""
    try:
        return _undeclared_value(value, label=label)
    except InvalidValue as refused:  # every refusal below: a value that cannot be kept as received
        raise UnkeptValue(refused.detail) from None


def _undeclared_value(value: Any, *, label: str) -> Any:
    named = refused_character(label)  # the label is the attribute's name, as the client spelled it
    if named is not None:
        raise InvalidValue(f"an attribute name must not contain {describe(named)}")
    if value is None or (isinstance(value, str | list | dict) and len(value) == 0):
        return None
    _check_depth(value, label, 0)
    _check_numbers(value, label)
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise InvalidValue(f"'{label}' holds a number JSON cannot carry") from None
    if len(text.encode()) > VALUE_BYTES:
        raise InvalidValue(
            f"'{label}' is not declared, and its value is {len(text.encode())} bytes of JSON; at most {VALUE_BYTES} "
            "are kept for an undeclared attribute (declare it to store more)"
        )
    _check_strings(value, label)
    return value


def _check_strings(value: Any, label: str) -> None:
    """The control-character rule (:mod:`fluid_scim.text`) for every string of a kept value, names included."""
    if isinstance(value, str):
        check_text(value, label)
    elif isinstance(value, dict):
        for name, item in value.items():
            check_text(name, f"{label} (a name inside it)")
            _check_strings(item, f"{label}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, f"{label}[{index}]")


def _check_numbers(value: Any, label: str) -> None:
    """No number out of range (read as :class:`~fluid_scim.json_input.OutOfRange`) anywhere in the value."""
    if isinstance(value, OutOfRange):
        raise InvalidValue(f"'{label}': {value.detail}")
    if isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            _check_numbers(item, label)


def _check_depth(value: Any, label: str, depth: int) -> None:
    if depth > DEPTH:
        raise InvalidValue(f"'{label}' is nested more than {DEPTH} levels deep")
    if isinstance(value, dict):
        for item in value.values():
            _check_depth(item, label, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_depth(item, label, depth + 1)


def undeclared_paths(resource_type: ResourceType, document: dict[str, Any]) -> list[tuple[str, Any]]:
    """(path, value) of every value in ``document`` that none of the resource type's schemas defines."""
    found: list[tuple[str, Any]] = []
    for key, value in document.items():
        if key.lower().startswith("urn:"):
            extension = resource_type.extension(key)
            if extension is None:
                found.extend((f"{key}:{name}", item) for name, item in value.items())
            else:
                unknown = (name for name in value if extension.attribute(name) is None)
                found.extend((f"{extension.id}:{name}", value[name]) for name in unknown)
        elif key != "externalId" and resource_type.schema.attribute(key) is None:
            found.append((key, value))
    return found


def past_resource_bound(paths: Sequence[tuple[str, Any]], *, stored: Iterable[str] = ()) -> list[str]:
    """The undeclared paths beyond :data:`PER_RESOURCE` on one resource: those the resource holds
    already (``stored``) are kept first, then the others in the order they came."""
    if len(paths) <= PER_RESOURCE:
        return []
    held = set(stored)
    in_order = [path for path, _ in paths if path in held] + [path for path, _ in paths if path not in held]
    return in_order[PER_RESOURCE:]


def without_undeclared(resource_type: ResourceType, document: dict[str, Any], paths: Iterable[str]) -> None:
    """Remove these undeclared paths (as :func:`undeclared_paths` names them) from ``document``."""
    dropped = set(paths)
    for key in list(document):
        value = document[key]
        if key.lower().startswith("urn:") and isinstance(value, dict):
            extension = resource_type.extension(key)
            urn = key if extension is None else extension.id
            for name in [name for name in value if f"{urn}:{name}" in dropped]:
                del value[name]
            if not value:
                del document[key]
        elif key in dropped:
            del document[key]


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string"
