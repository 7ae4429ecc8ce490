"""Records kept between requests while the row they were made of is read again unchanged.

A list page reads the same users again and again: the admin console pages through an organisation,
and an identity provider's import (Okta's, every cycle) lists every user to compare. Most of a
page's time went to turning its 100 rows into records and the records into JSON, the same work each
time for a user that had not changed.

A :class:`RecordCache` keeps, per process, the record made of each row, keyed by (organisation, user
id), with the row as the driver gave it. When a read brings back a row equal to the kept one, value
for value (every shown column, the groups' JSON the statement carries, ``version``), the kept record
is answered; any other row makes a new record that replaces it. Nothing is invalidated by hand, so
no write path can forget to: whatever changes a user's row, or the groups it is in, changes the row
that is read next. A record made here carries ``rendered``, a dict in which the rendering layer keeps
what it made of the record (:func:`fluid_scim.services.representation.render_records`), keyed by
the other inputs of that rendering.

Records are never changed once made (:class:`~fluid_scim.models.UserRecord`), which is what lets
one be answered to many requests. The cache holds at most ``capacity`` records; the oldest kept is
dropped first. Rows of deleted users are never read again, and age out the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from fluid_scim.models import UserRecord

# About 3 KB a record with its rendering (an Entra-shaped user): 4,096 of them are about 12 MB a
# worker. The setting FLUID_KEPT_RECORDS (fluid_scim.config) sets it for the process.
RECORDS_KEPT = 4096


class RecordCache:
    __slots__ = ("_capacity", "_entries", "_lock")

    def __init__(self, capacity: int = RECORDS_KEPT) -> None:
        self._capacity = capacity
        self._entries: dict[tuple[Any, str], tuple[Sequence[Any], UserRecord]] = {}
        self._lock = threading.Lock()

    def records(
        self, organisation_id: Any, rows: Sequence[Sequence[Any]], id_index: int, make: Callable[[Sequence[Any]], UserRecord]
    ) -> list[UserRecord]:
        """A record per row, in order: the kept one where the row is unchanged, else ``make(row)``, kept."""
        if self._capacity <= 0:
            return [make(row) for row in rows]
        entries = self._entries
        records = []
        for row in rows:
            key = (organisation_id, row[id_index])
            kept = entries.get(key)
            if kept is not None and kept[0] == row:
                records.append(kept[1])
                continue
            record = make(row)
            record.rendered = {}
            self._keep(key, row, record)
            records.append(record)
        return records

    def _keep(self, key: tuple[Any, str], row: Sequence[Any], record: UserRecord) -> None:
        with self._lock:
            entries = self._entries
            entries.pop(key, None)
            while entries and len(entries) >= self._capacity:
                del entries[next(iter(entries))]
            entries[key] = (row, record)

    def resize(self, capacity: int) -> None:
        """Keep at most ``capacity`` records from now on (``FLUID_KEPT_RECORDS``); the oldest kept go first."""
        with self._lock:
            self._capacity = capacity
            entries = self._entries
            while entries and len(entries) > max(capacity, 0):
                del entries[next(iter(entries))]

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
