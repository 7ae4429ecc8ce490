"""Rate limits: per organisation on the SCIM surface, and on failed bearer attempts.

Counters live in a ``limits`` storage (moving windows): in process memory by default (each
gunicorn worker counts on its own), in Redis when ``FLUID_RATELIMIT_STORAGE_URL`` is set (shared by
every worker on every host). A limited request is a 429 SCIM error with ``Retry-After``; when the
storage is unreachable, requests are let through (and a warning logged).

Failed bearer attempts are counted per organisation and client address and answered 429 once over
``FLUID_AUTH_FAILURE_LIMIT``; the right token is checked first and never counted, so it is never
locked out by someone else's guessing.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from fluid_scim.config import Settings
from fluid_scim.errors import TooManyRequests
from fluid_scim.web.tenancy import slug_from_host

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimits:
    """The parsed limits of one application and the storage counting them (``limits``, moving window)."""

    strategy: MovingWindowRateLimiter
    default: tuple[RateLimitItem, ...]
    overrides: dict[str, tuple[RateLimitItem, ...]]
    auth_failures: tuple[RateLimitItem, ...]

    def for_key(self, key: str) -> tuple[RateLimitItem, ...]:
        return self.overrides.get(key, self.default)


def register_rate_limits(app: Flask) -> None:
    settings: Settings = app.extensions["fluid_settings"]
    url = settings.ratelimit_storage_url
    storage = storage_from_string(url, **({"socket_timeout": 2} if url.startswith("redis") else {}))
    app.extensions["fluid_rate_limits"] = RateLimits(
        strategy=MovingWindowRateLimiter(storage),
        default=tuple(parse_many(settings.ratelimit_default)),
        overrides={slug: tuple(parse_many(limit)) for slug, limit in settings.ratelimit_overrides},
        auth_failures=tuple(parse_many(settings.auth_failure_limit)),
    )


def _limits() -> RateLimits:
    limits: RateLimits = current_app.extensions["fluid_rate_limits"]
    return limits


def _organisation_key() -> str:
    settings: Settings = current_app.extensions["fluid_settings"]
    return slug_from_host(request.host, settings.base_domain) or f"address:{request.remote_addr}"


def check_scim_request() -> None:
    """``before_request`` of the SCIM blueprint, before any database work (none for a refused request)."""
    key = _organisation_key()
    limits = _limits()
    for item in limits.for_key(key):
        if not _hit(limits.strategy, item, "scim", key):
            raise TooManyRequests(
                f"too many requests for organisation {key!r} (limit {item});"
                " retry after the time in Retry-After",
                retry_after=_retry_after(limits.strategy, item, "scim", key),
            )


def failed_attempt(organisation_slug: str) -> None:
    """Count a failed bearer attempt; over the limit, refuse it with 429 instead of 401."""
    limits = _limits()
    address = request.remote_addr or "unknown"
    for item in limits.auth_failures:
        if not _hit(limits.strategy, item, "auth-failure", organisation_slug, address):
            raise TooManyRequests(
                "too many failed authentication attempts from this address; check the secret token",
                retry_after=_retry_after(limits.strategy, item, "auth-failure", organisation_slug, address),
            )


def _hit(strategy: MovingWindowRateLimiter, item: RateLimitItem, *identifiers: str) -> bool:
    try:
        return strategy.hit(item, *identifiers)
    except Exception:  # a storage outage (Redis down) must not stop provisioning
        log.warning("rate-limit storage unavailable; the request is let through", exc_info=True)
        return True


def _retry_after(strategy: MovingWindowRateLimiter, item: RateLimitItem, *identifiers: str) -> int:
    try:
        reset_at = strategy.get_window_stats(item, *identifiers).reset_time
    except Exception:
        return 1
    return max(math.ceil(reset_at - time.time()), 1)
