"""What text Fluid stores and compares: the control-character rule and the key of a unique name.

One rule for every string a client or an admin hands Fluid (SCIM attribute values at any depth,
undeclared values kept as received, PATCH values, filter literals, GraphQL arguments, CLI input):

* refused everywhere: the C0 controls except TAB, LF and CR (U+0000 to U+0008, U+000B, U+000C,
  U+000E to U+001F), DEL (U+007F) and unpaired surrogates (U+D800 to U+DFFF, not Unicode text).
  PostgreSQL cannot store a NUL at all; the others have no printable meaning in a directory, and
  some (ESC) drive the terminal that shows a log or a CLI listing.
* allowed in free text: TAB, LF and CR, which real directories send (a postal address's
  ``formatted`` and ``streetAddress`` hold line breaks), and every other character, including the
  Unicode format characters (zero-width joiners are part of correctly written names in many scripts)
  and the C1 controls U+0080 to U+009F: text mis-decoded from Windows-1252 upstream carries them
  (U+0092 for a typographic apostrophe), and refusing it would fail that person in the identity
  provider on every cycle for a value Fluid can store and show.
* refused in one-line names (``userName``, ``displayName``, ``externalId``, group and organisation
  names): TAB, LF and CR as well.

:func:`name_key` is the uniqueness key of a case-insensitive name (a User's ``userName``, a Group's
``displayName``): what two names that look the same share.

Pure: no web framework, no database.
"""

from __future__ import annotations

import re
import unicodedata

from fluid_scim.errors import InvalidValue

#: The characters refused in every string (see the module docstring).
REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
#: The characters refused in a one-line name: :data:`REFUSED` and TAB, LF, CR.
REFUSED_IN_NAMES = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")

_NAMES = {0x00: "NUL", 0x09: "TAB", 0x0A: "LF", 0x0D: "CR", 0x1B: "ESC", 0x7F: "DEL", 0x9B: "CSI"}


def refused_character(text: str, *, one_line: bool = False) -> str | None:
    """The first character of ``text`` the rule refuses, or None."""
    found = (REFUSED_IN_NAMES if one_line else REFUSED).search(text)
    return found.group() if found else None


def describe(char: str) -> str:
    """``U+0000 (NUL)``: a refused character as a person reads it in an error detail."""
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return f"an unpaired surrogate U+{code:04X}, which is not valid Unicode text"
    name = _NAMES.get(code)
    return f"the control character U+{code:04X}" + (f" ({name})" if name else "")


def refusal(text: str, label: str, *, one_line: bool = False) -> str | None:
    """The detail that refuses ``text`` as the value of ``label``, or None when the rule allows it."""
    char = refused_character(text, one_line=one_line)
    if char is None:
        return None
    return f"'{label}' must not contain {describe(char)}"


def scrubbed(text: str) -> str:
    """``text`` with every character the rule refuses replaced by U+FFFD: for what Fluid writes down
    itself (an error detail quoting the caller, a request's path in its history), never for values."""
    return REFUSED.sub("\ufffd", text)


def check_text(text: str, label: str, *, one_line: bool = False) -> str:
    """``text`` itself when the rule allows it; else :class:`InvalidValue` naming ``label`` and the character."""
    detail = refusal(text, label, one_line=one_line)
    if detail is not None:
        raise InvalidValue(detail)
    return text


# -- the key of a unique name ---------------------------------------------------------------------


def _is_format(char: str) -> bool:
    return unicodedata.category(char) == "Cf"


def name_key(text: str) -> str:
    """The uniqueness key of a caseExact=false name: what two names that look alike share.

    Format characters (Unicode category Cf: U+200B zero-width space, U+200C/U+200D zero-width
    (non-)joiner, U+2060 word joiner, U+FEFF, the soft hyphen U+00AD, the bidirectional controls)
    are dropped, the rest is NFKC-normalised (a full-width letter, a ligature, 'e' + combining
    accent and 'é' become one), white space at either end is trimmed, and the result is lower-cased.
    So "alice", "Alice ", "al\\u200bice" and its full-width form are one key and cannot be two users.
    """
    visible = "".join(char for char in text if not _is_format(char)) if not text.isascii() else text
    return unicodedata.normalize("NFKC", visible).strip().lower()


#: A key :func:`name_key` never returns (it holds U+2060, a format character :func:`name_key` drops):
#: what a stored name that lost its key to a look-alike carries, see ``migrations/versions/0007``.
DISPLACED_MARK = "\u2060"
