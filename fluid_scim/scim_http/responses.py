"""SCIM JSON responses."""

from __future__ import annotations

from typing import Any

from flask import Response

from fluid_scim.database import json_bytes
from fluid_scim.errors import SCIM_MEDIA_TYPE, ScimError


def scim_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(body), status=status, headers=headers, content_type=SCIM_MEDIA_TYPE)


def scim_error(error: ScimError) -> Response:
    return scim_json(error.body(), error.status, error.headers)
