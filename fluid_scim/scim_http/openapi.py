"""The OpenAPI 3.1 description of the SCIM surface, served at ``GET /scim/v2/openapi.json``.

User and Group schemas are generated from the attribute registry (:mod:`fluid_scim.schema.definitions`),
so ``/Schemas`` and this document cannot disagree. The checked-in copy, ``openapi.json`` next to this
module, is written by ``python -m fluid_scim.scim_http.openapi > fluid_scim/scim_http/openapi.json``; a test fails
when it drifts from :func:`build_openapi`.
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from typing import Any

from flask import Blueprint, Response

from fluid_scim.messages import BULK_REQUEST_URN, MAX_PATCH_OPERATIONS, PATCH_OP_URN, SEARCH_REQUEST_URN
from fluid_scim.schema import GROUP_RESOURCE, USER_RESOURCE, Attribute, ResourceType
from fluid_scim.schema.definitions import COMMON_ATTRIBUTES
from fluid_scim.scim_http.bulk import BULK_RESPONSE
from fluid_scim.scim_http.errors import ERROR_SCHEMA
from fluid_scim.scim_http.responses import SCIM_MEDIA_TYPE
from fluid_scim.services.representation import LIST_RESPONSE

REQUEST_MEDIA_TYPES = (SCIM_MEDIA_TYPE, "application/json")
SCIM_TYPES = (
    "invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax", "invalidPath", "noTarget",
    "invalidValue", "invalidVers", "sensitive",
    # RFC 9865 (cursor paging)
    "invalidCursor", "expiredCursor",
)
_JSON_TYPES = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "decimal": {"type": "number"},
    "integer": {"type": "integer"},
    "dateTime": {"type": "string", "format": "date-time"},
    "reference": {"type": "string"},
    "binary": {"type": "string", "contentEncoding": "base64"},
}
_STATUS_TEXT = {
    200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified (If-None-Match matched)",
    400: "Bad request: invalidFilter, invalidSyntax, invalidValue, invalidPath, noTarget, mutability, tooMany, ...",
    401: "Missing or invalid bearer token", 403: "SCIM sync is disabled for the organisation",
    404: "Unknown organisation, resource or schema", 409: "uniqueness: the userName or displayName is taken",
    412: "If-Match does not match the current version", 413: "The request body is over the maximum payload size",
    415: "The body is neither application/scim+json nor application/json", 429: "Over a rate limit (see Retry-After)",
    500: "Internal error", 501: "Not implemented", 503: "A dependency is unavailable (see Retry-After)",
}
_ALWAYS = (401, 403, 404, 429, 500, 503)
# startIndex and count: 32-bit signed integers (fluid_scim.messages.clamp_paging refuses others with 400).
_INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}


# -- schemas from the registry ----------------------------------------------------------------------


def attribute_schema(attribute: Attribute) -> dict[str, Any]:
    """The JSON Schema of one attribute's value, with RFC 7643 mutability as readOnly/writeOnly."""
    if attribute.type == "complex":
        value: dict[str, Any] = {
            "type": "object",
            "properties": {sub.name: attribute_schema(sub) for sub in attribute.sub_attributes},
        }
    else:
        value = dict(_JSON_TYPES[attribute.type])
    if attribute.multi_valued:
        value = {"type": "array", "items": value}
    value["description"] = attribute.description
    if attribute.mutability == "readOnly":
        value["readOnly"] = True
    elif attribute.mutability == "writeOnly":
        value["writeOnly"] = True
    return value


def resource_schema(resource_type: ResourceType) -> dict[str, Any]:
    """A User or Group as returned (projection may leave anything out but ``schemas`` and ``id``)."""
    properties: dict[str, Any] = {
        "schemas": {"type": "array", "items": {"type": "string"}, "description": "The schema URIs of the resource."}
    }
    for attribute in (*COMMON_ATTRIBUTES, *resource_type.schema.attributes):
        properties[attribute.name] = attribute_schema(attribute)
    for extension in resource_type.extensions:
        properties[extension.schema.id] = {
            "type": "object",
            "description": extension.schema.description,
            "properties": {attribute.name: attribute_schema(attribute) for attribute in extension.schema.attributes},
        }
    return {
        "type": "object",
        "description": resource_type.description,
        "properties": properties,
        "required": ["schemas", "id"],
    }


