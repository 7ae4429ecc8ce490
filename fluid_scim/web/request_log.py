"""A request id on every request (kept from ``X-Request-Id`` or made), and one access log line each."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-Id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def register_request_logging(app: Flask) -> None:
    """Keep or create a request id, return it, and log one access line per request."""
    access = logging.getLogger("fluid_scim.access")

    @app.before_request
    def start_request() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = getattr(g, "request_id", None) or uuid.uuid4().hex
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
                "user_agent": request.user_agent.string[:200] or None,
            },
        )
        return response
