"""Hostile and malformed input: each gets a clear SCIM error and changes nothing."""

from __future__ import annotations

import uuid

import pytest

from tests.support.tenants import ScimClient
from tests.support.urns import ERROR_URN, USER_URN

pytestmark = pytest.mark.live



@pytest.fixture
def scim(live_server, tenant) -> ScimClient:
    return ScimClient(live_server.url, tenant)


def _error(response, status, scim_type=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["schemas"] == [ERROR_URN] and body.get("scimType") == scim_type
    assert "Traceback" not in response.text and "sqlalchemy" not in response.text.lower()
    return body


def _count(scim) -> int:
    return scim.get("/Users", params={"count": 0}).json()["totalResults"]


def test_deeply_nested_json_is_refused(scim):
    before = _count(scim)
    deep = b'{"schemas": ["' + USER_URN.encode() + b'"], "userName": "deep", "name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    _error(scim.request("POST", "/Users", headers={"Content-Type": "application/scim+json"}, data=deep), 400, "invalidSyntax")
    assert _count(scim) == before


def test_control_characters_in_user_names_are_refused(scim):
    for name in ("bad\u0000name", "bad\nname", "tab\tname", "bell\u0007"):
        _error(scim.post("/Users", {"schemas": [USER_URN], "userName": name}), 400, "invalidValue")


def test_look_alike_user_names_are_the_same_name(scim):
    base = f"zoe-{uuid.uuid4().hex[:6]}"
    assert scim.post("/Users", {"schemas": [USER_URN], "userName": f"{base}\u00e9@x.com"}).status_code == 201  # é composed
    for variant in (
        f"{base}e\u0301@x.com",
        f"{base.upper()}\u00c9@X.COM",
        f"{base}\uff45\u0301@x.com",
    ):  # decomposed, upper, full-width
        _error(scim.post("/Users", {"schemas": [USER_URN], "userName": variant}), 409, "uniqueness")


@pytest.mark.parametrize(
    ("params", "scim_type"),
    [
        ({"sortBy": "userName; DROP TABLE scim_user"}, "invalidValue"),
        ({"sortBy": "name.givenName) --"}, "invalidValue"),
        ({"attributes": "userName,'; DELETE FROM scim_user; --"}, "invalidValue"),
        ({"excludedAttributes": 'emails[value eq "x"]'}, "invalidValue"),
        ({"filter": 'userName eq "x" or 1=1'}, "invalidFilter"),
        ({"filter": 'userName eq "x\'); DROP TABLE scim_user; --"'}, None),
        ({"filter": "(" * 200 + 'userName eq "x"' + ")" * 200}, "invalidFilter"),
    ],
)
def test_sql_metacharacters_are_data_or_refused(scim, params, scim_type):
    scim.post("/Users", {"schemas": [USER_URN], "userName": f"keep-{uuid.uuid4().hex[:6]}"})
    before = _count(scim)
    response = scim.get("/Users", params=params)
    if scim_type is None:
        assert response.status_code == 200 and response.json()["totalResults"] == 0
    else:
        _error(response, 400, scim_type)
    assert _count(scim) == before


@pytest.mark.parametrize("bad_id", ["..%2F..%2Fetc%2Fpasswd", "' OR '1'='1", "%00", "x" * 300, "1;DROP TABLE scim_user"])
def test_ids_that_are_not_ids_are_404(scim, bad_id):
    group = scim.get("/Groups", params={"filter": 'displayName eq "Fluid User"'}).json()["Resources"][0]["id"]
    for method in ("GET", "DELETE"):
        _error(scim.request(method, f"/Users/{bad_id}"), 404)
    add = scim.patch(f"/Groups/{group}", [{"op": "add", "path": "members", "value": [{"value": bad_id}]}])
    _error(add, 400, "invalidValue")
