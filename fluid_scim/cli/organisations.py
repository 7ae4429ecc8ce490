"""``flask --app app org …``: create and list organisations, their SCIM token and sync switch."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import click
from flask.cli import AppGroup

from fluid_scim.cli.common import act_as_operator, failures, settings, store, whole_file
from fluid_scim.errors import RemovalInterrupted
from fluid_scim.secrets import Secret
from fluid_scim.services import offboarding, organisations, scim_tokens

T = TypeVar("T")


@click.group(cls=AppGroup)
def org() -> None:
    """Organisations: create, list, SCIM token, sync switch, access, export, delete."""
    act_as_operator()


@org.command("create")
@click.argument("slug")
@click.option("--name", help="Display name (defaults to the slug).")
@click.option("--access-group", help='Name of the access group (default "Fluid User").')
def org_create(slug: str, name: str | None, access_group: str | None) -> None:
    """Create organisation SLUG ({SLUG}.{FLUID_BASE_DOMAIN}) with its access group."""
    with failures("nothing was created"):
        created = organisations.create_organisation(slug=slug, name=name, access_group=access_group)
    click.echo(f"created organisation {created.slug} ({created.name})", err=True)
    click.echo(f"Tenant URL: {settings().tenant_url(created.slug)}", err=True)


@org.command("list")
def org_list() -> None:
    """List organisations with their sync switch (or "removing") and token fingerprint."""
    rows = [("SLUG", "NAME", "SYNC", "TOKEN", "TENANT URL")]
    for item in organisations.list_organisations():
        meta = scim_tokens.token_metadata(organisation=item)
        rows.append(
            (
                item.slug,
                item.name,
                _sync_state(item.scim_sync_enabled, item.removal_started_at is not None),
                meta.fingerprint if meta else "(none)",
                settings().tenant_url(item.slug),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())


def _sync_state(enabled: bool, being_removed: bool) -> str:
    if being_removed:
        return "removing"
    return "enabled" if enabled else "disabled"


@org.command("delete")
@click.argument("slug")
@click.option("--yes", "confirmed", is_flag=True, help="Confirm: remove the organisation and everything it owns, for good.")
def org_delete(slug: str, confirmed: bool) -> None:
    """Remove organisation SLUG: its users, groups, history, status, outbox, webhooks, and its secrets in Vault.

    Safe to run again after a failure midway: the next run finishes what the last one began.
    Export the organisation's data first if the customer wants it (org export).
    """
    if not confirmed:
        raise click.UsageError(f"this removes organisation {slug!r} and all its data for good; add --yes to confirm")

    def progress(step: str, count: int) -> None:
        if count:
            click.echo(f"  {step}: {count} removed", err=True)

    with failures("nothing was removed"):
        try:
            report = offboarding.remove_organisation(slug=slug, store=store(), progress=progress)
        except RemovalInterrupted as exc:  # its detail says what was done and what to do
            raise click.ClickException(exc.detail) from None
    deleted = sum(report.rows_deleted.values())
    click.echo(
        f"removed organisation {report.slug} ({report.organisation_id}): {report.secrets_destroyed} secret(s)"
        f" destroyed and {deleted} row(s) deleted by this run; removal requested by {report.requested_by}"
        f" at {report.requested_at:%Y-%m-%d %H:%M:%S} UTC",
        err=True,
    )


@org.command("export")
@click.argument("slug")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-", show_default=True,
    help="File to write (- for stdout).",
)
def org_export(slug: str, output: str) -> None:
    """Write organisation SLUG's users, groups and provisioning history as JSON lines.

    One object per line: {"type": "user"|"group"|"event", "data": …}; users and groups in their
    SCIM representation. For a customer who asks for their data (and before org delete).
    """
    with failures("nothing was exported"):
        organisation = organisations.get_organisation(slug=slug)
        lines = offboarding.export_organisation(organisation=organisation, base_url=settings().tenant_url(slug))
        counts: dict[str, int] = {}
        with whole_file(output) as sink:
            for kind, line in lines:
                sink.write(line)
                counts[kind] = counts.get(kind, 0) + 1
    summary = ", ".join(f"{counts.get(kind, 0)} {kind}(s)" for kind in offboarding.EXPORT_TYPES)
    click.echo(f"exported {summary} of {slug}", err=True)


@org.group("token")
def token() -> None:
    """The organisation's SCIM secret token (kept in Vault)."""


@token.command("generate")
@click.argument("slug")
def token_generate(slug: str) -> None:
    """Generate a new token, replacing the old one, and print it alone on stdout."""
    with failures("the token was not changed"):
        organisation = organisations.get_organisation(slug=slug)
        value = scim_tokens.generate_scim_token(organisation=organisation, store=store())
    click.echo(value.reveal())


@token.command("set")
@click.argument("slug")
def token_set(slug: str) -> None:
    """Set the token to the value read from stdin (one trailing newline is stripped)."""
    raw = sys.stdin.read()
    if raw.endswith("\n"):
        raw = raw[:-2] if raw.endswith("\r\n") else raw[:-1]
    with failures("the token was not changed"):
        organisation = organisations.get_organisation(slug=slug)
        meta = scim_tokens.set_scim_token(organisation=organisation, token=Secret(raw), store=store())
    click.echo(f"token set for {slug} (fingerprint {meta.fingerprint})", err=True)


@org.group("sync")
def sync() -> None:
    """The "Disable SCIM User Sync" switch."""


def _sync_command(enabled: bool) -> Callable[[str], None]:
    def command(slug: str) -> None:
        with failures("nothing was changed"):
            organisations.set_scim_sync_enabled(slug=slug, enabled=enabled)
        click.echo(f"SCIM sync {'enabled' if enabled else 'disabled'} for {slug}", err=True)

    return command


_enable = _sync_command(True)
_disable = _sync_command(False)
sync.command("enable", help="Accept SCIM requests again.")(click.argument("slug")(_enable))
sync.command("disable", help="Refuse SCIM requests (403) and change nothing.")(click.argument("slug")(_disable))
