"""The in-memory evaluator of fluid_scim.filters on hand-made SCIM users."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluid_scim.filters import (
    And,
    AttributeInfo,
    AttrPath,
    Filter,
    FilterError,
    Not,
    Or,
    compile_predicate,
    matches,
    parse_filter,
)
from tests.support.urns import ENTERPRISE_URN, FLUID_URN, USER_URN

STRING = AttributeInfo("string")
EXACT = AttributeInfo("string", case_exact=True)
BOOLEAN = AttributeInfo("boolean")
MULTI_COMPLEX = AttributeInfo("complex", multi_valued=True)

# (schema or "" for core, attribute, sub-attribute or "") -> info, all lower-case.
SCHEMA: dict[tuple[str, str, str], AttributeInfo] = {
    ("", "username", ""): STRING,
    ("", "externalid", ""): EXACT,
    ("", "title", ""): STRING,
    ("", "usertype", ""): STRING,
    ("", "nickname", ""): STRING,
    ("", "active", ""): BOOLEAN,
    ("", "schemas", ""): AttributeInfo("reference", case_exact=True, multi_valued=True),
    ("", "name", ""): AttributeInfo("complex"),
    ("", "name", "givenname"): STRING,
    ("", "name", "familyname"): STRING,
    ("", "emails", ""): MULTI_COMPLEX,
    ("", "emails", "value"): STRING,
    ("", "emails", "type"): STRING,
    ("", "emails", "primary"): BOOLEAN,
    ("", "roles", ""): MULTI_COMPLEX,
    ("", "roles", "value"): STRING,
    ("", "roles", "primary"): BOOLEAN,
    ("", "x509certificates", ""): MULTI_COMPLEX,
    ("", "x509certificates", "value"): AttributeInfo("binary", case_exact=True),
    ("", "meta", ""): AttributeInfo("complex"),
    ("", "meta", "lastmodified"): AttributeInfo("dateTime"),
    (ENTERPRISE_URN.lower(), "employeenumber", ""): STRING,
    (ENTERPRISE_URN.lower(), "manager", ""): AttributeInfo("complex"),
    (ENTERPRISE_URN.lower(), "manager", "value"): STRING,
    (FLUID_URN.lower(), "accessgranted", ""): BOOLEAN,
    (FLUID_URN.lower(), "level", ""): AttributeInfo("integer"),
    (FLUID_URN.lower(), "score", ""): AttributeInfo("decimal"),
}


def attribute(path: AttrPath) -> AttributeInfo:
    schema = (path.schema or "").lower()
    if schema == USER_URN.lower():
        schema = ""
    key = (schema, path.attr.lower(), (path.sub_attr or "").lower())
    if key not in SCHEMA:
        raise FilterError(f"unknown attribute {path}")
    return SCHEMA[key]


ALICE: dict[str, Any] = {
    "schemas": [USER_URN, ENTERPRISE_URN, FLUID_URN],
    "userName": "Alice@Example.COM",
    "externalId": "ExT-1",
    "title": "",
    "userType": "Employee",
    "active": True,
    "name": {"givenName": "Alice", "familyName": "O'Malley"},
    "emails": [
        {"value": "alice@work.example", "type": "work", "primary": True},
        {"value": "ALICE@home.example", "type": "home"},
    ],
    "roles": [{"value": "admin", "primary": True}, {"value": "user", "primary": False}],
    "x509Certificates": [{"value": "TUlJREFEQ0NB"}],
    "meta": {"lastModified": "2011-05-13T04:42:34Z"},
    ENTERPRISE_URN: {"employeeNumber": "701984", "manager": {"value": "bob-id"}},
    FLUID_URN: {"accessGranted": True, "level": 3, "score": 2.5},
}
BOB: dict[str, Any] = {
    "userName": "bob",
    "active": False,
    "nickName": None,
    "title": "VP",
    "emails": [],
    "roles": [{"value": "user"}],
    "meta": {"lastModified": "2011-05-13T06:42:35+02:00"},  # 04:42:35Z
    "urn:FLUID:params:scim:schemas:extension:fluid:2.0:user": {"accessGranted": False},
}
EMPTY: dict[str, Any] = {}

CASES: list[tuple[str, dict[str, Any], bool]] = [
    # case-insensitive string attribute, exact one
    ('userName eq "alice@example.com"', ALICE, True),
    ('USERNAME Eq "ALICE@EXAMPLE.COM"', ALICE, True),
    ('userName sw "ALICE@"', ALICE, True),
    ('userName ew ".com"', ALICE, True),
    ('userName co "E@eX"', ALICE, True),
    ('userName gt "alice"', ALICE, True),
    ('userName lt "alice@example.com"', ALICE, False),
    ('userName le "alice@example.com"', ALICE, True),
    ('externalId eq "ExT-1"', ALICE, True),
    ('externalId eq "ext-1"', ALICE, False),
    ('externalId co "T-"', ALICE, True),
    # multi-valued: any value; complex without sub-attribute compares .value
    ('emails co "@home.example"', ALICE, True),
    ('emails.value eq "alice@home.example"', ALICE, True),
    ('emails.type eq "other"', ALICE, False),
    ('emails[type eq "work" and value co "@work."]', ALICE, True),
    ('emails[type eq "work" and value co "@home."]', ALICE, False),
    ('emails[type eq "home" or primary eq true]', ALICE, True),
    ('emails[not (type eq "work")]', ALICE, True),
    ('emails[type eq "work"].value eq "alice@work.example"', ALICE, True),
    ('emails[type eq "home"].value eq "alice@work.example"', ALICE, False),
    ('emails[type eq "home"].primary pr', ALICE, False),
    ('emails[type eq "work"].primary pr', ALICE, True),
    ('emails[type eq "work"]', BOB, False),
    (f'schemas eq "{ENTERPRISE_URN}"', ALICE, True),
    (f'schemas eq "{ENTERPRISE_URN.upper()}"', ALICE, False),
    ('x509Certificates eq "TUlJREFEQ0NB"', ALICE, True),
    # booleans, including Entra's "True" strings
    ("active eq true", ALICE, True),
    ("active eq TRUE", BOB, False),
    ("active ne true", BOB, True),
    ('active eq "False"', BOB, True),
    ('roles[primary eq "True"]', ALICE, True),
    ('roles[primary eq "true"].value eq "admin"', ALICE, True),
    ('roles[primary eq "True"]', BOB, False),
    # dateTime compares instants
    ('meta.lastModified gt "2011-05-13T04:42:34Z"', ALICE, False),
    ('meta.lastModified ge "2011-05-13T04:42:34Z"', ALICE, True),
    ('meta.lastModified eq "2011-05-13T06:42:34+02:00"', ALICE, True),
    ('meta.lastModified gt "2011-05-13T04:42:34Z"', BOB, True),
    ('meta.lastModified lt "2011-05-13T04:42:35.5Z"', BOB, True),
    ('meta.lastModified lt "2011-05-13T04:42:34"', BOB, False),  # naive = UTC
    ('meta.lastModified lt "2012-01-01T00:00:00Z"', EMPTY, False),
    # extensions, qualified paths, case-insensitive URN keys
    (f'{ENTERPRISE_URN}:employeeNumber eq "701984"', ALICE, True),
    (f'{ENTERPRISE_URN.upper()}:EMPLOYEENUMBER eq "701984"', ALICE, True),
    (f'{ENTERPRISE_URN}:manager.value eq "bob-id"', ALICE, True),
    (f"{ENTERPRISE_URN}:employeeNumber pr", BOB, False),
    (f"{FLUID_URN}:accessGranted eq true", ALICE, True),
    (f"{FLUID_URN}:accessGranted eq false", BOB, True),
    (f"{FLUID_URN}:level ge 3 and {FLUID_URN}:level lt 3.5", ALICE, True),
    (f"{FLUID_URN}:level gt 3", ALICE, False),
    (f"{FLUID_URN}:score eq 2.5 and {FLUID_URN}:score gt 2", ALICE, True),
    (f'{USER_URN}:name.givenName eq "alice"', ALICE, True),
    # pr is false for missing, None, "", [], {}
    ("title pr", ALICE, False),
    ("title pr", BOB, True),
    ("nickName pr", BOB, False),
    ("emails pr", BOB, False),
    ("emails pr", ALICE, True),
    ("name pr", ALICE, True),
    ("name pr", EMPTY, False),
    ("title eq null", ALICE, True),
    ("title ne null", BOB, True),
    ("nickName eq null", BOB, True),
    # ne: true when no value equals, including a missing attribute
    ('userName ne "bob"', BOB, False),
    ('userName ne "bob"', ALICE, True),
    ('userName ne "bob"', EMPTY, True),
    ('emails ne "alice@work.example"', ALICE, False),
    ('emails ne "nobody@x"', ALICE, True),
    ('emails.type ne "work"', BOB, True),
    # every other operator is false on a missing attribute
    ('userName eq "bob"', EMPTY, False),
    ('userName co ""', EMPTY, False),
    ('userName co ""', BOB, True),
    ('userName gt ""', EMPTY, False),
    # logic
    ('userType eq "Employee" and (emails co "work.example" or emails.value co "example.org")', ALICE, True),
    ('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', BOB, True),
    ('not (userName eq "bob") or active eq true', BOB, False),
]


@pytest.mark.parametrize(("text", "resource", "expected"), CASES)
def test_matches(text: str, resource: dict[str, Any], expected: bool) -> None:
    assert matches(parse_filter(text), resource, attribute=attribute) is expected


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("active gt true", "'gt' cannot be used with the boolean attribute 'active'"),
        ('active eq "yes"', "cannot compare the boolean attribute 'active' with \"yes\""),
        ("active eq 1", "cannot compare the boolean attribute 'active' with 1"),
        ("userName eq 1", "cannot compare the string attribute 'userName' with 1"),
        ("userName eq true", "cannot compare the string attribute 'userName' with true"),
        (f'{FLUID_URN}:level eq "3"', "cannot compare the integer attribute"),
        (f"{FLUID_URN}:level co 3", "'co' only works on strings"),
        (f"{FLUID_URN}:level eq true", "cannot compare the integer attribute"),
        ('meta.lastModified co "2011"', "'co' only works on strings"),
        ('meta.lastModified gt "yesterday"', "ISO 8601"),
        ("meta.lastModified gt 5", "ISO 8601"),
        ('x509Certificates gt "A"', "'gt' cannot be used with the binary attribute"),
        ('name eq "x"', "'name' is a complex attribute"),
        ("userName gt null", "cannot compare with null"),
        ('userName[value eq "x"]', "'userName' is not a complex attribute"),
        ('emails[emails.value eq "x"]', "must be a plain sub-attribute name"),
        ('nosuch eq "x"', "unknown attribute"),
        ('emails[nosuch eq "x"]', "unknown attribute"),
        # checked before evaluation, even on the right of a false 'and'
        ('userName eq "nobody" and active gt true', "boolean attribute"),
    ],
)
def test_type_errors_do_not_depend_on_data(text: str, phrase: str) -> None:
    node = parse_filter(text)
    for resource in (ALICE, BOB, EMPTY):
        with pytest.raises(FilterError, match=re.escape(phrase)):
            matches(node, resource, attribute=attribute)


def test_compile_predicate_reuses_one_check() -> None:
    predicate = compile_predicate(parse_filter('emails[type eq "work"]'), attribute=attribute)
    assert [predicate(user) for user in (ALICE, BOB, EMPTY)] == [True, False, False]


# Leaves valid for the schema above; the property below composes them.
LEAVES = [parse_filter(text) for text, _, _ in CASES[:40]]


def combine(children: st.SearchStrategy[Filter]) -> st.SearchStrategy[Filter]:
    return st.one_of(st.builds(And, children, children), st.builds(Or, children, children), st.builds(Not, children))


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.sampled_from(LEAVES), combine, max_leaves=8), st.sampled_from([ALICE, BOB, EMPTY]))
def test_logic_is_boolean_algebra(node: Filter, resource: dict[str, Any]) -> None:
    def expected(tree: Filter) -> bool:
        if isinstance(tree, And):
            return expected(tree.left) and expected(tree.right)
        if isinstance(tree, Or):
            return expected(tree.left) or expected(tree.right)
        if isinstance(tree, Not):
            return not expected(tree.operand)
        return matches(tree, resource, attribute=attribute)

    assert matches(node, resource, attribute=attribute) is expected(node)
