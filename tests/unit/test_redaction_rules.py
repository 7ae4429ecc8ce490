"""The shortcuts of fluid_scim.redaction (one scan for every clue, hex runs skipped) mask exactly what
running every rule on every text masks."""

import re
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from fluid_scim import redaction

_EVERY_RUN = re.compile(r"(?<![A-Za-z0-9\-._~+!#$%*^|])[A-Za-z0-9\-._~+!#$%*^|]{32,}(?![A-Za-z0-9\-._~+!#$%*^|])")


def _every_rule(text: str) -> str:
    """Each pattern whose clue is present, then every run of 32 run characters through _opaque."""
    folded = text.lower()
    for pattern, clues in zip(redaction._PATTERNS, redaction._CLUES, strict=True):
        if any(clue in folded for clue in clues):
            text = pattern.sub(redaction._mask, text)
    return _EVERY_RUN.sub(redaction._opaque, text) if len(text) >= 32 else text


_PIECES = st.one_of(
    st.text(alphabet="abcdef0123456789-", min_size=1, max_size=40),  # hex runs, UUID-like
    st.text(alphabet="ABCXYZghxyz0189-._~+!#$%*^|", min_size=1, max_size=40),
    st.sampled_from(["/", " ", "=", ":", '"', ",", ";", "&", "?", "{", "}", "Bearer ", "basic ", "fscim_", "eyJ", "hvs.",
                     "s.", "token=", '"password": "', "api_key=", "Secret: ", "/scim/v2/Users/"]),
    st.builds(lambda: str(uuid.uuid4())),
)


@settings(max_examples=3000)
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_the_shortcuts_mask_what_every_rule_masks(text: str) -> None:
    assert redaction._redacted(text) == _every_rule(text)


def test_a_path_with_a_uuid_is_kept_and_a_random_secret_in_it_is_not() -> None:
    path = f"/scim/v2/Users/{uuid.uuid4()}"
    assert redaction.redact(path) == path
    secret = "Qx7" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tV9wX1yZ"
    assert redaction.redact(f"/scim/v2/Users/{secret}") == "/scim/v2/Users/[REDACTED]"
    assert redaction.redact(f"{uuid.uuid4().hex}{uuid.uuid4().hex}") != "[REDACTED]"  # a digest stays
