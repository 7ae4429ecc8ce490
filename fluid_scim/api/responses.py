"""SCIM JSON responses."""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Response

from fluid_scim.errors import SCIM_MEDIA_TYPE, ScimError


def scim_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status=status, headers=headers, content_type=SCIM_MEDIA_TYPE)


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON: orjson (several times faster on a page of 100 users), or the standard
    library for what orjson refuses (an integer beyond 64 bits that a client stored)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def scim_error(error: ScimError) -> Response:
    return scim_json(error.body(), error.status, error.headers)
