"""Normalise incoming resource JSON (POST/PUT bodies, PATCH values) to the canonical document.

The canonical document is a plain dict: core attributes top-level under their registry name,
``externalId`` top-level, extension attributes nested under the canonical extension URN. It never
holds ``id``, ``meta``, ``schemas``, ``groups`` or (for Groups) ``members``, and never holds an
unassigned value (``null``, ``""``, ``[]``, ``{}``). Names match case-insensitively and are written
with their canonical case; values are stored exactly as sent once they pass the type checks.

Client tolerances add a name to ``quirks`` when they fire (docs/scim.md, "Identity-provider dialects"; sources:
https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
and https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/):
``string-boolean``, ``single-value-wrapped``, ``role-json-value``, ``manager-string``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fluid_scim.errors import InvalidSyntax, InvalidValue, Mutability, UnkeptValue
from fluid_scim.json_input import OutOfRange
from fluid_scim.schema.attributes import Attribute, ResourceType, Schema
from fluid_scim.schema.custom import INTEGER_LIMIT, undeclared_attribute, undeclared_value
from fluid_scim.schema.definitions import ENTERPRISE_URN, GROUP_RESOURCE
from fluid_scim.schema.limits import describe_limit, values_limit
from fluid_scim.schema.resolve import Resolved, UnknownAttribute, resolve
from fluid_scim.text import name_key, refusal

log = logging.getLogger(__name__)

#: Attributes whose strings are one-line names (no TAB, LF or CR either, see :mod:`fluid_scim.text`;
#: at most 255 characters, also once normalised to their uniqueness key).
SHORT_STRINGS = frozenset({"username", "displayname", "externalid"})
SHORT_LIMIT = 255
STRING_LIMIT = 1024
REFERENCE_LIMIT = 2048
BINARY_LIMIT = 16384


@dataclass(frozen=True, slots=True)
class MemberRef:
    """One group member as a client names it: the member's id and, optionally, ``User`` or ``Group``."""

    value: str
    type: str | None = None


def is_unassigned(value: Any) -> bool:
    """RFC 7643 §2.5: null, an empty string, an empty array or an empty object mean "no value"."""
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def is_manager(attribute: Attribute, schema: Schema | None) -> bool:
    return schema is not None and schema.id == ENTERPRISE_URN and attribute.name == "manager"


# -- whole resources ------------------------------------------------------------------------------


def coerce_resource(resource_type: ResourceType, body: dict[str, Any], *, quirks: set[str]) -> dict[str, Any]:
    """Turn a POST/PUT body into the canonical document; readOnly attributes are ignored."""
    if not isinstance(body, dict):
        raise InvalidSyntax(f"the {resource_type.name} must be a JSON object")
    document: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for key, value in body.items():
        lowered = key.lower()
        if lowered == "schemas":
            _check_schemas(value)
            continue
        if lowered.startswith("urn:"):
            extension = resource_type.extension(key)
            if extension is None:
                _once(seen, key, key)
                _undeclared_extension(resource_type, document, key, value, quirks=quirks)
                continue
            _once(seen, extension.id, key)
            coerced_extension = coerce_extension(resource_type, extension, value, quirks=quirks, label=extension.id)
            if coerced_extension is not None:
                document[extension.id] = coerced_extension
            continue
        if resource_type.id == GROUP_RESOURCE.id and lowered == "members":
            _once(seen, "members", key)
            coerce_members(value, quirks=quirks)  # validated here, stored by the service as a relation
            continue
        try:
            resolved = resolve(resource_type, None, key, undeclared=True)
        except UnknownAttribute as error:
            raise InvalidSyntax(str(error)) from None
        attribute = resolved.attribute
        _once(seen, attribute.name, key)
        if attribute.read_only or not kept(resource_type, attribute, quirks):
            continue  # RFC 7644 §3.3 / §3.5.1: id, meta, groups sent by the client are ignored
        coerced = _coerced_or_dropped(
            resolved.schema, attribute, value, quirks=quirks, label=attribute.name, tolerant=tolerates_unknown(resource_type)
        )
        if coerced is not None:
            document[attribute.name] = coerced
    check_required(resource_type, document)
    return document


