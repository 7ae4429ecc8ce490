"""Webhook endpoints and the delivery of outbox events to them (Standard Webhooks signatures).

* **Endpoints** belong to an organisation: URL, event types (none: all), and a signing secret
  ``whsec_<base64>`` kept in Vault (``{prefix}/organisations/{org}/webhooks/{endpoint}``, one
  version per rotation); the database keeps only the version number.
* **Fan-out**: the worker copies each endpoint's new outbox events (``seq`` > ``dispatched_seq``)
  into :class:`WebhookDelivery` rows. Events before the endpoint existed are not sent.
* **Delivery**: a due delivery is claimed with a lease (``lease_until``; ``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL, so several workers share the work; SQLite: run one worker), posted
  outside any transaction, then marked delivered, retried later (exponential back-off with
  jitter) or dead after ``FLUID_WEBHOOK_MAX_ATTEMPTS``. A worker killed mid-delivery leaves the
  lease to expire and the delivery is sent again: at least once, with the same ``webhook-id``.
* **Order**: a delivery is not claimed while an earlier delivery for the same endpoint and subject
  (user or group) is pending; a dead one no longer holds the later ones back.
* **Safety**: http(s) only, no redirects, a timeout, and the host must not resolve to a private,
  loopback, link-local, reserved or multicast address unless ``FLUID_WEBHOOK_ALLOWED_HOSTS`` names
  it (checked when the endpoint is saved and again before each attempt).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from fluid_scim.config import Settings
from fluid_scim.errors import InvalidValue, NotFound, SecretStoreError, UrlRefused
from fluid_scim.extensions import db
from fluid_scim.models import Organisation, OutboxEvent, OutboxSequence, WebhookDelivery, WebhookEndpoint
from fluid_scim.models.types import utcnow
from fluid_scim.repositories.scoping import across_organisations
from fluid_scim.secrets import Secret, SecretStore
from fluid_scim.services import audit, outbox

log = logging.getLogger(__name__)
SECRET_PREFIX = "whsec_"  # noqa: S105 (the format prefix, not a secret)
MAX_ENDPOINTS = 20
BACKOFF_BASE = 5.0  # seconds before the second attempt; doubles each time
BACKOFF_CAP = 3600.0
DISPATCH_BATCH = 500
CLAIM_BATCH = 50
MAX_ERROR = 500


# -- signing ----------------------------------------------------------------------------------


def new_secret() -> Secret:
    return Secret(SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode())


def sign(secret: Secret, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed with the secret's decoded bytes."""
    key = base64.b64decode(secret.reveal().removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: Secret, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (used by the tests): any ``v1`` signature in the header matches."""
    expected = sign(secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
    return any(hmac.compare_digest(expected, candidate) for candidate in headers["webhook-signature"].split())


# -- where we may send ------------------------------------------------------------------------


def check_url(url: str, allowed_hosts: Sequence[str]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("the webhook URL must be an absolute http or https URL")
    if parts.username or parts.password:
        raise UrlRefused("the webhook URL must not carry credentials")
    if len(url) > 2048:
        raise UrlRefused("the webhook URL is longer than 2048 characters")
    host = parts.hostname.lower()
    if host in allowed_hosts:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UrlRefused(f"the webhook host {host!r} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if _internal(address) and not _allowed(address, allowed_hosts):
            raise UrlRefused(
                f"the webhook host {host!r} resolves to an internal address ({address});"
                " only hosts listed in FLUID_WEBHOOK_ALLOWED_HOSTS may"
            )


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


def _allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allowed_hosts: Sequence[str]) -> bool:
    for entry in allowed_hosts:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _check_types(event_types: Sequence[str] | None) -> list[str]:
    chosen = sorted(set(event_types or ()))
    unknown = [name for name in chosen if name not in outbox.EVENT_TYPES]
    if unknown:
        raise InvalidValue(f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(outbox.EVENT_TYPES)}")
    return chosen


# -- endpoints (admin) ------------------------------------------------------------------------


def list_endpoints(*, organisation: Organisation) -> list[WebhookEndpoint]:
    return list(
        db.session.execute(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.organisation_id == organisation.id)
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        ).scalars()
    )


def get_endpoint(*, organisation: Organisation, endpoint_id: str) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, (organisation.id, endpoint_id))
    if endpoint is None:
        raise NotFound("no such webhook endpoint in this organisation")
    return endpoint


def create_endpoint(
    *, organisation: Organisation, url: str, event_types: Sequence[str] | None, store: SecretStore, settings: Settings
) -> tuple[WebhookEndpoint, Secret]:
    """Save an endpoint and its new secret (returned once); it receives events committed from now on."""
    url = url.strip()
    check_url(url, settings.webhook_allowed_hosts)
    types = _check_types(event_types)
    count = db.session.execute(
        select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.organisation_id == organisation.id)
    ).scalar_one()
    if count >= MAX_ENDPOINTS:
        raise InvalidValue(f"at most {MAX_ENDPOINTS} webhook endpoints per organisation")
    endpoint_id = str(uuid.uuid4())
    secret = new_secret()
    version = store.write_webhook_secret(organisation.id, endpoint_id, secret)  # Vault first: no row without a secret
    last = db.session.execute(
        select(OutboxSequence.last_seq).where(OutboxSequence.organisation_id == organisation.id)
    ).scalar_one_or_none()
    endpoint = WebhookEndpoint(
        organisation_id=organisation.id,
        id=endpoint_id,
        url=url,
        event_types=types,
        secret_version=version,
        enabled=True,
        dispatched_seq=last or 0,
        created_at=utcnow(),
    )
    db.session.add(endpoint)
    audit.record(
        organisation,
        operation="webhook.created",
        resource_type="WebhookEndpoint",
        resource_id=endpoint_id,
        changes=[{"path": "url", "before": None, "after": url}, {"path": "eventTypes", "before": None, "after": types}],
    )
    db.session.commit()
    return endpoint, secret


def rotate_secret(*, organisation: Organisation, endpoint_id: str, store: SecretStore) -> tuple[WebhookEndpoint, Secret]:
    """A new secret (returned once); deliveries signed from the next attempt on use it."""
    endpoint = get_endpoint(organisation=organisation, endpoint_id=endpoint_id)
    secret = new_secret()
    endpoint.secret_version = store.write_webhook_secret(organisation.id, endpoint.id, secret)
    audit.record(organisation, operation="webhook.secret_rotated", resource_type="WebhookEndpoint", resource_id=endpoint.id)
    db.session.commit()
    return endpoint, secret


def delete_endpoint(*, organisation: Organisation, endpoint_id: str, store: SecretStore) -> None:
    """Remove the endpoint, its delivery log and its secret (from Vault, after the commit)."""
    endpoint = get_endpoint(organisation=organisation, endpoint_id=endpoint_id)
    db.session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.organisation_id == organisation.id, WebhookDelivery.endpoint_id == endpoint.id
        )
    )
    audit.record(
        organisation,
        operation="webhook.deleted",
        resource_type="WebhookEndpoint",
        resource_id=endpoint.id,
        changes=[{"path": "url", "before": endpoint.url, "after": None}],
    )
    db.session.delete(endpoint)
    db.session.commit()
    store.destroy_webhook_secret(organisation.id, endpoint.id)


def list_deliveries(
    *, organisation: Organisation, endpoint_id: str | None, status: str | None, offset: int, limit: int
) -> tuple[list[WebhookDelivery], bool]:
    """The delivery log, newest event first; and whether more follow."""
    statement = select(WebhookDelivery).where(WebhookDelivery.organisation_id == organisation.id)
    if endpoint_id is not None:
        statement = statement.where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    rows = list(
        db.session.execute(
            statement.order_by(WebhookDelivery.event_seq.desc(), WebhookDelivery.endpoint_id).offset(offset).limit(limit + 1)
        ).scalars()
    )
    return rows[:limit], len(rows) > limit


# -- the worker -------------------------------------------------------------------------------


@dataclass
class PassResult:
    dispatched: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.failed + self.dead


def _locking(statement: Any) -> Any:
    """``FOR UPDATE SKIP LOCKED`` where the database has it (PostgreSQL); SQLite has one writer."""
    if db.session.get_bind().dialect.name == "postgresql":
        return statement.with_for_update(skip_locked=True)
    return statement


def dispatch(now: Callable[[], datetime] = utcnow) -> int:
    """Fan new outbox events out into deliveries, endpoint by endpoint; return how many were created."""
    created = 0
    keys = db.session.execute(
        across_organisations(select(WebhookEndpoint.organisation_id, WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True)))
    ).all()
    db.session.commit()
    for organisation_id, endpoint_id in keys:
        endpoint = db.session.execute(
            _locking(
                select(WebhookEndpoint).where(
                    WebhookEndpoint.organisation_id == organisation_id, WebhookEndpoint.id == endpoint_id
                )
            )
        ).scalar_one_or_none()
        if endpoint is None:
            db.session.commit()
            continue
        events = db.session.execute(
            select(OutboxEvent)
            .where(OutboxEvent.organisation_id == organisation_id, OutboxEvent.seq > endpoint.dispatched_seq)
            .order_by(OutboxEvent.seq)
            .limit(DISPATCH_BATCH)
        ).scalars().all()
        at = now()
        for event in events:
            if endpoint.event_types and event.type not in endpoint.event_types:
                continue
            db.session.add(
                WebhookDelivery(
                    organisation_id=organisation_id,
                    endpoint_id=endpoint.id,
                    event_seq=event.seq,
                    event_id=event.id,
                    event_type=event.type,
                    subject_id=event.subject_id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=at,
                    created_at=at,
                )
            )
            created += 1
        if events:
            endpoint.dispatched_seq = events[-1].seq
        db.session.commit()
    return created


def _claim(now: datetime, lease: timedelta) -> list[tuple[uuid.UUID, str, int]]:
    """Lease the due deliveries that no earlier pending delivery of the same subject holds back."""
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        earlier.organisation_id == WebhookDelivery.organisation_id,
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        earlier.subject_id == WebhookDelivery.subject_id,
        earlier.status == "pending",
        earlier.event_seq < WebhookDelivery.event_seq,
    )
    every_organisation = across_organisations(select(WebhookEndpoint.organisation_id).distinct())
    organisation_ids = db.session.execute(every_organisation).scalars().all()
    claimed: list[tuple[uuid.UUID, str, int]] = []
    for organisation_id in organisation_ids:  # per organisation: every query stays on one shard key
        statement = (
            select(WebhookDelivery)
            .where(
                WebhookDelivery.organisation_id == organisation_id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
                ~blocked,
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_seq)
            .limit(CLAIM_BATCH)
        )
        if db.session.get_bind().dialect.name == "postgresql":
            statement = statement.with_for_update(of=WebhookDelivery, skip_locked=True)
        rows = db.session.execute(statement).scalars().all()
        for row in rows:
            row.lease_until = now + lease
            row.attempts += 1
            claimed.append((row.organisation_id, row.endpoint_id, row.event_seq))
        db.session.commit()
    return claimed


def backoff(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure: 5 s, 10 s, 20 s … up to an hour, ±10%."""
    delay = min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_CAP)
    return delay * random.uniform(0.9, 1.1)  # noqa: S311 (jitter, not security)


