"""Tenant resolution and bearer authentication for everything under ``/scim/v2``.

Order (docs/scim.md "Tenancy and authentication"): unknown organisation -> 404; missing or wrong token -> 401; sync disabled
-> 403. Nothing here calls Vault on the request path: the digest key is cached per process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app, g, request

from fluid_scim.config import Settings
from fluid_scim.errors import Forbidden, NotFound, SecretStoreUnavailable, ServiceUnavailable, Unauthorized
from fluid_scim.models import Organisation
from fluid_scim.scim_http import rate_limits
from fluid_scim.secrets import SecretStore
from fluid_scim.services import request_context, scim_tokens
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
    settings: Settings = current_app.extensions["fluid_settings"]
    slug = slug_from_host(request.host, settings.base_domain)
    found = scim_tokens.organisation_and_token(slug=slug) if slug else None
    if found is None:
        raise NotFound(f"no Fluid organisation at {request.host!r}; check the tenant URL")
    organisation, token_row = found
    g.organisation = organisation
    # Plain values for what runs after the request's transaction may have ended (recording, metrics).
    g.organisation_id, g.organisation_slug = organisation.id, organisation.slug
    presented = _bearer_token()
    store: SecretStore = current_app.extensions["fluid_secret_store"]
    try:
        key = store.token_digest_key()
    except SecretStoreUnavailable:
        log.error("cannot check SCIM tokens: the digest key could not be loaded from Vault")
        raise ServiceUnavailable("authentication is temporarily unavailable; retry later") from None
    if not scim_tokens.verify_scim_token(row=token_row, presented=presented, key=key):
        rate_limits.failed_attempt(organisation.slug)
        raise Unauthorized("the bearer token is not valid for this organisation", error="invalid_token")
    assert token_row is not None  # verify_scim_token is False without a row
    g.scim_client = ScimClient(organisation, token_row.fingerprint)
    request_context.current().token_fingerprint = token_row.fingerprint
    if not organisation.scim_sync_enabled:
        raise Forbidden(
            f"SCIM sync is disabled for organisation {organisation.slug!r}: an admin has switched on"
            " 'Disable SCIM User Sync' in Fluid; nothing was changed"
        )
    scim_tokens.record_token_use(row=token_row, interval_seconds=settings.token_last_used_interval)


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