def check_required(resource_type: ResourceType, document: dict[str, Any]) -> None:
    """RFC 7643 §2.2: ``required`` attributes must have a value (userName, group displayName)."""
    for attribute in resource_type.schema.attributes:
        if attribute.required and not attribute.read_only and attribute.name not in document:
            raise InvalidValue(f"'{attribute.name}' is required")


def extract_members(body: dict[str, Any], *, quirks: set[str]) -> list[MemberRef] | None:
    """The ``members`` of a Group body (any key case) as :class:`MemberRef`; None when the key is absent."""
    if not isinstance(body, dict):
        raise InvalidSyntax("the Group must be a JSON object")
    for key, value in body.items():
        if key.lower() == "members":
            return coerce_members(value, quirks=quirks)
    return None


def coerce_extension(
    resource_type: ResourceType, extension: Schema, value: Any, *, quirks: set[str], label: str
) -> dict[str, Any] | None:
    """A whole extension object (``{"employeeNumber": ..., "manager": ...}``) -> canonical dict or None."""
    if is_unassigned(value):
        return None
    if not isinstance(value, dict):
        raise InvalidValue(f"'{label}' must be a JSON object holding the extension's attributes")
    result: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for key, item in value.items():
        if key.lower() == "schemas":
            # Some clients serialise the extension as a resource of its own, with its schemas list.
            continue
        attribute = extension.attribute(key)
        if attribute is None:
            if resource_type.undeclared == "reject":
                raise InvalidSyntax(f"the extension '{extension.id}' has no attribute '{key}'")
            attribute = undeclared_attribute(key)
        _once(seen, attribute.name, key)
        if attribute.read_only or not kept(resource_type, attribute, quirks):
            continue
        coerced = _coerced_or_dropped(
            extension, attribute, item, quirks=quirks, label=f"{extension.id}:{attribute.name}",
            tolerant=tolerates_unknown(resource_type),
        )
        if coerced is not None:
            result[attribute.name] = coerced
    return result or None


# -- one attribute (PATCH values) -----------------------------------------------------------------


def coerce_value(
    resource_type: ResourceType, resolved: Resolved, value: Any, *, quirks: set[str], label: str | None = None
) -> Any:
    """One attribute's (or sub-attribute's) value in canonical form; None means unassigned.

    A multi-valued attribute comes back as a list (a single object is wrapped), a sub-attribute of a
    multi-valued attribute as the value of one entry. readOnly targets raise :class:`Mutability`.
    """
    del resource_type  # the Resolved already carries its schema
    label = label or resolved.path
    if resolved.target.read_only:
        raise Mutability(f"'{label}' is read-only")
    if resolved.sub_attribute is None:
        return coerce_attribute(resolved.schema, resolved.attribute, value, quirks=quirks, label=label)
    return coerce_sub(resolved.attribute, resolved.sub_attribute, value, quirks=quirks, label=label)


def kept(resource_type: ResourceType, attribute: Attribute, quirks: set[str]) -> bool:
    """Whether a value of ``attribute`` is stored: always for a declared one; an undeclared one as the
    organisation's policy says (``keep`` or ``ignore``; ``reject`` never resolves one)."""
    if attribute.declared:
        return True
    if resource_type.undeclared == "ignore":
        quirks.add("undeclared-attribute-ignored")
        return False
    quirks.add("undeclared-attribute")
    return True


def _undeclared_extension(
    resource_type: ResourceType, document: dict[str, Any], key: str, value: Any, *, quirks: set[str]
) -> None:
    """An extension object no declared schema has: refused, dropped or kept as the policy says."""
    if resource_type.undeclared == "reject":
        raise InvalidSyntax(f"{resource_type.name} has no schema extension '{key}'")
    if is_unassigned(value):
        return
    if not isinstance(value, dict):
        raise InvalidValue(f"'{key}' must be a JSON object holding the extension's attributes")
    if not kept(resource_type, undeclared_attribute(key), quirks):
        return
    kept_values = {}
    for name, item in value.items():
        if name.lower() == "schemas":
            continue
        coerced = undeclared_or_dropped(item, label=f"{key}:{name}", quirks=quirks)
        if coerced is not None:
            kept_values[name] = coerced
    if kept_values:
        document[key] = kept_values


