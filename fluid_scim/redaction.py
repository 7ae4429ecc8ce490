"""The one rule for what looks like a secret in text Fluid writes down, and the mask that replaces it.

Fluid never logs or stores a credential on purpose; this is the net under that rule, for text a
caller controls (a User-Agent, a path, a filter echoed in an error, an exception message). Every
log line (:mod:`fluid_scim.logs`) and every request attribute stored with a provisioning event
(:func:`fluid_scim.services.audit.event_values`) goes through :func:`redact` or
:func:`redact_value`. Masked, each with what it is found by:

- a credential after an HTTP authentication scheme: ``Bearer …``, ``Basic …``;
- a SCIM token Fluid generated: the ``fscim_`` prefix;
- a JWT (an admin credential, say): base64url segments joined by dots, the first a JSON object
  (``eyJ…``);
- a Vault token: ``hvs.``, ``hvb.``, ``hvr.`` and the older ``s.``, ``b.``, ``r.`` forms;
- the value of a ``token``, ``secret``, ``password``, ``authorization``, ``api_key`` … pair written
  ``name=value`` or ``"name": "value"`` (a query string, a JSON fragment);
- any other unbroken run of 32 characters or more (letters, digits, ``-._~+!#$%*^|``) that mixes
  upper case, lower case and digits, or two of those with one of ``~+!#$%*^|``: the shape of a
  random secret such as an entered SCIM token. UUIDs, hex digests, dotted or hyphenated names,
  and paths (split at ``/``) are not masked.

Pure: no Flask, no database.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"
_MAX_DEPTH = 8

_PATTERNS = (
    re.compile(r"(?i:\b((?:bearer|basic)\s+)[^\s\"',;]+)"),
    re.compile(r"fscim_[A-Za-z0-9_-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){1,4}"),
    re.compile(r"\bhv[sbr]\.[A-Za-z0-9_-]{20,}"),
    re.compile(r"(?<![A-Za-z0-9_.-])[sbr]\.[A-Za-z0-9]{24}\b"),
    re.compile(
        r"(?i:(\"?(?:token|secret|password|passwd|secret_id|authorization|api[_-]?key)s?\"?\s*[:=]\s*\"?)"
        r"(?!\[REDACTED\])[^\s\"',;}&]+)"
    ),
)
_RUN_CHARS = r"A-Za-z0-9\-._~+!#$%*^|"
# A run made only of lower-case hex digits and hyphens (a UUID in a path, a digest) has neither an upper-case
# letter nor a symbol, so _opaque would keep it: the lookahead skips it, and the run never reaches _opaque.
_NOT_HEX_RUN_CHARS = r"A-Zg-z._~+!#$%*^|"
_OPAQUE_RUN = re.compile(
    rf"(?<![{_RUN_CHARS}])(?=[0-9a-f\-]*[{_NOT_HEX_RUN_CHARS}])[{_RUN_CHARS}]{{32,}}(?![{_RUN_CHARS}])"
)
# Text none of the rules can mask: lower-case hex and hyphens (a request id, a UUID, a digest).
_HEX = re.compile(r"[0-9a-f-]*")
_CACHED_UP_TO = 256  # characters: the same short texts (field names, user agents, messages) recur on every line
_SYMBOLS = frozenset("~+!#$%*^|")
_UPPER, _LOWER, _DIGITS = frozenset(string.ascii_uppercase), frozenset(string.ascii_lowercase), frozenset(string.digits)
# What text must hold for each of _PATTERNS to match it (case-folded where the pattern ignores case):
# a pattern whose clue is absent cannot match, and is not run.
_CLUES: tuple[tuple[str, ...], ...] = (
    ("bearer", "basic"),
    ("fscim_",),
    ("eyj",),
    (".",),
    (".",),
    ("token", "secret", "passw", "authorization", "api"),
)
# Whether any clue is there at all, in one scan: most text (a path, a name) has none.
_ANY_CLUE = re.compile("|".join(re.escape(clue) for clues in _CLUES for clue in clues))


def _mask(match: re.Match[str]) -> str:
    return (match.group(1) if match.groups() else "") + REDACTED


def _opaque(match: re.Match[str]) -> str:
    run = match.group(0)
    chars = set(run)
    upper = not chars.isdisjoint(_UPPER)
    lower = not chars.isdisjoint(_LOWER)
    digit = not chars.isdisjoint(_DIGITS)
    if (upper and lower and digit) or (upper + lower + digit >= 2 and not chars.isdisjoint(_SYMBOLS)):
        return REDACTED
    return run


def redact(text: str) -> str:
    """``text`` with everything that looks like a secret replaced by ``[REDACTED]``."""
    if _HEX.fullmatch(text):
        return text
    if len(text) <= _CACHED_UP_TO:
        return _redacted_short(text)
    return _redacted(text)


@functools.lru_cache(maxsize=4096)
def _redacted_short(text: str) -> str:
    return _redacted(text)


def _redacted(text: str) -> str:
    folded = text.lower()
    if _ANY_CLUE.search(folded) is not None:
        for pattern, clues in zip(_PATTERNS, _CLUES, strict=True):
            if any(clue in folded for clue in clues):
                text = pattern.sub(_mask, text)
    return _OPAQUE_RUN.sub(_opaque, text) if len(text) >= 32 else text


def redact_value(value: Any, _depth: int = 0) -> Any:
    """``value`` with every string in it redacted (mapping keys and values, list items, nested).

    Numbers, booleans and ``None`` stay as they are; anything else becomes its redacted text.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if _depth >= _MAX_DEPTH:
        return redact(str(value))
    if isinstance(value, Mapping):
        return {redact(str(key)): redact_value(item, _depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item, _depth + 1) for item in value]
    return redact(str(value))


def redact_optional(text: str | None, limit: int | None = None) -> str | None:
    """:func:`redact` for a nullable column; then cut to ``limit`` characters (after, so no secret is cut in half)."""
    if not text:
        return None
    masked = redact(text)
    return masked[:limit] if limit is not None else masked
