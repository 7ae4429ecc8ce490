"""Lenient addressing under ``/scim/v2``: endpoint names in any case, and one trailing slash.

RFC 7644 §3.2 names the endpoints ``/Users``, ``/Groups`` …, but URLs are case-sensitive and some
clients, or admins typing a tenant URL, write ``/users`` or add a slash (``/Users/``). Refusing
such a request with 404 fails every user of the directory on every cycle, so the path is put in
its canonical form before routing, and what was tolerated is recorded with the request's other
compatibility rules (its quirks): ``endpoint-case`` and ``trailing-slash``.

Only the endpoint segment right after the prefix is folded; resource ids and schema URNs keep the
case they were sent in (ids are case-exact, RFC 7643 §3.1).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from werkzeug.wrappers import Request

PREFIX = "/scim/v2"
ENDPOINTS = ("Users", "Groups", "Bulk", "Me", "Schemas", "ResourceTypes", "ServiceProviderConfig")
QUIRKS_KEY = "fluid_scim.addressing_quirks"
_CANONICAL = {name.lower(): name for name in ENDPOINTS}

WSGIApp = Any  # a WSGI callable (environ, start_response) -> iterable of bytes


def canonical_path(path: str) -> tuple[str, tuple[str, ...]]:
    """``path`` with its endpoint segment in canonical case and no trailing slash, and what that took."""
    if not path.startswith(PREFIX + "/"):
        return path, ()
    quirks: list[str] = []
    if path.endswith("/") and len(path) > len(PREFIX) + 1:
        path = path[:-1]
        quirks.append("trailing-slash")
    head, sep, rest = path[len(PREFIX) + 1 :].partition("/")
    canonical = _CANONICAL.get(head.lower())
    if canonical is not None and canonical != head:
        path = f"{PREFIX}/{canonical}{sep}{rest}"
        quirks.append("endpoint-case")
    return path, tuple(quirks)


class LenientAddressing:
    """WSGI middleware: rewrites ``PATH_INFO`` to its canonical form and notes the quirks in the environ."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path, quirks = canonical_path(environ.get("PATH_INFO", ""))
        if quirks:
            environ["PATH_INFO"] = path
            environ[QUIRKS_KEY] = quirks
        return self.app(environ, start_response)


def tolerated(request: Request) -> tuple[str, ...]:
    """The addressing quirks of ``request`` (empty when its path was canonical already)."""
    quirks: tuple[str, ...] = request.environ.get(QUIRKS_KEY, ())
    return quirks
