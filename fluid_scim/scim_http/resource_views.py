"""/Users, /Groups and /.search: thin views over the user and group services."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import Blueprint, Response, g, request

from fluid_scim.errors import InvalidFilter, NotImplementedScim
from fluid_scim.messages import parse_patch_operations, parse_search_request
from fluid_scim.models import Organisation, ScimGroup, ScimUser, UserRecord
from fluid_scim.projection import Projection
from fluid_scim.schema import GROUP_RESOURCE, USER_RESOURCE, ResourceType
from fluid_scim.scim_http import cursors
from fluid_scim.scim_http.request_parsing import if_match, json_body, list_query, projection
from fluid_scim.scim_http.responses import scim_json
from fluid_scim.services import directory_schema, groups, kept_renderings, reading, request_context, users
from fluid_scim.services.representation import list_response, render_group, render_users
from fluid_scim.services.resource_support import ListQuery, Page, etag, etag_matches


def register(blueprint: Blueprint) -> None:
    for kind in KINDS:
        for below, name, view, method in _VIEWS:
            blueprint.add_url_rule(
                f"{kind.resource_type.endpoint}{below.format(noun=kind.noun)}",
                endpoint=name.format(noun=kind.noun),
                view_func=functools.partial(view, kind),
                methods=[method],
            )
    blueprint.add_url_rule("/.search", view_func=search_root, methods=["POST"])
    blueprint.add_url_rule("/Me", view_func=me, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])


def _organisation() -> Organisation:
    return g.organisation


def base_url() -> str:
    """``https://{host}/scim/v2``: the scheme and host as the request names them (through a trusted
    proxy, as it forwarded them). Made once per request; the host is ASCII (an organisation's slug is
    a DNS label), so Werkzeug's IRI decoding in ``url_root`` is not needed."""
    made: str | None = g.get("scim_base_url")
    if made is None:
        made = g.scim_base_url = f"{request.scheme}://{request.host}{request.script_root}/scim/v2"
    return made


def _not_modified(version: int) -> Response | None:
    if etag_matches(request.headers.get("If-None-Match", ""), version):
        return Response(status=304, headers={"ETag": etag(version)})
    return None


def _page_body(query: ListQuery, total: int, resources: list[Any]) -> dict[str, Any]:
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


# -- Users and Groups -------------------------------------------------------------------------


def _render_users(items: Sequence[ScimUser | UserRecord], view: Projection, created: bool) -> list[Any]:
    if not created:  # a page's kept records answer their kept JSON
        return kept_renderings.render_records(_organisation(), items, base_url=base_url(), projection=view)
    # A user created just now is in no group; one adopted from an import (the service notes it) may be.
    in_no_group = "adopted-by-email" not in request_context.current().quirks
    stored = reading.stored_users(organisation=_organisation(), users=items, projection=view, in_no_group=in_no_group)
    return render_users(stored, base_url=base_url(), projection=view)


def _render_groups(items: Sequence[ScimGroup], view: Projection, created: bool) -> list[Any]:
    stored = (reading.stored_group(organisation=_organisation(), group=group, projection=view) for group in items)
    return [render_group(group, base_url=base_url(), projection=view) for group in stored]


R = TypeVar("R", ScimUser, ScimGroup)


@dataclass(frozen=True, slots=True)
class _ResourceKind(Generic[R]):
    """What the views of /Users and of /Groups differ by: the resource type, its use cases, its rendering.

    The use cases take the resource's id by the name of the path's variable (``user_id``, ``group_id``).
    """

    resource_type: ResourceType
    noun: str  # "user": the views' names (get_user, list_users) and the path's variable (user_id)
    list_page: Callable[..., Page[Any]]  # the resources to show (users as records)
    create: Callable[..., R]
    read: Callable[..., Any]  # GET: the resource to show (a user as a record)
    replace: Callable[..., R]
    patch: Callable[..., R]
    delete: Callable[..., None]
    # (resources, projection, whether this request created them) -> their SCIM JSON (dicts, or JSON
    # kept between requests as orjson.Fragment: services.kept_renderings)
    render: Callable[[Sequence[Any], Projection, bool], list[Any]]
    # A group PATCH answers 204 (Entra's preference, and no member list to send) unless the client
    # asked for attributes; the service records which.
    patch_body_when_asked: bool = False
    # The organisation's own resource type (its declared attributes, its undeclared-attribute policy).
    of_organisation: Callable[[Organisation], ResourceType] = directory_schema.user_resource

    def type_here(self) -> ResourceType:
        return self.of_organisation(_organisation())


USERS = _ResourceKind(
    USER_RESOURCE, "user", render=_render_users,
    list_page=users.list_users, create=users.create_user, read=users.read_user,
    replace=users.replace_user, patch=users.patch_user, delete=users.delete_user,
)
GROUPS = _ResourceKind(
    GROUP_RESOURCE, "group", render=_render_groups, patch_body_when_asked=True, of_organisation=directory_schema.group_resource,
    list_page=groups.list_groups, create=groups.create_group, read=groups.get_group,
    replace=groups.replace_group, patch=groups.patch_group, delete=groups.delete_group,
)
KINDS: tuple[_ResourceKind[Any], ...] = (USERS, GROUPS)  # a root search lists users, then groups


