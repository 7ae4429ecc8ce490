"""Okta's provisioning traffic and its SCIM 2.0 SPEC test, against a live server.

The requests are those of Okta's "SCIM 2.0 protocol reference",
https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/ ;
the SPEC test is the one "Test your Okta SCIM integration" has an integration pass,
https://developer.okta.com/docs/guides/scim-provisioning-integration-test/main/ .
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from fluid_scim.extensions import db
from fluid_scim.models import ScimUser
from fluid_scim.repositories.scoping import across_organisations
from tests.support.tenants import ScimClient
from tests.support.urns import ERROR_URN, GROUP_URN, USER_URN

pytestmark = pytest.mark.live



@pytest.fixture
def okta(live_server, tenant) -> ScimClient:
    return ScimClient(live_server.url, tenant, user_agent="Okta SCIM Client 1.0.0")


def okta_user(user_name: str) -> dict:
    return {
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }


def test_user_lifecycle(okta):
    # "Test API Credentials": constant probes.
    assert okta.get("/Users", params={"startIndex": 1, "count": 2}).status_code == 200
    assert okta.get("/Groups", params={"startIndex": 1, "count": 100}).status_code == 200

    name = f"test.user-{uuid.uuid4().hex[:8]}@okta.local"
    lookup = okta.get("/Users", params={"filter": f'userName eq "{name}"', "startIndex": 1, "count": 100}).json()
    assert lookup["totalResults"] == 0

    created = okta.post("/Users", okta_user(name))
    assert created.status_code == 201, created.text
    user = created.json()
    assert "password" not in user and "groups" not in user
    assert user["locale"] == "en-US" and user["active"] is True

    current = okta.get(f"/Users/{user['id']}").json()
    current["name"]["givenName"] = "Changed"
    current["name"]["middleName"] = "M"
    replaced = okta.put(f"/Users/{user['id']}", {**current, "groups": []})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["name"] == {"givenName": "Changed", "familyName": "User", "middleName": "M"}
    assert replaced.json()["meta"]["version"] != user["meta"]["version"]

    deactivated = okta.patch(f"/Users/{user['id']}", [{"op": "replace", "value": {"active": False}}])
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    assert okta.get(f"/Users/{user['id']}").json()["active"] is False
    reactivated = okta.patch(f"/Users/{user['id']}", [{"op": "replace", "value": {"active": True}}])
    assert reactivated.json()["active"] is True


def test_put_clears_what_it_leaves_out_but_keeps_the_password(okta, app):
    user = okta.post("/Users", okta_user(f"put-{uuid.uuid4().hex[:8]}@okta.local")).json()
    body = {"schemas": [USER_URN], "userName": user["userName"], "id": user["id"], "meta": user["meta"]}
    replaced = okta.put(f"/Users/{user['id']}", body).json()
    assert "name" not in replaced and "emails" not in replaced and "displayName" not in replaced
    assert "active" not in replaced, "left out of the PUT, so unassigned"
    with app.app_context():
        row = db.session.execute(across_organisations(select(ScimUser).where(ScimUser.id == user["id"]))).scalar_one()
        assert row.password_hash.startswith("scrypt$") and "1mz050nq" not in row.password_hash


def test_spec_suite(okta):
    """Okta's "SCIM 2.0 SPEC Test" steps, in order (see "Test your Okta SCIM integration")."""
    seed = okta.post("/Users", okta_user(f"seed-{uuid.uuid4().hex[:8]}@example.com")).json()
    first = okta.get("/Users", params={"count": 1, "startIndex": 1}).json()
    assert first["Resources"] and first["itemsPerPage"] == 1 and first["startIndex"] == 1 and first["totalResults"] >= 1
    resource = first["Resources"][0]
    assert resource["id"] and resource["userName"] and resource["name"]["familyName"] and resource["emails"][0]["value"]
    assert okta.get(f"/Users/{seed['id']}").json()["id"] == seed["id"]

    assert okta.get("/Users", params={"filter": 'userName eq "doesnotexist@example.com"'}).json()["totalResults"] == 0
    missing = okta.get("/Users/010101001010101011001010101011")
    assert missing.status_code == 404 and missing.json()["detail"] and missing.json()["schemas"] == [ERROR_URN]

    random_name = f"Runscope{uuid.uuid4().hex[:6]}Hfluaklab151@example.com"
    created = okta.post("/Users", okta_user(random_name))
    assert created.status_code == 201
    assert created.json()["name"] == {"givenName": "Test", "familyName": "User"}
    assert okta.post("/Users", okta_user(random_name)).status_code == 409
    caps = random_name.split("@")[0].upper() + "@example.com"
    matched = okta.get("/Users", params={"filter": f'userName eq "{caps}"'}).json()
    assert matched["totalResults"] == 1 and matched["Resources"][0]["userName"] == random_name


def test_group_push(okta):
    users = [okta.post("/Users", okta_user(f"gp{i}-{uuid.uuid4().hex[:8]}@okta.local")).json() for i in range(2)]
    name = f"Test SCIMv2 {uuid.uuid4().hex[:6]}"
    assert okta.get("/Groups", params={"filter": f'displayName eq "{name}"'}).json()["totalResults"] == 0
    group = okta.post("/Groups", {"schemas": [GROUP_URN], "displayName": name, "members": []}).json()
    path = f"/Groups/{group['id']}"

    renamed = okta.patch(path, [{"op": "replace", "value": {"id": group["id"], "displayName": name + " renamed"}}])
    assert renamed.status_code == 204, renamed.text
    other_id = okta.patch(path, [{"op": "replace", "value": {"id": str(uuid.uuid4()), "displayName": "x"}}])
    assert other_id.status_code == 400 and other_id.json()["scimType"] == "mutability"

    okta.patch(path, [{"op": "add", "path": "members", "value": [{"value": users[0]["id"], "display": users[0]["userName"]}]}])
    membership = okta.patch(
        path,
        [
            {"op": "remove", "path": f'members[value eq "{users[0]["id"]}"]'},
            {"op": "add", "path": "members", "value": [{"value": users[1]["id"], "display": users[1]["userName"]}]},
        ],
    )
    assert membership.status_code == 204
    assert [m["value"] for m in okta.get(path).json()["members"]] == [users[1]["id"]]

    pushed = okta.patch(path, [{"op": "replace", "path": "members", "value": [{"value": u["id"]} for u in users]}])
    assert pushed.status_code == 204
    assert {m["value"] for m in okta.get(path).json()["members"]} == {u["id"] for u in users}
    assert okta.get(path).json()["displayName"] == name + " renamed"
    assert okta.delete(path).status_code == 204


def test_import_pages_through_every_user_once(okta):
    ids = {okta.post("/Users", okta_user(f"imp{i}-{uuid.uuid4().hex[:8]}@okta.local")).json()["id"] for i in range(7)}
    seen: list[str] = []
    start = 1
    while True:
        page = okta.get("/Users", params={"startIndex": start, "count": 3}).json()
        seen += [item["id"] for item in page["Resources"]]
        start += page["itemsPerPage"]
        if start > page["totalResults"] or not page["Resources"]:
            break
    assert ids <= set(seen) and len(seen) == len(set(seen)) == page["totalResults"]