def resource_request_schema(resource_type: ResourceType) -> dict[str, Any]:
    """The body of a POST or PUT: the same attributes, with the registry's required ones required."""
    schema = resource_schema(resource_type)
    schema["properties"]["schemas"] = {
        "type": "array",
        "items": {"type": "string"},
        "contains": {"const": resource_type.schema.id},
        "description": "The schema URIs of the resource.",
    }
    schema["required"] = ["schemas", *(item.name for item in resource_type.schema.attributes if item.required)]
    return schema


def _urn_list(urn: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "contains": {"const": urn}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_response(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "RFC 7644 §3.4.2 ListResponse; with RFC 9865 cursors instead of startIndex when paged by cursor.",
        "properties": {
            "schemas": _urn_list(LIST_RESPONSE),
            "totalResults": {"type": "integer", "minimum": 0},
            "itemsPerPage": {"type": "integer", "minimum": 0},
            "startIndex": {"type": "integer", "minimum": 1},
            "nextCursor": {"type": "string"},
            "previousCursor": {"type": "string"},
            "Resources": {"type": "array", "items": item},
        },
        "required": ["schemas", "totalResults", "itemsPerPage", "Resources"],
    }


def _names() -> dict[str, Any]:
    return {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}


def _components() -> dict[str, Any]:
    return {
        "User": resource_schema(USER_RESOURCE),
        "UserRequest": resource_request_schema(USER_RESOURCE),
        "Group": resource_schema(GROUP_RESOURCE),
        "GroupRequest": resource_request_schema(GROUP_RESOURCE),
        "UserListResponse": _list_response(_ref("User")),
        "GroupListResponse": _list_response(_ref("Group")),
        "ResourceListResponse": _list_response({"anyOf": [_ref("User"), _ref("Group")]}),
        "Error": {
            "type": "object",
            "description": "RFC 7644 §3.12 Error.",
            "properties": {
                "schemas": _urn_list(ERROR_SCHEMA),
                "status": {"type": "string", "pattern": "^[1-5][0-9][0-9]$"},
                "scimType": {"type": "string", "enum": list(SCIM_TYPES)},
                "detail": {"type": "string"},
            },
            "required": ["schemas", "status"],
        },
        "PatchOp": {
            "type": "object",
            "description": "RFC 7644 §3.5.2 PatchOp (keys and op match case-insensitively).",
            "properties": {
                "schemas": _urn_list(PATCH_OP_URN),
                "Operations": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_PATCH_OPERATIONS,
                    "items": {
                        "type": "object",
                        "properties": {
                            "op": {"type": "string", "enum": ["add", "replace", "remove"]},
                            "path": {"type": ["string", "null"]},
                            "value": {},
                        },
                        "required": ["op"],
                    },
                },
            },
            "required": ["schemas", "Operations"],
        },
        "SearchRequest": {
            "type": "object",
            "description": "RFC 7644 §3.4.3 SearchRequest, plus the RFC 9865 cursor.",
            "properties": {
                "schemas": _urn_list(SEARCH_REQUEST_URN),
                "attributes": _names(),
                "excludedAttributes": _names(),
                "filter": {"type": "string"},
                "sortBy": {"type": "string"},
                "sortOrder": {"type": "string", "enum": ["ascending", "descending"]},
                "startIndex": _INT32,
                "count": _INT32,
                "cursor": {"type": "string"},
            },
            "required": ["schemas"],
        },
        "BulkRequest": {
            "type": "object",
            "description": "RFC 7644 §3.7 BulkRequest; applied whole or not at all.",
            "properties": {
                "schemas": _urn_list(BULK_REQUEST_URN),
                "failOnErrors": {"type": "integer", "minimum": 0},
                "Operations": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "method": {"type": "string", "enum": ["POST", "PUT", "PATCH", "DELETE"]},
                            "bulkId": {"type": "string"},
                            "version": {"type": "string"},
                            "path": {"type": "string", "minLength": 1},
                            "data": {"type": "object"},
                        },
                        "required": ["method", "path"],
                    },
                },
            },
            "required": ["schemas", "Operations"],
        },
        "BulkResponse": {
            "type": "object",
            "description": "RFC 7644 §3.7.3 BulkResponse: a failed operation carries its Error; those before it 424.",
            "properties": {
                "schemas": _urn_list(BULK_RESPONSE),
                "Operations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "method": {"type": "string"},
                            "bulkId": {"type": "string"},
                            "version": {"type": "string"},
                            "location": {"type": "string"},
                            "status": {"type": "string", "pattern": "^[1-5][0-9][0-9]$"},
                            "response": _ref("Error"),
                        },
                        "required": ["method", "status"],
                    },
                },
            },
            "required": ["schemas", "Operations"],
        },
        "ServiceProviderConfig": {"type": "object", "required": ["schemas"], "properties": {"schemas": _urn_list(
            "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig")}},
        "Schema": {"type": "object", "required": ["schemas", "id", "attributes"], "properties": {
            "schemas": _urn_list("urn:ietf:params:scim:schemas:core:2.0:Schema"),
            "id": {"type": "string"}, "attributes": {"type": "array", "items": {"type": "object"}}}},
        "ResourceType": {"type": "object", "required": ["schemas", "id", "endpoint", "schema"], "properties": {
            "schemas": _urn_list("urn:ietf:params:scim:schemas:core:2.0:ResourceType"),
            "id": {"type": "string"}, "endpoint": {"type": "string"}, "schema": {"type": "string"}}},
        "SchemaListResponse": _list_response(_ref("Schema")),
        "ResourceTypeListResponse": _list_response(_ref("ResourceType")),
    }


