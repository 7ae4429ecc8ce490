"""Strength rules for a SCIM token an admin types in (generated tokens need none: 256 random bits).

Pure: no Flask, no database. Each rule has a stable name so the admin console can point at it.
"""

from __future__ import annotations

import itertools
import string
from dataclasses import dataclass

MIN_LENGTH = 32
MAX_LENGTH = 512
MIN_DISTINCT = 12
MIN_CLASSES = 3
MAX_RUN = 4
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation)
_WEAK_WORDS = ("password", "passw0rd", "secret", "changeme", "qwerty", "letmein", "123456", "abcdef", "token")


@dataclass(frozen=True, slots=True)
class StrengthProblem:
    """Why a token was refused: ``rule`` is a stable identifier, ``message`` a sentence for people."""

    rule: str
    message: str


def check_token_strength(token: str) -> StrengthProblem | None:
    """Return the first rule the token breaks, or ``None`` when it is strong enough."""
    for rule in (_length, _charset, _classes, _distinct, _runs, _sequences, _repeats, _words):
        problem = rule(token)
        if problem is not None:
            return problem
    return None


def _length(token: str) -> StrengthProblem | None:
    if len(token) < MIN_LENGTH:
        return StrengthProblem("min_length", f"the token must be at least {MIN_LENGTH} characters long; it has {len(token)}")
    if len(token) > MAX_LENGTH:
        return StrengthProblem("max_length", f"the token must be at most {MAX_LENGTH} characters long; it has {len(token)}")
    return None


def _charset(token: str) -> StrengthProblem | None:
    # It travels in an HTTP header and is pasted into Entra: visible ASCII only, no spaces.
    if any(not ("!" <= ch <= "~") for ch in token):
        return StrengthProblem(
            "charset", "the token may contain only visible ASCII characters (letters, digits, punctuation), no spaces"
        )
    return None


def _classes(token: str) -> StrengthProblem | None:
    present = sum(any(ch in chars for ch in token) for chars in _CLASSES)
    if present < MIN_CLASSES:
        return StrengthProblem(
            "character_classes",
            f"the token must mix at least {MIN_CLASSES} of: lower-case letters, upper-case letters, digits,"
            f" punctuation; it has {present}",
        )
    return None


def _distinct(token: str) -> StrengthProblem | None:
    if len(set(token)) < MIN_DISTINCT:
        return StrengthProblem(
            "distinct_characters", f"the token must use at least {MIN_DISTINCT} different characters; it uses {len(set(token))}"
        )
    return None


def _runs(token: str) -> StrengthProblem | None:
    run = 1
    for previous, current in itertools.pairwise(token):
        run = run + 1 if current == previous else 1
        if run > MAX_RUN:
            return StrengthProblem("repeated_characters", f"the token repeats {current!r} more than {MAX_RUN} times in a row")
    return None


def _sequences(token: str) -> StrengthProblem | None:
    run = 1
    for previous, current in zip(token.lower(), token.lower()[1:], strict=False):
        step = ord(current) - ord(previous)
        run = run + 1 if step in (1, -1) and current.isalnum() and previous.isalnum() else 1
        if run > MAX_RUN + 1:
            return StrengthProblem("sequence", "the token contains a keyboard-style sequence such as 'abcdef' or '123456'")
    return None


def _repeats(token: str) -> StrengthProblem | None:
    # A short pattern repeated to reach the length ('Abc1!Abc1!Abc1!...') is no stronger than the pattern.
    for size in range(1, len(token) // 2 + 1):
        pattern = token[:size]
        if (pattern * (len(token) // size + 1))[: len(token)] == token:
            return StrengthProblem("repeated_pattern", f"the token is a {size}-character pattern repeated")
    return None


def _words(token: str) -> StrengthProblem | None:
    lowered = token.lower()
    for word in _WEAK_WORDS:
        if word in lowered:
            return StrengthProblem("common_word", f"the token contains the common word {word!r}")
    return None
