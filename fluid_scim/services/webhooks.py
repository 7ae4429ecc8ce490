"""Webhook endpoints and the delivery of outbox events to them (Standard Webhooks signatures).

* **Endpoints** belong to an organisation: URL, event types (none: all), and a signing secret
  ``whsec_<base64>`` kept in Vault (``{prefix}/organisations/{org}/webhooks/{endpoint}``, one
  version per rotation); the database keeps only the version number.
* **Rotation** keeps the replaced secret (its Vault version, never its value, in the database)
  for a grace window: until it ends, every delivery carries two signatures, one per secret, in the
  one ``webhook-signature`` header (Standard Webhooks: space-separated ``v1,<base64>``), so a
  receiver that still holds the old secret, or already the new one, verifies it either way.
* **Fan-out**: the worker copies each endpoint's new outbox events (``seq`` > ``dispatched_seq``)
  into :class:`WebhookDelivery` rows. Events before the endpoint existed are not sent.
* **Delivery**: a due delivery is claimed with a lease (``lease_until``; ``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL, so several workers share the work; SQLite: run one worker), posted
  outside any transaction, then marked delivered, retried later (exponential back-off with
  jitter) or dead after ``FLUID_WEBHOOK_MAX_ATTEMPTS``. A worker killed mid-delivery leaves the
  lease to expire and the delivery is sent again: at least once, with the same ``webhook-id``.
* **Order**: a delivery is not claimed while an earlier delivery for the same endpoint and subject
  (user or group) is pending; a dead one no longer holds the later ones back.
* **Pause and resume**: a paused endpoint (``enabled`` false) is neither fanned out to nor delivered
  to; its events stay in the outbox (nothing is lost, the retention purge keeps every event an
  endpoint has not fanned out) and on resume go out in order, after the deliveries already queued.
* **Redelivery**: a dead delivery is queued again as a new round of attempts for the same event:
  the same ``webhook-id`` (so a receiver that saw it deduplicates), a fresh count of attempts, due
  now; later deliveries of the same subject wait behind it again.
* **Health**: each attempt's outcome sets the endpoint's last success, or its last failure and
  failures in a row; the pending and dead counts are read from the deliveries.
* **Safety** (:mod:`fluid_scim.services.webhook_transport`): https in production, ports 443 and
  1024-65535, and every address the host resolves to must be public (IPv6 forms that carry an
  IPv4 address judged by it) unless ``FLUID_WEBHOOK_ALLOWED_HOSTS`` names it; checked when the
  endpoint is saved and again before each attempt, and the attempt connects to the address that
  was checked (SNI, certificate and ``Host`` still name the host). No redirects, a timeout, and a
  failure is recorded as its status code (with the standard phrase) or kind only, never the receiver's body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from fluid_scim.config import Settings
from fluid_scim.errors import Conflict, InvalidValue, NotFound, SecretStoreError, UrlRefused
from fluid_scim.models import Organisation, OutboxEvent, WebhookDelivery, WebhookEndpoint
from fluid_scim.models.types import utcnow
from fluid_scim.repositories import history as history_repo
from fluid_scim.repositories import outbox as outbox_repo
from fluid_scim.repositories import webhooks as repo
from fluid_scim.secrets import Secret, SecretStore
from fluid_scim.services import audit, outbox, transaction, webhook_transport

log = logging.getLogger(__name__)
SECRET_PREFIX = "whsec_"  # noqa: S105 (the format prefix, not a secret)
MAX_ENDPOINTS = 20
BACKOFF_BASE = 5.0  # seconds before the second attempt; doubles each time
BACKOFF_CAP = 3600.0
DISPATCH_BATCH = 500
DEFAULT_PREVIOUS_SECRET_HOURS = 24
MAX_PREVIOUS_SECRET_HOURS = 7 * 24
CLAIM_BATCH = 50
REDELIVER_BATCH = 500  # dead letters re-queued by one "redeliver all"
PURGE_BATCH = 1000
DeliveryKey = tuple[uuid.UUID, str, int]  # (organisation_id, endpoint_id, event_seq)


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


# -- where we may send: webhook_transport (checked when saved and before every attempt) --------

check_url = webhook_transport.check_url


def _check_types(event_types: Sequence[str] | None) -> list[str]:
    chosen = sorted(set(event_types or ()))
    unknown = [name for name in chosen if name not in outbox.EVENT_TYPES]
    if unknown:
        raise InvalidValue(f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(outbox.EVENT_TYPES)}")
    return chosen


# -- endpoints (admin) ------------------------------------------------------------------------


def list_endpoints(*, organisation: Organisation) -> list[WebhookEndpoint]:
    return list(repo.list_endpoints(organisation.id))


def get_endpoint(*, organisation: Organisation, endpoint_id: str) -> WebhookEndpoint:
    endpoint = repo.get_endpoint(organisation.id, endpoint_id)
    if endpoint is None:
        raise NotFound("no such webhook endpoint in this organisation")
    return endpoint


def _published_until(organisation: Organisation) -> int:
    """The organisation's last event number once everything committed so far is numbered."""
    outbox.publish(organisation.id)
    return outbox_repo.last_sequence(organisation.id)


