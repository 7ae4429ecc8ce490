"""POST /Bulk (RFC 7644 §3.7), applied whole or not at all.

Operations run in order in one transaction, with ``bulkId:`` references resolved to the ids created
earlier in the request: in an operation's path, and in the values that name a resource
(:mod:`~fluid_scim.scim_http.bulk_references`); elsewhere "bulkId:x" is data and kept as sent.
The first failing operation rolls everything back: it carries its error, the operations before it
carry 424 (Failed Dependency: undone because another failed), and the rest are not run.
``failOnErrors`` is accepted; with all-or-nothing semantics the first error ends the request
whatever its value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, g

from fluid_scim.config import Settings
from fluid_scim.errors import Conflict, DomainError, InvalidValue, PayloadTooLarge
from fluid_scim.messages import parse_bulk_request, parse_patch_operations
from fluid_scim.models import Organisation, ScimGroup, ScimUser
from fluid_scim.patch import Operation
from fluid_scim.scim_http import bulk_references
from fluid_scim.scim_http.errors import error_body, scim_error_answer
from fluid_scim.scim_http.request_parsing import json_body
from fluid_scim.scim_http.resource_views import base_url
from fluid_scim.scim_http.responses import scim_json
from fluid_scim.services import groups, request_context, transaction, users
from fluid_scim.services.resource_support import etag

BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
_PATH = re.compile(r"^/(Users|Groups)(?:/([^/]+))?$")
_REFERENCE = re.compile(r"^bulkId:(.+)$")
FAILED_DEPENDENCY = 424  # RFC 4918 §11.4
UNDONE = "undone: a later operation of this Bulk request failed, and Bulk requests apply whole or not at all"


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/Bulk", view_func=bulk, methods=["POST"])


def bulk() -> Response:
    settings: Settings = current_app.extensions["fluid_settings"]
    body = json_body(resource=True)
    _check_count(body, settings.scim_bulk_max_operations)
    request_body = parse_bulk_request(body)
    operations: list[dict[str, Any]] = request_body["Operations"]
    results: list[dict[str, Any]] = []
    created: dict[str, str] = {}
    try:
        with transaction.all_or_nothing():
            for index, operation in enumerate(operations):
                try:
                    results.append(_run(operation, created))
                except DomainError as error:
                    results.append(_failure(operation, error, index))
                    raise
    except DomainError:
        request_context.current().changes_undone(f"rolled back: {results[-1]['response']['detail']}")
        for result in results[:-1]:
            result.pop("location", None)
            result.pop("version", None)
            result["status"] = str(FAILED_DEPENDENCY)
            result["response"] = error_body(FAILED_DEPENDENCY, UNDONE)
    return scim_json({"schemas": [BULK_RESPONSE], "Operations": results})


def _check_count(body: dict[str, Any], maximum: int) -> None:
    """RFC 7644 §3.7.4: more operations than ``maxOperations`` is 413 naming the limit, before any is validated."""
    operations = next((value for key, value in body.items() if key.lower() == "operations"), None)
    if isinstance(operations, list) and len(operations) > maximum:
        raise PayloadTooLarge(
            f"the number of operations ({len(operations):,}) exceeds the maxOperations ({maximum}); "
            "nothing was changed, send them in several Bulk requests"
        )


def _failure(operation: dict[str, Any], error: DomainError, index: int) -> dict[str, Any]:
    answer = scim_error_answer(error)
    body = answer.body
    body["detail"] = f"Operations[{index}]: {body['detail']}"
    result = {"method": operation["method"], "status": body["status"], "response": body}
    if operation.get("bulkId"):
        result["bulkId"] = operation["bulkId"]
    return result


def _created(created: dict[str, str]) -> Callable[[str], str]:
    """The id created earlier in the request for a bulkId; naming none is a 409 (RFC 7644 §3.7.2)."""

    def resolve(bulk_id: str) -> str:
        if bulk_id not in created:
            raise Conflict(f"'bulkId:{bulk_id}' refers to no resource created earlier in this request")
        return created[bulk_id]

    return resolve


def _resolve_path_id(raw_id: str, created: dict[str, str]) -> str:
    match = _REFERENCE.match(raw_id)
    return _created(created)(match.group(1)) if match else raw_id


@dataclass(frozen=True, slots=True)
class _Target:
    """What one operation names: the resource (``bulkId:`` references resolved), its data and version."""

    organisation: Organisation
    resource_id: str | None
    data: dict[str, Any]
    version: str | None

    @property
    def existing_id(self) -> str:
        # Only PUT, PATCH and DELETE use it, and _run lets them through only with an id in the path.
        assert self.resource_id is not None
        return self.resource_id


def _patch_operations(target: _Target) -> list[Operation]:
    return parse_patch_operations(target.data, quirks=request_context.current().quirks)


# What each (resource type, method) of an operation runs: the use case a request to the same
# endpoint runs. A group PATCH is recorded as answered 200, as its result in the Bulk response says.
_DISPATCH: dict[tuple[str, str], Callable[[_Target], ScimUser | ScimGroup | None]] = {
    ("Users", "POST"): lambda target: users.create_user(organisation=target.organisation, body=target.data),
    ("Users", "PUT"): lambda target: users.replace_user(
        organisation=target.organisation, user_id=target.existing_id, body=target.data, if_match=target.version
    ),
    ("Users", "PATCH"): lambda target: users.patch_user(
        organisation=target.organisation, user_id=target.existing_id, operations=_patch_operations(target),
        if_match=target.version,
    ),
    ("Users", "DELETE"): lambda target: users.delete_user(
        organisation=target.organisation, user_id=target.existing_id, if_match=target.version
    ),
    ("Groups", "POST"): lambda target: groups.create_group(organisation=target.organisation, body=target.data),
    ("Groups", "PUT"): lambda target: groups.replace_group(
        organisation=target.organisation, group_id=target.existing_id, body=target.data, if_match=target.version
    ),
    ("Groups", "PATCH"): lambda target: groups.patch_group(
        organisation=target.organisation, group_id=target.existing_id, operations=_patch_operations(target),
        if_match=target.version, respond_with_body=True,
    ),
    ("Groups", "DELETE"): lambda target: groups.delete_group(
        organisation=target.organisation, group_id=target.existing_id, if_match=target.version
    ),
}


def _run(operation: dict[str, Any], created: dict[str, str]) -> dict[str, Any]:
    method: str = operation["method"].upper()
    match = _PATH.match(operation.get("path") or "")
    if match is None:
        raise InvalidValue(f"path must be /Users, /Groups, /Users/{{id}} or /Groups/{{id}}; got {operation.get('path')!r}")
    collection, raw_id = match.groups()
    resource_id = _resolve_path_id(raw_id, created) if raw_id else None
    data = bulk_references.resolve_data(collection, method, operation.get("data") or {}, _created(created))
    target = _Target(g.organisation, resource_id, data, operation.get("version"))
    resource = _use_case(operation, collection, method, resource_id)(target)
    if method == "DELETE":
        return {"method": "DELETE", "status": "204", "location": f"{base_url()}/{collection}/{resource_id}"}
    assert resource is not None  # only a DELETE returns nothing
    if method == "POST":
        created[operation["bulkId"]] = resource.id
        return _success(operation, collection, resource, "201")
    return _success(operation, collection, resource, "200")


def _use_case(
    operation: dict[str, Any], collection: str, method: str, resource_id: str | None
) -> Callable[[_Target], ScimUser | ScimGroup | None]:
    """The entry of :data:`_DISPATCH` for the operation: a POST names a collection, every other method one resource."""
    on_collection = resource_id is None
    if method == "POST" and on_collection and not operation.get("bulkId"):
        raise InvalidValue("a POST operation needs a bulkId")
    use_case = _DISPATCH.get((collection, method))
    if use_case is None or on_collection != (method == "POST"):
        raise InvalidValue(f"{method} is not allowed on {operation.get('path')}")
    return use_case


def _success(operation: dict[str, Any], collection: str, resource: Any, status: str) -> dict[str, Any]:
    result = {
        "method": operation["method"].upper(),
        "location": f"{base_url()}/{collection}/{resource.id}",
        "version": etag(resource.version),
        "status": status,
    }
    if operation.get("bulkId"):
        result["bulkId"] = operation["bulkId"]
    return result
