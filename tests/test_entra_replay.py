"""Microsoft Entra ID's provisioning traffic, replayed against a live gunicorn server.

The requests are those of Microsoft Learn's "Tutorial: Develop and plan provisioning for a SCIM endpoint"
(https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups ,
"User operations", "Group operations") and of "Known issues and resolutions with SCIM 2.0 protocol compliance"
(https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility).

Both dialects: the default job (capitalised ops, "True"/"False" strings, remove-by-value) and a
job with the ``aadOptscim062020`` flag (lower-case ops, path-less replace with dotted and URN keys,
``members[value eq "…"]``), which Entra appends to the tenant URL as a query parameter.
"""

from __future__ import annotations

import uuid

import pytest

from tests.support.tenants import ScimClient
from tests.support.urns import ENTERPRISE_URN, ERROR_URN, FLUID_URN, GROUP_URN, LIST_RESPONSE_URN, USER_URN

pytestmark = pytest.mark.live

ENTRA_AGENT = "Microsoft.Identity.Provisioning"


@pytest.fixture
def entra(live_server, tenant) -> ScimClient:
    return ScimClient(live_server.url, tenant, user_agent=ENTRA_AGENT)


def entra_user(user_name: str, **extra) -> dict:
    """The create body Entra sends with the default attribute mappings (the tutorial's "Create User" and attribute table)."""
    return {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "externalId": str(uuid.uuid4()),
        "userName": user_name,
        "active": True,
        "displayName": "Test User",
        "title": "Engineer",
        "preferredLanguage": "en-GB",
        "emails": [
            {"primary": True, "type": "work", "value": user_name},
            {"type": "other", "value": "alias-" + user_name},
        ],
        "phoneNumbers": [{"type": "work", "value": "+44 20 7946 0000"}, {"type": "mobile", "value": "07700 900000"}],
        "addresses": [
            {
                "type": "work",
                "formatted": "1 Main St",
                "streetAddress": "1 Main St",
                "locality": "London",
                "region": "LDN",
                "postalCode": "N1 9GU",
                "country": "United Kingdom",
            }
        ],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        ENTERPRISE_URN: {"employeeNumber": "1001", "department": "R&D"},
        "roles": [],
        **extra,
    }


def _list(response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["schemas"] == [LIST_RESPONSE_URN]
    assert isinstance(body["totalResults"], int) and isinstance(body["startIndex"], int)
    assert isinstance(body["itemsPerPage"], int) and isinstance(body["Resources"], list)
    return body


def _error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR_URN] and body["status"] == str(status)
    if scim_type:
        assert body["scimType"] == scim_type
    return body


def test_test_connection_finds_nothing_with_200(entra):
    for path, attribute in (("/Users", "userName"), ("/Groups", "displayName")):
        body = _list(entra.get(path, params={"filter": f'{attribute} eq "{uuid.uuid4()}"'}))
        assert body["totalResults"] == 0 and body["Resources"] == []


def test_unknown_query_parameters_such_as_the_feature_flag_are_ignored(entra):
    body = _list(entra.get("/Users?aadOptscim062020", params={"filter": 'userName eq "nobody"'}))
    assert body["totalResults"] == 0


