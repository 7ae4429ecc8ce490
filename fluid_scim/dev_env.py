"""``.run/dev.env``: what ``make run`` leaves for the ``flask --app app …`` CLI in a second terminal.

``scripts/run.sh`` starts a throw-away dev Vault whose address and root token exist only in its
own environment. It writes them here, with the settings that name the same database and public
URLs, so that a command typed in another terminal talks to the same Vault and database. The app
factory reads the file in development only (:func:`fluid_scim.config.read_dotenv_if_development`);
it is never written when ``FLUID_ENV`` is anything but ``development``, is readable by its owner
alone (0600), and ``make run`` removes it when it stops (the dev Vault keeps nothing then).

``python -m fluid_scim.dev_env write [--vault]`` writes it (``--vault``: the Vault variables too,
for a dev Vault ``make run`` started itself; a Vault the developer brought stays theirs to pass);
``python -m fluid_scim.dev_env remove`` removes it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from fluid_scim.config import DEV_ENV_FILE

# The settings that make a second process see the same database, Vault and tenant URLs.
SHARED = ("FLUID_DATABASE_URL", "FLUID_BASE_DOMAIN", "FLUID_PUBLIC_SCHEME", "FLUID_PUBLIC_PORT")
DEV_VAULT = ("VAULT_ADDR", "VAULT_TOKEN")

_HEADER = """\
# Written by `make run` (scripts/run.sh) for the `flask --app app ...` CLI in another terminal;
# removed when `make run` stops. Development only: never written or read when FLUID_ENV=production.
# VAULT_TOKEN is the root token of the throw-away in-memory dev Vault that `make run` started.
"""


class NotDevelopment(RuntimeError):
    """The environment is not development: no env file is written."""


def _quoted(value: str) -> str:
    # python-dotenv's single-quoted form: only backslash and the quote itself are escaped, nothing expands.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render(environ: Mapping[str, str], *, with_vault: bool) -> str:
    """The file's text: the header, then ``NAME='value'`` for each shared variable that is set."""
    names = SHARED + (DEV_VAULT if with_vault else ())
    lines = [f"{name}={_quoted(environ[name])}" for name in names if environ.get(name, "").strip()]
    return _HEADER + "".join(line + "\n" for line in lines)


def write(environ: Mapping[str, str], *, with_vault: bool, path: Path = DEV_ENV_FILE) -> Path:
    """Write the file with mode 0600 (replacing any earlier one); refused outside development."""
    if environ.get("FLUID_ENV", "development").strip() != "development":
        raise NotDevelopment("FLUID_ENV is not development: no development env file is written")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(render(environ, with_vault=with_vault))
    os.replace(partial, path)
    return path


def remove(path: Path = DEV_ENV_FILE) -> None:
    path.unlink(missing_ok=True)


def main(argv: Sequence[str]) -> int:
    if list(argv) in (["write"], ["write", "--vault"]):
        try:
            write(os.environ, with_vault="--vault" in argv)
        except NotDevelopment as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    if list(argv) == ["remove"]:
        remove()
        return 0
    print("usage: python -m fluid_scim.dev_env write [--vault] | remove", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
