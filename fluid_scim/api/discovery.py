"""Discovery endpoints (RFC 7644 §4)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from fluid_scim.api.responses import scim_json

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
DOCUMENTATION_URI = "https://fluid.wlork/docs/scim"


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/ServiceProviderConfig", view_func=service_provider_config, methods=["GET"])


def service_provider_config() -> Response:
    """What this server implements, and nothing more (RFC 7643 §5)."""
    return scim_json(_service_provider_config(request.url_root.rstrip("/")))


def _service_provider_config(root: str) -> dict[str, Any]:
    location = f"{root}/scim/v2/ServiceProviderConfig"
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": DOCUMENTATION_URI,
        "patch": {"supported": False},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": False, "maxResults": 0},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "The organisation's SCIM secret token, sent as 'Authorization: Bearer <token>'",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "documentationUri": DOCUMENTATION_URI,
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": location},
    }