class _Secrets:
    """Signing secrets read from Vault once per (endpoint, version) for the life of a worker."""

    def __init__(self, store: SecretStore) -> None:
        self.store = store
        self.cache: dict[tuple[uuid.UUID, str, int], Secret] = {}

    def get(self, endpoint: WebhookEndpoint) -> Secret:
        key = (endpoint.organisation_id, endpoint.id, endpoint.secret_version)
        if key not in self.cache:
            self.cache[key] = self.store.read_webhook_secret(endpoint.organisation_id, endpoint.id, endpoint.secret_version)
        return self.cache[key]


def _send(endpoint: WebhookEndpoint, event: OutboxEvent, secret: Secret, settings: Settings) -> tuple[int | None, str | None]:
    """One POST; ``(status, None)`` when accepted (2xx), else ``(status or None, error)``."""
    try:
        check_url(endpoint.url, settings.webhook_allowed_hosts)  # again: DNS may have changed since it was saved
    except UrlRefused as exc:
        return None, exc.detail
    body = json.dumps(outbox.payload(event), separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "fluid-scim-webhooks/1",
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, event.id, timestamp, body),
    }
    try:
        response = requests.post(
            endpoint.url, data=body, headers=headers, timeout=settings.webhook_timeout, allow_redirects=False
        )
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"[:MAX_ERROR]


