"""Records kept between requests while the row they were made of is read again unchanged.

A list page reads the same users again and again: the admin console pages through an organisation,
and an identity provider's import (Okta's) pages through every user to compare. Most of a
page's time went to turning its 100 rows into records and the records into JSON, the same work each
time for a user that had not changed.

A :class:`RecordCache` keeps, per process, a record of each row (:class:`KeptRecord`), keyed by
(organisation, user id), with the row as the driver gave it. When a read brings back a row equal to
the kept one, value for value (every shown column, the groups' JSON the statement carries,
``version``), the kept record is answered; any other row makes a new record that replaces it.
Nothing is invalidated by hand, so no write path can forget to: whatever changes a user's row, or the
groups it is in, changes the row that is read next. A record made here carries ``rendered``, a dict
in which the rendering layer keeps what it made of the record
(:func:`fluid_scim.services.kept_renderings.render_records`), keyed by the other inputs of that
rendering.

Records are never changed once made (:class:`~fluid_scim.models.UserRecord`), which is what lets
one be answered to many requests. The cache holds at most ``capacity`` records, and at most
``BYTES_PER_RECORD`` times as many bytes (as :func:`_size` counts them); the oldest kept is dropped
first. Rows of deleted users are never read again, and age out the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from fluid_scim.models import UserRecord

# About 4 KB a kept user with its JSON (an Entra-shaped user, tracemalloc): 4,096 of them are about
# 16 MB a worker. The setting FLUID_KEPT_RECORDS (fluid_scim.config) sets it for the process.
RECORDS_KEPT = 4096
# What the kept users may hold in all, per record the cache may keep (about twice an Entra user's),
# so that users with large attributes cannot make a worker's cache grow past its share: they push
# out the oldest kept sooner. A user whose row alone is larger than LARGEST_KEPT is not kept.
BYTES_PER_RECORD = 8 * 1024
LARGEST_KEPT = 64 * 1024


class KeptRecord(UserRecord):
    """A kept user's record: its row, the plain columns and ``rendered``; the whole record is made from
    the row when something is to be rendered anew (:meth:`whole`), and not kept.

    A page that answers the kept JSON reads only ``rendered`` and the plain columns (``id``,
    ``manager_id``), so a kept user costs its row and its JSON, not also a decoded copy of it (about 4 KB
    an Entra user instead of 14, tracemalloc). Any other attribute read makes the whole record for that
    read alone.
    """

    def __init__(self, row: Sequence[Any], make: Callable[[Sequence[Any]], UserRecord], **plain: Any) -> None:
        super().__init__(**plain)
        self.__dict__["_row_and_make"] = (row, make)

    def whole(self) -> UserRecord:
        """The record made anew from the row, sharing this one's ``rendered``."""
        row, make = self.__dict__["_row_and_make"]
        record = make(row)
        record.rendered = self.rendered
        return record

    def __getattr__(self, name: str) -> Any:  # only for what is not set
        if name.startswith("__") or "_row_and_make" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.whole(), name)


def whole(record: UserRecord) -> UserRecord:
    """``record``, or the whole record of a :class:`KeptRecord`: what rendering reads."""
    return record.whole() if isinstance(record, KeptRecord) else record


class RecordCache:
    __slots__ = ("_bytes", "_capacity", "_entries", "_lock")

    def __init__(self, capacity: int = RECORDS_KEPT) -> None:
        self._capacity = capacity
        # (organisation id, user id) -> (row, its size, the kept record), oldest first
        self._entries: dict[tuple[Any, str], tuple[Sequence[Any], int, KeptRecord]] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def records(
        self, organisation_id: Any, rows: Sequence[Sequence[Any]], make: Callable[[Sequence[Any]], UserRecord],
        plain: Mapping[str, int],
    ) -> list[UserRecord]:
        """A record per row, in order: the kept one where the row is unchanged, else ``make(row)``, kept.

        ``plain``: the index in the row of ``id`` and of any other column whose value as the driver
        gives it is the record's (plain text): a kept record has them without being made.
        """
        if self._capacity <= 0:
            return [make(row) for row in rows]
        entries = self._entries
        id_index = plain["id"]
        records: list[UserRecord] = []
        for row in rows:
            key = (organisation_id, row[id_index])
            kept = entries.get(key)
            if kept is not None and kept[0] == row:
                records.append(kept[2])
                continue
            record = make(row)
            size = _size(row)
            if size <= LARGEST_KEPT:
                record.rendered = {}  # shared with the kept record: what this request renders is kept
                plain_values = {name: row[index] for name, index in plain.items()}
                self._keep(key, row, size, KeptRecord(row, make, rendered=record.rendered, **plain_values))
            records.append(record)
        return records

    def _keep(self, key: tuple[Any, str], row: Sequence[Any], size: int, record: KeptRecord) -> None:
        with self._lock:
            self._drop(key)
            self._make_room(self._capacity - 1, BYTES_PER_RECORD * self._capacity - size)
            self._entries[key] = (row, size, record)
            self._bytes += size

    def _drop(self, key: tuple[Any, str]) -> None:
        dropped = self._entries.pop(key, None)
        if dropped is not None:
            self._bytes -= dropped[1]

    def _make_room(self, records: int, size: int) -> None:
        """Drop the oldest kept until at most ``records`` are kept, of at most ``size`` bytes."""
        entries = self._entries
        while entries and (len(entries) > records or self._bytes > size):
            self._drop(next(iter(entries)))

    def resize(self, capacity: int) -> None:
        """Keep at most ``capacity`` records from now on (``FLUID_KEPT_RECORDS``); the oldest kept go first."""
        with self._lock:
            self._capacity = capacity
            self._make_room(max(capacity, 0), BYTES_PER_RECORD * max(capacity, 0))

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """What the kept rows and their JSON hold, as :func:`_size` counts it."""
        return self._bytes


def _size(row: Sequence[Any]) -> int:
    """About the bytes a kept row and its JSON hold: twice the row's text (the JSON is about its size),
    JSON decoded by the driver (PostgreSQL) counted as its text, and a fixed part for the rest."""
    text = 0
    for value in row:
        if type(value) is str or type(value) is bytes:
            text += len(value)
        elif isinstance(value, dict | list):
            try:
                text += len(orjson.dumps(value))
            except TypeError:  # what orjson cannot write (an integer beyond 64 bits): not kept
                text += LARGEST_KEPT
    return 2 * text + 1024
