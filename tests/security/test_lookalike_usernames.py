"""Names that look the same are one name: a userName (or a Group displayName) that differs from a
taken one only by white space at either end, by zero-width or other format characters (Unicode
category Cf), by case or by NFKC compatibility forms is refused with 409 ``uniqueness`` (RFC 7644
§3.12), and ``userName eq`` finds the user whichever of the spellings it is given.

Migration 0007 recomputes the stored keys; two stored look-alikes keep their names, the plainly
spelled (else the older) one keeps the key, the other is displaced and logged.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from app import create_app
from fluid_scim.extensions import db
from tests.support.backends import BACKENDS, POSTGRES_URL
from tests.support.services import PostgresDatabase, Vault
from tests.support.tenants import Tenant, make_tenant
from tests.support.urns import ERROR_URN, GROUP_URN, PATCH_OP_URN, USER_URN

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
LOOK_ALIKES = {
    "trailing space": "alice ",
    "leading space": " alice",
    "no-break spaces around": "\u00a0alice\u3000",
    "zero-width space": "al\u200bice",
    "zero-width non-joiner": "ali\u200cce",
    "zero-width joiner": "alic\u200de",
    "word joiner": "\u2060alice",
    "byte order mark": "\ufeffalice",
    "soft hyphen": "al\u00adice",
    "left-to-right mark": "alice\u200e",
    "upper case and a zero-width space": "ALICE\u200b",
}


def scim(client: FlaskClient, tenant: Tenant, method: str, path: str, body: Any = None) -> Any:
    return client.open(
        f"/scim/v2{path}", method=method, data=None if body is None else json.dumps(body),
        headers={"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "Content-Type": "application/scim+json"},
    )


def create_user(client: FlaskClient, tenant: Tenant, user_name: str) -> Any:
    return scim(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": user_name})


def user_names_found(client: FlaskClient, tenant: Tenant, wanted: str) -> list[str]:
    response = scim(client, tenant, "GET", "/Users?filter=" + quote("userName eq " + json.dumps(wanted)))
    assert response.status_code == 200, response.get_data(as_text=True)
    return [user["userName"] for user in response.get_json()["Resources"]]


def assert_conflict(response: Any) -> None:
    assert response.status_code == 409, response.get_data(as_text=True)
    error = response.get_json()
    assert error["schemas"] == [ERROR_URN] and error["scimType"] == "uniqueness", error


@pytest.mark.parametrize("how", LOOK_ALIKES)
def test_a_look_alike_user_name_is_a_conflict(client, tenant, how):
    assert create_user(client, tenant, "alice").status_code == 201
    assert_conflict(create_user(client, tenant, LOOK_ALIKES[how]))
    assert user_names_found(client, tenant, "alice") == ["alice"]


@pytest.mark.parametrize("how", ["trailing space", "zero-width space", "soft hyphen", "byte order mark"])
def test_user_name_eq_finds_the_user_whichever_look_alike_it_is_given(client, tenant, how):
    assert create_user(client, tenant, "alice").status_code == 201
    assert user_names_found(client, tenant, LOOK_ALIKES[how]) == ["alice"]


def test_renaming_to_a_look_alike_of_another_user_is_a_conflict(client, tenant):
    assert create_user(client, tenant, "alice").status_code == 201
    bob = create_user(client, tenant, "bob").get_json()["id"]
    operation = {"op": "replace", "path": "userName", "value": "alice\u200b "}
    assert_conflict(scim(client, tenant, "PATCH", f"/Users/{bob}", {"schemas": [PATCH_OP_URN], "Operations": [operation]}))
    assert_conflict(scim(client, tenant, "PUT", f"/Users/{bob}", {"schemas": [USER_URN], "userName": " Alice"}))
    assert scim(client, tenant, "GET", f"/Users/{bob}").get_json()["userName"] == "bob"


def test_a_look_alike_group_display_name_is_a_conflict(client, tenant):
    created = scim(client, tenant, "POST", "/Groups", {"schemas": [GROUP_URN], "displayName": "Engineering"})
    assert created.status_code == 201
    for look_alike in ("Engineering ", "Engi\u200bneering", "\ufeffengineering"):
        assert_conflict(scim(client, tenant, "POST", "/Groups", {"schemas": [GROUP_URN], "displayName": look_alike}))


# -- migration 0007 ---------------------------------------------------------------------------------


def _old_key(name: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", name).lower()


@pytest.fixture(params=BACKENDS)
def migrated_app(request: pytest.FixtureRequest, tmp_path: Any, vault: Vault) -> Iterator[Flask]:
    """An app on a database of its own, migrated to the head: the test seeds it with today's services,
    then takes the schema back to 0006 (before the key change) and writes what 0006 stored."""
    database = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'before-0007.db'}"
    else:
        database = PostgresDatabase(POSTGRES_URL).create()
        url = database.url
    app = create_app({"database_url": url, "vault_addr": vault.addr, "vault_token": vault.token, "vault_timeout": 1.0,
                      "record_flush_seconds": 0})
    with app.app_context():
        flask_migrate.upgrade()
    try:
        yield app
    finally:
        app.extensions["fluid_recorder"].close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if database is not None:
            database.drop()


def _store_under_the_old_key(
    app: Flask, table: str, name_column: str, key_column: str, row_id: str, name: str, created: datetime
) -> None:
    """What 0006 would have stored for ``name`` (NFKC, lower-cased), written past today's services."""
    with app.app_context():
        db.session.execute(
            text(f"UPDATE {table} SET {name_column} = :name, {key_column} = :key, created_at = :created WHERE id = :id"),  # noqa: S608
            {"name": name, "key": _old_key(name), "id": row_id, "created": created},
        )
        db.session.commit()


