"""The Content-Security-Policy of the GraphiQL page (development only; production has no IDE).

Strawberry's GraphiQL page loads React and GraphiQL from unpkg.com (with subresource integrity)
and starts them with one inline script. The API policy every other answer carries
(``default-src 'none'``) would leave that page blank, so the page gets its own: scripts from
unpkg.com and the page's own inline scripts (by their SHA-256, nothing else inline), styles from
unpkg.com, requests only to this origin, and still no framing, no base URL, no form targets.
"""

from __future__ import annotations

import base64
import hashlib
import re

IDE_ASSETS = "https://unpkg.com"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def ide_policy(page: str) -> str:
    """The policy for one rendered GraphiQL page: its inline scripts are allowed by hash."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'none'; script-src {IDE_ASSETS} {hashes}; style-src {IDE_ASSETS} 'unsafe-inline'; "
        f"font-src {IDE_ASSETS} data:; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
