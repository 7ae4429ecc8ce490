"""Reading SCIM requests: JSON bodies of either media type, list parameters, preconditions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import current_app, request

from fluid_scim import json_input
from fluid_scim.errors import InvalidSyntax, InvalidValue, UnsupportedMediaType
from fluid_scim.messages import clamp_paging, split_names
from fluid_scim.projection import Projection
from fluid_scim.schema import ResourceType
from fluid_scim.scim_http import cursors
from fluid_scim.services.resource_support import ListQuery

ACCEPTED_MEDIA_TYPES = ("application/scim+json", "application/json")
#: Most names ``attributes`` or ``excludedAttributes`` may list (each is parsed and resolved; a
#: resource type has a few hundred paths at most, declared attributes included).
MAX_ATTRIBUTE_NAMES = 1000
#: Longest ``sortBy``: one attribute path (an extension URN and a name).
MAX_SORT_BY = 1024


def json_body(*, resource: bool = False) -> dict[str, Any]:
    """The request's JSON object. Both SCIM and plain JSON media types are read (Flask reads only the latter).

    ``resource``: the body writes a resource (POST, PUT, PATCH, Bulk), whose coercion refuses a number
    out of range where a value is kept (``json_input.OutOfRange``: an integer beyond 64 bits, a float
    beyond the largest double) and drops the undeclared attribute that holds one; elsewhere such a
    number refuses the body.
    """
    media_type = (request.mimetype or "").lower()
    if media_type and media_type not in ACCEPTED_MEDIA_TYPES:
        raise UnsupportedMediaType(f"send the body as application/scim+json (or application/json), not {media_type}")
    raw = request.get_data(cache=True)
    try:
        body = json_input.loads(raw, mark_numbers=resource)  # numbers out of range are invalidValue (RFC 7644 §3.12)
    except json_input.JsonRefused as exc:
        raise (InvalidSyntax if exc.syntax else InvalidValue)(exc.detail) from None
    if not isinstance(body, dict):
        raise InvalidSyntax("the request body must be a JSON object")
    return body


def _integer(name: str, raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidValue(f"'{name}' must be an integer; got {raw!r}") from None


def _names(raw: Any, parameter: str) -> list[str] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        names = split_names([raw])
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        names = split_names(raw)
    else:
        raise InvalidValue("attributes and excludedAttributes must be lists of attribute names")
    if len(names) > MAX_ATTRIBUTE_NAMES:
        raise InvalidValue(f"'{parameter}' lists {len(names):,} names; at most {MAX_ATTRIBUTE_NAMES:,} are allowed")
    return names


def list_query(params: Mapping[str, Any]) -> ListQuery:
    """The GET query string or a loaded SearchRequest as a :class:`ListQuery` (bounds: :func:`clamp_paging`)."""
    maximum: int = current_app.extensions["fluid_settings"].scim_max_results
    start = _integer("startIndex", _text(params.get("startIndex")))
    start_index, count = clamp_paging(start, _integer("count", _text(params.get("count"))), maximum=maximum)
    order = (_text(params.get("sortOrder")) or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise InvalidValue(f"sortOrder must be 'ascending' or 'descending'; got {order!r}")
    sort_by = _text(params.get("sortBy")) or None
    if sort_by is not None and len(sort_by) > MAX_SORT_BY:
        raise InvalidValue(f"sortBy is {len(sort_by):,} characters long; an attribute path has at most {MAX_SORT_BY:,}")
    query = ListQuery(
        filter=_text(params.get("filter")) or None,
        sort_by=sort_by,
        descending=order == "descending",
        start_index=start_index or 1,
        count=maximum if count is None else count,
    )
    cursor = _text(params.get("cursor"))
    if cursor is None:
        return query
    if start is not None:
        raise InvalidValue("use either startIndex or cursor, not both (RFC 9865)")
    return replace(query, start_index=cursors.decode(cursor, query.key) + 1, cursor=cursor)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidValue(f"expected a string or integer, got {type(value).__name__}")


def projection(resource_type: ResourceType, params: Mapping[str, Any] | None = None, *, strict: bool = True) -> Projection:
    source = request.args if params is None else params
    return Projection.parse(
        resource_type,
        _names(source.get("attributes"), "attributes"),
        _names(source.get("excludedAttributes"), "excludedAttributes"),
        strict=strict,
    )


def if_match() -> str | None:
    return request.headers.get("If-Match")
