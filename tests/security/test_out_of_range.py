"""Numbers and shapes out of range are the caller's mistake: a 4xx with a detail that says what,
never a 500 or a masked "Unexpected error." (RFC 7644 §3.12 for SCIM; GraphQL errors naming the
variable for the admin API).

The classes: integers of thousands of digits (Python's int parsing refuses them with a bare
ValueError), integers beyond 64 bits (the SQL columns and the database's JSON codec), infinite or
NaN numbers, paging positions past 64 bits in SQL, forged cursor positions and feed sequence
numbers, GraphQL Int variables past 32 bits, and request bodies nested or listed without bound.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.support.graphql import credential
from tests.support.tenants import Tenant
from tests.support.urns import ERROR_URN, USER_URN

SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
THOUSANDS = "9" * 5000


def _scim_headers(tenant: Tenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.token}", "Host": tenant.host, "Content-Type": "application/scim+json"}


def _scim_error(response: Any, status: int, scim_type: str) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json(force=True)
    assert body["schemas"] == [ERROR_URN] and body["status"] == str(status) and body.get("scimType") == scim_type, body
    return body["detail"]


def _user_body(name: str, extra: str) -> str:
    return '{"schemas":["' + USER_URN + '"],"userName":"' + name + '",' + extra + "}"


def _graphql(client: FlaskClient, app: Flask, tenant: Tenant, body: str | dict[str, Any]) -> Any:
    headers = {"Authorization": f"Bearer {credential(app, tenant.slug)}", "Host": tenant.host, "Content-Type": "application/json"}
    return client.post("/graphql", data=body if isinstance(body, str) else json.dumps(body), headers=headers)


# -- SCIM: numbers in bodies ------------------------------------------------------------------------


def test_an_integer_of_thousands_of_digits_in_a_scim_body_is_invalid_value(client: FlaskClient, tenant: Tenant) -> None:
    headers = _scim_headers(tenant)
    created = client.post("/scim/v2/Users", data=_user_body("digits@example.com", f'"title":{THOUSANDS}'), headers=headers)
    detail = _scim_error(created, 400, "invalidValue")
    assert "out of range" in detail and "(5000 characters)" in detail
    search_body = '{"schemas":["' + SEARCH_URN + '"],"count":' + THOUSANDS + "}"
    search = client.post("/scim/v2/Users/.search", data=search_body, headers=headers)
    assert "out of range" in _scim_error(search, 400, "invalidValue")


def test_an_integer_beyond_64_bits_is_refused_and_the_largest_kept_exactly(client: FlaskClient, tenant: Tenant) -> None:
    headers = _scim_headers(tenant)
    beyond = client.post("/scim/v2/Users", data=_user_body("big@example.com", f'"title":{2**64}'), headers=headers)
    assert "integers must lie between -9223372036854775808 and 9223372036854775807" in _scim_error(beyond, 400, "invalidValue")
    largest = client.post("/scim/v2/Users", data=_user_body("largest@example.com", f'"level":{2**63 - 1}'), headers=headers)
    assert largest.status_code == 201, largest.get_data(as_text=True)
    read = client.get(f"/scim/v2/Users/{largest.get_json(force=True)['id']}", headers=headers)
    assert read.status_code == 200 and read.get_json(force=True)["level"] == 2**63 - 1  # not turned into a float


def test_a_number_out_of_range_in_an_undeclared_attribute_drops_it_never_the_user(
    client: FlaskClient, tenant: Tenant
) -> None:
    """Nobody declared ``level``: the organisation keeps such attributes, but cannot keep this value."""
    headers = _scim_headers(tenant)
    extra = f'"level":{2**64},"badge":{{"n":[1,{THOUSANDS}]}},"urn:example:ext:2.0:User":{{"size":1e400,"kept":1}},"title":"Lead"'
    created = client.post("/scim/v2/Users", data=_user_body("dropped@example.com", extra), headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    user = created.get_json(force=True)
    assert "level" not in user and "badge" not in user and user["title"] == "Lead"
    assert user["urn:example:ext:2.0:User"] == {"kept": 1}
    patch = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[' \
        f'{{"op":"add","path":"level","value":{2**64}}},{{"op":"replace","path":"title","value":"Head"}}]}}'
    patched = client.patch(f"/scim/v2/Users/{user['id']}", data=patch, headers=headers)
    assert patched.status_code == 200, patched.get_data(as_text=True)
    assert "level" not in patched.get_json(force=True) and patched.get_json(force=True)["title"] == "Head"
    refused = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[' \
        f'{{"op":"replace","path":"title","value":{2**64}}}]}}'
    answer = client.patch(f"/scim/v2/Users/{user['id']}", data=refused, headers=headers)
    assert "integers must lie between" in _scim_error(answer, 400, "invalidValue")
    group = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":' + str(2**64) + "}"
    assert "integers must lie between" in _scim_error(client.post("/scim/v2/Groups", data=group, headers=headers), 400,
                                                        "invalidValue")
    for attribute, status in (("level", "201"), ("active", "400")):  # a Bulk request is atomic: one at a time
        bulk = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "one",
             "data": {"schemas": [USER_URN], "userName": f"bulk-{attribute}@example.com", attribute: 0}},
        ]}
        text = json.dumps(bulk).replace(f'"{attribute}": 0', f'"{attribute}": {2**64}')
        answered = client.post("/scim/v2/Bulk", data=text, headers=headers)
        assert answered.status_code == 200, answered.get_data(as_text=True)
        assert [op["status"] for op in answered.get_json(force=True)["Operations"]] == [status]


def test_infinite_and_nan_numbers_never_reach_the_database(client: FlaskClient, tenant: Tenant) -> None:
    headers = _scim_headers(tenant)
    infinite = client.post("/scim/v2/Users", data=_user_body("inf@example.com", '"title":1e400'), headers=headers)
    assert "1e400 is out of range: it is beyond the largest double" in _scim_error(infinite, 400, "invalidValue")
    for literal in ("NaN", "Infinity", "-Infinity"):
        not_json = client.post("/scim/v2/Users", data=_user_body("nan@example.com", f'"level":{literal}'), headers=headers)
        assert f"{literal} is not a JSON number" in _scim_error(not_json, 400, "invalidSyntax")
    listed = client.get("/scim/v2/Users", query_string={"filter": 'userName sw "inf@" or userName sw "nan@"'}, headers=headers)
    assert listed.get_json(force=True)["totalResults"] == 0


# -- SCIM: paging -----------------------------------------------------------------------------------


def test_start_index_and_count_beyond_32_bits_are_invalid_value(client: FlaskClient, tenant: Tenant) -> None:
    headers = _scim_headers(tenant)
    for name, value in (("startIndex", 2**63), ("startIndex", 2**70), ("count", 2**70), ("startIndex", -(2**40))):
        listed = client.get("/scim/v2/Users", query_string={name: str(value)}, headers=headers)
        assert f"{name} must be between -2147483648 and 2147483647" in _scim_error(listed, 400, "invalidValue")
        filtered = client.get("/scim/v2/Groups", query_string={name: str(value), "filter": 'displayName sw "a"'}, headers=headers)
        _scim_error(filtered, 400, "invalidValue")
    searched = client.post(
        "/scim/v2/Users/.search", data=json.dumps({"schemas": [SEARCH_URN], "startIndex": 2**40}), headers=headers
    )
    assert "startIndex must be between" in _scim_error(searched, 400, "invalidValue")
    last = client.get("/scim/v2/Users", query_string={"startIndex": str(2**31 - 1)}, headers=headers)
    assert last.status_code == 200 and last.get_json(force=True)["Resources"] == []


def test_a_cursor_forged_with_a_huge_position_is_invalid_cursor(client: FlaskClient, tenant: Tenant) -> None:
    headers = _scim_headers(tenant)
    for name in ("first@example.com", "second@example.com"):
        assert client.post("/scim/v2/Users", data=_user_body(name, '"active":true'), headers=headers).status_code == 201
    page = client.get("/scim/v2/Users", query_string={"cursor": "", "count": "1"}, headers=headers).get_json(force=True)
    issued = page["nextCursor"]
    position = json.loads(base64.urlsafe_b64decode(issued + "=" * (-len(issued) % 4)))
    for offset in (2**70, 2**63 - 1, 2**31):
        forged = base64.urlsafe_b64encode(json.dumps({**position, "o": offset}).encode()).decode().rstrip("=")
        answer = client.get("/scim/v2/Users", query_string={"cursor": forged, "count": "1"}, headers=headers)
        assert _scim_error(answer, 400, "invalidCursor") == "the cursor is not one this server issued"


def test_filter_numbers_beyond_64_bits_are_invalid_filter(client: FlaskClient, app: Flask, tenant: Tenant) -> None:
    declare = 'mutation { declareAttribute(input: {path: "level", type: INTEGER}) { __typename } }'
    declared = _graphql(client, app, tenant, {"query": declare})
    assert declared.get_json()["data"]["declareAttribute"]["__typename"] == "AttributeDeclared"
    headers = _scim_headers(tenant)
    assert client.post("/scim/v2/Users", data=_user_body("lvl@example.com", '"level":3'), headers=headers).status_code == 201
    for number in ("9" * 30, "-" + "9" * 30, str(2**63)):
        listed = client.get("/scim/v2/Users", query_string={"filter": f"level gt {number}"}, headers=headers)
        assert "is out of range" in _scim_error(listed, 400, "invalidFilter")
        search = {"schemas": [SEARCH_URN], "filter": f"level lt {number}"}
        _scim_error(client.post("/scim/v2/Users/.search", data=json.dumps(search), headers=headers), 400, "invalidFilter")
    within = client.get("/scim/v2/Users", query_string={"filter": f"level lt {2**63 - 1}"}, headers=headers)
    assert within.status_code == 200 and within.get_json(force=True)["totalResults"] == 1


# -- GraphQL --------------------------------------------------------------------------------------


def test_an_int_variable_out_of_range_names_the_variable(client: FlaskClient, app: Flask, tenant: Tenant) -> None:
    cases = [
        ("query($first: Int) { users(first: $first) { edges { cursor } } }", {"first": 2**40}, "$first"),
        ("mutation($p: Int) { setDeprovisioningBrake(enabled: true, percent: $p) { __typename } }", {"p": 2**31}, "$p"),
        ("mutation($p: Int) { setDeprovisioningBrake(enabled: true, percent: $p) { __typename } }", {"p": 1.5}, "$p"),
    ]
    for query, variables, name in cases:
        answer = _graphql(client, app, tenant, {"query": query, "variables": variables})
        assert answer.status_code == 200
        errors = answer.get_json()["errors"]
        assert errors[0]["message"].startswith(f"Variable '{name}' has invalid value: Int cannot represent"), errors
        assert all(error["message"] != "Unexpected error." for error in errors)
    brake = _graphql(client, app, tenant, {"query": "{ organisation { deprovisioningBrake { percent } } }"})
    assert brake.get_json()["data"]["organisation"]["deprovisioningBrake"]["percent"] != 2**31


def test_an_int_literal_of_thousands_of_digits_is_the_callers_mistake(client: FlaskClient, app: Flask, tenant: Tenant) -> None:
    answer = _graphql(client, app, tenant, {"query": "{ users(first: " + THOUSANDS + ") { edges { cursor } } }"})
    errors = answer.get_json()["errors"]
    assert errors == [
        {
            "message": "Int cannot represent non 32-bit signed integer value: a number of 5000 digits",
            "locations": [{"line": 1, "column": 16}],
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ]


def test_a_feed_cursor_past_64_bits_is_bad_user_input(client: FlaskClient, app: Flask, tenant: Tenant) -> None:
    for number in ("9" * 20, str(2**63)):
        cursor = base64.urlsafe_b64encode(f"seq:{number}".encode()).decode().rstrip("=")
        query = {"query": "query($a: String) { provisioningFeed(after: $a) { edges { cursor } } }", "variables": {"a": cursor}}
        errors = _graphql(client, app, tenant, query).get_json()["errors"]
        assert errors[0]["message"] == "after is not a cursor of this feed: pass an endCursor it returned"
        assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}
    largest = base64.urlsafe_b64encode(f"seq:{2**63 - 1}".encode()).decode().rstrip("=")
    query = {"query": "query($a: String) { provisioningFeed(after: $a) { edges { cursor } } }", "variables": {"a": largest}}
    assert _graphql(client, app, tenant, query).get_json() == {"data": {"provisioningFeed": {"edges": []}}}


def test_deep_huge_or_out_of_range_graphql_bodies_are_400(client: FlaskClient, app: Flask, tenant: Tenant) -> None:
    query = "mutation($ids: [ID!]) { releaseHeldChanges(ids: $ids) { __typename } }"
    def raw(ids: str) -> str:
        return '{"query":"' + query + '","variables":{"ids":' + ids + "}}"

    bodies = {
        raw("[" * 100_000 + "]" * 100_000): "nested too deeply",
        json.dumps({"query": query, "variables": {"ids": [[[[[[[[[[["x"]]]]]]]]]]]}}): "deeper than 10 levels",
        json.dumps({"query": query, "variables": {"ids": [str(n) for n in range(1001)]}}): "has 1001 members; at most 1000",
        raw("[" + THOUSANDS + "]"): "out of range",
        raw("[1e400]"): "beyond the largest double",
        raw("[NaN]"): "NaN is not a JSON number",
    }
    for body, detail in bodies.items():
        answer = _graphql(client, app, tenant, body)
        assert answer.status_code == 400, (detail, answer.get_data(as_text=True)[:300])
        errors = answer.get_json()["errors"]
        assert errors[0]["extensions"] == {"code": "BAD_REQUEST"} and detail in errors[0]["message"], errors
    within = json.dumps({"query": query, "variables": {"ids": [str(n) for n in range(1000)]}})
    assert _graphql(client, app, tenant, within).get_json() == {"data": {"releaseHeldChanges": {"__typename": "NotFound"}}}


def test_instants_outside_the_utc_range_are_the_callers_mistake(client: FlaskClient, app: Flask, tenant: Tenant) -> None:
    """Year 1 east of UTC and year 9999 west of it cannot be turned into UTC instants (OverflowError)."""
    declare = 'mutation { declareAttribute(input: {path: "hired", type: DATE_TIME}) { __typename } }'
    declared = _graphql(client, app, tenant, {"query": declare}).get_json()
    assert declared["data"]["declareAttribute"]["__typename"] == "AttributeDeclared"
    headers = _scim_headers(tenant)
    query = (
        "query($a: String, $s: DateTime, $u: DateTime) {"
        " provisioningEvents(after: $a, since: $s, until: $u) { edges { cursor } } }"
    )
    for stamp in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        created = client.post("/scim/v2/Users", data=_user_body("hired@example.com", f'"hired":"{stamp}"'), headers=headers)
        assert "'hired' is out of range" in _scim_error(created, 400, "invalidValue")
        for name in ("s", "u"):
            errors = _graphql(client, app, tenant, {"query": query, "variables": {name: stamp}}).get_json()["errors"]
            label = {"s": "since", "u": "until"}[name]
            assert errors[0]["message"] == f"{label} is out of range: in UTC it falls before year 1 or after year 9999"
            assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
        cursor = base64.urlsafe_b64encode(json.dumps([stamp, "x"]).encode()).decode().rstrip("=")
        errors = _graphql(client, app, tenant, {"query": query, "variables": {"a": cursor}}).get_json()["errors"]
        assert errors[0]["message"].startswith("the cursor is not valid") and errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_nul_in_any_graphql_string_is_bad_user_input(client: FlaskClient, app: Flask, tenant: Tenant) -> None:
    """No text column holds U+0000 (PostgreSQL refuses it): ids, paths and filters with one are refused up front
    (mutations whose result declares ``InvalidInput`` answer it typed: tests/security/test_control_characters.py)."""
    cases = [
        ("mutation($ids: [ID!]) { releaseHeldChanges(ids: $ids) { __typename } }", {"ids": ["x", "\x00"]}, "ids[1]"),
        ('query { users(search: "a\\u0000") { edges { cursor } } }', {}, "a string of the query"),
        ("query($s: String) { users(search: $s) { edges { cursor } } }", {"s": "a\x00b"}, "s"),
        ("query($o: String) { provisioningEvents(operation: $o) { edges { cursor } } }", {"o": "user.\x00"}, "o"),
    ]
    for query, variables, what in cases:
        answer = _graphql(client, app, tenant, {"query": query, "variables": variables})
        assert answer.status_code == 200
        errors = answer.get_json()["errors"]
        assert errors[0]["message"].startswith(f"'{what}'") and "U+0000 (NUL)" in errors[0]["message"], errors
        assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT"}
