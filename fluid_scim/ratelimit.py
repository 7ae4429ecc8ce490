"""Rate limits: per organisation on the SCIM surface, and on failed bearer attempts.

Counters live in flask-limiter's storage: in process memory by default (each gunicorn worker
counts on its own), in Redis when ``FLUID_RATELIMIT_STORAGE_URL`` is set (shared by every worker on
every host). A limited request is a 429 SCIM error with ``Retry-After``.

Failed bearer attempts are counted per organisation and client address and answered 429 once over
``FLUID_AUTH_FAILURE_LIMIT``; the right token is checked first and never counted, so it is never
locked out by someone else's guessing.
"""

from __future__ import annotations

import math
import time

from flask import Blueprint, Flask, current_app, request
from flask_limiter import Limiter
from limits import parse_many

from fluid_scim.config import Settings
from fluid_scim.errors import ScimError
from fluid_scim.tenancy import slug_from_host


class TooManyRequests(ScimError):
    """429 (RFC 6585): over a rate limit; ``Retry-After`` says when to come back."""

    status = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(retry_after, 1))})


def _settings() -> Settings:
    return current_app.extensions["fluid_settings"]


def _organisation_key() -> str:
    return slug_from_host(request.host, _settings().base_domain) or f"address:{request.remote_addr}"


def _organisation_limit() -> str:
    settings = _settings()
    return dict(settings.ratelimit_overrides).get(_organisation_key(), settings.ratelimit_default)


def register_rate_limits(app: Flask, scim_blueprint: Blueprint) -> None:
    """One limiter per application (its limits are registered by blueprint name)."""
    settings: Settings = app.extensions["fluid_settings"]
    # No rate-limit headers of its own: they would overwrite the Retry-After of other answers (503).
    limiter = Limiter(key_func=_organisation_key, default_limits=[], headers_enabled=False, strategy="moving-window")
    app.config["RATELIMIT_STORAGE_URI"] = settings.ratelimit_storage_url
    app.config["RATELIMIT_STORAGE_OPTIONS"] = {"socket_timeout": 2} if settings.ratelimit_storage_url.startswith("redis") else {}
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True  # a storage outage must not stop provisioning
    limiter.limit(_organisation_limit, key_func=_organisation_key, scope="scim", error_message=_limited_message)(scim_blueprint)
    limiter.init_app(app)
    app.extensions["fluid_limiter"] = limiter


def _limited_message() -> str:
    return (
        f"too many requests for organisation {_organisation_key()!r} (limit {_organisation_limit()});"
        " retry after the time in Retry-After"
    )


def failed_attempt(organisation_slug: str) -> None:
    """Count a failed bearer attempt; over the limit, refuse it with 429 instead of 401."""
    settings = _settings()
    storage_limiter = current_app.extensions["fluid_limiter"].limiter
    address = request.remote_addr or "unknown"
    for item in parse_many(settings.auth_failure_limit):
        if not storage_limiter.hit(item, "auth-failure", organisation_slug, address):
            stats = storage_limiter.get_window_stats(item, "auth-failure", organisation_slug, address)
            retry = math.ceil(stats.reset_time - time.time())
            raise TooManyRequests(
                "too many failed authentication attempts from this address; check the secret token", retry_after=retry
            )


def retry_after() -> int:
    """Seconds until the breached limit of this request lets a request through again."""
    limit = current_app.extensions["fluid_limiter"].current_limit
    if limit is None:
        return 1
    return max(math.ceil(limit.reset_at - time.time()), 1)
