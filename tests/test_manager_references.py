"""The enterprise manager is an optional reference: a value naming no user is kept, and linked later.

Okta sends its free-text ``managerId`` (an employee number, say) as ``manager.value``
(Okta's SCIM 2.0 guide, https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/, and
its attribute mappings). The user is created with the value as sent and no ``$ref``; once a user of
the organisation matches it — by id, else externalId, else employeeNumber — the manager resolves.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.provisioning import quirks_recorded
from tests.support.urns import BULK_REQUEST_URN, ENTERPRISE_URN, PATCH_OP_URN, USER_URN

OKTA = "Okta SCIM Client 1.0.0"


def _headers(tenant: Any) -> dict[str, str]:
    return {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "User-Agent": OKTA}


def okta_user(user_name: str, **enterprise: Any) -> dict[str, Any]:
    """The user of Okta's SCIM 2.0 guide ("Create the user"), with the enterprise extension its mappings add."""
    body: dict[str, Any] = {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00u" + uuid.uuid4().hex[:17],
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    if enterprise:
        body[ENTERPRISE_URN] = enterprise
    return body


def _name() -> str:
    return f"test.user-{uuid.uuid4().hex[:8]}@okta.local"


def _create(client: Any, tenant: Any, body: dict[str, Any]) -> dict[str, Any]:
    created = client.post("/scim/v2/Users", json=body, headers=_headers(tenant))
    assert created.status_code == 201, created.get_data(as_text=True)
    return created.json


def _get(client: Any, tenant: Any, user_id: str, **params: str) -> dict[str, Any]:
    answered = client.get(f"/scim/v2/Users/{user_id}", query_string=params, headers=_headers(tenant))
    assert answered.status_code == 200, answered.get_data(as_text=True)
    return answered.json


def _manager(client: Any, tenant: Any, user_id: str) -> dict[str, Any] | None:
    return _get(client, tenant, user_id).get(ENTERPRISE_URN, {}).get("manager")


def _filter(client: Any, tenant: Any, expression: str) -> set[str]:
    found = client.get("/scim/v2/Users", query_string={"filter": expression}, headers=_headers(tenant))
    assert found.status_code == 200, found.get_data(as_text=True)
    return {resource["id"] for resource in found.json["Resources"]}


def test_an_okta_free_text_manager_is_kept_then_linked_by_employee_number(app, client, tenant):
    report = _create(client, tenant, okta_user(_name(), employeeNumber="EMP-1001",
                                               manager={"value": "EMP-9921", "displayName": "Jane Boss"}))
    assert report[ENTERPRISE_URN]["manager"] == {"value": "EMP-9921"}  # no $ref: it names no user (yet)
    assert quirks_recorded(app, tenant, report["id"]) == [{"manager-unresolved"}]
    by_value = f'{ENTERPRISE_URN}:manager.value eq "EMP-9921"'
    assert _filter(client, tenant, by_value) == {report["id"]}
    assert _filter(client, tenant, f'{ENTERPRISE_URN}:manager.value eq "emp-9921"') == {report["id"]}  # caseExact=false
    assert _filter(client, tenant, f"{ENTERPRISE_URN}:manager.$ref pr") == set()
    version = report["meta"]["version"]

    boss = _create(client, tenant, {**okta_user(_name(), employeeNumber="EMP-9921"), "displayName": "Jane Boss"})

    linked = _get(client, tenant, report["id"])
    assert linked[ENTERPRISE_URN]["manager"] == {"value": "EMP-9921", "$ref": boss["meta"]["location"]}
    assert linked["meta"]["version"] != version  # the representation changed: a new ETag
    named = _get(client, tenant, report["id"], attributes=f"{ENTERPRISE_URN}:manager.displayName")
    assert named[ENTERPRISE_URN]["manager"] == {"displayName": "Jane Boss"}
    assert _filter(client, tenant, by_value) == {report["id"]}
    assert _filter(client, tenant, f'{ENTERPRISE_URN}:manager.displayName eq "jane boss"') == {report["id"]}
    assert _filter(client, tenant, f"{ENTERPRISE_URN}:manager.$ref pr") == {report["id"]}


def test_a_manager_value_is_linked_by_external_id_and_by_id(client, tenant):
    waiting = _create(client, tenant, okta_user(_name(), manager={"value": "00uBOSS0001"}))
    boss = _create(client, tenant, {**okta_user(_name()), "externalId": "00uBOSS0001"})
    assert _manager(client, tenant, waiting["id"]) == {"value": "00uBOSS0001", "$ref": boss["meta"]["location"]}

    # A value naming a user's id resolves at once.
    named = _create(client, tenant, okta_user(_name(), manager={"value": boss["id"]}))
    assert named[ENTERPRISE_URN]["manager"] == {"value": boss["id"], "$ref": boss["meta"]["location"]}
    assert _filter(client, tenant, f'{ENTERPRISE_URN}:manager.value eq "{boss["id"]}"') == {named["id"]}

    # The id outranks an externalId and an employeeNumber that happen to carry the same text.
    _create(client, tenant, {**okta_user(_name(), employeeNumber=boss["id"]), "externalId": boss["id"]})
    ranked = _create(client, tenant, okta_user(_name(), manager={"value": boss["id"]}))
    assert ranked[ENTERPRISE_URN]["manager"]["$ref"] == boss["meta"]["location"]


def test_an_update_links_the_users_waiting_for_it(client, tenant):
    report = _create(client, tenant, okta_user(_name(), manager={"value": "EMP-4242"}))
    boss = _create(client, tenant, okta_user(_name()))
    assert _manager(client, tenant, report["id"]) == {"value": "EMP-4242"}

    patch = {"schemas": [PATCH_OP_URN], "Operations": [
        {"op": "add", "path": f"{ENTERPRISE_URN}:employeeNumber", "value": "EMP-4242"}]}
    patched = client.patch(f"/scim/v2/Users/{boss['id']}", json=patch, headers=_headers(tenant))
    assert patched.status_code == 200, patched.get_data(as_text=True)
    assert _manager(client, tenant, report["id"]) == {"value": "EMP-4242", "$ref": boss["meta"]["location"]}

    # The report's own update keeps the link without looking again.
    body = {**okta_user(report["userName"], manager={"value": "EMP-4242"}), "displayName": "Renamed"}
    replaced = client.put(f"/scim/v2/Users/{report['id']}", json=body, headers=_headers(tenant))
    assert replaced.status_code == 200, replaced.get_data(as_text=True)
    assert replaced.json[ENTERPRISE_URN]["manager"]["$ref"] == boss["meta"]["location"]


def test_an_ambiguous_value_stays_unresolved(app, client, tenant):
    _create(client, tenant, okta_user(_name(), employeeNumber="EMP-7"))
    _create(client, tenant, okta_user(_name(), employeeNumber="EMP-7"))
    report = _create(client, tenant, okta_user(_name(), manager={"value": "EMP-7"}))
    assert report[ENTERPRISE_URN]["manager"] == {"value": "EMP-7"}
    assert "manager-unresolved" in quirks_recorded(app, tenant, report["id"])[0]

    # A value waiting for a manager is not linked to one of two users that match it.
    waiting = _create(client, tenant, okta_user(_name(), manager={"value": "EMP-8"}))
    _create(client, tenant, okta_user(_name(), employeeNumber="EMP-8"))
    assert _manager(client, tenant, waiting["id"])["$ref"]  # one match: linked
    late = _create(client, tenant, okta_user(_name(), manager={"value": "EMP-9"}))
    first = _create(client, tenant, {**okta_user(_name()), "externalId": "EMP-9"})
    second = _create(client, tenant, {**okta_user(_name()), "externalId": "EMP-9"})
    assert _manager(client, tenant, late["id"]) == {"value": "EMP-9", "$ref": first["meta"]["location"]}  # linked once
    assert second["id"] != first["id"]
    undecided = _create(client, tenant, okta_user(_name(), manager={"value": "EMP-9"}))
    assert undecided[ENTERPRISE_URN]["manager"] == {"value": "EMP-9"}


def test_an_external_id_match_outranks_an_employee_number_match(client, tenant):
    waiting = _create(client, tenant, okta_user(_name(), manager={"value": "X-1"}))
    by_number = _create(client, tenant, okta_user(_name(), employeeNumber="X-1"))
    assert _manager(client, tenant, waiting["id"])["$ref"] == by_number["meta"]["location"]  # linked: the only match
    by_external = _create(client, tenant, {**okta_user(_name()), "externalId": "X-1"})
    fresh = _create(client, tenant, okta_user(_name(), manager={"value": "X-1"}))
    assert fresh[ENTERPRISE_URN]["manager"]["$ref"] == by_external["meta"]["location"]

    # Two users share the externalId: the value is ambiguous, and a later user matching it only by
    # employeeNumber (a lower rank) does not settle it.
    _create(client, tenant, {**okta_user(_name()), "externalId": "X-2"})
    _create(client, tenant, {**okta_user(_name()), "externalId": "X-2"})
    pending = _create(client, tenant, okta_user(_name(), manager={"value": "X-2"}))
    assert pending[ENTERPRISE_URN]["manager"] == {"value": "X-2"}
    _create(client, tenant, okta_user(_name(), employeeNumber="X-2"))
    assert _manager(client, tenant, pending["id"]) == {"value": "X-2"}


def test_a_user_is_never_its_own_manager(client, tenant):
    user = _create(client, tenant, okta_user(_name(), employeeNumber="SELF-1", manager={"value": "SELF-1"}))
    assert user[ENTERPRISE_URN]["manager"] == {"value": "SELF-1"}  # its own employeeNumber: unresolved
    patch = {"schemas": [PATCH_OP_URN], "Operations": [
        {"op": "replace", "path": f"{ENTERPRISE_URN}:manager", "value": {"value": user["id"]}}]}
    refused = client.patch(f"/scim/v2/Users/{user['id']}", json=patch, headers=_headers(tenant))
    assert refused.status_code == 400 and refused.json["scimType"] == "invalidValue"
    assert refused.json["detail"].endswith("a user cannot be their own manager")


def test_deleting_the_manager_drops_an_id_and_keeps_a_free_text_value(client, tenant):
    boss = _create(client, tenant, okta_user(_name(), employeeNumber="EMP-500"))
    by_id = _create(client, tenant, okta_user(_name(), manager={"value": boss["id"]}))
    by_number = _create(client, tenant, okta_user(_name(), manager={"value": "EMP-500"}))
    assert _manager(client, tenant, by_number["id"])["$ref"] == boss["meta"]["location"]

    assert client.delete(f"/scim/v2/Users/{boss['id']}", headers=_headers(tenant)).status_code == 204
    assert _manager(client, tenant, by_id["id"]) is None  # an id names nothing any more
    assert _manager(client, tenant, by_number["id"]) == {"value": "EMP-500"}  # what the directory says, unresolved

    rehired = _create(client, tenant, okta_user(_name(), employeeNumber="EMP-500"))
    assert _manager(client, tenant, by_number["id"])["$ref"] == rehired["meta"]["location"]


def test_bulk_links_within_the_request_and_writes_the_linked_user_again(client, tenant):
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": "report", "data": okta_user(_name(), manager={"value": "EMP-77"})},
        {"method": "POST", "path": "/Users", "bulkId": "boss", "data": okta_user(_name(), employeeNumber="EMP-77")},
        {"method": "PATCH", "path": "/Users/bulkId:report",
         "data": {"schemas": [PATCH_OP_URN], "Operations": [{"op": "replace", "path": "title", "value": "Engineer"}]}},
    ]
    answered = client.post("/scim/v2/Bulk", json={"schemas": [BULK_REQUEST_URN], "Operations": operations},
                           headers=_headers(tenant))
    assert answered.status_code == 200, answered.get_data(as_text=True)
    results = answered.json["Operations"]
    assert [result["status"] for result in results] == ["201", "201", "200"], results
    report_id = results[0]["location"].rsplit("/", 1)[1]
    report = _get(client, tenant, report_id)
    assert report["title"] == "Engineer"
    assert report[ENTERPRISE_URN]["manager"] == {"value": "EMP-77", "$ref": results[1]["location"]}