def run_once(settings: Settings, store: SecretStore, *, now: Callable[[], datetime] = utcnow) -> PassResult:
    """Dispatch, then deliver everything due until nothing is (each subject in order); one pass of the worker."""
    result = PassResult(dispatched=dispatch(now))
    secrets_cache = _Secrets(store)
    lease = timedelta(seconds=settings.webhook_timeout * 2 + 1)
    while True:
        claimed = _claim(now(), lease)
        if not claimed:
            return result
        for key in claimed:
            _deliver(key, settings, secrets_cache, now, result)


def _deliver(
    key: tuple[uuid.UUID, str, int], settings: Settings, secrets_cache: _Secrets, now: Callable[[], datetime], result: PassResult
) -> None:
    organisation_id, endpoint_id, seq = key
    delivery = db.session.get(WebhookDelivery, key)
    endpoint = db.session.get(WebhookEndpoint, (organisation_id, endpoint_id))
    event = db.session.get(OutboxEvent, (organisation_id, seq))
    attempts = delivery.attempts if delivery is not None else 0
    db.session.commit()  # no transaction stays open while we wait for the receiver
    if delivery is None or endpoint is None:
        return
    at = now()
    if event is None:
        status, error = None, "the event is no longer in the outbox"
    else:
        try:
            secret = secrets_cache.get(endpoint)
        except SecretStoreError as exc:
            # Vault unavailable: nothing was sent, so the attempt is given back and retried shortly.
            log.warning("webhook secret unavailable; delivery postponed", extra={"endpoint_id": endpoint_id, "reason": str(exc)})
            _finish(key, {"lease_until": None, "attempts": attempts - 1, "next_attempt_at": at + timedelta(seconds=30),
                          "last_error": "the signing secret could not be read from the key vault; retrying"})
            result.failed += 1
            return
        status, error = _send(endpoint, event, secret, settings)
        at = now()
    values: dict[str, Any] = {"lease_until": None, "last_status_code": status, "last_error": error}
    if error is None:
        values |= {"status": "delivered", "delivered_at": at}
        result.delivered += 1
    elif attempts >= settings.webhook_max_attempts:
        values |= {"status": "dead"}
        result.dead += 1
        log.warning("webhook delivery dead-lettered after %d attempts", attempts, extra={"endpoint_id": endpoint_id})
    else:
        values |= {"next_attempt_at": at + timedelta(seconds=backoff(attempts))}
        result.failed += 1
    _finish(key, values)


def _finish(key: tuple[uuid.UUID, str, int], values: dict[str, Any]) -> None:
    organisation_id, endpoint_id, seq = key
    db.session.execute(
        update(WebhookDelivery)
        .where(
            and_(
                WebhookDelivery.organisation_id == organisation_id,
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.event_seq == seq,
                WebhookDelivery.status == "pending",
            )
        )
        .values(**values)
    )
    db.session.commit()
