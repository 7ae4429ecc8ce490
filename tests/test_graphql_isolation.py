"""An admin of one organisation can neither read nor change another: every query and mutation, walked.

Organisation B is populated (a user, a held removal, a mapped group, a token); the admin of A then
runs every field of the schema, aimed at B wherever an argument can aim (B's ids, names, host).
Through B's host every request is refused (403); through A's host nothing of B comes back, and
B is exactly as it was.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from flask import Flask

from fluid_scim.patch import Operation
from fluid_scim.services import access_admin, directory_attributes, organisations, request_context, users, webhooks
from fluid_scim.services.request_context import RequestContext
from graphql_admin.schema import schema
from tests.support.graphql import claims_for, credential, data, execute
from tests.support.tenants import Tenant, make_tenant

ANY = "__typename ... on Failure { message }"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


def populate(app: Flask, tenant: Tenant) -> dict[str, str]:
    """B's own things: a user whose removal the brake holds, a mapped group, events."""
    user_name = f"b-person-{tenant.slug}@example.com"
    group_name = f"B Admins {tenant.slug}"
    with app.app_context(), request_context.acting(RequestContext(kind="scim", actor="test-idp")):
        organisation = organisations.get_organisation(slug=tenant.slug)
        access_admin.set_access_mode(organisation=organisation, mode="all_active")
        access_admin.set_role_mappings(organisation=organisation, groups={group_name: "admin"})
        access_admin.set_attribute_role_mappings(organisation=organisation, rules=[('userType eq "Employee"', "staff")])
        directory_attributes.declare(organisation=organisation, spec=directory_attributes.Spec(f"{CUSTOM}:badge"))
        user = users.create_user(organisation=organisation, body={"userName": user_name, "active": True})
        user_id = user.id
        access_admin.set_brake(organisation=organisation, enabled=True, percent=1, min_removals=0)
        users.patch_user(organisation=organisation, user_id=user_id, if_match=None,
                         operations=[Operation(op="replace", path="active", value=False)])
        held_id = access_admin.held_changes(organisation=organisation)[0].id
        settings = dataclasses.replace(app.extensions["fluid_settings"], webhook_allowed_hosts=("127.0.0.1",))
        endpoint, _ = webhooks.create_endpoint(organisation=organisation, url="http://127.0.0.1:9999/b-hook", event_types=None,
                                               store=app.extensions["fluid_secret_store"], settings=settings)
    return {"slug": tenant.slug, "user_id": user_id, "user_name": user_name, "group_name": group_name, "held_id": held_id,
            "endpoint_id": endpoint.id}


