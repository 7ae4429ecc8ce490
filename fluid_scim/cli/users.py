"""``flask --app app users …``: the users that existed in Fluid before SCIM."""

from __future__ import annotations

from typing import IO

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from fluid_scim.cli.common import act_as_operator, failures
from fluid_scim.services import audit, imports, organisations


@click.group(cls=AppGroup)
def users() -> None:
    """Users: import the accounts that existed before SCIM, for SCIM to adopt."""
    act_as_operator()


@users.command("import")
@click.argument("slug")
@click.argument("file", type=click.File("rb"))
@click.pass_context
def users_import(ctx: click.Context, slug: str, file: IO[bytes]) -> None:
    """Create the users listed in FILE (CSV, UTF-8; "-" reads stdin) in organisation SLUG.

    Columns (header names in any case): userName (required), email, givenName, familyName,
    displayName, roles (Fluid roles separated by ";" or "|"), active (true/false, default true).
    One line per row on stdout, a summary on stderr; exit status 1 when a row was refused (the
    other rows are imported all the same). Running the same file again skips who exists.
    """
    try:
        with failures("nothing was imported"):
            organisation = organisations.get_organisation(slug=slug)
            rows = imports.read_csv(file)
            report = imports.import_users(organisation=organisation, rows=rows, progress=_echo)
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"the database failed ({type(exc).__name__}); the rows reported as created are imported,"
            " run the same file again to continue"
        ) from None
    # The service commits row by row and records no summary: the operator's action is recorded here (as the admin API does).
    audit.record_outside(organisation, operation="users.imported", status=200, detail=report.summary())
    click.echo(report.summary(), err=True)
    if report.refused:
        ctx.exit(1)


def _echo(result: imports.RowResult) -> None:
    outcome = f"{result.outcome}: {result.reason}" if result.reason else result.outcome
    click.echo(_printable(f"row {result.row}  {result.user_name or '-'}  {outcome}"))


def _printable(text: str) -> str:
    """One terminal line whatever the file held: control and other unprintable characters escaped."""
    return "".join(char if char.isprintable() else f"\\u{ord(char):04x}" for char in text)
