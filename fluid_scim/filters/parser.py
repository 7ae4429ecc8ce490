"""Recursive-descent parser for SCIM filters and PATCH paths.

Grammar (RFC 7644 §3.4.2.2 Figure 1, with the errata-4690/7322 reading that
brackets do not nest, plus the tolerances listed below)::

    filter    = or EOF
    or        = and *("or" and)                     ; left-associative
    and       = unary *("and" unary)                ; left-associative
    unary     = "not" "(" or ")" / "(" or ")" / attrExp
    attrExp   = attrPath ("pr" / compareOp compValue)
              / attrPath "[" or "]"                 ; standalone value path
              / attrPath "[" or "]" "." ATTRNAME ("pr" / compareOp compValue)

Keywords, operators and ``true``/``false``/``null`` are case-insensitive.
Tolerated beyond the ABNF: any run of space, tab, CR or LF wherever a space
may appear (and none around parentheses, brackets and string literals);
Entra's ``emails[type eq "work"].value eq "x"``; and, only with
``allow_bare_values=True``, unquoted bare-word strings (``externalId eq jyoung``).

Recursion happens only when entering ``(``, ``not (`` or ``[``, and each of
those counts against ``max_depth`` before recursing, so the Python stack
stays bounded whatever the input (``and``/``or`` chains are loops).
"""

from __future__ import annotations

import math
import re
from typing import NoReturn

from fluid_scim.filters.ast import (
    COMPARE_OPS,
    And,
    AttrPath,
    Compare,
    CompValue,
    Filter,
    FilterError,
    FilterTooComplex,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
)
from fluid_scim.json_input import INTEGER_MAX, INTEGER_MIN
from fluid_scim.text import describe, refused_character

#: ``max_depth`` above this is refused: about three stack frames per level.
MAX_DEPTH_CEILING = 100

_WS = " \t\r\n"
# Characters of an attribute path or keyword (URNs bring ':' and '.').
_PATH_RUN = re.compile(r"[A-Za-z0-9_$.:\-]*")
# Characters of an unquoted value token: up to whitespace or punctuation.
_VALUE_RUN = re.compile(r'[^ \t\r\n()\[\]"]*')
_ATTRNAME = re.compile(r"[A-Za-z$][A-Za-z0-9_$\-]*")
_SCHEMA_URN = re.compile(r"urn(?::[A-Za-z0-9._\-]+)+", re.IGNORECASE)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
# Plain string content: everything but the quote, backslash, JSON control
# characters and lone surrogates (which cannot be stored as UTF-8).
_STRING_CHUNK = re.compile(r'[^"\\\x00-\x1f\ud800-\udfff]*')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS: dict[str, CompValue] = {"true": True, "false": False, "null": None}
_ALL_OPS = COMPARE_OPS | {"pr"}
_OPS_LIST = "eq, ne, co, sw, ew, gt, lt, ge, le or pr"
# Words that can never be a bare value or an unqualified attribute name.
_RESERVED = _ALL_OPS | {"and", "or", "not"}


def parse_filter(
    text: str,
    *,
    max_length: int = 4096,
    max_depth: int = 32,
    max_nodes: int = 256,
    allow_bare_values: bool = False,
) -> Filter:
    """Parse a ``filter`` query parameter into an AST.

    ``max_depth`` bounds nesting: each ``(``, ``not``, ``[``, ``and`` and
    ``or`` adds one level (so at most ``max_depth + 1`` terms can be chained
    with ``or`` without parentheses). ``max_nodes`` bounds the number of
    Compare/Present/And/Or/Not/ValuePath nodes. Raises :class:`FilterError`
    (or its subclass :class:`FilterTooComplex`) for every bad input string.
    """
    parser = _Parser(text, "filter", max_length, max_depth, max_nodes, allow_bare_values)
    return parser.filter()


def parse_path(
    text: str,
    *,
    max_length: int = 4096,
    max_depth: int = 32,
    max_nodes: int = 256,
    allow_bare_values: bool = False,
) -> PatchPath:
    """Parse a PATCH operation ``path`` (RFC 7644 §3.5.2) such as
    ``emails[type eq "work"].value``; limits as for :func:`parse_filter`."""
    parser = _Parser(text, "path", max_length, max_depth, max_nodes, allow_bare_values)
    return parser.patch_path()


