"""`make run` from the repository: dev Vault, migrations, demo organisation, token, gunicorn, Ctrl-C,
and what a newcomer does next: the admin console link, GraphiQL, the CLI in a second terminal."""

import os
import re
import selectors
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from fluid_scim.config import DEV_ENV_FILE
from tests.support.services import ROOT, free_port
from tests.support.urns import SERVICE_PROVIDER_CONFIG_URN


def _read_until(process: subprocess.Popen[bytes], marker: str, timeout: float) -> str:
    """Collect stdout until the banner (``marker`` ... ``Serving on``) is complete; bounded in time."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if selector.select(timeout=0.5):
            seen += os.read(process.stdout.fileno(), 65536).decode()
            if marker in seen and "\nServing on" in seen:
                return seen
    raise AssertionError(f"`make run` did not print {marker!r} in {timeout}s; it printed:\n{seen}")


@pytest.fixture(autouse=True)
def _keep_a_developers_dev_env() -> Iterator[None]:
    """`make run` writes .run/dev.env in this checkout: a developer's own one is put back afterwards."""
    kept = DEV_ENV_FILE.read_bytes() if DEV_ENV_FILE.exists() else None
    yield
    if kept is not None:
        DEV_ENV_FILE.write_bytes(kept)
        DEV_ENV_FILE.chmod(0o600)


def _environment(tmp_path: Path) -> dict[str, str]:
    vault_port = free_port(pair=True)
    port = free_port()
    while port in (vault_port, vault_port + 1):
        port = free_port()
    return {
        key: value for key, value in os.environ.items() if not key.startswith(("FLUID_", "VAULT_"))
    } | {
        "PORT": str(port),
        "FLUID_DEV_VAULT_PORT": str(vault_port),
        "FLUID_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "FLUID_DOTENV": "",
    }


def _run_once(env: dict[str, str]) -> tuple[str, str]:
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, bufsize=0, start_new_session=True,
    )
    try:
        banner = _read_until(process, "SCIM token:", timeout=120)
        tenant_url = re.search(r"^Tenant URL: (\S+)$", banner, re.M).group(1)
        token = re.search(r"^SCIM token: (\S+)$", banner, re.M).group(1)
        curl = next(line.strip() for line in banner.splitlines() if line.strip().startswith("curl "))
        # Run the printed curl command as a newcomer would (Host names under .localhost need no DNS).
        args = shlex.split(curl)
        url = args[-1]
        header = args[args.index("-H") + 1]
        host = re.match(r"http://([^/]+)/", url).group(1)
        response = requests.get(
            url.replace(host, f"127.0.0.1:{env['PORT']}"),
            headers={"Host": host, header.split(": ", 1)[0]: header.split(": ", 1)[1]},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.json()["schemas"] == [SERVICE_PROVIDER_CONFIG_URN]
        return tenant_url, token
    finally:
        # Ctrl-C: the terminal sends SIGINT to the whole foreground process group.
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
        process.stdout.close()


def _port_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_make_run_serves_the_demo_organisation_and_ctrl_c_stops_everything(tmp_path):
    env = _environment(tmp_path)
    port, vault_port = int(env["PORT"]), int(env["FLUID_DEV_VAULT_PORT"])
    tenant_url, first_token = _run_once(env)
    assert tenant_url == f"http://acme.localhost:{port}/scim/v2"
    assert _port_closed(port) and _port_closed(vault_port)

    # A second run reuses the database (acme already exists) and prints a fresh token.
    _, second_token = _run_once(env)
    assert second_token != first_token
    assert _port_closed(port) and _port_closed(vault_port)


def _get_on_loopback(url: str, port: int, **kwargs: object) -> requests.Response:
    """GET a printed ``http://acme.localhost:PORT/…`` address as a browser would (no DNS needed)."""
    host = re.match(r"http://([^/]+)/", url).group(1)
    return requests.get(url.replace(host, f"127.0.0.1:{port}", 1), headers={"Host": host, **kwargs.pop("headers", {})},
                        timeout=10, **kwargs)


def _console_works(link: str, port: int) -> None:
    """The console page answers, and the credential its link carries is accepted by the live GraphQL API."""
    page_url, _, fragment = link.partition("#token=")
    assert fragment, link
    page = _get_on_loopback(page_url, port)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    host = re.match(r"http://([^/]+)/", page_url).group(1)
    answer = requests.post(
        f"http://127.0.0.1:{port}/graphql",
        headers={"Host": host, "Authorization": f"Bearer {fragment}"},
        json={"query": "{ __typename }"},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json() == {"data": {"__typename": "Query"}}, answer.text


def test_first_run_prints_the_console_and_graphiql_and_a_second_terminal_reaches_the_same_services(tmp_path):
    # No developer's .env, but .run/dev.env is read as it is by default.
    env = _environment(tmp_path) | {"FLUID_DOTENV": str(tmp_path / "absent.env")}
    port = int(env["PORT"])
    # Left by a run killed outright: none of it may reach this run.
    DEV_ENV_FILE.parent.mkdir(exist_ok=True)
    DEV_ENV_FILE.write_text("FLUID_BASE_DOMAIN='stale.invalid'\nVAULT_ADDR='http://127.0.0.1:9'\n")
    with (tmp_path / "stderr").open("wb") as stderr:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=stderr, bufsize=0, start_new_session=True,
        )
    try:
        banner = _read_until(process, "GraphiQL:", timeout=120)
        start_up = banner + (tmp_path / "stderr").read_text()
        # Library chatter stays out of the start-up: no Alembic lines, plain or JSON.
        assert not [line for line in start_up.splitlines() if "alembic" in line.lower()], start_up
        assert "(.run/dev.env)" in banner

        console = re.search(r"^Admin console \(signed in for 15 minutes\): (\S+)$", banner, re.M).group(1)
        assert console.startswith(f"http://acme.localhost:{port}/admin#token=")
        _console_works(console, port)

        graphiql = re.search(r"^GraphiQL: (\S+)", banner, re.M).group(1)
        assert graphiql == f"http://acme.localhost:{port}/graphql"
        ide = _get_on_loopback(graphiql, port, headers={"Accept": "text/html"})
        assert ide.status_code == 200 and "GraphiQL" in ide.text

        # A second terminal: no FLUID_* or VAULT_* variables, only the repository directory.
        assert DEV_ENV_FILE.stat().st_mode & 0o777 == 0o600
        clean = {key: value for key, value in os.environ.items() if not key.startswith(("FLUID_", "VAULT_"))}
        cli = subprocess.run(
            [".venv/bin/flask", "--app", "app", "admin-token", "acme", "--url"],
            cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        assert cli.stderr == "admin credential for acme, valid for 900 seconds\n"
        link = cli.stdout.splitlines()[-1]
        assert link.startswith(f"http://acme.localhost:{port}/admin#token=")
        _console_works(link, port)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
        process.stdout.close()
    # The dev Vault is gone, and so is the file that pointed at it.
    assert not DEV_ENV_FILE.exists()
