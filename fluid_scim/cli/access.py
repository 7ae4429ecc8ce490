"""``flask --app app org access|roles|attribute-roles|brake|held …``: an organisation's access settings for operators."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from fluid_scim.cli.common import failures
from fluid_scim.services import access_admin, organisations


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, role = value.rpartition("=")
        if not sep or not name.strip() or not role.strip():
            raise click.BadParameter(f"{value!r}: expected NAME=ROLE", param_hint=what)
        pairs[name.strip()] = role.strip()
    return pairs


@click.command("access")
@with_appcontext
@click.argument("slug")
@click.option("--group-name", help="Rename the access group (its id and members stay).")
@click.option(
    "--mode",
    type=click.Choice(access_admin.ACCESS_MODES),
    help="group: members of the access group; all_active: every active user; attribute: every active user --filter matches.",
)
@click.option(
    "--filter", "access_filter", help='With --mode attribute: a SCIM filter over users, e.g. \'userType eq "Employee"\'.'
)
def org_access(slug: str, group_name: str | None, mode: str | None, access_filter: str | None) -> None:
    """Show or change who may use Fluid."""
    if access_filter is not None and mode is None:
        raise click.BadParameter("--filter goes with --mode attribute", param_hint="--filter")
    with failures("nothing was changed"):
        organisation = organisations.get_organisation(slug=slug)
        if group_name:
            access_admin.set_access_group_name(organisation=organisation, name=group_name)
        if mode:
            access_admin.set_access_mode(organisation=organisation, mode=mode, access_filter=access_filter)
        group = access_admin.access_group(organisation=organisation)
        groups, apps = access_admin.role_mappings(organisation=organisation)
        attributes = access_admin.attribute_role_mappings(organisation=organisation)
    click.echo(f"access group: {group.display_name} ({group.id})")
    mode_line = f"access mode: {organisation.access_mode}"
    click.echo(f"{mode_line} ({organisation.access_filter})" if organisation.access_filter else mode_line)
    for name, role in sorted(groups.items()):
        click.echo(f"role: group {name!r} -> {role}")
    for value, role in sorted(apps.items()):
        click.echo(f"role: app role {value!r} -> {role}")
    for text, role in attributes:
        click.echo(f"role: attribute filter {text} -> {role}")


@click.command("roles")
@with_appcontext
@click.argument("slug")
@click.option("--group", "groups", multiple=True, help='"GROUP NAME=role" (repeatable); the group is created if missing.')
@click.option("--app-role", "app_roles", multiple=True, help='"APP ROLE VALUE=role" (repeatable).')
def org_roles(slug: str, groups: tuple[str, ...], app_roles: tuple[str, ...]) -> None:
    """Replace the role mappings with the given ones."""
    with failures("nothing was changed"):
        organisation = organisations.get_organisation(slug=slug)
        events = access_admin.set_role_mappings(
            organisation=organisation, groups=_pairs(groups, "--group"), app_roles=_pairs(app_roles, "--app-role")
        )
    click.echo(f"role mappings set; {len(events)} access change(s)", err=True)


@click.command("attribute-roles")
@with_appcontext
@click.argument("slug")
@click.option(
    "--rule", "rules", multiple=True, help='\'FILTER=role\' (repeatable, in order), e.g. \'department eq "Finance"=finance\'.'
)
def org_attribute_roles(slug: str, rules: tuple[str, ...]) -> None:
    """Replace the attribute role mappings (none given: remove them all); group and app-role mappings stay."""
    pairs: list[tuple[str, str]] = []
    for value in rules:
        text, sep, role = value.rpartition("=")
        if not sep or not text.strip() or not role.strip():
            raise click.BadParameter(f"{value!r}: expected FILTER=ROLE", param_hint="--rule")
        pairs.append((text.strip(), role.strip()))
    with failures("nothing was changed"):
        organisation = organisations.get_organisation(slug=slug)
        events = access_admin.set_attribute_role_mappings(organisation=organisation, rules=pairs)
    click.echo(f"attribute role mappings set; {len(events)} access change(s)", err=True)


@click.command("brake")
@with_appcontext
@click.argument("slug")
@click.option("--enable/--disable", default=None, help="Switch the deprovisioning brake on or off.")
@click.option("--percent", type=int, help="Share of the users with access that may lose it in a window.")
@click.option("--min", "min_removals", type=int, help="Removals always allowed in a window, whatever the share.")
@click.option("--window", "window_minutes", type=int, help="Window length in minutes.")
def org_brake(slug: str, enable: bool | None, percent: int | None, min_removals: int | None, window_minutes: int | None) -> None:
    """Show or change the deprovisioning brake."""
    with failures("nothing was changed"):
        organisation = organisations.get_organisation(slug=slug)
        access_admin.set_brake(
            organisation=organisation,
            enabled=organisation.brake_enabled if enable is None else enable,
            percent=percent,
            min_removals=min_removals,
            window_minutes=window_minutes,
        )
    state = "on" if organisation.brake_enabled else "off"
    click.echo(
        f"brake {state}: hold removals beyond {organisation.brake_percent}% and {organisation.brake_min_removals}"
        f" users within {organisation.brake_window_minutes} minutes"
    )


@click.command("held")
@with_appcontext
@click.argument("slug")
@click.option("--release", "decision", flag_value="release", help="Apply every held removal.")
@click.option("--discard", "decision", flag_value="discard", help="Drop every held removal (access stays).")
def org_held(slug: str, decision: str | None) -> None:
    """List access removals the brake holds, or decide them all."""
    with failures("nothing was changed"):
        organisation = organisations.get_organisation(slug=slug)
        if decision == "release":
            access_admin.release_held(organisation=organisation, ids=None)
        elif decision == "discard":
            access_admin.discard_held(organisation=organisation, ids=None)
        pending = access_admin.held_changes(organisation=organisation)
    for held in pending:
        click.echo(f"{held.id}  {held.user_name}  {held.created_at.isoformat()}  {held.reason}")
    click.echo(f"{len(pending)} held change(s)", err=True)


@click.command("purge-tombstones")
@with_appcontext
def org_purge_tombstones() -> None:
    """Delete the tombstones of deleted users whose retention period has ended (all organisations)."""
    removed = access_admin.purge_tombstones()
    click.echo(f"purged {removed} tombstone(s)", err=True)


# Attached to the ``org`` group by :func:`fluid_scim.cli.register_cli`.
COMMANDS = (org_access, org_roles, org_attribute_roles, org_brake, org_held, org_purge_tombstones)