class _Parser:
    """Scanner and parser in one: the lexical rules depend on the context
    (a URN path, an operator, a bare value), so tokens are read on demand."""

    def __init__(self, text: str, what: str, max_length: int, max_depth: int, max_nodes: int, bare: bool) -> None:
        if not isinstance(text, str):
            raise TypeError(f"expected the {what} as str, got {type(text).__name__}")
        if not 0 <= max_depth <= MAX_DEPTH_CEILING:
            raise ValueError(f"max_depth must be between 0 and {MAX_DEPTH_CEILING}")
        if len(text) > max_length:
            raise FilterTooComplex(f"{what} is {len(text)} characters long; at most {max_length} are allowed", None)
        self.text, self.what, self.pos = text, what, 0
        self.max_depth, self.max_nodes, self.bare = max_depth, max_nodes, bare
        self.nodes = 0

    # -- entry points -------------------------------------------------------

    def filter(self) -> Filter:
        self._skip_ws()
        if self.pos == len(self.text):
            self._fail(f"{self.what} is empty", 0)
        node, _ = self._or(0, in_brackets=False)
        self._skip_ws()
        if self.pos < len(self.text):
            if self.text[self.pos] in ")]":
                self._fail(f"unmatched '{self.text[self.pos]}' at position {self.pos}")
            self._fail(f"expected 'and', 'or' or end of filter at position {self.pos}, found {self._found()}")
        return node

    def patch_path(self) -> PatchPath:
        self._skip_ws()
        if self.pos == len(self.text):
            self._fail(f"{self.what} is empty", 0)
        start = self.pos
        attr = self._attr_path()
        value_path = self._value_path(attr, start, 0, False)[0] if self._peek() == "[" else None
        self._skip_ws()
        if self.pos < len(self.text):
            self._fail(f"expected end of path at position {self.pos}, found {self._found()}")
        if value_path is None:
            return PatchPath(attr)
        return PatchPath(attr, value_path.filter, value_path.sub_attr)

    # -- logical layer: every method returns (node, nesting depth) ----------

    def _or(self, nesting: int, in_brackets: bool) -> tuple[Filter, int]:
        left, depth = self._and(nesting, in_brackets)
        while (op_pos := self._keyword("or")) is not None:
            right, right_depth = self._and(nesting, in_brackets)
            left, depth = self._node(Or(left, right), 1 + max(depth, right_depth), op_pos)
        return left, depth

    def _and(self, nesting: int, in_brackets: bool) -> tuple[Filter, int]:
        left, depth = self._unary(nesting, in_brackets)
        while (op_pos := self._keyword("and")) is not None:
            right, right_depth = self._unary(nesting, in_brackets)
            left, depth = self._node(And(left, right), 1 + max(depth, right_depth), op_pos)
        return left, depth

    def _unary(self, nesting: int, in_brackets: bool) -> tuple[Filter, int]:
        self._skip_ws()
        start = self.pos
        if self._peek() == "(":
            return self._group(nesting, in_brackets)
        word = self._word()
        if word.lower() == "not":
            self.pos += len(word)
            self._skip_ws()
            if self._peek() != "(":
                self._fail(f"'not' must be followed by '(' at position {self.pos}, found {self._found()}")
            operand, depth = self._group(nesting, in_brackets)
            return self._node(Not(operand), depth, start)
        if not word or word.lower() in _RESERVED - _ALL_OPS:
            self._fail(f"expected an attribute name, '(' or 'not' at position {start}, found {self._found()}")
        return self._attr_expr(nesting, in_brackets)

    def _group(self, nesting: int, in_brackets: bool) -> tuple[Filter, int]:
        """Parse ``( or )`` starting at the ``(``; the group adds one level."""
        open_pos = self.pos
        self._enter(nesting, open_pos)
        self.pos += 1
        node, depth = self._or(nesting + 1, in_brackets)
        self._skip_ws()
        if self._peek() != ")":
            self._fail(
                f"expected 'and', 'or' or ')' at position {self.pos} to close the '(' "
                f"at position {open_pos}, found {self._found()}"
            )
        self.pos += 1
        return node, self._check_depth(depth + 1, open_pos)

    # -- attribute expressions ----------------------------------------------

    def _attr_expr(self, nesting: int, in_brackets: bool) -> tuple[Filter, int]:
        start = self.pos
        path = self._attr_path()
        self._skip_ws()
        if self._peek() != "[":
            return self._operation(path, start, 0)
        value_path, depth = self._value_path(path, start, nesting, in_brackets)
        if value_path.sub_attr is not None:
            return self._operation(value_path, start, depth)
        return value_path, depth

    def _value_path(self, attr: AttrPath, start: int, nesting: int, in_brackets: bool) -> tuple[ValuePath, int]:
        """Parse ``[filter]`` and an optional ``.subAttr`` after ``attr``."""
        bracket = self.pos
        if in_brackets:
            self._fail(f"value filters cannot be nested: unexpected '[' at position {bracket}")
        if attr.sub_attr is not None:
            self._fail(
                f"'[' at position {bracket} must follow a multi-valued attribute, "
                f"not the sub-attribute '{self.text[start:bracket].strip()}'"
            )
        self._enter(nesting, bracket)
        self.pos += 1
        inner, depth = self._or(nesting + 1, in_brackets=True)
        self._skip_ws()
        if self._peek() != "]":
            self._fail(
                f"expected 'and', 'or' or ']' at position {self.pos} to close the '[' "
                f"at position {bracket}, found {self._found()}"
            )
        self.pos += 1
        sub_attr = None
        if self._peek() == ".":
            self.pos += 1
            sub_attr = self._sub_attr_name()
        value_path = ValuePath(attr, inner, sub_attr)
        return value_path, self._node(value_path, depth + 1, bracket)[1]

    def _operation(self, path: AttrPath | ValuePath, start: int, depth: int) -> tuple[Filter, int]:
        """Parse ``pr`` or ``op value`` after an attribute path."""
        self._skip_ws()
        op_pos = self.pos
        word = self._word()
        op = word.lower()
        if op == "pr":
            self.pos += len(word)
            return self._node(Present(path), depth, start)
        if op in COMPARE_OPS:
            self.pos += len(word)
            return self._node(Compare(path, op, self._value(op)), depth, start)
        if word.isalpha() and (len(word) == 2 or op[:2] in _ALL_OPS):
            self._fail(f"unknown operator '{word}' at position {op_pos}; expected one of {_OPS_LIST}")
        label = _clip(self.text[start:op_pos].strip())
        self._fail(f"expected a comparison operator after '{label}' at position {op_pos}, found {self._found()}")

    def _attr_path(self) -> AttrPath:
        """Read ``[urn ":"] attr ["." sub]``; a ``urn:`` path is split at its
        last colon because the URN itself contains dots (``2.0``)."""
        start = self.pos
        word = self._word()
        if not word or not (word[0] == "$" or (word[0].isascii() and word[0].isalpha())):
            self._fail(f"expected an attribute name at position {start}, found {self._found()}")
        schema, rest = None, word
        if word[:4].lower() == "urn:":
            schema, _, rest = word.rpartition(":")
            if not _SCHEMA_URN.fullmatch(schema):
                self._fail(f"invalid schema URN '{_clip(schema)}' in attribute path at position {start}")
        elif ":" in word:
            self._fail(
                f"invalid attribute path '{_clip(word)}' at position {start}; only paths "
                "qualified with a schema URN starting with 'urn:' may contain ':'"
            )
        attr, dot, sub_attr = rest.partition(".")
        if not _ATTRNAME.fullmatch(attr) or (dot and not _ATTRNAME.fullmatch(sub_attr)):
            self._fail(
                f"invalid attribute path '{_clip(word)}' at position {start}; expected "
                "'name' or 'name.subAttribute', optionally preceded by a schema URN and ':'"
            )
        self.pos += len(word)
        return AttrPath(schema, attr, sub_attr if dot else None)

    def _sub_attr_name(self) -> str:
        start = self.pos
        word = self._word()
        if not _ATTRNAME.fullmatch(word):
            self._fail(f"expected a sub-attribute name after '.' at position {start}, found {self._found()}")
        self.pos += len(word)
        return word

    # -- values ---------------------------------------------------------------

    def _value(self, op: str) -> CompValue:
        self._skip_ws()
        pos = self.pos
        if self._peek() == '"':
            return self._string()
        token = _VALUE_RUN.match(self.text, pos).group()  # type: ignore[union-attr]
        lowered = token.lower()
        numeric = token[:1] in tuple("-0123456789")
        value: CompValue
        if lowered in _LITERALS:
            value = _LITERALS[lowered]
        elif numeric and _NUMBER.fullmatch(token):
            value = self._number(token, pos)
        elif token and self.bare and lowered not in _RESERVED:
            value = self._storable(token, pos)  # legacy unquoted string, explicitly allowed by the caller
        elif numeric:
            self._fail(f"invalid number '{_clip(token)}' at position {pos}")
        else:
            hint = "; string values must be in double quotes" if token[:1].isalpha() else ""
            self._fail(f"expected a value after '{op}' at position {pos}, found {self._found()}{hint}")
        self.pos += len(token)
        return value

    def _number(self, token: str, pos: int) -> int | float:
        """JSON number: an int without fraction or exponent, else a float; integers within 64 bits
        and finite doubles, as in request bodies (:mod:`fluid_scim.json_input`)."""
        match = _NUMBER.fullmatch(token)
        assert match is not None  # checked by the caller
        number: float = math.inf
        if match.group(1) is None and match.group(2) is None:
            if len(token) <= len(str(INTEGER_MIN)) and INTEGER_MIN <= int(token) <= INTEGER_MAX:
                return int(token)
        else:
            number = float(token)
        if math.isinf(number):
            self._fail(f"number '{_clip(token)}' at position {pos} is out of range")
        return number

    def _string(self) -> str:
        """Decode a JSON string literal starting at the opening quote."""
        start, text = self.pos, self.text
        pos, parts = start + 1, []
        while True:
            chunk = _STRING_CHUNK.match(text, pos).group()  # type: ignore[union-attr]
            parts.append(chunk)
            pos += len(chunk)
            if pos >= len(text):
                self._fail(f"unterminated string starting at position {start}", start)
            char = text[pos]
            if char == '"':
                self.pos = pos + 1
                return self._storable("".join(parts), start)
            if char != "\\":
                kind = "control character" if char < " " else "unpaired surrogate"
                self._fail(f"{kind} U+{ord(char):04X} at position {pos} must be escaped in a string", pos)
            decoded, pos = self._escape(pos, start)
            parts.append(decoded)

    def _storable(self, value: str, start: int) -> str:
        """A string literal no value could hold is refused (the rule of :mod:`fluid_scim.text`): PostgreSQL
        cannot even compare a NUL."""
        char = refused_character(value)
        if char is not None:
            self._fail(f"the string at position {start} holds {describe(char)}, which no value may contain", start)
        return value

    def _escape(self, pos: int, start: int) -> tuple[str, int]:
        """Decode the escape at ``pos`` (a backslash); return it and the next position."""
        code = self.text[pos + 1 : pos + 2]
        if code in _ESCAPES:
            return _ESCAPES[code], pos + 2
        if not code:
            self._fail(f"unterminated string starting at position {start}", start)
        if code != "u":
            self._fail(f"invalid escape '\\{code}' at position {pos} in a string", pos)
        unit = self._hex4(pos)
        if 0xD800 <= unit <= 0xDBFF and self.text[pos + 6 : pos + 8] == "\\u":
            low = self._hex4(pos + 6)
            if 0xDC00 <= low <= 0xDFFF:
                return chr(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)), pos + 12
        if 0xD800 <= unit <= 0xDFFF:
            self._fail(f"unpaired surrogate '\\u{unit:04x}' at position {pos} in a string", pos)
        return chr(unit), pos + 6

    def _hex4(self, pos: int) -> int:
        digits = self.text[pos + 2 : pos + 6]
        if not _HEX4.fullmatch(digits):
            self._fail(f"invalid unicode escape at position {pos}; expected '\\u' and four hex digits", pos)
        return int(digits, 16)

    # -- helpers --------------------------------------------------------------

    def _skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WS:
            self.pos += 1

    def _peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def _word(self) -> str:
        return _PATH_RUN.match(self.text, self.pos).group()  # type: ignore[union-attr]

    def _keyword(self, keyword: str) -> int | None:
        """Consume ``keyword`` (any case) if it is next; return its position."""
        self._skip_ws()
        word = self._word()
        if word.lower() != keyword:
            return None
        start = self.pos
        self.pos += len(word)
        return start

    def _found(self) -> str:
        """Describe the token at the current position for an error message."""
        if self.pos >= len(self.text):
            return f"end of {self.what}"
        token = self._word() or _VALUE_RUN.match(self.text, self.pos).group()  # type: ignore[union-attr]
        return f"'{_clip(token or self.text[self.pos])}'"

    def _enter(self, nesting: int, pos: int) -> None:
        # Checked before recursing so that "((((..." never reaches Python's
        # recursion limit; the construct being entered is one more level.
        self._check_depth(nesting + 1, pos)

    def _check_depth(self, depth: int, pos: int) -> int:
        if depth > self.max_depth:
            raise FilterTooComplex(
                f"{self.what} is nested too deeply at position {pos}: at most {self.max_depth} "
                "levels are allowed, and each '(', 'not', '[', 'and' and 'or' adds one",
                pos,
            )
        return depth

    def _node(self, node: Filter, depth: int, pos: int) -> tuple[Filter, int]:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise FilterTooComplex(
                f"{self.what} has too many expressions (found at position {pos}): at most "
                f"{self.max_nodes} comparisons and logical operators are allowed",
                pos,
            )
        return node, self._check_depth(depth, pos)

    def _fail(self, message: str, pos: int | None = None) -> NoReturn:
        raise FilterError(message, self.pos if pos is None else pos)


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
