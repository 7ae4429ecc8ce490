"""Customised directories against a live server, as Microsoft Entra and Okta send them.

The custom-extension request body and PATCH are those of Microsoft Learn, "Customize user
provisioning attribute mappings for SaaS applications in Microsoft Entra ID" (section
"Provisioning a custom extension attribute to a SCIM compliant application"):
https://learn.microsoft.com/en-us/entra/identity/app-provisioning/customize-application-attributes
"""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from fluid_scim.errors import InvalidValue
from fluid_scim.services import directory_attributes, organisations
from fluid_scim.services.directory_attributes import Spec
from tests.support.provisioning import quirks_recorded
from tests.support.tenants import ScimClient, Tenant, wait_until_recorded
from tests.support.urns import ERROR_URN, USER_URN

pytestmark = pytest.mark.live

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def entra(live_server, tenant) -> ScimClient:
    return ScimClient(live_server.url, tenant, user_agent="Azure Active Directory SCIM Client")


def declare(
    app: Flask, tenant: Tenant, path: str, type_: str = "string", *, drop_mismatched: bool = False, **options
) -> directory_attributes.StoredValues:
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        _, stored = directory_attributes.declare(
            organisation=organisation, spec=Spec(path, type_, **options), drop_mismatched=drop_mismatched
        )
        return stored


def set_policy(app: Flask, tenant: Tenant, policy: str) -> None:
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        directory_attributes.set_policy(organisation=organisation, policy=policy)


def microsoft_user(user_name: str, value: str = "Sample value") -> dict:
    """Microsoft Learn's example body: the core attributes and the custom extension."""
    return {
        "schemas": [USER_URN, CUSTOM],
        "userName": user_name,
        "id": "",
        "externalId": user_name.split("@")[0],
        "displayName": "Bjorn Jensen",
        "active": True,
        CUSTOM: {"CustomAttribute": value},
    }


def _error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["schemas"] == [ERROR_URN]
    if scim_type:
        assert body.get("scimType") == scim_type, body
    return body


def test_microsoft_documented_extension_is_kept_before_it_is_declared(entra):
    name = f"bjensen-{uuid.uuid4().hex[:8]}@example.com"
    created = entra.post("/Users", microsoft_user(name))
    assert created.status_code == 201, created.text
    user = created.json()
    assert user[CUSTOM] == {"CustomAttribute": "Sample value"}
    assert CUSTOM in user["schemas"]

    # Microsoft's documented PATCH on the attribute, and a plain top-level name an admin added.
    patched = entra.patch(f"/Users/{user['id']}", [
        {"op": "Add", "path": f"{CUSTOM}:CustomAttribute", "value": "New value"},
        {"op": "Replace", "path": "costCentreCode", "value": "CC-7"},
        {"op": "Replace", "path": "displayName", "value": "Björn Jensen"},
    ])
    assert patched.status_code == 200, patched.text
    body = entra.get(f"/Users/{user['id']}").json()
    assert body[CUSTOM] == {"CustomAttribute": "New value"}
    assert body["costCentreCode"] == "CC-7" and body["displayName"] == "Björn Jensen"

    removed = entra.patch(f"/Users/{user['id']}", [{"op": "Remove", "path": "costCentreCode"}])
    assert removed.status_code == 200, removed.text
    assert "costCentreCode" not in entra.get(f"/Users/{user['id']}").json()


