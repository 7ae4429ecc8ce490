"""A request id on every request (kept from ``X-Request-Id`` or made), and one access log line each.

An incoming ``X-Request-Id`` is kept only when it is a UUID (``8-4-4-4-12`` hex digits, or the
same 32 digits without hyphens; RFC 9562), the usual shape of a client's correlation id, and one
that can carry nothing else. Any other value (a token pasted into the wrong header, free text)
is dropped and a fresh id made, so what is logged, stored and echoed back is always one of ours
or a UUID.
"""

from __future__ import annotations

import logging
import os
import re
import time

from flask import Flask, Response, g, request

from fluid_scim.redaction import redact_optional

REQUEST_ID_HEADER = "X-Request-Id"
_VALID_REQUEST_ID = re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}|[0-9A-Fa-f]{32}")


def accepted_request_id(incoming: str | None) -> str | None:
    """The incoming ``X-Request-Id`` when it has the one accepted shape (a UUID), else ``None``."""
    return incoming if incoming and _VALID_REQUEST_ID.fullmatch(incoming) else None


def _new_request_id() -> str:
    """128 random bits as 32 hex digits, the shape of ``uuid.uuid4().hex`` in a quarter of its time."""
    return os.urandom(16).hex()


def register_request_logging(app: Flask) -> None:
    """Keep or create a request id, return it, and log one access line per request."""
    access = logging.getLogger("fluid_scim.access")

    @app.before_request
    def start_request() -> None:
        g.request_id = accepted_request_id(request.headers.get(REQUEST_ID_HEADER)) or _new_request_id()
        g.request_started = time.perf_counter()

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = getattr(g, "request_id", None) or _new_request_id()
        response.headers[REQUEST_ID_HEADER] = request_id
        started = getattr(g, "request_started", None)
        access.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,  # never the query string: filters carry personal data
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
                # A plain value set by authentication: the ORM object may be expired by now.
                "organisation": getattr(g, "organisation_slug", None),
                "user_agent": redact_optional(request.headers.get("User-Agent"), 200),
            },
        )
        return response
