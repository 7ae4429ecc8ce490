"""``flask --app app …`` commands for operators: one module per command group, attached here."""

from __future__ import annotations

from flask import Flask

from fluid_scim.cli import access, admin_token, attributes, audit, keys, organisations, users, webhook_worker


def register_cli(app: Flask) -> None:
    for command in access.COMMANDS:
        organisations.org.add_command(command)
    app.cli.add_command(organisations.org)
    app.cli.add_command(users.users)
    app.cli.add_command(admin_token.admin_token)
    app.cli.add_command(audit.audit)
    app.cli.add_command(webhook_worker.events)
    app.cli.add_command(attributes.attributes)
    app.cli.add_command(keys.keys)