def test_declared_attribute_is_advertised_validated_filtered_and_sorted(app, entra, tenant):
    declare(app, tenant, f"{CUSTOM}:CustomAttribute")
    declare(app, tenant, f"{CUSTOM}:badgeNumber", "integer")
    declare(app, tenant, "startDate", "dateTime")

    schemas = {item["id"]: item for item in entra.get("/Schemas").json()["Resources"]}
    assert [attr["name"] for attr in schemas[CUSTOM]["attributes"]] == ["badgeNumber", "CustomAttribute"] or [
        attr["name"] for attr in schemas[CUSTOM]["attributes"]] == ["CustomAttribute", "badgeNumber"]
    assert any(attr["name"] == "startDate" and attr["type"] == "dateTime" for attr in schemas[USER_URN]["attributes"])
    user_type = entra.get("/ResourceTypes/User").json()
    assert {"schema": CUSTOM, "required": False} in user_type["schemaExtensions"]

    ids = {}
    for index, value in enumerate(["gamma", "Alpha", "beta"]):
        body = microsoft_user(f"sorted-{index}-{uuid.uuid4().hex[:6]}@example.com", value)
        body[CUSTOM]["badgeNumber"] = 100 - index
        body["startDate"] = f"2026-0{index + 1}-01T09:00:00Z"
        response = entra.post("/Users", body)
        assert response.status_code == 201, response.text
        ids[value] = response.json()["id"]

    # A wrong value of a declared attribute is still refused, and nothing is stored.
    wrong = microsoft_user(f"wrong-{uuid.uuid4().hex[:6]}@example.com")
    wrong[CUSTOM]["badgeNumber"] = "twelve"
    _error(entra.post("/Users", wrong), 400, "invalidValue")

    def search(expression: str, **params) -> list[str]:
        answer = entra.get("/Users", params={"filter": expression, **params})
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["Resources"]]

    # Entra's matching-attribute lookup: eq on the full URN path, case-insensitively by default.
    assert search(f'{CUSTOM}:CustomAttribute eq "ALPHA"') == [ids["Alpha"]]
    assert search(f"{CUSTOM}:badgeNumber gt 99") == [ids["gamma"]]
    assert search('startDate ge "2026-02-01T00:00:00Z"', sortBy="startDate") == [ids["Alpha"], ids["beta"]]
    assert search(f"{CUSTOM}:CustomAttribute pr", sortBy=f"{CUSTOM}:CustomAttribute") == [
        ids["Alpha"], ids["beta"], ids["gamma"]]
    assert ids["gamma"] not in search(f'not ({CUSTOM}:CustomAttribute eq "gamma") and {CUSTOM}:badgeNumber pr')

    # attributes / excludedAttributes honour declared attributes.
    only = entra.get(f"/Users/{ids['beta']}", params={"attributes": f"{CUSTOM}:badgeNumber"}).json()
    assert only[CUSTOM] == {"badgeNumber": 98} and "userName" not in only
    without = entra.get(f"/Users/{ids['beta']}", params={"excludedAttributes": CUSTOM + ":CustomAttribute"}).json()
    assert without[CUSTOM] == {"badgeNumber": 98}


def test_multi_valued_custom_attribute_patch_with_value_paths(app, entra, tenant):
    declare(app, tenant, f"{CUSTOM}:skills", multi_valued=True)
    body = microsoft_user(f"skills-{uuid.uuid4().hex[:6]}@example.com")
    body[CUSTOM]["skills"] = ["python", "sql"]
    user = entra.post("/Users", body).json()
    path = f"{CUSTOM}:skills"
    assert entra.patch(f"/Users/{user['id']}", [{"op": "add", "path": path, "value": ["go", "sql"]}]).status_code == 200
    assert entra.get(f"/Users/{user['id']}").json()[CUSTOM]["skills"] == ["python", "sql", "go"]
    removed = entra.patch(f"/Users/{user['id']}", [{"op": "remove", "path": f'{path}[value eq "SQL"]'}])
    assert removed.status_code == 200, removed.text
    assert entra.get(f"/Users/{user['id']}").json()[CUSTOM]["skills"] == ["python", "go"]
    found = entra.get("/Users", params={"filter": f'{path} eq "go"'}).json()
    assert [item["id"] for item in found["Resources"]] == [user["id"]]


def test_a_failing_operation_keeps_the_custom_values(app, entra, tenant):
    declare(app, tenant, f"{CUSTOM}:CustomAttribute")
    user = entra.post("/Users", microsoft_user(f"atomic-{uuid.uuid4().hex[:6]}@example.com")).json()
    response = entra.patch(f"/Users/{user['id']}", [
        {"op": "Replace", "path": f"{CUSTOM}:CustomAttribute", "value": "changed"},
        {"op": "Replace", "path": "active", "value": "maybe"},
    ])
    _error(response, 400, "invalidValue")
    assert entra.get(f"/Users/{user['id']}").json()[CUSTOM] == {"CustomAttribute": "Sample value"}
    assert entra.get("/Users", params={"filter": f'{CUSTOM}:CustomAttribute eq "changed"'}).json()["totalResults"] == 0


def test_declaring_a_kept_attribute_converts_its_values_and_refuses_mismatches(app, entra, tenant):
    fits = microsoft_user(f"fits-{uuid.uuid4().hex[:6]}@example.com", "42")
    fits[CUSTOM]["level"] = 3
    odd = microsoft_user(f"odd-{uuid.uuid4().hex[:6]}@example.com")
    odd[CUSTOM]["level"] = "three"
    first, second = entra.post("/Users", fits).json(), entra.post("/Users", odd).json()

    with pytest.raises(Exception) as refused:
        declare(app, tenant, f"{CUSTOM}:level", "integer")
    assert "1 user(s)" in str(refused.value) and odd["userName"] in str(refused.value)
    assert entra.get("/Users", params={"filter": f"{CUSTOM}:level eq 3"}).status_code == 400  # still undeclared

    stored = declare(app, tenant, f"{CUSTOM}:level", "integer", drop_mismatched=True)
    assert (stored.converted, stored.dropped) == (1, 1)
    found = entra.get("/Users", params={"filter": f"{CUSTOM}:level eq 3"}).json()
    assert [item["id"] for item in found["Resources"]] == [first["id"]]
    assert "level" not in entra.get(f"/Users/{second['id']}").json()[CUSTOM]


