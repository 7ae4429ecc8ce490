"""``flask --app app admin-token SLUG``: a short-lived credential for the GraphQL admin API (development)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from fluid_scim.cli.common import OperatorCommand, failures, operator_actor, settings, store
from fluid_scim.services import organisations
from fluid_scim.services.admin_credentials import mint_admin_token


@click.command("admin-token", cls=OperatorCommand)
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
    config = settings()
    if config.admin_jwt_algorithm != "HS256":
        raise click.ClickException(
            "with FLUID_ADMIN_JWT_ALGORITHM=RS256 only Fluid (which holds the private key) issues credentials"
        )
    with failures("no credential was made"):
        # The credential names the organisation by its id; an operator's may name one not created yet.
        if operator:
            organisations.validate_slug(slug)
            existing = organisations.find_organisation(slug=slug)
        else:
            existing = organisations.get_organisation(slug=slug)
        keys = store().admin_jwt_keys()
    credential = mint_admin_token(
        key=keys.current,
        key_id=keys.current_id,
        settings=config,
        subject=subject or operator_actor(),
        organisation=slug,
        organisation_id=existing.id if existing is not None else None,
        platform_operator=operator,
        ttl_seconds=ttl,
    )
    click.echo(credential)
    if show_url:
        port = f":{config.public_port}" if config.public_port else ""
        click.echo(f"{config.public_scheme}://{slug}.{config.base_domain}{port}/admin#token={credential}")
    click.echo(f"admin credential for {slug}, valid for {ttl} seconds", err=True)
