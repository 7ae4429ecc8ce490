"""Fixtures: a real OpenBao server, SQLite and (when configured) PostgreSQL, the app, gunicorn.

Database tests run once per backend: SQLite always, PostgreSQL when ``FLUID_TEST_POSTGRES_URL``
is set (CI sets it; with ``CI=true`` and no URL the run fails instead of silently shrinking).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.exc import OperationalError

# The suite controls its own configuration: nothing from the developer's shell or .env leaks in.
for _name in list(os.environ):
    if (_name.startswith("FLUID_") and _name != "FLUID_TEST_POSTGRES_URL") or _name.startswith("VAULT_"):
        del os.environ[_name]
os.environ["FLUID_DOTENV"] = ""

from app import create_app  # noqa: E402
from fluid_scim.extensions import db  # noqa: E402
from tests.support.backends import BACKENDS, POSTGRES_URL  # noqa: E402
from tests.support.browser import browser_page, chromium  # noqa: E402,F401  (one Chromium for every console test)
from tests.support.conformance import CONFORMANCE_RESULTS  # noqa: E402
from tests.support.services import ROOT, LiveServer, PostgresDatabase, Vault, live_server_env  # noqa: E402
from tests.support.tenants import Tenant, make_tenant  # noqa: E402
from tests.support.webhook_receiver import Receiver, receiving  # noqa: E402


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("CI", "").lower() == "true" and not POSTGRES_URL:
        raise pytest.UsageError("CI=true but FLUID_TEST_POSTGRES_URL is not set: the PostgreSQL tests would not run")


def pytest_report_header(config: pytest.Config) -> str:
    return f"fluid-scim database backends: {', '.join(BACKENDS)}"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def vault(artifacts_dir: Path) -> Iterator[Vault]:
    server = Vault.start(artifacts_dir)
    try:
        yield server
    finally:
        server.stop()


def _settings(database_url: str, vault: Vault) -> dict[str, Any]:
    # In-process tests write read events and status counts in the request (FLUID_RECORD_FLUSH_SECONDS=0), so
    # that a test can look at them at once; test_recorder.py and the live servers use the batched default.
    return {
        "database_url": database_url,
        "vault_addr": vault.addr,
        "vault_token": vault.token,
        "vault_timeout": 1.0,
        "record_flush_seconds": 0,
    }


def migrate_to_head(database_url: str, vault: Vault) -> None:
    import flask_migrate

    app = create_app(_settings(database_url, vault))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, vault: Vault) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'fluid.db'}"
        migrate_to_head(url, vault)
        yield url
        return
    database = PostgresDatabase(POSTGRES_URL).create()
    try:
        migrate_to_head(database.url, vault)
        yield database.url
    finally:
        database.drop()


@pytest.fixture
def settings(database_url: str, vault: Vault) -> dict[str, Any]:
    return _settings(database_url, vault)


@pytest.fixture
def app(settings: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    application.extensions["fluid_recorder"].close()
    with application.app_context():
        db.session.remove()
        _wipe()
        db.engine.dispose()


def _wipe() -> None:
    """Empty every table. A live server's recorder may be writing its last batch at the same moment:
    on PostgreSQL one of the two can be chosen as a deadlock victim, so the wipe tries again."""
    for attempt in range(5):
        try:
            with db.engine.begin() as connection:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(table.delete())
            return
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.2)


@pytest.fixture
def app_factory(settings: dict[str, Any]) -> Iterator[Any]:
    """Make more apps on the same database (other settings); their pools are closed afterwards."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        application = create_app({**settings, **overrides})
        made.append(application)
        return application

    yield make
    for application in made:
        application.extensions["fluid_recorder"].close()
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def tenant(app: Flask) -> Tenant:
    """A fresh organisation with a generated SCIM token."""
    return make_tenant(app)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback (tests/support/webhook_receiver.py)."""
    with receiving() as state:
        yield state


@pytest.fixture(scope="session")
def live_server(database_url: str, vault: Vault, artifacts_dir: Path) -> Iterator[LiveServer]:
    """gunicorn with two workers on the session's database and Vault (``live_server_env``)."""
    server = LiveServer.start(live_server_env(database_url, vault), artifacts_dir, workers=2)
    try:
        yield server
    finally:
        server.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in CONFORMANCE_RESULTS.values():
        terminalreporter.write_line(line)
