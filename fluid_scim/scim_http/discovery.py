"""Discovery endpoints (RFC 7644 §4): what this server implements, and nothing more."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, request

from fluid_scim.config import Settings
from fluid_scim.errors import NotFound
from fluid_scim.schema import RESOURCE_TYPES, SCHEMAS, ResourceType, Schema
from fluid_scim.scim_http.responses import scim_json
from fluid_scim.services import directory_schema
from fluid_scim.services.representation import list_response

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
DOCUMENTATION_URI = "https://fluid.wlork/docs/scim"


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/ServiceProviderConfig", view_func=service_provider_config, methods=["GET"])
    blueprint.add_url_rule("/Schemas", view_func=schemas, methods=["GET"])
    blueprint.add_url_rule("/Schemas/<path:schema_id>", view_func=schema, methods=["GET"])
    blueprint.add_url_rule("/ResourceTypes", view_func=resource_types, methods=["GET"])
    blueprint.add_url_rule("/ResourceTypes/<type_id>", view_func=resource_type, methods=["GET"])


def _root() -> str:
    return request.url_root.rstrip("/") + "/scim/v2"


def service_provider_config() -> Response:
    settings: Settings = current_app.extensions["fluid_settings"]
    return scim_json(
        {
            "schemas": [SPC_SCHEMA],
            "documentationUri": DOCUMENTATION_URI,
            "patch": {"supported": True},
            "bulk": {
                "supported": True,
                "maxOperations": settings.scim_bulk_max_operations,
                "maxPayloadSize": settings.scim_max_payload_bytes,
            },
            "filter": {"supported": True, "maxResults": settings.scim_max_results},
            "pagination": {
                "cursor": True,
                "index": True,
                "defaultPaginationMethod": "index",
                "defaultPageSize": settings.scim_max_results,
                "maxPageSize": settings.scim_max_results,
            },
            "changePassword": {"supported": False},
            "sort": {"supported": True},
            "etag": {"supported": True},
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
            "meta": {"resourceType": "ServiceProviderConfig", "location": f"{_root()}/ServiceProviderConfig"},
        }
    )


def _resource_types() -> tuple[ResourceType, ...]:
    """The organisation's resource types: its declared custom attributes included."""
    organisation = g.get("organisation")
    if organisation is None:
        return RESOURCE_TYPES
    return (directory_schema.user_resource(organisation), directory_schema.group_resource(organisation))


def _schemas() -> tuple[Schema, ...]:
    """Every schema of the organisation's resource types, each once (its User schema with declared top-level names)."""
    found: dict[str, Schema] = {}
    for resource_type in _resource_types():
        for schema in resource_type.schemas:
            found.setdefault(schema.id, schema)
    standard = {schema.id: index for index, schema in enumerate(SCHEMAS)}
    return tuple(sorted(found.values(), key=lambda schema: standard.get(schema.id, len(standard))))


def _schema_bodies() -> list[dict[str, Any]]:
    return [item.to_scim(f"{_root()}/Schemas/{item.id}") for item in _schemas()]


def schemas() -> Response:
    bodies = _schema_bodies()
    return scim_json(list_response(bodies, total=len(bodies), start_index=1))


def schema(schema_id: str) -> Response:
    for body in _schema_bodies():
        if body["id"].lower() == schema_id.lower():
            return scim_json(body)
    raise NotFound(f"no schema {schema_id!r}")


def _type_bodies() -> list[dict[str, Any]]:
    return [item.to_scim(f"{_root()}/ResourceTypes/{item.id}") for item in _resource_types()]


def resource_types() -> Response:
    bodies = _type_bodies()
    return scim_json(list_response(bodies, total=len(bodies), start_index=1))


def resource_type(type_id: str) -> Response:
    for body in _type_bodies():
        if body["id"].lower() == type_id.lower():
            return scim_json(body)
    raise NotFound(f"no resource type {type_id!r}")