def test_the_migration_recomputes_keys_and_displaces_the_younger_look_alike(migrated_app, caplog):
    app = migrated_app
    client = app.test_client()
    tenant = make_tenant(app, "org-" + uuid.uuid4().hex[:8])
    # Stored before the key change, oldest first: "alice\u200b", then the plain "alice"; "bob " and "b\u00adob"
    # (neither plain); "carol", then "carol ".
    stored = ("alice\u200b", "alice", "bob ", "b\u00adob", "carol", "carol ")
    ids = {}
    for index, name in enumerate(stored):
        response = create_user(client, tenant, f"seed-{index}")
        assert response.status_code == 201, response.get_data(as_text=True)
        ids[name] = response.get_json()["id"]
    group = scim(client, tenant, "POST", "/Groups", {"schemas": [GROUP_URN], "displayName": "seed-group"}).get_json()["id"]
    # The schema of 0006 (the migrations after it undone, rows kept), then the names and keys it stored.
    with app.app_context():
        flask_migrate.downgrade(revision="0006")
    for index, name in enumerate(stored):
        _store_under_the_old_key(app, "scim_user", "user_name", "user_name_key", ids[name], name, EPOCH + timedelta(hours=index))
    _store_under_the_old_key(app, "scim_group", "display_name", "display_name_key", group, "Staff\u200b ", EPOCH)

    with app.app_context(), caplog.at_level(logging.WARNING):
        flask_migrate.upgrade()

    # Every name is kept; the plain "alice" keeps the key though created later, the older "bob " wins over "b\u00adob".
    assert user_names_found(client, tenant, "alice") == ["alice"]
    assert user_names_found(client, tenant, "bob") == ["bob "]
    assert user_names_found(client, tenant, "carol") == ["carol"]
    groups = scim(client, tenant, "GET", "/Groups?filter=" + quote('displayName eq "staff"')).get_json()["Resources"]
    assert [found["id"] for found in groups] == [group]
    for name in stored:
        assert scim(client, tenant, "GET", f"/Users/{ids[name]}").get_json()["userName"] == name

    # A displaced user cannot be changed until one of the two is renamed; then it takes its own key again.
    shadow = ids["alice\u200b"]
    patch = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "replace", "path": "title", "value": "Engineer"}]}
    assert_conflict(scim(client, tenant, "PATCH", f"/Users/{shadow}", patch))
    rename = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "replace", "path": "userName", "value": "alice.2"}]}
    assert scim(client, tenant, "PATCH", f"/Users/{shadow}", rename).status_code == 200
    assert user_names_found(client, tenant, "alice.2") == ["alice.2"]
    assert_conflict(create_user(client, tenant, "\u200balice"))  # and the key it held is still taken

    displaced = [record.getMessage() for record in caplog.records if "no longer its key" in record.getMessage()]
    assert len(displaced) == 3, displaced  # alice\u200b, b\u00adob, the younger carol
    assert any(ids["alice\u200b"] in message and ids["alice"] in message for message in displaced)
    assert any(ids["b\u00adob"] in message and ids["bob "] in message for message in displaced)

    with app.app_context():
        flask_migrate.downgrade(revision="0006")
        keys = {row[0]: row[1] for row in db.session.execute(text("SELECT id, user_name_key FROM scim_user"))}
        db.session.remove()
    assert keys[ids["alice"]] == "alice" and keys[ids["bob "]] == "bob " and keys[ids["carol "]] == "carol "
