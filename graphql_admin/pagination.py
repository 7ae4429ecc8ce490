"""Relay-style connections (edges, pageInfo, opaque cursors) for every list that can grow.

Forward pagination only (``first``/``after``), the way an admin console pages. Cursors are opaque
to clients (:mod:`fluid_scim.cursor_codec`): provisioning events use the service's keyset cursor;
the provisioning feed, a sequence number (``seq:``); other lists, whose services page by position,
an offset (``offset:``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

import strawberry

from fluid_scim import cursor_codec
from fluid_scim.config import Settings
from graphql_admin.errors import BadInputError

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 20
MAX_OFFSET = 10_000_000
#: Feed sequence numbers are SQL BIGINTs: a cursor past the largest names no event.
MAX_SEQUENCE = 2**63 - 1
_OFFSET = "offset"
_SEQUENCE = "seq"


@strawberry.type(description="Where a page sits in its list (Relay cursor connections).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def page_size(first: int | None, settings: Settings) -> int:
    """``first`` checked against ``FLUID_GRAPHQL_MAX_PAGE_SIZE`` (a default when absent)."""
    largest = settings.graphql_max_page_size
    size = min(DEFAULT_PAGE_SIZE, largest) if first is None else first
    if not 1 <= size <= largest:
        raise BadInputError(f"first must be between 1 and {largest}; got {size}", argument="first")
    return size


def encode_offset(offset: int) -> str:
    return cursor_codec.encode_number(offset, kind=_OFFSET)


def decode_offset(cursor: str | None) -> int:
    """The position after which a page starts (0 without a cursor)."""
    if cursor is None:
        return 0
    try:
        return cursor_codec.decode_number(cursor, kind=_OFFSET, maximum=MAX_OFFSET)
    except cursor_codec.CursorError:
        raise BadInputError("after is not a cursor of this list: pass an endCursor it returned", argument="after") from None


def encode_feed_cursor(seq: int) -> str:
    """The cursor after the feed event numbered ``seq``."""
    return cursor_codec.encode_number(seq, kind=_SEQUENCE)


def decode_feed_cursor(cursor: str | None) -> int:
    """The sequence number after which a feed page starts (0 without a cursor)."""
    if cursor is None:
        return 0
    try:
        return cursor_codec.decode_number(cursor, kind=_SEQUENCE, maximum=MAX_SEQUENCE)
    except cursor_codec.CursorError:
        raise BadInputError("after is not a cursor of this feed: pass an endCursor it returned", argument="after") from None


def connection(nodes: Sequence[T], cursors: Sequence[str], *, has_next: bool, has_previous: bool) -> Connection[T]:
    edges = [Edge(cursor=cursor, node=node) for node, cursor in zip(nodes, cursors, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
    )


def offset_connection(nodes: Sequence[T], *, offset: int, has_next: bool) -> Connection[T]:
    """A page of a positionally paged list: ``nodes`` start right after position ``offset``."""
    cursors = [encode_offset(offset + index + 1) for index in range(len(nodes))]
    return connection(nodes, cursors, has_next=has_next, has_previous=offset > 0)


def page_connection(rows: Sequence[T], *, offset: int, size: int) -> Connection[T]:
    """A page read from the database as ``LIMIT size + 1 OFFSET offset``: the extra row, if any, only
    says that a next page exists (no count, no list read whole)."""
    return offset_connection(list(rows[:size]), offset=offset, has_next=len(rows) > size)
