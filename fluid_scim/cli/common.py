"""What every command group shares: the app's settings and secret store, and one way to fail."""

from __future__ import annotations

import getpass
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import click
from flask import current_app

from fluid_scim import errors as domain
from fluid_scim.config import Settings
from fluid_scim.errors import DomainError, mapping_for
from fluid_scim.secrets import SecretStore
from fluid_scim.services import request_context


@dataclass(frozen=True, slots=True)
class CliFailure:
    """How a command reports one kind of domain error.

    ``template`` is the ``error:`` line on stderr (``str.format`` with ``error`` and ``action``);
    ``exception`` is what click reports it with, and its ``exit_code`` is the exit status.
    """

    template: str
    exception: type[click.ClickException] = click.ClickException

    @property
    def exit_status(self) -> int:
        return self.exception.exit_code


PLAIN = CliFailure("{error.detail}; {action}")

# Every concrete domain error has an entry (tests/unit/test_error_tables.py): a new class must
# decide how an operator is told. Details are for people and may name the Vault address: fine here.
CLI_FAILURES: dict[type[DomainError], CliFailure] = {
    **dict.fromkeys(
        (
            domain.InvalidFilter, domain.TooMany, domain.Uniqueness, domain.Mutability, domain.InvalidSyntax,
            domain.InvalidPath, domain.NoTarget, domain.InvalidValue, domain.InvalidVersion, domain.Sensitive,
            domain.InvalidCursor, domain.Unauthorized, domain.Forbidden, domain.NotFound, domain.MethodNotAllowed,
            domain.Conflict, domain.PreconditionFailed, domain.PayloadTooLarge, domain.UnsupportedMediaType,
            domain.TooManyRequests, domain.InternalError, domain.NotImplementedScim, domain.ServiceUnavailable,
            domain.OrganisationError, domain.NoScimToken, domain.TokenRevealRefused, domain.ImportFileRefused,
            domain.SecretStoreError,
        ),
        PLAIN,
    ),
    domain.WeakToken: CliFailure("token refused ({error.rule}): {error.detail}; {action}"),
}


@contextmanager
def failures(action: str) -> Iterator[None]:
    """Turn expected failures into one ``error: <detail>; <action>`` line on stderr and exit status 1."""
    try:
        yield
    except DomainError as exc:
        entry = mapping_for(CLI_FAILURES, type(exc))
        if entry is None:
            raise
        raise entry.exception(entry.template.format(error=exc, action=action)) from None


def settings() -> Settings:
    return current_app.extensions["fluid_settings"]


def store() -> SecretStore:
    return current_app.extensions["fluid_secret_store"]


def operator_actor() -> str:
    """``cli:<login>``: who acts in a command, as the provisioning history records it."""
    return f"cli:{getpass.getuser()}"


def act_as_operator(ctx: click.Context | None = None) -> None:
    """Begin the command's request context, with the operator's login as the actor; it ends with the command.

    Every command group calls it first (a command outside any group is an :class:`OperatorCommand`), so
    every change made from the shell is an admin event of ``cli:<login>`` (``tests/test_cli_actor.py``
    walks the command tree).
    """
    context = request_context.RequestContext(kind="admin", actor=operator_actor())
    (ctx or click.get_current_context()).with_resource(request_context.acting(context))


class OperatorCommand(click.Command):
    """A command outside any group: it acts as the operator before its own body runs."""

    def invoke(self, ctx: click.Context) -> Any:
        act_as_operator(ctx)
        return super().invoke(ctx)


@contextmanager
def whole_file(output: str) -> Iterator[IO[str]]:
    """A text file that appears under ``output`` only once the block ends without an error (``-``: stdout).

    It is written beside its final name and moved into place (``os.replace``): a command that fails
    halfway (a lost database) leaves no partial file, and a file of that name as it was. (click's own
    ``open_file(atomic=True)`` moves a half-written file into place when the block raises.)
    """
    if output == "-":
        with click.open_file(output, "w", encoding="utf-8") as stdout:
            yield stdout
        return
    target = Path(output)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as sink:
            yield sink
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