def test_the_admin_api_shows_the_manager_resolved_or_not(app, client, tenant):
    from tests.support.graphql import claims_for, data, execute

    report = _create(client, tenant, okta_user(_name(), manager={"value": "EMP-31"}))
    query = "query ($id: ID!) { user(id: $id) { manager { value resolved id userName } } }"

    def shown() -> Any:
        return data(execute(app, query, claims_for(tenant.slug), {"id": report["id"]}))["user"]["manager"]

    assert shown() == {"value": "EMP-31", "resolved": False, "id": None, "userName": None}
    boss = _create(client, tenant, okta_user(_name(), employeeNumber="EMP-31"))
    assert shown() == {"value": "EMP-31", "resolved": True, "id": boss["id"], "userName": boss["userName"]}
    alone = data(execute(app, query, claims_for(tenant.slug), {"id": boss["id"]}))["user"]
    assert alone == {"manager": None}


def test_an_unresolved_manager_shows_the_name_it_was_sent_with(client, tenant):
    user = _create(client, tenant, okta_user(_name(), manager={"value": "EMP-4242", "displayName": "Grace Hopper"}))
    asked = _get(client, tenant, user["id"], attributes=f"{ENTERPRISE_URN}:manager.displayName")
    assert asked[ENTERPRISE_URN]["manager"] == {"displayName": "Grace Hopper"}
    assert "displayName" not in _get(client, tenant, user["id"])[ENTERPRISE_URN]["manager"]  # returned: request
    found = client.get("/scim/v2/Users", query_string={"filter": f'{ENTERPRISE_URN}:manager.displayName eq "grace hopper"'},
                       headers=_headers(tenant)).json
    assert [item["id"] for item in found["Resources"]] == [user["id"]]

    # Once a user matches, that user's own name is shown.
    _create(client, tenant, okta_user(_name(), employeeNumber="EMP-4242") | {"displayName": "Rear Admiral Hopper"})
    asked = _get(client, tenant, user["id"], attributes=f"{ENTERPRISE_URN}:manager.displayName")
    assert asked[ENTERPRISE_URN]["manager"] == {"displayName": "Rear Admiral Hopper"}
