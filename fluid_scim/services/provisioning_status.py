"""Per-organisation provisioning status: kept current as requests happen, cheap to read.

Each SCIM request counts in one status row and one five-minute counter bucket; the process's
:class:`~fluid_scim.services.recorder.Recorder` writes the counts in batches (upserts). Reading
the status sums at most a day of buckets (288 rows) and counts users and groups through indexes;
it never scans events.

The health verdict flags what puts an Entra provisioning job into quarantine (Microsoft's
"Application provisioning in quarantine status"): 401s (invalid credentials), a high share of
failures (escrow: more than 40%), and 404s answered to queries (a SCIM compliance problem).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fluid_scim.models import Organisation, ProvisioningStatus
from fluid_scim.models.types import utcnow
from fluid_scim.repositories import organisations as organisation_repo
from fluid_scim.repositories import status as repo
from fluid_scim.services import transaction
from fluid_scim.services.recorder import BUCKET_SECONDS, flush_pending

BUCKET = timedelta(seconds=BUCKET_SECONDS)
FAILURE_SHARE = 0.4  # Entra's escrow threshold
MIN_REQUESTS_FOR_SHARE = 20


@dataclass(frozen=True, slots=True)
class Window:
    requests: int
    errors: int
    unauthorized: int
    query_not_found: int
    without_token: int  # refused without a bearer token; not in the four above


@dataclass(frozen=True, slots=True)
class StatusView:
    last_request_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error_status: int | None
    last_error_detail: str | None
    consecutive_failures: int
    last_hour: Window
    last_day: Window
    verdict: str
    reasons: tuple[str, ...]
    token_set: bool
    token_created_at: datetime | None
    token_last_used_at: datetime | None
    users_total: int
    users_active: int
    users_with_access: int
    groups_total: int


def status_of(*, organisation: Organisation, now: datetime | None = None) -> StatusView:
    now = now or utcnow()
    flush_pending()
    row = repo.status_row(organisation.id)
    hour, day = _window(organisation, now - timedelta(hours=1)), _window(organisation, now - timedelta(days=1))
    verdict, reasons = _verdict(hour, row)
    token = organisation_repo.token_of(organisation.id)
    return StatusView(
        last_request_at=row.last_request_at if row else None,
        last_success_at=row.last_success_at if row else None,
        last_error_at=row.last_error_at if row else None,
        last_error_status=row.last_error_status if row else None,
        last_error_detail=row.last_error_detail if row else None,
        consecutive_failures=row.consecutive_failures if row else 0,
        last_hour=hour,
        last_day=day,
        verdict=verdict,
        reasons=reasons,
        token_set=token is not None,
        token_created_at=token.created_at if token else None,
        token_last_used_at=token.last_used_at if token else None,
        **repo.directory_counts(organisation.id),
    )


def purge_buckets(*, older_than: timedelta = timedelta(days=2)) -> int:
    removed = repo.delete_buckets_before(utcnow() - older_than)
    transaction.commit()
    return removed


def _window(organisation: Organisation, since: datetime) -> Window:
    # The bucket that started before ``since`` holds requests inside the window too.
    return Window(*repo.bucket_totals(organisation.id, since=since - BUCKET))


def _verdict(hour: Window, row: ProvisioningStatus | None) -> tuple[str, tuple[str, ...]]:
    if hour.requests == 0:
        return "idle", ("no SCIM requests in the last hour",)
    reasons: list[str] = []
    if hour.unauthorized and row is not None and row.last_error_status == 401 and row.consecutive_failures > 0:
        reasons.append(
            f"{hour.unauthorized} request(s) refused with 401 in the last hour: the IdP's secret token is wrong"
            " or was rotated; Entra quarantines a job on invalid credentials"
        )
    if hour.requests >= MIN_REQUESTS_FOR_SHARE and hour.errors / hour.requests > FAILURE_SHARE:
        reasons.append(
            f"{hour.errors} of {hour.requests} requests failed in the last hour (over {FAILURE_SHARE:.0%}):"
            " Entra quarantines a job with this share of failures"
        )
    if hour.query_not_found:
        reasons.append(f"{hour.query_not_found} query(ies) answered 404 in the last hour: Entra reads that as non-compliance")
    return ("at_risk", tuple(reasons)) if reasons else ("healthy", ())
