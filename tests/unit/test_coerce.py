"""fluid_scim.schema.coerce: request bodies (Entra, Okta, RFC) to the canonical document."""

from __future__ import annotations

import copy

import pytest

from fluid_scim.errors import InvalidSyntax, InvalidValue, Mutability
from fluid_scim.schema import GROUP_RESOURCE, USER_RESOURCE, resolve
from fluid_scim.schema.attributes import Attribute
from fluid_scim.schema.coerce import (
    MemberRef,
    coerce_members,
    coerce_resource,
    coerce_scalar,
    coerce_value,
    extract_members,
)
from tests.support.urns import ENTERPRISE_URN, GROUP_URN, USER_URN

# "Create User" as Microsoft Learn's SCIM endpoint tutorial ("User operations") shows it:
# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
ENTRA_CREATE = {
    "schemas": [USER_URN, ENTERPRISE_URN],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-0b0b-0c0c-0d0d-000000000000",
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb11bb-0b0b-0c0c-0d0d-000000000000@testuser.com"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "roles": [],
}

# The POST with the default attribute mappings (the tutorial's attribute table and
# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/customize-application-attributes).
ENTRA_DEFAULT_MAPPING_CREATE = {
    "schemas": [USER_URN, ENTERPRISE_URN],
    "externalId": "alice",
    "userName": "alice@contoso.com",
    "active": "True",
    "displayName": "Alice Smith",
    "title": "Engineer",
    "preferredLanguage": "en-US",
    "emails": [{"primary": True, "type": "work", "value": "alice@contoso.com"}, {"type": "other", "value": "smtp:a@contoso.com"}],
    "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
    "phoneNumbers": [
        {"type": "work", "value": "+1 (425) 555-0100"},
        {"type": "mobile", "value": "425.555.0101"},
        {"type": "fax", "value": "+1 425 555 0102"},
    ],
    "addresses": [
        {"type": "work", "formatted": "Building 1", "streetAddress": "1 Microsoft Way", "locality": "Redmond",
         "region": "WA", "postalCode": "98052", "country": "United States", "primary": False},
    ],
    ENTERPRISE_URN: {"employeeNumber": "701984", "department": "Tour Operations"},
    "roles": [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}],
}

