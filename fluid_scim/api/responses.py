"""SCIM JSON responses."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from fluid_scim.errors import SCIM_MEDIA_TYPE, ScimError


def scim_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(payload, status=status, headers=headers, content_type=SCIM_MEDIA_TYPE)


def scim_error(error: ScimError) -> Response:
    return scim_json(error.body(), error.status, error.headers)