def undeclared_or_dropped(value: Any, *, label: str, quirks: set[str]) -> Any:
    """An undeclared value as it is kept, or None when it cannot be (:class:`UnkeptValue`): then the
    attribute is dropped, which the request's history notes (``undeclared-attribute-dropped``) and the
    log says why. A value Fluid does not use never refuses the whole resource."""
    try:
        return undeclared_value(value, label=label)
    except UnkeptValue as unkept:
        dropped(unkept, quirks=quirks)
        return None


def tolerates_unknown(resource_type: ResourceType) -> bool:
    """Whether a sub-attribute no schema defines is dropped (the policy keeps or ignores what is not
    declared) rather than refused (``reject``)."""
    return resource_type.undeclared != "reject"


def unknown_sub_attribute(label: str, *, quirks: set[str]) -> None:
    """Note a sub-attribute no schema defines (``name.nick``, ``emails[0].label``), left out of a write.

    A standard complex attribute stores its defined sub-attributes only, so such a value is dropped
    whether the policy keeps or ignores undeclared attributes; the rest of the request applies.
    """
    quirks.add("undeclared-sub-attribute-dropped")
    log.warning("undeclared sub-attribute dropped", extra={"attribute": label})


def dropped(unkept: UnkeptValue, *, quirks: set[str]) -> None:
    """Note an undeclared attribute left out of a write because it could not be kept."""
    quirks.add("undeclared-attribute-dropped")
    log.warning("undeclared attribute dropped", extra={"reason": unkept.detail})


def _coerced_or_dropped(
    schema: Schema | None, attribute: Attribute, value: Any, *, quirks: set[str], label: str, tolerant: bool
) -> Any:
    if attribute.declared:
        return coerce_attribute(schema, attribute, value, quirks=quirks, label=label, tolerant=tolerant)
    return undeclared_or_dropped(value, label=label, quirks=quirks)


def coerce_attribute(
    schema: Schema | None, attribute: Attribute, value: Any, *, quirks: set[str], label: str, tolerant: bool = False
) -> Any:
    """Canonical value of a top-level attribute, None when unassigned.

    ``tolerant``: a sub-attribute the attribute does not define is dropped and noted
    (:func:`unknown_sub_attribute`) instead of refused with :class:`InvalidSyntax`.
    """
    if isinstance(value, OutOfRange) and attribute.declared:
        raise InvalidValue(value.detail)
    if not attribute.declared:
        return undeclared_value(value, label=label)
    if is_manager(attribute, schema):
        return coerce_manager(value, quirks=quirks, label=label, tolerant=tolerant)
    if attribute.multi_valued:
        return _coerce_multi(attribute, value, quirks=quirks, label=label, tolerant=tolerant)
    if attribute.type == "complex":
        return coerce_complex(attribute, value, quirks=quirks, label=label, tolerant=tolerant)
    return coerce_scalar(attribute, value, quirks=quirks, label=label)


def _coerce_multi(attribute: Attribute, value: Any, *, quirks: set[str], label: str, tolerant: bool) -> list[Any] | None:
    """A multi-valued attribute: a list of scalars or of entries (a lone object is wrapped); None when empty."""
    if is_unassigned(value):
        return None
    if not isinstance(value, list):
        if attribute.type != "complex" or not isinstance(value, dict):
            raise InvalidValue(f"'{label}' is multi-valued and must be a JSON array")
        quirks.add("single-value-wrapped")
        value = [value]
    if len(value) > values_limit(attribute):
        raise InvalidValue(f"'{label}' has {len(value):,} values; {describe_limit(attribute)}")
    if attribute.type != "complex":
        items = [coerce_scalar(attribute, item, quirks=quirks, label=f"{label}[{index}]") for index, item in enumerate(value)]
        return [item for item in items if item is not None] or None
    entries = []
    for index, item in enumerate(value):
        entry = coerce_entry(attribute, item, quirks=quirks, label=f"{label}[{index}]", tolerant=tolerant)
        if entry is not None:
            entries.append(entry)
    check_primary(entries, label)
    return entries or None


def coerce_entry(
    attribute: Attribute, value: Any, *, quirks: set[str], label: str, tolerant: bool = False
) -> dict[str, Any] | None:
    """One entry of a multi-valued complex attribute; None when entirely unassigned."""
    if is_unassigned(value):
        return None
    if not isinstance(value, dict):
        raise InvalidValue(f"'{label}' must be a JSON object")
    if attribute.name == "roles":
        value = _decode_role(value, quirks=quirks, label=f"{label}.value")
    return coerce_complex(attribute, value, quirks=quirks, label=label, tolerant=tolerant)


