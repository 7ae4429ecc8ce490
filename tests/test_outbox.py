"""The transactional outbox: events commit with their change, in commit order, and the feed pages through them."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fluid_scim.extensions import db
from fluid_scim.models import OutboxEvent, OutboxSequence
from fluid_scim.patch import Operation
from fluid_scim.services import organisations, outbox, request_context, users
from fluid_scim.services.request_context import RequestContext
from tests.support.graphql import claims_for, data, execute
from tests.support.provisioning import SCIM_MEDIA_TYPE, access_group_id, add_to_group, new_user, scim, set_active
from tests.support.tenants import Tenant, make_tenant
from tests.support.urns import BULK_REQUEST_URN, BULK_RESPONSE_URN, PATCH_OP_URN, USER_URN


def events(app: Flask, tenant: Tenant) -> list[OutboxEvent]:
    """The organisation's events, numbered (what a reader of the feed gets)."""
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        outbox.publish(organisation.id)
        return list(
            db.session.execute(
                select(OutboxEvent).where(OutboxEvent.organisation_id == organisation.id).order_by(OutboxEvent.seq)
            ).scalars()
        )


def kinds(app: Flask, tenant: Tenant) -> list[tuple[str, str]]:
    return [(event.type, event.subject_id) for event in events(app, tenant)]


