"""Directory attributes as an organisation's admin manages them: GraphQL and the operator CLI.

Declaring a custom attribute makes the organisation's ``/Schemas`` and ``/ResourceTypes`` advertise
it (RFC 7643 §7, §6); values users already hold are converted, or the change is refused with how
many do not fit, unless the admin asks to drop them (each drop in the user's history). The
undeclared-attribute policy decides what SCIM does with attributes nobody declared. The custom
extension is Microsoft Entra's documented example (Microsoft Learn, "Customize user provisioning
attribute mappings for SaaS applications in Microsoft Entra ID").
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tests.support.graphql import claims_for, data, execute
from tests.support.provisioning import SCIM_MEDIA_TYPE, scim
from tests.support.tenants import Tenant
from tests.support.urns import USER_URN

ENTRA_URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
ENTRA_PATH = f"{ENTRA_URN}:CustomAttribute"
FAILURE = "__typename ... on Failure { message }"
DECLARED = (
    "... on AttributeDeclared { declaration { path schemaUrn name type multiValued caseExact }"
    " storedValues { converted dropped } }"
)
ATTRIBUTES = """{ directoryAttributes { undeclaredPolicy
  declarations { path schemaUrn name type multiValued caseExact description createdAt }
  undeclaredAttributes { path resourceType valueKind firstSeenAt lastSeenAt seenCount exampleResourceId
    exampleUser { userName } } } }"""
DECLARE = f"mutation($input: AttributeInput!) {{ declareAttribute(input: $input) {{ {FAILURE} {DECLARED} }} }}"
CHANGE = f"mutation($input: AttributeInput!) {{ changeAttribute(input: $input) {{ {FAILURE} {DECLARED} }} }}"
REMOVE = f"""mutation($path: String!, $delete: Boolean!) {{ removeAttribute(path: $path, deleteValues: $delete) {{
  {FAILURE} ... on AttributeRemoved {{ path storedValues {{ converted dropped }} }} }} }}"""
POLICY = f"""mutation($policy: UndeclaredPolicy!) {{ setUndeclaredPolicy(policy: $policy) {{
  {FAILURE} ... on DirectoryAttributes {{ undeclaredPolicy }} }} }}"""


def gql(app: Flask, tenant: Tenant, query: str, **variables: Any) -> dict[str, Any]:
    return data(execute(app, query, claims_for(tenant.slug), variables))


def declare(app: Flask, tenant: Tenant, path: str, type_: str = "STRING", **more: Any) -> dict[str, Any]:
    return gql(app, tenant, DECLARE, input={"path": path, "type": type_, **more})["declareAttribute"]


def attributes(app: Flask, tenant: Tenant) -> dict[str, Any]:
    return gql(app, tenant, ATTRIBUTES)["directoryAttributes"]


def scim_raw(client: FlaskClient, tenant: Tenant, method: str, path: str, body: Any = None) -> Any:
    return client.open(
        f"/scim/v2{path}", method=method, data=None if body is None else json.dumps(body),
        headers={"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "Content-Type": SCIM_MEDIA_TYPE},
    )


def user_events(app: Flask, tenant: Tenant, user_id: str) -> list[dict[str, Any]]:
    query = """query($id: String) { provisioningEvents(first: 20, userId: $id) { edges { node { operation actor changes } } } }"""
    return [edge["node"] for edge in gql(app, tenant, query, id=user_id)["provisioningEvents"]["edges"]]


def test_a_declared_attribute_joins_the_organisations_schemas_and_resource_types(
    app: Flask, client: FlaskClient, tenant: Tenant
) -> None:
    answer = declare(app, tenant, ENTRA_PATH, description="Cost centre from HR")
    assert answer["__typename"] == "AttributeDeclared", answer
    assert answer["declaration"] == {"path": ENTRA_PATH, "schemaUrn": ENTRA_URN, "name": "CustomAttribute",
                                     "type": "STRING", "multiValued": False, "caseExact": False}
    assert answer["storedValues"] == {"converted": 0, "dropped": 0}

    schemas = {item["id"]: item for item in scim(client, tenant, "GET", "/Schemas")["Resources"]}
    assert [attr["name"] for attr in schemas[ENTRA_URN]["attributes"]] == ["CustomAttribute"]
    assert schemas[ENTRA_URN]["attributes"][0]["type"] == "string"
    assert scim(client, tenant, "GET", f"/Schemas/{ENTRA_URN}")["attributes"][0]["description"] == "Cost centre from HR"
    user_type = next(item for item in scim(client, tenant, "GET", "/ResourceTypes")["Resources"] if item["name"] == "User")
    assert {"schema": ENTRA_URN, "required": False} in user_type["schemaExtensions"]

    # Microsoft's documented request body now provisions the value, which the admin sees on the user.
    created = scim(client, tenant, "POST", "/Users", {
        "schemas": [USER_URN, ENTRA_URN], "userName": "ada@example.com", ENTRA_URN: {"CustomAttribute": "701984"},
    })
    assert created[ENTRA_URN] == {"CustomAttribute": "701984"}
    shown = gql(app, tenant, "query($id: ID!) { user(id: $id) { customAttributes { path value declared } } }", id=created["id"])
    assert shown["user"]["customAttributes"] == [{"path": f"{ENTRA_URN}:CustomAttribute", "value": "701984", "declared": True}]

    listed = attributes(app, tenant)
    assert [item["path"] for item in listed["declarations"]] == [ENTRA_PATH]
    assert listed["undeclaredPolicy"] == "KEEP"
    again = declare(app, tenant, ENTRA_PATH.upper().replace("URN:", "urn:"))
    assert again["__typename"] == "Conflict" and "declared already" in again["message"]
    bad = declare(app, tenant, "urn:ietf:params:scim:schemas:core:2.0:User:nickname2")
    assert bad["__typename"] == "InvalidInput" and "standard schema" in bad["message"]


def test_undeclared_values_are_listed_and_declaring_a_mismatching_type_is_refused_until_dropped(
    app: Flask, client: FlaskClient, tenant: Tenant
) -> None:
    ada = scim(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": "ada", "costCentre": "ABC-7"})
    linus = scim(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": "linus", "costCentre": 42})
    assert ada["costCentre"] == "ABC-7", "kept as received under the default policy"

    unknown = attributes(app, tenant)["undeclaredAttributes"]
    assert [(item["path"], item["resourceType"], item["seenCount"]) for item in unknown] == [("costCentre", "User", 2)]
    assert unknown[0]["exampleUser"] == {"userName": "linus"} and unknown[0]["firstSeenAt"] <= unknown[0]["lastSeenAt"]
    custom = gql(app, tenant, "query($id: ID!) { user(id: $id) { customAttributes { path value declared } } }", id=ada["id"])
    assert custom["user"]["customAttributes"] == [{"path": "costCentre", "value": "ABC-7", "declared": False}]

    refused = declare(app, tenant, "costCentre", "INTEGER")
    assert refused["__typename"] == "InvalidInput"
    assert "1 user(s)" in refused["message"] and "ada" in refused["message"] and "nothing was changed" in refused["message"]
    assert attributes(app, tenant)["declarations"] == []
    assert scim(client, tenant, "GET", f"/Users/{ada['id']}")["costCentre"] == "ABC-7"

    done = declare(app, tenant, "costCentre", "INTEGER", dropMismatched=True)
    assert done["__typename"] == "AttributeDeclared"
    assert done["storedValues"] == {"converted": 1, "dropped": 1}
    assert "costCentre" not in scim(client, tenant, "GET", f"/Users/{ada['id']}")
    assert scim(client, tenant, "GET", f"/Users/{linus['id']}")["costCentre"] == 42
    assert attributes(app, tenant)["undeclaredAttributes"] == [], "declared: no longer listed as unknown"
    dropped = [event for event in user_events(app, tenant, ada["id"]) if event["operation"] == "attribute.declared"]
    assert dropped and dropped[0]["changes"] == [{"path": "costCentre", "before": "ABC-7", "after": None}]
    assert dropped[0]["actor"] == "admin:ada@example.com"
    # A wrong value of a declared attribute is a 400 now.
    wrong = scim_raw(client, tenant, "PATCH", f"/Users/{linus['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "costCentre", "value": "not a number"}]})
    assert wrong.status_code == 400 and wrong.get_json()["scimType"] == "invalidValue"


def test_retyping_converts_stored_values_or_says_which_do_not_fit(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    declare(app, tenant, f"{ENTRA_URN}:badge", "INTEGER")
    declare(app, tenant, f"{ENTRA_URN}:desk", "STRING")
    user = scim(client, tenant, "POST", "/Users", {"schemas": [USER_URN, ENTRA_URN], "userName": "ada",
                                                   ENTRA_URN: {"badge": 17, "desk": "D-4"}})
    changed = gql(app, tenant, CHANGE, input={"path": f"{ENTRA_URN}:badge", "type": "DECIMAL"})["changeAttribute"]
    assert changed["__typename"] == "AttributeDeclared", changed
    assert changed["declaration"]["type"] == "DECIMAL"
    assert changed["storedValues"] == {"converted": 1, "dropped": 0}
    assert scim(client, tenant, "GET", f"/Users/{user['id']}")[ENTRA_URN]["badge"] == 17

    refused = gql(app, tenant, CHANGE, input={"path": f"{ENTRA_URN}:desk", "type": "BOOLEAN"})["changeAttribute"]
    assert refused["__typename"] == "InvalidInput" and "1 user(s)" in refused["message"]
    assert scim(client, tenant, "GET", f"/Users/{user['id']}")[ENTRA_URN]["desk"] == "D-4"
    desk = next(item for item in attributes(app, tenant)["declarations"] if item["name"] == "desk")
    assert desk["type"] == "STRING", "nothing changed"
    missing = gql(app, tenant, CHANGE, input={"path": "nothing", "type": "STRING"})["changeAttribute"]
    assert missing["__typename"] == "NotFound"


def test_removing_keeps_the_values_as_undeclared_or_deletes_them(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    for path in ("badge", "floor"):
        declare(app, tenant, path, "STRING")
    user = scim(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": "ada", "badge": "B-1", "floor": "3"})

    kept = gql(app, tenant, REMOVE, path="badge", delete=False)["removeAttribute"]
    assert kept == {"__typename": "AttributeRemoved", "path": "badge", "storedValues": {"converted": 1, "dropped": 0}}
    assert scim(client, tenant, "GET", f"/Users/{user['id']}")["badge"] == "B-1"
    listed = attributes(app, tenant)
    assert [item["path"] for item in listed["declarations"]] == ["floor"]
    assert [item["path"] for item in listed["undeclaredAttributes"]] == ["badge"]

    deleted = gql(app, tenant, REMOVE, path="floor", delete=True)["removeAttribute"]
    assert deleted["storedValues"] == {"converted": 0, "dropped": 1}
    assert "floor" not in scim(client, tenant, "GET", f"/Users/{user['id']}")
    history = [event for event in user_events(app, tenant, user["id"]) if event["operation"] == "attribute.removed"]
    assert history[0]["changes"] == [{"path": "floor", "before": "3", "after": None}]
    schemas = scim(client, tenant, "GET", f"/Schemas/{USER_URN}")
    assert not {"badge", "floor"} & {attr["name"] for attr in schemas["attributes"]}
    assert gql(app, tenant, REMOVE, path="floor", delete=True)["removeAttribute"]["__typename"] == "NotFound"


def test_the_undeclared_policy_decides_what_scim_does(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    body = {"schemas": [USER_URN, ENTRA_URN], "userName": "", ENTRA_URN: {"shoeSize": "44"}}

    assert gql(app, tenant, POLICY, policy="IGNORE")["setUndeclaredPolicy"]["undeclaredPolicy"] == "IGNORE"
    ignored = scim_raw(client, tenant, "POST", "/Users", {**body, "userName": "ignored"})
    assert ignored.status_code == 201, ignored.get_data(as_text=True)
    assert ENTRA_URN not in ignored.get_json()
    assert ENTRA_URN not in scim(client, tenant, "GET", f"/Users/{ignored.get_json()['id']}")
    assert attributes(app, tenant)["undeclaredAttributes"] == []

    assert gql(app, tenant, POLICY, policy="REJECT")["setUndeclaredPolicy"]["undeclaredPolicy"] == "REJECT"
    rejected = scim_raw(client, tenant, "POST", "/Users", {**body, "userName": "rejected"})
    assert rejected.status_code == 400
    assert rejected.get_json()["scimType"] == "invalidSyntax"

    assert gql(app, tenant, POLICY, policy="KEEP")["setUndeclaredPolicy"]["undeclaredPolicy"] == "KEEP"
    kept = scim_raw(client, tenant, "POST", "/Users", {**body, "userName": "kept"})
    assert kept.status_code == 201 and kept.get_json()[ENTRA_URN] == {"shoeSize": "44"}
    assert attributes(app, tenant)["undeclaredPolicy"] == "KEEP"


def test_only_the_organisations_admins_manage_its_attributes(app: Flask, tenant: Tenant) -> None:
    viewer = claims_for(tenant.slug, roles=("viewer",))
    answer = data(execute(app, DECLARE, viewer, {"input": {"path": "badge", "type": "STRING"}}))["declareAttribute"]
    assert answer["__typename"] == "NotAllowed"
    refused = execute(app, ATTRIBUTES, viewer)
    assert refused.errors and refused.errors[0].extensions == {"code": "FORBIDDEN"}


# ---- the operator CLI -------------------------------------------------------------------------------


def test_cli_declares_lists_changes_and_removes(app: Flask, runner: FlaskCliRunner, client: FlaskClient, tenant: Tenant) -> None:
    user = scim(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": "ada", "costCentre": "ABC-7"})
    unknown = runner.invoke(args=["attributes", "undeclared", tenant.slug])
    assert unknown.exit_code == 0, unknown.output
    assert "costCentre" in unknown.stdout and "User" in unknown.stdout and user["id"] in unknown.stdout

    refused = runner.invoke(args=["attributes", "declare", tenant.slug, "costCentre", "--type", "integer"])
    assert refused.exit_code == 1 and "1 user(s)" in refused.output and "nothing was changed" in refused.output
    declared = runner.invoke(args=["attributes", "declare", tenant.slug, "costCentre", "--type", "integer",
                                   "--multi-valued", "--drop-mismatched", "--description", "From HR"])
    assert declared.exit_code == 0, declared.output
    assert "declared costCentre (integer, multi-valued)" in declared.stdout
    assert "0 value(s) converted, 1 dropped" in declared.stdout

    listed = runner.invoke(args=["attributes", "list", tenant.slug])
    assert listed.exit_code == 0
    assert listed.stdout.splitlines()[0].split() == ["PATH", "TYPE", "MULTI", "CASE", "DESCRIPTION"]
    assert listed.stdout.splitlines()[1].split() == ["costCentre", "integer", "yes", "no", "From", "HR"]
    assert "undeclared policy: keep" in listed.stderr

    changed = runner.invoke(args=["attributes", "change", tenant.slug, "costCentre", "--type", "string", "--case-exact"])
    assert changed.exit_code == 0 and "changed costCentre (string, case-exact)" in changed.stdout

    removed = runner.invoke(args=["attributes", "remove", tenant.slug, "costCentre", "--delete-values"])
    assert removed.exit_code == 0 and "removed costCentre: 0 value(s) kept as undeclared, 0 deleted" in removed.stdout
    missing = runner.invoke(args=["attributes", "remove", tenant.slug, "costCentre"])
    assert missing.exit_code == 1 and "is not declared" in missing.output
    assert attributes(app, tenant)["declarations"] == []


def test_cli_sets_the_undeclared_policy(app: Flask, runner: FlaskCliRunner, tenant: Tenant) -> None:
    result = runner.invoke(args=["attributes", "policy", tenant.slug, "reject"])
    assert result.exit_code == 0 and "undeclared policy: reject" in result.stdout
    assert attributes(app, tenant)["undeclaredPolicy"] == "REJECT"
    assert runner.invoke(args=["attributes", "policy", tenant.slug, "maybe"]).exit_code == 2
    assert runner.invoke(args=["attributes", "list", "no-such-org"]).exit_code == 1
    events = gql(app, tenant, "{ provisioningEvents(first: 1) { edges { node { operation actor } } } }")
    node = events["provisioningEvents"]["edges"][0]["node"]
    assert node["operation"] == "organisation.undeclared_policy" and node["actor"].startswith("cli:")


def test_a_declaration_an_access_rule_relies_on_is_not_removed(app: Flask, tenant: Tenant) -> None:
    path = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:fluidRole"
    assert declare(app, tenant, path)["__typename"] == "AttributeDeclared"
    saved = gql(app, tenant, 'mutation { setAttributeRoleMappings(mappings: [{filter: "' + path.replace('"', '\\"')
                + ' eq \\"Manager\\"", role: "manager"}]) { __typename } }')
    assert saved["setAttributeRoleMappings"]["__typename"] == "RoleMappingsSet", saved
    removed = gql(app, tenant, "mutation($p: String!) { removeAttribute(path: $p, deleteValues: false) {"
                  " __typename ... on Failure { message } } }", p=path)["removeAttribute"]
    assert removed["__typename"] == "InvalidInput" and "attribute role mapping to 'manager'" in removed["message"]
    assert [item["path"] for item in attributes(app, tenant)["declarations"]] == [path]
