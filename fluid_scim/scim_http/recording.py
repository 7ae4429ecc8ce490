"""Every SCIM request of a known organisation counts in its status and leaves a provisioning event,
but for refusals of unauthenticated requests and 429s, of which only a sample are events.

A change wrote its event in its own transaction; reads, refusals and failures hand theirs, and
every request its status counts, to the process's :class:`~fluid_scim.services.recorder.Recorder`.
A refusal before authentication (no token, a wrong one, over a rate limit) is counted in the status
of the organisation its host names, each one, but written as an event only for the first
``FLUID_REFUSAL_EVENTS_PER_MINUTE`` per organisation, status and minute (per worker): a flood of
them cannot fill the history.
"""

from __future__ import annotations

import json
import logging
import time

from flask import Response, current_app, g, request

from fluid_scim.models.types import utcnow
from fluid_scim.redaction import redact_optional
from fluid_scim.scim_http import addressing
from fluid_scim.services import audit, request_context, transaction
from fluid_scim.services.recorder import recorder_of
from fluid_scim.services.request_context import RequestContext
from fluid_scim.web import metrics

log = logging.getLogger(__name__)

# What a request set out to do, by view; successful changes record their own, past-tense operation.
_INTENT = {
    "list_users": "users.list",
    "search_users": "users.search",
    "create_user": "user.create",
    "get_user": "user.read",
    "replace_user": "user.replace",
    "patch_user": "user.update",
    "delete_user": "user.delete",
    "list_groups": "groups.list",
    "search_groups": "groups.search",
    "create_group": "group.create",
    "get_group": "group.read",
    "replace_group": "group.replace",
    "patch_group": "group.update",
    "delete_group": "group.delete",
    "search_root": "resources.search",
    "bulk": "bulk",
    "me": "me.read",
    "service_provider_config": "discovery.read",
    "schemas": "discovery.read",
    "schema": "discovery.read",
    "resource_types": "discovery.read",
    "resource_type": "discovery.read",
}
_QUERIES = {"list_users", "search_users", "list_groups", "search_groups", "search_root"}


def context_of_request() -> RequestContext:
    """The context of the SCIM request being handled: an identity provider acting, known by its token once verified."""
    current = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, not six
    user_agent = current.headers.get("User-Agent", "")
    dialect = request_context.dialect_of(user_agent, current.query_string.decode("latin-1"))
    return RequestContext(
        kind="scim",
        actor=request_context.scim_actor(dialect),  # with the token's fingerprint once it is verified
        request_id=g.get("request_id"),
        user_agent=user_agent or None,
        dialect=dialect,
        method=current.method,
        path=current.path,
        quirks=set(addressing.tolerated(current)),
    )


def start_request() -> None:
    """``before_request`` of the SCIM blueprint, the first of its hooks: :func:`finish_request` ends what it begins.

    It runs before authentication, so that refusals are recorded too.
    """
    request_context.begin(context_of_request())


def finish_request(response: Response) -> Response:
    """``after_request``: record what no service recorded (reads, refusals, failures), then count it."""
    context = request_context.current()
    try:
        _record(response, context)
        return response
    finally:
        request_context.end(context)


def _record(response: Response, context: RequestContext) -> None:
    organisation_id = g.get("organisation_id")
    view = (request.endpoint or "").rpartition(".")[2]
    metrics.observe(
        organisation=g.get("organisation_slug", "unknown"),
        operation=_INTENT.get(view, "unknown"),
        status=response.status_code,
        seconds=time.perf_counter() - g.get("request_started", time.perf_counter()),
    )
    if organisation_id is None:
        return
    status = response.status_code
    scim_type, detail = _error(response) if status >= 400 else (None, _success_detail(context))
    detail = redact_optional(detail)  # it may echo what the caller sent (a path, a filter): kept in the status too
    recorder = recorder_of(current_app)
    at = utcnow()
    event = None
    # Refusals of unauthenticated requests and 429s are counted each, but only a sample is kept as events.
    sampled = g.get("scim_client") is None or status == 429
    if (not context.recorded or status >= 400 or context.detail) and (
        not sampled or recorder.in_sample(organisation_id, status, at)
    ):
        resource_type, resource_id = _resource_of(view, status, context)
        event = audit.event_values(
            organisation_id, context, _INTENT.get(view, "unknown"), resource_type, resource_id, [], status, scim_type, detail
        )
        context.recorded = True
    if recorder.interval <= 0:
        transaction.rollback()  # written in the request: end the request's own transaction first
    if status < 400 and context.undeclared:
        recorder.sighted(organisation_id, context.undeclared, at)  # the changes that kept them are committed
    without_token = g.get("without_token", False) and g.get("scim_client") is None
    recorder.add(
        organisation_id, status=status, is_query=view in _QUERIES, detail=detail, at=at, event=event, without_token=without_token
    )


def _success_detail(context: RequestContext) -> str | None:
    """The note of a successful request: a Bulk rollback's, or what a query by a unique name looked for and
    whether it found it (``request_context.Lookup``)."""
    if context.detail is None and context.lookup is not None:
        return context.lookup.describe()
    return context.detail


def _resource_of(view: str, status: int, context: RequestContext) -> tuple[str | None, str | None]:
    """The event's resource: the one the path names, or a group a query found by its name.

    A user found by its userName is left out, so that a user's trail does not list every lookup of it.
    """
    lookup = context.lookup
    if status < 400 and lookup is not None and lookup.resource_type == "Group" and lookup.found_id is not None:
        return "Group", lookup.found_id
    return _resource(view)


def _error(response: Response) -> tuple[str | None, str | None]:
    try:
        body = json.loads(response.get_data())
        return body.get("scimType"), body.get("detail")
    except (ValueError, AttributeError):
        return None, None


def _resource(view: str) -> tuple[str | None, str | None]:
    args = request.view_args or {}
    if "user_id" in args:
        return "User", args["user_id"]
    if "group_id" in args:
        return "Group", args["group_id"]
    if "user" in view:
        return "User", None
    if "group" in view:
        return "Group", None
    return None, None