def test_policy_ignore_and_reject(app, entra, tenant):
    set_policy(app, tenant, "ignore")
    created = entra.post("/Users", microsoft_user(f"ignored-{uuid.uuid4().hex[:6]}@example.com"))
    assert created.status_code == 201, created.text
    assert CUSTOM not in created.json()
    patched = entra.patch(f"/Users/{created.json()['id']}", [{"op": "Add", "path": f"{CUSTOM}:CustomAttribute", "value": "x"},
                                                             {"op": "Replace", "path": "title", "value": "Lead"}])
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "Lead" and CUSTOM not in patched.json()

    set_policy(app, tenant, "reject")
    _error(entra.post("/Users", microsoft_user(f"rejected-{uuid.uuid4().hex[:6]}@example.com")), 400, "invalidSyntax")


def test_an_undeclared_value_that_cannot_be_kept_is_dropped_and_the_user_provisioned(app, entra, tenant):
    """Past the size or depth bound, or holding a NUL: the attribute is dropped, never the whole user."""
    body = microsoft_user(f"big-{uuid.uuid4().hex[:6]}@example.com")
    body["notes"] = "x" * 5000
    body["nested"] = {"a": {"b": {"c": {"d": {"e": "deep"}}}}}
    body["badge"] = "B\u0000-7"
    body["kept"] = "fine"
    body[CUSTOM]["control"] = "a\u0000b"
    body["urn:example:params:scim:schemas:extension:Other:2.0:User"] = {"huge": "y" * 3000, "small": 1}
    created = entra.post("/Users", body)  # json.dumps writes each NUL as \u0000
    assert created.status_code == 201, created.text
    user = created.json()
    for dropped in ("notes", "nested", "badge"):
        assert dropped not in user
    assert user["kept"] == "fine"
    assert user[CUSTOM] == {"CustomAttribute": "Sample value"}
    assert user["urn:example:params:scim:schemas:extension:Other:2.0:User"] == {"small": 1}
    assert entra.get(f"/Users/{user['id']}").json() == user
    assert quirks_recorded(app, tenant, user["id"]) == [{"undeclared-attribute", "undeclared-attribute-dropped"}]

    # A PATCH setting one leaves the stored value as it was; its other operations apply.
    patched = entra.patch(f"/Users/{user['id']}", [{"op": "Replace", "path": "kept", "value": "z" * 5000},
                                                  {"op": "Replace", "path": "title", "value": "Lead"}])
    assert patched.status_code == 200, patched.text
    assert patched.json()["kept"] == "fine" and patched.json()["title"] == "Lead"
    assert "undeclared-attribute-dropped" in quirks_recorded(app, tenant, user["id"])[-1]


def test_undeclared_attributes_past_32_on_a_user_are_dropped_those_held_first(app, entra, tenant):
    many = microsoft_user(f"many-{uuid.uuid4().hex[:6]}@example.com")
    many.update({f"extra{index}": index for index in range(40)})
    created = entra.post("/Users", many)
    assert created.status_code == 201, created.text
    user = created.json()
    held = {key for key in user if key.startswith("extra")}
    # The first 32 undeclared as they came: the custom extension's attribute, then 31 of these.
    assert user[CUSTOM] == {"CustomAttribute": "Sample value"}
    assert held == {f"extra{index}" for index in range(31)}
    assert "undeclared-attribute-dropped" in quirks_recorded(app, tenant, user["id"])[0]

    # A replacement carrying new ones keeps those the user holds before any new one.
    replaced = microsoft_user(many["userName"])
    replaced.update({f"other{index}": index for index in range(10)})
    replaced.update({f"extra{index}": index + 100 for index in range(40)})
    answer = entra.put(f"/Users/{user['id']}", replaced)
    assert answer.status_code == 200, answer.text
    assert {key for key in answer.json() if key.startswith(("extra", "other"))} == held
    assert answer.json()["extra0"] == 100


