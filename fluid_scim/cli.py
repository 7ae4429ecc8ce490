"""``flask --app app …`` commands for operators (PRODUCT.md's CLI contract)."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from fluid_scim.cli_users import users
from fluid_scim.config import Settings
from fluid_scim.secrets import Secret, SecretStore, SecretStoreError
from fluid_scim.services import audit, organisations, scim_tokens

T = TypeVar("T")


def register_cli(app: Flask) -> None:
    from fluid_scim import cli_access, cli_events  # noqa: F401  (cli_access adds the access commands to the org group)
    from fluid_scim.cli_audit import audit

    app.cli.add_command(org)
    app.cli.add_command(users)
    app.cli.add_command(admin_token)
    app.cli.add_command(audit)
    app.cli.add_command(cli_events.events)


@contextmanager
def _failures(action: str) -> Iterator[None]:
    """Turn expected failures into one ``error:`` line on stderr and exit status 1."""
    try:
        yield
    except (organisations.OrganisationError, SecretStoreError) as exc:
        raise click.ClickException(f"{exc}; {action}") from None
    except scim_tokens.WeakToken as exc:
        raise click.ClickException(f"token refused ({exc.problem.rule}): {exc}; {action}") from None


def _settings() -> Settings:
    return current_app.extensions["fluid_settings"]


def _store() -> SecretStore:
    return current_app.extensions["fluid_secret_store"]


@click.group(cls=AppGroup)
def org() -> None:
    """Organisations: create, list, SCIM token, sync switch, access."""
    # Every change made from here is an admin event, with the operator's login as the actor.
    audit.begin(audit.AuditContext(kind="admin", actor=f"cli:{getpass.getuser()}"))


@org.command("create")
@click.argument("slug")
@click.option("--name", help="Display name (defaults to the slug).")
@click.option("--access-group", help='Name of the access group (default "Fluid User").')
def org_create(slug: str, name: str | None, access_group: str | None) -> None:
    """Create organisation SLUG ({SLUG}.{FLUID_BASE_DOMAIN}) with its access group."""
    with _failures("nothing was created"):
        created = organisations.create_organisation(slug=slug, name=name, access_group=access_group)
    click.echo(f"created organisation {created.slug} ({created.name})", err=True)
    click.echo(f"Tenant URL: {_settings().tenant_url(created.slug)}", err=True)


@org.command("list")
def org_list() -> None:
    """List organisations with their sync switch and token fingerprint."""
    rows = [("SLUG", "NAME", "SYNC", "TOKEN", "TENANT URL")]
    for item in organisations.list_organisations():
        meta = scim_tokens.token_metadata(organisation=item)
        rows.append(
            (
                item.slug,
                item.name,
                "enabled" if item.scim_sync_enabled else "disabled",
                meta.fingerprint if meta else "(none)",
                _settings().tenant_url(item.slug),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())


@org.group("token")
def token() -> None:
    """The organisation's SCIM secret token (kept in Vault)."""


@token.command("generate")
@click.argument("slug")
def token_generate(slug: str) -> None:
    """Generate a new token, replacing the old one, and print it alone on stdout."""
    with _failures("the token was not changed"):
        organisation = organisations.get_organisation(slug=slug)
        value = scim_tokens.generate_scim_token(organisation=organisation, store=_store())
    click.echo(value.reveal())


@token.command("set")
@click.argument("slug")
def token_set(slug: str) -> None:
    """Set the token to the value read from stdin (one trailing newline is stripped)."""
    raw = sys.stdin.read()
    if raw.endswith("\n"):
        raw = raw[:-2] if raw.endswith("\r\n") else raw[:-1]
    with _failures("the token was not changed"):
        organisation = organisations.get_organisation(slug=slug)
        meta = scim_tokens.set_scim_token(organisation=organisation, token=Secret(raw), store=_store())
    click.echo(f"token set for {slug} (fingerprint {meta.fingerprint})", err=True)


@org.group("sync")
def sync() -> None:
    """The "Disable SCIM User Sync" switch."""


def _sync_command(enabled: bool) -> Callable[[str], None]:
    def command(slug: str) -> None:
        with _failures("nothing was changed"):
            organisations.set_scim_sync_enabled(slug=slug, enabled=enabled)
        click.echo(f"SCIM sync {'enabled' if enabled else 'disabled'} for {slug}", err=True)

    return command


_enable = _sync_command(True)
_disable = _sync_command(False)
sync.command("enable", help="Accept SCIM requests again.")(click.argument("slug")(_enable))
sync.command("disable", help="Refuse SCIM requests (403) and change nothing.")(click.argument("slug")(_disable))


@click.command("admin-token")
@click.argument("slug")
@click.option("--url", "show_url", is_flag=True, help="Also print the admin console URL that carries the credential.")
@click.option("--operator", is_flag=True, help="Also a platform operator (may create and list organisations).")
@click.option("--ttl", type=click.IntRange(1, 3600), default=900, show_default=True, help="Lifetime in seconds (at most 3600).")
@click.option("--subject", help="Who the credential names (default cli:<login>); the history records admin:<subject>.")
@with_appcontext
def admin_token(slug: str, show_url: bool, operator: bool, ttl: int, subject: str | None) -> None:
    """Print a short-lived credential for the GraphQL admin API as a Fluid admin of SLUG (development).

    The credential alone goes to stdout (then the URL with --url); Fluid issues the real ones.
    """
    from graphql_admin.auth import mint_admin_token

    settings = _settings()
    if settings.admin_jwt_algorithm != "HS256":
        raise click.ClickException(
            "with FLUID_ADMIN_JWT_ALGORITHM=RS256 only Fluid (which holds the private key) issues credentials"
        )
    with _failures("no credential was made"):
        if operator:
            organisations.validate_slug(slug)
        else:
            organisations.get_organisation(slug=slug)
        key = _store().admin_jwt_key()
    credential = mint_admin_token(
        key=key,
        settings=settings,
        subject=subject or f"cli:{getpass.getuser()}",
        organisation=slug,
        platform_operator=operator,
        ttl_seconds=ttl,
    )
    click.echo(credential)
    if show_url:
        port = f":{settings.public_port}" if settings.public_port else ""
        click.echo(f"{settings.public_scheme}://{slug}.{settings.base_domain}{port}/admin#token={credential}")
    click.echo(f"admin credential for {slug}, valid for {ttl} seconds", err=True)