def operations(b: dict[str, str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every field of Query and Mutation, aimed at B where it takes an argument."""
    return {
        "viewer": ("{ viewer { organisation } }", {}),
        "organisation": ("{ organisation { slug name accessGroup { id displayName } roleMappings { groups { groupName } }"
                         " scimToken { fingerprint } } }", {}),
        "provisioningStatus": ("{ provisioningStatus { usersTotal groupsTotal tokenSet } }", {}),
        "users": ("query($s: String) { users(search: $s) { edges { node { id userName } } } }", {"s": b["user_name"]}),
        "user": ("query($id: ID!) { user(id: $id) { id userName accessTrail { edges { node { what } } } } }",
                 {"id": b["user_id"]}),
        "groups": ("query($s: String) { groups(search: $s) { edges { node { id displayName } } } }", {"s": b["group_name"]}),
        "provisioningEvents": ("query($id: String) { a: provisioningEvents(userId: $id) { edges { node { id actor } } }"
                               " b: provisioningEvents(resourceId: $id) { edges { node { id } } } }", {"id": b["user_id"]}),
        "heldDeprovisionings": ("{ heldDeprovisionings { edges { node { id userId userName } } } }", {}),
        "organisations": ("{ organisations { edges { node { slug } } } }", {}),
        "webhookEndpoints": ("{ webhookEndpoints { id url } }", {}),
        "webhookDeliveries": ("query($id: ID) { webhookDeliveries(endpointId: $id) { edges { node { id eventId subjectId } } } }",
                              {"id": b["endpoint_id"]}),
        "provisioningFeed": ("{ provisioningFeed(first: 100) { edges { node { id subjectId data } } } }", {}),
        "createWebhookEndpoint": (f'mutation {{ createWebhookEndpoint(url: "http://127.0.0.1:9999/a") {{ {ANY} }} }}', {}),
        "rotateWebhookSecret": (f"mutation($id: ID!) {{ rotateWebhookSecret(id: $id) {{ {ANY} }} }}", {"id": b["endpoint_id"]}),
        "deleteWebhookEndpoint": (f"mutation($id: ID!) {{ deleteWebhookEndpoint(id: $id) {{ {ANY} }} }}",
                                  {"id": b["endpoint_id"]}),
        "pauseWebhookEndpoint": (f"mutation($id: ID!) {{ pauseWebhookEndpoint(id: $id) {{ {ANY} }} }}", {"id": b["endpoint_id"]}),
        "resumeWebhookEndpoint": (f"mutation($id: ID!) {{ resumeWebhookEndpoint(id: $id) {{ {ANY} }} }}",
                                  {"id": b["endpoint_id"]}),
        "redeliverWebhookDelivery": (f"mutation($id: ID!) {{ redeliverWebhookDelivery(id: $id) {{ {ANY} }} }}",
                                     {"id": f"{b['endpoint_id']}:1"}),
        "redeliverDeadLetters": (f"mutation($id: ID!) {{ redeliverDeadLetters(endpointId: $id) {{ {ANY} }} }}",
                                 {"id": b["endpoint_id"]}),
        "setScimSyncEnabled": (f"mutation {{ setScimSyncEnabled(enabled: false) {{ {ANY} }} }}", {}),
        "generateScimToken": (f"mutation {{ generateScimToken {{ {ANY} ... on GeneratedScimToken {{ fingerprint }} }} }}", {}),
        "setScimToken": (f'mutation {{ setScimToken(token: "Zq7!mK2#vR9$wL4@pX8%nB3^hT6&jY1*") {{ {ANY} }} }}', {}),
        "revealScimToken": (f"mutation {{ revealScimToken {{ {ANY} }} }}", {}),
        "revokeScimToken": (f"mutation {{ revokeScimToken {{ {ANY} }} }}", {}),
        "setAccessGroupName": (f'mutation {{ setAccessGroupName(name: "Renamed by A") {{ {ANY} }} }}', {}),
        "setRoleMappings": (f'mutation {{ setRoleMappings(groups: [{{groupName: "A Only", role: "viewer"}}]) {{ {ANY} }} }}', {}),
        "setAttributeRoleMappings": (
            f'mutation {{ setAttributeRoleMappings(mappings: [{{filter: "title pr", role: "viewer"}}]) {{ {ANY} }} }}', {}
        ),
        "setAccessMode": (f'mutation {{ setAccessMode(mode: ATTRIBUTE, filter: "title pr") {{ {ANY} }} }}', {}),
        "setDeprovisioningBrake": (f"mutation {{ setDeprovisioningBrake(enabled: false) {{ {ANY} }} }}", {}),
        "releaseHeldChanges": (f"mutation($ids: [ID!]) {{ releaseHeldChanges(ids: $ids) {{ {ANY} }} }}", {"ids": [b["held_id"]]}),
        "discardHeldChanges": (f"mutation($ids: [ID!]) {{ discardHeldChanges(ids: $ids) {{ {ANY} }} }}", {"ids": [b["held_id"]]}),
        "importUsers": (f'mutation {{ importUsers(rows: [{{userName: "new-in-a@example.com"}}]) {{ {ANY} }} }}', {}),
        "createOrganisation": (f'mutation {{ createOrganisation(slug: "{b["slug"]}-copy") {{ {ANY} }} }}', {}),
        "removeOrganisation": (f'mutation {{ removeOrganisation(slug: "{b["slug"]}", confirmSlug: "{b["slug"]}") {{ {ANY} }} }}',
                               {}),
        "directoryAttributes": ("{ directoryAttributes { undeclaredPolicy declarations { path } } }", {}),
        "declareAttribute": (f'mutation {{ declareAttribute(input: {{path: "{CUSTOM}:fromA"}}) {{ {ANY} }} }}', {}),
        "changeAttribute": (f'mutation {{ changeAttribute(input: {{path: "{CUSTOM}:badge", type: INTEGER}}) {{ {ANY} }} }}', {}),
        "removeAttribute": (f'mutation {{ removeAttribute(path: "{CUSTOM}:badge", deleteValues: true) {{ {ANY} }} }}', {}),
        "setUndeclaredPolicy": (f"mutation {{ setUndeclaredPolicy(policy: REJECT) {{ {ANY} }} }}", {}),
        "setupChecklist": ("{ setupChecklist { key state observedAt message } }", {}),
        "setupChecklistSince": ("{ setupChecklistSince }", {}),
        "resetSetupChecklist": (f"mutation {{ resetSetupChecklist {{ {ANY} ... on SetupChecklistReset {{ since }} }} }}", {}),
    }


def snapshot(app: Flask, slug: str) -> str:
    """Everything B's own admin can read, as one string."""
    query = """{ organisation { slug name scimSyncEnabled accessMode accessFilter accessGroup { id displayName }
        roleMappings { groups { groupName role } appRoles { appRole role } attributes { filter role } }
        deprovisioningBrake { enabled percent minRemovals windowMinutes } scimToken { isSet fingerprint createdAt } }
      users(first: 100) { edges { node { id userName active hasAccess roles } } }
      groups(first: 100) { edges { node { id displayName } } }
      heldDeprovisionings(first: 100) { edges { node { id status } } }
      provisioningEvents(first: 100) { edges { node { id operation actor } } }
      webhookEndpoints { id url eventTypes enabled pausedAt health { pending deadLetters consecutiveFailures } }
      provisioningFeed(first: 100) { edges { node { id type subjectId } } }
      directoryAttributes { undeclaredPolicy declarations { path type } } }"""
    return json.dumps(data(execute(app, query, claims_for(slug))), sort_keys=True)


@pytest.fixture
def b(app: Flask) -> dict[str, str]:
    return populate(app, make_tenant(app))


def test_the_walk_covers_every_field() -> None:
    graphql_schema = schema._schema
    names = set(graphql_schema.query_type.fields) | set(graphql_schema.mutation_type.fields)  # type: ignore[union-attr]
    assert names == set(operations(dict.fromkeys(("slug", "user_id", "user_name", "group_name", "held_id", "endpoint_id"), "x")))


def test_through_the_other_organisations_host_everything_is_refused(app: Flask, tenant: Tenant, b: dict[str, str],
                                                                   client: Any) -> None:
    before = snapshot(app, b["slug"])
    token = credential(app, tenant.slug)
    for name, (query, variables) in operations(b).items():
        response = client.post("/graphql", json={"query": query, "variables": variables},
                               headers={"Host": f"{b['slug']}.localhost", "Authorization": f"Bearer {token}"})
        assert response.status_code == 403, name
        assert response.get_json()["errors"][0]["extensions"]["code"] == "FORBIDDEN", name
    assert snapshot(app, b["slug"]) == before


def test_aimed_at_the_other_organisation_nothing_of_it_is_read_or_changed(app: Flask, tenant: Tenant,
                                                                         b: dict[str, str]) -> None:
    before = snapshot(app, b["slug"])
    fingerprint = json.loads(before)["organisation"]["scimToken"]["fingerprint"]
    secrets_of_b = (b["slug"], b["user_id"], b["user_name"], b["group_name"], b["held_id"], fingerprint, b["endpoint_id"])
    answers = {}
    for name, (query, variables) in operations(b).items():
        result = execute(app, query, claims_for(tenant.slug), variables)
        answers[name] = result
        text = json.dumps({"data": result.data, "errors": [error.formatted for error in result.errors or ()]})
        leaked = [value for value in secrets_of_b if value in text]
        assert not leaked, (name, leaked)
    assert snapshot(app, b["slug"]) == before
    # What A asked about B simply does not exist from where A stands.
    assert answers["user"].data == {"user": None}
    assert answers["users"].data == {"users": {"edges": []}}
    assert answers["releaseHeldChanges"].data["releaseHeldChanges"]["__typename"] == "NotFound"  # type: ignore[index]
    assert answers["discardHeldChanges"].data["discardHeldChanges"]["__typename"] == "NotFound"  # type: ignore[index]
    assert answers["organisations"].errors and answers["organisations"].errors[0].extensions == {"code": "FORBIDDEN"}
    assert answers["createOrganisation"].data["createOrganisation"]["__typename"] == "NotAllowed"  # type: ignore[index]
    assert answers["removeOrganisation"].data["removeOrganisation"]["__typename"] == "NotAllowed"  # type: ignore[index]
    assert answers["rotateWebhookSecret"].data["rotateWebhookSecret"]["__typename"] == "NotFound"  # type: ignore[index]
    assert answers["deleteWebhookEndpoint"].data["deleteWebhookEndpoint"]["__typename"] == "NotFound"  # type: ignore[index]
    assert answers["webhookDeliveries"].data == {"webhookDeliveries": {"edges": []}}
    for name in ("pauseWebhookEndpoint", "resumeWebhookEndpoint", "redeliverWebhookDelivery", "redeliverDeadLetters"):
        assert answers[name].data[name]["__typename"] == "NotFound", name  # type: ignore[index]
