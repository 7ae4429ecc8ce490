"""Rate limits on the SCIM surface: an organisation's budget, and what unauthenticated callers may cost.

Two kinds of limit, counted apart, so that no caller without the token can spend an organisation's
budget:

- **An organisation's budget** (``FLUID_RATELIMIT_DEFAULT``, ``FLUID_RATELIMIT_OVERRIDES``) counts
  only its *authenticated* requests: it is checked after the bearer token was verified.
- **Failures** (``FLUID_AUTH_FAILURE_LIMIT`` per client address, ``FLUID_AUTH_FAILURE_GLOBAL_LIMIT``
  for every address together) count every request that did not authenticate: no or a malformed
  ``Authorization`` header, a wrong token, a host that is no organisation. A request without a
  well-formed bearer token cannot authenticate, so it is counted, and refused with 429 once over
  either limit, before any database work. A request carrying a bearer token is always verified
  (one indexed read): the right token passes whatever the failure counters say, a wrong one is
  counted and answered 429 instead of 401 once over either limit. IPv6 clients are counted by their
  /64 (one subscriber's allocation), so that one host cannot rotate through its own addresses.

Counters live in a ``limits`` storage (moving windows): in process memory by default (each gunicorn
worker counts on its own), in Redis when ``FLUID_RATELIMIT_STORAGE_URL`` is set (shared by every
worker on every host). A limited request is a 429 SCIM error with ``Retry-After`` (RFC 7644 §3.12);
when the storage is unreachable, requests are let through (and a warning logged).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from dataclasses import dataclass

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from fluid_scim.config import Settings
from fluid_scim.errors import TooManyRequests

log = logging.getLogger(__name__)

IPV6_PREFIX = 64


@dataclass(frozen=True)
class RateLimits:
    """The parsed limits of one application and the storage counting them (``limits``, moving window)."""

    strategy: MovingWindowRateLimiter
    default: tuple[RateLimitItem, ...]
    overrides: dict[str, tuple[RateLimitItem, ...]]
    failures_per_address: tuple[RateLimitItem, ...]
    failures_in_all: tuple[RateLimitItem, ...]

    def for_organisation(self, slug: str) -> tuple[RateLimitItem, ...]:
        return self.overrides.get(slug, self.default)


class QuietMemoryStorage(MemoryStorage):
    """``limits``' memory storage, forgetting expired entries once a second.

    The library's own schedules its clean-up 10 ms after a hit, starting a new timer thread each
    time one is not already waiting: under load, a thread started every 10 ms in every worker, each
    waking to take the locks the requests take. Expired entries never count (a moving window looks
    only at the entries inside it); the clean-up only frees memory, so once a second is enough.
    """

    _next_clean_up = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # the library's private hook (limits 5.x)
        now = time.monotonic()
        if now < self._next_clean_up:
            return
        self._next_clean_up = now + CLEAN_UP_SECONDS
        if not self.timer.is_alive():
            self.timer = threading.Timer(CLEAN_UP_SECONDS, self._MemoryStorage__expire_events)  # type: ignore[attr-defined]
            self.timer.daemon = True
            self.timer.start()


CLEAN_UP_SECONDS = 1.0


def register_rate_limits(app: Flask) -> None:
    settings: Settings = app.extensions["fluid_settings"]
    url = settings.ratelimit_storage_url
    quiet = url.startswith("memory://")
    app.extensions["fluid_rate_limits"] = RateLimits(
        strategy=MovingWindowRateLimiter(
            QuietMemoryStorage(url)
            if quiet
            else storage_from_string(url, **({"socket_timeout": 2} if url.startswith("redis") else {}))
        ),
        default=tuple(parse_many(settings.ratelimit_default)),
        overrides={slug: tuple(parse_many(limit)) for slug, limit in settings.ratelimit_overrides},
        failures_per_address=tuple(parse_many(settings.auth_failure_limit)),
        failures_in_all=tuple(parse_many(settings.auth_failure_global_limit)),
    )


def _limits() -> RateLimits:
    limits: RateLimits = current_app.extensions["fluid_rate_limits"]
    return limits


def client_address() -> str:
    """The caller's address as counted: IPv4 as is, IPv6 by its /64 (an IPv4-mapped one as IPv4)."""
    address = request.remote_addr or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return address


def check_organisation(slug: str) -> None:
    """Count an authenticated request of the organisation ``slug`` in its budget; over it, 429."""
    limits = _limits()
    for item in limits.for_organisation(slug):
        if not _hit(limits.strategy, item, "scim", slug):
            raise TooManyRequests(
                f"too many requests for organisation {slug!r} (limit {item}); retry after the time in Retry-After",
                retry_after=_retry_after(limits.strategy, item, "scim", slug),
            )


def failed_attempt() -> None:
    """Count a request that did not (or cannot) authenticate; over a failure limit, refuse it with 429.

    Its client address's limit first: an address over it is refused without spending the budget
    every other address shares.
    """
    limits = _limits()
    address = client_address()
    for item in limits.failures_per_address:
        if not _hit(limits.strategy, item, "auth-failure", address):
            raise TooManyRequests(
                "too many unauthenticated or failed requests from this address; check the secret token",
                retry_after=_retry_after(limits.strategy, item, "auth-failure", address),
            )
    for item in limits.failures_in_all:
        if not _hit(limits.strategy, item, "auth-failure-all"):
            raise TooManyRequests(
                "too many unauthenticated or failed requests; requests with the right token are still answered",
                retry_after=_retry_after(limits.strategy, item, "auth-failure-all"),
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