# The create request of Okta's SCIM 2.0 protocol reference:
# https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/
OKTA_CREATE = {
    "schemas": [USER_URN],
    "userName": "test.user@okta.local",
    "name": {"givenName": "Test", "familyName": "User"},
    "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}


def _coerce(body, resource_type=USER_RESOURCE):
    quirks: set[str] = set()
    document = coerce_resource(resource_type, body, quirks=quirks)
    return document, quirks


# -- replayed client bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource_type", "body", "document", "quirks"),
    [
        pytest.param(
            USER_RESOURCE, ENTRA_CREATE,
            {
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": "Test_User_00aa00aa-0b0b-0c0c-0d0d-000000000000",
                "active": True,
                "emails": [{"primary": True, "type": "work",
                            "value": "Test_User_11bb11bb-0b0b-0c0c-0d0d-000000000000@testuser.com"}],
                "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            },
            set(),
            id="entra-create",
        ),
        pytest.param(
            USER_RESOURCE, ENTRA_DEFAULT_MAPPING_CREATE,
            {
                "externalId": "alice",
                "userName": "alice@contoso.com",
                "active": True,
                "displayName": "Alice Smith",
                "title": "Engineer",
                "preferredLanguage": "en-US",
                "emails": [{"primary": True, "type": "work", "value": "alice@contoso.com"},
                           {"type": "other", "value": "smtp:a@contoso.com"}],
                "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
                "phoneNumbers": [
                    {"type": "work", "value": "+1 (425) 555-0100"},
                    {"type": "mobile", "value": "425.555.0101"},
                    {"type": "fax", "value": "+1 425 555 0102"},
                ],
                "addresses": [
                    {"type": "work", "formatted": "Building 1", "streetAddress": "1 Microsoft Way", "locality": "Redmond",
                     "region": "WA", "postalCode": "98052", "country": "United States", "primary": False},
                ],
                ENTERPRISE_URN: {"employeeNumber": "701984", "department": "Tour Operations"},
                "roles": [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}],
            },
            {"string-boolean"},
            id="entra-default-mapping-create",
        ),
        pytest.param(
            USER_RESOURCE, OKTA_CREATE,
            {
                "userName": "test.user@okta.local",
                "name": {"givenName": "Test", "familyName": "User"},
                "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
                "displayName": "Test User",
                "locale": "en-US",
                "externalId": "00ujl29u0le5T6Aj10h7",
                "password": "1mz050nq",
                "active": True,
            },
            set(),
            id="okta-create",
        ),
        pytest.param(
            USER_RESOURCE,
            {**OKTA_CREATE, "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "name": {"givenName": "Test", "middleName": "M",
                                                                                   "familyName": "User"},
             "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z"}},
            {
                "userName": "test.user@okta.local",
                "name": {"givenName": "Test", "middleName": "M", "familyName": "User"},
                "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
                "displayName": "Test User",
                "locale": "en-US",
                "externalId": "00ujl29u0le5T6Aj10h7",
                "password": "1mz050nq",
                "active": True,
            },
            set(),
            id="okta-put-with-id-meta-groups",
        ),
        pytest.param(
            GROUP_RESOURCE,
            {"schemas": [GROUP_URN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
             "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName",
             "meta": {"resourceType": "Group"}},
            {"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName"},
            set(),
            id="entra-group-create-2018-uri",
        ),
        pytest.param(
            GROUP_RESOURCE, {"schemas": [GROUP_URN], "displayName": "Test SCIMv2", "members": []},
            {"displayName": "Test SCIMv2"}, set(), id="okta-group-push-create",
        ),
        pytest.param(
            USER_RESOURCE,
            {"userName": "bob", ENTERPRISE_URN: {"manager": "2c2f6fb8-9ec5-4a3b-a4e2-a08e9c5f0c4e"}},
            {"userName": "bob", ENTERPRISE_URN: {"manager": {"value": "2c2f6fb8-9ec5-4a3b-a4e2-a08e9c5f0c4e"}}},
            {"manager-string"},
            id="entra-manager-string",
        ),
        pytest.param(
            USER_RESOURCE,
            {"userName": "bob", ENTERPRISE_URN: {"manager": {"value": "m1", "$ref": "https://x/Users/m1", "displayName": "M"}}},
            {"userName": "bob", ENTERPRISE_URN: {"manager": {"value": "m1", "displayName": "M"}}},
            set(),
            id="rfc-manager-object",
        ),
        pytest.param(
            USER_RESOURCE, {"userName": "bob", ENTERPRISE_URN: {"manager": "", "department": ""}}, {"userName": "bob"}, set(),
            id="empty-manager-and-extension-dropped",
        ),
    ],
)
def test_client_bodies(resource_type, body, document, quirks):
    original = copy.deepcopy(body)
    coerced, seen = _coerce(body, resource_type)
    assert coerced == document
    assert seen == quirks
    assert body == original  # the input is not modified
    assert _coerce(coerced, resource_type)[0] == coerced  # canonical documents are a fixed point


def test_canonical_case_and_unassigned_values():
    body = {
        "USERNAME": "Bob",
        "Name": {"GIVENNAME": "Bob", "familyName": None, "middleName": ""},
        "emails": [{"VALUE": "b@x", "Type": "work"}, {"value": None, "type": ""}, {}],
        "phoneNumbers": [],
        "nickName": None,
        "title": "",
        "addresses": [{"formatted": None}],
        "urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:user": {"EmployeeNumber": "7"},
        "ims": {},
    }
    document, quirks = _coerce(body)
    assert document == {
        "userName": "Bob",
        "name": {"givenName": "Bob"},
        "emails": [{"value": "b@x", "type": "work"}],
        ENTERPRISE_URN: {"employeeNumber": "7"},
    }
    assert quirks == set()


def test_null_ref_is_tolerated_anywhere():
    document, _ = _coerce({"userName": "u", "emails": [{"value": "a@x", "$ref": None}]})
    assert document == {"userName": "u", "emails": [{"value": "a@x"}]}
    with pytest.raises(InvalidSyntax, match="has no sub-attribute"):
        _coerce({"userName": "u", "emails": [{"value": "a@x", "$ref": "https://x"}]})


