"""SCIM JSON responses."""

from __future__ import annotations

from typing import Any

from flask import Response

from fluid_scim.database import json_bytes
from fluid_scim.errors import DomainError
from fluid_scim.scim_http.errors import error_body, scim_error_answer

SCIM_MEDIA_TYPE = "application/scim+json"


def scim_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(body), status=status, headers=headers, content_type=SCIM_MEDIA_TYPE)


def scim_error(error: DomainError) -> Response:
    answer = scim_error_answer(error)
    return scim_json(answer.body, answer.status, answer.headers)


def scim_error_status(status: int, detail: str) -> Response:
    """An Error body for an HTTP status no domain error stands for (Werkzeug's own, such as 413)."""
    return scim_json(error_body(status, detail), status)