def coerce_complex(
    attribute: Attribute, value: Any, *, quirks: set[str], label: str, tolerant: bool = False
) -> dict[str, Any] | None:
    """A complex value: known sub-attributes only, readOnly ones dropped; None when nothing is assigned.

    A sub-attribute the attribute does not define is refused, or, ``tolerant``, dropped and noted.
    """
    if is_unassigned(value):
        return None
    if not isinstance(value, dict):
        raise InvalidValue(f"'{label}' must be a JSON object")
    result: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for key, item in value.items():
        sub = attribute.sub(key)
        if sub is None and key == "$ref" and item is None:
            continue  # Entra sends "$ref": null, as in the member examples of Microsoft Learn's SCIM tutorial
        if sub is None:
            if not tolerant:
                raise InvalidSyntax(f"'{label}' has no sub-attribute '{key}'")
            unknown_sub_attribute(f"{label}.{key}", quirks=quirks)
            continue
        _once(seen, sub.name, f"{label}.{key}")
        if sub.read_only:
            continue
        coerced = coerce_scalar(sub, item, quirks=quirks, label=f"{label}.{sub.name}")
        if coerced is not None:
            result[sub.name] = coerced
    return result or None


def coerce_sub(attribute: Attribute, sub: Attribute, value: Any, *, quirks: set[str], label: str) -> Any:
    """The value of one sub-attribute; None when unassigned."""
    if sub.read_only:
        raise Mutability(f"'{label}' is read-only")
    if attribute.name == "roles" and sub.name == "value" and _json_object(value) is not None:
        return _decode_role({"value": value}, quirks=quirks, label=label)["value"]
    return coerce_scalar(sub, value, quirks=quirks, label=label)


def coerce_manager(value: Any, *, quirks: set[str], label: str, tolerant: bool = False) -> dict[str, str] | None:
    """Enterprise ``manager``: a plain string (Entra) or an object; ``value`` and a sent ``displayName`` are kept.

    The displayName is shown while the value names no user of the organisation (Okta's free-text
    managerId); once it resolves, the manager's own name is shown. ``$ref`` is derived when rendering.
    """
    if is_unassigned(value):
        return None
    if isinstance(value, list) and len(value) == 1:
        value = value[0]  # the old narrative form: [{"$ref": ..., "value": "<id>"}]
        if is_unassigned(value):
            return None
    if isinstance(value, str):
        quirks.add("manager-string")
        return {"value": _string(value, label=f"{label}.value", limit=STRING_LIMIT)}
    if not isinstance(value, dict):
        raise InvalidValue(f"'{label}' must be the manager's id or an object with a 'value'")
    return _manager_object(value, label=label, quirks=quirks, tolerant=tolerant)


def _manager_object(value: dict[str, Any], *, label: str, quirks: set[str], tolerant: bool) -> dict[str, str] | None:
    """The object form of ``manager``: its ``value`` and a string ``displayName``; ``$ref`` is derived."""
    kept: dict[str, str] = {}
    seen: dict[str, str] = {}
    for key, item in value.items():
        lowered = key.lower()
        if lowered not in ("value", "$ref", "displayname"):
            if not tolerant:
                raise InvalidSyntax(f"'{label}' has no sub-attribute '{key}'")
            unknown_sub_attribute(f"{label}.{key}", quirks=quirks)
            continue
        _once(seen, lowered, f"{label}.{key}")
        if lowered == "$ref" or is_unassigned(item):
            continue
        name = "value" if lowered == "value" else "displayName"
        if name == "displayName" and not isinstance(item, str):
            continue  # a hint Fluid only shows: a value it cannot show is left out, not refused
        if not isinstance(item, str):
            raise InvalidValue(f"'{label}.{name}' must be a string, not {_show(item)}")
        kept[name] = _string(item, label=f"{label}.{name}", limit=STRING_LIMIT)
    return {"value": kept["value"], **({"displayName": kept["displayName"]} if "displayName" in kept else {})} if (
        "value" in kept) else None