def test_values_are_stored_as_sent():
    document, _ = _coerce({"userName": "  Mixed.Case@Example.COM ", "phoneNumbers": [{"value": "(425) 555-0100 ext. 7"}]})
    assert document["userName"] == "  Mixed.Case@Example.COM "
    assert document["phoneNumbers"] == [{"value": "(425) 555-0100 ext. 7"}]


@pytest.mark.parametrize(("sent", "stored"), [("True", True), ("false", False), ("TRUE", True), ("FaLsE", False)])
def test_string_booleans(sent, stored):
    document, quirks = _coerce({"userName": "u", "active": sent, "emails": [{"value": "a@x", "primary": sent}]})
    assert document["active"] is stored
    assert document["emails"][0]["primary"] is stored
    assert quirks == {"string-boolean"}


def test_single_object_is_wrapped():
    document, quirks = _coerce({"userName": "u", "emails": {"value": "a@x", "type": "work"}})
    assert document["emails"] == [{"value": "a@x", "type": "work"}]
    assert quirks == {"single-value-wrapped"}


def test_entra_role_json_value_is_decoded():
    role = '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Role1234"}'
    body = {"userName": "u", "roles": [{"value": role}]}
    document, quirks = _coerce(body)
    assert document["roles"] == [{"value": "25", "display": "Role1234"}]
    assert quirks == {"role-json-value"}
    assert _coerce(document)[0] == document


def test_role_value_that_only_looks_like_json_is_kept():
    document, quirks = _coerce({"userName": "u", "roles": [{"value": "{not json"}]})
    assert document["roles"] == [{"value": "{not json"}]
    assert quirks == set()


def test_password_kept_groups_ignored():
    document, _ = _coerce({"userName": "u", "password": "s3cret!", "groups": [{"value": "g1", "display": "G"}]})
    assert document == {"userName": "u", "password": "s3cret!"}


# -- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error", "detail"),
    [
        ({"userName": "u", "foo": 1}, InvalidSyntax, "User has no attribute 'foo'"),
        ({"userName": "u", "urn:example:ext:1.0:User": {}}, InvalidSyntax,
         "User has no schema extension 'urn:example:ext:1.0:User'"),
        ({"userName": "u", "name": {"nickname": "x"}}, InvalidSyntax, "'name' has no sub-attribute 'nickname'"),
        ({"userName": "u", "emails": [{"value": "a", "label": "x"}]}, InvalidSyntax, "'emails[0]' has no sub-attribute 'label'"),
        ({"userName": "u", ENTERPRISE_URN: {"badge": "1"}}, InvalidSyntax,
         f"the extension '{ENTERPRISE_URN}' has no attribute 'badge'"),
        ({"userName": "u", "username": "v"}, InvalidSyntax, "'userName' is given twice"),
        ({"userName": "u", "schemas": "x", "name": {"givenName": "a", "GivenName": "b"}}, InvalidSyntax, "given twice"),
        ({"userName": "u", "schemas": [1]}, InvalidSyntax, "'schemas' must be a JSON array"),
        ({"userName": 42}, InvalidValue, "'userName' must be a string, not 42"),
        ({"userName": "u", "title": 7}, InvalidValue, "'title' must be a string"),
        ({"userName": "u", "active": "yes"}, InvalidValue, "'active' must be a boolean"),
        ({"userName": "u", "active": 1}, InvalidValue, "'active' must be a boolean"),
        ({"userName": "u", "emails": [{"value": "a", "primary": True}, {"value": "b", "primary": "true"}]}, InvalidValue,
         "more than one entry"),
        ({"userName": "u", "emails": "a@x"}, InvalidValue, "'emails' is multi-valued"),
        ({"userName": "u", "emails": ["a@x"]}, InvalidValue, "'emails[0]' must be a JSON object"),
        ({"userName": "u", "name": "Bob"}, InvalidValue, "'name' must be a JSON object"),
        ({"userName": "u" * 256}, InvalidValue, "'userName' is 256 characters long; at most 255"),
        ({"userName": "u", "displayName": "d" * 256}, InvalidValue, "'displayName' is 256 characters"),
        ({"userName": "u", "externalId": "e" * 256}, InvalidValue, "'externalId' is 256 characters"),
        ({"userName": "u", "title": "t" * 1025}, InvalidValue, "'title' is 1025 characters"),
        ({"userName": "u", "profileUrl": "h" * 2049}, InvalidValue, "'profileUrl' is 2049 characters"),
        ({"userName": "u", "x509Certificates": [{"value": "not base64!"}]}, InvalidValue, "must be base64-encoded"),
        ({"userName": "u", "x509Certificates": [{"value": "QUJD" * 4097}]}, InvalidValue, "at most 16384"),
        ({"userName": "a\nb"}, InvalidValue, "'userName' must not contain the control character U+000A (LF)"),
        ({"userName": "u", "displayName": "a\x7fb"}, InvalidValue, "'displayName' must not contain the control character U+007F"),
        ({"userName": "u", "externalId": "a\x00"}, InvalidValue, "'externalId' must not contain the control character U+0000"),
        ({"userName": "u", "nickName": "\ud800"}, InvalidValue, "unpaired surrogate"),
        ({"userName": "u", ENTERPRISE_URN: {"manager": 5}}, InvalidValue, "manager' must be the manager's id"),
        ({"userName": "u", ENTERPRISE_URN: {"manager": {"value": 5}}}, InvalidValue, "manager.value' must be a string"),
        ({"userName": "u", ENTERPRISE_URN: "x"}, InvalidValue, "must be a JSON object holding the extension's attributes"),
        ({"userName": "u", "roles": [{"value": '{"id": 1, "value": 25}'}]}, InvalidValue,
         "'roles[0].value' holds a JSON document"),
        ({"name": {"givenName": "a"}}, InvalidValue, "'userName' is required"),
        ({"userName": ""}, InvalidValue, "'userName' is required"),
    ],
)
def test_user_errors(body, error, detail):
    with pytest.raises(error) as raised:
        _coerce(body)
    assert detail in raised.value.detail