def _answer(kind: _ResourceKind[R], resource: Any, status: int, view: Projection, *, created: bool = False) -> Response:
    (body,) = kind.render([resource], view, created)
    headers = {"ETag": etag(resource.version)}
    if created:
        headers["Location"] = f"{base_url()}{kind.resource_type.endpoint}/{resource.id}"
    return scim_json(body, status, headers)


def _list(kind: _ResourceKind[R]) -> Response:
    return _page(kind, list_query(request.args), projection(kind.type_here()))


def _search(kind: _ResourceKind[R]) -> Response:
    body = parse_search_request(json_body())
    return _page(kind, list_query(body), projection(kind.type_here(), body))


def _page(kind: _ResourceKind[R], query: ListQuery, view: Projection) -> Response:
    page = kind.list_page(organisation=_organisation(), query=query)
    rendered = kind.render(page.items, view, False)
    return scim_json(_page_body(query, page.total, rendered))


def _create(kind: _ResourceKind[R]) -> Response:
    view = projection(kind.type_here())
    resource = kind.create(organisation=_organisation(), body=json_body(resource=True))
    return _answer(kind, resource, 201, view, created=True)


def _get(kind: _ResourceKind[R], **path: str) -> Response:
    view = projection(kind.type_here())
    resource = kind.read(organisation=_organisation(), **path)
    return _not_modified(resource.version) or _answer(kind, resource, 200, view)


def _replace(kind: _ResourceKind[R], **path: str) -> Response:
    view = projection(kind.type_here())
    resource = kind.replace(organisation=_organisation(), **path, body=json_body(resource=True), if_match=if_match())
    return _answer(kind, resource, 200, view)


def _patch(kind: _ResourceKind[R], **path: str) -> Response:
    asked = bool(request.args.get("attributes") or request.args.get("excludedAttributes"))
    view = projection(kind.type_here())
    operations = parse_patch_operations(json_body(resource=True), quirks=request_context.current().quirks)
    options = {"respond_with_body": asked} if kind.patch_body_when_asked else {}
    resource = kind.patch(organisation=_organisation(), **path, operations=operations, if_match=if_match(), **options)
    if kind.patch_body_when_asked and not asked:
        return Response(status=204, headers={"ETag": etag(resource.version)})
    return _answer(kind, resource, 200, view)


def _delete(kind: _ResourceKind[R], **path: str) -> Response:
    kind.delete(organisation=_organisation(), **path, if_match=if_match())
    return Response(status=204)


# The views of each resource type: (path below its endpoint, view name, verb, method). The view
# names (list_users, get_group …) name each request's operation in its event (scim_http.recording).
_VIEWS: tuple[tuple[str, str, Callable[..., Response], str], ...] = (
    ("", "list_{noun}s", _list, "GET"),
    ("", "create_{noun}", _create, "POST"),
    ("/.search", "search_{noun}s", _search, "POST"),
    ("/<{noun}_id>", "get_{noun}", _get, "GET"),
    ("/<{noun}_id>", "replace_{noun}", _replace, "PUT"),
    ("/<{noun}_id>", "patch_{noun}", _patch, "PATCH"),
    ("/<{noun}_id>", "delete_{noun}", _delete, "DELETE"),
)


# -- Root search and /Me ------------------------------------------------------------------------


def search_root() -> Response:
    """POST /.search across Users then Groups (RFC 7644 §3.4.3), one ordered, paged result."""
    body = parse_search_request(json_body())
    query = list_query(body)
    resources: list[Any] = []
    total = 0
    start, wanted = query.start_index, query.count
    refusals: list[InvalidFilter] = []
    for kind in KINDS:
        try:
            counted = kind.list_page(
                organisation=_organisation(), query=ListQuery(query.filter, query.sort_by, query.descending, 1, 0)
            )
        except InvalidFilter as refused:
            # An attribute only one resource type has (userName) simply matches nothing of the other.
            refusals.append(refused)
            continue
        offset = max(start - 1 - total, 0)
        total += counted.total
        if wanted > 0 and offset < counted.total:
            page = kind.list_page(
                organisation=_organisation(), query=ListQuery(query.filter, query.sort_by, query.descending, offset + 1, wanted)
            )
            rendered = kind.render(page.items, projection(kind.type_here(), body, strict=False), False)
            resources.extend(rendered)
            wanted -= len(rendered)
    if len(refusals) == len(KINDS):
        raise refusals[0]
    return scim_json(_page_body(query, total, resources))


def me() -> Response:
    raise NotImplementedScim("/Me is not supported: the SCIM client authenticates as the organisation, not as a user")
