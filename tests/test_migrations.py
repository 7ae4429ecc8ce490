"""Migrations from zero on each backend, matching the models exactly, and reversible."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

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
            dialect = connection.dialect.name

            def this_database(item: Any, name: Any, type_: str, reflected: bool, compare_to: Any) -> bool:
                # An index the models declare for the other database alone (``info["dialect"]``, with
                # ddl_if); and one whose expression has a COLLATE, which Alembic reflects without it (its
                # use is checked by tests/test_list_plans.py).
                model = compare_to if reflected else item
                if type_ != "index" or model is None:
                    return True
                return model.info.get("dialect", dialect) == dialect and "collation" not in model.info

            opts = {"compare_type": True, "include_object": this_database}
            context = MigrationContext.configure(connection, opts=opts)
            assert compare_metadata(context, db.metadata) == []
    finally:
        engine.dispose()

    downgraded = _flask_db(empty_database_url, "downgrade", "base")
    assert downgraded.returncode == 0, downgraded.stderr
    assert _tables(empty_database_url) & model_tables == set()
    assert _flask_db(empty_database_url, "upgrade").returncode == 0
    assert model_tables <= _tables(empty_database_url)


def test_a_downgrade_that_rebuilds_the_organisation_table_keeps_every_row(empty_database_url):
    """SQLite alters a table by rebuilding it; with foreign keys on, dropping the old ``organisation``
    table would cascade to every row that refers to it (migrations/env.py turns them off meanwhile)."""
    assert _flask_db(empty_database_url, "upgrade").returncode == 0
    engine = create_engine(empty_database_url)
    organisation_id = uuid.uuid4()
    counted = "SELECT (SELECT count(*) FROM organisation), (SELECT count(*) FROM scim_token), (SELECT count(*) FROM scim_user)"
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO organisation (id, slug, name, created_at, updated_at) VALUES (:id, 'kept', 'Kept', :at, :at)"),
                {"id": _stored_uuid(connection, organisation_id), "at": datetime.now(UTC)},
            )
            connection.execute(
                text("INSERT INTO scim_token (organisation_id, digest, fingerprint, source, vault_version, created_at)"
                     " VALUES (:id, :digest, 'abcd1234', 'generated', 1, :at)"),
                {"id": _stored_uuid(connection, organisation_id), "digest": b"\0" * 32, "at": datetime.now(UTC)},
            )
            connection.execute(
                text("INSERT INTO scim_user (organisation_id, id, user_name, user_name_key, multi_valued, version,"
                     " created_at, updated_at)"
                     " VALUES (:id, 'u-1', 'kept.user', 'kept.user', '{}', 1, :at, :at)"),
                {"id": _stored_uuid(connection, organisation_id), "at": datetime.now(UTC)},
            )
        downgraded = _flask_db(empty_database_url, "downgrade", "0008")  # undoes 0009 and 0010, which rebuild it
        assert downgraded.returncode == 0, downgraded.stderr
        with engine.connect() as connection:
            assert tuple(connection.execute(text(counted)).one()) == (1, 1, 1)
        upgraded = _flask_db(empty_database_url, "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        with engine.connect() as connection:
            assert tuple(connection.execute(text(counted)).one()) == (1, 1, 1)
    finally:
        engine.dispose()


def _stored_uuid(connection: Any, value: uuid.UUID) -> Any:
    """A UUID as the Uuid column stores it: 32 hex digits on SQLite, the native type on PostgreSQL."""
    return value.hex if connection.dialect.name == "sqlite" else value


def test_a_downgrade_past_0014_numbers_the_pending_events_after_the_last_number(empty_database_url):
    """Before 0014 an event was numbered at its commit; events committed and not yet published are
    numbered by the downgrade, per organisation, in the order written, after the organisation's last
    number, rather than lost."""
    assert _flask_db(empty_database_url, "upgrade").returncode == 0
    engine = create_engine(empty_database_url)
    organisation_id = uuid.uuid4()
    try:
        with engine.begin() as connection:
            stored, at = _stored_uuid(connection, organisation_id), datetime.now(UTC)
            connection.execute(
                text("INSERT INTO organisation (id, slug, name, created_at, updated_at) VALUES (:id, 'kept', 'Kept', :at, :at)"),
                {"id": stored, "at": at},
            )
            connection.execute(text("INSERT INTO outbox_sequence (organisation_id, last_seq) VALUES (:id, 4)"), {"id": stored})
            for index in range(3):
                connection.execute(
                    text("INSERT INTO outbox_pending (organisation_id, event_id, type, subject_id, data, created_at)"
                         " VALUES (:id, :event, 'user.updated', :subject, :data, :at)"),
                    {"id": stored, "event": f"evt_{index}", "subject": f"u-{index}", "data": f'{{"n": {index}}}', "at": at},
                )
        downgraded = _flask_db(empty_database_url, "downgrade", "0013")
        assert downgraded.returncode == 0, downgraded.stderr
        assert "outbox_pending" not in _tables(empty_database_url)
        with engine.connect() as connection:
            numbered = connection.execute(text("SELECT seq, id, subject_id, data FROM outbox_event ORDER BY seq")).all()
            last = connection.execute(text("SELECT last_seq FROM outbox_sequence")).scalar_one()
        assert [(row.seq, row.id, row.subject_id) for row in numbered] == [(5, "evt_0", "u-0"), (6, "evt_1", "u-1"),
                                                                           (7, "evt_2", "u-2")]
        assert [row.data if isinstance(row.data, dict) else json.loads(row.data) for row in numbered] == [
            {"n": 0}, {"n": 1}, {"n": 2}]
        assert last == 7
    finally:
        engine.dispose()


def test_0015_marks_the_organisations_whose_imported_users_still_wait_for_adoption(empty_database_url):
    """A create looks for an imported user to adopt only where one may wait: an organisation with an
    imported user not yet adopted starts with the flag set; one whose imports were all adopted, or that
    never imported, does not."""
    assert _flask_db(empty_database_url, "upgrade", "0014").returncode == 0
    engine = create_engine(empty_database_url)
    at = datetime.now(UTC)
    try:
        with engine.begin() as connection:
            for slug, origin, linked_at in (("waiting", "import", None), ("adopted", "import", at), ("never", "scim", None)):
                stored = _stored_uuid(connection, uuid.uuid4())
                connection.execute(
                    text("INSERT INTO organisation (id, slug, name, created_at, updated_at)"
                         " VALUES (:id, :slug, :slug, :at, :at)"),
                    {"id": stored, "slug": slug, "at": at},
                )
                connection.execute(
                    text("INSERT INTO scim_user (organisation_id, id, user_name, user_name_key, multi_valued, version,"
                         " created_at, updated_at, origin, linked_at)"
                         " VALUES (:id, 'u-1', 'someone', 'someone', '{}', 1, :at, :at, :origin, :linked_at)"),
                    {"id": stored, "at": at, "origin": origin, "linked_at": linked_at},
                )
        upgraded = _flask_db(empty_database_url, "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        with engine.connect() as connection:
            flags = dict(connection.execute(text("SELECT slug, imports_waiting FROM organisation")).all())
        assert {slug: bool(flag) for slug, flag in flags.items()} == {"waiting": True, "adopted": False, "never": False}
    finally:
        engine.dispose()
