"""fluid_scim.scim_http.bulk: which use case each (resource type, method) of a Bulk operation runs."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g

from fluid_scim.errors import InvalidValue
from fluid_scim.patch import Operation
from fluid_scim.schema import RESOURCE_TYPES
from fluid_scim.scim_http import bulk
from fluid_scim.scim_http.errors import scim_error_answer
from fluid_scim.services import groups, request_context, users
from tests.support.urns import PATCH_OP_URN

METHODS = ("POST", "PUT", "PATCH", "DELETE")  # RFC 7644 §3.7, as the BulkRequest message accepts them
ORGANISATION: Any = object()
BODY = {"userName": "x"}
VERSION = 'W/"2"'
PATCH_BODY = {
    "schemas": [PATCH_OP_URN],
    "Operations": [{"op": "Replace", "path": "title", "value": "T"}],
}
PATCHED = [Operation("replace", "title", "T", 0)]

# What a request to the same endpoint runs, with the keywords it gives the use case.
EXPECTED: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("Users", "POST"): ("users.create_user", {"organisation": ORGANISATION, "body": BODY}),
    ("Users", "PUT"): (
        "users.replace_user",
        {"organisation": ORGANISATION, "user_id": "id-1", "body": BODY, "if_match": VERSION},
    ),
    ("Users", "PATCH"): (
        "users.patch_user",
        {"organisation": ORGANISATION, "user_id": "id-1", "operations": PATCHED, "if_match": VERSION},
    ),
    ("Users", "DELETE"): ("users.delete_user", {"organisation": ORGANISATION, "user_id": "id-1", "if_match": VERSION}),
    ("Groups", "POST"): ("groups.create_group", {"organisation": ORGANISATION, "body": BODY}),
    ("Groups", "PUT"): (
        "groups.replace_group",
        {"organisation": ORGANISATION, "group_id": "id-1", "body": BODY, "if_match": VERSION},
    ),
    ("Groups", "PATCH"): (
        "groups.patch_group",
        # Recorded as answered 200, as the operation's result in the Bulk response says.
        {"organisation": ORGANISATION, "group_id": "id-1", "operations": PATCHED, "if_match": VERSION, "respond_with_body": True},
    ),
    ("Groups", "DELETE"): ("groups.delete_group", {"organisation": ORGANISATION, "group_id": "id-1", "if_match": VERSION}),
}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every use case replaced by one that notes how it was called."""
    made: list[tuple[str, dict[str, Any]]] = []
    for module, name in [(users, "users"), (groups, "groups")]:
        noun = name[:-1]
        for verb in ("create", "replace", "patch", "delete"):
            label = f"{name}.{verb}_{noun}"
            monkeypatch.setattr(module, f"{verb}_{noun}", lambda _label=label, **keywords: made.append((_label, keywords)))
    return made


def test_the_table_covers_every_advertised_resource_type_and_method_and_nothing_else():
    advertised = {(resource_type.endpoint.lstrip("/"), method) for resource_type in RESOURCE_TYPES for method in METHODS}
    assert set(bulk._DISPATCH) == advertised == set(EXPECTED)


@pytest.mark.parametrize("pair", sorted(EXPECTED))
def test_each_pair_runs_the_use_case_of_the_same_endpoint(calls, pair):
    method = pair[1]
    on_resource = method != "POST"
    target = bulk._Target(
        ORGANISATION, "id-1" if on_resource else None, PATCH_BODY if method == "PATCH" else BODY, VERSION if on_resource else None
    )
    with request_context.acting(request_context.RequestContext(kind="scim")) as context:
        bulk._DISPATCH[pair](target)
    assert calls == [EXPECTED[pair]]
    # A PATCH's operations are read with this request's quirks ("Replace" is Entra's capitalisation).
    assert context.quirks == ({"op-case"} if method == "PATCH" else set())


@pytest.mark.parametrize(
    ("operation", "detail"),
    [
        ({"method": "POST", "path": "/Users/id-1", "bulkId": "b"}, "POST is not allowed on /Users/id-1"),
        ({"method": "PUT", "path": "/Groups"}, "PUT is not allowed on /Groups"),
        ({"method": "PATCH", "path": "/Users"}, "PATCH is not allowed on /Users"),
        ({"method": "DELETE", "path": "/Groups"}, "DELETE is not allowed on /Groups"),
        ({"method": "GET", "path": "/Users/id-1"}, "GET is not allowed on /Users/id-1"),
        ({"method": "POST", "path": "/Users"}, "a POST operation needs a bulkId"),
        ({"method": "PUT", "path": "/Schemas/x"}, "path must be /Users, /Groups, /Users/{id} or /Groups/{id}; got '/Schemas/x'"),
    ],
)
def test_an_operation_the_table_does_not_answer_is_an_invalid_value(calls, operation, detail):
    with Flask(__name__).test_request_context():
        g.organisation = ORGANISATION
        with pytest.raises(InvalidValue) as refused:
            bulk._run({"data": {}, **operation}, {})
    answer = scim_error_answer(refused.value)
    assert (answer.status, answer.body.get("scimType"), refused.value.detail) == (400, "invalidValue", detail)
    assert calls == []
