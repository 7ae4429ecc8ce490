"""Bulk rewrites ``bulkId:`` only where a value names a resource (RFC 7644 §3.7.2): a group's
``members[].value`` and a user's ``manager.value``. Elsewhere the string is data, stored as sent, so
a directory value that happens to read "bulkId:…" cannot be turned into another resource's id nor
make the request fail."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.urns import BULK_REQUEST_URN, ENTERPRISE_URN, GROUP_URN, PATCH_OP_URN, USER_URN


def _headers(tenant: Any) -> dict[str, str]:
    return {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"}


def _bulk(client: Any, tenant: Any, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answered = client.post("/scim/v2/Bulk", json={"schemas": [BULK_REQUEST_URN], "Operations": operations},
                           headers=_headers(tenant))
    assert answered.status_code == 200, answered.get_data(as_text=True)
    results: list[dict[str, Any]] = answered.json["Operations"]
    return results


def _get(client: Any, tenant: Any, location: str) -> dict[str, Any]:
    answered = client.get("/scim/v2" + location.split("/scim/v2", 1)[1], headers=_headers(tenant))
    assert answered.status_code == 200, answered.get_data(as_text=True)
    body: dict[str, Any] = answered.json
    return body


def _user(**attributes: Any) -> dict[str, Any]:
    return {"schemas": [USER_URN, ENTERPRISE_URN], "userName": f"ref-{uuid.uuid4().hex[:8]}", **attributes}


def test_a_bulk_id_string_in_ordinary_data_is_stored_as_sent(client, tenant):
    results = _bulk(client, tenant, [
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": _user()},
        # A title naming the user created above, and one naming nothing: both are just text.
        {"method": "POST", "path": "/Users", "bulkId": "u2", "data": _user(title="bulkId:u1", nickName="bulkId:none")},
    ])
    assert [result["status"] for result in results] == ["201", "201"], results
    second = _get(client, tenant, results[1]["location"])
    assert second["title"] == "bulkId:u1"
    assert second["nickName"] == "bulkId:none"


def test_a_patch_value_outside_references_is_stored_as_sent(client, tenant):
    results = _bulk(client, tenant, [
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": _user()},
        {"method": "PATCH", "path": "/Users/bulkId:u1", "data": {"schemas": [PATCH_OP_URN], "Operations": [
            {"op": "replace", "path": "title", "value": "bulkId:u1"},
            {"op": "replace", "value": {"displayName": "bulkId:u1"}},
        ]}},
    ])
    assert [result["status"] for result in results] == ["201", "200"], results
    user = _get(client, tenant, results[0]["location"])
    assert (user["title"], user["displayName"]) == ("bulkId:u1", "bulkId:u1")


def test_member_and_manager_references_resolve(client, tenant):
    results = _bulk(client, tenant, [
        {"method": "POST", "path": "/Users", "bulkId": "boss", "data": _user()},
        {"method": "POST", "path": "/Users", "bulkId": "report",
         "data": _user(**{ENTERPRISE_URN: {"manager": {"value": "bulkId:boss"}}})},
        {"method": "POST", "path": "/Groups", "bulkId": "team",
         "data": {"schemas": [GROUP_URN], "displayName": f"team-{uuid.uuid4().hex[:6]}", "members": [{"value": "bulkId:boss"}]}},
        {"method": "PATCH", "path": "/Groups/bulkId:team", "data": {"schemas": [PATCH_OP_URN], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": "bulkId:report"}]},
        ]}},
        {"method": "POST", "path": "/Users", "bulkId": "late", "data": _user()},
        {"method": "PATCH", "path": "/Users/bulkId:late", "data": {"schemas": [PATCH_OP_URN], "Operations": [
            {"op": "replace", "path": f"{ENTERPRISE_URN}:manager", "value": {"value": "bulkId:report"}},
        ]}},
    ])
    assert [result["status"] for result in results] == ["201", "201", "201", "200", "201", "200"], results
    boss_id, report_id = (results[index]["location"].rsplit("/", 1)[1] for index in (0, 1))
    report = _get(client, tenant, results[1]["location"])
    assert report[ENTERPRISE_URN]["manager"]["value"] == boss_id
    team = _get(client, tenant, results[2]["location"])
    assert sorted(member["value"] for member in team["members"]) == sorted([boss_id, report_id])
    late = _get(client, tenant, results[4]["location"])
    assert late[ENTERPRISE_URN]["manager"]["value"] == report_id


def test_a_reference_to_nothing_created_is_still_a_conflict(client, tenant):
    answered = client.post("/scim/v2/Bulk", headers=_headers(tenant), json={"schemas": [BULK_REQUEST_URN], "Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "team",
         "data": {"schemas": [GROUP_URN], "displayName": f"team-{uuid.uuid4().hex[:6]}", "members": [{"value": "bulkId:ghost"}]}},
    ]})
    assert answered.status_code == 200
    (result,) = answered.json["Operations"]
    assert result["status"] == "409"
    assert "'bulkId:ghost' refers to no resource created earlier" in result["response"]["detail"]
