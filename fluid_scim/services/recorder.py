"""Writing what a request that changed nothing leaves behind: its event and its status counts
(and the undeclared attributes a successful change kept: their sightings for the admin's list).

A change writes its provisioning event inside its own transaction (:func:`audit.record`). What is
left, the events of reads and refused requests and every request's status counters, need not hold
up the answer: a :class:`Recorder` keeps them in memory and writes them in one transaction, off
the request path, every ``FLUID_RECORD_FLUSH_SECONDS`` (1 s by default) from a thread of the worker,
when 1,000 are waiting, when the worker exits, and before anything in this process reads events or
status. ``FLUID_RECORD_FLUSH_SECONDS=0`` writes them in the request instead, after the answer is
built, in one short transaction.

Refusals of unauthenticated requests and 429s are counted each, but kept as events only for the
first ``FLUID_REFUSAL_EVENTS_PER_MINUTE`` per organisation, status and minute (:meth:`Recorder.in_sample`):
a flood of refusals costs the history a bounded number of rows, and the status still counts them all.

What this trades: a worker killed outright (SIGKILL, power loss) loses at most its last interval
of read events and counts; a change and its event are never apart. Other workers' pending counts
show up in the status within one interval.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import uuid
from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import Connection
from sqlalchemy.exc import InterfaceError, OperationalError

from fluid_scim.models.types import utcnow
from fluid_scim.repositories import directory as directory_repo
from fluid_scim.repositories import history as history_repo
from fluid_scim.repositories import status as status_repo
from fluid_scim.services import transaction

BUCKET_SIZE = len(status_repo.BUCKET_COUNTERS)

log = logging.getLogger(__name__)

FLUSH_AT = 1000  # pending events that make a request flush (bounds memory when the thread lags)
# Pending events kept across failed flushes (database down: about 15 MB); older ones are dropped, and logged.
KEEP_AT_MOST = 10_000
BUCKET_SECONDS = 300  # the status counters' five-minute buckets (provisioning_status.BUCKET)


@dataclass(slots=True)
class Sighting:
    """An undeclared attribute's sightings in one organisation since the last flush."""

    path: str
    resource_type: str
    kind: str
    example: str
    first: datetime
    last: datetime
    count: int


@dataclass(slots=True)
class _Counts:
    """One organisation's requests since the last flush."""

    last_request_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error_status: int | None = None
    last_error_detail: str | None = None
    had_success: bool = False
    trailing_failures: int = 0

    def count(self, status: int, detail: str | None, at: datetime) -> None:
        self.last_request_at = at
        if status >= 400:
            self.last_error_at, self.last_error_status, self.last_error_detail = at, status, (detail or "")[:2000]
            self.trailing_failures += 1
        else:
            self.last_success_at, self.had_success, self.trailing_failures = at, True, 0

    def last_error(self) -> tuple[datetime, int | None, str | None] | None:
        """(at, status, detail) of the last failed request, if one failed."""
        if self.last_error_at is None:
            return None
        return self.last_error_at, self.last_error_status, self.last_error_detail


