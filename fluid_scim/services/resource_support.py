"""What the user and group services share: list queries, pages, versions, conflict retries."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from fluid_scim.errors import InvalidFilter, NotFound, PreconditionFailed, Uniqueness
from fluid_scim.filters import AttrPath, Compare, Filter, FilterError, FilterTooComplex, parse_filter
from fluid_scim.schema import ResourceType, UnknownAttribute, resolve
from fluid_scim.services import request_context, transaction

T = TypeVar("T")
P = ParamSpec("P")
MAX_FILTER_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A validated list/search request (RFC 7644 §3.4.2): 1-based ``start_index``, ``count`` already capped."""

    filter: str | None = None
    sort_by: str | None = None
    descending: bool = False
    start_index: int = 1
    count: int = 100
    # RFC 9865: the request used a cursor ("" for the first page) instead of startIndex.
    cursor: str | None = None

    @property
    def key(self) -> tuple[str | None, ...]:
        """What a cursor is bound to: the same filter and order."""
        return (self.filter, self.sort_by, "descending" if self.descending else "ascending")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    total: int
    start_index: int
    items: Sequence[T] = field(default_factory=tuple)


def parse_scim_filter(text: str) -> Filter:
    """Parse a client filter, turning every parser complaint into ``invalidFilter``.

    The last filter parsed is kept (its text and its tree, which is immutable): a lookup's filter is
    parsed by authentication, to read the user with the organisation (:func:`user_name_key_of`), and
    again by the list view, which then takes the kept tree.
    """
    global _last_parsed
    last = _last_parsed
    if last is not None and last[0] == text:
        return last[1]
    try:
        node = parse_filter(text, max_length=MAX_FILTER_LENGTH, allow_bare_values=True)
    except FilterTooComplex as exc:
        raise InvalidFilter(f"the filter is too long or too complex: {exc}") from None
    except FilterError as exc:
        raise InvalidFilter(f"invalid filter: {exc}") from None
    _last_parsed = (text, node)
    return node


_last_parsed: tuple[str, Filter] | None = None


def user_name_key_of(filter_text: str) -> str | None:
    """The folded userName a ``userName eq "…"`` filter looks up (as :func:`list_matching` will), else None,
    also for a filter that does not parse (the list view refuses it)."""
    from fluid_scim.schema import USER_RESOURCE

    try:
        node = parse_scim_filter(filter_text)
    except InvalidFilter:
        return None
    return _unique_key_wanted(USER_RESOURCE, node)


def existing(resource: T | None, detail: str) -> T:
    """``resource`` as a repository found it; 404 with ``detail`` when it found none."""
    if resource is None:
        raise NotFound(detail)
    return resource


def etag(version: int) -> str:
    return f'W/"{version}"'


def etag_matches(header: str, version: int) -> bool:
    """Whether an ``If-Match`` / ``If-None-Match`` list names ``version`` (or is ``*``).

    RFC 7232 §2.3.2 weak comparison: ``W/"3"`` and ``"3"`` both name version 3.
    """
    tags = [tag.strip() for tag in header.split(",")]
    current = etag(version)
    return "*" in tags or current in tags or current.removeprefix("W/") in tags


def check_if_match(if_match: str | None, version: int) -> None:
    """RFC 7644 §3.14 / RFC 7232 §3.1: a stale ``If-Match`` is 412 and changes nothing."""
    if if_match is None or etag_matches(if_match, version):
        return
    raise PreconditionFailed(f"the resource has changed: its version is {etag(version)}, not {if_match}")


def retry_on_conflict(operation: Callable[P, T]) -> Callable[P, T]:
    """Run a read-modify-write use case again when a parallel request changed the row in between.

    Only when the client did not pin a version: with ``If-Match`` the conflict is the client's 412.
    """

    @functools.wraps(operation)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(3):
            try:
                return operation(*args, **kwargs)
            except StaleDataError:
                transaction.rollback()
                if kwargs.get("if_match") is not None or attempt == 2:
                    raise PreconditionFailed("the resource was changed by another request; retry") from None
        raise AssertionError("unreachable")

    return run


def commit_unique(what: str) -> None:
    """Commit, turning a unique-index violation into 409 ``uniqueness`` (the index decides, not a pre-check)."""
    try:
        transaction.commit()
    except IntegrityError:
        transaction.rollback()
        raise Uniqueness(what) from None


@contextmanager
def unique(what: str) -> Iterator[None]:
    """Turn a unique-index violation inside the block into 409 ``uniqueness`` (the index decides, not a pre-check)."""
    try:
        yield
    except IntegrityError:
        transaction.rollback()
        raise Uniqueness(what) from None


def flush_unique(what: str) -> None:
    """Send the pending changes now, so that a unique index speaks before the use case goes on."""
    with unique(what):
        transaction.flush()


def list_resources(
    model: Any, resource_type: ResourceType, *, organisation_id: object, query: ListQuery, records: bool = False
) -> Page[Any]:
    """Filter, count, sort and page users or groups in the database (RFC 7644 §3.4.2).

    ``records``: users come as :class:`~fluid_scim.repositories.scim.UserRecord` (to be rendered only).
    """
    node = parse_scim_filter(query.filter) if query.filter else None
    return list_matching(model, resource_type, organisation_id=organisation_id, node=node, query=query, records=records)