def manager_id_of(value: Any) -> str | None:
    """The id a remove operation names for the manager (string, object or one-element list); None if none."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict):
        value = next((item for key, item in value.items() if key.lower() == "value"), None)
    return value if isinstance(value, str) and value else None


def check_primary(entries: list[dict[str, Any]], label: str) -> None:
    """RFC 7643 §2.4: the primary attribute value ``true`` MUST appear no more than once."""
    if sum(1 for entry in entries if entry.get("primary") is True) > 1:
        raise InvalidValue(f"'{label}' has more than one entry with \"primary\": true")


# -- members ----------------------------------------------------------------------------------------

_MEMBER_TYPES = {"user": "User", "group": "Group"}


_MEMBER_KEYS = frozenset({"value", "$ref", "display", "type"})
# SCIM 1.1 removed a member with {"value": id, "operation": "delete"}: dropping the key would turn
# that removal into an addition, so it is refused rather than tolerated.
_MEMBER_DIRECTIVES = frozenset({"operation"})


def coerce_members(value: Any, *, quirks: set[str]) -> list[MemberRef]:
    """Group ``members`` as the client sent them: ``[{"value": id, "$ref": ..., "display": ..., "type": ...}]``.

    ``$ref`` and ``display`` are accepted and ignored; ``value`` is required; duplicates collapse
    (first occurrence kept). Other sub-attributes (a ``displayName`` some mappings add) are dropped
    and recorded as ``member-extra-sub-attribute``, except ``operation``, see :data:`_MEMBER_DIRECTIVES`.
    """
    if is_unassigned(value):
        return []
    if isinstance(value, dict):
        quirks.add("single-value-wrapped")
        value = [value]
    if not isinstance(value, list):
        raise InvalidValue("'members' must be a JSON array of objects with a 'value'")
    members: dict[str, MemberRef] = {}
    for index, entry in enumerate(value):
        member = _member(entry, label=f"members[{index}]", quirks=quirks)
        members.setdefault(member.value, member)
    return list(members.values())


def _member(entry: Any, *, label: str, quirks: set[str]) -> MemberRef:
    """One entry of ``members``: its id (required) and its optional ``type``."""
    if not isinstance(entry, dict):
        raise InvalidValue(f"'{label}' must be a JSON object with a 'value'")
    member_id: Any = None
    member_type: str | None = None
    seen: dict[str, str] = {}
    for key, item in entry.items():
        lowered = key.lower()
        if lowered not in _MEMBER_KEYS:
            if lowered in _MEMBER_DIRECTIVES:
                raise InvalidSyntax(f"'{label}' has no sub-attribute '{key}' (to remove members, PATCH with op \"remove\")")
            quirks.add("member-extra-sub-attribute")
            continue
        _once(seen, lowered, f"{label}.{key}")
        if lowered == "value":
            member_id = item
        elif lowered == "type":
            member_type = _member_type(item, label=label)
        elif lowered == "$ref" and item is not None and not isinstance(item, str):
            raise InvalidValue(f"'{label}.$ref' must be a string or null, not {_show(item)}")
    if not isinstance(member_id, str) or not member_id:
        raise InvalidValue(f"'{label}.value' is required and must be the member's id (a non-empty string)")
    return MemberRef(_string(member_id, label=f"{label}.value", limit=STRING_LIMIT), member_type)


def _member_type(item: Any, *, label: str) -> str | None:
    if is_unassigned(item):
        return None
    if not isinstance(item, str) or item.lower() not in _MEMBER_TYPES:
        raise InvalidValue(f"'{label}.type' must be \"User\" or \"Group\", not {_show(item)}")
    return _MEMBER_TYPES[item.lower()]


# -- scalars ----------------------------------------------------------------------------------------


def coerce_scalar(attribute: Attribute, value: Any, *, quirks: set[str], label: str) -> Any:
    """A value of a non-complex attribute or sub-attribute; None when unassigned."""
    if isinstance(value, OutOfRange):  # a number out of range is never kept
        raise InvalidValue(value.detail)
    if is_unassigned(value):
        return None
    kind = attribute.type
    if kind == "complex":
        raise InvalidValue(f"'{label}' cannot hold a nested complex value")  # pragma: no cover - no such schema
    if kind == "boolean":
        return _boolean(value, quirks=quirks, label=label)
    if kind in ("integer", "decimal"):
        return _number(value, integer=kind == "integer", label=label, custom=attribute.custom_id is not None)
    if not isinstance(value, str):
        raise InvalidValue(f"'{label}' must be a string, not {_show(value)}")
    if kind == "dateTime":
        return _date_time(value, label=label)
    if kind == "binary":
        return _binary(value, label=label)
    if kind == "reference":
        return _string(value, label=label, limit=REFERENCE_LIMIT)
    short = attribute.name.lower() in SHORT_STRINGS
    if not short:
        return _string(value, label=label, limit=STRING_LIMIT)
    _string(value, label=label, limit=SHORT_LIMIT, one_line=True)
    if len(name_key(value)) > SHORT_LIMIT:  # NFKC may lengthen a name (U+FDFA is 18 letters)
        raise InvalidValue(f"'{label}' is longer than {SHORT_LIMIT} characters once normalised (NFKC)")
    return value


def _number(value: Any, *, integer: bool, label: str, custom: bool = False) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue(f"'{label}' must be a number, not {_show(value)}")
    if integer and not isinstance(value, int):
        raise InvalidValue(f"'{label}' must be an integer, not {_show(value)}")
    if custom and abs(value) > INTEGER_LIMIT:
        raise InvalidValue(f"'{label}' is outside the range a custom number holds exactly (±2^53)")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidValue(f"'{label}' must be a finite number")
    return value


def _boolean(value: Any, *, quirks: set[str], label: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        quirks.add("string-boolean")
        return value.lower() == "true"
    raise InvalidValue(f"'{label}' must be a boolean (true or false), not {_show(value)}")


def _string(value: str, *, label: str, limit: int, one_line: bool = False) -> str:
    """Every string value passes here: its length and the control-character rule (:mod:`fluid_scim.text`)."""
    if len(value) > limit:
        raise InvalidValue(f"'{label}' is {len(value)} characters long; at most {limit} are allowed")
    detail = refusal(value, label, one_line=one_line)
    if detail is not None:
        raise InvalidValue(detail)
    return value


def _date_time(value: str, *, label: str) -> str:
    _string(value, label=label, limit=64)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value.upper():
        raise InvalidValue(f"'{label}' must be an ISO 8601 date and time with a time zone, such as \"2011-05-13T04:42:34Z\"")
    try:
        parsed.astimezone(UTC)  # stored and compared as a UTC instant
    except OverflowError:
        raise InvalidValue(f"'{label}' is out of range: in UTC it falls before year 1 or after year 9999") from None
    return value


def _binary(value: str, *, label: str) -> str:
    _string(value, label=label, limit=BINARY_LIMIT)
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidValue(f"'{label}' must be base64-encoded") from None
    return value


def _decode_role(entry: dict[str, Any], *, quirks: set[str], label: str) -> dict[str, Any]:
    """Entra's role PATCH form: ``{"value": "{\\"id\\":..,\\"value\\":\\"25\\",\\"displayName\\":..}"}``."""
    key = next((key for key in entry if key.lower() == "value"), None)
    raw = entry.get(key) if key is not None else None
    decoded = _json_object(raw)
    if decoded is None:
        return entry
    quirks.add("role-json-value")
    fields = {name.lower(): item for name, item in decoded.items()}
    role_value = fields.get("value", fields.get("id"))
    if not isinstance(role_value, str) or not role_value or _json_object(role_value) is not None:
        raise InvalidValue(f"'{label}' holds a JSON document without a usable string \"value\"")
    result = {name: item for name, item in entry.items() if name != key}
    result["value"] = role_value
    display = fields.get("displayname")
    if isinstance(display, str) and display and not any(name.lower() == "display" for name in result):
        result["display"] = display
    return result


def _json_object(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, str) or not raw.lstrip().startswith("{"):
        return None
    try:
        decoded = json.loads(raw)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _check_schemas(value: Any) -> None:
    """``schemas`` is read-only metadata; unknown URIs are tolerated (Entra's 2018 Group URI), junk is not."""
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidSyntax("'schemas' must be a JSON array of schema URIs")


def _once(seen: dict[str, str], canonical: str, key: str) -> None:
    previous = seen.setdefault(canonical.lower(), key)
    if previous != key:
        raise InvalidSyntax(f"'{canonical}' is given twice (as '{previous}' and '{key}')")


def _show(value: Any) -> str:
    """A short rendering of a client value for an error message."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str | int | float | bool) or value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
