"""Every operator command acts as ``cli:<login>``: the whole click command tree, walked, and a real change.

The walk runs each of the project's commands (those of ``fluid_scim.cli``, not Flask-Migrate's
``db``) through click as an operator would type it, with its own body replaced by one that notes
who the request context says is acting. A new command group that forgets to begin the operator's
context fails here by name.
"""

from __future__ import annotations

import getpass
import io
from collections.abc import Iterator
from typing import Any

import click
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from fluid_scim.services import request_context
from tests.support.graphql import claims_for, data, execute
from tests.support.tenants import Tenant

OPERATOR = f"cli:{getpass.getuser()}"


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """(path, command) of every runnable command below ``group``."""
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def _ours(app: Flask) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for path, command in _commands(app.cli):
        top = app.cli.commands[path[0]]
        callback = getattr(top, "callback", None)
        module = getattr(getattr(callback, "__wrapped__", callback), "__module__", "") or ""
        if module.startswith("fluid_scim.cli"):
            found.append((path, command))
    return found


def test_every_command_of_the_tree_acts_as_the_operator(app: Flask, runner: FlaskCliRunner,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    commands = _ours(app)
    names = {" ".join(path) for path, _ in commands}
    # The walk reaches every group (a sample of each: if one vanished from the tree, so would its commands here).
    assert {"org create", "org access", "users import", "audit purge", "events worker", "attributes list", "admin-token"} <= names
    seen: dict[str, tuple[str, str | None]] = {}
    for path, command in commands:
        def note(*_: Any, _name: str = " ".join(path), **__: Any) -> None:
            context = request_context.current()
            seen[_name] = (context.kind, context.actor)

        monkeypatch.setattr(command, "callback", note)
        for parameter in command.params:
            monkeypatch.setattr(parameter, "required", False)  # the walk is about who acts, not what is asked
        result = runner.invoke(args=list(path))
        assert result.exit_code == 0, (path, result.output)
    assert seen == dict.fromkeys(names, ("admin", OPERATOR))
    assert request_context.current().actor == "system"  # each command's context ended with it


def test_a_change_made_from_the_shell_is_recorded_as_the_operator(app: Flask, runner: FlaskCliRunner, tenant: Tenant) -> None:
    csv = io.BytesIO(b"userName,email\nfrom-the-shell@contoso.com,from-the-shell@contoso.com\n")
    result = runner.invoke(args=["users", "import", tenant.slug, "-"], input=csv)
    assert result.exit_code == 0, result.output
    query = '{ provisioningEvents(first: 10) { edges { node { operation actor kind detail } } } }'
    nodes = [edge["node"] for edge in data(execute(app, query, claims_for(tenant.slug)))["provisioningEvents"]["edges"]]
    imported = [node for node in nodes if node["operation"] == "users.imported"]
    assert [(node["actor"], node["kind"]) for node in imported] == [(OPERATOR, "ADMIN")]
    assert imported[0]["detail"] == "created 1, skipped 0, refused 0"
