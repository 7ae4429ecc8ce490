"""Migrations from zero on each backend, matching the models exactly, and reversible."""

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from fluid_scim.extensions import db
from tests.support.backends import BACKENDS, POSTGRES_URL
from tests.support.services import ROOT, PostgresDatabase


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    database = PostgresDatabase(POSTGRES_URL).create()
    try:
        yield database.url
    finally:
        database.drop()


def _flask_db(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLUID_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# Alembic cannot reflect expression indexes on SQLite and says so; the comparison covers the rest.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_upgrade_from_zero_matches_the_models_and_downgrades_cleanly(empty_database_url):
    upgraded = _flask_db(empty_database_url, "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    model_tables = {table.name for table in db.metadata.sorted_tables}
    assert model_tables <= _tables(empty_database_url)

    engine = create_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
    finally:
        engine.dispose()

    downgraded = _flask_db(empty_database_url, "downgrade", "base")
    assert downgraded.returncode == 0, downgraded.stderr
    assert _tables(empty_database_url) & model_tables == set()
    assert _flask_db(empty_database_url, "upgrade").returncode == 0
    assert model_tables <= _tables(empty_database_url)
