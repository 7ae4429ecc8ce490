"""One rule for control characters in every string a directory or an admin sends, on both databases.

NUL (U+0000) cannot be stored or even compared by PostgreSQL, and on SQLite a name holding one
stops matching what an identity provider looks it up by. Refused everywhere: the C0 controls but
TAB, LF and CR, and DEL (SCIM: 400 ``invalidValue``, filters: 400 ``invalidFilter``,
GraphQL: the ``InvalidInput`` failure or a ``BAD_USER_INPUT`` error, never "Unexpected error.").
TAB, LF and CR stay allowed in free text (postal addresses hold line breaks), not in one-line names.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.graphql import claims_for, execute
from tests.support.tenants import Tenant
from tests.support.urns import ENTERPRISE_URN, ERROR_URN, PATCH_OP_URN, SEARCH_REQUEST_URN, USER_URN

NUL = "\x00"
CUSTOM_URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
FAILURE = "__typename ... on Failure { message }"


def scim(client: FlaskClient, tenant: Tenant, method: str, path: str, body: Any = None) -> Any:
    return client.open(
        f"/scim/v2{path}", method=method, data=None if body is None else json.dumps(body),
        headers={"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "Content-Type": "application/scim+json"},
    )


def assert_refused(response: Any, scim_type: str, phrase: str = "U+0000 (NUL)") -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()
    assert error["schemas"] == [ERROR_URN] and error["scimType"] == scim_type, error
    assert phrase in error["detail"], error


def users_named(client: FlaskClient, tenant: Tenant, user_name: str) -> list[dict[str, Any]]:
    response = scim(client, tenant, "GET", "/Users?filter=" + quote(f'userName eq "{user_name}"'))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["Resources"]


def gql(app: Flask, tenant: Tenant, query: str, *, operator: bool = False, **variables: Any) -> Any:
    return execute(app, query, claims_for(tenant.slug, operator=operator), variables)


def declare_custom(app: Flask, tenant: Tenant) -> None:
    query = f"mutation($input: AttributeInput!) {{ declareAttribute(input: $input) {{ {FAILURE} }} }}"
    result = gql(app, tenant, query, input={"path": f"{CUSTOM_URN}:costCentre"})
    assert result.errors is None and result.data["declareAttribute"]["__typename"] == "AttributeDeclared", result


# -- SCIM writes ----------------------------------------------------------------------------------

USER_BODIES = {
    "title": {"title": f"Engineer{NUL}"},
    "name.givenName": {"name": {"givenName": f"Ada{NUL}", "familyName": "Lovelace"}},
    "emails[].value": {"emails": [{"value": f"ada{NUL}@example.com", "type": "work", "primary": True}]},
    "addresses[].streetAddress": {"addresses": [{"streetAddress": f"1 Main St{NUL}", "type": "work"}]},
    "enterprise department": {ENTERPRISE_URN: {"department": f"R&D{NUL}"}},
    "manager": {ENTERPRISE_URN: {"manager": {"value": f"boss{NUL}"}}},
    "declared custom attribute": {CUSTOM_URN: {"costCentre": f"CC{NUL}1"}},
    "roles[].value (Entra's JSON form)": {"roles": [{"value": json.dumps({"id": "1", "value": f"r{NUL}"})}]},
}


@pytest.mark.parametrize("attribute", USER_BODIES)
def test_nul_in_any_user_attribute_is_refused_and_nothing_is_stored(app, client, tenant, attribute):
    declare_custom(app, tenant)
    user_name = f"nul-{uuid.uuid4().hex[:8]}"
    response = scim(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": user_name, **USER_BODIES[attribute]})
    assert_refused(response, "invalidValue")
    assert users_named(client, tenant, user_name) == []


@pytest.mark.parametrize(
    "undeclared",
    [{"nickname2": {"inner": [f"x{NUL}"]}}, {f"odd{NUL}name": "value"}, {"urn:example:ext:2.0:User": {"badge": f"B{NUL}"}}],
)
def test_nul_in_an_undeclared_attribute_drops_that_attribute_not_the_user(client, tenant, undeclared):
    """An attribute Fluid does not use never fails the user (the undeclared policy is keep): it is
    dropped, the user provisioned, and a PATCH setting one changes nothing else."""
    user_name = f"nul-{uuid.uuid4().hex[:8]}"
    body = {"schemas": [USER_URN], "userName": user_name, "title": "Engineer", **undeclared}
    created = scim(client, tenant, "POST", "/Users", body)
    assert created.status_code == 201, created.get_data(as_text=True)
    (found,) = users_named(client, tenant, user_name)
    assert found["title"] == "Engineer" and not set(undeclared) & set(found)
    patched = scim(client, tenant, "PATCH", f"/Users/{found['id']}", {"schemas": [PATCH_OP_URN], "Operations": [
        {"op": "add", "value": {"undeclaredThing": f"u{NUL}"}}, {"op": "replace", "path": "title", "value": "Lead"}]})
    assert patched.status_code == 200, patched.get_data(as_text=True)
    assert patched.get_json()["title"] == "Lead" and "undeclaredThing" not in patched.get_json()


@pytest.mark.parametrize(
    "char, name",
    [("\x01", "U+0001"), ("\x1b", "U+001B (ESC)"), ("\x7f", "U+007F (DEL)")],
)
def test_other_control_characters_are_refused_in_free_text(client, tenant, char, name):
    user_name = f"ctl-{uuid.uuid4().hex[:8]}"
    body = {"schemas": [USER_URN], "userName": user_name, "title": f"Head{char}of things"}
    assert_refused(scim(client, tenant, "POST", "/Users", body), "invalidValue", name)
    assert users_named(client, tenant, user_name) == []


def test_c1_controls_from_mis_decoded_text_are_kept(client, tenant):
    # Windows-1252 text decoded as Latin-1 upstream: U+0092 where a typographic apostrophe was.
    user_name = f"c1-{uuid.uuid4().hex[:8]}"
    body = {"schemas": [USER_URN], "userName": user_name, "name": {"familyName": "O\x92Brien"}, "title": "Head\x85of"}
    created = scim(client, tenant, "POST", "/Users", body)
    assert created.status_code == 201, created.get_data(as_text=True)
    (found,) = users_named(client, tenant, user_name)
    assert (found["name"]["familyName"], found["title"]) == ("O\x92Brien", "Head\x85of")


def test_line_breaks_and_tabs_are_kept_in_free_text_but_refused_in_names(client, tenant):
    user_name = f"addr-{uuid.uuid4().hex[:8]}"
    address = {"formatted": "1 Main St\r\nSpringfield\nUSA", "streetAddress": "1 Main St\nFloor 2", "type": "work"}
    body = {"schemas": [USER_URN], "userName": user_name, "addresses": [address], "title": "Tab\tseparated",
            "displayName": "Zero\u200dwidth joiner kept"}
    created = scim(client, tenant, "POST", "/Users", body)
    assert created.status_code == 201, created.get_data(as_text=True)
    stored = scim(client, tenant, "GET", f"/Users/{created.get_json()['id']}").get_json()
    assert stored["addresses"][0]["formatted"] == "1 Main St\r\nSpringfield\nUSA"
    assert stored["addresses"][0]["streetAddress"] == "1 Main St\nFloor 2"
    assert stored["title"] == "Tab\tseparated" and stored["displayName"] == "Zero\u200dwidth joiner kept"

    for field, value in (("userName", "two\nlines"), ("displayName", "tab\tbed"), ("externalId", "cr\r")):
        body = {"schemas": [USER_URN], "userName": f"x-{uuid.uuid4().hex[:8]}", field: value}
        assert_refused(scim(client, tenant, "POST", "/Users", body), "invalidValue", "must not contain the control character")


def test_nul_in_a_patch_value_is_refused_and_the_user_is_unchanged(app, client, tenant):
    declare_custom(app, tenant)
    created = scim(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": f"p-{uuid.uuid4().hex[:8]}",
                                                      "title": "Engineer", "emails": [{"value": "p@example.com"}]})
    assert created.status_code == 201
    user_id, before = created.get_json()["id"], created.get_json()
    operations = [
        {"op": "replace", "path": "title", "value": f"Boss{NUL}"},
        {"op": "replace", "value": {"name.givenName": f"Ada{NUL}"}},
        {"op": "add", "path": "emails", "value": [{"value": f"second{NUL}@example.com"}]},
        {"op": "replace", "path": 'emails[value eq "p@example.com"].value', "value": f"p{NUL}@example.com"},
        {"op": "add", "path": f"{CUSTOM_URN}:costCentre", "value": f"CC{NUL}"},
    ]
    for operation in operations:
        response = scim(client, tenant, "PATCH", f"/Users/{user_id}", {"schemas": [PATCH_OP_URN], "Operations": [operation]})
        assert_refused(response, "invalidValue")
    after = scim(client, tenant, "GET", f"/Users/{user_id}").get_json()
    assert after["meta"]["version"] == before["meta"]["version"] and after["title"] == "Engineer"
    assert after["emails"] == before["emails"]


def test_nul_in_a_group_is_refused(client, tenant):
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": f"Staff{NUL}"}
    assert_refused(scim(client, tenant, "POST", "/Groups", body), "invalidValue")
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Staff",
            "members": [{"value": f"someone{NUL}"}]}
    assert_refused(scim(client, tenant, "POST", "/Groups", body), "invalidValue")


# -- filters --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filter_text",
    ['title eq "a\\u0000b"', 'userName eq "a\\u0000"', 'emails[value co "\\u0000"]', 'name.givenName sw "\\u001b["',
     f'{CUSTOM_URN}:costCentre eq "x\\u0000"'],
)
def test_a_refused_character_in_a_filter_literal_is_an_invalid_filter(app, client, tenant, filter_text):
    declare_custom(app, tenant)
    assert_refused(scim(client, tenant, "GET", "/Users?filter=" + quote(filter_text)), "invalidFilter", "U+00")
    search = {"schemas": [SEARCH_REQUEST_URN], "filter": filter_text}
    assert_refused(scim(client, tenant, "POST", "/Users/.search", search), "invalidFilter", "U+00")
    group_filter = quote('displayName eq "Fluid\\u0000User"')
    assert_refused(scim(client, tenant, "GET", f"/Groups?filter={group_filter}"), "invalidFilter")


def test_a_raw_nul_in_a_filter_is_an_invalid_filter(client, tenant):
    assert_refused(scim(client, tenant, "GET", "/Users?filter=" + quote(f'title eq "a{NUL}"')), "invalidFilter", "U+0000")
    assert_refused(scim(client, tenant, "GET", "/Users?filter=" + quote(f'title eq a{NUL}')), "invalidFilter", "")


# -- the admin API --------------------------------------------------------------------------------

RENAME = f"mutation($name: String!) {{ setAccessGroupName(name: $name) {{ {FAILURE} }} }}"


def access_group(client: FlaskClient, tenant: Tenant, name: str) -> list[dict[str, Any]]:
    response = scim(client, tenant, "GET", "/Groups?excludedAttributes=members&filter=" + quote(f'displayName eq "{name}"'))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["Resources"]


def test_an_access_group_renamed_with_nul_is_refused_and_stays_findable(app, client, tenant):
    result = gql(app, tenant, RENAME, name=f"Fluid{NUL}User")
    assert result.errors is None, result.errors
    answer = result.data["setAccessGroupName"]
    assert answer["__typename"] == "InvalidInput" and "U+0000 (NUL)" in answer["message"]
    assert [group["displayName"] for group in access_group(client, tenant, "Fluid User")] == ["Fluid User"]

    for name in ("Fluid\nUser", "Fluid\x1bUser"):  # a group name is one line
        answer = gql(app, tenant, RENAME, name=name).data["setAccessGroupName"]
        assert answer["__typename"] == "InvalidInput", answer
    assert len(access_group(client, tenant, "Fluid User")) == 1


ROLE_MAPPINGS = f"""mutation($groups: [GroupRoleMappingInput!]!, $apps: [AppRoleMappingInput!]) {{
  setRoleMappings(groups: $groups, appRoles: $apps) {{ {FAILURE} }} }}"""


def test_role_mappings_with_nul_are_refused_and_no_group_is_created(app, client, tenant):
    for groups, apps in (
        ([{"groupName": f"Admins{NUL}", "role": "admin"}], None),
        ([], [{"appRole": f"Admin{NUL}", "role": "admin"}]),
    ):
        answer = gql(app, tenant, ROLE_MAPPINGS, groups=groups, apps=apps).data["setRoleMappings"]
        assert answer["__typename"] == "InvalidInput" and "U+0000 (NUL)" in answer["message"], answer
    assert access_group(client, tenant, "Admins") == []
    shown = gql(app, tenant, "{ organisation { roleMappings { groups { groupName } appRoles { appRole } } } }")
    assert shown.errors is None and shown.data["organisation"]["roleMappings"] == {"groups": [], "appRoles": []}, shown


MUTATIONS = {
    "attribute role mapping filter": (
        f"mutation($f: String!) {{ setAttributeRoleMappings(mappings: [{{filter: $f, role: \"admin\"}}]) {{ {FAILURE} }} }}",
        {"f": 'title eq "x\\u0000"'}, "setAttributeRoleMappings", False),
    "access filter": (
        f"mutation($f: String!) {{ setAccessMode(mode: ATTRIBUTE, filter: $f) {{ {FAILURE} }} }}",
        {"f": f'title eq "x{NUL}"'}, "setAccessMode", False),
    "attribute declaration": (
        f"mutation($input: AttributeInput!) {{ declareAttribute(input: $input) {{ {FAILURE} }} }}",
        {"input": {"path": "badge", "description": f"Badge{NUL}"}}, "declareAttribute", False),
    "webhook URL": (
        f"mutation($url: String!) {{ createWebhookEndpoint(url: $url) {{ {FAILURE} }} }}",
        {"url": f"https://hooks.example.com/{NUL}"}, "createWebhookEndpoint", False),
    "webhook event type": (
        f"mutation($url: String!) {{ createWebhookEndpoint(url: $url, eventTypes: [\"user.created\\u0000\"]) {{ {FAILURE} }} }}",
        {"url": "https://hooks.example.com/in"}, "createWebhookEndpoint", False),
    "imported user": (
        f"mutation($rows: [ImportUserInput!]!) {{ importUsers(rows: $rows) {{ {FAILURE} }} }}",
        {"rows": [{"userName": "imp", "givenName": f"Imp{NUL}"}]}, "importUsers", False),
    "organisation name": (
        f"mutation($name: String!) {{ createOrganisation(slug: \"nul-org\", name: $name) {{ {FAILURE} }} }}",
        {"name": f"Acme{NUL}"}, "createOrganisation", True),
    "organisation's access group": (
        f"mutation($g: String!) {{ createOrganisation(slug: \"nul-org2\", accessGroupName: $g) {{ {FAILURE} }} }}",
        {"g": f"Staff{NUL}"}, "createOrganisation", True),
}


@pytest.mark.parametrize("what", MUTATIONS)
def test_nul_in_any_admin_mutation_is_invalid_input(app, tenant, what):
    query, variables, field, operator = MUTATIONS[what]
    result = gql(app, tenant, query, operator=operator, **variables)
    assert result.errors is None, result.errors
    answer = result.data[field]
    assert answer["__typename"] == "InvalidInput" and "U+0000 (NUL)" in answer["message"], answer


def test_nul_in_a_mutation_without_an_invalid_input_failure_is_a_visible_input_error(app, tenant):
    query = 'mutation { deleteWebhookEndpoint(id: "x\\u0000") { __typename } }'
    result = gql(app, tenant, query)
    assert result.errors is not None and len(result.errors) == 1
    error = result.errors[0]
    assert error.extensions["code"] == "BAD_USER_INPUT" and "U+0000 (NUL)" in error.message


@pytest.mark.parametrize(
    "query, variables",
    [
        ('query($s: String) { users(search: $s) { edges { node { id } } } }', {"s": f"ada{NUL}"}),
        ('{ groups(search: "x\\u0000") { edges { node { id } } } }', {}),
        ('query($id: ID!) { user(id: $id) { id } }', {"id": f"{NUL}"}),
        ('query($id: String) { provisioningEvents(userId: $id) { edges { node { id } } } }', {"id": f"u{NUL}"}),
    ],
)
def test_nul_in_a_query_argument_is_a_visible_input_error(app, tenant, query, variables):
    result = gql(app, tenant, query, **variables)
    assert result.errors is not None and len(result.errors) == 1, result
    error = result.errors[0]
    assert error.message != "Unexpected error." and "U+0000 (NUL)" in error.message
    assert error.extensions["code"] == "BAD_USER_INPUT"


def test_the_cli_refuses_control_characters_in_names(app, runner, client, tenant):
    renamed = runner.invoke(args=["org", "access", tenant.slug, "--group-name", "Fluid\x1bUser"])
    assert renamed.exit_code == 1 and "U+001B (ESC)" in renamed.output, renamed.output
    assert len(access_group(client, tenant, "Fluid User")) == 1
    mapped = runner.invoke(args=["org", "roles", tenant.slug, "--group", "Ops\x07=admin"])
    assert mapped.exit_code == 1 and "U+0007" in mapped.output, mapped.output
    created = runner.invoke(args=["org", "create", f"o-{uuid.uuid4().hex[:8]}", "--name", "Acme\x1b[31m"])
    assert created.exit_code == 1 and "U+001B (ESC)" in created.output, created.output
    declared = runner.invoke(args=["attributes", "declare", tenant.slug, "badge", "--description", "Badge\x1b[2J"])
    assert declared.exit_code == 1 and "U+001B (ESC)" in declared.output, declared.output
    listed = runner.invoke(args=["attributes", "list", tenant.slug])
    assert listed.exit_code == 0 and "badge" not in listed.output, listed.output


# -- what Fluid writes down about a request ------------------------------------------------------

EVENTS = "{ provisioningEvents(first: 10) { edges { node { method path resourceId status detail userAgent } } } }"


def test_a_request_naming_a_nul_is_answered_and_kept_in_the_history_without_it(app, client, tenant):
    headers = {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "User-Agent": f"agent{NUL}x"}
    response = client.get("/scim/v2/Users/a%00b", headers=headers)
    assert response.status_code == 404
    assert NUL not in response.get_json()["detail"] and "a\ufffdb" in response.get_json()["detail"]
    filtered = client.get("/scim/v2/Users?filter=" + quote(f'userName eq "x"{NUL}'), headers=headers)
    assert filtered.status_code == 400 and NUL not in filtered.get_json()["detail"]

    result = gql(app, tenant, EVENTS)
    assert result.errors is None, result.errors
    events = [edge["node"] for edge in result.data["provisioningEvents"]["edges"]]
    read = [event for event in events if event["status"] == 404]
    assert len(read) == 1, events  # recorded, not dropped by the database
    assert read[0]["path"] == "/scim/v2/Users/a\ufffdb" and read[0]["resourceId"] == "a\ufffdb"
    assert read[0]["userAgent"] == "agent\ufffdx"
    assert len([event for event in events if event["status"] == 400]) == 1, events