def create_endpoint(
    *, organisation: Organisation, url: str, event_types: Sequence[str] | None, store: SecretStore, settings: Settings
) -> tuple[WebhookEndpoint, Secret]:
    """Save an endpoint and its new secret (returned once); it receives events committed from now on."""
    url = url.strip()
    check_url(url, settings.webhook_allowed_hosts, production=settings.is_production)
    types = _check_types(event_types)
    if repo.count_endpoints(organisation.id) >= MAX_ENDPOINTS:
        raise InvalidValue(f"at most {MAX_ENDPOINTS} webhook endpoints per organisation")
    endpoint_id = str(uuid.uuid4())
    secret = new_secret()
    version = store.write_webhook_secret(organisation.id, endpoint_id, secret)  # Vault first: no row without a secret
    endpoint = WebhookEndpoint(
        organisation_id=organisation.id,
        id=endpoint_id,
        url=url,
        event_types=types,
        secret_version=version,
        enabled=True,
        dispatched_seq=_published_until(organisation),
        created_at=utcnow(),
    )
    repo.add_endpoint(endpoint)
    audit.record(
        organisation,
        operation="webhook.created",
        resource_type="WebhookEndpoint",
        resource_id=endpoint_id,
        resource_name=url,
        changes=[{"path": "url", "before": None, "after": url}, {"path": "eventTypes", "before": None, "after": types}],
    )
    transaction.commit()
    return endpoint, secret


def rotate_secret(
    *,
    organisation: Organisation,
    endpoint_id: str,
    store: SecretStore,
    previous_secret_hours: int = DEFAULT_PREVIOUS_SECRET_HOURS,
) -> tuple[WebhookEndpoint, Secret]:
    """A new secret (returned once); deliveries signed from the next attempt on use it.

    For ``previous_secret_hours`` (0: none) they are signed with the replaced secret as well, so
    the receiver can switch to the new one at any moment of the window. A secret replaced in an
    earlier window that is still open stops signing now: at most two signatures.
    """
    if not 0 <= previous_secret_hours <= MAX_PREVIOUS_SECRET_HOURS:
        raise InvalidValue(f"the previous secret may keep signing for 0 to {MAX_PREVIOUS_SECRET_HOURS} hours")
    endpoint = get_endpoint(organisation=organisation, endpoint_id=endpoint_id)
    secret = new_secret()
    previous = endpoint.secret_version
    endpoint.secret_version = store.write_webhook_secret(organisation.id, endpoint.id, secret)
    until = utcnow() + timedelta(hours=previous_secret_hours) if previous_secret_hours else None
    endpoint.previous_secret_version = previous if until is not None else None
    endpoint.previous_secret_until = until
    audit.record(
        organisation,
        operation="webhook.secret_rotated",
        resource_type="WebhookEndpoint",
        resource_id=endpoint.id,
        resource_name=endpoint.url,
        detail=f"the previous secret signs too until {until.isoformat(timespec='seconds')}" if until else None,
    )
    transaction.commit()
    return endpoint, secret


