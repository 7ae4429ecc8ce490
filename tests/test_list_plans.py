"""Reads use their indexes: a list page reads its rows in index order (the database never sorts a whole
organisation for one page), and a user's groups are found by the member's index, not by walking every
membership of the organisation.

The statements a real request sends are caught and explained (``EXPLAIN QUERY PLAN`` on SQLite,
``EXPLAIN`` on PostgreSQL) on an organisation of a few thousand users, groups and memberships, with
statistics gathered and without them (nothing runs ANALYZE on a SQLite file; a PostgreSQL table
waits for autovacuum), so that each planner chooses as it would on a customer's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, insert, select, update

from fluid_scim.extensions import db
from fluid_scim.models import Organisation, ScimGroup, ScimGroupMember, ScimUser, ScimUserValue
from fluid_scim.models.scim import new_id
from fluid_scim.repositories import access as access_repo
from fluid_scim.repositories import scim
from tests.support.statements import captured_statements
from tests.support.tenants import Tenant
from tests.support.users import EPOCH, add_many_users

USERS = 3000
GROUPS = 1500


def _fill(app: Flask, tenant: Tenant, *, analyzed: bool) -> str:
    """Users (each with an externalId, an employeeNumber, a manager they name and a work e-mail), groups,
    and every user a member of one of the groups; the id of a user."""
    with app.app_context():
        organisation = db.session.scalars(select(Organisation).filter_by(slug=tenant.slug)).one()
        users = [user.id for user in add_many_users(organisation, (f"user-{index:05d}@example.com" for index in range(USERS)))]
        db.session.execute(update(ScimUser).where(ScimUser.organisation_id == organisation.id).values(
            external_id="ext-" + ScimUser.user_name, employee_number="emp-" + ScimUser.user_name,
            manager_ref="boss-of-" + ScimUser.user_name))
        db.session.execute(insert(ScimUserValue), [
            {"organisation_id": organisation.id, "user_id": user_id, "attribute": "emails", "position": 0,
             "value": f"mail-{index:05d}@example.com", "type": "work", "primary": True}
            for index, user_id in enumerate(users)
        ])
        groups = [new_id() for _ in range(GROUPS)]
        db.session.execute(insert(ScimGroup), [
            {"organisation_id": organisation.id, "id": group_id, "display_name": f"Group {index:05d}",
             "display_name_key": f"group {index:05d}", "created_at": EPOCH, "updated_at": EPOCH}
            for index, group_id in enumerate(groups)
        ])
        db.session.execute(insert(ScimGroupMember), [
            {"organisation_id": organisation.id, "group_id": groups[index % 3], "member_id": user_id,
             "member_type": "User", "created_at": EPOCH}
            for index, user_id in enumerate(users)
        ])
        db.session.commit()
        # PostgreSQL's autovacuum analyzes a table that many rows were written to; this test server runs
        # with it off, so the statistics it would have gathered are gathered here. Nothing does so for SQLite.
        if analyzed or db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        else:
            _forget_sqlite_statistics()
        return users[USERS // 2]


def _forget_sqlite_statistics() -> None:
    """Drop what an ANALYZE left in the SQLite file (dropping a table makes every connection reload the schema)."""
    for table in ("sqlite_stat1", "sqlite_stat4"):
        db.session.execute(db.text(f"DROP TABLE IF EXISTS {table}"))
    db.session.commit()


@pytest.fixture(autouse=True)
def _statistics_stay_here(app: Flask) -> Iterator[None]:
    """The session's other tests run on a SQLite file without statistics, as a deployment's is."""
    yield
    if _sqlite(app):
        with app.app_context():
            _forget_sqlite_statistics()


def _plan(app: Flask, statement: str, parameters: Any) -> str:
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            explain = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
            cursor.execute(explain + statement, parameters)
            return "\n".join(" ".join(str(part) for part in row) for row in cursor.fetchall())
        finally:
            connection.close()


def _statement(app: Flask, client: FlaskClient, tenant: Tenant, path: str, table: str, *, page: bool) -> tuple[str, Any]:
    """The statement that read the users or groups ``path`` answers with (a page's, or a single user's)."""
    headers = {"Authorization": f"Bearer {tenant.token}"}
    with captured_statements(app) as seen:
        response = client.get(path, headers=headers, base_url=f"http://{tenant.host}")
    assert response.status_code == 200, response.get_data(as_text=True)
    if page:
        assert len(response.get_json()["Resources"]) == 100
    else:
        assert len(response.get_json()["groups"]) == 1
    # A single user is read in authentication's statement (a join of the organisation, its token and the user).
    reads = [(statement, parameters) for statement, parameters in seen
             if (f"FROM {table}" in statement or f"JOIN {table} ON" in statement)
             and ("LIMIT" in statement and "ORDER BY" in statement) == page]
    assert len(reads) == 1, [statement for statement, _ in seen]
    return reads[0]


def _sqlite(app: Flask) -> bool:
    return str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite")


@pytest.mark.parametrize("analyzed", [True, False], ids=["analyzed", "no-statistics"])
@pytest.mark.parametrize(
    ("path", "table", "index", "carries_groups"),
    [
        ("/scim/v2/Users?startIndex=1&count=100", "scim_user", "ix_scim_user_created", True),
        ("/scim/v2/Users?startIndex=2001&count=100", "scim_user", "ix_scim_user_created", True),
        ("/scim/v2/Users?startIndex=1&count=100&sortBy=meta.created", "scim_user", "ix_scim_user_created", False),
        ("/scim/v2/Groups?startIndex=1&count=100&excludedAttributes=members", "scim_group", "ix_scim_group_created", False),
        ("/scim/v2/Users?startIndex=1&count=100&sortBy=userName", "scim_user", "ix_scim_user_user_name_order", False),
        ("/scim/v2/Users?startIndex=101&count=100&sortBy=userName&sortOrder=descending", "scim_user",
         "ix_scim_user_user_name_order", False),
        ("/scim/v2/Groups?startIndex=1&count=100&sortBy=displayName&excludedAttributes=members", "scim_group",
         "ix_scim_group_display_name_order", False),
    ],
)
def test_a_page_is_read_in_the_order_of_an_index(
    app: Flask, client: FlaskClient, tenant: Tenant, path: str, table: str, index: str, carries_groups: bool, analyzed: bool
) -> None:
    _fill(app, tenant, analyzed=analyzed)
    plan = _plan(app, *_statement(app, client, tenant, path, table, page=True))
    assert index in plan, plan
    assert ("TEMP B-TREE" if _sqlite(app) else "Sort") not in plan, plan
    if carries_groups:  # each user's groups, read in the page's own statement
        assert "ix_scim_group_member_of_member" in plan, plan


@pytest.mark.parametrize("analyzed", [True, False], ids=["analyzed", "no-statistics"])
def test_a_users_groups_are_found_by_the_members_index(app: Flask, client: FlaskClient, tenant: Tenant, analyzed: bool) -> None:
    user_id = _fill(app, tenant, analyzed=analyzed)
    plan = _plan(app, *_statement(app, client, tenant, f"/scim/v2/Users/{user_id}", "scim_user", page=False))
    assert "ix_scim_group_member_of_member" in plan, plan


@pytest.mark.parametrize("analyzed", [True, False], ids=["analyzed", "no-statistics"])
@pytest.mark.parametrize(
    ("lookup", "index"),
    [
        ('externalId eq "ext-user-01500@example.com"', "ix_scim_user_external_id"),
        ('emails[type eq "work"].value eq "MAIL-01500@example.com"', "ix_scim_user_value_value"),
        ('emails.value eq "mail-01500@example.com"', "ix_scim_user_value_value"),
    ],
)
def test_a_lookup_finds_its_users_by_the_filters_index(
    app: Flask, client: FlaskClient, tenant: Tenant, lookup: str, index: str, analyzed: bool
) -> None:
    """Not by walking the organisation in creation order and testing each user (the creation index
    answers the ORDER BY, which SQLite's planner prefers without statistics), nor by probing each
    user's values."""
    _fill(app, tenant, analyzed=analyzed)
    headers = {"Authorization": f"Bearer {tenant.token}"}
    with captured_statements(app) as seen:
        response = client.get("/scim/v2/Users", query_string={"filter": lookup}, headers=headers,
                              base_url=f"http://{tenant.host}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [user["userName"] for user in response.get_json()["Resources"]] == ["user-01500@example.com"]
    reads = [(statement, parameters) for statement, parameters in seen if "FROM scim_user \n" in statement
             or ("FROM scim_user" in statement and "ORDER BY" in statement and "LIMIT" in statement)]
    assert len(reads) == 1, [statement for statement, _ in seen]
    plan = _plan(app, *reads[0])
    assert index in plan, plan
    assert "ix_scim_user_created" not in plan and "CORRELATED" not in plan, plan


@pytest.mark.parametrize("analyzed", [True, False], ids=["analyzed", "no-statistics"])
def test_a_create_links_its_waiting_reports_without_walking_the_organisation(
    app: Flask, client: FlaskClient, tenant: Tenant, analyzed: bool
) -> None:
    """The reports naming the new user by externalId are checked for a rival (another user the reference
    could mean) by the primary key, externalId and employeeNumber indexes, not by a walk through every user."""
    _fill(app, tenant, analyzed=analyzed)
    with app.app_context():
        organisation = db.session.scalars(select(Organisation).filter_by(slug=tenant.slug)).one()
        waiting = db.session.scalars(select(ScimUser.id).where(ScimUser.organisation_id == organisation.id).limit(5)).all()
        db.session.execute(update(ScimUser).where(ScimUser.organisation_id == organisation.id, ScimUser.id.in_(waiting))
                           .values(manager_ref="boss-ext"))
        db.session.commit()
    headers = {"Authorization": f"Bearer {tenant.token}"}
    with captured_statements(app) as seen:
        response = client.post("/scim/v2/Users", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                                       "userName": "boss@example.com", "externalId": "boss-ext"},
                               headers=headers, base_url=f"http://{tenant.host}")
    assert response.status_code == 201, response.get_data(as_text=True)
    links = [(statement, parameters) for statement, parameters in seen
             if statement.startswith("UPDATE scim_user SET manager_id")]
    assert len(links) == 1, [statement for statement, _ in seen]
    plan = _plan(app, *links[0])
    # The reports themselves are found in the index of those waiting for a manager.
    assert "ix_scim_user_manager_waiting" in plan, plan
    rivals = [line for line in plan.splitlines() if "scim_user_1" in line or "Scan" in line]
    assert rivals, plan
    if _sqlite(app):
        assert not any(line.endswith("(organisation_id=?)") or " SCAN " in f" {line}" for line in rivals), plan
    else:
        assert "Seq Scan" not in plan, plan
    with app.app_context():
        linked = db.session.scalars(select(ScimUser.manager_id).where(
            ScimUser.organisation_id == organisation.id, ScimUser.id.in_(waiting))).all()
    assert set(linked) == {response.get_json()["id"]}


@pytest.mark.parametrize("analyzed", [True, False], ids=["analyzed", "no-statistics"])
def test_a_users_change_finds_its_protected_groups_by_the_members_index(
    app: Flask, client: FlaskClient, tenant: Tenant, analyzed: bool
) -> None:
    """A PATCH of one user reads the role mappings and the user's memberships of the protected groups in one
    statement; the memberships are found by the members index, not by a walk through the organisation's."""
    user_id = _fill(app, tenant, analyzed=analyzed)
    with app.app_context():
        organisation = db.session.scalars(select(Organisation).filter_by(slug=tenant.slug)).one()
        mapped = db.session.scalars(select(ScimGroup.id).where(ScimGroup.organisation_id == organisation.id).limit(2)).all()
        access_repo.replace_role_mappings(organisation.id, groups=[(group_id, "admin") for group_id in mapped], app_roles={})
        db.session.commit()
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "Replace", "path": "title", "value": "Engineer"}]}
    with captured_statements(app) as seen:
        response = client.patch(f"/scim/v2/Users/{user_id}", json=patch, headers={"Authorization": f"Bearer {tenant.token}"},
                                base_url=f"http://{tenant.host}")
    assert response.status_code == 200, response.get_data(as_text=True)
    reads = [(statement, parameters) for statement, parameters in seen
             if "UNION ALL" in statement and "role_mapping" in statement]
    assert len(reads) == 1, [statement for statement, _ in seen]
    assert not [statement for statement, _ in seen if "FROM role_mapping" in statement and "UNION ALL" not in statement]
    plan = _plan(app, *reads[0])
    assert "ix_scim_group_member_of_member" in plan, plan
    if _sqlite(app):
        assert not any(" SCAN scim_group_member" in f" {line}" and "USING" not in line for line in plan.splitlines()), plan
    else:
        assert "Seq Scan on scim_group_member" not in plan, plan


