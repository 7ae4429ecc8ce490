"""fluid_scim.messages: PatchOp, SearchRequest and BulkRequest envelopes."""

from __future__ import annotations

import pytest

from fluid_scim.errors import InvalidSyntax
from fluid_scim.messages import (
    MAX_PATCH_OPERATIONS,
    describe_errors,
    parse_bulk_request,
    parse_patch_operations,
    parse_search_request,
)
from fluid_scim.patch import Operation
from fluid_scim.scim_http.errors import scim_error_answer
from tests.support.urns import BULK_REQUEST_URN, PATCH_OP_URN, SEARCH_REQUEST_URN


def _patch(operations, **extra):
    return {"schemas": [PATCH_OP_URN], "Operations": operations, **extra}


# -- PatchOp ----------------------------------------------------------------------------------------


def test_entra_patch_body():
    quirks: set[str] = set()
    body = _patch([
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    ])
    assert parse_patch_operations(body, quirks=quirks) == [
        Operation("replace", 'emails[type eq "work"].value', "updatedEmail@microsoft.com", 0),
        Operation("replace", "name.familyName", "updatedFamilyName", 1),
    ]
    assert quirks == {"op-case"}


def test_okta_patch_body_has_no_quirk():
    quirks: set[str] = set()
    assert parse_patch_operations(_patch([{"op": "replace", "value": {"active": False}}]), quirks=quirks) == [
        Operation("replace", None, {"active": False}, 0)
    ]
    assert quirks == set()


def test_structural_keys_and_urn_are_case_insensitive_and_extra_keys_dropped():
    quirks: set[str] = set()
    body = {
        "SCHEMAS": ["URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:PATCHOP"],
        "operations": [{"OP": "REMOVE", "Path": "members", "Value": [{"value": "u1"}], "comment": "x"}],
        "extra": True,
    }
    assert parse_patch_operations(body, quirks=quirks) == [Operation("remove", "members", [{"value": "u1"}], 0)]
    assert quirks == {"op-case"}


def test_null_path_and_missing_value():
    operations = parse_patch_operations(_patch([{"op": "remove", "path": None}, {"op": "add", "path": "x"}]), quirks=set())
    assert operations == [Operation("remove", None, None, 0), Operation("add", "x", None, 1)]


def test_maximum_operations_accepted():
    operations = parse_patch_operations(_patch([{"op": "add", "path": "nickName", "value": "x"}] * MAX_PATCH_OPERATIONS),
                                        quirks=set())
    assert len(operations) == MAX_PATCH_OPERATIONS
    assert operations[-1].index == MAX_PATCH_OPERATIONS - 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ([], "request body: must be a JSON object"),
        ("x", "request body: must be a JSON object"),
        ({"Operations": [{"op": "add"}]}, "schemas: is required"),
        ({"schemas": [SEARCH_REQUEST_URN], "Operations": [{"op": "add"}]},
         f'schemas: must contain "{PATCH_OP_URN}"'),
        ({"schemas": PATCH_OP_URN, "Operations": [{"op": "add"}]}, "schemas: must be an array of schema URIs"),
        ({"schemas": [PATCH_OP_URN]}, "Operations: is required"),
        (_patch([]), "Operations: must hold between 1 and 1000 operations"),
        (_patch([{"op": "add"}] * 1001), "Operations: must hold between 1 and 1000 operations"),
        (_patch({"op": "add"}), "Operations: must be an array of operations"),
        (_patch([{"op": "add"}, {"op": "add"}, {"op": "move"}]), "Operations[2].op: must be add, replace or remove"),
        (_patch([{"op": 1}]), "Operations[0].op: must be add, replace or remove"),
        (_patch([{"path": "x"}]), "Operations[0].op: is required"),
        (_patch([{"op": None}]), "Operations[0].op: must not be null"),
        (_patch([{"op": "add", "path": 5}]), "Operations[0].path: must be a string"),
        (_patch(["add"]), "Operations[0]: must be a JSON object"),
        ({**_patch([{"op": "add"}]), "operations": []}, "Operations: is given twice (keys match case-insensitively)"),
        (_patch([{"op": "add", "OP": "remove"}]), "Operations[0].op: is given twice (keys match case-insensitively)"),
    ],
)
def test_patch_errors(body, detail):
    with pytest.raises(InvalidSyntax) as raised:
        parse_patch_operations(body, quirks=set())
    assert raised.value.detail == detail
    answer = scim_error_answer(raised.value)
    assert answer.status == 400
    assert answer.body["scimType"] == "invalidSyntax"


def test_several_errors_are_listed():
    with pytest.raises(InvalidSyntax) as raised:
        parse_patch_operations(_patch([{"op": "x"}, {"op": "add", "path": 1}]), quirks=set())
    assert raised.value.detail == "Operations[0].op: must be add, replace or remove; Operations[1].path: must be a string"


def test_describe_errors_limits_its_length():
    messages = {"Operations": {index: {"op": ["bad"]} for index in range(8)}}
    assert describe_errors(messages) == (
        "Operations[0].op: bad; Operations[1].op: bad; Operations[2].op: bad; Operations[3].op: bad; "
        "Operations[4].op: bad; and 3 more"
    )
    assert describe_errors({}) == "the request body is invalid"
    assert describe_errors({"_schema": ["whole body"]}) == "request body: whole body"


# -- SearchRequest ----------------------------------------------------------------------------------