def signing_versions(endpoint: WebhookEndpoint, now: datetime) -> tuple[int, ...]:
    """The Vault versions of the secrets that sign the endpoint's deliveries now: the current one, and
    the previous one while its window lasts."""
    until = endpoint.previous_secret_until
    if endpoint.previous_secret_version is None or until is None or until <= now:
        return (endpoint.secret_version,)
    return (endpoint.secret_version, endpoint.previous_secret_version)


def delete_endpoint(*, organisation: Organisation, endpoint_id: str, store: SecretStore) -> None:
    """Remove the endpoint, its delivery log and its secret (from Vault, after the commit)."""
    endpoint = get_endpoint(organisation=organisation, endpoint_id=endpoint_id)
    audit.record(
        organisation,
        operation="webhook.deleted",
        resource_type="WebhookEndpoint",
        resource_id=endpoint.id,
        resource_name=endpoint.url,
        changes=[{"path": "url", "before": endpoint.url, "after": None}],
    )
    repo.delete_endpoint(organisation.id, endpoint)
    transaction.commit()
    store.destroy_webhook_secret(organisation.id, endpoint.id)


def list_deliveries(
    *, organisation: Organisation, endpoint_id: str | None, status: str | None, offset: int, limit: int
) -> tuple[list[WebhookDelivery], bool]:
    """The delivery log, newest event first; and whether more follow."""
    rows = repo.list_deliveries(organisation.id, endpoint_id=endpoint_id, status=status, offset=offset, limit=limit + 1)
    return list(rows[:limit]), len(rows) > limit


@dataclass(frozen=True, slots=True)
class Health:
    """How an endpoint is doing: its last success and failure, failures in a row, and what waits."""

    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_failure: str | None
    consecutive_failures: int
    pending: int
    dead: int
    waiting: int  # events committed after its last fan-out (every type, before its filter): a paused endpoint's backlog


def health(*, organisation: Organisation, endpoints: Sequence[WebhookEndpoint]) -> dict[str, Health]:
    """The health of each of ``endpoints`` (one grouped count of the organisation's pending and dead deliveries)."""
    counts = repo.delivery_counts(organisation.id)
    last = outbox_repo.last_sequence(organisation.id) + outbox_repo.count_pending(organisation.id)
    return {
        endpoint.id: Health(
            last_success_at=endpoint.last_success_at,
            last_failure_at=endpoint.last_failure_at,
            last_failure=endpoint.last_failure,
            consecutive_failures=endpoint.consecutive_failures or 0,
            pending=counts.get((endpoint.id, "pending"), 0),
            dead=counts.get((endpoint.id, "dead"), 0),
            waiting=max(0, last - endpoint.dispatched_seq),
        )
        for endpoint in endpoints
    }


def set_paused(*, organisation: Organisation, endpoint_id: str, paused: bool) -> WebhookEndpoint:
    """Pause (nothing is fanned out or sent; events wait in the outbox) or resume (they go out in order).

    Pausing a paused endpoint, or resuming a running one, changes nothing and records nothing.
    """
    endpoint = get_endpoint(organisation=organisation, endpoint_id=endpoint_id)
    if endpoint.enabled != paused:
        return endpoint
    endpoint.enabled = not paused
    endpoint.paused_at = utcnow() if paused else None
    audit.record(
        organisation,
        operation="webhook.paused" if paused else "webhook.resumed",
        resource_type="WebhookEndpoint",
        resource_id=endpoint.id,
        resource_name=endpoint.url,
        changes=[{"path": "paused", "before": not paused, "after": paused}],
    )
    transaction.commit()
    return endpoint


def parse_delivery_id(delivery_id: str) -> tuple[str, int]:
    """``<endpoint id>:<event seq>`` (the admin API's delivery id); :class:`NotFound` for anything else."""
    endpoint_id, _, seq = delivery_id.rpartition(":")
    if not endpoint_id or not seq.isascii() or not seq.isdigit() or len(seq) > 19:
        raise NotFound("no such webhook delivery in this organisation")
    return endpoint_id, int(seq)