def test_every_access_relevant_change_writes_an_event(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    group = access_group_id(client, tenant)
    user = new_user(client, tenant, "ada@contoso.com")
    add_to_group(client, tenant, group, user)
    set_active(client, tenant, user, "False")
    headers = {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"}
    assert client.delete(f"/scim/v2/Users/{user}", headers=headers).status_code == 204
    assert kinds(app, tenant) == [
        ("user.provisioned", user),
        ("group.members.changed", group),
        ("access.granted", user),
        ("user.updated", user),
        ("access.suspended", user),
        ("user.deleted", user),
    ]
    sequences = [event.seq for event in events(app, tenant)]
    assert sequences == list(range(1, len(sequences) + 1))
    by_type = {event.type: event for event in events(app, tenant)}
    membership = {"groupId": group, "displayName": "Fluid User", "added": [user], "removed": []}
    assert by_type["group.members.changed"].data == membership
    suspended = by_type["access.suspended"].data
    assert suspended["rolesBefore"] == [] and suspended["rolesAfter"] == [] and suspended["userName"] == "ada@contoso.com"
    assert by_type["user.updated"].data["operation"] == "user.deactivated" and by_type["user.updated"].data["active"] is False


def test_roles_changed_carries_roles_before_and_after(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    from fluid_scim.services import access_admin

    with app.app_context(), request_context.acting(RequestContext(kind="admin", actor="test")):
        organisation = organisations.get_organisation(slug=tenant.slug)
        access_admin.set_access_mode(organisation=organisation, mode="all_active")
        access_admin.set_role_mappings(organisation=organisation, groups={}, app_roles={"Editor": "editor"})
    user = new_user(client, tenant, "grace@contoso.com")
    scim(client, tenant, "PATCH", f"/Users/{user}", {"schemas": [PATCH_OP_URN], "Operations": [
        {"op": "add", "path": "roles", "value": [{"value": "Editor"}]}]})
    changed = [event for event in events(app, tenant) if event.type == "access.roles_changed"]
    assert [(event.data["rolesBefore"], event.data["rolesAfter"]) for event in changed] == [([], ["editor"])]


def test_a_refused_create_writes_no_event(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    new_user(client, tenant, "taken@contoso.com")
    before = kinds(app, tenant)
    headers = {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "Content-Type": SCIM_MEDIA_TYPE}
    duplicate = client.post("/scim/v2/Users", json={"schemas": [USER_URN], "userName": "taken@contoso.com"}, headers=headers)
    assert duplicate.status_code == 409
    assert kinds(app, tenant) == before


def test_a_bulk_request_undone_by_a_failing_operation_writes_no_event(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    """Bulk applies whole or not at all: the first operation succeeds, the second fails, both are undone.

    The HTTP status says nothing about that: a Bulk request is answered 200 and each operation's outcome
    is in the BulkResponse (RFC 7644 §3.7.3), so that is what is checked, with the outbox."""
    new_user(client, tenant, "taken@contoso.com")
    before = kinds(app, tenant)
    headers = {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "Content-Type": SCIM_MEDIA_TYPE}
    bulk = client.post("/scim/v2/Bulk", headers=headers, json={"schemas": [BULK_REQUEST_URN], "failOnErrors": 1, "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER_URN], "userName": "fresh@contoso.com"}},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [USER_URN], "userName": "taken@contoso.com"}},
    ]})
    assert bulk.status_code == 200
    response = bulk.get_json()
    assert response["schemas"] == [BULK_RESPONSE_URN]
    assert [(operation["bulkId"], operation["status"]) for operation in response["Operations"]] == [("a", "424"), ("b", "409")]
    assert kinds(app, tenant) == before
    assert all(event.data.get("userName") != "fresh@contoso.com" for event in events(app, tenant))


def test_an_event_is_forgotten_when_its_transaction_rolls_back(app: Flask, tenant: Tenant) -> None:
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        outbox.emit(organisation, "user.updated", "nobody", {"userId": "nobody"})
        db.session.rollback()  # forgotten with the transaction …
        db.session.commit()  # … so a later commit does not write it
    assert ("user.updated", "nobody") not in kinds(app, tenant)


def test_an_unknown_event_type_is_refused(app: Flask, tenant: Tenant) -> None:
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        with pytest.raises(ValueError):
            outbox.emit(organisation, "user.exploded", "nobody", {})


def test_concurrent_changes_get_distinct_gapless_sequence_numbers(app: Flask, tenant: Tenant) -> None:
    errors: list[BaseException] = []
    created: list[str] = []

    def provision(index: int) -> None:
        with app.app_context(), request_context.acting(RequestContext(kind="scim", actor="test")):
            organisation = organisations.get_organisation(slug=tenant.slug)
            for step in range(3):
                try:
                    user = users.create_user(organisation=organisation, body={"userName": f"p{index}-{step}@contoso.com"})
                    created.append(user.id)
                except Exception as exc:  # reported below
                    db.session.rollback()
                    errors.append(exc)

    threads = [threading.Thread(target=provision, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # SQLite has one writer: a concurrent writer may be told the database is locked (and nothing of it stays).
    assert all("locked" in str(error) for error in errors), errors
    written = events(app, tenant)
    assert [event.seq for event in written] == list(range(1, len(written) + 1))  # distinct, no gaps
    assert sorted(event.subject_id for event in written) == sorted(created)  # one event per committed change, no more


def test_the_feed_pages_through_every_event_once(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    group = access_group_id(client, tenant)
    for index in range(4):
        user = new_user(client, tenant, f"feed-{index}@contoso.com")
        add_to_group(client, tenant, group, user)
    query = ("query($after: String) { provisioningFeed(first: 3, after: $after) { edges { cursor node { id sequence type"
             " subjectId occurredAt data } } pageInfo { hasNextPage endCursor } } }")

    def read_all(after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        seen: list[dict[str, Any]] = []
        while True:
            page = data(execute(app, query, claims_for(tenant.slug), {"after": after}))["provisioningFeed"]
            seen += [edge["node"] for edge in page["edges"]]
            after = page["pageInfo"]["endCursor"] or after
            if not page["pageInfo"]["hasNextPage"]:
                return seen, after

    seen, cursor = read_all(None)
    assert len(seen) == len(events(app, tenant)) == 12
    assert len({node["id"] for node in seen}) == len(seen)
    assert [node["sequence"] for node in seen] == list(range(1, 13))
    # A consumer that polls later from its last cursor gets exactly what happened since.
    late = new_user(client, tenant, "late@contoso.com")
    more, _ = read_all(cursor)
    assert [(node["type"], node["subjectId"]) for node in more] == [("user.provisioned", late)]
    assert "password" not in str(seen + more).lower()
    bad = execute(app, '{ provisioningFeed(after: "nonsense") { edges { cursor } } }', claims_for(tenant.slug))
    assert bad.errors and bad.errors[0].extensions["code"] == "BAD_USER_INPUT"


def test_events_of_one_organisation_never_appear_in_anothers_feed(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    other = make_tenant(app)
    new_user(client, other, f"other-{uuid.uuid4().hex[:6]}@contoso.com")
    feed = data(execute(app, "{ provisioningFeed { edges { node { id } } } }", claims_for(tenant.slug)))
    assert feed == {"provisioningFeed": {"edges": []}}


def test_service_level_update_emits_once_per_change(app: Flask, tenant: Tenant) -> None:
    with app.app_context(), request_context.acting(RequestContext(kind="scim", actor="test")):
        organisation = organisations.get_organisation(slug=tenant.slug)
        user = users.create_user(organisation=organisation, body={"userName": "svc@contoso.com"})
        users.patch_user(organisation=organisation, user_id=user.id, if_match=None,
                         operations=[Operation(op="replace", path="displayName", value="Svc")])
        users.patch_user(organisation=organisation, user_id=user.id, if_match=None,
                         operations=[Operation(op="replace", path="displayName", value="Svc")])  # no change, no event
    assert [kind for kind, _ in kinds(app, tenant)] == ["user.provisioned", "user.updated"]


def test_user_events_carry_custom_attributes(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    urn = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
    body = {"schemas": [USER_URN, urn], "userName": "grace@contoso.com", urn: {"CustomAttribute": "701984"}}
    assert scim(client, tenant, "POST", "/Users", body)[urn] == {"CustomAttribute": "701984"}
    (provisioned,) = [event for event in events(app, tenant) if event.type == "user.provisioned"]
    assert provisioned.data["customAttributes"] == {urn: {"CustomAttribute": "701984"}}


def test_a_change_commits_while_a_publisher_holds_its_organisations_counter(
    app: Flask, client: FlaskClient, tenant: Tenant, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer for the whole file: there is no row lock to hold apart from the rest")
    first = new_user(client, tenant, "first@contoso.com")
    with app.app_context():
        organisation_id = organisations.get_organisation(slug=tenant.slug).id
        assert outbox.publish(organisation_id) == 1  # the counter row exists from here on
        with db.engine.connect() as publisher:  # a publisher in the middle of its batch
            publisher.execute(
                select(OutboxSequence.last_seq).where(OutboxSequence.organisation_id == organisation_id).with_for_update()
            )
            created: list[str] = []
            writer = threading.Thread(target=lambda: created.append(new_user(client, tenant, "second@contoso.com")))
            writer.start()
            writer.join(60)  # ends at once unless the commit waits for the counter (then only the rollback below ends it)
            committed_while_held = not writer.is_alive()
            publisher.rollback()
            writer.join(60)
    assert committed_while_held
    assert kinds(app, tenant) == [("user.provisioned", first), ("user.provisioned", created[0])]
    assert [event.seq for event in events(app, tenant)] == [1, 2]


def test_publishers_of_one_organisation_number_every_event_once_in_the_order_written(app: Flask, tenant: Tenant) -> None:
    count = 2 * outbox.PUBLISH_BATCH + 7  # several batches, so the publishers interleave
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        for index in range(count):
            outbox.emit(organisation, "user.updated", f"u{index:05}", {"index": index})
        db.session.commit()
    published: list[int] = []
    errors: list[BaseException] = []

    def publish() -> None:
        with app.app_context():
            try:
                published.append(outbox.publish(organisation.id))
            except Exception as exc:  # reported below
                errors.append(exc)

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and sum(published) == count
    written = events(app, tenant)
    assert [event.seq for event in written] == list(range(1, count + 1))
    assert [event.data["index"] for event in written] == list(range(count))  # the order they were emitted in
    assert len({event.id for event in written}) == count


def test_events_publish_numbers_what_is_pending(app: Flask, client: FlaskClient, tenant: Tenant, runner: Any) -> None:
    user = new_user(client, tenant, "pending@contoso.com")
    with app.app_context():
        organisation_id = organisations.get_organisation(slug=tenant.slug).id
        assert db.session.execute(select(OutboxEvent).where(OutboxEvent.organisation_id == organisation_id)).first() is None
    result = runner.invoke(args=["events", "publish"])
    assert result.exit_code == 0, result.output
    assert "published 1 event(s)" in result.stderr
    with app.app_context():
        [event] = db.session.execute(select(OutboxEvent).where(OutboxEvent.organisation_id == organisation_id)).scalars()
        assert (event.seq, event.type, event.subject_id) == (1, "user.provisioned", user)
    assert "published 0 event(s)" in runner.invoke(args=["events", "publish"]).stderr
