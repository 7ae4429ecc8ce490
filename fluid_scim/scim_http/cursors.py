"""Cursor pagination (RFC 9865) over the same ordered queries as index pagination.

A cursor is an opaque token naming a position in one particular query (filter, sortBy and
sortOrder): replaying it with another query is ``invalidCursor``. Positions rely on the stable
ordering every list uses (the sort key, then the id). The token is a :mod:`fluid_scim.cursor_codec`
JSON cursor: ``{"o": offset, "q": fingerprint of the query}``.
"""

from __future__ import annotations

import hashlib
import json

from fluid_scim import cursor_codec
from fluid_scim.errors import InvalidCursor
from fluid_scim.messages import PAGING_MAX


def _fingerprint(query_key: tuple[str | None, ...]) -> str:
    return hashlib.sha256(json.dumps(query_key).encode()).hexdigest()[:16]


def encode(offset: int, query_key: tuple[str | None, ...]) -> str:
    return cursor_codec.encode_json({"o": offset, "q": _fingerprint(query_key)})


def decode(cursor: str, query_key: tuple[str | None, ...]) -> int:
    """The 0-based offset a cursor points at; ``""`` is the first page."""
    if cursor == "":
        return 0
    try:
        data = cursor_codec.decode_json(cursor)
        offset = data["o"]
        fingerprint = data["q"]
    except (cursor_codec.CursorError, TypeError, KeyError):
        raise InvalidCursor("the cursor is not one this server issued") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < PAGING_MAX:
        raise InvalidCursor("the cursor is not one this server issued")
    if fingerprint != _fingerprint(query_key):
        raise InvalidCursor("the cursor belongs to a different query (filter, sortBy or sortOrder changed)")
    return offset