def redeliver(*, organisation: Organisation, delivery_id: str) -> WebhookDelivery:
    """Queue a dead delivery again: the same event (same ``webhook-id``), a fresh count of attempts, due now."""
    endpoint_id, seq = parse_delivery_id(delivery_id)
    delivery = repo.get_delivery(organisation.id, endpoint_id, seq)
    if delivery is None:
        raise NotFound("no such webhook delivery in this organisation")
    if delivery.status != "dead":
        raise Conflict(f"only a dead delivery can be redelivered; this one is {delivery.status}")
    endpoint = get_endpoint(organisation=organisation, endpoint_id=endpoint_id)
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, utcnow()
    delivery.lease_until = delivery.delivered_at = None
    audit.record(
        organisation,
        operation="webhook.redelivered",
        resource_type="WebhookEndpoint",
        resource_id=endpoint_id,
        resource_name=endpoint.url,
        detail=f"event {delivery.event_id} ({delivery.event_type}) queued again",
    )
    transaction.commit()
    return delivery


def redeliver_dead_letters(*, organisation: Organisation, endpoint_id: str) -> tuple[int, bool]:
    """Queue again up to :data:`REDELIVER_BATCH` of the endpoint's dead deliveries, oldest first;
    how many, and whether dead ones remain (call again)."""
    endpoint = get_endpoint(organisation=organisation, endpoint_id=endpoint_id)
    seqs = repo.dead_sequences(organisation.id, endpoint.id, limit=REDELIVER_BATCH + 1)
    chosen = list(seqs[:REDELIVER_BATCH])
    count = repo.requeue_dead(organisation.id, endpoint.id, chosen, at=utcnow())
    if count:
        audit.record(
            organisation,
            operation="webhook.redelivered",
            resource_type="WebhookEndpoint",
            resource_id=endpoint.id,
            resource_name=endpoint.url,
            detail=f"{count} dead deliveries queued again",
        )
    transaction.commit()
    return count, len(seqs) > REDELIVER_BATCH


# -- retention --------------------------------------------------------------------------------


def purge_delivered(*, older_than_days: int, batch_size: int = PURGE_BATCH, max_batches: int = 100_000) -> tuple[int, int]:
    """Delete deliveries delivered before the cut-off, then outbox events older than it that every endpoint
    has fanned out and no pending or dead delivery still needs; (deliveries, events) deleted.

    Pending and dead deliveries stay (a dead one can be redelivered), and so do their events and every
    event a paused endpoint has not fanned out yet. Batches of ``batch_size`` keys, each committed.
    """
    if older_than_days < 1:
        raise InvalidValue("events younger than a day are never purged")
    cutoff = utcnow() - timedelta(days=older_than_days)
    batch_size, budget = max(1, batch_size), [max_batches]
    deliveries = events = 0
    for organisation_id in history_repo.organisation_ids():
        deliveries += _purge_batches(
            partial(repo.expired_delivered, organisation_id, cutoff=cutoff),
            partial(repo.delete_deliveries, organisation_id),
            batch_size,
            budget,
        )
        up_to = repo.lowest_dispatched(organisation_id)
        events += _purge_batches(
            partial(repo.expired_events, organisation_id, cutoff=cutoff, up_to=up_to),
            partial(repo.delete_events, organisation_id),
            batch_size,
            budget,
        )
    return deliveries, events


def _purge_batches(
    expired: Callable[..., Sequence[Any]], remove: Callable[[Sequence[Any]], None], batch_size: int, budget: list[int]
) -> int:
    """Remove what ``expired(limit=...)`` finds, ``batch_size`` keys per committed batch, while ``budget`` lasts."""
    removed = 0
    while budget[0] > 0:
        budget[0] -= 1
        batch = expired(limit=batch_size)
        if batch:
            remove(batch)
        transaction.commit()
        removed += len(batch)
        if len(batch) < batch_size:
            break
    return removed


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


def dispatch(now: Callable[[], datetime] = utcnow) -> int:
    """Number what is pending, then fan new outbox events out into deliveries, endpoint by endpoint;
    return how many deliveries were created."""
    outbox.publish()
    created = 0
    keys = repo.enabled_endpoint_keys()
    transaction.commit()
    for organisation_id, endpoint_id in keys:
        endpoint = repo.lock_endpoint(organisation_id, endpoint_id)  # None: gone, or another worker has it
        if endpoint is not None and endpoint.enabled:  # paused since it was listed: its events wait
            created += _fan_out(endpoint, now())
        transaction.commit()
    return created


