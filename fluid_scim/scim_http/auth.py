"""Tenant resolution and bearer authentication for everything under ``/scim/v2``.

Order (docs/scim.md "Tenancy and authentication"): unknown organisation -> 404; missing or wrong token -> 401; sync disabled
-> 403. Nothing here calls Vault on the request path: the digest key is cached per process.

Every request that does not authenticate counts as a failure of its client address (and of all
addresses together, :mod:`~fluid_scim.scim_http.rate_limits`); one without a well-formed bearer
token is counted, and refused once over a limit, before the organisation is looked up. Only an
authenticated request counts in its organisation's budget.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from flask import current_app, g, request

from fluid_scim.config import Settings
from fluid_scim.errors import Forbidden, NotFound, SecretStoreUnavailable, ServiceUnavailable, Unauthorized
from fluid_scim.models import Organisation
from fluid_scim.scim_http import rate_limits
from fluid_scim.secrets import SecretStore
from fluid_scim.services import request_context, scim_tokens
from fluid_scim.services.resource_support import user_name_key_of
from fluid_scim.web.tenancy import slug_from_host

log = logging.getLogger(__name__)
MAX_TOKEN_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class ScimClient:
    """Who is calling: the organisation and the fingerprint of the token it presented."""

    organisation: Organisation
    token_fingerprint: str


def authenticate_scim_request() -> None:
    """``before_request`` of the SCIM blueprint: sets ``g.scim_client`` or raises a SCIM error."""
    if g.get("scim_client") is not None:  # authenticated already (an error answered after the view)
        return
    settings: Settings = current_app.extensions["fluid_settings"]
    slug = slug_from_host(request.host, settings.base_domain)
    _refuse_early_without_bearer(slug)
    found = scim_tokens.organisation_and_token(slug=slug, user=_user_to_read()) if slug else None
    known = _known_organisations()
    if found is None:
        known.pop(slug or "", None)
        for name in ("organisation_id", "organisation_slug"):  # none to count it in, whatever a lookup saw before
            g.pop(name, None)
        _failed()
        raise NotFound(f"no Fluid organisation at {request.host!r}; check the tenant URL")
    organisation, token_row = found
    _remember(known, organisation.slug, organisation.id)
    g.organisation = organisation
    # Plain values for what runs after the request's transaction may have ended (recording, metrics).
    g.organisation_id, g.organisation_slug = organisation.id, organisation.slug
    try:
        presented = _bearer_token()
    except Unauthorized:
        _failed()
        raise
    store: SecretStore = current_app.extensions["fluid_secret_store"]
    try:
        key = scim_tokens.digest_key_of(row=token_row, store=store)
    except SecretStoreUnavailable:
        log.error("cannot check SCIM tokens: the digest key could not be loaded from Vault")
        raise ServiceUnavailable("authentication is temporarily unavailable; retry later") from None
    if not scim_tokens.verify_scim_token(row=token_row, presented=presented, key=key):
        _failed()
        raise Unauthorized("the bearer token is not valid for this organisation", error="invalid_token")
    assert token_row is not None  # verify_scim_token is False without a row
    g.scim_client = ScimClient(organisation, token_row.fingerprint)
    context = request_context.current()
    context.token_fingerprint = token_row.fingerprint
    context.actor = request_context.scim_actor(context.dialect, token_row.fingerprint)
    rate_limits.check_organisation(organisation.slug)
    if not organisation.scim_sync_enabled:
        raise Forbidden(
            f"SCIM sync is disabled for organisation {organisation.slug!r}: an admin has switched on"
            " 'Disable SCIM User Sync' in Fluid; nothing was changed"
        )
    scim_tokens.record_token_use(row=token_row, interval_seconds=settings.token_last_used_interval)


_CHANGES_OF_ONE_USER = frozenset({"scim.patch_user", "scim.replace_user", "scim.delete_user"})


def _user_to_read() -> tuple[str, str] | None:
    """The user a GET by id or a ``userName eq`` lookup is about to read, or a PATCH, PUT or DELETE of one
    user to change: read with the organisation and token, in one statement, and used only once the token
    is verified."""
    endpoint = request.endpoint
    if request.method != "GET":
        if endpoint in _CHANGES_OF_ONE_USER:
            user_id = (request.view_args or {}).get("user_id")
            return ("change", user_id) if isinstance(user_id, str) else None
        return None
    if endpoint == "scim.get_user":
        user_id = (request.view_args or {}).get("user_id")
        return ("id", user_id) if isinstance(user_id, str) else None
    if endpoint == "scim.list_users":
        if request.args.get("sortBy") is not None:
            return None  # a sorted list reads its page by the filter, not the lookup by key: nothing to read ahead
        text = request.args.get("filter")
        key = user_name_key_of(text) if text else None
        return ("key", key) if key is not None else None
    return None


def _refuse_early_without_bearer(slug: str | None) -> None:
    """A request without a well-formed bearer token cannot authenticate: count it as a failure now.

    Over a failure limit it is refused here, before any database work; the organisation named by
    the host, if this process has seen it, is kept for the request's status counts.
    """
    try:
        _bearer_token()
    except Unauthorized:
        g.failure_counted = g.without_token = True
        organisation_id = _known_organisations().get(slug or "")
        if organisation_id is not None:
            g.organisation_id, g.organisation_slug = organisation_id, slug
        rate_limits.failed_attempt()


def _failed() -> None:
    """Count this request's failure to authenticate, once."""
    if not g.get("failure_counted"):
        g.failure_counted = True
        rate_limits.failed_attempt()


# Organisations this process has looked up, by slug: a refusal before any lookup still counts in
# its organisation's status. Bounded; a stale entry (an organisation deleted) only loses counts.
KNOWN_AT_MOST = 10_000


def _known_organisations() -> dict[str, uuid.UUID]:
    known: dict[str, uuid.UUID] = current_app.extensions.setdefault("fluid_known_organisations", {})
    return known


def _remember(known: dict[str, uuid.UUID], slug: str, organisation_id: uuid.UUID) -> None:
    if known.get(slug) != organisation_id:
        if len(known) >= KNOWN_AT_MOST:
            known.clear()
        known[slug] = organisation_id


def _bearer_token() -> str:
    header = request.headers.get("Authorization")
    if header is None:
        raise Unauthorized("an 'Authorization: Bearer <secret token>' header is required")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized("the Authorization header must use the Bearer scheme", error="invalid_request")
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized("the bearer token is missing or malformed", error="invalid_request")
    return token