def test_not_an_object():
    with pytest.raises(InvalidSyntax, match="must be a JSON object"):
        coerce_resource(USER_RESOURCE, ["userName"], quirks=set())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"members": []}, "'displayName' is required"),
        ({"displayName": "G", "members": [{"display": "x"}]}, "'members[0].value' is required"),
        ({"displayName": "G", "userName": "x"}, "Group has no attribute 'userName'"),
        ({"displayName": "G", ENTERPRISE_URN: {}}, "Group has no schema extension"),
    ],
)
def test_group_errors(body, detail):
    with pytest.raises((InvalidSyntax, InvalidValue)) as raised:
        _coerce(body, GROUP_RESOURCE)
    assert detail in raised.value.detail


# -- members ----------------------------------------------------------------------------------------


def test_members_entra_and_okta_shapes():
    quirks: set[str] = set()
    members = coerce_members(
        [
            {"$ref": None, "value": "f648f8d5ea4e4cd38e9c"},  # the tutorial, "Group operations"
            {"value": "00u1", "display": "test.user@okta.local"},  # Okta reference, "Update specific Group membership"
            {"value": "g2", "type": "group", "$ref": "https://x/Groups/g2"},
            {"value": "f648f8d5ea4e4cd38e9c", "type": "User"},  # duplicate: first kept
        ],
        quirks=quirks,
    )
    assert members == [MemberRef("f648f8d5ea4e4cd38e9c"), MemberRef("00u1"), MemberRef("g2", "Group")]
    assert quirks == set()


def test_members_single_object_and_empty():
    quirks: set[str] = set()
    assert coerce_members({"value": "u1"}, quirks=quirks) == [MemberRef("u1")]
    assert quirks == {"single-value-wrapped"}
    assert coerce_members(None, quirks=quirks) == []
    assert coerce_members([], quirks=quirks) == []