# -- paths ------------------------------------------------------------------------------------------------


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    return {SCIM_MEDIA_TYPE: {"schema": schema}}


def _responses(success: dict[int, str | None], *errors: int) -> dict[str, Any]:
    """``success`` maps statuses to a component name (None: no body); every error is an RFC 7644 Error."""
    responses: dict[str, Any] = {}
    for status, body in success.items():
        response: dict[str, Any] = {"description": _STATUS_TEXT[status]}
        if body is not None:
            response["content"] = _content(_ref(body))
        responses[str(status)] = response
    for status in sorted({*errors, *_ALWAYS}):
        responses[str(status)] = {"description": _STATUS_TEXT[status], "content": _content(_ref("Error"))}
    return responses


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {media: {"schema": _ref(name)} for media in REQUEST_MEDIA_TYPES}}


def _param(name: str, where: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "description": description,
            "schema": schema or {"type": "string"}}


PROJECTION = [
    _param("attributes", "query", "Comma-separated attribute names to return (id and schemas always come back)."),
    _param("excludedAttributes", "query", "Comma-separated attribute names to leave out."),
]
LISTING = [
    _param("filter", "query", "An RFC 7644 §3.4.2.2 filter, e.g. userName eq \"alice@example.com\"."),
    _param("sortBy", "query", "The attribute to sort by."),
    _param("sortOrder", "query", "ascending (default) or descending.",
           {"type": "string", "enum": ["ascending", "descending"]}),
    _param("startIndex", "query", "1-based index of the first result (below 1 means 1).", _INT32),
    _param("count", "query", "Page size (negative means 0; capped at filter.maxResults).", _INT32),
    _param("cursor", "query", "RFC 9865: empty for the first page, then nextCursor or previousCursor."),
    *PROJECTION,
]
ID = _param("id", "path", "The resource's id.")
IF_MATCH = _param("If-Match", "header", "Apply only when the resource's ETag matches (else 412).")
IF_NONE_MATCH = _param("If-None-Match", "header", "Answer 304 when the resource's ETag matches.")


def _op(operation_id: str, summary: str, responses: dict[str, Any], *, parameters: list[Any] | None = None,
        body: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary}
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = _body(body)
    operation["responses"] = responses
    return operation


