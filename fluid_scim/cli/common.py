"""What every command group shares: the app's settings and secret store, and one way to fail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app

from fluid_scim.config import Settings
from fluid_scim.secrets import SecretStore, SecretStoreError
from fluid_scim.services import organisations, scim_tokens


@contextmanager
def failures(action: str) -> Iterator[None]:
    """Turn expected failures into one ``error:`` line on stderr and exit status 1."""
    try:
        yield
    except (organisations.OrganisationError, SecretStoreError) as exc:
        raise click.ClickException(f"{exc}; {action}") from None
    except scim_tokens.WeakToken as exc:
        raise click.ClickException(f"token refused ({exc.problem.rule}): {exc}; {action}") from None


def settings() -> Settings:
    return current_app.extensions["fluid_settings"]


def store() -> SecretStore:
    return current_app.extensions["fluid_secret_store"]