@pytest.mark.parametrize(
    ("value", "error", "detail"),
    [
        ([{"value": 5}], InvalidValue, "'members[0].value' is required and must be the member's id"),
        ([{"value": ""}], InvalidValue, "'members[0].value' is required"),
        ([{"$ref": None}], InvalidValue, "'members[0].value' is required"),
        (["u1"], InvalidValue, "'members[0]' must be a JSON object"),
        ([{"value": "u1", "type": "Robot"}], InvalidValue, "'members[0].type' must be \"User\" or \"Group\""),
        ([{"value": "u1", "$ref": 5}], InvalidValue, "'members[0].$ref' must be a string or null"),
        ([{"value": "u1", "operation": "delete"}], InvalidSyntax, "'members[0]' has no sub-attribute 'operation'"),
        ("u1", InvalidValue, "'members' must be a JSON array"),
    ],
)
def test_members_errors(value, error, detail):
    with pytest.raises(error) as raised:
        coerce_members(value, quirks=set())
    assert detail in raised.value.detail


def test_extract_members():
    assert extract_members({"displayName": "G"}, quirks=set()) is None
    assert extract_members({"Members": [{"value": "u1"}]}, quirks=set()) == [MemberRef("u1")]


# -- single values (PATCH) --------------------------------------------------------------------------


def test_coerce_value():
    quirks: set[str] = set()
    assert coerce_value(USER_RESOURCE, resolve(USER_RESOURCE, None, "active"), "False", quirks=quirks) is False
    assert coerce_value(USER_RESOURCE, resolve(USER_RESOURCE, None, "name", "givenName"), "Bob", quirks=quirks) == "Bob"
    assert coerce_value(USER_RESOURCE, resolve(USER_RESOURCE, None, "emails"), {"value": "a"}, quirks=quirks) == [{"value": "a"}]
    assert coerce_value(USER_RESOURCE, resolve(USER_RESOURCE, ENTERPRISE_URN, "manager"), "m1", quirks=quirks) == {"value": "m1"}
    assert coerce_value(USER_RESOURCE, resolve(USER_RESOURCE, None, "nickName"), "", quirks=quirks) is None
    assert quirks == {"string-boolean", "single-value-wrapped", "manager-string"}
    with pytest.raises(Mutability, match="'id' is read-only"):
        coerce_value(USER_RESOURCE, resolve(USER_RESOURCE, None, "id"), "x", quirks=quirks)
    with pytest.raises(InvalidValue, match=r"'emails\.primary' must be a boolean"):
        coerce_value(USER_RESOURCE, resolve(USER_RESOURCE, None, "emails", "primary"), "nope", quirks=quirks)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("dateTime", "2011-05-13T04:42:34Z", "2011-05-13T04:42:34Z"),
        ("dateTime", "2011-05-13T04:42:34.5+02:00", "2011-05-13T04:42:34.5+02:00"),
        ("integer", 3, 3),
        ("decimal", 2.5, 2.5),
        ("decimal", 2, 2),
        ("binary", "QUJD", "QUJD"),
        ("reference", "https://example.com/x", "https://example.com/x"),
    ],
)
def test_scalar_types(kind, value, expected):
    assert coerce_scalar(Attribute(name="x", type=kind), value, quirks=set(), label="x") == expected


@pytest.mark.parametrize(
    ("kind", "value", "detail"),
    [
        ("dateTime", "2011-05-13T04:42:34", "with a time zone"),
        ("dateTime", "2011-05-13", "with a time zone"),
        ("dateTime", "yesterday", "ISO 8601"),
        ("dateTime", 5, "must be a string"),
        ("integer", 2.5, "must be an integer"),
        ("integer", True, "must be a number"),
        ("integer", "3", "must be a number"),
        ("decimal", float("nan"), "finite"),
        ("decimal", False, "must be a number"),
    ],
)
def test_scalar_type_errors(kind, value, detail):
    with pytest.raises(InvalidValue, match=detail):
        coerce_scalar(Attribute(name="x", type=kind), value, quirks=set(), label="x")


def test_an_extra_sub_attribute_of_a_member_is_dropped_and_recorded():
    quirks: set[str] = set()
    members = coerce_members([{"value": "u1", "displayName": "Alice", "display": "alice@x"}], quirks=quirks)
    assert [member.value for member in members] == ["u1"]
    assert quirks == {"member-extra-sub-attribute"}
