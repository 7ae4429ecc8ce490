"""Each SCIM request is recorded under a context of its own: what it records, and that nothing outlives it."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from fluid_scim.extensions import db
from fluid_scim.models import ProvisioningEvent
from fluid_scim.services import organisations, request_context
from tests.support.urns import BULK_REQUEST_URN, GROUP_URN, PATCH_OP_URN, USER_URN


def _headers(tenant) -> dict[str, str]:
    return {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "User-Agent": "Microsoft.Identity.Provisioning"}


def _events(app, tenant) -> list[ProvisioningEvent]:
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        events = list(
            db.session.execute(
                select(ProvisioningEvent)
                .where(ProvisioningEvent.organisation_id == organisation.id, ProvisioningEvent.kind == "scim")
                .order_by(ProvisioningEvent.created_at, ProvisioningEvent.id)
            ).scalars()
        )
        db.session.remove()
        return events


def _is_default(context: request_context.RequestContext) -> bool:
    return (context.kind, context.actor, context.token_fingerprint, context.quirks) == ("admin", "system", None, set())


def test_quirks_of_one_request_are_not_recorded_with_the_next(app, client, tenant):
    name = f"quirky-{uuid.uuid4().hex[:8]}@contoso.com"
    created = client.post("/scim/v2/Users", json={"schemas": [USER_URN], "userName": name}, headers=_headers(tenant))
    patch = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}
    assert client.patch(f"/scim/v2/Users/{created.json['id']}", json=patch, headers=_headers(tenant)).status_code == 200
    assert client.get(f"/scim/v2/Users/{created.json['id']}", headers=_headers(tenant)).status_code == 200

    events = _events(app, tenant)
    assert [(e.operation, sorted(e.quirks)) for e in events] == [
        ("user.created", []),
        ("user.deactivated", ["op-case", "string-boolean"]),
        ("user.read", []),
    ]
    assert _is_default(request_context.current())


def test_a_context_around_a_request_is_current_again_after_it(app, client, tenant):
    outer = request_context.RequestContext(kind="admin", actor="test")
    with request_context.acting(outer):
        assert client.get("/scim/v2/Users", headers=_headers(tenant)).status_code == 200
        assert request_context.current() is outer
    assert _is_default(request_context.current())


def test_routing_errors_authenticate_in_a_context_they_end(app, client, tenant):
    missing = client.get("/scim/v2/Nowhere", headers=_headers(tenant))
    not_allowed = client.delete("/scim/v2/Users", headers=_headers(tenant))
    assert (missing.status_code, not_allowed.status_code) == (404, 405)
    assert _is_default(request_context.current())  # no context, and no token fingerprint, left behind
    assert client.get("/scim/v2/Nowhere", headers={"Host": tenant.host}).status_code == 401
    assert _is_default(request_context.current())


def _bulk(client, tenant, operations: list[dict]) -> dict:
    body = {"schemas": [BULK_REQUEST_URN], "Operations": operations}
    response = client.post("/scim/v2/Bulk", json=body, headers=_headers(tenant))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_bulk_operations_record_the_status_each_one_answers(app, client, tenant):
    name = f"bulk-{uuid.uuid4().hex[:8]}"
    patch = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "replace", "path": "displayName", "value": f"{name} renamed"}]}
    answer = _bulk(
        client,
        tenant,
        [
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER_URN], "userName": name}},
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP_URN], "displayName": name}},
            {"method": "PUT", "path": "/Users/bulkId:u", "data": {"schemas": [USER_URN], "userName": name, "title": "T"}},
            {"method": "PATCH", "path": "/Groups/bulkId:g", "data": patch},
            {"method": "DELETE", "path": "/Groups/bulkId:g"},
            {"method": "DELETE", "path": "/Users/bulkId:u"},
        ],
    )
    assert [result["status"] for result in answer["Operations"]] == ["201", "201", "200", "200", "204", "204"]
    assert [(e.operation, e.status, e.method, e.path) for e in _events(app, tenant)] == [
        ("user.created", 201, "POST", "/scim/v2/Bulk"),
        ("group.created", 201, "POST", "/scim/v2/Bulk"),
        ("user.updated", 200, "POST", "/scim/v2/Bulk"),
        ("group.renamed", 200, "POST", "/scim/v2/Bulk"),
        ("group.deleted", 204, "POST", "/scim/v2/Bulk"),
        ("user.deleted", 204, "POST", "/scim/v2/Bulk"),
    ]


def test_a_rolled_back_bulk_request_records_itself_with_why(app, client, tenant):
    name = f"bulk-{uuid.uuid4().hex[:8]}"
    answer = _bulk(
        client,
        tenant,
        [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER_URN], "userName": name}},
            {"method": "POST", "path": "/Users/some-id", "bulkId": "b", "data": {"schemas": [USER_URN], "userName": name}},
        ],
    )
    assert [result["status"] for result in answer["Operations"]] == ["424", "400"]
    assert answer["Operations"][1]["response"]["detail"] == "Operations[1]: POST is not allowed on /Users/some-id"
    assert [(e.operation, e.status, e.detail) for e in _events(app, tenant)] == [
        ("bulk", 200, "rolled back: Operations[1]: POST is not allowed on /Users/some-id"),
    ]
    assert _is_default(request_context.current())


def test_a_lower_case_endpoint_and_a_trailing_slash_are_served_and_recorded_as_quirks(app, client, tenant):
    name = f"lenient-{uuid.uuid4().hex[:8]}@contoso.com"
    created = client.post("/scim/v2/users/", json={"schemas": [USER_URN], "userName": name}, headers=_headers(tenant))
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.headers["Location"].endswith(f"/scim/v2/Users/{created.json['id']}")
    found = client.get("/scim/v2/USERS", query_string={"filter": f'userName eq "{name}"'}, headers=_headers(tenant))
    assert found.status_code == 200 and found.json["totalResults"] == 1
    assert client.get("/scim/v2/Userz", headers=_headers(tenant)).status_code == 404

    events = _events(app, tenant)
    assert [(e.operation, sorted(e.quirks)) for e in events if e.operation in ("user.created", "users.list")] == [
        ("user.created", ["endpoint-case", "trailing-slash"]),
        ("users.list", ["endpoint-case"]),
    ]


def test_a_member_item_with_display_name_is_added_and_recorded_as_a_quirk(app, client, tenant):
    headers = _headers(tenant)
    user = client.post("/scim/v2/Users", json={"schemas": [USER_URN], "userName": f"m-{uuid.uuid4().hex[:8]}"}, headers=headers)
    group_body = {"schemas": [GROUP_URN], "displayName": f"g-{uuid.uuid4().hex[:8]}"}
    group = client.post("/scim/v2/Groups", json=group_body, headers=headers)
    member = {"value": user.json["id"], "displayName": "Alice Example"}
    patch = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "path": "members", "value": [member]}]}
    answered = client.patch(f"/scim/v2/Groups/{group.json['id']}", json=patch, headers=_headers(tenant))
    assert answered.status_code == 204, answered.get_data(as_text=True)
    members = client.get(f"/scim/v2/Groups/{group.json['id']}", headers=_headers(tenant)).json["members"]
    assert [item["value"] for item in members] == [user.json["id"]]
    events = _events(app, tenant)
    updated = [event for event in events if event.resource_id == group.json["id"] and event.operation != "group.read"]
    assert "member-extra-sub-attribute" in updated[-1].quirks, [(e.operation, e.quirks) for e in updated]
