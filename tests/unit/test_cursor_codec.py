"""The opaque-cursor codec: round trips, kinds kept apart, and strict bounded decoding."""

from __future__ import annotations

import base64

import pytest

from fluid_scim import cursor_codec
from fluid_scim.cursor_codec import CursorError


def _token(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def test_round_trips() -> None:
    assert cursor_codec.decode_text(cursor_codec.encode_text("a b/é", kind="x"), kind="x") == "a b/é"
    assert cursor_codec.decode_text(cursor_codec.encode_text("plain")) == "plain"
    assert cursor_codec.decode_number(cursor_codec.encode_number(0, kind="seq"), kind="seq") == 0
    assert cursor_codec.decode_number(cursor_codec.encode_number(10**12, kind="seq"), kind="seq") == 10**12
    value = {"o": 40, "q": "0123456789abcdef"}
    assert cursor_codec.decode_json(cursor_codec.encode_json(value)) == value


def test_tokens_are_unpadded_url_safe_base64_of_the_payload() -> None:
    """The external format clients already hold: unchanged by the move to one codec."""
    assert cursor_codec.encode_number(40, kind="offset") == base64.urlsafe_b64encode(b"offset:40").decode().rstrip("=")
    assert cursor_codec.encode_json({"o": 3, "q": "ab"}) == base64.urlsafe_b64encode(b'{"o":3,"q":"ab"}').decode().rstrip("=")
    assert all("=" not in cursor_codec.encode_number(n, kind="seq") for n in range(20))


def test_a_cursor_of_another_kind_is_refused() -> None:
    offset = cursor_codec.encode_number(5, kind="offset")
    with pytest.raises(CursorError):
        cursor_codec.decode_number(offset, kind="seq")
    with pytest.raises(CursorError):
        cursor_codec.decode_json(offset)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor!",
        "=" * 8,
        "b2Zmc2V0OjU=",  # padded: we never issue padding
        "b2Zmc2V0OjU+",  # the standard alphabet's "+"
        "a",  # one character past a multiple of four: not base64
        "A" * (cursor_codec.MAX_LENGTH + 4),
        _token(b"offset:-1"),
        _token(b"offset: 5"),
        _token(b"offset:5_0"),
        _token("offset:\u0665".encode()),  # ARABIC-INDIC DIGIT FIVE: int() would take it
        _token(b"offset:\xff"),
        _token(b"seq:5"),
        _token(b"offset:99"),  # above the maximum below
    ],
)
def test_garbage_raises_one_error(cursor: str) -> None:
    with pytest.raises(CursorError):
        cursor_codec.decode_number(cursor, kind="offset", maximum=50)


def test_json_garbage_raises_one_error() -> None:
    for cursor in ("", "e30x", "not-a-cursor", _token(b"\xff\xfe"), _token(b"[1,"), 5):
        with pytest.raises(CursorError):
            cursor_codec.decode_json(cursor)  # type: ignore[arg-type]


def test_encoding_a_negative_number_is_a_bug() -> None:
    with pytest.raises(ValueError):
        cursor_codec.encode_number(-1, kind="offset")
