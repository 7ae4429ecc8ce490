"""``flask --app app audit purge|export``: retention and export of the provisioning history."""

from __future__ import annotations

from datetime import UTC, date, datetime

import click
from flask.cli import AppGroup

from fluid_scim.cli.common import act_as_operator, failures, settings
from fluid_scim.services import history, organisations, provisioning_status, webhooks


@click.group(cls=AppGroup)
def audit() -> None:
    """The provisioning history: purge old events, export an organisation's events."""
    act_as_operator()


@audit.command("purge")
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    help="Delete events older than this many days (default: FLUID_AUDIT_RETENTION_DAYS, 365).",
)
def audit_purge(days: int | None) -> None:
    """Delete provisioning and access events, delivered webhook deliveries and the outbox events no endpoint
    still needs, older than the retention period (all organisations)."""
    retention = days if days is not None else settings().audit_retention_days
    removed = history.purge_events(older_than_days=retention)
    deliveries, outbox_events = webhooks.purge_delivered(older_than_days=retention)
    buckets = provisioning_status.purge_buckets()
    click.echo(
        f"purged {removed} event(s), {deliveries} delivered webhook delivery(ies), {outbox_events} outbox event(s)"
        f" and {buckets} expired status counter(s)",
        err=True,
    )


@audit.command("export")
@click.argument("slug")
@click.option("--since", required=True, help="First instant, inclusive: 2026-01-01 (UTC midnight) or 2026-01-01T08:00:00Z.")
@click.option("--until", help="End, exclusive (same forms); default: no end.")
@click.option("--format", "fmt", type=click.Choice(history.EXPORT_FORMATS), default="jsonl", show_default=True)
def audit_export(slug: str, since: str, until: str | None, fmt: str) -> None:
    """Write organisation SLUG's events on stdout, oldest first: JSON lines or CSV."""
    start = _instant(since, "--since")
    end = _instant(until, "--until") if until is not None else None
    with failures("nothing was exported"):
        organisation = organisations.get_organisation(slug=slug)
        chunks = history.export_events(organisation=organisation, since=start, until=end, fmt=fmt)
    for chunk in chunks:
        click.echo(chunk, nl=False)


def _instant(value: str, option: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 time; without an offset, UTC."""
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise click.ClickException(
            f"{option} {value!r} is not a date (2026-01-01) or a time (2026-01-01T08:00:00Z); nothing was exported"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
