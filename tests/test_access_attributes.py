"""Access and roles keyed by users' attributes: SCIM filters saved through GraphQL, applied by SCIM writes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask

from fluid_scim.services import access_admin, organisations
from tests.support.graphql import claims_for, data, execute
from tests.support.tenants import ScimClient, Tenant
from tests.support.urns import FLUID_URN, USER_URN

pytestmark = pytest.mark.live

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MAPPINGS = "roleMappings { groups { groupName role } appRoles { appRole role } attributes { filter role } }"
SET_MAPPINGS = f"""mutation($mappings: [AttributeRoleMappingInput!]!) {{
  setAttributeRoleMappings(mappings: $mappings) {{
    __typename ... on Failure {{ message }} ... on RoleMappingsSet {{ accessChanges {MAPPINGS} }} }} }}"""
SET_MODE = """mutation($mode: AccessMode!, $filter: String) {
  setAccessMode(mode: $mode, filter: $filter) {
    __typename ... on Failure { message } ... on AccessModeSet { accessChanges organisation { accessMode accessFilter } } } }"""
ORGANISATION = f"{{ organisation {{ accessMode accessFilter {MAPPINGS} }} }}"


@pytest.fixture
def entra(live_server, tenant) -> ScimClient:
    return ScimClient(live_server.url, tenant, user_agent="Microsoft.Identity.Provisioning")


def _graphql(app: Flask, tenant: Tenant, query: str, **variables: Any) -> dict[str, Any]:
    return data(execute(app, query, claims_for(tenant.slug), variables))


def _set_mappings(app: Flask, tenant: Tenant, *pairs: tuple[str, str]) -> dict[str, Any]:
    mappings = [{"filter": text, "role": role} for text, role in pairs]
    return _graphql(app, tenant, SET_MAPPINGS, mappings=mappings)["setAttributeRoleMappings"]


def _set_mode(app: Flask, tenant: Tenant, mode: str, access_filter: str | None = None) -> dict[str, Any]:
    return _graphql(app, tenant, SET_MODE, mode=mode, filter=access_filter)["setAccessMode"]


def _user(entra: ScimClient, **extra: Any) -> dict[str, Any]:
    name = f"u-{uuid.uuid4().hex[:10]}@contoso.com"
    response = entra.post("/Users", {"schemas": [USER_URN], "userName": name, "active": True, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def _fluid(document: dict[str, Any]) -> tuple[bool, list[str]]:
    fluid = document.get(FLUID_URN, {})
    return fluid.get("accessGranted", False), [role["value"] for role in fluid.get("roles", [])]


def _access(entra: ScimClient, user_id: str) -> tuple[bool, list[str]]:
    return _fluid(entra.get(f"/Users/{user_id}").json())


def test_a_patch_of_department_grants_the_mapped_role_in_the_same_request(app, tenant, entra):
    saved = _set_mappings(
        app,
        tenant,
        ('department eq "Finance"', "finance"),
        (f'{ENTERPRISE_URN}:costCenter sw "CC-7" and title co "lead"', "Lead"),
    )
    assert saved["__typename"] == "RoleMappingsSet" and saved["accessChanges"] == 0
    assert saved["roleMappings"]["attributes"] == [
        {"filter": 'department eq "Finance"', "role": "finance"},
        {"filter": f'{ENTERPRISE_URN}:costCenter sw "CC-7" and title co "lead"', "role": "lead"},
    ]
    assert _set_mode(app, tenant, "ALL_ACTIVE")["__typename"] == "AccessModeSet"
    user = _user(entra)
    assert _access(entra, user["id"]) == (True, [])

    # Entra's PATCH of the enterprise department: the role is granted in the same request.
    patched = entra.patch(
        f"/Users/{user['id']}", [{"op": "Replace", "path": f"{ENTERPRISE_URN}:department", "value": "FINANCE"}]
    )
    assert patched.status_code == 200, patched.text
    assert _fluid(patched.json()) == (True, ["finance"]), "strings compare case-insensitively (not caseExact)"
    assert _access(entra, user["id"]) == (True, ["finance"])

    entra.patch(
        f"/Users/{user['id']}",
        [
            {"op": "Add", "path": "title", "value": "Team Lead"},
            {"op": "Add", "path": f"{ENTERPRISE_URN}:costCenter", "value": "CC-71"},
        ],
    )
    assert _access(entra, user["id"]) == (True, ["finance", "lead"])
    entra.patch(f"/Users/{user['id']}", [{"op": "Replace", "path": f"{ENTERPRISE_URN}:department", "value": "Sales"}])
    assert _access(entra, user["id"]) == (True, ["lead"])
    entra.patch(f"/Users/{user['id']}", [{"op": "Replace", "path": "active", "value": "False"}])
    assert _access(entra, user["id"]) == (False, []), "without access, no roles"

    # Mapped roles are filterable like any other Fluid role.
    entra.patch(f"/Users/{user['id']}", [{"op": "Replace", "path": "active", "value": "True"}])
    found = entra.get("/Users", params={"filter": f'{FLUID_URN}:roles[value eq "lead"]'}).json()
    assert [item["id"] for item in found["Resources"]] == [user["id"]]


def test_saving_mappings_recomputes_everyone_and_unions_with_group_and_app_roles(app, tenant, entra):
    with app.app_context():
        access_admin.set_role_mappings(
            organisation=organisations.get_organisation(slug=tenant.slug), groups={}, app_roles={"Editor": "editor"}
        )
    _set_mode(app, tenant, "ALL_ACTIVE")
    finance = _user(
        entra, roles=[{"value": "Editor"}], **{ENTERPRISE_URN: {"department": "Finance"}}
    )
    other = _user(entra, userType="Contractor")
    assert _access(entra, finance["id"]) == (True, ["editor"])

    saved = _set_mappings(app, tenant, ('department eq "Finance"', "finance"), ('userType eq "Contractor"', "editor"))
    assert saved["accessChanges"] == 2
    assert _access(entra, finance["id"]) == (True, ["editor", "finance"])
    assert _access(entra, other["id"]) == (True, ["editor"])
    assert _set_mappings(app, tenant)["accessChanges"] == 2, "an empty list removes the attribute roles"
    assert _access(entra, finance["id"]) == (True, ["editor"])
    group_and_app = _graphql(app, tenant, ORGANISATION)["organisation"]["roleMappings"]
    assert group_and_app["appRoles"] == [{"appRole": "editor", "role": "editor"}] and group_and_app["attributes"] == []


def test_attribute_access_mode_grants_by_user_type_from_creation_on(app, tenant, entra):
    contractor = _user(entra, userType="Contractor")
    employee = _user(entra, userType="Employee")
    switched = _set_mode(app, tenant, "ATTRIBUTE", 'userType eq "Employee"')
    assert switched["organisation"] == {"accessMode": "attribute", "accessFilter": 'userType eq "Employee"'}
    assert switched["accessChanges"] == 1
    assert _access(entra, employee["id"]) == (True, [])
    assert _access(entra, contractor["id"]) == (False, [])

    created = _user(entra, userType="employee")
    assert _access(entra, created["id"]) == (True, []), "granted at creation"
    entra.patch(f"/Users/{contractor['id']}", [{"op": "Replace", "path": "userType", "value": "Employee"}])
    assert _access(entra, contractor["id"]) == (True, [])
    entra.patch(f"/Users/{employee['id']}", [{"op": "Replace", "path": "active", "value": False}])
    assert _access(entra, employee["id"]) == (False, []), "active false still suspends"
    entra.patch(f"/Users/{created['id']}", [{"op": "Remove", "path": "userType"}])
    assert _access(entra, created["id"]) == (False, [])

    back = _set_mode(app, tenant, "GROUP")
    assert back["organisation"] == {"accessMode": "group", "accessFilter": None}
    assert _access(entra, contractor["id"]) == (False, []), "not in the access group"


def test_a_filter_removing_access_from_many_users_is_held_by_the_brake(app, tenant, entra):
    ids = [_user(entra, userType="Employee")["id"] for _ in range(30)]
    assert _set_mode(app, tenant, "ATTRIBUTE", 'userType eq "Employee"')["accessChanges"] == 30
    with app.app_context():
        access_admin.set_brake(
            organisation=organisations.get_organisation(slug=tenant.slug),
            enabled=True,
            percent=20,
            min_removals=5,
            window_minutes=60,
        )
    # A mistyped value would take everyone's access away: 20% of 30 is removed, the rest is held.
    assert _set_mode(app, tenant, "ATTRIBUTE", 'userType eq "Employees"')["accessChanges"] == 30
    granted = [_access(entra, user_id)[0] for user_id in ids]
    assert granted.count(False) == 6 and granted.count(True) == 24
    with app.app_context():
        held = access_admin.held_changes(organisation=organisations.get_organisation(slug=tenant.slug))
    assert len(held) == 24 and all(change.reason.startswith("revoked: organisation.access_mode") for change in held)

    # Held users keep access and the roles they had until an admin decides; fixing the filter keeps them.
    _set_mappings(app, tenant, ("userType pr", "staff"))
    assert _access(entra, held[0].user_id) == (True, [])
    assert _set_mode(app, tenant, "ATTRIBUTE", 'userType eq "Employee"')["accessChanges"] == 30
    assert all(_access(entra, user_id) == (True, ["staff"]) for user_id in ids)


def test_a_bad_filter_is_refused_with_a_clear_message_and_changes_nothing(app, tenant, entra):
    _set_mappings(app, tenant, ('department eq "Finance"', "finance"))
    before = _graphql(app, tenant, ORGANISATION)["organisation"]
    cases = [
        (('departmnt eq "Finance"', "finance"), "User has no attribute 'departmnt'"),
        (('active eq "yes"', "finance"), "cannot compare the boolean attribute 'active' with \"yes\""),
        (('userType eq', "finance"), "expected a value after 'eq'"),
        ((f'{FLUID_URN}:roles[value eq "admin"]', "admin"), "a rule cannot test them"),
        (('groups[display eq "Finance"]', "finance"), "group role mappings"),
        (('title pr', "Not A Role!"), "is not a Fluid role name"),
    ]
    for pair, message in cases:
        refused = _set_mappings(app, tenant, ('title pr', "staff"), pair)
        assert refused["__typename"] == "InvalidInput", pair
        assert message in refused["message"], refused["message"]
    assert "attribute role mapping 2: the filter 'departmnt eq \"Finance\"' cannot be used" in _set_mappings(
        app, tenant, ('title pr', "staff"), ('departmnt eq "Finance"', "finance")
    )["message"]

    for mode, access_filter, message in [
        ("ATTRIBUTE", None, "needs a filter"),
        ("ATTRIBUTE", 'employeeNumber gt 5', "cannot compare the string attribute"),
        ("GROUP", 'userType eq "Employee"', "applies only to the attribute access mode"),
    ]:
        refused = _set_mode(app, tenant, mode, access_filter)
        assert refused["__typename"] == "InvalidInput" and message in refused["message"], refused
    assert _graphql(app, tenant, ORGANISATION)["organisation"] == before


def test_the_cli_sets_the_attribute_mode_and_rules(app, runner, tenant):
    set_rules = runner.invoke(
        args=["org", "attribute-roles", tenant.slug, "--rule", 'department eq "Finance"=finance', "--rule", "title pr=staff"]
    )
    assert set_rules.exit_code == 0, set_rules.output
    mode = runner.invoke(args=["org", "access", tenant.slug, "--mode", "attribute", "--filter", 'userType eq "Employee"'])
    assert mode.exit_code == 0, mode.output
    assert "access mode: attribute (userType eq \"Employee\")" in mode.stdout
    assert "role: attribute filter department eq \"Finance\" -> finance" in mode.stdout
    assert "role: attribute filter title pr -> staff" in mode.stdout
    bad = runner.invoke(args=["org", "attribute-roles", tenant.slug, "--rule", "nikname pr=staff"])
    assert bad.exit_code == 1 and "has no attribute 'nikname'" in bad.output
    assert "title pr -> staff" in runner.invoke(args=["org", "access", tenant.slug]).stdout


def test_a_stored_filter_that_no_longer_fits_grants_nothing_and_changes_no_access(app, tenant, entra):
    """As when a custom attribute a filter names is removed: SCIM writes go on, nobody is locked out."""
    from fluid_scim.extensions import db
    from fluid_scim.repositories import access as access_repo

    _set_mappings(app, tenant, ('userType eq "Employee"', "staff"))
    _set_mode(app, tenant, "ATTRIBUTE", 'userType eq "Employee"')
    user = _user(entra, userType="Employee")
    assert _access(entra, user["id"]) == (True, ["staff"])
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        access_repo.replace_attribute_role_mappings(organisation.id, [('gone eq "x"', "staff")])
        organisation.access_filter = 'urn:example:gone:2.0:User:gone eq "x"'
        db.session.commit()
    patched = entra.patch(f"/Users/{user['id']}", [{"op": "Replace", "path": "userType", "value": "Contractor"}])
    assert patched.status_code == 200, patched.text
    assert _fluid(patched.json()) == (True, []), "access kept, the unfit mapping grants nothing"
    entra.patch(f"/Users/{user['id']}", [{"op": "Replace", "path": "active", "value": False}])
    assert _access(entra, user["id"]) == (False, []), "active false still suspends"
