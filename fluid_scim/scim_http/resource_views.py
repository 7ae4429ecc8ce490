"""/Users, /Groups and /.search: thin views over the user and group services."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import Blueprint, Response, g, request

from fluid_scim.errors import InvalidFilter, NotImplementedScim
from fluid_scim.messages import parse_patch_operations, parse_search_request
from fluid_scim.models import Organisation, ScimGroup, ScimUser
from fluid_scim.projection import Projection
from fluid_scim.schema import GROUP_RESOURCE, USER_RESOURCE, ResourceType
from fluid_scim.scim_http import cursors
from fluid_scim.scim_http.representation import list_response, render_group, render_user, render_users
from fluid_scim.scim_http.request_parsing import if_match, json_body, list_query, projection
from fluid_scim.scim_http.responses import scim_json
from fluid_scim.services import groups, reading, request_context, users
from fluid_scim.services.resource_support import ListQuery, etag, etag_matches


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/Users", view_func=list_users, methods=["GET"])
    blueprint.add_url_rule("/Users", view_func=create_user, methods=["POST"])
    blueprint.add_url_rule("/Users/.search", view_func=search_users, methods=["POST"])
    blueprint.add_url_rule("/Users/<user_id>", view_func=get_user, methods=["GET"])
    blueprint.add_url_rule("/Users/<user_id>", view_func=replace_user, methods=["PUT"])
    blueprint.add_url_rule("/Users/<user_id>", view_func=patch_user, methods=["PATCH"])
    blueprint.add_url_rule("/Users/<user_id>", view_func=delete_user, methods=["DELETE"])
    blueprint.add_url_rule("/Groups", view_func=list_groups, methods=["GET"])
    blueprint.add_url_rule("/Groups", view_func=create_group, methods=["POST"])
    blueprint.add_url_rule("/Groups/.search", view_func=search_groups, methods=["POST"])
    blueprint.add_url_rule("/Groups/<group_id>", view_func=get_group, methods=["GET"])
    blueprint.add_url_rule("/Groups/<group_id>", view_func=replace_group, methods=["PUT"])
    blueprint.add_url_rule("/Groups/<group_id>", view_func=patch_group, methods=["PATCH"])
    blueprint.add_url_rule("/Groups/<group_id>", view_func=delete_group, methods=["DELETE"])
    blueprint.add_url_rule("/.search", view_func=search_root, methods=["POST"])
    blueprint.add_url_rule("/Me", view_func=me, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])


def _organisation() -> Organisation:
    return g.organisation


def base_url() -> str:
    return request.url_root.rstrip("/") + "/scim/v2"


def _resource(body: dict[str, Any], status: int, version: int, *, location: str | None = None) -> Response:
    headers = {"ETag": etag(version)}
    if location is not None:
        headers["Location"] = location
    return scim_json(body, status, headers)


def _not_modified(version: int) -> Response | None:
    if etag_matches(request.headers.get("If-None-Match", ""), version):
        return Response(status=304, headers={"ETag": etag(version)})
    return None


def _render_users(items: Sequence[ScimUser], view: Projection) -> list[dict[str, Any]]:
    stored = reading.stored_users(organisation=_organisation(), users=items, projection=view)
    return render_users(stored, base_url=base_url(), projection=view)


def _render_group(group: ScimGroup, view: Projection) -> dict[str, Any]:
    stored = reading.stored_group(organisation=_organisation(), group=group, projection=view)
    return render_group(stored, base_url=base_url(), projection=view)


def _page_body(query: ListQuery, total: int, resources: list[dict[str, Any]]) -> dict[str, Any]:
    """A ListResponse; with RFC 9865 cursors instead of startIndex when the client paged by cursor."""
    body = list_response(resources, total=total, start_index=query.start_index)
    if query.cursor is None:
        return body
    del body["startIndex"]
    offset = query.start_index - 1
    if offset + len(resources) < total and resources:
        body["nextCursor"] = cursors.encode(offset + len(resources), query.key)
    if offset > 0:
        body["previousCursor"] = cursors.encode(max(offset - query.count, 0), query.key)
    return body


# -- Users ----------------------------------------------------------------------------------


def _user_response(user: ScimUser, status: int, view: Projection, *, created: bool = False) -> Response:
    # A user created just now is in no group; one adopted from an import (the service notes it) may be.
    in_no_group = created and "adopted-by-email" not in request_context.current().quirks
    (stored,) = reading.stored_users(organisation=_organisation(), users=[user], projection=view, in_no_group=in_no_group)
    body = render_user(stored, base_url=base_url(), projection=view)
    return _resource(body, status, user.version, location=f"{base_url()}/Users/{user.id}" if created else None)


def list_users() -> Response:
    return _list_users(list_query(request.args), projection(USER_RESOURCE))


def search_users() -> Response:
    body = parse_search_request(json_body())
    return _list_users(list_query(body), projection(USER_RESOURCE, body))


def _list_users(query: ListQuery, view: Projection) -> Response:
    page = users.list_users(organisation=_organisation(), query=query)
    resources = _render_users(page.items, view)
    return scim_json(_page_body(query, page.total, resources))


def create_user() -> Response:
    view = projection(USER_RESOURCE)
    user = users.create_user(organisation=_organisation(), body=json_body())
    return _user_response(user, 201, view, created=True)


def get_user(user_id: str) -> Response:
    view = projection(USER_RESOURCE)
    user = users.get_user(organisation=_organisation(), user_id=user_id)
    return _not_modified(user.version) or _user_response(user, 200, view)


def replace_user(user_id: str) -> Response:
    view = projection(USER_RESOURCE)
    user = users.replace_user(organisation=_organisation(), user_id=user_id, body=json_body(), if_match=if_match())
    return _user_response(user, 200, view)


def patch_user(user_id: str) -> Response:
    view = projection(USER_RESOURCE)
    operations = parse_patch_operations(json_body(), quirks=request_context.current().quirks)
    user = users.patch_user(organisation=_organisation(), user_id=user_id, operations=operations, if_match=if_match())
    return _user_response(user, 200, view)


def delete_user(user_id: str) -> Response:
    users.delete_user(organisation=_organisation(), user_id=user_id, if_match=if_match())
    return Response(status=204)


# -- Groups ---------------------------------------------------------------------------------


def _group_response(group: ScimGroup, status: int, view: Projection, *, created: bool = False) -> Response:
    body = _render_group(group, view)
    return _resource(body, status, group.version, location=f"{base_url()}/Groups/{group.id}" if created else None)


def list_groups() -> Response:
    return _list_groups(list_query(request.args), projection(GROUP_RESOURCE))


def search_groups() -> Response:
    body = parse_search_request(json_body())
    return _list_groups(list_query(body), projection(GROUP_RESOURCE, body))


def _list_groups(query: ListQuery, view: Projection) -> Response:
    page = groups.list_groups(organisation=_organisation(), query=query)
    resources = [_render_group(group, view) for group in page.items]
    return scim_json(_page_body(query, page.total, resources))


def create_group() -> Response:
    view = projection(GROUP_RESOURCE)
    group = groups.create_group(organisation=_organisation(), body=json_body())
    return _group_response(group, 201, view, created=True)


def get_group(group_id: str) -> Response:
    view = projection(GROUP_RESOURCE)
    group = groups.get_group(organisation=_organisation(), group_id=group_id)
    return _not_modified(group.version) or _group_response(group, 200, view)


def replace_group(group_id: str) -> Response:
    view = projection(GROUP_RESOURCE)
    group = groups.replace_group(organisation=_organisation(), group_id=group_id, body=json_body(), if_match=if_match())
    return _group_response(group, 200, view)


def patch_group(group_id: str) -> Response:
    """204 (Entra's preference, and no member list to send) unless the client asked for attributes."""
    asked = bool(request.args.get("attributes") or request.args.get("excludedAttributes"))
    view = projection(GROUP_RESOURCE)
    operations = parse_patch_operations(json_body(), quirks=request_context.current().quirks)
    group = groups.patch_group(
        organisation=_organisation(), group_id=group_id, operations=operations, if_match=if_match(), respond_with_body=asked
    )
    if not asked:
        return Response(status=204, headers={"ETag": etag(group.version)})
    return _group_response(group, 200, view)


def delete_group(group_id: str) -> Response:
    groups.delete_group(organisation=_organisation(), group_id=group_id, if_match=if_match())
    return Response(status=204)


# -- Root search and /Me ------------------------------------------------------------------------


def search_root() -> Response:
    """POST /.search across Users then Groups (RFC 7644 §3.4.3), one ordered, paged result."""
    body = parse_search_request(json_body())
    query = list_query(body)
    listers: list[tuple[ResourceType, Callable[..., Any]]] = [
        (USER_RESOURCE, users.list_users),
        (GROUP_RESOURCE, groups.list_groups),
    ]
    resources: list[dict[str, Any]] = []
    total = 0
    start, wanted = query.start_index, query.count
    refusals: list[InvalidFilter] = []
    for resource_type, lister in listers:
        try:
            counted = lister(organisation=_organisation(), query=ListQuery(query.filter, query.sort_by, query.descending, 1, 0))
        except InvalidFilter as refused:
            # An attribute only one resource type has (userName) simply matches nothing of the other.
            refusals.append(refused)
            continue
        offset = max(start - 1 - total, 0)
        total += counted.total
        if wanted > 0 and offset < counted.total:
            page = lister(
                organisation=_organisation(), query=ListQuery(query.filter, query.sort_by, query.descending, offset + 1, wanted)
            )
            view = projection(resource_type, body, strict=False)
            if resource_type is USER_RESOURCE:
                rendered = _render_users(page.items, view)
            else:
                rendered = [_render_group(item, view) for item in page.items]
            resources.extend(rendered)
            wanted -= len(rendered)
    if len(refusals) == len(listers):
        raise refusals[0]
    return scim_json(_page_body(query, total, resources))


def me() -> Response:
    raise NotImplementedScim("/Me is not supported: the SCIM client authenticates as the organisation, not as a user")