def list_matching(
    model: Any, resource_type: ResourceType, *, organisation_id: object, node: Filter | None, query: ListQuery,
    records: bool = False,
) -> Page[Any]:
    """:func:`list_resources` with the filter already parsed (``node``; ``query.filter`` is not read)."""
    from fluid_scim.models import ScimUser
    from fluid_scim.repositories import filtering
    from fluid_scim.repositories import scim as repo

    records = records and model is ScimUser
    key = _unique_key_wanted(resource_type, node) if query.sort_by is None else None
    if key is not None:  # Entra's `userName eq` / `displayName eq` lookups: one row at most, by its unique index
        found = repo.user_record_by_key(organisation_id, key) if records else repo.find_by_key(model, organisation_id, key)
        _note_lookup(resource_type, node, found)
        items: Sequence[Any] = [found] if found is not None and query.start_index == 1 and query.count > 0 else []
        return Page(total=int(found is not None), start_index=query.start_index, items=items)
    custom = _custom_eq_wanted(resource_type, node) if query.sort_by is None and query.count > 0 else None
    if custom is not None and node is not None:  # a declared matching attribute's `eq`: one prepared statement
        from fluid_scim.repositories import directory

        items = directory.users_with_text(organisation_id, *custom, offset=query.start_index - 1, limit=query.count)
        return _paged(model, organisation_id, lambda: filtering.filter_clause(resource_type, node,
                                                                              organisation_id=organisation_id), query, items)
    clause = filtering.filter_clause(resource_type, node, organisation_id=organisation_id) if node is not None else None
    if query.count == 0:
        return Page(total=repo.count(model, organisation_id, clause), start_index=query.start_index)
    items = _page_items(model, resource_type, organisation_id, clause, query, records=records)
    return _paged(model, organisation_id, lambda: clause, query, items)


def _page_items(
    model: Any, resource_type: ResourceType, organisation_id: object, clause: Any, query: ListQuery, *, records: bool
) -> Sequence[Any]:
    """The page's users or groups (users as records with ``records``); an unfiltered list of users in
    the default order by a statement built once."""
    from fluid_scim.repositories import filtering
    from fluid_scim.repositories import scim as repo

    if records and clause is None and query.sort_by is None and not query.descending:
        return repo.user_records_by_creation(organisation_id, query.start_index, query.count)
    order = filtering.sort_clause(resource_type, query.sort_by, query.descending, filtered=clause is not None)
    if records:
        return repo.user_records_page(organisation_id, clause, order, query.start_index, query.count)
    return repo.page(model, organisation_id, clause, order, query.start_index, query.count)


def _note_lookup(resource_type: ResourceType, node: object, found: Any) -> None:
    """Tell an identity provider's request which unique name it looked up, and what it found (its event records it)."""
    context = request_context.current()
    if context.kind == "scim" and isinstance(node, Compare) and isinstance(node.value, str):
        attribute = "userName" if resource_type.name == "User" else "displayName"
        found_id = None if found is None else str(found.id)
        context.lookup = request_context.Lookup(resource_type.name, attribute, node.value, found_id)


def _paged(
    model: Any, organisation_id: object, clause: Callable[[], Any], query: ListQuery, items: Sequence[Any]
) -> Page[Any]:
    """The page, with its total: told by a short page, else counted (``clause`` gives the filter's condition)."""
    from fluid_scim.repositories import scim as repo

    if 0 < len(items) < query.count or (not items and query.start_index == 1):
        # A short page is the last one: it tells the total without COUNT(*) (Entra's `userName eq` lookups).
        return Page(total=query.start_index - 1 + len(items), start_index=query.start_index, items=items)
    total = repo.count(model, organisation_id, clause())
    return Page(total=total, start_index=query.start_index, items=items if total >= query.start_index else [])


def _custom_eq_wanted(resource_type: ResourceType, node: object) -> tuple[str, str, bool] | None:
    """(declaration id, value, caseExact) of ``<declared string attribute> eq "…"``, else None.

    The lookup :func:`fluid_scim.repositories.directory.users_with_text` runs compares exactly as
    the filter translator does (``lower()`` on both sides unless caseExact), in the same order.
    """
    if not (isinstance(node, Compare) and node.op == "eq" and isinstance(node.path, AttrPath)):
        return None
    path, value = node.path, node.value
    if path.sub_attr is not None or not isinstance(value, str):
        return None
    try:
        attribute = resolve(resource_type, path.schema, path.attr).attribute
    except UnknownAttribute:
        return None
    if attribute.custom_id is None or attribute.type != "string":
        return None
    return attribute.custom_id, (value if attribute.case_exact else value.lower()), attribute.case_exact


def _unique_key_wanted(resource_type: ResourceType, node: object) -> str | None:
    """The folded value of ``userName eq "…"`` (users) or ``displayName eq "…"`` (groups), else None.

    Both are unique per organisation (case-insensitive, NFKC): such a filter matches one row at
    most, looked up by its key exactly as the filter translator would compare it.
    """
    from fluid_scim.repositories.mapping import fold

    if not (isinstance(node, Compare) and node.op == "eq" and isinstance(node.path, AttrPath)):
        return None
    path, value = node.path, node.value
    if path.sub_attr is not None or not isinstance(value, str):
        return None
    if path.schema is not None and path.schema.lower() != resource_type.schema.id.lower():
        return None
    unique = "username" if resource_type.name == "User" else "displayname"
    return fold(value) if path.attr.lower() == unique else None