class Recorder:
    """Pending events and status counts of one process, written in batches."""

    def __init__(self, app: Flask, interval: float, *, sample_per_minute: int = 10) -> None:
        self.app = app
        self.interval = interval
        self.sample_per_minute = sample_per_minute
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._events: list[dict[str, Any]] = []
        self._counts: dict[uuid.UUID, _Counts] = {}
        self._buckets: dict[tuple[uuid.UUID, datetime], list[int]] = {}
        self._sightings: dict[tuple[uuid.UUID, str], Sighting] = {}
        # (organisation, status) -> [minute, events kept in it, events left out of it]
        self._samples: dict[tuple[uuid.UUID, int], list[int]] = {}
        # Samples of minutes a later refusal of the same organisation and status replaced before a flush
        # logged them: (organisation, status, kept, left out), logged by the next flush.
        self._replaced_samples: list[tuple[uuid.UUID, int, int, int]] = []
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def reset_after_fork(self) -> None:
        """A forked worker starts empty (what the master held is the master's to write)."""
        self._reset()

    # -- the request side ----------------------------------------------------------------------

    def add(
        self,
        organisation_id: uuid.UUID,
        *,
        status: int,
        is_query: bool,
        detail: str | None,
        at: datetime,
        event: dict[str, Any] | None,
        without_token: bool = False,
    ) -> None:
        """Count one request of ``organisation_id`` (and keep its event, when it has one to write).

        ``without_token``: refused without a bearer token, so not the identity provider's (which
        always sends one): counted apart, leaving its last request, last error and failure counts alone.
        """
        if os.getpid() != self._pid:
            self._reset()
        starts_at = datetime.fromtimestamp(at.timestamp() // BUCKET_SECONDS * BUCKET_SECONDS, at.tzinfo)
        with self._lock:
            if event is not None:
                self._events.append(event)
            bucket = self._buckets.setdefault((organisation_id, starts_at), [0] * BUCKET_SIZE)
            if without_token:
                bucket[4] += 1
            else:
                self._counts.setdefault(organisation_id, _Counts()).count(status, detail, at)
                bucket[0] += 1
                bucket[1] += status >= 400
                bucket[2] += status == 401
                bucket[3] += status == 404 and is_query
            pending = len(self._events)
        if self.interval <= 0 or pending >= FLUSH_AT or self._stopped:
            self.flush()
        elif self._thread is None:
            self._start()

    def in_sample(self, organisation_id: uuid.UUID, status: int, at: datetime) -> bool:
        """Whether a refusal's event is kept: the first ``sample_per_minute`` per organisation, status and minute.

        The others are counted in the status all the same (:meth:`add` without an event), and their
        number logged when the flush after their minute writes what is pending.
        """
        if os.getpid() != self._pid:
            self._reset()
        minute = int(at.timestamp() // 60)
        with self._lock:
            sample = self._samples.get((organisation_id, status))
            if sample is None or sample[0] != minute:
                if sample is not None:  # a minute gone by: its counts wait for the next flush's log line
                    self._replaced_samples.append((organisation_id, status, sample[1], sample[2]))
                sample = self._samples[(organisation_id, status)] = [minute, 0, 0]
            if sample[1] < self.sample_per_minute:
                sample[1] += 1
                return True
            sample[2] += 1
            return False

    def sighted(self, organisation_id: uuid.UUID, seen: list[tuple[str, str, str, str]], at: datetime) -> None:
        """Count undeclared attributes (path, resource type, JSON kind, resource id) a committed change kept."""
        with self._lock:
            for path, resource_type, kind, resource_id in seen:
                key = (organisation_id, path.lower())
                sighting = self._sightings.get(key)
                if sighting is None:
                    self._sightings[key] = Sighting(path, resource_type, kind, resource_id, at, at, 1)
                else:
                    sighting.kind, sighting.example, sighting.last, sighting.count = kind, resource_id, at, sighting.count + 1

    # -- writing -------------------------------------------------------------------------------

    def flush(self) -> int:
        """Write everything pending in one transaction; returns the number of events written."""
        with self._flushing:
            with self._lock:
                events, counts, buckets = self._events, self._counts, self._buckets
                self._events, self._counts, self._buckets = [], {}, {}
                sightings, self._sightings = self._sightings, {}
                left_out = self._samples_ended(everything=False)
            _log_left_out(left_out)
            if not (events or counts or buckets or sightings):
                return 0
            try:
                if has_app_context() and current_app._get_current_object() is self.app:  # type: ignore[attr-defined]
                    self._write(events, counts, buckets, sightings)
                else:
                    with self.app.app_context():
                        self._write(events, counts, buckets, sightings)
                return len(events)
            except (OperationalError, InterfaceError):
                log.exception(
                    "could not write provisioning events and status (database unavailable); kept for the next attempt",
                    extra={"pending_events": len(events)},
                )
                self._put_back(events, counts, buckets)
                with self._lock:
                    for key, sighting in sightings.items():
                        self._sightings.setdefault(key, sighting)
                return 0
            except Exception:
                # Not a passing outage: retrying the same rows would fail again and hold up every later one.
                log.exception(
                    "could not write provisioning events and status; dropped them", extra={"dropped_events": len(events)}
                )
                return 0

    def _samples_ended(self, *, everything: bool) -> list[tuple[uuid.UUID, int, int, int]]:
        """Forget the samples of minutes gone by (all of them when stopping): (organisation, status, kept, left out)."""
        minute = int(utcnow().timestamp() // 60)
        ended = [key for key, sample in self._samples.items() if everything or sample[0] < minute]
        samples = [(key, self._samples.pop(key)) for key in ended]
        replaced, self._replaced_samples = self._replaced_samples, []
        return replaced + [(organisation, status, kept, left_out) for (organisation, status), (_, kept, left_out) in samples]

    def _write(
        self,
        events: list[dict[str, Any]],
        counts: dict[uuid.UUID, _Counts],
        buckets: dict[tuple[uuid.UUID, datetime], list[int]],
        sightings: dict[tuple[uuid.UUID, str], Sighting],
    ) -> None:
        with transaction.on_own_connection() as connection:
            # An organisation deleted since its requests were counted takes its pending rows with it.
            wanted = {key[0] for key in buckets} | set(counts) | {event["organisation_id"] for event in events}
            wanted |= {key[0] for key in sightings}
            existing = status_repo.existing_organisations(connection, wanted)
            if existing != wanted:
                events, counts, buckets = _of_existing(existing, events, counts, buckets)
            _write_sightings(connection, {key: value for key, value in sightings.items() if key[0] in existing})
            if events:
                history_repo.insert_events(connection, events)
            # One order (organisation, then bucket) for every writer: no lock-order deadlock between workers.
            ordered = sorted(buckets.items(), key=lambda item: (str(item[0][0]), item[0][1]))
            status_repo.add_to_buckets(connection, [(key[0], key[1], numbers) for key, numbers in ordered])
            by_organisation = sorted(counts.items(), key=lambda item: str(item[0]))
            status_repo.add_to_status(connection, [_status_change(key, pending) for key, pending in by_organisation])

    def _put_back(
        self, events: list[dict[str, Any]], counts: dict[uuid.UUID, _Counts], buckets: dict[tuple[uuid.UUID, datetime], list[int]]
    ) -> None:
        with self._lock:
            merged = events + self._events
            if len(merged) > KEEP_AT_MOST:
                log.error(
                    "dropped provisioning events of reads and refusals: the database was unavailable too long",
                    extra={"dropped_events": len(merged) - KEEP_AT_MOST},
                )
                merged = merged[-KEEP_AT_MOST:]
            self._events = merged
            for key, numbers in buckets.items():
                current = self._buckets.setdefault(key, [0] * BUCKET_SIZE)
                self._buckets[key] = [a + b for a, b in zip(current, numbers, strict=True)]
            for organisation_id, older in counts.items():
                newer = self._counts.get(organisation_id)
                self._counts[organisation_id] = older if newer is None else _later(older, newer)

    # -- the thread ----------------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="fluid-recorder", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        """Stop the thread and write what is pending (gunicorn's ``worker_exit``, ``atexit``)."""
        if os.getpid() != self._pid:
            return
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        self.flush()
        with self._lock:
            left_out = self._samples_ended(everything=True)
        _log_left_out(left_out)


def _log_left_out(samples: list[tuple[uuid.UUID, int, int, int]]) -> None:
    for organisation_id, status, kept, left_out in samples:
        if left_out:
            log.warning(
                "refusals counted in the status without a history event each",
                extra={"organisation_id": str(organisation_id), "status": status, "events_kept": kept, "left_out": left_out},
            )


def _of_existing(
    existing: Set[uuid.UUID],
    events: list[dict[str, Any]],
    counts: dict[uuid.UUID, _Counts],
    buckets: dict[tuple[uuid.UUID, datetime], list[int]],
) -> tuple[list[dict[str, Any]], dict[uuid.UUID, _Counts], dict[tuple[uuid.UUID, datetime], list[int]]]:
    """What is pending for organisations that still exist."""
    return (
        [event for event in events if event["organisation_id"] in existing],
        {key: value for key, value in counts.items() if key in existing},
        {key: numbers for key, numbers in buckets.items() if key[0] in existing},
    )


def _write_sightings(connection: Connection, sightings: dict[tuple[uuid.UUID, str], Sighting]) -> None:
    # One order (organisation, then path) for every writer, like the buckets.
    for (organisation_id, key), sighting in sorted(sightings.items(), key=lambda item: (str(item[0][0]), item[0][1])):
        directory_repo.add_sighting(
            connection, organisation_id, key=key, path=sighting.path, resource_type=sighting.resource_type,
            value_kind=sighting.kind, example=sighting.example, first=sighting.first, last=sighting.last,
            count=sighting.count,
        )


def _later(older: _Counts, newer: _Counts) -> _Counts:
    """``older`` then ``newer``: what the status row should learn from both, in that order."""
    merged = _Counts(**{name: getattr(older, name) for name in _Counts.__slots__})
    merged.last_request_at = newer.last_request_at or older.last_request_at
    if newer.had_success:
        merged.last_success_at, merged.had_success, merged.trailing_failures = (
            newer.last_success_at,
            True,
            newer.trailing_failures,
        )
    else:
        merged.trailing_failures = older.trailing_failures + newer.trailing_failures
    if newer.last_error_at is not None:
        merged.last_error_at, merged.last_error_status, merged.last_error_detail = (
            newer.last_error_at,
            newer.last_error_status,
            newer.last_error_detail,
        )
    return merged


def _status_change(organisation_id: uuid.UUID, counts: _Counts) -> status_repo.StatusChange:
    return status_repo.StatusChange(
        organisation_id,
        last_request_at=counts.last_request_at,
        last_success_at=counts.last_success_at if counts.had_success else None,
        last_error=counts.last_error(),
        failures=counts.trailing_failures,
        failures_reset=counts.had_success,
    )


def recorder_of(app: Flask) -> Recorder:
    return app.extensions["fluid_recorder"]


def flush_pending() -> None:
    """Write this process's pending events and counts before reading events or status."""
    if has_app_context():
        recorder = current_app.extensions.get("fluid_recorder")
        if recorder is not None:
            recorder.flush()
