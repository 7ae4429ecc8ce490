"""The set-up checklist, read through GraphQL after replaying what Entra and Okta send.

Entra's requests are those of Microsoft Learn's "Tutorial: Develop and plan provisioning for a SCIM
endpoint" (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups):
Test Connection looks up a random userName (and a random group displayName), the first cycle looks
each user up by userName and creates the missing ones, looks each assigned group up by displayName
(members excluded) and adds members by PATCH; with Create and Delete still checked in the group
mapping it POSTs and DELETEs groups. Okta's are those of its "SCIM 2.0 protocol reference"
(https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from fluid_scim.services import request_context
from tests.support.graphql import claims_for, data, execute
from tests.support.statements import captured_statements
from tests.support.tenants import Tenant, make_tenant
from tests.support.urns import GROUP_URN, PATCH_OP_URN, USER_URN

ENTRA = "Microsoft.Identity.Provisioning"
OKTA = "Okta SCIM Client 1.0.0"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
CHECKLIST = "{ setupChecklist { key title state observedAt message } setupChecklistSince }"
KEYS = [
    "sync_enabled",
    "token_set",
    "test_connection",
    "group_create_unchecked",
    "group_delete_unchecked",
    "attributes_understood",
    "access_group_matched",
    "users_provisioned",
]


class IdP:
    """An identity provider speaking to one tenant through the in-process client."""

    def __init__(self, client: FlaskClient, tenant: Tenant, agent: str, token: str | None = None) -> None:
        self.client, self.tenant, self.agent = client, tenant, agent
        self.token = tenant.token if token is None else token

    def send(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        headers = {"Host": self.tenant.host, "Authorization": f"Bearer {self.token}", "User-Agent": self.agent}
        return self.client.open(
            f"/scim/v2{path}", method=method, json=body, query_string=query or None, headers=headers,
            content_type="application/scim+json",
        )

    def find_user(self, user_name: str) -> Any:
        return self.send("GET", "/Users", filter=f'userName eq "{user_name}"')

    def find_group(self, name: str) -> Any:
        return self.send("GET", "/Groups", filter=f'displayName eq "{name}"', excludedAttributes="members")

    def test_connection(self) -> None:
        for response in (self.find_user(str(uuid.uuid4())), self.find_group(str(uuid.uuid4()))):
            assert response.status_code in (200, 401, 403), response.data

    def create_user(self, user_name: str, **extra: Any) -> str:
        assert self.find_user(user_name).json["totalResults"] == 0
        body = {"schemas": [USER_URN], "userName": user_name, "active": True, "externalId": str(uuid.uuid4()),
                "emails": [{"primary": True, "type": "work", "value": user_name}], **extra}
        created = self.send("POST", "/Users", body)
        assert created.status_code == 201, created.data
        return str(created.json["id"])

    def add_members(self, group_id: str, user_ids: list[str]) -> None:
        operations = [{"op": "Add", "path": "members", "value": [{"value": user_id} for user_id in user_ids]}]
        patched = self.send("PATCH", f"/Groups/{group_id}", {"schemas": [PATCH_OP_URN], "Operations": operations})
        assert patched.status_code == 204, patched.data


def checklist(app: Flask, tenant: Tenant) -> dict[str, dict[str, Any]]:
    answer = data(execute(app, CHECKLIST, claims_for(tenant.slug)))
    steps = answer["setupChecklist"]
    assert [step["key"] for step in steps] == KEYS, "the article's steps, in its order"
    return {step["key"]: step for step in steps}


def states(steps: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {key: step["state"] for key, step in steps.items()}


def graphql(app: Flask, tenant: Tenant, query: str) -> dict[str, Any]:
    return data(execute(app, query, claims_for(tenant.slug)))


def access_group_id(app: Flask, tenant: Tenant) -> str:
    return str(graphql(app, tenant, "{ organisation { accessGroup { id } } }")["organisation"]["accessGroup"]["id"])


def fingerprint(app: Flask, tenant: Tenant) -> str:
    return str(graphql(app, tenant, "{ organisation { scimToken { fingerprint } } }")["organisation"]["scimToken"]["fingerprint"])


# -- before anything -----------------------------------------------------------------------------


def test_a_new_organisation_has_its_settings_done_and_everything_else_pending(app, tenant):
    steps = checklist(app, tenant)
    assert states(steps) == {
        "sync_enabled": "DONE", "token_set": "DONE", "test_connection": "PENDING", "group_create_unchecked": "PENDING",
        "group_delete_unchecked": "PENDING", "attributes_understood": "PENDING", "access_group_matched": "PENDING",
        "users_provisioned": "PENDING",
    }
    assert f"fingerprint {fingerprint(app, tenant)}, generated" in steps["token_set"]["message"]
    assert "Test Connection" in steps["test_connection"]["message"]
    assert steps["test_connection"]["observedAt"] is None
    assert '"Fluid User"' in steps["access_group_matched"]["message"]


def test_without_a_token_the_token_step_says_how_to_set_one(app):
    tenant = make_tenant(app, with_token=False)
    steps = checklist(app, tenant)
    assert steps["token_set"]["state"] == "PENDING"
    assert "press Generate" in steps["token_set"]["message"]
    assert steps["test_connection"]["state"] == "PENDING"


# -- Test Connection -----------------------------------------------------------------------------


def test_entra_test_connection_with_the_saved_token_is_done(app, client, tenant):
    IdP(client, tenant, ENTRA).test_connection()
    steps = checklist(app, tenant)
    step = steps["test_connection"]
    assert step["state"] == "DONE"
    assert step["message"].startswith("Entra's Test Connection arrived at ")
    assert step["message"].endswith("and succeeded (it looked up a random userName with the saved token).")
    assert step["observedAt"] is not None
    # Its lookup of a random group name found nothing: no group has been dealt with yet.
    assert (steps["group_create_unchecked"]["state"], steps["group_delete_unchecked"]["state"]) == ("PENDING", "PENDING")


def test_entra_test_connection_with_a_wrong_token_is_a_problem_until_the_right_one_arrives(app, client, tenant):
    IdP(client, tenant, ENTRA, token="not-the-saved-token-" + uuid.uuid4().hex).test_connection()
    step = checklist(app, tenant)["test_connection"]
    assert step["state"] == "PROBLEM"
    message = step["message"]
    assert message.startswith("Entra's requests arrive with a token that does not match the saved one (refused with 401")
    assert f"The saved token (fingerprint {fingerprint(app, tenant)}) was set at " in message
    assert "Copy Token" in message and "Entra's Secret Token" in message and "Test Connection" in message

    IdP(client, tenant, ENTRA).test_connection()
    assert checklist(app, tenant)["test_connection"]["state"] == "DONE"


def test_a_token_saved_after_the_wrong_one_was_sent_waits_for_the_new_one(app, client, tenant):
    IdP(client, tenant, ENTRA, token="an-old-token-" + uuid.uuid4().hex).test_connection()
    generated = graphql(app, tenant, "mutation { generateScimToken { ... on GeneratedScimToken { token } } }")
    step = checklist(app, tenant)["test_connection"]
    assert step["state"] == "PENDING"
    assert "had a token that was not the saved one" in step["message"]
    assert "waiting for a request with the new token" in step["message"]

    new_tenant = Tenant(tenant.slug, generated["generateScimToken"]["token"])
    IdP(client, new_tenant, ENTRA).test_connection()
    assert checklist(app, tenant)["test_connection"]["state"] == "DONE"


def test_requests_while_sync_is_disabled_are_a_problem_of_both_steps(app, client, tenant):
    graphql(app, tenant, "mutation { setScimSyncEnabled(enabled: false) { __typename } }")
    steps = checklist(app, tenant)
    assert steps["sync_enabled"]["state"] == "PENDING"
    assert "“Disable SCIM User Sync” is on since " in steps["sync_enabled"]["message"]

    IdP(client, tenant, ENTRA).test_connection()
    steps = checklist(app, tenant)
    assert steps["sync_enabled"]["state"] == "PROBLEM"
    assert steps["sync_enabled"]["message"].startswith(
        "Entra's requests are refused with 403 while “Disable SCIM User Sync” is on"
    )
    assert "Switch “Disable SCIM User Sync” off" in steps["sync_enabled"]["message"]
    assert steps["test_connection"]["state"] == "PROBLEM"
    assert "refused (403) while “Disable SCIM User Sync” is on" in steps["test_connection"]["message"]

    graphql(app, tenant, "mutation { setScimSyncEnabled(enabled: true) { __typename } }")
    IdP(client, tenant, ENTRA).test_connection()
    steps = checklist(app, tenant)
    assert (steps["sync_enabled"]["state"], steps["test_connection"]["state"]) == ("DONE", "DONE")


# -- the first cycle -----------------------------------------------------------------------------


def test_entra_first_cycle_checks_off_every_step(app, client, tenant):
    entra = IdP(client, tenant, ENTRA)
    entra.test_connection()
    users = [entra.create_user(f"person-{n}-{uuid.uuid4().hex[:6]}@contoso.com") for n in range(3)]
    found = entra.find_group("Fluid User")
    assert found.json["totalResults"] == 1
    entra.add_members(found.json["Resources"][0]["id"], users[:2])

    steps = checklist(app, tenant)
    assert set(states(steps).values()) == {"DONE"}, states(steps)
    assert all(step["observedAt"] for step in steps.values()), steps
    assert re.fullmatch(
        r"Entra created 3 user\(s\) and adopted 0 existing one\(s\): the first at \S+ \S+ UTC, the last at \S+ \S+ UTC\.",
        steps["users_provisioned"]["message"],
    )
    matched = steps["access_group_matched"]["message"]
    assert matched.startswith('Entra matched the access group "Fluid User" and added 2 member(s)')
    assert steps["group_create_unchecked"]["message"] == "Entra works with groups and has created none."
    assert steps["group_delete_unchecked"]["message"] == "Entra works with groups and has tried to delete none."
    assert steps["attributes_understood"]["message"] == "Every attribute Entra has sent is standard or declared."


def test_the_access_group_found_but_still_empty_is_pending(app, client, tenant):
    entra = IdP(client, tenant, ENTRA)
    assert entra.find_group("fluid user").json["totalResults"] == 1  # names compare case-insensitively
    step = checklist(app, tenant)["access_group_matched"]
    assert step["state"] == "PENDING"
    assert 'found the access group "Fluid User"' in step["message"] and "has added no member yet" in step["message"]


def test_a_lookup_of_a_group_named_differently_is_a_problem_naming_both(app, client, tenant):
    entra = IdP(client, tenant, ENTRA)
    entra.test_connection()
    assert entra.find_group("Marketing").json["totalResults"] == 0
    assert entra.find_group("Fluid Users").json["totalResults"] == 0
    step = checklist(app, tenant)["access_group_matched"]
    assert step["state"] == "PROBLEM"
    assert step["message"].startswith('Entra looked for groups named "Fluid Users", "Marketing",'), "the closest name first"
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", step["message"]), "Test Connection's random group name is not a miss"
    assert 'Fluid\'s access group is named "Fluid User"' in step["message"]
    assert 'Name the directory group "Fluid User", or rename Fluid\'s access group' in step["message"]

    # Renamed in the directory: the right lookup, then members.
    found = entra.find_group("Fluid User").json["Resources"][0]["id"]
    entra.add_members(found, [entra.create_user(f"late-{uuid.uuid4().hex[:6]}@contoso.com")])
    assert checklist(app, tenant)["access_group_matched"]["state"] == "DONE"


def test_a_group_post_is_a_problem_naming_the_group(app, client, tenant):
    entra = IdP(client, tenant, ENTRA)
    assert entra.find_group("Sales EMEA").json["totalResults"] == 0
    body = {"schemas": [GROUP_URN], "displayName": "Sales EMEA", "externalId": str(uuid.uuid4())}
    created = entra.send("POST", "/Groups", body)
    assert created.status_code == 201
    step = checklist(app, tenant)["group_create_unchecked"]
    assert step["state"] == "PROBLEM"
    assert step["message"].startswith("Entra created 1 group(s) here (Sales EMEA), the last at ")
    assert "Create is still checked in Entra's group mapping" in step["message"]
    assert "Provision Microsoft Entra ID Groups → Target Object Actions, uncheck Create" in step["message"]
    assert checklist(app, tenant)["group_delete_unchecked"]["state"] == "DONE"


def test_a_group_delete_is_a_problem_and_so_is_a_refused_one(app, client, tenant):
    entra = IdP(client, tenant, ENTRA)
    created = entra.send("POST", "/Groups", {"schemas": [GROUP_URN], "displayName": "Old Team"})
    assert entra.send("DELETE", f"/Groups/{created.json['id']}").status_code == 204
    step = checklist(app, tenant)["group_delete_unchecked"]
    assert step["state"] == "PROBLEM"
    assert step["message"].startswith("Entra deleted 1 group(s) (Old Team), the last at ")
    assert "Delete is still checked in Entra's group mapping" in step["message"] and "uncheck Delete" in step["message"]

    refused = entra.send("DELETE", f"/Groups/{access_group_id(app, tenant)}")
    assert refused.status_code == 403
    message = checklist(app, tenant)["group_delete_unchecked"]["message"]
    assert "tried to delete groups Fluid refused to delete (403: 'Fluid User' decides access to Fluid" in message


def test_undeclared_attributes_are_listed(app, client, tenant):
    entra = IdP(client, tenant, ENTRA)
    entra.create_user(f"badge-{uuid.uuid4().hex[:6]}@contoso.com", schemas=[USER_URN, CUSTOM], **{CUSTOM: {"badge": "B-1"}})
    step = checklist(app, tenant)["attributes_understood"]
    assert step["state"] == "PROBLEM"
    assert step["message"].startswith(f"Entra sends 1 attribute(s) Fluid does not know: {CUSTOM}:badge (the last at ")
    assert "Fluid keeps them as received. Declare them under Directory attributes" in step["message"]
    assert "Provision Microsoft Entra ID Users" in step["message"]


def test_creations_fluid_refuses_are_a_problem(app, client, tenant):
    entra = IdP(client, tenant, ENTRA)
    refused = entra.send("POST", "/Users", {"schemas": [USER_URN], "userName": ""})
    assert refused.status_code == 400
    step = checklist(app, tenant)["users_provisioned"]
    assert step["state"] == "PROBLEM"
    assert step["message"].startswith("Entra tried to create users but Fluid refused them (the last at ")
    assert "400" in step["message"]


# -- Okta ----------------------------------------------------------------------------------------


def test_okta_sequence(app, client, tenant):
    okta = IdP(client, tenant, OKTA)
    # "Test API Credentials", then a user's import lookup and creation, then a pushed group linked to Fluid's.
    assert okta.send("GET", "/Users", startIndex=1, count=2).status_code == 200
    assert okta.send("GET", "/Groups", startIndex=1, count=100).status_code == 200
    user_id = okta.create_user(f"okta-{uuid.uuid4().hex[:6]}@okta.local")
    patch = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}]}
    assert okta.send("PATCH", f"/Groups/{access_group_id(app, tenant)}", patch).status_code == 204

    steps = checklist(app, tenant)
    assert set(states(steps).values()) == {"DONE"}, states(steps)
    assert re.fullmatch(
        r"Okta's first authenticated request \(its “Test API Credentials”\) \(GET /scim/v2/Users\) arrived at .+ and succeeded\.",
        steps["test_connection"]["message"],
    )
    assert steps["access_group_matched"]["message"].startswith('Okta matched the access group "Fluid User" and added 1 member(s)')
    assert steps["users_provisioned"]["message"].startswith("Okta created 1 user(s)")

    created = okta.send("POST", "/Groups", {"schemas": [GROUP_URN], "displayName": "Okta Pushed"})
    assert created.status_code == 201
    step = checklist(app, tenant)["group_create_unchecked"]
    assert step["state"] == "PROBLEM" and "Okta created 1 group(s) here (Okta Pushed)" in step["message"]
    assert "linking it to Fluid's existing group" in step["message"] and "Entra" not in step["message"]


def test_okta_with_a_wrong_token_is_told_where_okta_keeps_it(app, client, tenant):
    IdP(client, tenant, OKTA, token="wrong-" + uuid.uuid4().hex).send("GET", "/Users", startIndex=1, count=2)
    step = checklist(app, tenant)["test_connection"]
    assert step["state"] == "PROBLEM"
    assert step["message"].startswith("Okta's requests arrive with a token that does not match the saved one")
    assert "API token in Okta's Provisioning → Integration" in step["message"]


def test_another_identity_provider_is_connected_by_its_first_authenticated_request(app, client, tenant):
    other = IdP(client, tenant, "OneLogin SCIM/2.0")
    assert other.send("GET", "/ServiceProviderConfig").status_code == 200
    other.send("POST", "/Groups", {"schemas": [GROUP_URN], "displayName": "Pushed Elsewhere"})
    steps = checklist(app, tenant)
    assert steps["test_connection"]["state"] == "DONE"
    assert steps["test_connection"]["message"].startswith(
        "The identity provider's first authenticated request (GET /scim/v2/ServiceProviderConfig) arrived at "
    )
    assert "its first request stands for the test" in steps["test_connection"]["message"]
    create = steps["group_create_unchecked"]
    assert create["state"] == "PROBLEM"
    assert create["message"].startswith("The identity provider created 1 group(s) here (Pushed Elsewhere)")
    assert "turn group creation off" in create["message"] and "Create is still checked" not in create["message"]


# -- restarting ----------------------------------------------------------------------------------


def test_a_restart_forgets_what_was_observed_and_the_history_keeps_it(app, client, tenant):
    entra = IdP(client, tenant, ENTRA)
    entra.test_connection()
    entra.send("POST", "/Groups", {"schemas": [GROUP_URN], "displayName": "Before Restart"})
    entra.find_group("Fluid Users")
    assert states(checklist(app, tenant))["group_create_unchecked"] == "PROBLEM"

    reset = graphql(app, tenant, "mutation { resetSetupChecklist { __typename ... on SetupChecklistReset { since"
                                 " steps { key state message } } } }")["resetSetupChecklist"]
    assert reset["__typename"] == "SetupChecklistReset"
    after = {step["key"]: step["state"] for step in reset["steps"]}
    assert after == {**dict.fromkeys(KEYS, "PENDING"), "sync_enabled": "DONE", "token_set": "DONE"}
    steps = checklist(app, tenant)
    assert states(steps) == after
    assert " since " in steps["test_connection"]["message"]
    since = graphql(app, tenant, "{ setupChecklistSince }")["setupChecklistSince"]
    assert since == reset["since"]

    history = graphql(app, tenant, "{ provisioningEvents(first: 50) { edges { node { operation actor } } } }")
    operations = [edge["node"]["operation"] for edge in history["provisioningEvents"]["edges"]]
    assert operations[0] == "setup_checklist.restarted"
    assert history["provisioningEvents"]["edges"][0]["node"]["actor"] == "admin:ada@example.com"
    assert "group.created" in operations and "groups.list" in operations and "users.list" in operations

    entra.test_connection()
    assert checklist(app, tenant)["test_connection"]["state"] == "DONE"


def test_only_an_admin_reads_or_restarts_the_checklist(app, tenant):
    viewer = claims_for(tenant.slug, roles=("viewer",))
    assert execute(app, "{ setupChecklist { key } }", viewer).errors
    denied = data(execute(app, "mutation { resetSetupChecklist { __typename } }", viewer))
    assert denied["resetSetupChecklist"]["__typename"] == "NotAllowed"


# -- cost ----------------------------------------------------------------------------------------


def test_the_request_path_writes_nothing_more_and_the_checklist_reads_are_bounded(app_factory, tenant):
    """With the recorder batching (as in production), a lookup writes nothing on the request path but what it
    always did (the token's last use, once a minute); its event, detail included, comes with the recorder's batch."""
    batched = app_factory(record_flush_seconds=3600)
    entra = IdP(batched.test_client(), tenant, ENTRA)
    entra.send("GET", "/Users", startIndex=1, count=1)  # the token's last use is written now, once a minute
    with captured_statements(batched) as statements:
        entra.test_connection()
        entra.find_group("Fluid User")
    writes = [text for text, _ in statements if not text.lstrip().upper().startswith("SELECT")]
    assert writes == [], writes

    with captured_statements(batched) as statements:
        steps = checklist(batched, tenant)  # writes the recorder's pending batch first, then reads
    assert steps["test_connection"]["state"] == "DONE"
    assert steps["access_group_matched"]["state"] == "PENDING"
    selects = [text for text, _ in statements if text.lstrip().upper().startswith("SELECT")]
    event_reads = [text for text in selects if "FROM provisioning_event" in text]
    assert event_reads and all("LIMIT" in text for text in event_reads), event_reads


def test_checklist_observation_does_not_leak_between_organisations(app, client, tenant):
    other = make_tenant(app)
    IdP(client, other, ENTRA, token="wrong").test_connection()
    IdP(client, other, ENTRA).send("POST", "/Groups", {"schemas": [GROUP_URN], "displayName": "Other's"})
    steps = checklist(app, tenant)
    assert steps["test_connection"]["state"] == "PENDING" and steps["group_create_unchecked"]["state"] == "PENDING"


def test_the_read_event_says_what_was_looked_up(app, client, tenant):
    IdP(client, tenant, ENTRA).find_group("Fluid User")
    query = '{ provisioningEvents(first: 5, operation: "groups.list") { edges { node { detail resourceId } } } }'
    history = graphql(app, tenant, query)
    node = history["provisioningEvents"]["edges"][0]["node"]
    assert node == {"detail": 'displayName eq "Fluid User": found', "resourceId": access_group_id(app, tenant)}
    assert request_context.lookup_in(node["detail"]) == ("displayName", "Fluid User", True)


def test_a_looked_up_name_reads_back_whatever_it_holds():
    for name in ('Team "A": found', "Équipe\\B", ""):
        described = request_context.Lookup("Group", "displayName", name, None).describe()
        assert request_context.lookup_in(described) == ("displayName", name, False)
    assert request_context.lookup_in("the bearer [REDACTED] is not valid for this organisation") is None
    assert request_context.lookup_in('displayName eq "[REDACTED]: found') is None
