"""fluid_scim.patch: RFC 7644 §3.5.2 PATCH plus every PATCH shape Microsoft Entra ID and Okta document.

Sources: Microsoft Learn "Tutorial: Develop and plan provisioning for a SCIM endpoint" ("the tutorial"),
https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups ;
"Known issues and resolutions with SCIM 2.0 protocol compliance" ("the known-issues page"; its aadOptscim062020
flag: "both columns" below are the requests without and with it),
https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility ;
"Customize user provisioning attribute-mappings" ("the attribute-mappings page"),
https://learn.microsoft.com/en-us/entra/identity/app-provisioning/customize-application-attributes ;
Okta "SCIM 2.0 protocol reference", https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/ .
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluid_scim.errors import (
    DomainError,
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
)
from fluid_scim.messages import parse_patch_operations
from fluid_scim.patch import MemberDelta, MemberRef, Operation, apply_patch
from fluid_scim.schema import GROUP_RESOURCE, USER_RESOURCE
from fluid_scim.schema.coerce import coerce_resource
from tests.support.urns import ENTERPRISE_URN, PATCH_OP_URN

EXT = ENTERPRISE_URN
USER_ID = "6764549bef60420686bc"
GROUP_ID = "40734ae655284ad3abcc"
NO_MEMBERS = MemberDelta()

# The user of the tutorial's "Create User" request, with a second (home) email so that "other email types must be untouched".
ENTRA_USER: dict[str, Any] = {
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa",
    "active": True,
    "emails": [
        {"primary": True, "type": "work", "value": "Test_User_11bb11bb@testuser.com"},
        {"type": "home", "value": "home@example.com"},
    ],
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
}
MANAGED_USER: dict[str, Any] = {"userName": "bob", EXT: {"employeeNumber": "7", "manager": {"value": "2c2f6fb8"}}}
BARE_USER: dict[str, Any] = {"userName": "validator@contoso.com"}
ENTRA_GROUP: dict[str, Any] = {"externalId": "8aa1a0c0", "displayName": "displayName"}


def patch(resource_type, document, operations, *, resource_id=USER_ID):
    """Replay a PatchOp body through the message schema and the engine."""
    quirks: set[str] = set()
    parsed = parse_patch_operations({"schemas": [PATCH_OP_URN], "Operations": operations}, quirks=quirks)
    result = apply_patch(resource_type, document, parsed, resource_id=resource_id, quirks=quirks)
    return result, quirks


def with_(document: dict[str, Any], **changes: Any) -> dict[str, Any]:
    updated = copy.deepcopy(document)
    for key, value in changes.items():
        key = key.replace("__", ":")
        if value is None:
            updated.pop(key, None)
        else:
            updated[key] = value
    return updated


# -- replayed client requests -----------------------------------------------------------------------

CASES = [
    # The tutorial, "User operations": the multi-valued update, without the flag.
    pytest.param(
        USER_RESOURCE, ENTRA_USER,
        [{"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
         {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}],
        with_(ENTRA_USER,
              emails=[{"primary": True, "type": "work", "value": "updatedEmail@microsoft.com"},
                      {"type": "home", "value": "home@example.com"}],
              name={"formatted": "givenName familyName", "familyName": "updatedFamilyName", "givenName": "givenName"}),
        NO_MEMBERS, {"op-case"}, ("name.familyName", "emails"),
        id="entra-update-multi-valued",
    ),
    pytest.param(
        USER_RESOURCE, ENTRA_USER,
        [{"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}],
        with_(ENTRA_USER, userName="5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"),
        NO_MEMBERS, {"op-case"}, ("userName",),
        id="entra-update-single-valued",
    ),
    # The tutorial, "User operations": disable user; both columns (known-issues page), and re-enable.
    pytest.param(
        USER_RESOURCE, ENTRA_USER, [{"op": "Replace", "path": "active", "value": "False"}],
        with_(ENTRA_USER, active=False), NO_MEMBERS, {"op-case", "string-boolean"}, ("active",),
        id="entra-disable-without-flag",
    ),
    pytest.param(
        USER_RESOURCE, ENTRA_USER, [{"op": "replace", "path": "active", "value": False}],
        with_(ENTRA_USER, active=False), NO_MEMBERS, set(), ("active",),
        id="entra-disable-with-flag",
    ),
    pytest.param(
        USER_RESOURCE, with_(ENTRA_USER, active=False), [{"op": "Replace", "path": "active", "value": "True"}],
        ENTRA_USER, NO_MEMBERS, {"op-case", "string-boolean"}, ("active",),
        id="entra-re-enable",
    ),
    # Known-issues page: adding a single-valued string attribute, both columns.
    pytest.param(
        USER_RESOURCE, ENTRA_USER, [{"op": "Add", "path": "nickName", "value": "Babs"}],
        with_(ENTRA_USER, nickName="Babs"), NO_MEMBERS, {"op-case"}, ("nickName",),
        id="entra-add-string-without-flag",
    ),
    pytest.param(
        USER_RESOURCE, ENTRA_USER, [{"op": "add", "path": "nickName", "value": "Babs"}],
        with_(ENTRA_USER, nickName="Babs"), NO_MEMBERS, set(), ("nickName",),
        id="entra-add-string-with-flag",
    ),
    # The enterprise manager (RFC 7643 §4.3): set (the string Entra sends, the RFC object, a one-element list) and removed.
    pytest.param(
        USER_RESOURCE, BARE_USER, [{"op": "add", "path": f"{EXT}:manager", "value": "2c2f6fb8"}],
        with_(BARE_USER, **{f"{EXT}": {"manager": {"value": "2c2f6fb8"}}}), NO_MEMBERS, {"manager-string"},
        (f"{EXT}:manager.value",),
        id="entra-manager-string",
    ),
    pytest.param(
        USER_RESOURCE, MANAGED_USER,
        [{"op": "replace", "path": f"{EXT}:manager", "value": {"value": "99", "$ref": "../Users/99"}}],
        with_(MANAGED_USER, **{EXT: {"employeeNumber": "7", "manager": {"value": "99"}}}), NO_MEMBERS, set(),
        (f"{EXT}:manager.value",),
        id="rfc-manager-object",
    ),
    pytest.param(
        USER_RESOURCE, BARE_USER, [{"op": "replace", "path": f"{EXT}:manager.value", "value": "2c2f6fb8"}],
        with_(BARE_USER, **{EXT: {"manager": {"value": "2c2f6fb8"}}}), NO_MEMBERS, set(), (f"{EXT}:manager.value",),
        id="entra-manager-value-path",
    ),
    pytest.param(
        USER_RESOURCE, BARE_USER,
        [{"op": "Add", "path": "manager", "value": [{"$ref": "http://example.com/Users/2c2f6fb8", "value": "2c2f6fb8"}]}],
        with_(BARE_USER, **{EXT: {"manager": {"value": "2c2f6fb8"}}}), NO_MEMBERS, {"op-case", "manager-unqualified"},
        (f"{EXT}:manager.value",),
        id="entra-manager-old-narrative",
    ),
    pytest.param(
        USER_RESOURCE, MANAGED_USER, [{"op": "Remove", "path": f"{EXT}:manager"}],
        with_(MANAGED_USER, **{EXT: {"employeeNumber": "7"}}), NO_MEMBERS, {"op-case"}, (f"{EXT}:manager.value",),
        id="entra-remove-manager-rfc",
    ),
    pytest.param(
        USER_RESOURCE, MANAGED_USER, [{"op": "Remove", "path": "manager", "value": "2c2f6fb8"}],
        with_(MANAGED_USER, **{EXT: {"employeeNumber": "7"}}), NO_MEMBERS, {"op-case", "manager-unqualified"},
        (f"{EXT}:manager.value",),
        id="entra-remove-manager-refcode-value",
    ),
    pytest.param(
        USER_RESOURCE, MANAGED_USER, [{"op": "Remove", "path": "manager"}],
        with_(MANAGED_USER, **{EXT: {"employeeNumber": "7"}}), NO_MEMBERS, {"op-case", "manager-unqualified"},
        (f"{EXT}:manager.value",),
        id="entra-remove-manager-refcode-no-value",
    ),
    pytest.param(
        USER_RESOURCE, MANAGED_USER, [{"op": "Remove", "path": "manager", "value": "someone-else"}],
        MANAGED_USER, NO_MEMBERS, {"op-case", "manager-unqualified"}, (),
        id="entra-remove-manager-other-value-is-no-op",
    ),
    pytest.param(
        USER_RESOURCE, MANAGED_USER, [{"op": "remove", "path": 'manager[value eq "2c2f6fb8"]'}],
        with_(MANAGED_USER, **{EXT: {"employeeNumber": "7"}}), NO_MEMBERS, {"manager-unqualified"},
        (f"{EXT}:manager.value",),
        id="entra-remove-manager-filter",
    ),
    pytest.param(
        USER_RESOURCE, MANAGED_USER, [{"op": "remove", "path": f'{EXT}:manager[value eq "other"]'}],
        MANAGED_USER, NO_MEMBERS, set(), (),
        id="remove-manager-filter-no-match",
    ),
    # The tutorial, "Group operations".
    pytest.param(
        GROUP_RESOURCE, ENTRA_GROUP, [{"op": "Replace", "path": "displayName", "value": "1879db59-updatedDisplayName"}],
        with_(ENTRA_GROUP, displayName="1879db59-updatedDisplayName"), NO_MEMBERS, {"op-case"}, ("displayName",),
        id="entra-group-rename",
    ),
    pytest.param(
        GROUP_RESOURCE, ENTRA_GROUP,
        [{"op": "Add", "path": "members", "value": [{"$ref": None, "value": "f648f8d5ea4e4cd38e9c"}]}],
        ENTRA_GROUP, MemberDelta(add=(MemberRef("f648f8d5ea4e4cd38e9c"),)), {"op-case"}, ("members",),
        id="entra-add-members",
    ),
    pytest.param(
        GROUP_RESOURCE, ENTRA_GROUP,
        [{"op": "Remove", "path": "members", "value": [{"$ref": None, "value": "f648f8d5ea4e4cd38e9c"}]}],
        ENTRA_GROUP, MemberDelta(remove=frozenset({"f648f8d5ea4e4cd38e9c"})), {"op-case", "remove-by-value"}, ("members",),
        id="entra-remove-members-without-flag",
    ),
    pytest.param(
        GROUP_RESOURCE, ENTRA_GROUP, [{"op": "remove", "path": 'members[value eq "7f4bc1a3-285e-48ae-8202-5accb43efb0e"]'}],
        ENTRA_GROUP, MemberDelta(remove=frozenset({"7f4bc1a3-285e-48ae-8202-5accb43efb0e"})), set(), ("members",),
        id="entra-remove-members-with-flag",
    ),
    pytest.param(
        GROUP_RESOURCE, ENTRA_GROUP, [{"op": "Remove", "path": "members", "value": [{"value": "u1091"}]}],
        ENTRA_GROUP, MemberDelta(remove=frozenset({"u1091"})), {"op-case", "remove-by-value"}, ("members",),
        id="entra-remove-member-without-flag",
    ),
    pytest.param(
        GROUP_RESOURCE, ENTRA_GROUP,
        [{"op": "Add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
         {"op": "Remove", "path": "members", "value": [{"value": "u3"}, {"value": "u4"}]}],
        ENTRA_GROUP, MemberDelta(add=(MemberRef("u1"), MemberRef("u2")), remove=frozenset({"u3", "u4"})),
        {"op-case", "remove-by-value"}, ("members",),
        id="entra-several-memberships-one-patch",
    ),
    # Roles as the attribute-mappings page shows them (the JSON-in-value PATCH and the primary-role paths).
    pytest.param(
        USER_RESOURCE, BARE_USER,
        [{"op": "Add", "path": "roles",
          "value": [{"value": '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Role1234"}'}]}],
        with_(BARE_USER, roles=[{"value": "25", "display": "Role1234"}]), NO_MEMBERS, {"op-case", "role-json-value"}, ("roles",),
        id="entra-role-json-patch",
    ),
    pytest.param(
        USER_RESOURCE, BARE_USER,
        [{"op": "Add", "path": 'roles[primary eq "True"].value', "value": "Admin"},
         {"op": "Add", "path": 'roles[primary eq "True"].display', "value": "Administrator"},
         {"op": "Add", "path": 'roles[primary eq "True"].type', "value": "WindowsAzureActiveDirectoryRole"}],
        with_(BARE_USER, roles=[{"primary": True, "value": "Admin", "display": "Administrator",
                                 "type": "WindowsAzureActiveDirectoryRole"}]),
        NO_MEMBERS, {"op-case", "string-boolean"}, ("roles",),
        id="entra-single-app-role-assignment",
    ),
    pytest.param(
        USER_RESOURCE, with_(BARE_USER, roles=[{"primary": True, "value": "Admin"}]),
        [{"op": "Replace", "path": 'roles[primary eq "True"].value', "value": "Reader"}],
        with_(BARE_USER, roles=[{"primary": True, "value": "Reader"}]), NO_MEMBERS, {"op-case", "string-boolean"}, ("roles",),
        id="entra-single-app-role-change",
    ),
    pytest.param(
        USER_RESOURCE, with_(BARE_USER, roles=[{"primary": True, "value": "Admin"}]),
        [{"op": "replace", "path": "roles", "value": [{"primary": False, "value": "A"}, {"primary": False, "value": "B"}]}],
        with_(BARE_USER, roles=[{"primary": False, "value": "A"}, {"primary": False, "value": "B"}]), NO_MEMBERS, set(),
        ("roles",),
        id="entra-assertive-app-role-assignments-complex",
    ),
    pytest.param(
        USER_RESOURCE, with_(BARE_USER, roles=[{"value": "25", "display": "Role1234"}, {"value": "26"}]),
        [{"op": "Remove", "path": "roles", "value": [{"value": '{"id":"06b0","value":"25","displayName":"Role1234"}'}]}],
        with_(BARE_USER, roles=[{"value": "26"}]), NO_MEMBERS, {"op-case", "role-json-value", "remove-by-value"}, ("roles",),
        id="entra-role-json-remove",
    ),
    # Default attribute mappings (the tutorial's attribute table): address / phone / other-email paths on a user that has none.
    pytest.param(
        USER_RESOURCE, BARE_USER,
        [{"op": "Add", "path": 'addresses[type eq "work"].formatted', "value": "Building 1"},
         {"op": "Add", "path": 'addresses[type eq "work"].streetAddress', "value": "1 Microsoft Way"},
         {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Redmond"},
         {"op": "Add", "path": 'addresses[type eq "work"].region', "value": "WA"},
         {"op": "Add", "path": 'addresses[type eq "work"].postalCode', "value": "98052"},
         {"op": "Add", "path": 'addresses[type eq "work"].country', "value": "United States"},
         {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 425 555 0100"},
         {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "425.555.0101"},
         {"op": "Add", "path": 'phoneNumbers[type eq "fax"].value', "value": "425-555-0102"},
         {"op": "Add", "path": 'emails[type eq "other"].value', "value": "smtp:alias@contoso.com"},
         {"op": "Add", "path": "preferredLanguage", "value": "en-US"},
         {"op": "Add", "path": "title", "value": "Engineer"},
         {"op": "Add", "path": f"{EXT}:department", "value": "Tour Operations"}],
        with_(BARE_USER,
              addresses=[{"type": "work", "formatted": "Building 1", "streetAddress": "1 Microsoft Way", "locality": "Redmond",
                          "region": "WA", "postalCode": "98052", "country": "United States"}],
              phoneNumbers=[{"type": "work", "value": "+1 425 555 0100"}, {"type": "mobile", "value": "425.555.0101"},
                            {"type": "fax", "value": "425-555-0102"}],
              emails=[{"type": "other", "value": "smtp:alias@contoso.com"}],
              preferredLanguage="en-US", title="Engineer", **{EXT: {"department": "Tour Operations"}}),
        NO_MEMBERS, {"op-case"},
        ("title", "preferredLanguage", "emails", "phoneNumbers", "addresses", f"{EXT}:department"),
        id="entra-default-mapping-paths",
    ),
    # The SCIM Validator's "Patch User - Add Attributes" on a user with only userName:
    # https://learn.microsoft.com/en-us/entra/identity/app-provisioning/scim-validator-tutorial
    pytest.param(
        USER_RESOURCE, BARE_USER,
        [{"op": "add", "path": "name.givenName", "value": "Given"},
         {"op": "add", "path": "name.familyName", "value": "Family"},
         {"op": "add", "path": 'emails[type eq "work"].value', "value": "work@contoso.com"},
         {"op": "add", "path": 'emails[type eq "work"].primary', "value": True},
         {"op": "add", "path": "displayName", "value": "Given Family"},
         {"op": "add", "path": "active", "value": True},
         {"op": "add", "path": f"{EXT}:employeeNumber", "value": "E1"},
         {"op": "add", "path": f"{EXT}:manager", "value": "m-1"}],
        with_(BARE_USER, name={"givenName": "Given", "familyName": "Family"},
              emails=[{"type": "work", "value": "work@contoso.com", "primary": True}], displayName="Given Family", active=True,
              **{EXT: {"employeeNumber": "E1", "manager": {"value": "m-1"}}}),
        NO_MEMBERS, {"manager-string"},
        ("name.familyName", "name.givenName", "displayName", "active", "emails", f"{EXT}:employeeNumber", f"{EXT}:manager.value"),
        id="entra-rule-5-validator-add-attributes",
    ),
    # Okta reference: deactivation by a path-less replace (RFC 7644 §3.5.2.3), group rename with the id in the value.
    pytest.param(
        USER_RESOURCE, ENTRA_USER, [{"op": "replace", "value": {"active": False}}],
        with_(ENTRA_USER, active=False), NO_MEMBERS, set(), ("active",),
        id="okta-pathless-deactivate",
    ),
    pytest.param(
        GROUP_RESOURCE, ENTRA_GROUP, [{"op": "replace", "value": {"id": GROUP_ID, "displayName": "Renamed"}}],
        with_(ENTRA_GROUP, displayName="Renamed"), NO_MEMBERS, {"readonly-id-ignored"}, ("displayName",),
        id="okta-group-rename-with-id",
    ),
    pytest.param(
        GROUP_RESOURCE, ENTRA_GROUP,
        [{"op": "remove", "path": 'members[value eq "00u1"]'},
         {"op": "add", "path": "members", "value": [{"value": "00u2", "display": "test.user@okta.local"}]}],
        ENTRA_GROUP, MemberDelta(add=(MemberRef("00u2"),), remove=frozenset({"00u1"})), set(), ("members",),
        id="okta-membership-change",
    ),
    pytest.param(
        GROUP_RESOURCE, ENTRA_GROUP,
        [{"op": "replace", "path": "members", "value": [{"value": "00u1", "display": "a"}, {"value": "00u2", "display": "b"}]}],
        ENTRA_GROUP, MemberDelta(replace=(MemberRef("00u1"), MemberRef("00u2"))), set(), ("members",),
        id="okta-membership-full-push",
    ),
]


@pytest.mark.parametrize(("resource_type", "document", "operations", "expected", "members", "quirks", "changed"), CASES)
def test_client_requests(resource_type, document, operations, expected, members, quirks, changed):
    before = copy.deepcopy(document)
    resource_id = GROUP_ID if resource_type is GROUP_RESOURCE else USER_ID
    result, seen = patch(resource_type, document, operations, resource_id=resource_id)
    assert result.document == expected
    assert result.members == members
    assert seen == quirks
    assert result.changed == changed
    assert document == before
    assert coerce_resource(resource_type, result.document, quirks=set()) == result.document


# Known-issues page: replacing several attributes, both columns must produce the same user.
SEVERAL_EXPECTED = with_(
    ENTRA_USER,
    displayName="New Display",
    emails=[{"primary": True, "type": "work", "value": "new@contoso.com"}, {"type": "home", "value": "home@example.com"}],
    name={"formatted": "givenName familyName", "givenName": "NewGiven", "familyName": "NewFamily"},
    externalId="new-external",
    **{EXT: {"employeeNumber": "E-42"}},
)


@pytest.mark.parametrize(
    ("operations", "quirks"),
    [
        pytest.param(
            [{"op": "Replace", "path": "displayName", "value": "New Display"},
             {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@contoso.com"},
             {"op": "Replace", "path": "name.givenName", "value": "NewGiven"},
             {"op": "Replace", "path": "name.familyName", "value": "NewFamily"},
             {"op": "Replace", "path": "externalId", "value": "new-external"},
             {"op": "Replace", "path": f"{EXT}:employeeNumber", "value": "E-42"}],
            {"op-case"},
            id="without-flag-one-replace-per-path",
        ),
        pytest.param(
            [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@contoso.com"},
             {"op": "replace", "value": {"displayName": "New Display", "name.givenName": "NewGiven",
                                         "name.familyName": "NewFamily", "externalId": "new-external",
                                         f"{EXT}:employeeNumber": "E-42"}}],
            set(),
            id="with-flag-pathless-dotted-and-urn-keys",
        ),
        pytest.param(
            [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@contoso.com"},
             {"op": "replace", "value": {"displayName": "New Display",
                                         "name": {"givenName": "NewGiven", "familyName": "NewFamily"},
                                         "urn:ietf:params:scim:schemas:core:2.0:User:externalId": "new-external",
                                         EXT: {"employeeNumber": "E-42"}}}],
            set(),
            id="rule-3-nested-objects-core-urn-and-extension-object",
        ),
    ],
)
def test_entra_replace_several(operations, quirks):
    result, seen = patch(USER_RESOURCE, ENTRA_USER, operations)
    assert result.document == SEVERAL_EXPECTED
    assert seen == quirks
    assert result.changed == (
        "externalId", "name.familyName", "name.givenName", "displayName", "emails", f"{EXT}:employeeNumber",
    )


def test_pathless_core_urn_qualified_username_and_ignored_read_only_keys():
    result, quirks = patch(
        USER_RESOURCE, ENTRA_USER,
        [{"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:User:userName": "renamed",
                                     "meta": {"resourceType": "User"}, "groups": [], "schemas": ["x"], "id": USER_ID}}],
    )
    assert result.document == with_(ENTRA_USER, userName="renamed")
    assert quirks == {"readonly-id-ignored"}


# -- RFC 7644 §3.5.2 semantics ----------------------------------------------------------------------

TWO_EMAILS = with_(BARE_USER, emails=[{"type": "work", "value": "w@x", "primary": True}, {"type": "home", "value": "h@x"}])


@pytest.mark.parametrize(
    ("document", "operations", "expected"),
    [
        pytest.param(
            TWO_EMAILS,
            [{"op": "add", "path": "emails", "value": [{"type": "home", "value": "h@x"}, {"type": "other", "value": "o@x"}]}],
            with_(TWO_EMAILS, emails=[*TWO_EMAILS["emails"], {"type": "other", "value": "o@x"}]),
            id="add-appends-without-duplicates",
        ),
        pytest.param(
            TWO_EMAILS, [{"op": "add", "path": "emails", "value": [{"type": "other", "value": "o@x", "primary": True}]}],
            with_(TWO_EMAILS, emails=[{"type": "work", "value": "w@x", "primary": False}, {"type": "home", "value": "h@x"},
                                      {"type": "other", "value": "o@x", "primary": True}]),
            id="new-primary-clears-the-old-one",
        ),
        pytest.param(
            TWO_EMAILS, [{"op": "replace", "path": 'emails[type eq "home"].primary', "value": True}],
            with_(TWO_EMAILS, emails=[{"type": "work", "value": "w@x", "primary": False},
                                      {"type": "home", "value": "h@x", "primary": True}]),
            id="primary-moved-by-filter",
        ),
        pytest.param(
            TWO_EMAILS, [{"op": "replace", "path": "emails", "value": [{"type": "other", "value": "o@x"}]}],
            with_(TWO_EMAILS, emails=[{"type": "other", "value": "o@x"}]),
            id="replace-without-filter-replaces-the-list",
        ),
        pytest.param(
            TWO_EMAILS, [{"op": "replace", "path": 'emails[type eq "work"]', "value": {"type": "work", "value": "new@x"}}],
            with_(TWO_EMAILS, emails=[{"type": "work", "value": "new@x"}, {"type": "home", "value": "h@x"}]),
            id="replace-filter-replaces-matching-entries",
        ),
        pytest.param(
            TWO_EMAILS, [{"op": "replace", "path": 'emails[type eq "other"]', "value": {"value": "o@x"}}],
            with_(TWO_EMAILS, emails=[*TWO_EMAILS["emails"], {"type": "other", "value": "o@x"}]),
            id="replace-filter-no-match-creates",
        ),
        pytest.param(
            TWO_EMAILS, [{"op": "add", "path": 'emails[type eq "home"]', "value": {"display": "Home"}}],
            with_(TWO_EMAILS, emails=[TWO_EMAILS["emails"][0], {"type": "home", "value": "h@x", "display": "Home"}]),
            id="add-filter-merges-into-matching-entries",
        ),
        pytest.param(
            TWO_EMAILS, [{"op": "remove", "path": 'emails[type eq "work"]'}],
            with_(TWO_EMAILS, emails=[{"type": "home", "value": "h@x"}]),
            id="remove-filter-removes-matching-entries",
        ),
        pytest.param(
            TWO_EMAILS, [{"op": "remove", "path": 'emails[type eq "work"].value'}],
            with_(TWO_EMAILS, emails=[{"type": "work", "primary": True}, {"type": "home", "value": "h@x"}]),
            id="remove-sub-attribute-of-matching-entries",
        ),
        pytest.param(
            with_(BARE_USER, emails=[{"value": "w@x"}, {"type": "home", "value": "h@x"}]),
            [{"op": "remove", "path": 'emails[value eq "w@x"].value'}],
            with_(BARE_USER, emails=[{"type": "home", "value": "h@x"}]),
            id="entries-left-empty-are-dropped",
        ),
        pytest.param(
            TWO_EMAILS,
            [{"op": "remove", "path": 'emails[type eq "other"]'}, {"op": "remove", "path": 'emails[type eq "x"].value'}],
            TWO_EMAILS, id="value-path-remove-without-match-is-no-op",
        ),
        pytest.param(
            TWO_EMAILS, [{"op": "remove", "path": "nickName"}, {"op": "remove", "path": "name.givenName"},
                         {"op": "remove", "path": "phoneNumbers"}, {"op": "remove", "path": f"{EXT}:department"}],
            TWO_EMAILS, id="removing-absent-attributes-is-no-op",
        ),
        pytest.param(
            TWO_EMAILS, [{"op": "remove", "path": "emails"}], BARE_USER, id="remove-whole-attribute",
        ),
        pytest.param(
            TWO_EMAILS, [{"op": "Remove", "path": "emails", "value": [{"value": "W@X"}]}],
            with_(TWO_EMAILS, emails=[{"type": "home", "value": "h@x"}]),
            id="remove-by-value-only-listed-entries",
        ),
        pytest.param(
            TWO_EMAILS, [{"op": "Remove", "path": "emails", "value": []}], TWO_EMAILS,
            id="remove-with-empty-value-list-removes-nothing",
        ),
        pytest.param(
            TWO_EMAILS, [{"op": "replace", "path": "emails.type", "value": "other"}],
            with_(TWO_EMAILS, emails=[{"type": "other", "value": "w@x", "primary": True}, {"type": "other", "value": "h@x"}]),
            id="sub-attribute-without-filter-sets-all-entries",
        ),
        pytest.param(
            with_(BARE_USER, name={"givenName": "A", "familyName": "B", "middleName": "M"}),
            [{"op": "replace", "path": "name", "value": {"givenName": "C", "middleName": None}}],
            with_(BARE_USER, name={"givenName": "C", "familyName": "B"}),
            id="replace-complex-merges-and-null-unassigns",
        ),
        pytest.param(
            with_(BARE_USER, name={"givenName": "A", "familyName": "B"}),
            [{"op": "add", "path": "name", "value": {"middleName": "M"}}],
            with_(BARE_USER, name={"givenName": "A", "familyName": "B", "middleName": "M"}),
            id="add-complex-merges",
        ),
        pytest.param(
            with_(BARE_USER, name={"givenName": "A"}), [{"op": "replace", "path": "name", "value": None}], BARE_USER,
            id="replace-complex-with-null-unassigns",
        ),
        pytest.param(
            with_(BARE_USER, name={"givenName": "A"}), [{"op": "remove", "path": "name.givenName"}], BARE_USER,
            id="complex-left-empty-is-dropped",
        ),
        pytest.param(
            MANAGED_USER, [{"op": "remove", "path": f"{EXT}:employeeNumber"}, {"op": "remove", "path": f"{EXT}:manager.value"}],
            {"userName": "bob"}, id="empty-extension-is-dropped",
        ),
        pytest.param(
            MANAGED_USER, [{"op": "remove", "path": EXT}], {"userName": "bob"}, id="remove-whole-extension",
        ),
        pytest.param(
            MANAGED_USER, [{"op": "replace", "path": f"{EXT}:manager.$ref", "value": "https://x/Users/1"}], MANAGED_USER,
            id="manager-ref-is-derived-and-ignored",
        ),
        pytest.param(
            BARE_USER, [{"op": "add", "path": "nickName", "value": "A"}, {"op": "replace", "path": "nickName", "value": ""}],
            BARE_USER, id="empty-string-unassigns",
        ),
        pytest.param(
            BARE_USER, [{"op": "add", "path": "password", "value": "n3w-Secret"}],
            with_(BARE_USER, password="n3w-Secret"), id="write-only-password-kept",
        ),
    ],
)
def test_semantics(document, operations, expected):
    result, _ = patch(USER_RESOURCE, document, operations)
    assert result.document == expected
    assert coerce_resource(USER_RESOURCE, result.document, quirks=set()) == result.document


@pytest.mark.parametrize(
    ("operations", "members"),
    [
        pytest.param(
            [{"op": "add", "path": "members", "value": [{"value": "a"}]}, {"op": "remove", "path": 'members[value eq "a"]'}],
            MemberDelta(remove=frozenset({"a"})), id="add-then-remove-ends-removed",
        ),
        pytest.param(
            [{"op": "remove", "path": 'members[value eq "a"]'}, {"op": "add", "path": "members", "value": [{"value": "a"}]}],
            MemberDelta(add=(MemberRef("a"),)), id="remove-then-add-ends-added",
        ),
        pytest.param(
            [{"op": "add", "path": "members", "value": [{"value": "a"}]}, {"op": "remove", "path": "members"},
             {"op": "add", "path": "members", "value": [{"value": "b", "type": "User"}]}],
            MemberDelta(add=(MemberRef("b", "User"),), remove_all=True), id="remove-all-resets",
        ),
        pytest.param(
            [{"op": "remove", "path": "members", "value": [{"value": "x"}]},
             {"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
             {"op": "add", "path": "members", "value": [{"value": "c"}, {"value": "a"}]},
             {"op": "remove", "path": 'members[value eq "b" or value eq "z"]'}],
            MemberDelta(replace=(MemberRef("a"), MemberRef("c"))), id="replace-resets-and-absorbs-later-ops",
        ),
        pytest.param(
            [{"op": "add", "value": {"members": [{"value": "a"}, {"value": "a"}], "displayName": "displayName"}}],
            MemberDelta(add=(MemberRef("a"),)), id="pathless-add-members",
        ),
        pytest.param(
            [{"op": "replace", "value": {"members": []}}], MemberDelta(replace=()), id="pathless-replace-members-empties",
        ),
        pytest.param(
            [{"op": "add", "path": "members", "value": []}], MemberDelta(), id="add-nothing",
        ),
        pytest.param(
            [{"op": "remove", "path": "members", "value": []}], MemberDelta(), id="remove-empty-list-removes-nothing",
        ),
    ],
)
def test_member_delta(operations, members):
    result, _ = patch(GROUP_RESOURCE, ENTRA_GROUP, operations, resource_id=GROUP_ID)
    assert result.members == members
    assert result.document == ENTRA_GROUP
    assert result.changed == (("members",) if members else ())


# -- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource_type", "operations", "error", "detail"),
    [
        (USER_RESOURCE, [{"op": "add", "path": "nickName", "value": "x"}, {"op": "replace", "path": "foo", "value": 1}],
         InvalidPath, "Operations[1]: path 'foo': User has no attribute 'foo'"),
        (USER_RESOURCE, [{"op": "replace", "path": "name.nick", "value": 1}], InvalidPath,
         "Operations[0]: path 'name.nick': 'name' has no sub-attribute 'nick'"),
        (USER_RESOURCE, [{"op": "replace", "path": "name..x", "value": 1}], InvalidPath,
         "Operations[0]: path 'name..x' is invalid"),
        (USER_RESOURCE, [{"op": "replace", "path": f"{EXT}:badge", "value": 1}], InvalidPath,
         f"Operations[0]: path '{EXT}:badge': the extension '{EXT}' has no attribute 'badge'"),
        (USER_RESOURCE, [{"op": "replace", "path": 'userName[value eq "x"]', "value": 1}], InvalidPath,
         "Operations[0]: path 'userName[value eq \"x\"]': 'userName' is not a complex attribute"),
        (USER_RESOURCE, [{"op": "replace", "value": {"nope": 1}}], InvalidPath,
         "Operations[0]: path 'nope': User has no attribute"),
        (GROUP_RESOURCE, [{"op": "add", "path": "members.value", "value": "x"}], InvalidPath,
         "Operations[0]: path 'members.value': members can only be added or removed as whole entries"),
        (GROUP_RESOURCE, [{"op": "add", "path": 'members[value eq "a"]', "value": {"value": "a"}}], InvalidPath,
         "Operations[0]: path 'members[value eq \"a\"]': add cannot take a members filter"),
        (USER_RESOURCE, [{"op": "replace", "path": 'emails[type xx "work"].value', "value": "x"}], InvalidFilter,
         "Operations[0]: the filter in path 'emails[type xx \"work\"].value' is invalid"),
        (USER_RESOURCE, [{"op": "replace", "path": 'emails[primary eq 5].value', "value": "x"}], InvalidFilter,
         "Operations[0]: the filter in path 'emails[primary eq 5].value' is invalid"),
        (USER_RESOURCE, [{"op": "replace", "path": 'emails[label eq "x"].value', "value": "x"}], InvalidFilter,
         "Operations[0]: the filter in path 'emails[label eq \"x\"].value' is invalid"),
        (GROUP_RESOURCE, [{"op": "remove", "path": 'members[display eq "Bob"]'}], InvalidFilter,
         "Operations[0]: path 'members[display eq \"Bob\"]': a members filter can only compare 'value'"),
        (GROUP_RESOURCE, [{"op": "remove", "path": 'members[value eq "a" and value eq "b"]'}], InvalidFilter,
         "Operations[0]: path 'members[value eq \"a\" and value eq \"b\"]'"),
        (USER_RESOURCE, [{"op": "remove"}], NoTarget, "Operations[0]: remove needs a path"),
        (USER_RESOURCE, [{"op": "add", "path": 'emails[type eq "a" or type eq "b"].value', "value": "x"}], NoTarget,
         "Operations[0]: path 'emails[type eq \"a\" or type eq \"b\"].value' matched no value"),
        (USER_RESOURCE, [{"op": "replace", "path": 'manager[value eq "nobody"].value', "value": "x"}], NoTarget,
         "Operations[0]: path 'manager[value eq \"nobody\"].value' matched no value"),
        (USER_RESOURCE, [{"op": "remove", "path": "userName"}], Mutability,
         "Operations[0]: 'userName' is required and cannot be removed"),
        (GROUP_RESOURCE, [{"op": "remove", "path": "displayName"}], Mutability,
         "Operations[0]: 'displayName' is required and cannot be removed"),
        (USER_RESOURCE, [{"op": "replace", "path": "id", "value": USER_ID}], Mutability,
         "Operations[0]: path 'id' names a read-only attribute"),
        (USER_RESOURCE, [{"op": "replace", "path": "meta.lastModified", "value": "2020-01-01T00:00:00Z"}], Mutability,
         "Operations[0]: path 'meta.lastModified' names a read-only attribute"),
        (USER_RESOURCE, [{"op": "remove", "path": "groups"}], Mutability,
         "Operations[0]: path 'groups' names a read-only attribute"),
        (USER_RESOURCE, [{"op": "add", "path": f"{EXT}:manager.displayName", "value": "M"}], Mutability,
         f"Operations[0]: path '{EXT}:manager.displayName' names a read-only attribute"),
        (USER_RESOURCE, [{"op": "replace", "path": "schemas", "value": []}], Mutability, "Operations[0]: path 'schemas'"),
        (GROUP_RESOURCE, [{"op": "replace", "value": {"id": "another-group", "displayName": "X"}}], Mutability,
         "Operations[0]: 'id' is read-only; the value 'another-group' is not this resource's id"),
        (USER_RESOURCE, [{"op": "replace", "path": "active", "value": "maybe"}], InvalidValue,
         "Operations[0]: 'active' must be a boolean (true or false), not \"maybe\""),
        (USER_RESOURCE, [{"op": "replace", "path": "userName", "value": None}], InvalidValue,
         "Operations[0]: 'userName' is required and cannot be set to an empty value"),
        (USER_RESOURCE, [{"op": "replace", "path": "userName", "value": "x" * 256}], InvalidValue,
         "Operations[0]: 'userName' is 256 characters long"),
        (USER_RESOURCE, [{"op": "replace", "path": "title", "value": 5}], InvalidValue,
         "Operations[0]: 'title' must be a string"),
        (USER_RESOURCE,
         [{"op": "add", "path": "emails", "value": [{"value": "a", "primary": True}, {"value": "b", "primary": True}]}],
         InvalidValue, "Operations[0]: 'emails' has more than one entry"),
        (USER_RESOURCE, [{"op": "add", "path": "emails.primary", "value": True},
                         {"op": "add", "path": "emails", "value": [{"value": "a"}, {"value": "b"}]},
                         {"op": "replace", "path": "emails.primary", "value": True}],
         InvalidValue, "Operations[2]: 'emails.primary' would leave more than one entry with \"primary\": true"),
        (USER_RESOURCE, [{"op": "add", "path": 'emails[type eq "work"].value', "value": ["a"]}], InvalidValue,
         "Operations[0]: 'emails[type eq \"work\"].value' must be a string"),
        (USER_RESOURCE, [{"op": "remove", "path": "manager", "value": 5}], InvalidValue,
         "Operations[0]: remove of 'manager' with a value needs the manager's id"),
        (USER_RESOURCE, [{"op": "replace", "value": [{"active": False}]}], InvalidSyntax,
         "Operations[0]: replace without a path needs a JSON object as its value"),
        (USER_RESOURCE, [{"op": "add", "path": "name", "value": {"nick": "x"}}], InvalidSyntax,
         "Operations[0]: 'name' has no sub-attribute 'nick'"),
    ],
)
def test_errors(resource_type, operations, error, detail):
    document = ENTRA_GROUP if resource_type is GROUP_RESOURCE else MANAGED_USER
    before = copy.deepcopy(document)
    with pytest.raises(error) as raised:
        patch(resource_type, document, operations, resource_id=GROUP_ID if resource_type is GROUP_RESOURCE else USER_ID)
    assert raised.value.detail.startswith(detail), raised.value.detail
    assert str(raised.value) == raised.value.detail
    assert document == before


def test_unknown_op_from_a_hand_built_operation():
    with pytest.raises(InvalidSyntax, match=r"^Operations\[3\]: 'op' must be add, replace or remove"):
        apply_patch(USER_RESOURCE, BARE_USER, [Operation("move", "userName", "x", 3)], resource_id=USER_ID,  # type: ignore[arg-type]
                    quirks=set())


def test_atomic_and_quirks_only_on_success():
    document = copy.deepcopy(ENTRA_USER)
    snapshot = copy.deepcopy(document)
    quirks: set[str] = set()
    operations = [
        Operation("replace", "active", "False", 0),  # would record string-boolean
        Operation("remove", "userName", None, 1),
    ]
    with pytest.raises(Mutability, match=r"^Operations\[1\]: "):
        apply_patch(USER_RESOURCE, document, operations, resource_id=USER_ID, quirks=quirks)
    assert document == snapshot
    assert quirks == set()


def test_input_never_mutated():
    document = copy.deepcopy(TWO_EMAILS)
    document[EXT] = {"manager": {"value": "m"}}
    snapshot = copy.deepcopy(document)
    result, _ = patch(
        USER_RESOURCE, document,
        [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "n@x"},
         {"op": "remove", "path": 'emails[type eq "home"].value'},
         {"op": "replace", "path": f"{EXT}:manager.value", "value": "m2"},
         {"op": "add", "path": "name.givenName", "value": "G"}],
    )
    assert document == snapshot
    assert result.document is not document
    assert result.document["emails"][0] is not document["emails"][0]


def test_empty_path_is_treated_as_absent():
    result, _ = patch(USER_RESOURCE, BARE_USER, [{"op": "add", "path": "", "value": {"nickName": "N"}}])
    assert result.document == with_(BARE_USER, nickName="N")


# -- property: any operation list gives a canonical document or a SCIM error ------------------------

_names = st.text(alphabet="abcXYZ09@.-", min_size=1, max_size=8)
_email = st.fixed_dictionaries(
    {"value": _names}, optional={"type": st.sampled_from(["work", "home", "other"]), "display": _names}
)
_documents = st.fixed_dictionaries(
    {"userName": _names},
    optional={
        "active": st.booleans(),
        "displayName": _names,
        "name": st.fixed_dictionaries({}, optional={"givenName": _names, "familyName": _names}),
        "emails": st.lists(_email, max_size=3),
        "roles": st.lists(st.fixed_dictionaries({"value": _names}, optional={"primary": st.just(False)}), max_size=2),
        EXT: st.fixed_dictionaries({}, optional={"employeeNumber": _names, "manager": _names}),
    },
).map(lambda body: coerce_resource(USER_RESOURCE, body, quirks=set()))

_paths = st.sampled_from([
    None, "", "userName", "USERNAME", "active", "displayName", "nickName", "name", "name.givenName", "name.honorificPrefix",
    "emails", "emails.value", "emails.primary", 'emails[type eq "work"]', 'emails[type eq "work"].value',
    'emails[type eq "home" and primary eq true].display', 'emails[type eq "work" or value co "a"].value',
    'emails[primary eq "True"]', "roles", 'roles[primary eq "True"].value', "phoneNumbers", "addresses",
    'addresses[type eq "work"].locality', "x509Certificates", "manager", 'manager[value eq "a"]', f"{EXT}:manager",
    f"{EXT}:manager.value", f"{EXT}:employeeNumber", EXT, "id", "meta", "groups", "schemas", "members", "unknown",
    "emails[", 'emails[type eq "work"].nope', "urn:ietf:params:scim:schemas:core:2.0:User:displayName",
])
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["", "True", "false", "a@b", "{\"value\":\"r\"}", "x" * 300]),
    _names,
)
_json = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(["value", "type", "primary", "display", "givenName", "$ref", "displayName", "nope", "active",
                             "name.givenName", f"{EXT}:employeeNumber", "emails", "id", "meta", EXT]),
            children, max_size=3,
        ),
    ),
    max_leaves=6,
)
_strings = st.one_of(_names, st.sampled_from(["", "a@b", '{"value":"r","displayName":"R"}']))
_bools = st.sampled_from([True, False, "True", "false"])
_entry = st.fixed_dictionaries(
    {"value": _strings}, optional={"type": st.sampled_from(["work", "home"]), "primary": _bools, "display": _names}
)
_typed = st.one_of(
    st.tuples(st.sampled_from([
        "userName", "displayName", "nickName", "name.givenName", 'emails[type eq "work"].value', "emails.value", "manager",
        'addresses[type eq "work"].locality', f"{EXT}:employeeNumber", f"{EXT}:manager", 'roles[primary eq "True"].value',
        f"{EXT}:manager.value", 'emails[value eq "a@b"].display',
    ]), _strings),
    st.tuples(st.sampled_from(["active", "emails.primary", 'emails[type eq "work"].primary', 'roles[value eq "a"].primary']),
              _bools),
    st.tuples(st.sampled_from(["emails", "roles", 'emails[type eq "home"]', "phoneNumbers"]),
              st.one_of(_entry, st.lists(_entry, max_size=2))),
    st.tuples(st.just("name"), st.fixed_dictionaries({}, optional={"givenName": _strings, "middleName": _strings})),
    st.tuples(st.just(None), st.fixed_dictionaries({}, optional={
        "active": _bools, "name.familyName": _strings, f"{EXT}:department": _strings, "emails": st.lists(_entry, max_size=2),
        EXT: st.fixed_dictionaries({}, optional={"manager": _strings}), "id": st.just(USER_ID), "meta": st.just({}),
    })),
)
_typed_operations = st.builds(
    lambda op, pair: {"op": op, "path": pair[0], "value": None if op == "remove" and pair[0] is None else pair[1]},
    st.sampled_from(["add", "replace", "remove", "Add", "Replace"]), _typed,
)
_random_operations = st.builds(
    lambda op, path, value: {"op": op, "path": path, "value": value},
    st.sampled_from(["add", "replace", "remove", "Add", "REPLACE"]), _paths, _json,
)
_operations = st.lists(st.one_of(_typed_operations, _typed_operations, _typed_operations, _random_operations),
                       min_size=1, max_size=4)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_documents, operations=_operations)
def test_random_operations_yield_canonical_documents_or_scim_errors(document, operations):
    snapshot = copy.deepcopy(document)
    body = {"schemas": [PATCH_OP_URN], "Operations": [{key: item for key, item in op.items() if item is not None}
                                                       for op in operations]}
    try:
        quirks: set[str] = set()
        result = apply_patch(USER_RESOURCE, document, parse_patch_operations(body, quirks=quirks), resource_id=USER_ID,
                             quirks=quirks)
    except DomainError as error:
        assert error.detail
        assert document == snapshot
        return
    assert document == snapshot
    assert coerce_resource(USER_RESOURCE, result.document, quirks=set()) == result.document
    assert result.members == MemberDelta()


_member_ops = st.lists(
    st.one_of(
        st.builds(lambda op, ids: {"op": op, "path": "members", "value": [{"value": i} for i in ids]},
                  st.sampled_from(["add", "replace", "remove"]), st.lists(st.sampled_from("abcd"), max_size=3)),
        st.builds(lambda ids: {"op": "remove", "path": "members[" + " or ".join(f'value eq "{i}"' for i in ids) + "]"},
                  st.lists(st.sampled_from("abcd"), min_size=1, max_size=3)),
        st.just({"op": "remove", "path": "members"}),
    ),
    min_size=1, max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(operations=_member_ops, start=st.sets(st.sampled_from("abcd")))
def test_member_delta_matches_sequential_application(operations, start):
    """Applying the folded delta equals applying the operations one by one."""
    expected = set(start)
    for op in operations:
        path, value = op["path"], op.get("value")
        if path.startswith("members["):
            expected -= {part.split('"')[1] for part in path[8:-1].split(" or ")}
        elif op["op"] == "remove" and value is None:
            expected = set()
        elif op["op"] == "remove":
            expected -= {item["value"] for item in value}
        elif op["op"] == "add":
            expected |= {item["value"] for item in value}
        else:
            expected = {item["value"] for item in value}
    result, _ = patch(GROUP_RESOURCE, ENTRA_GROUP, operations, resource_id=GROUP_ID)
    delta = result.members
    members = set(start)
    if delta.replace is not None:
        members = {ref.value for ref in delta.replace}
        assert not delta.add and not delta.remove
    elif delta.remove_all:
        members = set()
    assert not ({ref.value for ref in delta.add} & delta.remove)
    members = (members - delta.remove) | {ref.value for ref in delta.add}
    assert members == expected


_group_documents = st.fixed_dictionaries({"displayName": _names}, optional={"externalId": _names})
_group_paths = st.sampled_from([
    None, "displayName", "externalId", "members", 'members[value eq "a"]', 'members[value eq "a" or value eq "b"]',
    'members[display eq "a"]', "members.value", "id", "meta", "userName",
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
])
_group_values = st.one_of(
    _json,
    st.lists(st.fixed_dictionaries({"value": st.sampled_from("abc")}, optional={"display": _names, "$ref": st.none(),
                                                                                  "type": st.sampled_from(["User", "group"])})),
    st.fixed_dictionaries({}, optional={"displayName": _names, "id": st.sampled_from([GROUP_ID, "x"]),
                                        "members": st.lists(st.fixed_dictionaries({"value": st.sampled_from("abc")}))}),
)


@settings(max_examples=200, deadline=None)
@given(
    document=_group_documents,
    operations=st.lists(st.builds(lambda op, path, value: {"op": op, "path": path, "value": value},
                                  st.sampled_from(["add", "replace", "remove"]), _group_paths, _group_values),
                        min_size=1, max_size=4),
)
def test_random_group_operations_yield_canonical_documents_or_scim_errors(document, operations):
    snapshot = copy.deepcopy(document)
    body = {"schemas": [PATCH_OP_URN], "Operations": [{key: item for key, item in op.items() if item is not None}
                                                       for op in operations]}
    try:
        result = apply_patch(GROUP_RESOURCE, document, parse_patch_operations(body, quirks=set()), resource_id=GROUP_ID,
                             quirks=set())
    except DomainError:
        assert document == snapshot
        return
    assert document == snapshot
    assert coerce_resource(GROUP_RESOURCE, result.document, quirks=set()) == result.document
    assert ("members" in result.changed) == bool(result.members)
