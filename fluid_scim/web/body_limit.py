"""A body without Content-Length (``Transfer-Encoding: chunked``) is held to the same limit as one with it.

Werkzeug refuses a declared Content-Length over ``MAX_CONTENT_LENGTH`` with 413, but a chunked body
is only cut at the limit, and the cut body would be read as if it were whole. This WSGI middleware
reads such a body up to one byte past the limit: over it, the answer is 413 (RFC 7231 §6.5.11) and
nothing else runs; within it, the application sees an ordinary body with its Content-Length. At
most ``limit + 1`` bytes are held in memory.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


class ChunkedBodyLimit:
    def __init__(self, app: WsgiApp, *, limit: int, scim_prefix: str) -> None:
        self.app = app
        self.limit = limit
        self.scim_prefix = scim_prefix

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("CONTENT_LENGTH") or "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return self.app(environ, start_response)
        body = _read(environ["wsgi.input"], self.limit + 1)
        if len(body) > self.limit:
            return self._too_large(environ, start_response)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False
        return self.app(environ, start_response)

    def _too_large(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        detail = f"the request body is over the maximum payload size of {self.limit} bytes; nothing was changed"
        path = environ.get("PATH_INFO", "")
        if path == self.scim_prefix or path.startswith(self.scim_prefix + "/"):
            payload, media_type = {"schemas": [SCIM_ERROR], "status": "413", "detail": detail}, "application/scim+json"
        else:
            payload, media_type = {"error": detail}, "application/json"
        data = json.dumps(payload).encode()
        start_response("413 Request Entity Too Large", [("Content-Type", media_type), ("Content-Length", str(len(data))),
                                                         ("Connection", "close")])
        return [data]


def _read(stream: Any, most: int) -> bytes:
    """Up to ``most`` bytes of ``stream`` (a bounded number of reads of at most 64 KiB each)."""
    parts: list[bytes] = []
    left = most
    for _ in range(most // 65536 + 2):
        if left <= 0:
            break
        part = stream.read(min(left, 65536))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)
