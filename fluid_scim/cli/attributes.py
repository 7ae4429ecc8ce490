"""``flask --app app attributes …``: an organisation's declared custom attributes and undeclared-attribute policy.

Declaring, retyping and removing say what became of the values users already hold; values that do
not fit a new type refuse the change (exit status 1, nothing changed) unless ``--drop-mismatched``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask.cli import AppGroup

from fluid_scim.cli.common import act_as_operator, failures
from fluid_scim.models import AttributeDeclaration
from fluid_scim.schema.custom import CUSTOM_TYPES, POLICIES
from fluid_scim.services import directory_attributes, organisations
from fluid_scim.services.directory_attributes import Spec, StoredValues


@click.group(cls=AppGroup)
def attributes() -> None:
    """Directory attributes: declare custom attributes, the undeclared-attribute policy."""
    act_as_operator()


def _path(row: AttributeDeclaration) -> str:
    return f"{row.schema_urn}:{row.name}" if row.schema_urn else row.name


def _traits(row: AttributeDeclaration) -> str:
    return ", ".join([row.type] + ["multi-valued"] * row.multi_valued + ["case-exact"] * row.case_exact)


def _stored(stored: StoredValues) -> str:
    return f"{stored.converted} value(s) converted, {stored.dropped} dropped"


_TYPE = click.option("--type", "type_", type=click.Choice(CUSTOM_TYPES), default="string", show_default=True,
                     help="The values' type (RFC 7643 §2.3).")
_MULTI = click.option("--multi-valued", is_flag=True, help="Values are lists.")
_CASE = click.option("--case-exact", is_flag=True, help="Compare values case-sensitively in filters.")
_DESCRIPTION = click.option("--description", default="", help="Shown in /Schemas.")
_DROP = click.option("--drop-mismatched", is_flag=True,
                     help="Drop (and record in each user's history) stored values that do not fit the type.")


@attributes.command("list")
@click.argument("slug")
def attributes_list(slug: str) -> None:
    """The declared attributes of organisation SLUG, and its undeclared-attribute policy."""
    with failures("nothing was listed"):
        organisation = organisations.get_organisation(slug=slug)
        rows = directory_attributes.declarations(organisation=organisation)
    click.echo(f"{'PATH':<60} {'TYPE':<9} {'MULTI':<6} {'CASE':<5} DESCRIPTION")
    for row in rows:
        click.echo(f"{_path(row):<60} {row.type:<9} {'yes' if row.multi_valued else 'no':<6}"
                   f" {'yes' if row.case_exact else 'no':<5} {row.description}")
    click.echo(f"{len(rows)} declared attribute(s); undeclared policy: {organisation.undeclared_policy or 'keep'}", err=True)


@attributes.command("declare")
@click.argument("slug")
@click.argument("path")
@_TYPE
@_MULTI
@_CASE
@_DESCRIPTION
@_DROP
def attributes_declare(
    slug: str, path: str, type_: str, multi_valued: bool, case_exact: bool, description: str, drop_mismatched: bool
) -> None:
    """Declare PATH ('<extension URN>:<name>' or a plain name) in organisation SLUG."""
    spec = Spec(path=path, type=type_, multi_valued=multi_valued, case_exact=case_exact, description=description)
    _write("declared", directory_attributes.declare, slug, spec, drop_mismatched)


@attributes.command("change")
@click.argument("slug")
@click.argument("path")
@_TYPE
@_MULTI
@_CASE
@_DESCRIPTION
@_DROP
def attributes_change(
    slug: str, path: str, type_: str, multi_valued: bool, case_exact: bool, description: str, drop_mismatched: bool
) -> None:
    """Change the type or characteristics of declared PATH (unset flags are switched off)."""
    spec = Spec(path=path, type=type_, multi_valued=multi_valued, case_exact=case_exact, description=description)
    _write("changed", directory_attributes.change, slug, spec, drop_mismatched)


def _write(done: str, action: Callable[..., tuple[Any, Any]], slug: str, spec: Spec, drop_mismatched: bool) -> None:
    with failures("nothing was changed"):
        organisation = organisations.get_organisation(slug=slug)
        row, stored = action(organisation=organisation, spec=spec, drop_mismatched=drop_mismatched)
    click.echo(f"{done} {_path(row)} ({_traits(row)}); {_stored(stored)}")


@attributes.command("remove")
@click.argument("slug")
@click.argument("path")
@click.option("--delete-values", is_flag=True,
              help="Delete the values users hold (each recorded); otherwise they stay as undeclared values.")
def attributes_remove(slug: str, path: str, delete_values: bool) -> None:
    """Remove the declaration of PATH."""
    with failures("nothing was changed"):
        organisation = organisations.get_organisation(slug=slug)
        stored = directory_attributes.remove(organisation=organisation, path=path, delete_values=delete_values)
    click.echo(f"removed {path}: {stored.converted} value(s) kept as undeclared, {stored.dropped} deleted")


@attributes.command("policy")
@click.argument("slug")
@click.argument("policy", type=click.Choice(POLICIES))
def attributes_policy(slug: str, policy: str) -> None:
    """What SCIM does with undeclared attributes: keep (store and list), ignore (drop) or reject (400)."""
    with failures("nothing was changed"):
        organisation = organisations.get_organisation(slug=slug)
        directory_attributes.set_policy(organisation=organisation, policy=policy)
    click.echo(f"undeclared policy: {organisation.undeclared_policy}")


@attributes.command("undeclared")
@click.argument("slug")
def attributes_undeclared(slug: str) -> None:
    """Attributes the directory of SLUG sends that Fluid does not know, most recently seen first."""
    with failures("nothing was listed"):
        organisation = organisations.get_organisation(slug=slug)
        rows = directory_attributes.undeclared(organisation=organisation)
    click.echo(f"{'PATH':<60} {'TYPE':<6} {'KIND':<8} {'COUNT':>7}  {'FIRST SEEN':<25} {'LAST SEEN':<25} EXAMPLE")
    for row in rows:
        click.echo(f"{row.path:<60} {row.resource_type:<6} {row.value_kind:<8} {row.seen_count:>7}"
                   f"  {row.first_seen_at.isoformat():<25} {row.last_seen_at.isoformat():<25} {row.example_resource_id or '-'}")
    click.echo(f"{len(rows)} undeclared attribute(s)", err=True)