def _resource_paths(noun: str, collection: str) -> dict[str, Any]:
    listed = f"{noun}ListResponse"
    writes = (400, 409, 412, 413, 415)
    patched: dict[int, str | None] = {200: noun, 204: None} if noun == "Group" else {200: noun}
    return {
        f"/{collection}": {
            "get": _op(f"list{collection}", f"List or filter {collection}", _responses({200: listed}, 400),
                       parameters=LISTING),
            "post": _op(f"create{noun}", f"Create a {noun}", _responses({201: noun}, 400, 409, 413, 415),
                        parameters=PROJECTION, body=f"{noun}Request"),
        },
        f"/{collection}/.search": {
            "post": _op(f"search{collection}", f"Search {collection} (SearchRequest)",
                        _responses({200: listed}, 400, 413, 415), body="SearchRequest"),
        },
        f"/{collection}/{{id}}": {
            "get": _op(f"get{noun}", f"Read a {noun}", _responses({200: noun, 304: None}, 400),
                       parameters=[ID, IF_NONE_MATCH, *PROJECTION]),
            "put": _op(f"replace{noun}", f"Replace a {noun}", _responses({200: noun}, *writes),
                       parameters=[ID, IF_MATCH, *PROJECTION], body=f"{noun}Request"),
            "patch": _op(f"patch{noun}", f"Modify a {noun} (PatchOp, atomic)", _responses(patched, *writes),
                         parameters=[ID, IF_MATCH, *PROJECTION], body="PatchOp"),
            "delete": _op(f"delete{noun}", f"Delete a {noun}", _responses({204: None}, 400, 412),
                          parameters=[ID, IF_MATCH]),
        },
    }


def _paths() -> dict[str, Any]:
    not_implemented = _responses({}, 501)
    return {
        **_resource_paths("User", "Users"),
        **_resource_paths("Group", "Groups"),
        "/.search": {
            "post": _op("searchAll", "Search Users then Groups (SearchRequest)",
                        _responses({200: "ResourceListResponse"}, 400, 413, 415), body="SearchRequest"),
        },
        "/Bulk": {
            "post": _op("bulk", "Apply a BulkRequest whole or not at all", _responses({200: "BulkResponse"}, 400, 413, 415),
                        body="BulkRequest"),
        },
        "/ServiceProviderConfig": {
            "get": _op("getServiceProviderConfig", "What this server implements", _responses({200: "ServiceProviderConfig"})),
        },
        "/Schemas": {"get": _op("listSchemas", "The schemas served", _responses({200: "SchemaListResponse"}))},
        "/Schemas/{id}": {
            "get": _op("getSchema", "One schema, by URN", _responses({200: "Schema"}), parameters=[ID]),
        },
        "/ResourceTypes": {
            "get": _op("listResourceTypes", "The resource types served", _responses({200: "ResourceTypeListResponse"})),
        },
        "/ResourceTypes/{id}": {
            "get": _op("getResourceType", "One resource type", _responses({200: "ResourceType"}), parameters=[ID]),
        },
        "/Me": {
            method: _op(f"{method}Me", "/Me is not supported (501)", copy.deepcopy(not_implemented))
            for method in ("get", "post", "put", "patch", "delete")
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                    **_responses({}),
                },
            },
        },
    }


@functools.cache
def _document() -> str:
    return json.dumps(build_openapi(), indent=2, ensure_ascii=False) + "\n"


def build_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the SCIM surface (a fresh dict on every call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fluid-scim SCIM 2.0 API",
            "version": "2.0",
            "description": "RFC 7643/7644 service provider. Every organisation has its own host,"
            " https://{organisation}.fluid.wlork/scim/v2, and its own bearer token.",
        },
        "servers": [{"url": "/scim/v2"}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "The organisation's SCIM secret token."}
            },
            "schemas": _components(),
        },
    }


def serve_openapi() -> Response:
    """``GET /scim/v2/openapi.json``: behind the blueprint's tenancy and bearer authentication."""
    return Response(_document(), content_type="application/json")


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/openapi.json", view_func=serve_openapi, methods=["GET"])


if __name__ == "__main__":
    sys.stdout.write(_document())