def test_new_undeclared_paths_past_the_organisations_bound_are_dropped(client, tenant, monkeypatch):
    from fluid_scim.services import directory_schema

    monkeypatch.setattr(directory_schema, "UNDECLARED_PER_ORGANISATION", 3)
    headers = {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"}
    shown = []
    for index in range(3):
        body = {"schemas": [USER_URN], "userName": f"bound-{index}@example.com", f"first{index}": "kept", f"second{index}": "x"}
        created = client.post("/scim/v2/Users", json=body, headers=headers)
        assert created.status_code == 201, created.get_data(as_text=True)
        shown.append(sorted(key for key in created.json if key.startswith(("first", "second"))))
    # The organisation keeps 3 distinct paths: the first user's two and the second user's first.
    assert shown == [["first0", "second0"], ["first1"], []]
    again = client.post("/scim/v2/Users", json={"schemas": [USER_URN], "userName": "bound-9@example.com", "second0": "y"},
                        headers=headers)
    assert again.status_code == 201 and again.json["second0"] == "y"  # a path the organisation keeps already


def test_group_member_with_display_name_is_added(entra):
    user = entra.post("/Users", microsoft_user(f"member-{uuid.uuid4().hex[:6]}@example.com")).json()
    group = entra.post("/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                   "displayName": f"Team {uuid.uuid4().hex[:6]}"}).json()
    response = entra.patch(f"/Groups/{group['id']}", [
        {"op": "Add", "path": "members", "value": [{"value": user["id"], "displayName": "Bjorn Jensen"}]}])
    assert response.status_code == 204, response.text
    members = entra.get(f"/Groups/{group['id']}").json()["members"]
    assert [member["value"] for member in members] == [user["id"]]


def test_a_custom_attribute_grants_a_role(app, entra, tenant):
    from fluid_scim.services import access_admin

    declare(app, tenant, f"{CUSTOM}:fluidRole")
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        access_admin.set_access_mode(organisation=organisation, mode="all_active")
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        access_admin.set_attribute_role_mappings(
            organisation=organisation, rules=[(f'{CUSTOM}:fluidRole eq "Manager"', "manager")]
        )
    body = microsoft_user(f"role-{uuid.uuid4().hex[:6]}@example.com")
    body[CUSTOM]["fluidRole"] = "manager"
    created = entra.post("/Users", body)
    assert created.status_code == 201, created.text
    fluid = entra.get(f"/Users/{created.json()['id']}").json()["urn:fluid:params:scim:schemas:extension:fluid:2.0:User"]
    assert fluid["roles"] == [{"value": "manager"}]

    # The declaration the mapping relies on cannot be removed or retyped from under it.
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        with pytest.raises(InvalidValue, match="attribute role mapping to 'manager'"):
            directory_attributes.remove(organisation=organisation, path=f"{CUSTOM}:fluidRole")
        with pytest.raises(InvalidValue, match="would no longer work"):
            directory_attributes.change(organisation=organisation, spec=Spec(f"{CUSTOM}:fluidRole", "boolean"))
    assert entra.get("/Users", params={"filter": f'{CUSTOM}:fluidRole eq "manager"'}).json()["totalResults"] == 1


def test_a_group_keeps_an_undeclared_extension(entra):
    urn = "urn:example:params:scim:schemas:extension:Team:2.0:Group"
    created = entra.post("/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", urn],
                                     "displayName": f"Team {uuid.uuid4().hex[:6]}", urn: {"costCentre": "CC-1"}})
    assert created.status_code == 201, created.text
    group = entra.get(f"/Groups/{created.json()['id']}").json()
    assert group[urn] == {"costCentre": "CC-1"} and urn in group["schemas"]


def test_only_committed_changes_count_an_undeclared_attribute(app, entra, tenant):
    name = f"counted-{uuid.uuid4().hex[:6]}@example.com"
    assert entra.post("/Users", {"schemas": [USER_URN], "userName": name, "badge": "B-1"}).status_code == 201
    _error(entra.post("/Users", {"schemas": [USER_URN], "userName": name, "badge": "B-2"}), 409, "uniqueness")
    wait_until_recorded(app, tenant)  # the serving workers write sightings with their requests' counts
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        undeclared = directory_attributes.undeclared(organisation=organisation)
        listed = [(item.path, item.seen_count, item.value_kind) for item in undeclared]
    assert listed == [("badge", 1, "string")]


