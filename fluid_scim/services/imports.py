"""``users import``: create the Fluid users that existed before SCIM, so that SCIM adopts them.

Each CSV row becomes a SCIM User document, validated like a POST body, and is stored with
``origin="import"`` and no ``linked_at``: the access and roles the row gives hold until the first
SCIM write adopts the user (found by ``userName eq``, case-insensitively, or by e-mail as the
documented fallback — see :func:`fluid_scim.services.users.create_user`).

Transactions: **one commit per row**. A refused row writes nothing and never undoes a created
one; a created row is durable the moment it is reported, so an interrupted import of 100,000 rows
keeps its progress and simply continues when run again (existing users are skipped). One long
transaction with a SAVEPOINT per row would give the same isolation between rows, but it would hold
SQLite's single write lock (and PostgreSQL's locks on the new userName keys) for the whole file,
stalling the live SCIM traffic of every organisation, and a failure of its final commit would turn
every "created" already reported into a lie.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from sqlalchemy.exc import IntegrityError, OperationalError

from fluid_scim.errors import DomainError, ImportFileRefused
from fluid_scim.models import AccessEvent, Organisation, ScimUser
from fluid_scim.models.scim import new_id
from fluid_scim.models.types import utcnow
from fluid_scim.repositories import access as access_repo
from fluid_scim.repositories import mapping
from fluid_scim.repositories import organisations as organisations_repo
from fluid_scim.repositories import scim as repo
from fluid_scim.schema import USER_RESOURCE
from fluid_scim.schema.coerce import coerce_resource
from fluid_scim.services import transaction
from fluid_scim.services.access import ROLE_NAME

MAX_ROWS = 100_000
_ATTEMPTS = 3
# Lower-cased header name -> canonical column name.
COLUMNS: dict[str, str] = {
    name.lower(): name for name in ("userName", "email", "givenName", "familyName", "displayName", "roles", "active")
}
_ROLE_SEPARATORS = re.compile(r"[;|]")
# Deliberately loose: one "@" with something on both sides and no blanks. Its job is to catch a
# column mix-up (a name where the address should be), not to judge deliverability.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

Outcome = Literal["created", "skipped", "refused"]


@dataclass(frozen=True, slots=True)
class RowResult:
    """What happened to one row. ``row`` counts the header as row 1, as a spreadsheet does."""

    row: int
    user_name: str
    outcome: Outcome
    reason: str = ""
    user_id: str | None = None


@dataclass(slots=True)
class ImportReport:
    results: list[RowResult] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def created(self) -> int:
        return self.count("created")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def refused(self) -> int:
        return self.count("refused")

    def summary(self) -> str:
        return f"created {self.created}, skipped {self.skipped}, refused {self.refused}"


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- the file ------------------------------------------------------------------------------------


def read_csv(stream: IO[bytes]) -> list[dict[str, str]]:
    """The rows of a UTF-8 CSV file (a BOM is allowed) as dicts keyed by the header's names.

    A blank line comes back as ``{}`` so that row numbers stay those of the file; it is skipped by
    :func:`import_users`. The whole file is refused (:class:`ImportFileRefused`) when it is not
    UTF-8 or not CSV, has no header or a header with unknown, repeated or blank column names, has
    a row with values beyond the header's columns, or has more than :data:`MAX_ROWS` rows.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    rows: list[dict[str, str]] = []
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileRefused("the file is empty: it needs a header row naming its columns, such as userName,email")
        names = _header(header)
        data_rows = 0
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                rows.append({})
                continue
            data_rows += 1
            if data_rows > MAX_ROWS:
                raise ImportFileRefused(f"the file has more than {MAX_ROWS:,} rows; split it into smaller files")
            if any(cell.strip() for cell in cells[len(names) :]):
                raise ImportFileRefused(
                    f"row {len(rows) + 2} has {len(cells)} values but the header names {len(names)} columns"
                    " (is a value with a comma missing its quotes?)"
                )
            rows.append({name: (cells[index] if index < len(cells) else "") for index, name in enumerate(names)})
    except UnicodeDecodeError as exc:
        raise ImportFileRefused(
            f"the file is not UTF-8 text (near line {reader.line_num + 1}: {exc.reason}); save it as CSV UTF-8"
        ) from None
    except csv.Error as exc:
        raise ImportFileRefused(f"the file is not valid CSV (line {reader.line_num}): {exc}") from None
    finally:
        text.detach()
    return rows


