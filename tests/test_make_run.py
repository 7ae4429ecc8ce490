"""`make run` from the repository: dev Vault, migrations, demo organisation, token, gunicorn, Ctrl-C."""

import os
import re
import selectors
import shlex
import signal
import socket
import subprocess
import time

import requests

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
    vault_port = free_port(pair=True)
    port = free_port()
    while port in (vault_port, vault_port + 1):
        port = free_port()
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("FLUID_", "VAULT_"))
    } | {
        "PORT": str(port),
        "FLUID_DEV_VAULT_PORT": str(vault_port),
        "FLUID_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "FLUID_DOTENV": "",
    }
    tenant_url, first_token = _run_once(env)
    assert tenant_url == f"http://acme.localhost:{port}/scim/v2"
    assert _port_closed(port) and _port_closed(vault_port)

    # A second run reuses the database (acme already exists) and prints a fresh token.
    _, second_token = _run_once(env)
    assert second_token != first_token
    assert _port_closed(port) and _port_closed(vault_port)
