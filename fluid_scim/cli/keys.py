"""``flask --app app keys …``: rotate the token digest key and the admin API's HS256 key.

A rotation without downtime (docs/operations.md "Rotating keys"): ``keys new`` writes a new
version of a key in Vault (nothing uses it yet); the operator then lists it first in
``FLUID_TOKEN_DIGEST_KEYS`` or ``FLUID_ADMIN_JWT_KEYS`` with the old version after it (the grace
period: both verify, the new one digests or signs); ``keys rotate-digests`` digests every stored
SCIM token again under the new key; ``keys status`` shows how many are left under each version;
finally the old version leaves the setting, and what it made no longer verifies.
"""

from __future__ import annotations

import getpass
from typing import cast

import click
from flask.cli import AppGroup

from fluid_scim.cli.common import failures, settings, store
from fluid_scim.secrets import KeyName
from fluid_scim.services import key_rotation, request_context

_SETTING: dict[str, str] = {"token-digest-key": "FLUID_TOKEN_DIGEST_KEYS", "admin-jwt-key": "FLUID_ADMIN_JWT_KEYS"}


@click.group(cls=AppGroup)
def keys() -> None:
    """Key rotation: new key versions, digesting SCIM tokens again, and where they stand."""
    context = request_context.RequestContext(kind="admin", actor=f"cli:{getpass.getuser()}")
    click.get_current_context().with_resource(request_context.acting(context))


@keys.command("new")
@click.argument("name", type=click.Choice(sorted(_SETTING)))
def new_key(name: str) -> None:
    """Write a new random version of key NAME in Vault and print its version (nothing uses it yet)."""
    config = settings()
    with failures("no key was written"):
        version = store().create_key_version(cast(KeyName, name))
    in_use = config.token_digest_keys if name == "token-digest-key" else config.admin_jwt_keys
    current = ",".join(str(v) for v in in_use) or "1"
    setting = _SETTING[name]
    click.echo(str(version))
    click.echo(f"wrote version {version} of the {name}; it is not used until {setting} names it", err=True)
    if name == "admin-jwt-key":
        click.echo(
            f"next: {setting}={current},{version} on every process (accepts it), then {version},{current} (signs with it),"
            f" and an hour later {version}",
            err=True,
        )
    else:
        click.echo(f"next: {setting}={version},{current} on every process, then: flask --app app keys rotate-digests", err=True)


@keys.command("rotate-digests")
@click.option(
    "--batch-size", type=click.IntRange(1, key_rotation.MAX_BATCH), default=key_rotation.DEFAULT_BATCH, show_default=True,
    help="Tokens per transaction.",
)
def rotate_digests(batch_size: int) -> None:
    """Digest every SCIM token again under the current digest key (the first of FLUID_TOKEN_DIGEST_KEYS)."""

    def progress(report: key_rotation.RedigestReport) -> None:
        click.echo(f"{report.seen}/{report.total} tokens: {report.redigested} digested again, {report.left_count} left behind")

    with failures("run it again to go on"):
        report = key_rotation.redigest_tokens(store=store(), batch_size=batch_size, on_batch=progress)
    for slug, reason in report.left:
        click.echo(f"left behind: {slug}: {reason}", err=True)
    if report.left_count > len(report.left):
        click.echo(f"... and {report.left_count - len(report.left)} more left behind", err=True)
    click.echo(
        f"done: {report.redigested} of {report.total} tokens digested again under key version {report.key_id};"
        f" {report.left_count} left behind"
    )
    if report.left_count:
        raise SystemExit(1)


@keys.command("status")
def status() -> None:
    """How many SCIM tokens each digest key version made, and the versions configured."""
    config = settings()
    configured = config.token_digest_keys or (1,)
    for key_id, count in sorted(key_rotation.tokens_by_key().items()):
        if key_id == configured[0]:
            state = "current"
        elif key_id in configured:
            state = "previous: still verifies"
        elif key_id > configured[0]:
            state = "newer than the current one: verifies"
        else:
            state = "retired: no longer verifies"
        click.echo(f"digest key version {key_id}: {count} tokens ({state})")