def test_matching_attribute_lookups_page_and_respect_case_exactness(app, entra, tenant):
    declare(app, tenant, f"{CUSTOM}:CustomAttribute")
    declare(app, tenant, f"{CUSTOM}:exactCode", case_exact=True)
    ids = []
    for index in range(3):
        body = microsoft_user(f"paged-{index}-{uuid.uuid4().hex[:6]}@example.com", "Shared")
        body[CUSTOM]["exactCode"] = "AbC" if index == 0 else "abc"
        ids.append(entra.post("/Users", body).json()["id"])
    expression = f'{CUSTOM}:CustomAttribute eq "shared"'
    first = entra.get("/Users", params={"filter": expression, "count": 2}).json()
    assert first["totalResults"] == 3 and [item["id"] for item in first["Resources"]] == ids[:2]
    last = entra.get("/Users", params={"filter": expression, "count": 2, "startIndex": 3}).json()
    assert last["totalResults"] == 3 and [item["id"] for item in last["Resources"]] == ids[2:]
    exact = entra.get("/Users", params={"filter": f'{CUSTOM}:exactCode eq "AbC"'}).json()
    assert [item["id"] for item in exact["Resources"]] == ids[:1]


def test_a_multi_valued_custom_attribute_is_bounded(app, entra, tenant):
    declare(app, tenant, f"{CUSTOM}:skills", multi_valued=True)
    body = microsoft_user(f"many-skills-{uuid.uuid4().hex[:6]}@example.com")
    body[CUSTOM]["skills"] = [f"skill-{index}" for index in range(101)]
    assert "at most 100" in _error(entra.post("/Users", body), 400, "invalidValue")["detail"]


def test_a_sub_attribute_no_schema_defines_is_dropped_and_the_user_provisioned(app, entra, tenant):
    """``name.nick``, ``emails[0].label``, ``manager.weird``: dropped under keep and ignore, refused under reject."""
    manager = entra.post("/Users", microsoft_user(f"boss-{uuid.uuid4().hex[:6]}@example.com")).json()
    body = microsoft_user(f"subs-{uuid.uuid4().hex[:6]}@example.com")
    body["name"] = {"givenName": "Bjorn", "nick": "BJ"}
    body["emails"] = [{"value": "bjorn@example.com", "type": "work", "primary": True, "label": "office"}]
    body[ENTERPRISE] = {"employeeNumber": "701984", "manager": {"value": manager["id"], "weird": 1}}
    created = entra.post("/Users", body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["name"] == {"givenName": "Bjorn"}
    assert user["emails"] == [{"value": "bjorn@example.com", "type": "work", "primary": True}]
    assert user[ENTERPRISE]["employeeNumber"] == "701984"
    assert user[ENTERPRISE]["manager"]["value"] == manager["id"]
    assert entra.get(f"/Users/{user['id']}").json() == user
    assert quirks_recorded(app, tenant, user["id"]) == [{"undeclared-attribute", "undeclared-sub-attribute-dropped"}]

    # PATCH: an operation on such a path changes nothing; the others apply. A value filter on an
    # undeclared attribute is dropped the same way.
    patched = entra.patch(f"/Users/{user['id']}", [
        {"op": "Replace", "path": "name.nick", "value": "B"},
        {"op": "Add", "path": 'emails[type eq "work"].label', "value": "desk"},
        {"op": "Add", "path": "name", "value": {"familyName": "Jensen", "suffix2": "x"}},
        {"op": "Replace", "path": 'badges[type eq "door"].value', "value": "7"},
        {"op": "Replace", "value": {"name.nick": "C", "title": "Lead"}},
    ])
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == {"givenName": "Bjorn", "familyName": "Jensen"}
    assert patched.json()["title"] == "Lead"
    assert patched.json()["emails"] == user["emails"] and "badges" not in patched.json()
    assert quirks_recorded(app, tenant, user["id"])[-1] >= {"undeclared-sub-attribute-dropped", "undeclared-attribute-dropped"}

    set_policy(app, tenant, "ignore")
    ignored = entra.post("/Users", {**body, "userName": f"ign-{uuid.uuid4().hex[:6]}@example.com"})
    assert ignored.status_code == 201, ignored.text
    assert ignored.json()["name"] == {"givenName": "Bjorn"}

    set_policy(app, tenant, "reject")
    refused_name = f"rej-{uuid.uuid4().hex[:6]}@example.com"
    _error(entra.post("/Users", {**body, "userName": refused_name}), 400, "invalidSyntax")
    assert entra.get("/Users", params={"filter": f'userName eq "{refused_name}"'}).json()["totalResults"] == 0
    _error(entra.patch(f"/Users/{user['id']}", [{"op": "Replace", "path": "name.nick", "value": "B"},
                                               {"op": "Replace", "path": "title", "value": "Chief"}]), 400, "invalidPath")
    assert entra.get(f"/Users/{user['id']}").json()["title"] == "Lead"
