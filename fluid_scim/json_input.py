"""Reading a JSON request body strictly: every number fits what the service stores, within bounds.

Python's ``json`` reads more than JSON (RFC 8259): the literals ``NaN``, ``Infinity`` and
``-Infinity``, numbers such as ``1e400`` that become an infinite float, and integers of any length
(beyond 4,300 digits it raises a bare ``ValueError``; beyond 64 bits neither database column nor
the JSON codec of the database keeps them exactly). :func:`loads` refuses all of these with a
:class:`JsonRefused` that says what was wrong, before any of it reaches a service: RFC 8259 §6
leaves the range of numbers to the implementation, and this one takes the signed 64-bit integers
and the finite IEEE 754 doubles. Optionally it bounds nesting depth and list length too. Pure: no
Flask, no database.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

#: Integers a body may carry: the signed 64-bit range (SQL BIGINT, the database's JSON codec).
INTEGER_MIN = -(2**63)
INTEGER_MAX = 2**63 - 1
# An integer literal longer than this is out of range whatever its digits (sign included).
_INTEGER_TEXT = len(str(INTEGER_MIN))
_SHOWN = 24  # characters of an offending literal quoted in a message


class JsonRefused(ValueError):
    """A body that is not JSON (``syntax``) or holds a value out of range (``value``); ``detail`` says which."""

    def __init__(self, detail: str, *, syntax: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.syntax = syntax


class OutOfRange:
    """A number beyond what the service keeps (an integer beyond 64 bits, a float beyond the largest
    double), read as this marker (``loads(..., mark_numbers=True)``) where the caller decides: it is
    refused (:attr:`detail`) wherever a value is kept, and an attribute the caller may drop whole (one
    nobody declared) is dropped. Never a number, never stored."""

    __slots__ = ("detail", "text")

    def __init__(self, text: str, detail: str) -> None:
        self.text = text
        self.detail = detail

    def __repr__(self) -> str:
        return _shown(self.text)


def loads(
    raw: str | bytes, *, max_depth: int | None = None, max_items: int | None = None, mark_numbers: bool = False
) -> Any:
    """The JSON value of ``raw``; :class:`JsonRefused` for anything else or out of range.

    ``max_depth`` bounds the nesting of arrays and objects (1 for a flat object), ``max_items`` the
    members of any one array or object. ``mark_numbers``: a number out of range is read as an
    :class:`OutOfRange` marker instead of refusing the whole body.
    """
    try:
        parse_int, parse_float = (_marked(_integer), _marked(_float)) if mark_numbers else (_integer, _float)
        value = json.loads(raw, parse_int=parse_int, parse_float=parse_float, parse_constant=_constant)
    except UnicodeDecodeError:
        raise JsonRefused("the request body is not valid UTF-8", syntax=True) from None
    except RecursionError:
        raise JsonRefused("the request body is not valid JSON: nested too deeply", syntax=True) from None
    except json.JSONDecodeError as exc:
        raise JsonRefused(f"the request body is not valid JSON: {exc.msg}", syntax=True) from None
    if max_depth is not None or max_items is not None:
        _check_shape(value, max_depth=max_depth, max_items=max_items)
    return value


def _integer(text: str) -> int:
    if len(text) <= _INTEGER_TEXT:
        number = int(text)
        if INTEGER_MIN <= number <= INTEGER_MAX:
            return number
    raise JsonRefused(
        f"the number {_shown(text)} is out of range: integers must lie between {INTEGER_MIN} and {INTEGER_MAX}",
        syntax=False,
    )


def _marked(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse_or_mark(text: str) -> Any:
        try:
            return parse(text)
        except JsonRefused as refused:
            return OutOfRange(text, refused.detail)

    return parse_or_mark


def _float(text: str) -> float:
    number = float(text)  # any length of digits is fine here: float() is linear
    if not math.isfinite(number):
        raise JsonRefused(f"the number {_shown(text)} is out of range: it is beyond the largest double", syntax=False)
    return number


def _constant(text: str) -> Any:
    raise JsonRefused(f"the request body is not valid JSON: {text} is not a JSON number", syntax=True)


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}… ({len(text)} characters)"


def _check_shape(value: Any, *, max_depth: int | None, max_items: int | None) -> None:
    """Walk the parsed value without recursion (its depth is what is being checked)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        depth += 1
        if max_depth is not None and depth > max_depth:
            raise JsonRefused(f"the request body nests arrays and objects deeper than {max_depth} levels", syntax=False)
        if max_items is not None and len(item) > max_items:
            detail = f"an array or object in the request body has {len(item)} members; at most {max_items} are accepted"
            raise JsonRefused(detail, syntax=False)
        stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
