"""Opaque cursors: the one way every paged list turns a position into a token and back.

A cursor is the unpadded URL-safe base64 (RFC 4648 §5) of a short payload: either ``<kind>:<text>``
(the kind tells one list's cursors from another's: ``offset:40``, ``seq:17``) or a small JSON value
(the SCIM cursors of RFC 9865 and the provisioning history's keyset positions). Clients only replay
what they were given, so decoding is strict and bounded: anything that is not exactly such a token,
or longer than :data:`MAX_LENGTH`, raises :class:`CursorError`, which each caller answers with its
own protocol's error. Pure: no Flask, no database.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

MAX_LENGTH = 200  # characters of a cursor; the longest we issue (a history position) is about 100
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
_DIGITS = re.compile(r"[0-9]{1,20}")


class CursorError(ValueError):
    """Not a cursor this server issued (malformed, too long, or of another kind)."""


def encode_text(text: str, *, kind: str = "") -> str:
    """The cursor of ``text``, prefixed by ``kind:`` when a kind is given."""
    return _encode((f"{kind}:{text}" if kind else text).encode())


def decode_text(cursor: str, *, kind: str = "") -> str:
    """The text of a cursor made by :func:`encode_text` with the same ``kind``."""
    try:
        text = _decode(cursor).decode("utf-8")
    except UnicodeDecodeError:
        raise CursorError("not a cursor") from None
    if not kind:
        return text
    prefix = f"{kind}:"
    if not text.startswith(prefix):
        raise CursorError(f"not a {kind} cursor")
    return text.removeprefix(prefix)


def encode_number(number: int, *, kind: str) -> str:
    """The cursor of a position or sequence number: ``<kind>:<number>``."""
    if number < 0:
        raise ValueError("cursor numbers are never negative")
    return encode_text(str(number), kind=kind)


def decode_number(cursor: str, *, kind: str, maximum: int | None = None) -> int:
    """The number of a cursor made by :func:`encode_number`: ASCII digits only, at most ``maximum``."""
    digits = decode_text(cursor, kind=kind)
    if not _DIGITS.fullmatch(digits):
        raise CursorError(f"not a {kind} cursor")
    number = int(digits)
    if maximum is not None and number > maximum:
        raise CursorError(f"{kind} {number} is out of range")
    return number


def encode_json(value: Any) -> str:
    """The cursor of a small JSON value (compact, no spaces)."""
    return _encode(json.dumps(value, separators=(",", ":")).encode())


def decode_json(cursor: str) -> Any:
    """The JSON value of a cursor made by :func:`encode_json`; the caller checks its shape."""
    try:
        return json.loads(_decode(cursor).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CursorError("not a cursor") from None


def _encode(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")


def _decode(cursor: str) -> bytes:
    if not isinstance(cursor, str) or len(cursor) > MAX_LENGTH or not _ALPHABET.fullmatch(cursor):
        raise CursorError("not a cursor")
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise CursorError("not a cursor") from None