def _fan_out(endpoint: WebhookEndpoint, at: datetime) -> int:
    """Add a delivery for each of the endpoint's new events of a type it wants; move its ``dispatched_seq`` on."""
    events = outbox_repo.events_after(endpoint.organisation_id, endpoint.dispatched_seq, limit=DISPATCH_BATCH)
    wanted = [event for event in events if not endpoint.event_types or event.type in endpoint.event_types]
    repo.add_deliveries(
        WebhookDelivery(
            organisation_id=endpoint.organisation_id,
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
        for event in wanted
    )
    if events:
        endpoint.dispatched_seq = events[-1].seq
    return len(wanted)


def _claim(now: datetime, lease: timedelta) -> list[DeliveryKey]:
    """Lease the due deliveries that no earlier pending delivery of the same subject holds back."""
    claimed: list[DeliveryKey] = []
    for organisation_id in repo.organisations_with_endpoints():  # per organisation: every query stays on one shard key
        for row in repo.lock_due_deliveries(organisation_id, now=now, limit=CLAIM_BATCH):
            row.lease_until = now + lease
            row.attempts += 1
            claimed.append((row.organisation_id, row.endpoint_id, row.event_seq))
        transaction.commit()
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

    def get(self, endpoint: WebhookEndpoint, now: datetime) -> list[Secret]:
        """The secrets that sign now (:func:`signing_versions`), the current one first."""
        found = []
        for version in signing_versions(endpoint, now):
            key = (endpoint.organisation_id, endpoint.id, version)
            if key not in self.cache:
                self.cache[key] = self.store.read_webhook_secret(endpoint.organisation_id, endpoint.id, version)
            found.append(self.cache[key])
        return found


def _send(
    endpoint: WebhookEndpoint, event: OutboxEvent, secrets_now: Sequence[Secret], settings: Settings
) -> tuple[int | None, str | None]:
    """One POST; ``(status, None)`` when accepted (2xx), else ``(status or None, reason)``."""
    try:  # again: DNS may have changed since the endpoint was saved; the POST goes to the address checked now
        target = check_url(endpoint.url, settings.webhook_allowed_hosts, production=settings.is_production)
    except UrlRefused as exc:
        return None, exc.detail
    body = json.dumps(outbox.payload(event), separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "fluid-scim-webhooks/1",
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret, event.id, timestamp, body) for secret in secrets_now),
    }
    return webhook_transport.post(target, body, headers, settings.webhook_timeout)


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
    key: DeliveryKey, settings: Settings, secrets_cache: _Secrets, now: Callable[[], datetime], result: PassResult
) -> None:
    organisation_id, endpoint_id, seq = key
    delivery = repo.get_delivery(organisation_id, endpoint_id, seq)
    endpoint = repo.get_endpoint(organisation_id, endpoint_id)
    event = outbox_repo.get_event(organisation_id, seq)
    attempts = delivery.attempts if delivery is not None else 0
    transaction.commit()  # no transaction stays open while we wait for the receiver
    if delivery is None or endpoint is None:
        return
    at = now()
    status: int | None
    error: str | None
    if event is None:
        status, error = None, "the event is no longer in the outbox"
    else:
        try:
            signing = secrets_cache.get(endpoint, at)
        except SecretStoreError as exc:
            # Vault unavailable: nothing was sent, so the attempt is given back and retried shortly.
            log.warning("webhook secret unavailable; delivery postponed", extra={"endpoint_id": endpoint_id, "reason": str(exc)})
            _finish(key, {"lease_until": None, "attempts": attempts - 1, "next_attempt_at": at + timedelta(seconds=30),
                          "last_error": "the signing secret could not be read from the key vault; retrying"})
            result.failed += 1
            return
        status, error = _send(endpoint, event, signing, settings)
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
    repo.finish_delivery(*key, values)
    repo.note_outcome(organisation_id, endpoint_id, at=at, failure=error)  # the status line or kind: no body
    transaction.commit()


def _finish(key: DeliveryKey, values: dict[str, Any]) -> None:
    repo.finish_delivery(*key, values)
    transaction.commit()