def test_the_waiting_reports_probe_reads_its_index_on_a_new_database(
    database_url: str, vault: Any, tmp_path: Any
) -> None:
    """What a create asks before it links reports (``scim._REPORTS_WAITING``) reads the waiting reports' index on a
    new database too: empty tables, no statistics. PostgreSQL keeps the plan a prepared statement is first given
    (a generic plan, made then while scim_user is empty); SQLite plans every statement without statistics."""
    import re

    from tests.conftest import migrate_to_head
    from tests.support.backends import POSTGRES_URL
    from tests.support.services import PostgresDatabase

    statement = scim._REPORTS_WAITING.statement
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'new.db'}"
        migrate_to_head(url, vault)
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                compiled = statement.compile(dialect=connection.dialect)
                given = {"tenant": str(uuid.uuid4()), "manager": "m", "by_external_id": "e", "by_employee_number": "n"}
                parameters = tuple(given.get(name, compiled.binds[name].value) for name in compiled.positiontup or ())
                explained = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + compiled.string, parameters)
                plan = " ".join(str(row) for row in explained)
        finally:
            engine.dispose()
        assert "ix_scim_user_manager_waiting" in plan, plan
        return
    database = PostgresDatabase(POSTGRES_URL).create()
    try:
        migrate_to_head(database.url, vault)
        engine = create_engine(database.url)
        try:
            with engine.connect() as connection:
                compiled = statement.compile(dialect=connection.dialect)
                order: list[str] = []

                def numbered(match: re.Match[str]) -> str:
                    if match.group(1) not in order:
                        order.append(match.group(1))
                    return f"${order.index(match.group(1)) + 1}"

                sql = re.sub(r"%\((\w+)\)s", numbered, compiled.string)
                connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
                connection.exec_driver_sql(f"PREPARE waiting AS {sql}")
                values = {"tenant": f"'{uuid.uuid4()}'", "manager": "'m'", "by_external_id": "'e'", "by_employee_number": "'n'",
                          "param_1": "1"}
                plan = "\n".join(row[0] for row in connection.exec_driver_sql(
                    f"EXPLAIN EXECUTE waiting({', '.join(values[name] for name in order)})"))
        finally:
            engine.dispose()
    finally:
        database.drop()
    assert "ix_scim_user_manager_waiting" in plan and "$1" in plan, plan  # $1: the generic plan, not one for these values


def test_a_create_that_no_report_waits_for_sends_no_update(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    """The link of reports is one SELECT of the waiting reports' index when none names the new user; the UPDATE
    runs only for a create that some report waits for (test_a_create_links_its_waiting_reports… above)."""
    headers = {"Authorization": f"Bearer {tenant.token}"}
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "nobody-waits@example.com",
            "externalId": "nobody-waits"}
    with captured_statements(app) as seen:
        response = client.post("/scim/v2/Users", json=body, headers=headers, base_url=f"http://{tenant.host}")
    assert response.status_code == 201, response.get_data(as_text=True)
    statements = [statement for statement, _ in seen]
    assert not any(statement.startswith("UPDATE scim_user SET manager_id") for statement in statements), statements
    assert sum("scim_user.manager_id IS NULL" in statement for statement in statements) == 1, statements