def test_user_lifecycle_default_dialect(entra):
    name = f"Test_User_{uuid.uuid4()}@testuser.com"
    assert _list(entra.get("/Users", params={"filter": f'userName eq "{name}"'}))["totalResults"] == 0

    created = entra.post("/Users", entra_user(name))
    assert created.status_code == 201, created.text
    user = created.json()
    user_id = user["id"]
    assert created.headers["Location"] == user["meta"]["location"] and user["meta"]["location"].endswith(f"/Users/{user_id}")
    assert created.headers["ETag"] == user["meta"]["version"]
    assert user["userName"] == name and user["active"] is True
    assert user["schemas"] == [USER_URN, ENTERPRISE_URN, FLUID_URN]
    assert user[ENTERPRISE_URN] == {"employeeNumber": "1001", "department": "R&D"}
    assert user["meta"]["resourceType"] == "User" and "roles" not in user and "password" not in user
    assert user["phoneNumbers"][1] == {"type": "mobile", "value": "07700 900000"}  # stored as sent

    found = _list(entra.get("/Users", params={"filter": f'userName eq "{name.upper()}"'}))
    assert [item["id"] for item in found["Resources"]] == [user_id]
    by_external = _list(entra.get("/Users", params={"filter": f'externalId eq "{user["externalId"]}"'}))
    assert by_external["totalResults"] == 1
    by_email = _list(entra.get("/Users", params={"filter": f'emails[type eq "work"].value eq "{name}"'}))
    assert by_email["totalResults"] == 1

    patched = entra.patch(
        f"/Users/{user_id}",
        [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        ],
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert {"primary": True, "type": "work", "value": "updatedEmail@microsoft.com"} in body["emails"]
    assert {"type": "other", "value": "alias-" + name} in body["emails"], "other email types are untouched"
    assert body["name"]["familyName"] == "updatedFamilyName" and body["name"]["givenName"] == "givenName"

    renamed = f"renamed-{uuid.uuid4()}@testuser.com"
    assert (
        entra.patch(f"/Users/{user_id}", [{"op": "Replace", "path": "userName", "value": renamed}]).json()["userName"] == renamed
    )

    disabled = entra.patch(f"/Users/{user_id}", [{"op": "Replace", "path": "active", "value": "False"}])
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert entra.get(f"/Users/{user_id}").json()["active"] is False, "inactive users stay readable"
    assert _list(entra.get("/Users", params={"filter": f'userName eq "{renamed}"'}))["totalResults"] == 1
    enabled = entra.patch(f"/Users/{user_id}", [{"op": "Replace", "path": "active", "value": "True"}])
    assert enabled.json()["active"] is True

    deleted = entra.delete(f"/Users/{user_id}")
    assert deleted.status_code == 204 and deleted.content == b""
    _error(entra.get(f"/Users/{user_id}"), 404)
    _error(entra.patch(f"/Users/{user_id}", [{"op": "Replace", "path": "active", "value": "False"}]), 404)
    _error(entra.delete(f"/Users/{user_id}"), 404)
    assert _list(entra.get("/Users", params={"filter": f'userName eq "{renamed}"'}))["totalResults"] == 0
    assert user_id not in {item["id"] for item in _list(entra.get("/Users"))["Resources"]}


def test_user_patch_with_the_feature_flag(entra):
    user = entra.post("/Users", entra_user(f"flag-{uuid.uuid4()}@x.com")).json()
    response = entra.patch(
        f"/Users/{user['id']}?aadOptscim062020",
        [
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@x.com"},
            {
                "op": "replace",
                "value": {
                    "displayName": "New Name",
                    "name.givenName": "New",
                    "name.familyName": "Name",
                    f"{ENTERPRISE_URN}:employeeNumber": "2002",
                },
            },
            {"op": "replace", "path": "active", "value": False},
        ],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["displayName"] == "New Name" and body["name"]["givenName"] == "New" and body["name"]["familyName"] == "Name"
    assert body[ENTERPRISE_URN]["employeeNumber"] == "2002" and body[ENTERPRISE_URN]["department"] == "R&D"
    assert body["active"] is False
    assert any(email["value"] == "new@x.com" and email["type"] == "work" for email in body["emails"])


def test_add_attributes_to_a_minimal_user_creates_typed_entries(entra):
    """The Microsoft validator's "Patch User - Add Attributes": value paths create missing entries."""
    user = entra.post("/Users", {"schemas": [USER_URN], "userName": f"min-{uuid.uuid4()}"}).json()
    response = entra.patch(
        f"/Users/{user['id']}",
        [
            {"op": "Add", "path": "name.givenName", "value": "Ada"},
            {"op": "Add", "path": 'emails[type eq "work"].value', "value": "ada@x.com"},
            {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Paris"},
            {"op": "Add", "path": "nickName", "value": "Babs"},
        ],
    )
    body = response.json()
    assert body["name"] == {"givenName": "Ada"} and body["nickName"] == "Babs"
    assert body["emails"] == [{"type": "work", "value": "ada@x.com"}]
    assert body["addresses"] == [{"type": "work", "locality": "Paris"}]


def test_manager_in_every_form_entra_sends(entra):
    manager = entra.post("/Users", entra_user(f"boss-{uuid.uuid4()}@x.com", displayName="The Boss")).json()
    report = entra.post("/Users", entra_user(f"report-{uuid.uuid4()}@x.com")).json()
    path = f"/Users/{report['id']}"

    linked = entra.patch(path, [{"op": "add", "path": f"{ENTERPRISE_URN}:manager", "value": manager["id"]}]).json()
    assert linked[ENTERPRISE_URN]["manager"] == {"value": manager["id"], "$ref": manager["meta"]["location"]}
    named = entra.get(path, params={"attributes": f"{ENTERPRISE_URN}:manager.displayName"}).json()
    assert named[ENTERPRISE_URN]["manager"] == {"displayName": "The Boss"}
    removed = entra.patch(path, [{"op": "Remove", "path": f"{ENTERPRISE_URN}:manager"}]).json()
    assert removed[ENTERPRISE_URN].get("manager") is None

    entra.patch(path, [{"op": "Add", "path": "manager", "value": [{"$ref": None, "value": manager["id"]}]}])
    assert entra.get(path).json()[ENTERPRISE_URN]["manager"]["value"] == manager["id"]
    entra.patch(path, [{"op": "remove", "path": f'manager[value eq "{manager["id"]}"]'}])
    assert "manager" not in entra.get(path).json()[ENTERPRISE_URN]

    # An id naming no user is an optional reference: kept as sent, unresolved (no $ref), not refused.
    stranger = str(uuid.uuid4())
    unknown = entra.patch(path, [{"op": "add", "path": f"{ENTERPRISE_URN}:manager", "value": stranger}])
    assert unknown.status_code == 200, unknown.text
    assert unknown.json()[ENTERPRISE_URN]["manager"] == {"value": stranger}

    # Deleting the manager clears the reference instead of leaving it dangling.
    entra.patch(path, [{"op": "add", "path": f"{ENTERPRISE_URN}:manager", "value": manager["id"]}])
    assert entra.delete(f"/Users/{manager['id']}").status_code == 204
    assert "manager" not in entra.get(path).json()[ENTERPRISE_URN]


def test_duplicates_are_409_uniqueness_case_insensitively(entra):
    name = f"dup-{uuid.uuid4()}@x.com"
    assert entra.post("/Users", entra_user(name)).status_code == 201
    _error(entra.post("/Users", entra_user(name)), 409, "uniqueness")
    _error(entra.post("/Users", entra_user(name.upper())), 409, "uniqueness")
    assert _list(entra.get("/Users", params={"filter": f'userName eq "{name}"'}))["totalResults"] == 1


def test_group_lifecycle_default_dialect(entra):
    members = [entra.post("/Users", entra_user(f"m{i}-{uuid.uuid4()}@x.com")).json()["id"] for i in range(3)]
    name = f"Group {uuid.uuid4()}"
    created = entra.post(
        "/Groups",
        {
            "schemas": [GROUP_URN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": str(uuid.uuid4()),
            "displayName": name,
            "meta": {"resourceType": "Group"},
        },
    )
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["members"] == [] and group["displayName"] == name
    path = f"/Groups/{group['id']}"

    fetched = entra.get(path, params={"excludedAttributes": "members"}).json()
    assert "members" not in fetched and fetched["id"] == group["id"]
    found = _list(entra.get("/Groups", params={"excludedAttributes": "members", "filter": f'displayName eq "{name}"'}))
    assert found["totalResults"] == 1 and "members" not in found["Resources"][0]

    renamed = name + " updatedDisplayName"
    assert entra.patch(path, [{"op": "Replace", "path": "displayName", "value": renamed}]).status_code == 204

    added = entra.patch(path, [{"op": "Add", "path": "members", "value": [{"$ref": None, "value": m} for m in members]}])
    assert added.status_code == 204 and added.content == b""
    assert {m["value"] for m in entra.get(path).json()["members"]} == set(members)

    # Remove-with-value removes exactly the listed member, never the whole group.
    removed = entra.patch(path, [{"op": "Remove", "path": "members", "value": [{"$ref": None, "value": members[0]}]}])
    assert removed.status_code == 204
    assert {m["value"] for m in entra.get(path).json()["members"]} == set(members[1:])

    entra.patch(path, [{"op": "remove", "path": f'members[value eq "{members[1]}"]'}])
    assert {m["value"] for m in entra.get(path).json()["members"]} == {members[2]}

    both = entra.patch(
        path,
        [
            {"op": "Add", "path": "members", "value": [{"value": members[0]}, {"value": members[1]}]},
            {"op": "Remove", "path": "members", "value": [{"value": members[2]}]},
        ],
    )
    assert both.status_code == 204
    listing = entra.get(path).json()["members"]
    assert {m["value"] for m in listing} == set(members[:2])
    assert all(m["type"] == "User" and m["$ref"].endswith(f"/Users/{m['value']}") and "display" not in m for m in listing)
    displayed = entra.get(path, params={"attributes": "members.display,members.value"}).json()["members"]
    assert all(m["display"] == "Test User" and set(m) == {"display", "value"} for m in displayed)

    again = entra.patch(path, [{"op": "Add", "path": "members", "value": [{"value": members[0]}]}])
    assert again.status_code == 204, "re-adding a member is harmless"

    unknown = entra.patch(path, [{"op": "Add", "path": "members", "value": [{"value": members[2]}, {"value": "nope"}]}])
    _error(unknown, 400, "invalidValue")
    assert {m["value"] for m in entra.get(path).json()["members"]} == set(members[:2]), "nothing changed"

    user_groups = entra.get(f"/Users/{members[0]}").json()["groups"]
    assert user_groups == [{"value": group["id"], "$ref": group["meta"]["location"], "display": renamed, "type": "direct"}]

    assert entra.delete(path).status_code == 204
    _error(entra.get(path), 404)
    assert "groups" not in entra.get(f"/Users/{members[0]}").json()


def test_group_names_are_unique_case_insensitively(entra):
    name = f"Unique {uuid.uuid4()}"
    assert entra.post("/Groups", {"schemas": [GROUP_URN], "displayName": name}).status_code == 201
    _error(entra.post("/Groups", {"schemas": [GROUP_URN], "displayName": name.lower()}), 409, "uniqueness")


def test_a_failing_operation_leaves_the_user_untouched(entra):
    user = entra.post("/Users", entra_user(f"atomic-{uuid.uuid4()}@x.com")).json()
    response = entra.patch(
        f"/Users/{user['id']}",
        [
            {"op": "Replace", "path": "displayName", "value": "Changed"},
            {"op": "Replace", "path": "active", "value": "not a boolean"},
        ],
    )
    body = _error(response, 400)
    assert body["detail"].startswith("Operations[1]:")
    after = entra.get(f"/Users/{user['id']}").json()
    assert after["displayName"] == "Test User" and after["meta"]["version"] == user["meta"]["version"]
