"""Shapes of the SCIM request messages (RFC 7644 §3.5.2 PatchOp, §3.4.3 SearchRequest, §3.7 BulkRequest).

Only the message envelope is checked here; attribute paths, filters and values are the PATCH engine's
and the service's business. Keys match case-insensitively ("Entra ... Don't require a case-sensitive
match on structural elements"), unknown keys are dropped, and every marshmallow error becomes an
:class:`~fluid_scim.errors.InvalidSyntax` whose detail names the field, such as
``Operations[2].op: must be add, replace or remove``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from fluid_scim.errors import InvalidSyntax, InvalidValue
from fluid_scim.patch.types import Operation

PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
MAX_PATCH_OPERATIONS = 1000
#: ``startIndex`` and ``count`` (and a cursor's position) are 32-bit signed integers.
PAGING_MIN, PAGING_MAX = -(2**31), 2**31 - 1

_MESSAGES = {
    "required": "is required",
    "null": "must not be null",
    "invalid": "has the wrong type",
}
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")


def _errors(**overrides: str) -> dict[str, str | list[Any] | dict[Any, Any]]:
    # The type marshmallow's ``error_messages`` parameter is declared with.
    return {**_MESSAGES, **overrides}


def _string(**kwargs: Any) -> fields.String:
    return fields.String(error_messages=_errors(invalid="must be a string"), **kwargs)


class _Integer(fields.Field):
    """A JSON integer, or (for query parameters) a string of digits; booleans are not numbers."""

    default_error_messages = {"invalid": "must be an integer"}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value.strip())
        raise self.make_error("invalid")


class _Choice(fields.Field):
    """A string compared case-insensitively with ``choices`` and returned in their spelling."""

    def __init__(self, choices: tuple[str, ...], message: str, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid=message), **kwargs)
        self.choices = {choice.lower(): choice for choice in choices}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        if not isinstance(value, str) or value.lower() not in self.choices:
            raise self.make_error("invalid")
        return self.choices[value.lower()]


class _NameList(fields.Field):
    """``attributes`` / ``excludedAttributes``: a JSON array of names or one comma-separated string."""

    default_error_messages = {"invalid": "must be an array of attribute names or a comma-separated string"}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> list[str]:
        if isinstance(value, str):
            items: list[Any] = value.split(",")
        elif isinstance(value, list):
            items = value
        else:
            raise self.make_error("invalid")
        if not all(isinstance(item, str) for item in items):
            raise self.make_error("invalid")
        return split_names(items)


def split_names(items: list[str]) -> list[str]:
    """Attribute names from strings that may each hold several, comma-separated (``["a,b", " c "]`` -> a, b, c)."""
    return [name.strip() for item in items for name in item.split(",") if name.strip()]


def _schemas(urn: str) -> fields.List:
    def contains(value: list[str]) -> None:
        if urn.lower() not in (item.lower() for item in value):
            raise ValidationError(f"must contain \"{urn}\"")

    return fields.List(
        _string(), required=True, validate=contains, error_messages=_errors(invalid="must be an array of schema URIs")
    )


class _Message(Schema):
    """Base: unknown keys excluded, keys matched case-insensitively, object-typed input required."""

    class Meta:
        unknown = EXCLUDE

    error_messages = {"type": "must be a JSON object"}

    @pre_load
    def _canonical_keys(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        names = {(field.data_key or name).lower(): field.data_key or name for name, field in self.load_fields.items()}
        result: dict[str, Any] = {}
        for key, value in data.items():
            canonical = names.get(key.lower(), key) if isinstance(key, str) else key
            if canonical in result:
                raise ValidationError("is given twice (keys match case-insensitively)", field_name=str(canonical))
            result[canonical] = value
        return result


# -- PatchOp ------------------------------------------------------------------------------------------


class PatchOperationSchema(_Message):
    op = _Choice(("add", "replace", "remove"), "must be add, replace or remove", required=True)
    path = _string(allow_none=True, load_default=None)
    value = fields.Raw(allow_none=True, load_default=None)

    @post_load(pass_original=True)
    def _note_case(self, data: dict[str, Any], original: Any, **kwargs: Any) -> dict[str, Any]:
        sent = next((item for key, item in original.items() if isinstance(key, str) and key.lower() == "op"), None)
        data["op_case_differs"] = sent != data["op"]
        return data


class PatchOpMessage(_Message):
    """RFC 7644 §3.5.2: ``{"schemas": [PatchOp URN], "Operations": [{"op", "path"?, "value"?}, ...]}``."""

    schemas = _schemas(PATCH_OP_URN)
    Operations = fields.List(
        fields.Nested(PatchOperationSchema, error_messages=_errors(type="must be a JSON object")),
        required=True,
        validate=validate.Length(
            min=1, max=MAX_PATCH_OPERATIONS, error=f"must hold between 1 and {MAX_PATCH_OPERATIONS} operations"
        ),
        error_messages=_errors(invalid="must be an array of operations"),
    )


# -- SearchRequest ----------------------------------------------------------------------------------


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None and key != "schemas"}


class SearchRequestMessage(_Message):
    """RFC 7644 §3.4.3 (POST ``/.search``) plus RFC 9865 ``cursor``.

    Loads to a dict with the RFC's parameter names, absent ones left out: ``attributes`` and
    ``excludedAttributes`` as lists, ``sortOrder`` lower-case, ``startIndex`` below 1 raised to 1 and a
    negative ``count`` raised to 0 (RFC 7644 §3.4.2.4).
    """

    schemas = _schemas(SEARCH_REQUEST_URN)
    attributes = _NameList(allow_none=True)
    excludedAttributes = _NameList(allow_none=True)
    filter = _string(allow_none=True)
    sortBy = _string(allow_none=True)
    sortOrder = _Choice(("ascending", "descending"), "must be ascending or descending", allow_none=True)
    startIndex = _Integer(allow_none=True)
    count = _Integer(allow_none=True)
    cursor = _string(allow_none=True)

    @post_load
    def _clamp(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data = _without_none(data)
        start_index, count = clamp_paging(data.get("startIndex"), data.get("count"))
        if start_index is not None:
            data["startIndex"] = start_index
        if count is not None:
            data["count"] = count
        return data


def clamp_paging(
    start_index: int | None, count: int | None, *, maximum: int | None = None
) -> tuple[int | None, int | None]:
    """RFC 7644 §3.4.2.4: a ``startIndex`` below 1 means 1 and a negative ``count`` means 0; ``count`` is capped
    at ``maximum`` (the server's page size) when one is given. Absent values stay absent.

    The one place these bounds live, for the GET query string and the POST ``/.search`` body alike.
    Either beyond a 32-bit signed integer (``format: int32`` in the OpenAPI document) is refused with
    ``invalidValue``: no list is that long, and a database offset past 64 bits would fail.
    """
    for name, value in (("startIndex", start_index), ("count", count)):
        if value is not None and not PAGING_MIN <= value <= PAGING_MAX:
            raise InvalidValue(f"{name} must be between {PAGING_MIN} and {PAGING_MAX}; got {_shown(value)}")
    if start_index is not None:
        start_index = max(start_index, 1)
    if count is not None:
        count = max(count, 0) if maximum is None else min(max(count, 0), maximum)
    return start_index, count


def _shown(number: int) -> str:
    text = str(number)
    return text if len(text) <= 24 else f"a number of {len(text)} digits"


# -- BulkRequest ------------------------------------------------------------------------------------


class BulkOperationSchema(_Message):
    method = _Choice(("POST", "PUT", "PATCH", "DELETE"), "must be POST, PUT, PATCH or DELETE", required=True)
    bulkId = _string(allow_none=True)
    version = _string(allow_none=True)
    path = _string(required=True, validate=validate.Length(min=1, error="must not be empty"))
    data = fields.Raw(allow_none=True)

    @validates_schema
    def _method_needs(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["method"] == "POST" and not data.get("bulkId"):
            raise ValidationError("is required when method is POST", field_name="bulkId")
        if data["method"] in ("POST", "PUT", "PATCH") and not isinstance(data.get("data"), dict):
            raise ValidationError(f"must be a JSON object when method is {data['method']}", field_name="data")

    @post_load
    def _drop_none(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return _without_none(data)


class BulkRequestMessage(_Message):
    """RFC 7644 §3.7: loads to ``{"failOnErrors"?: int, "Operations": [{method, bulkId?, version?, path, data?}]}``
    with ``method`` upper-case; the operation count limit is the service's (``tooMany``)."""

    schemas = _schemas(BULK_REQUEST_URN)
    failOnErrors = _Integer(allow_none=True, validate=validate.Range(min=0, error="must not be negative"))
    Operations = fields.List(
        fields.Nested(BulkOperationSchema, error_messages=_errors(type="must be a JSON object")),
        required=True,
        validate=validate.Length(min=1, error="must hold at least one operation"),
        error_messages=_errors(invalid="must be an array of operations"),
    )

    @validates_schema
    def _unique_bulk_ids(self, data: dict[str, Any], **kwargs: Any) -> None:
        """RFC 7644 §3.7: a bulkId identifies one new resource within the request; a repeated one
        would make every ``bulkId:`` reference to it ambiguous."""
        seen: set[str] = set()
        for index, operation in enumerate(data.get("Operations") or []):
            bulk_id = operation.get("bulkId")
            if bulk_id is None:
                continue
            if bulk_id in seen:
                raise ValidationError(f"repeats the bulkId {bulk_id!r}; each operation needs its own",
                                      field_name=f"Operations[{index}].bulkId")
            seen.add(bulk_id)

    @post_load
    def _drop_none(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return _without_none(data)


# -- loading ----------------------------------------------------------------------------------------


def load_message(schema: Schema, data: Any) -> dict[str, Any]:
    """``schema.load(data)`` with validation errors turned into :class:`InvalidSyntax`."""
    try:
        return schema.load(data)
    except ValidationError as error:
        raise InvalidSyntax(describe_errors(error.messages)) from None


# One instance of each message schema, made once: a load keeps no state on its schema, and making one
# (its fields copied, its nested schemas built at their first load) cost more than the load of an Entra
# PATCH itself (25 µs and 35 µs against 43 µs; the whole parse went from 103 to 40 µs).
_PATCH_OP = PatchOpMessage()
_SEARCH_REQUEST = SearchRequestMessage()
_BULK_REQUEST = BulkRequestMessage()


def parse_patch_operations(body: Any, *, quirks: set[str]) -> list[Operation]:
    """Validate a PatchOp body and return its operations (``op`` lower-cased; quirk ``op-case`` noted)."""
    message = load_message(_PATCH_OP, body)
    operations = []
    for index, item in enumerate(message["Operations"]):
        if item["op_case_differs"]:
            quirks.add("op-case")
        operations.append(Operation(op=item["op"], path=item["path"], value=item["value"], index=index))
    return operations


def parse_search_request(body: Any) -> dict[str, Any]:
    """Validate a SearchRequest body (see :class:`SearchRequestMessage` for the result)."""
    return load_message(_SEARCH_REQUEST, body)


def parse_bulk_request(body: Any) -> dict[str, Any]:
    """Validate a BulkRequest body (see :class:`BulkRequestMessage` for the result)."""
    return load_message(_BULK_REQUEST, body)


def describe_errors(messages: Any, *, limit: int = 5) -> str:
    """Flatten marshmallow's nested error dict into ``Operations[2].op: must be ...; ...``."""
    found: list[str] = []
    _flatten(messages, "", found)
    if not found:
        return "the request body is invalid"
    shown = "; ".join(found[:limit])
    return shown if len(found) <= limit else f"{shown}; and {len(found) - limit} more"


def _flatten(messages: Any, prefix: str, found: list[str]) -> None:
    if isinstance(messages, dict):
        for key, value in sorted(messages.items(), key=lambda pair: (isinstance(pair[0], str), str(pair[0]))):
            if key == "_schema":
                _flatten(value, prefix, found)
            elif isinstance(key, int):
                _flatten(value, f"{prefix}[{key}]", found)
            else:
                _flatten(value, f"{prefix}.{key}" if prefix else str(key), found)
    elif isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        for item in messages:
            found.append(f"{prefix or 'request body'}: {item}")
    elif isinstance(messages, list):
        for item in messages:
            _flatten(item, prefix, found)
    else:
        found.append(f"{prefix or 'request body'}: {messages}")
