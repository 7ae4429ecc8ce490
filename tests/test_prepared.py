"""Prepared SELECTs (fluid_scim/repositories/prepared.py) answer what ``Connection.execute`` answers, on both backends."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Column, MetaData, String, Table, bindparam, event, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from fluid_scim.extensions import db
from fluid_scim.models import Organisation, ScimGroup, ScimUser
from fluid_scim.repositories import access as access_repo
from fluid_scim.repositories import organisations, scim
from fluid_scim.repositories.prepared import TOGETHER_ROWS_AT_MOST, PreparedQuery, insert_together
from fluid_scim.repositories.scoping import UnscopedTenantQuery, across_organisations
from tests.support.provisioning import scim as scim_call
from tests.support.statements import captured_statements, postgres_round_trips
from tests.support.tenants import Tenant, make_tenant
from tests.support.urns import ENTERPRISE_URN, PATCH_OP_URN, USER_URN


def _people(client: FlaskClient, tenant: Tenant) -> list[str]:
    """Three users, with what a user's columns can hold: a manager, e-mails, a suspended one, groups with names
    that differ in case and accents, a user in none."""
    manager = scim_call(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": "boss@example.com",
                                                           "displayName": "Zoë Boss", "active": True})["id"]
    report = scim_call(client, tenant, "POST", "/Users", {
        "schemas": [USER_URN, ENTERPRISE_URN], "userName": "ada@example.com", "externalId": "e-1", "active": False,
        "name": {"givenName": "Ada", "familyName": "Lovelace"}, "title": "Engineer",
        "emails": [{"value": "ada@example.com", "type": "work", "primary": True}],
        ENTERPRISE_URN: {"employeeNumber": "7", "manager": {"value": manager}},
    })["id"]
    loner = scim_call(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": "loner@example.com"})["id"]
    for name in ("émigrés", "Emigres", "admins"):
        group = scim_call(client, tenant, "POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                                               "displayName": name})["id"]
        for member in (manager, report):
            scim_call(client, tenant, "PATCH", f"/Groups/{group}", {"schemas": [PATCH_OP_URN], "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": member}]}]})
    return [manager, report, loner]


def _both_ways(prepared: PreparedQuery, parameters: dict[str, Any]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    connection = db.session.connection()
    ordinary = [tuple(row) for row in connection.execute(prepared.statement, parameters)]
    return [tuple(row) for row in prepared.rows(connection, parameters)], ordinary


def test_every_prepared_statement_answers_as_connection_execute(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    ids = _people(client, tenant)
    with app.app_context():
        organisation = db.session.execute(select(Organisation).where(Organisation.slug == tenant.slug)).scalar_one()
        org = organisation.id
        user_name_key = db.session.execute(
            select(ScimUser.user_name_key).where(ScimUser.organisation_id == org, ScimUser.id == ids[1])
        ).scalar_one()
        dialect = db.session.connection().dialect.name
        cases: list[tuple[PreparedQuery, dict[str, Any]]] = [
            (organisations._WITH_TOKEN_PREPARED, {"slug": tenant.slug}),
            (organisations._WITH_TOKEN_PREPARED, {"slug": "nobody-here"}),
            (scim._RECORDS_BY_CREATION[dialect], {"organisation_id": org, "offset": 0, "limit": 100}),
            (scim._RECORDS_BY_CREATION[dialect], {"organisation_id": org, "offset": 1, "limit": 1}),
            (scim._DEEPER_BY_CREATION["postgresql"], {"organisation_id": org, "offset": 0, "limit": 100}),
            (scim._DEEPER_BY_CREATION["postgresql"], {"organisation_id": org, "offset": 1, "limit": 2}),
            (scim._COUNT_ALL[ScimUser], {"organisation_id": org}),
            (scim._COUNT_ALL[ScimGroup], {"organisation_id": org}),
            (scim._GROUPS_OF_USERS._postgresql, {"organisation_id": org, "ids": ids}),
            (scim._DISPLAY_NAMES._postgresql, {"organisation_id": org, "ids": ids}),
        ]
        cases += [(scim._GROUPS_OF_USER, {"organisation_id": org, "id": user_id}) for user_id in ids]
        cases += [(scim._RECORD_WITH_GROUPS[dialect]["id"], {"organisation_id": org, "id": user_id}) for user_id in ids]
        cases.append((scim._RECORD_WITH_GROUPS[dialect]["key"], {"organisation_id": org, "key": user_name_key}))
        group_ids = list(db.session.execute(select(ScimGroup.id).where(ScimGroup.organisation_id == org)).scalars())
        cases += [(scim._MEMBER_OF_GROUPS[dialect], {"organisation_id": org, "id": user_id, "group_ids": group_ids[:2]})
                  for user_id in ids[1:]]
        access_repo.replace_role_mappings(org, groups=[(group_ids[0], "admin")], app_roles={"writer": "editor"})
        cases.append((access_repo._ROLE_MAPPINGS, {"organisation_id": org}))
        with_user = scim._WITH_TOKEN_AND_USER[dialect]
        cases += [(with_user["id"], {"slug": tenant.slug, "id": user_id}) for user_id in [*ids, "no-such-user"]]
        cases += [(with_user["key"], {"slug": slug, "key": user_name_key}) for slug in (tenant.slug, "nobody-here")]
        if dialect != "postgresql":  # the array-parameter statements and the deeper pages are PostgreSQL's alone
            arrays = (scim._GROUPS_OF_USERS._postgresql, scim._DISPLAY_NAMES._postgresql, scim._DEEPER_BY_CREATION["postgresql"])
            cases = [case for case in cases if case[0] not in arrays]
        empty = []
        for prepared, parameters in cases:
            mine, ordinary = _both_ways(prepared, parameters)
            assert mine == ordinary, prepared.statement
            if not mine:
                empty.append(parameters)
            first = prepared.first(db.session.connection(), parameters)
            assert (None if first is None else tuple(first)) == (ordinary[0] if ordinary else None)
            raw, convert = prepared.raw_rows(db.session.connection(), parameters)
            assert [tuple(convert(row)) for row in raw] == ordinary, prepared.statement
        if dialect == "postgresql":  # a deeper page answers what the one-SELECT page answers
            for window in ({"offset": 0, "limit": 100}, {"offset": 1, "limit": 2}, {"offset": 2, "limit": 5}):
                parameters = {"organisation_id": org, **window}
                assert _both_ways(scim._DEEPER_BY_CREATION["postgresql"], parameters)[0] == _both_ways(
                    scim._RECORDS_BY_CREATION[dialect], parameters
                )[0]
        # Rows everywhere but for the unknown slug and the groups of the user in none.
        assert empty == [
            {"slug": "nobody-here"}, {"organisation_id": org, "id": ids[2]},
            {"organisation_id": org, "id": ids[2], "group_ids": group_ids[:2]}, {"slug": "nobody-here", "key": user_name_key}
        ]
        record = scim.user_record(org, ids[1])
        assert record is not None and record.active is False and record.external_id == "e-1"
        assert [name for _, name in record.groups] == ["Emigres", "admins", "émigrés"]
        assert record.created_at.tzinfo is not None


def test_one_users_mappings_and_memberships_are_the_two_statements_answers(
    app: Flask, client: FlaskClient, tenant: Tenant
) -> None:
    """A change of one user reads the role mappings and its memberships of the protected groups (the access
    group, the groups mapped to a role) in one statement: the same rows as the mappings' SELECT and
    memberships_in over those groups, with and without an access group, mapped groups or memberships."""
    ids = _people(client, tenant)  # the first two in all three groups, the third in none
    with app.app_context():
        org = db.session.execute(select(Organisation.id).where(Organisation.slug == tenant.slug)).scalar_one()
        groups_of_org = select(ScimGroup.display_name, ScimGroup.id).where(ScimGroup.organisation_id == org)
        named = {name: group_id for name, group_id in db.session.execute(groups_of_org)}
        group_ids = [named[name] for name in ("émigrés", "Emigres", "admins")]  # the groups of the first two users
        dialect = db.session.connection().dialect.name
        mappings = [
            ([], {}),
            ([(group_ids[0], "admin")], {"writer": "editor"}),
            ([(group_ids[0], "admin"), (group_ids[1], "viewer")], {}),
        ]
        seen = set()
        for groups, app_roles in mappings:
            access_repo.replace_role_mappings(org, groups=groups, app_roles=app_roles)
            for access_group in (None, group_ids[2], group_ids[0]):
                protected = {group_id for group_id, _ in groups} | ({access_group} if access_group else set())
                for user_id in ids:
                    rows, member_of = access_repo.role_mappings_and_memberships(org, user_id, access_group)
                    assert sorted(map(tuple, rows)) == sorted(map(tuple, access_repo.role_mappings(org)))
                    assert member_of == scim.memberships_in(org, [user_id], protected).get(user_id, set())
                    seen.add(len(member_of))
                    # The statement as SQLAlchemy runs it answers the same rows.
                    mine, ordinary = _both_ways(access_repo._MAPPINGS_AND_MEMBERSHIPS, {
                        "organisation_id": org, "member_id": user_id, "access_group_id": access_group})
                    assert mine == ordinary, dialect
        db.session.rollback()
    assert seen == {0, 1, 2, 3}  # from none to all three groups protected and joined, among the cases


def test_a_driver_error_is_raised_as_sqlalchemys_and_the_session_goes_on(app: Flask) -> None:
    missing = Table("no_such_table", MetaData(), Column("id", String(36)))
    prepared = PreparedQuery(select(missing.c.id).where(missing.c.id == bindparam("id")))
    with app.app_context():
        with pytest.raises((OperationalError, ProgrammingError)) as raised:
            prepared.first(db.session.connection(), {"id": "x"})
        assert "no_such_table" in str(raised.value)
        db.session.rollback()
        assert organisations.find_with_token("nobody-here") is None


def test_statements_stay_visible_to_cursor_listeners(app: Flask, tenant: Tenant) -> None:
    with captured_statements(app) as seen, app.app_context():
        found = organisations.find_with_token(tenant.slug)
    assert found is not None and found[0].slug == tenant.slug
    assert any("FROM organisation" in statement for statement, _ in seen)


def test_an_expanding_parameter_is_refused(app: Flask) -> None:
    prepared = PreparedQuery(select(ScimUser.id).where(
        ScimUser.organisation_id == bindparam("organisation_id"), ScimUser.id.in_(bindparam("ids", expanding=True))
    ))
    with app.app_context(), pytest.raises(TypeError, match="expanding"):
        prepared.first(db.session.connection(), {"organisation_id": uuid.uuid4(), "ids": ["a"]})


def test_a_prepared_query_without_an_organisation_is_refused_unless_it_says_it_spans_them(app: Flask, tenant: Tenant) -> None:
    """The tenant guard's rule holds for prepared statements too, which run beneath the session's hook."""
    unscoped = PreparedQuery(select(ScimUser.id).where(ScimUser.user_name == bindparam("name")))
    spanning = PreparedQuery(across_organisations(select(ScimUser.id).where(ScimUser.user_name == bindparam("name"))))
    with app.app_context():
        with pytest.raises(UnscopedTenantQuery, match="without an organisation criterion"):
            unscoped.rows(db.session.connection(), {"name": "nobody"})
        assert spanning.rows(db.session.connection(), {"name": "nobody"}) == []


@pytest.mark.parametrize("path", ["/Users/{user}", "/Users?filter=userName eq \"ada@example.com\"", "/Users", "/Groups/{group}",
                                  "/Groups?filter=displayName eq \"admins\""])
def test_a_read_holds_one_connection_and_returns_it(app_factory: Any, path: str) -> None:
    """A GET's statements, Core and ORM alike, run on one connection, back in the pool when it is answered."""
    app = app_factory(record_flush_seconds=60)  # events batched, as a served worker writes them
    tenant = make_tenant(app)
    client = app.test_client()
    user = scim_call(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": "ada@example.com"})["id"]
    group = scim_call(client, tenant, "POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                                           "displayName": "admins", "members": [{"value": user}]})["id"]
    with app.app_context():
        engine = db.engine
    checkouts: list[object] = []

    def checkout(dbapi_connection: object, record: object, proxy: object) -> None:
        checkouts.append(dbapi_connection)

    event.listen(engine, "checkout", checkout)
    try:
        response = client.get(f"/scim/v2{path.format(user=user, group=group)}",
                              headers={"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"})
    finally:
        event.remove(engine, "checkout", checkout)
    body = response.get_json()
    assert response.status_code == 200, body
    assert body.get("id") in (user, group) or body["totalResults"] >= 1
    assert len(checkouts) == 1
    assert engine.pool.checkedout() == 0


def _event(organisation_id: Any, event_id: str) -> dict[str, Any]:
    from fluid_scim.models.types import utcnow
    from fluid_scim.services.audit import event_values
    from fluid_scim.services.request_context import RequestContext

    context = RequestContext(kind="scim", actor="scim:entra", request_id="r-1", user_agent="Ünïcode agent", dialect="entra",
                             method="POST", path="/scim/v2/Users", quirks={"b", "a"})
    values = event_values(organisation_id, context, "user.create", "User", "u-1", [{"path": "name", "before": None,
                                                                                  "after": {"given": "Zoë", "n": 2**40}}],
                          201, None, "créé")
    values.update(id=event_id, created_at=utcnow())
    return values


def test_a_prepared_insert_writes_what_connection_execute_writes(app: Flask, tenant: Tenant) -> None:
    from fluid_scim.models import ProvisioningEvent
    from fluid_scim.repositories import history

    with app.app_context():
        org = organisations.find_with_token(tenant.slug)[0].id  # type: ignore[index]
        connection = db.session.connection()
        fast, ordinary = _event(org, "e-fast"), _event(org, "e-ordinary")
        batch = [_event(org, "e-batch-1"), _event(org, "e-batch-2")]  # the recorder's executemany
        history._INSERT_EVENT.execute(connection, [fast])
        history._INSERT_EVENTS.execute(connection, batch)
        connection.execute(history._INSERT_EVENTS.statement, ordinary)
        db.session.commit()
        assert history._INSERT_EVENT._plans[(connection.dialect.name, tuple(fast))] is not None  # not the fallback
        assert history._INSERT_EVENTS._plans[(connection.dialect.name, tuple(fast))] is not None
        table = ProvisioningEvent.__table__
        rows = {row.id: row._asdict() for row in db.session.execute(select(table).where(table.c.organisation_id == org))}
        for row in rows.values():
            del row["id"], row["created_at"]
        assert rows["e-fast"] == rows["e-ordinary"] == rows["e-batch-1"] == rows["e-batch-2"]
        assert rows["e-fast"]["quirks"] == ["a", "b"] and rows["e-fast"]["changes"][0]["after"]["given"] == "Zoë"


def test_a_prepared_insert_leaves_defaults_and_listeners_to_sqlalchemy(app: Flask, tenant: Tenant) -> None:
    from fluid_scim.models import ProvisioningEvent
    from fluid_scim.repositories import history

    with app.app_context():
        org = organisations.find_with_token(tenant.slug)[0].id  # type: ignore[index]
        partial = {key: value for key, value in _event(org, "e-partial").items() if key not in ("created_at", "kind")}
        with captured_statements(app) as seen:
            history._INSERT_EVENT.execute(db.session.connection(), [_event(org, "e-seen")])
        assert any("INSERT INTO provisioning_event" in statement for statement, _ in seen)
        history._INSERT_EVENT.execute(db.session.connection(), [partial])  # SQLAlchemy fills in the left-out defaults
        db.session.commit()
        table = ProvisioningEvent.__table__
        row = db.session.execute(select(table).where(table.c.organisation_id == org, table.c.id == "e-partial")).one()
        assert row.kind == "scim" and row.created_at is not None
        assert db.session.execute(select(table.c.id).where(table.c.organisation_id == org, table.c.id == "e-seen")).one()


def test_a_missing_parameter_is_refused_not_sent_as_null(app: Flask, tenant: Tenant) -> None:
    with app.app_context(), pytest.raises(KeyError, match="slug"):
        organisations._WITH_TOKEN_PREPARED.first(db.session.connection(), {})


@pytest.mark.parametrize("count", [3, 120], ids=["a-few-rows", "many-rows"])
def test_a_prepared_insert_of_several_rows_writes_what_connection_execute_writes(
    app: Flask, client: FlaskClient, tenant: Tenant, count: int
) -> None:
    """Several value rows at once (the driver's executemany), beyond a hundred too."""
    from fluid_scim.models import ScimUserValue

    user_id = scim_call(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": "many@example.com"})["id"]
    with app.app_context():
        org = organisations.find_with_token(tenant.slug)[0].id  # type: ignore[index]

        def rows(attribute: str) -> list[dict[str, Any]]:
            return [
                {"organisation_id": org, "user_id": user_id, "attribute": attribute, "position": position,
                 "value": f"Wert-{position}@Example.com" if position % 7 else None, "display": "Zoë" if position % 2 else None,
                 "type": "work", "primary": position == 0, "formatted": None, "street_address": None, "locality": None,
                 "region": None, "postal_code": None, "country": "DE" if position % 3 else None}
                for position in range(count)
            ]

        connection = db.session.connection()
        scim._INSERT_VALUES.execute(connection, rows("fast"))
        connection.execute(scim._INSERT_VALUES.statement, rows("ordinary"))
        db.session.commit()
        assert scim._INSERT_VALUES._plans[(connection.dialect.name, tuple(rows("fast")[0]))] is not None  # not the fallback
        table = ScimUserValue.__table__
        written = {
            attribute: [
                {key: value for key, value in row._asdict().items() if key != "attribute"}
                for row in db.session.execute(select(table).where(
                    table.c.organisation_id == org, table.c.attribute == attribute).order_by(table.c.position))
            ]
            for attribute in ("fast", "ordinary")
        }
    assert len(written["fast"]) == count
    assert written["fast"] == written["ordinary"]


def test_a_failing_row_of_a_prepared_insert_writes_none_of_them(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    """A taken key late in an executemany fails it with SQLAlchemy's IntegrityError, and the transaction
    rolled back keeps none of the rows."""
    from sqlalchemy.exc import IntegrityError

    from fluid_scim.models import ScimUserValue

    user_id = scim_call(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": "clash@example.com"})["id"]
    with app.app_context():
        org = organisations.find_with_token(tenant.slug)[0].id  # type: ignore[index]
        rows = [{"organisation_id": org, "user_id": user_id, "attribute": "clash", "position": position % 60, "value": "v"}
                for position in range(70)]
        with pytest.raises(IntegrityError):
            scim._INSERT_VALUES.execute(db.session.connection(), rows)
        db.session.rollback()
        table = ScimUserValue.__table__
        assert db.session.execute(select(table).where(table.c.organisation_id == org, table.c.attribute == "clash")).all() == []


def _pending(organisation_id: Any, name: str, count: int) -> list[dict[str, Any]]:
    from fluid_scim.models.types import utcnow

    return [{"organisation_id": organisation_id, "event_id": f"evt_{name}_{index}", "type": "user.updated", "subject_id": "u-1",
             "data": {"index": index, "name": "Zoë"}, "created_at": utcnow()} for index in range(count)]


@pytest.mark.parametrize("pending", [1, 3, TOGETHER_ROWS_AT_MOST + 1], ids=["one", "a-few", "past-the-bound"])
def test_rows_inserted_together_are_what_each_insert_writes(app: Flask, tenant: Tenant, pending: int) -> None:
    """Events and pending outbound events inserted together (one statement on PostgreSQL, three round trips
    with BEGIN and COMMIT where each table took one more) hold what inserting each would have written, in order."""
    from fluid_scim.models import OutboxPending, ProvisioningEvent
    from fluid_scim.repositories import history, outbox

    with app.app_context():
        org = organisations.find_with_token(tenant.slug)[0].id  # type: ignore[index]
        db.session.remove()
    with postgres_round_trips(app) as trips, app.app_context():
        connection = db.session.connection()
        insert_together(connection, [(history._INSERT_EVENT, [_event(org, "e-together-1"), _event(org, "e-together-2")]),
                                     (outbox._INSERT_PENDING, _pending(org, "together", pending)), (outbox._INSERT_PENDING, [])])
        db.session.commit()
        dialect = connection.dialect.name
    with app.app_context():
        connection = db.session.connection()
        history._INSERT_EVENT.execute(connection, [_event(org, "e-alone")])
        outbox._INSERT_PENDING.execute(connection, _pending(org, "alone", pending))
        db.session.commit()
        events = ProvisioningEvent.__table__
        rows = {row.id: row._asdict() for row in db.session.execute(select(events).where(events.c.organisation_id == org))}
        for row in rows.values():
            del row["id"], row["created_at"]
        assert rows["e-together-1"] == rows["e-together-2"] == rows["e-alone"]
        table = OutboxPending.__table__
        written = [(row.event_id, row.data) for row in db.session.execute(
            select(table).where(table.c.organisation_id == org).order_by(table.c.id))]
    assert written == [(f"evt_{name}_{index}", {"index": index, "name": "Zoë"})
                       for name in ("together", "alone") for index in range(pending)]
    if dialect == "postgresql":
        assert trips[0] == (3 if pending <= TOGETHER_ROWS_AT_MOST else 4)


def test_a_taken_user_name_inserted_together_with_value_rows_writes_neither(
    app: Flask, client: FlaskClient, tenant: Tenant
) -> None:
    """A create's user and value rows go in one statement on PostgreSQL: a taken userName key fails it whole,
    as the user's own INSERT did, and the request answers 409 with nothing written."""
    from fluid_scim.models import ScimUserValue

    body = {"schemas": [USER_URN], "userName": "Taken@Example.com", "emails": [{"value": "first@example.com"}]}
    first = scim_call(client, tenant, "POST", "/Users", body)
    second = {**body, "userName": "taken@example.COM", "emails": [{"value": "second@example.com"}]}
    again = client.post("/scim/v2/Users", json=second, headers={"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"})
    assert again.status_code == 409 and again.get_json()["scimType"] == "uniqueness"
    with app.app_context():
        org = organisations.find_with_token(tenant.slug)[0].id  # type: ignore[index]
        table = ScimUserValue.__table__
        values = db.session.execute(select(table.c.user_id, table.c.value).where(
            table.c.organisation_id == org, table.c.attribute == "emails")).all()
    assert [tuple(row) for row in values] == [(first["id"], "first@example.com")]


def test_a_create_on_postgresql_takes_five_round_trips(app_factory: Any) -> None:
    """BEGIN, authentication, the user with its value rows and the probe for reports waiting for it, its event
    with its pending outbound event, COMMIT. On SQLite the same create writes the same rows (no round trips there)."""
    from fluid_scim.models import OutboxPending, ProvisioningEvent

    app = app_factory(record_flush_seconds=60)  # the request's own event is its transaction's; reads' are batched
    tenant = make_tenant(app)
    client = app.test_client()
    scim_call(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": "warm@example.com"})
    with postgres_round_trips(app) as trips:
        created = scim_call(client, tenant, "POST", "/Users", {
            "schemas": [USER_URN], "userName": "five@example.com", "emails": [{"value": "five@example.com", "type": "work"}],
            "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "work"}]})
    with app.app_context():
        dialect = db.engine.dialect.name
        org = organisations.find_with_token(tenant.slug)[0].id  # type: ignore[index]
        event_ops = db.session.execute(select(ProvisioningEvent.operation).where(
            ProvisioningEvent.organisation_id == org, ProvisioningEvent.resource_id == created["id"])).scalars().all()
        pending = db.session.execute(select(OutboxPending.type).where(
            OutboxPending.organisation_id == org, OutboxPending.subject_id == created["id"])).scalars().all()
    assert created["emails"][0]["value"] == "five@example.com" and created["phoneNumbers"][0]["type"] == "work"
    assert event_ops == ["user.created"] and pending == ["user.provisioned"]
    if dialect == "postgresql":
        assert trips[0] == 5


@pytest.mark.parametrize("count", [2, TOGETHER_ROWS_AT_MOST + 4], ids=["a-few", "past-the-bound"])
def test_a_patch_replaces_value_rows_in_one_statement_on_postgresql(app_factory: Any, count: int) -> None:
    """A PATCH of e-mails deletes the old rows and inserts the new ones, in one statement on PostgreSQL (6 round
    trips: BEGIN, authentication with the user, its UPDATE, the value rows, the events, COMMIT), two past the
    bound; phones stay, the new e-mails are found by a filter and the old ones are not, on both backends."""
    from fluid_scim.models import ScimUserValue

    app = app_factory(record_flush_seconds=60)
    tenant = make_tenant(app)
    client = app.test_client()
    user = scim_call(client, tenant, "POST", "/Users", {
        "schemas": [USER_URN], "userName": f"rows-{count}@example.com",
        "emails": [{"value": "old@example.com", "type": "work", "primary": True}, {"value": "older@example.com"}],
        "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "work"}]})
    emails = [{"value": f"new-{index}@example.com", "type": "work" if index else None, "primary": True if index == 0 else None}
              for index in range(count)]
    body = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "replace", "path": "emails", "value": emails}]}
    scim_call(client, tenant, "PATCH", f"/Users/{user['id']}", {"schemas": [PATCH_OP_URN], "Operations": [
        {"op": "replace", "path": "title", "value": "warm"}]})  # the organisation's access rules, read once and kept
    with postgres_round_trips(app) as trips:
        patched = scim_call(client, tenant, "PATCH", f"/Users/{user['id']}", body)
    assert [email["value"] for email in patched["emails"]] == [email["value"] for email in emails]
    with app.app_context():
        org = organisations.find_with_token(tenant.slug)[0].id  # type: ignore[index]
        dialect = db.engine.dialect.name
        table = ScimUserValue.__table__
        rows = db.session.execute(select(table.c.attribute, table.c.position, table.c.value, table.c.primary).where(
            table.c.organisation_id == org, table.c.user_id == user["id"]).order_by(table.c.attribute, table.c.position)).all()
    assert [tuple(row) for row in rows] == [
        *(("emails", index, f"new-{index}@example.com", True if index == 0 else None) for index in range(count)),
        ("phoneNumbers", 0, "+44 20 7946 0000", None),
    ]
    for address, found in (("new-1@example.com", 1), ("old@example.com", 0)):
        listed = client.get("/scim/v2/Users", query_string={"filter": f'emails.value eq "{address}"'},
                            headers={"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"})
        assert listed.json["totalResults"] == found
    if dialect == "postgresql":
        assert trips[0] == (6 if count <= TOGETHER_ROWS_AT_MOST else 7)


def test_a_value_row_too_long_for_its_column_is_never_cut(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    """Replacing value rows in one statement casts strings to text, not to the column's varchar(1024): a value
    past the column's length fails the statement on PostgreSQL, as the INSERT alone did, instead of being cut
    (SQLite keeps a string whole whatever the declared length)."""
    from sqlalchemy.exc import DataError

    from fluid_scim.models import ScimUserValue

    user_id = scim_call(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": "long@example.com",
                                                           "emails": [{"value": "short@example.com"}]})["id"]
    long_display = "é" * 1100
    with app.app_context():
        user = scim.get_user(organisations.find_with_token(tenant.slug)[0].id, user_id)  # type: ignore[index]
        assert user is not None
        row = {"organisation_id": user.organisation_id, "user_id": user_id, "attribute": "emails", "position": 0,
               "value": "long@example.com", "display": long_display}
        if db.engine.dialect.name == "postgresql":
            with pytest.raises(DataError):
                scim.replace_user_values(user, [row], attributes=["emails"])
            db.session.rollback()
            expected = "short@example.com", None
        else:
            scim.replace_user_values(user, [row], attributes=["emails"])
            db.session.commit()
            expected = "long@example.com", long_display
        table = ScimUserValue.__table__
        stored = db.session.execute(select(table.c.value, table.c.display).where(
            table.c.organisation_id == user.organisation_id, table.c.user_id == user_id, table.c.attribute == "emails")).one()
    assert tuple(stored) == expected


def test_the_waiting_reports_probe_answers_as_connection_execute(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    """The SELECT that tells a create whether any report waits for it: a report naming an externalId no user has
    yet is found by that externalId (and by an employeeNumber or an id it names), never as its own manager."""
    waiting = scim_call(client, tenant, "POST", "/Users", {
        "schemas": [USER_URN, ENTERPRISE_URN], "userName": "waiting@example.com",
        ENTERPRISE_URN: {"manager": {"value": "boss-ext"}},
    })["id"]
    with app.app_context():
        org = organisations.find_with_token(tenant.slug)[0].id  # type: ignore[index]
        found = []
        for manager, external, employee in (("new-id", "boss-ext", None), ("new-id", None, "boss-ext"), ("boss-ext", None, None),
                                            ("new-id", "someone-else", "7"), (waiting, "boss-ext", None)):
            parameters = {"tenant": org, "manager": manager, "by_external_id": external, "by_employee_number": employee}
            mine, ordinary = _both_ways(scim._REPORTS_WAITING, parameters)
            assert mine == ordinary
            found.append(mine)
    assert found == [[(waiting,)], [(waiting,)], [(waiting,)], [], []]