def test_search_request_full():
    body = {
        "schemas": [SEARCH_REQUEST_URN],
        "attributes": ["displayName", "userName"],
        "excludedAttributes": "emails, name.givenName",
        "filter": 'displayName sw "smith"',
        "sortBy": "userName",
        "sortOrder": "Descending",
        "startIndex": 1,
        "count": 10,
    }
    assert parse_search_request(body) == {
        "attributes": ["displayName", "userName"],
        "excludedAttributes": ["emails", "name.givenName"],
        "filter": 'displayName sw "smith"',
        "sortBy": "userName",
        "sortOrder": "descending",
        "startIndex": 1,
        "count": 10,
    }


def test_search_request_minimal_cursor_and_clamping():
    assert parse_search_request({"schemas": [SEARCH_REQUEST_URN]}) == {}
    assert parse_search_request({"schemas": [SEARCH_REQUEST_URN], "cursor": "", "count": "5"}) == {"cursor": "", "count": 5}
    assert parse_search_request({"schemas": [SEARCH_REQUEST_URN], "startIndex": -4, "count": -1, "filter": None}) == {
        "startIndex": 1, "count": 0,
    }
    listed = parse_search_request({"schemas": [SEARCH_REQUEST_URN], "Attributes": ["a,b", " c "]})
    assert listed == {"attributes": ["a", "b", "c"]}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "schemas: is required"),
        ({"schemas": [PATCH_OP_URN]}, f'schemas: must contain "{SEARCH_REQUEST_URN}"'),
        ({"schemas": [SEARCH_REQUEST_URN], "count": True}, "count: must be an integer"),
        ({"schemas": [SEARCH_REQUEST_URN], "count": 1.5}, "count: must be an integer"),
        ({"schemas": [SEARCH_REQUEST_URN], "startIndex": "one"}, "startIndex: must be an integer"),
        ({"schemas": [SEARCH_REQUEST_URN], "sortOrder": "up"}, "sortOrder: must be ascending or descending"),
        ({"schemas": [SEARCH_REQUEST_URN], "filter": 5}, "filter: must be a string"),
        ({"schemas": [SEARCH_REQUEST_URN], "attributes": [1]},
         "attributes: must be an array of attribute names or a comma-separated string"),
        ({"schemas": [SEARCH_REQUEST_URN], "excludedAttributes": {"a": 1}},
         "excludedAttributes: must be an array of attribute names or a comma-separated string"),
        ({"schemas": [SEARCH_REQUEST_URN], "cursor": 3}, "cursor: must be a string"),
    ],
)
def test_search_request_errors(body, detail):
    with pytest.raises(InvalidSyntax) as raised:
        parse_search_request(body)
    assert raised.value.detail == detail


# -- BulkRequest ------------------------------------------------------------------------------------


ADD_MEMBER = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:qwerty"}]}]}


def test_bulk_request():
    body = {
        "schemas": [BULK_REQUEST_URN],
        "failOnErrors": 1,
        "Operations": [
            {"method": "post", "path": "/Users", "bulkId": "qwerty", "data": {"userName": "Alice"}},
            {"method": "PATCH", "path": "/Groups/g1", "version": 'W/"3"', "data": ADD_MEMBER},
            {"method": "Delete", "path": "/Users/u9", "bulkId": None},
        ],
    }
    assert parse_bulk_request(body) == {
        "failOnErrors": 1,
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": {"userName": "Alice"}},
            {"method": "PATCH", "path": "/Groups/g1", "version": 'W/"3"', "data": ADD_MEMBER},
            {"method": "DELETE", "path": "/Users/u9"},
        ],
    }


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"Operations": [{"method": "DELETE", "path": "/Users/1"}]}, "schemas: is required"),
        ({"schemas": [BULK_REQUEST_URN]}, "Operations: is required"),
        ({"schemas": [BULK_REQUEST_URN], "Operations": []}, "Operations: must hold at least one operation"),
        ({"schemas": [BULK_REQUEST_URN], "Operations": [{"method": "GET", "path": "/Users"}]},
         "Operations[0].method: must be POST, PUT, PATCH or DELETE"),
        ({"schemas": [BULK_REQUEST_URN], "Operations": [{"method": "POST", "path": "/Users", "data": {}}]},
         "Operations[0].bulkId: is required when method is POST"),
        ({"schemas": [BULK_REQUEST_URN], "Operations": [{"method": "PUT", "path": "/Users/1"}]},
         "Operations[0].data: must be a JSON object when method is PUT"),
        ({"schemas": [BULK_REQUEST_URN], "Operations": [{"method": "DELETE", "path": ""}]},
         "Operations[0].path: must not be empty"),
        ({"schemas": [BULK_REQUEST_URN], "Operations": [{"method": "DELETE"}]}, "Operations[0].path: is required"),
        ({"schemas": [BULK_REQUEST_URN], "failOnErrors": -1, "Operations": [{"method": "DELETE", "path": "/Users/1"}]},
         "failOnErrors: must not be negative"),
        ({"schemas": [BULK_REQUEST_URN], "failOnErrors": "x", "Operations": [{"method": "DELETE", "path": "/Users/1"}]},
         "failOnErrors: must be an integer"),
    ],
)
def test_bulk_request_errors(body, detail):
    with pytest.raises(InvalidSyntax) as raised:
        parse_bulk_request(body)
    assert raised.value.detail == detail
