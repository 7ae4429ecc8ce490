"""Resolvers through ``schema.execute_sync``: queries, mutations, typed failures, the audit trail."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from flask import Flask

from fluid_scim.patch import Operation
from fluid_scim.services import access_admin, organisations, request_context, users
from fluid_scim.services.request_context import RequestContext
from tests.support.graphql import claims_for, data, execute
from tests.support.tenants import Tenant

ORGANISATION = """{ organisation { slug name tenantUrl scimSyncEnabled accessMode
  accessGroup { id displayName } roleMappings { groups { groupName role } appRoles { appRole role } }
  deprovisioningBrake { enabled percent minRemovals windowMinutes }
  scimToken { isSet fingerprint source createdAt lastUsedAt } } }"""
FAILURE = "__typename ... on Failure { message }"


def mutate(app: Flask, tenant: Tenant, field: str, selection: str = "", variables: dict[str, Any] | None = None) -> Any:
    query = f"mutation {{ {field} {{ {FAILURE} {selection} }} }}"
    return data(execute(app, query, claims_for(tenant.slug), variables))[field.split("(")[0]]


def latest_event(app: Flask, tenant: Tenant) -> dict[str, Any]:
    result = execute(app, "{ provisioningEvents(first: 1) { edges { node { operation actor kind status detail } } } }",
                     claims_for(tenant.slug))
    return data(result)["provisioningEvents"]["edges"][0]["node"]


def add_users(app: Flask, tenant: Tenant, *people: tuple[str, str, bool]) -> list[str]:
    """Users as an IdP would create them: (userName, e-mail, active)."""
    ids = []
    with app.app_context(), request_context.acting(RequestContext(kind="scim", actor="test-idp")):
        organisation = organisations.get_organisation(slug=tenant.slug)
        for user_name, email, active in people:
            body = {"userName": user_name, "active": active, "emails": [{"value": email, "primary": True}]}
            ids.append(users.create_user(organisation=organisation, body=body).id)
    return ids


def test_organisation_shows_settings_and_token_metadata(app: Flask, tenant: Tenant) -> None:
    organisation = data(execute(app, ORGANISATION, claims_for(tenant.slug)))["organisation"]
    assert organisation["slug"] == tenant.slug
    assert organisation["tenantUrl"] == f"http://{tenant.slug}.localhost/scim/v2"
    assert organisation["scimSyncEnabled"] is True
    assert organisation["accessGroup"]["displayName"] == "Fluid User"
    assert organisation["scimToken"]["isSet"] is True and organisation["scimToken"]["source"] == "GENERATED"
    assert len(organisation["scimToken"]["fingerprint"]) == 8
    assert tenant.token not in json.dumps(organisation)


def test_provisioning_status(app: Flask, tenant: Tenant) -> None:
    add_users(app, tenant, ("ada", "ada@example.com", True))
    status = data(execute(app, "{ provisioningStatus { verdict usersTotal usersActive tokenSet lastHour { requests } } }",
                          claims_for(tenant.slug)))["provisioningStatus"]
    assert status == {"verdict": "IDLE", "usersTotal": 1, "usersActive": 1, "tokenSet": True, "lastHour": {"requests": 0}}


def test_users_filters_pagination_and_trail(app: Flask, tenant: Tenant) -> None:
    with app.app_context():
        access_admin.set_access_mode(organisation=organisations.get_organisation(slug=tenant.slug), mode="all_active")
    ids = add_users(
        app, tenant, ("ada", "ada@lovelace.org", True), ("alan", "alan@turing.org", True), ("grace", "grace@navy.mil", False)
    )
    query = """query($first: Int, $after: String, $search: String, $hasAccess: Boolean, $active: Boolean) {
      users(first: $first, after: $after, search: $search, hasAccess: $hasAccess, active: $active) {
        edges { cursor node { userName email active hasAccess roles } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""

    def names(**variables: Any) -> list[str]:
        page = data(execute(app, query, claims_for(tenant.slug), variables))["users"]
        return [edge["node"]["userName"] for edge in page["edges"]]

    assert names() == ["ada", "alan", "grace"]
    assert names(search="TURING") == ["alan"]
    assert names(hasAccess=True) == ["ada", "alan"]
    assert names(active=False) == ["grace"]
    assert names(active=True, search="a") == ["ada", "alan"]
    first = data(execute(app, query, claims_for(tenant.slug), {"first": 2}))["users"]
    assert first["pageInfo"]["hasNextPage"] is True and first["pageInfo"]["hasPreviousPage"] is False
    rest = data(execute(app, query, claims_for(tenant.slug), {"first": 2, "after": first["pageInfo"]["endCursor"]}))["users"]
    assert [edge["node"]["userName"] for edge in rest["edges"]] == ["grace"]
    assert rest["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True, "endCursor": rest["edges"][0]["cursor"]}

    user = data(execute(app, "query($id: ID!) { user(id: $id) { userName accessTrail { edges { node { source what } } } } }",
                        claims_for(tenant.slug), {"id": ids[0]}))["user"]
    trail = [(edge["node"]["source"], edge["node"]["what"]) for edge in user["accessTrail"]["edges"]]
    assert ("provisioning", "user.created") in trail and ("access", "granted") in trail
    missing = execute(app, 'query { user(id: "no-such-user") { id } }', claims_for(tenant.slug))
    assert data(missing) == {"user": None}


def test_groups_search(app: Flask, tenant: Tenant) -> None:
    mutate(app, tenant, 'setRoleMappings(groups: [{groupName: "Fluid Admins", role: "admin"}])')
    query = 'query($s: String) { groups(search: $s) { edges { node { displayName isAccessGroup } } } }'
    all_groups = data(execute(app, query, claims_for(tenant.slug)))["groups"]["edges"]
    assert [edge["node"] for edge in all_groups] == [
        {"displayName": "Fluid Admins", "isAccessGroup": False},
        {"displayName": "Fluid User", "isAccessGroup": True},
    ]
    found = data(execute(app, query, claims_for(tenant.slug), {"s": "admin"}))["groups"]["edges"]
    assert [edge["node"]["displayName"] for edge in found] == ["Fluid Admins"]


def test_provisioning_events_filters_and_cursors(app: Flask, tenant: Tenant) -> None:
    for enabled in (False, True, False):
        mutate(app, tenant, f"setScimSyncEnabled(enabled: {json.dumps(enabled)})")
    query = """query($after: String, $operation: String, $kind: EventKind) {
      provisioningEvents(first: 2, after: $after, operation: $operation, kind: $kind) {
        edges { cursor node { operation actor kind } } pageInfo { hasNextPage endCursor } } }"""
    first = data(execute(app, query, claims_for(tenant.slug), {"operation": "sync."}))["provisioningEvents"]
    assert [edge["node"]["operation"] for edge in first["edges"]] == ["sync.disabled", "sync.enabled"]
    assert first["pageInfo"]["hasNextPage"] is True
    second = data(execute(app, query, claims_for(tenant.slug), {"operation": "sync.", "after": first["pageInfo"]["endCursor"]}))
    assert [edge["node"]["operation"] for edge in second["provisioningEvents"]["edges"]] == ["sync.disabled"]
    assert second["provisioningEvents"]["pageInfo"]["hasNextPage"] is False
    admin_only = data(execute(app, query, claims_for(tenant.slug), {"kind": "ADMIN"}))["provisioningEvents"]["edges"]
    assert {edge["node"]["actor"] for edge in admin_only} == {"admin:ada@example.com"}
    bad = execute(app, query, claims_for(tenant.slug), {"after": "not-a-cursor"})
    assert bad.errors and bad.errors[0].extensions == {"code": "BAD_USER_INPUT"}


def test_every_mutation_is_audited_with_the_acting_admin(app: Flask, tenant: Tenant) -> None:
    changes = [
        ("setScimSyncEnabled(enabled: false)", "sync.disabled"),
        ("generateScimToken", "token.generated"),
        ('setScimToken(token: "Zq7!mK2#vR9$wL4@pX8%nB3^hT6&jY1*")', "token.entered"),
        ('setAccessGroupName(name: "Fluid Members")', "access.group_renamed"),
        ('setRoleMappings(groups: [{groupName: "Admins", role: "admin"}], appRoles: [{appRole: "Editor", role: "editor"}])',
         "access.role_mappings_changed"),
        ('setAttributeRoleMappings(mappings: [{filter: "userType eq \\"Employee\\"", role: "staff"}])',
         "access.attribute_role_mappings_changed"),
        ('setAccessMode(mode: ATTRIBUTE, filter: "title pr")', "access.mode_changed"),
        ("setDeprovisioningBrake(enabled: true, percent: 10)", "brake.settings_changed"),
        ('importUsers(rows: [{userName: "lin@example.com", email: "lin@example.com"}])', "users.imported"),
        ("revealScimToken", "token.revealed"),
        ("revokeScimToken", "token.revoked"),
    ]
    for field, operation in changes:
        mutate(app, tenant, field)
        event = latest_event(app, tenant)
        assert (event["operation"], event["actor"], event["kind"]) == (operation, "admin:ada@example.com", "ADMIN"), field


def test_token_mutations_typed_results(app: Flask, tenant: Tenant, client: Any, vault: Any) -> None:
    weak = mutate(app, tenant, 'setScimToken(token: "password-password-password-12345")', "... on WeakToken { rule }")
    assert weak == {"__typename": "WeakToken", "message": "the token contains the common word 'password'", "rule": "common_word"}
    strong = mutate(app, tenant, 'setScimToken(token: "Zq7!mK2#vR9$wL4@pX8%nB3^hT6&jY1*")',
                    "... on ScimTokenSet { scimToken { isSet source fingerprint } }")
    assert strong["scimToken"]["source"] == "ENTERED"
    scim = {"Host": f"{tenant.slug}.localhost", "Authorization": "Bearer Zq7!mK2#vR9$wL4@pX8%nB3^hT6&jY1*"}
    assert client.get("/scim/v2/Users", headers=scim).status_code == 200

    refused = mutate(app, tenant, "revealScimToken", "... on RevealedScimToken { token }")
    assert refused["__typename"] == "NotAllowed"
    assert latest_event(app, tenant)["status"] == 403  # a refused reveal is audited too

    with app.app_context():
        location = app.extensions["fluid_secret_store"].describe_location(organisations.get_organisation(slug=tenant.slug).id)
    revoked = mutate(app, tenant, "revokeScimToken", "... on ScimTokenRevoked { fingerprint }")
    assert revoked["fingerprint"] == strong["scimToken"]["fingerprint"]
    assert client.get("/scim/v2/Users", headers=scim).status_code == 401
    with pytest.raises(requests.HTTPError):
        vault.read_kv(location.split("/data/", 1)[1])  # every version destroyed
    assert mutate(app, tenant, "revokeScimToken")["__typename"] == "NotFound"
    assert data(execute(app, ORGANISATION, claims_for(tenant.slug)))["organisation"]["scimToken"]["isSet"] is False


def test_reveal_when_configured(app_factory: Any, app: Flask, tenant: Tenant) -> None:
    revealing = app_factory(admin_allow_token_reveal=True)
    revealed = data(execute(revealing, "mutation { revealScimToken { ... on RevealedScimToken { token fingerprint } } }",
                            claims_for(tenant.slug)))["revealScimToken"]
    assert revealed["token"] == tenant.token
    event = latest_event(app, tenant)
    assert (event["operation"], event["status"], event["actor"]) == ("token.revealed", 200, "admin:ada@example.com")


def test_access_settings_failures(app: Flask, tenant: Tenant) -> None:
    mutate(app, tenant, 'setRoleMappings(groups: [{groupName: "Admins", role: "admin"}])')
    assert mutate(app, tenant, 'setAccessGroupName(name: "admins")')["__typename"] == "Conflict"
    assert mutate(app, tenant, 'setAccessGroupName(name: "  ")')["__typename"] == "InvalidInput"
    bad_role = mutate(app, tenant, 'setRoleMappings(groups: [{groupName: "X", role: "no spaces allowed"}])')
    assert bad_role["__typename"] == "InvalidInput" and "not a Fluid role name" in bad_role["message"]
    assert mutate(app, tenant, "setDeprovisioningBrake(enabled: true, percent: 0)")["__typename"] == "InvalidInput"
    brake = mutate(app, tenant, "setDeprovisioningBrake(enabled: true, minRemovals: 3)",
                   "... on DeprovisioningBrake { enabled percent minRemovals windowMinutes }")
    assert brake == {"__typename": "DeprovisioningBrake", "enabled": True, "percent": 20, "minRemovals": 3, "windowMinutes": 60}
    mappings = data(execute(app, ORGANISATION, claims_for(tenant.slug)))["organisation"]["roleMappings"]
    assert mappings == {"groups": [{"groupName": "Admins", "role": "admin"}], "appRoles": []}


def test_held_deprovisionings_release_and_discard(app: Flask, tenant: Tenant) -> None:
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        access_admin.set_access_mode(organisation=organisation, mode="all_active")
    ids = add_users(app, tenant, ("a1", "a1@example.com", True), ("a2", "a2@example.com", True), ("a3", "a3@example.com", True))
    mutate(app, tenant, "setDeprovisioningBrake(enabled: true, percent: 1, minRemovals: 0)")
    with app.app_context(), request_context.acting(RequestContext(kind="scim", actor="test-idp")):
        organisation = organisations.get_organisation(slug=tenant.slug)
        for user_id in ids[:2]:
            operation = Operation(op="replace", path="active", value=False)
            users.patch_user(organisation=organisation, user_id=user_id, operations=[operation], if_match=None)
    query = "{ heldDeprovisionings { edges { node { id userId userName status } } } }"
    held = [edge["node"] for edge in data(execute(app, query, claims_for(tenant.slug)))["heldDeprovisionings"]["edges"]]
    assert [item["userName"] for item in held] == ["a1", "a2"]
    assert mutate(app, tenant, 'releaseHeldChanges(ids: ["nope"])')["__typename"] == "NotFound"
    released = mutate(app, tenant, "releaseHeldChanges(ids: $ids)".replace("$ids", json.dumps([held[0]["id"]])),
                      "... on HeldChangesReleased { released accessChanges }")
    assert released == {"__typename": "HeldChangesReleased", "released": 1, "accessChanges": 1}
    assert mutate(app, tenant, "discardHeldChanges", "... on HeldChangesDiscarded { discarded }")["discarded"] == 1
    assert data(execute(app, query, claims_for(tenant.slug)))["heldDeprovisionings"]["edges"] == []
    decided = data(execute(app, "{ heldDeprovisionings(status: RELEASED) { edges { node { decidedBy } } } }",
                           claims_for(tenant.slug)))["heldDeprovisionings"]["edges"]
    assert decided == [{"node": {"decidedBy": "admin:ada@example.com"}}]


def test_import_users(app: Flask, tenant: Tenant) -> None:
    rows = [
        {"userName": "lin@example.com", "email": "lin@example.com", "roles": ["editor"]},
        {"userName": "", "email": "x@example.com"},
    ]
    field = "importUsers(rows: $rows)"
    query = f"mutation($rows: [ImportUserInput!]!) {{ {field} {{ {FAILURE} ... on ImportReport {{ created skipped refused"
    query += " rows { index userName outcome reason } } } }"
    report = data(execute(app, query, claims_for(tenant.slug), {"rows": rows}))["importUsers"]
    assert (report["created"], report["skipped"], report["refused"]) == (1, 0, 1)
    assert report["rows"][1] == {"index": 1, "userName": "", "outcome": "refused", "reason": "'userName' is required"}
    again = data(execute(app, query, claims_for(tenant.slug), {"rows": rows[:1]}))["importUsers"]
    assert again["skipped"] == 1
    too_many = data(execute(app, query, claims_for(tenant.slug), {"rows": [{"userName": f"u{i}"} for i in range(1001)]}))
    assert too_many["importUsers"]["__typename"] == "InvalidInput"


def test_platform_operators_create_and_list_organisations(app: Flask, tenant: Tenant) -> None:
    operator = claims_for(tenant.slug, operator=True, roles=())
    create = f'mutation {{ createOrganisation(slug: "globex", name: "Globex") {{ {FAILURE} ... on OrganisationCreated'
    create += " { organisation { slug name tenantUrl scimSyncEnabled } } } }"
    created = data(execute(app, create, operator))["createOrganisation"]
    assert created["organisation"] == {"slug": "globex", "name": "Globex", "tenantUrl": "http://globex.localhost/scim/v2",
                                       "scimSyncEnabled": True}
    assert data(execute(app, create, operator))["createOrganisation"]["__typename"] == "Conflict"
    invalid = data(execute(app, create.replace("globex", "Not A Slug"), operator))["createOrganisation"]
    assert invalid["__typename"] == "InvalidInput"
    listing = data(execute(app, "{ organisations(first: 1) { edges { node { slug } } pageInfo { hasNextPage endCursor } } }",
                           operator))["organisations"]
    assert listing["edges"] == [{"node": {"slug": "globex"}}] and listing["pageInfo"]["hasNextPage"] is True
    # An admin who is no operator may do neither; an operator who is no admin may not act on an organisation.
    assert data(execute(app, create, claims_for(tenant.slug)))["createOrganisation"]["__typename"] == "NotAllowed"
    refused = execute(app, "{ organisations { edges { node { slug } } } }", claims_for(tenant.slug))
    assert refused.errors and refused.errors[0].extensions == {"code": "FORBIDDEN"}
    assert data(execute(app, "mutation { generateScimToken { __typename } }", operator))["generateScimToken"] == {
        "__typename": "NotAllowed"
    }


def test_credential_without_the_admin_role(app: Flask, tenant: Tenant) -> None:
    viewer_only = claims_for(tenant.slug, roles=("viewer",))
    assert data(execute(app, "{ viewer { organisation isAdmin roles } }", viewer_only))["viewer"] == {
        "organisation": tenant.slug, "isAdmin": False, "roles": ["viewer"]
    }
    refused = execute(app, "{ organisation { slug } }", viewer_only)
    assert refused.data is None and refused.errors
    assert refused.errors[0].message == "only a Fluid admin of this organisation may do this"
    result = data(execute(app, "mutation { setScimSyncEnabled(enabled: false) { __typename } }", viewer_only))
    assert result == {"setScimSyncEnabled": {"__typename": "NotAllowed"}}
    gone = claims_for("no-such-organisation")
    result = data(execute(app, "mutation { generateScimToken { __typename } }", gone))
    assert result == {"generateScimToken": {"__typename": "NotAllowed"}}