def _header(cells: list[str]) -> list[str]:
    names = [cell.strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    if "" in names:
        raise ImportFileRefused(f"column {names.index('') + 1} of the header has no name")
    _check_columns(names)
    if "username" not in {name.lower() for name in names}:
        raise ImportFileRefused("the header has no userName column, which is required")
    return names


def _check_columns(names: Iterable[str]) -> None:
    seen: dict[str, str] = {}
    unknown: list[str] = []
    for name in names:
        if not isinstance(name, str):
            raise ImportFileRefused("a row has more values than the header has columns")
        key = name.strip().lower()
        if key not in COLUMNS:
            if name not in unknown:
                unknown.append(name)
            continue
        if key in seen:
            raise ImportFileRefused(f"the column {COLUMNS[key]} is given twice (as '{seen[key]}' and '{name}')")
        seen[key] = name
    if unknown:
        known = ", ".join(COLUMNS.values())
        raise ImportFileRefused(
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; the columns are {known}"
        )


# -- the import ----------------------------------------------------------------------------------


def import_users(
    *,
    organisation: Organisation,
    rows: Iterable[dict[str, str]],
    progress: Callable[[RowResult], None] | None = None,
) -> ImportReport:
    """Create the users of ``rows`` in ``organisation``: each row is created, skipped or refused.

    ``rows`` are dicts keyed by column name (any case); an empty dict (a blank line) counts for
    the row numbers and is skipped. Unknown columns, or more than :data:`MAX_ROWS` rows, refuse
    the whole input before anything is written. ``progress`` is called with each result as soon
    as it is final (committed, for a created row). Each row is its own transaction.
    """
    materialised = [_canonical(row) for row in rows]
    if sum(1 for row in materialised if row) > MAX_ROWS:
        raise ImportFileRefused(f"the file has more than {MAX_ROWS:,} rows; split it into smaller files")
    organisation_id = organisation.id  # read once: every commit expires the instance
    report = ImportReport()
    first_row: dict[str, int] = {}
    for number, row in _numbered(materialised):
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                result = _import_row(organisation_id, number, row, first_row)
                break
            except OperationalError:
                # A busy database (SQLite: a SCIM request wrote between this row's check and its
                # insert) or a dropped connection: this row's transaction is gone, so run it again.
                transaction.rollback()
                if attempt == _ATTEMPTS:
                    raise
                time.sleep(0.05 * 2**attempt)
        transaction.rollback()  # ends a skipped or refused row's read transaction: none spans two rows
        report.results.append(result)
        if progress is not None:
            progress(result)
    return report


def _numbered(rows: list[dict[str, str]]) -> Iterator[tuple[int, dict[str, str]]]:
    for index, row in enumerate(rows):
        if any(value for value in row.values()):
            yield index + 2, row  # the header is row 1


def _canonical(row: dict[str, Any]) -> dict[str, str]:
    _check_columns(row)
    return {COLUMNS[key.strip().lower()]: ("" if value is None else str(value).strip()) for key, value in row.items()}


def _import_row(organisation_id: Any, number: int, row: dict[str, str], first_row: dict[str, int]) -> RowResult:
    user_name = row.get("userName", "")
    try:
        if not user_name:
            raise _Refused("'userName' is required")
        key = mapping.fold(user_name)
        first = first_row.setdefault(key, number)  # (a retried row finds itself)
        if first != number:
            raise _Refused(f"duplicate of row {first}")
        document, roles = _document(row)
        if repo.user_exists_with_key(organisation_id, key):
            return RowResult(number, user_name, "skipped", "exists")
        email = row.get("email", "")
        other = repo.imported_user_name_with_email(organisation_id, email) if email else None
        if other is not None:
            raise _Refused(
                f"email '{email}' is already the email of imported user '{other}'; adoption by email needs exactly one match"
            )
        user_id = _create(organisation_id, document, roles)
    except _Refused as refused:
        transaction.rollback()
        return RowResult(number, user_name, "refused", refused.reason)
    except IntegrityError:
        transaction.rollback()
        if repo.user_exists_with_key(organisation_id, mapping.fold(user_name)):
            return RowResult(number, user_name, "skipped", "exists")  # created by SCIM meanwhile
        return RowResult(number, user_name, "refused", "the database refused the row (a unique value is taken)")
    except BaseException:
        transaction.rollback()
        raise
    return RowResult(number, user_name, "created", user_id=user_id)


def _document(row: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The SCIM User document of a row, validated as a POST body would be, and its Fluid roles."""
    body: dict[str, Any] = {"userName": row["userName"], "active": row.get("active") or "true"}
    email = row.get("email", "")
    if email:
        if not _EMAIL.match(email):
            raise _Refused(f"email '{email}' is not an e-mail address")
        body["emails"] = [{"value": email, "type": "work", "primary": True}]
    name = {sub: row[column] for sub, column in (("givenName", "givenName"), ("familyName", "familyName")) if row.get(column)}
    if name:
        body["name"] = name
    if row.get("displayName"):
        body["displayName"] = row["displayName"]
    try:
        document = coerce_resource(USER_RESOURCE, body, quirks=set())
    except DomainError as error:
        raise _Refused(error.detail) from None
    roles: set[str] = set()
    for raw in _ROLE_SEPARATORS.split(row.get("roles", "")):
        role = raw.strip().lower()
        if not role:
            continue
        if not ROLE_NAME.match(role):
            raise _Refused(
                f"role '{raw.strip()}' is not a Fluid role name (a letter, then up to 63 letters, digits, '_', '.' or '-')"
            )
        roles.add(role)
    return document, sorted(roles)


def _create(organisation_id: Any, document: dict[str, Any], roles: list[str]) -> str:
    """Store one imported user with the access the row gives it, and commit."""
    now = utcnow()
    granted = document["active"] is True
    after = roles if granted else []
    user = ScimUser(
        organisation_id=organisation_id,
        id=new_id(),
        version=1,
        created_at=now,
        updated_at=now,
        multi_valued={},
        origin="import",
        linked_at=None,
        access_granted=granted,
        fluid_roles=after,
        access_changed_at=now,
    )
    values = mapping.write_user(user, document) + mapping.fluid_role_rows(user, after)
    user_id, user_name = user.id, user.user_name
    repo.add_user(user, values)  # the userName key's unique index speaks before the dependent rows
    if granted:
        access_repo.add_access_event(
            AccessEvent(
                organisation_id=organisation_id,
                user_id=user_id,
                user_name=user_name,
                kind="granted",
                reason="import",
                roles_before=[],
                roles_after=after,
                created_at=now,
            )
        )
    # In the user's own transaction: from the first imported user on, a SCIM create looks for one to
    # adopt (an UPDATE that matches nothing once the flag is set).
    organisations_repo.mark_imports_waiting(organisation_id)
    transaction.commit()
    return user_id
