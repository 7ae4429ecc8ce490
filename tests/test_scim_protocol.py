"""RFC 7644 protocol behaviour over HTTP: discovery, listing, projection, versions, Bulk, media types, errors."""

from __future__ import annotations

import uuid

import pytest

from tests.support.tenants import ScimClient
from tests.support.urns import (
    BULK_REQUEST_URN,
    ENTERPRISE_URN,
    ERROR_URN,
    FLUID_URN,
    GROUP_URN,
    PATCH_OP_URN,
    SEARCH_REQUEST_URN,
    USER_URN,
)

pytestmark = pytest.mark.live



@pytest.fixture
def scim(live_server, tenant) -> ScimClient:
    return ScimClient(live_server.url, tenant)


def _user(scim: ScimClient, user_name: str | None = None, **extra) -> dict:
    response = scim.post("/Users", {"schemas": [USER_URN], "userName": user_name or f"u-{uuid.uuid4().hex[:10]}", **extra})
    assert response.status_code == 201, response.text
    return response.json()


def _error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["schemas"] == [ERROR_URN] and body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert "Traceback" not in body["detail"] and "SELECT" not in body["detail"]
    return body


# -- discovery ------------------------------------------------------------------------------


def test_service_provider_config_describes_what_is_implemented(scim):
    body = scim.get("/ServiceProviderConfig").json()
    assert body["patch"] == {"supported": True} and body["sort"] == {"supported": True} and body["etag"] == {"supported": True}
    assert body["filter"] == {"supported": True, "maxResults": 1000}
    assert body["bulk"] == {"supported": True, "maxOperations": 200, "maxPayloadSize": 1048576}
    assert body["changePassword"] == {"supported": False}


def test_schemas_and_resource_types(scim):
    schemas = scim.get("/Schemas").json()
    ids = [item["id"] for item in schemas["Resources"]]
    assert ids == [USER_URN, ENTERPRISE_URN, FLUID_URN, GROUP_URN] and schemas["totalResults"] == 4
    user = scim.get(f"/Schemas/{USER_URN}").json()
    by_name = {attribute["name"]: attribute for attribute in user["attributes"]}
    assert by_name["userName"]["uniqueness"] == "server" and by_name["userName"]["caseExact"] is False
    assert by_name["password"]["returned"] == "never" and by_name["password"]["mutability"] == "writeOnly"
    assert by_name["groups"]["mutability"] == "readOnly"
    assert {sub["name"] for sub in by_name["emails"]["subAttributes"]} == {"value", "display", "type", "primary"}
    types = scim.get("/ResourceTypes").json()["Resources"]
    assert [(t["id"], t["endpoint"], t["schema"]) for t in types] == [
        ("User", "/Users", USER_URN), ("Group", "/Groups", GROUP_URN)
    ]
    assert types[0]["schemaExtensions"] == [
        {"schema": ENTERPRISE_URN, "required": False}, {"schema": FLUID_URN, "required": False}
    ]
    assert scim.get("/ResourceTypes/Group").json()["name"] == "Group"
    _error(scim.get("/ResourceTypes/Device"), 404)
    _error(scim.get("/Schemas/urn:nope"), 404)


@pytest.mark.parametrize("path", ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_discovery_is_read_only(scim, path, method):
    _error(scim.request(method, path, {"schemas": []}), 405)


def test_me_is_not_implemented(scim):
    _error(scim.get("/Me"), 501)


# -- listing --------------------------------------------------------------------------------


def test_paging_counting_and_sorting(scim):
    prefix = uuid.uuid4().hex[:6]
    names = [f"{prefix}-{letter}" for letter in "dbeac"]
    for name in names:
        _user(scim, name, title=name[-1].upper())
    query = {"filter": f'userName sw "{prefix}"', "sortBy": "userName"}
    page = scim.get("/Users", params={**query, "startIndex": 2, "count": 2}).json()
    assert page["totalResults"] == 5 and page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert [item["userName"] for item in page["Resources"]] == [f"{prefix}-b", f"{prefix}-c"]
    descending = scim.get("/Users", params={**query, "sortOrder": "descending", "count": 1}).json()
    assert descending["Resources"][0]["userName"] == f"{prefix}-e"
    counted = scim.get("/Users", params={**query, "count": 0}).json()
    assert counted["totalResults"] == 5 and counted["Resources"] == [] and counted["itemsPerPage"] == 0
    beyond = scim.get("/Users", params={**query, "startIndex": 99}).json()
    assert beyond["totalResults"] == 5 and beyond["Resources"] == []
    lenient = scim.get("/Users", params={**query, "startIndex": -3, "count": -1}).json()
    assert lenient["startIndex"] == 1 and lenient["Resources"] == []
    _error(scim.get("/Users", params={"count": "ten"}), 400, "invalidValue")
    _error(scim.get("/Users", params={"sortOrder": "sideways"}), 400, "invalidValue")


def test_filter_errors_are_invalid_filter(scim):
    for bad in ["userName eq", 'userName zz "x"', 'noSuchAttribute eq "x"', '(userName eq "x"', "x" * 5000]:
        _error(scim.get("/Users", params={"filter": bad}), 400, "invalidFilter")
    huge = " or ".join(f'userName eq "{i}"' for i in range(1000))
    search = {"schemas": [SEARCH_REQUEST_URN], "filter": huge}
    _error(scim.post("/Users/.search", search), 400, "invalidFilter")


def test_attribute_projection_on_reads_and_writes(scim):
    user = _user(scim, displayName="Ann", name={"givenName": "Ann", "familyName": "Lee"}, emails=[{"value": "a@x"}])
    only = scim.get(f"/Users/{user['id']}", params={"attributes": "name.givenName,emails"}).json()
    assert set(only) == {"schemas", "id", "name", "emails"} and only["name"] == {"givenName": "Ann"}
    without = scim.get(f"/Users/{user['id']}", params={"excludedAttributes": "emails,meta,id"}).json()
    assert "emails" not in without and "meta" not in without and without["id"] == user["id"], "id is always returned"
    created = scim.post("/Users?attributes=userName", {"schemas": [USER_URN], "userName": f"p-{uuid.uuid4().hex[:8]}"})
    assert set(created.json()) == {"schemas", "id", "userName"}
    assert created.json()["schemas"] == [USER_URN]
    patched = scim.patch(f"/Users/{user['id']}?excludedAttributes=name", [{"op": "replace", "path": "title", "value": "T"}])
    assert "name" not in patched.json() and patched.json()["title"] == "T"
    group = scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": f"G {uuid.uuid4()}"}).json()
    shown = scim.patch(
        f"/Groups/{group['id']}?attributes=displayName", [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}]
    )
    assert shown.status_code == 200 and set(shown.json()) == {"schemas", "id", "displayName"}
    _error(scim.get("/Users", params={"attributes": "nope"}), 400, "invalidValue")


def test_a_users_groups_read_alike_by_id_by_user_name_and_in_a_page(scim):
    """A GET by id or by userName reads a user with its groups in one statement; a page and the answer of a
    change read them by a query of their own: the groups (value, display, $ref) and their order are the same on every path,
    whatever the names' case and accents."""
    member, loner = _user(scim), _user(scim)
    suffix = uuid.uuid4().hex[:6]
    for name in ("beta", "Alpha", "Émile", "zed", "Zed two", "ábaco"):
        group = scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": f"{name} {suffix}"}).json()
        added = scim.patch(f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": member["id"]}]}])
        assert added.status_code in (200, 204), added.text

    def read_every_way(user: dict) -> list:
        by_id = scim.get(f"/Users/{user['id']}").json().get("groups")
        found = scim.get("/Users", params={"filter": f'userName eq "{user["userName"]}"'}).json()["Resources"]
        page = scim.get("/Users", params={"startIndex": 1, "count": 1000}).json()["Resources"]
        in_page = next(listed for listed in page if listed["id"] == user["id"]).get("groups")
        # Ordered by the database (groups_of_users), where a GET's are ordered by its aggregate.
        changed = scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "title", "value": "T"}]).json().get("groups")
        assert by_id == found[0].get("groups") == in_page == changed
        return by_id or []

    shown = read_every_way(member)
    assert len(shown) == 6
    assert all(group["display"].endswith(suffix) and group["$ref"].endswith(group["value"]) for group in shown)
    assert read_every_way(loner) == []


def test_search_endpoints(scim):
    user = _user(scim)
    body = {
        "schemas": [SEARCH_REQUEST_URN],
        "filter": f'userName eq "{user["userName"]}"',
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 10,
    }
    found = scim.post("/Users/.search", body).json()
    assert found["totalResults"] == 1 and set(found["Resources"][0]) == {"schemas", "id", "userName"}
    root = scim.post("/.search", body).json()
    assert root["totalResults"] == 1 and root["Resources"][0]["id"] == user["id"]
    group = scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": f"S {uuid.uuid4()}"}).json()
    groups = scim.post("/.search", {**body, "filter": f'displayName eq "{group["displayName"]}"', "attributes": []}).json()
    assert [item["id"] for item in groups["Resources"]] == [group["id"]]


# -- versions -------------------------------------------------------------------------------


def test_etags_if_match_and_if_none_match(scim):
    user = _user(scim)
    path = f"/Users/{user['id']}"
    fetched = scim.get(path)
    assert fetched.headers["ETag"] == user["meta"]["version"] == fetched.json()["meta"]["version"]
    not_modified = scim.get(path, headers={"If-None-Match": fetched.headers["ETag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    changed = scim.patch(path, [{"op": "replace", "path": "title", "value": "A"}], headers={"If-Match": fetched.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != fetched.headers["ETag"]
    stale = scim.patch(path, [{"op": "replace", "path": "title", "value": "B"}], headers={"If-Match": fetched.headers["ETag"]})
    _error(stale, 412)
    assert scim.get(path).json()["title"] == "A"
    _error(scim.delete(path, headers={"If-Match": fetched.headers["ETag"]}), 412)
    assert scim.get(path, headers={"If-None-Match": fetched.headers["ETag"]}).status_code == 200
    assert scim.delete(path, headers={"If-Match": changed.headers["ETag"]}).status_code == 204


# -- media types and bodies -----------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/scim+json", "application/scim+json; charset=utf-8", "application/json"])
def test_both_json_media_types_are_read(scim, content_type):
    response = scim.post(
        "/Users", {"schemas": [USER_URN], "userName": f"m-{uuid.uuid4().hex[:8]}"}, headers={"Content-Type": content_type}
    )
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/scim+json"


def test_bad_bodies_are_clear_errors(scim):
    _error(
        scim.request("POST", "/Users", headers={"Content-Type": "application/scim+json"}, data=b"{not json"), 400, "invalidSyntax"
    )
    _error(
        scim.request("POST", "/Users", headers={"Content-Type": "application/scim+json"}, data=b"\xff\xfe"), 400, "invalidSyntax"
    )
    _error(scim.request("POST", "/Users", headers={"Content-Type": "text/plain"}, data=b"{}"), 415)
    _error(scim.post("/Users", ["a list"]), 400, "invalidSyntax")
    _error(scim.post("/Users", {"schemas": [USER_URN]}), 400, "invalidValue")
    _error(scim.post("/Users", {"schemas": [USER_URN], "userName": "x", "name": "Ada Lovelace"}), 400, "invalidValue")
    _error(scim.request("POST", "/Users", headers={"Content-Type": "application/scim+json"}, data=b"x" * 1_100_000), 413)


# -- Bulk -----------------------------------------------------------------------------------


def _bulk(operations: list[dict], **extra) -> dict:
    return {"schemas": [BULK_REQUEST_URN], "Operations": operations, **extra}


def test_bulk_with_bulk_id_references(scim):
    name = f"bulk-{uuid.uuid4().hex[:8]}"
    response = scim.post(
        "/Bulk",
        _bulk(
            [
                {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"schemas": [USER_URN], "userName": name}},
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "g1",
                    "data": {"schemas": [GROUP_URN], "displayName": f"Bulk {name}", "members": [{"value": "bulkId:u1"}]},
                },
                {
                    "method": "PATCH",
                    "path": "/Users/bulkId:u1",
                    "data": {
                        "schemas": [PATCH_OP_URN],
                        "Operations": [{"op": "replace", "path": "title", "value": "Bulk"}],
                    },
                },
            ],
            failOnErrors=1,
        ),
    )
    assert response.status_code == 200, response.text
    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["201", "201", "200"]
    user_id = results[0]["location"].rsplit("/", 1)[1]
    group = scim.get("/Groups/" + results[1]["location"].rsplit("/", 1)[1]).json()
    assert [m["value"] for m in group["members"]] == [user_id]
    assert scim.get(f"/Users/{user_id}").json()["title"] == "Bulk"


def test_bulk_is_all_or_nothing(scim):
    taken = _user(scim)["userName"]
    fresh = f"fresh-{uuid.uuid4().hex[:8]}"
    response = scim.post(
        "/Bulk",
        _bulk(
            [
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER_URN], "userName": fresh}},
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [USER_URN], "userName": taken}},
                {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"schemas": [USER_URN], "userName": fresh + "-c"}},
            ]
        ),
    )
    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["424", "409"]
    assert results[1]["response"]["scimType"] == "uniqueness" and results[1]["response"]["detail"].startswith("Operations[1]:")
    assert scim.get("/Users", params={"filter": f'userName eq "{fresh}"'}).json()["totalResults"] == 0


def test_bulk_limits(scim):
    too_many = [{"method": "DELETE", "path": f"/Users/{i}"} for i in range(201)]
    _error(scim.post("/Bulk", _bulk(too_many)), 413)
    unresolved = scim.post("/Bulk", _bulk([{"method": "PATCH", "path": "/Users/bulkId:nope", "data": {}}])).json()
    assert unresolved["Operations"][0]["status"] == "409"


def test_cursor_pagination_visits_every_user_once(scim):
    prefix = uuid.uuid4().hex[:6]
    ids = {_user(scim, f"{prefix}-{i}")["id"] for i in range(7)}
    query = {"filter": f'userName sw "{prefix}"', "count": 3}
    seen: list[str] = []
    page = scim.get("/Users", params={**query, "cursor": ""}).json()
    assert "startIndex" not in page and "previousCursor" not in page
    pages = 1
    while True:
        seen += [item["id"] for item in page["Resources"]]
        if "nextCursor" not in page:
            break
        previous = page
        page = scim.get("/Users", params={**query, "cursor": page["nextCursor"]}).json()
        pages += 1
        assert page["previousCursor"]
    assert pages == 3 and len(seen) == 7 and set(seen) == ids and page["totalResults"] == 7
    back = scim.get("/Users", params={**query, "cursor": page["previousCursor"]}).json()
    assert [item["id"] for item in back["Resources"]] == [item["id"] for item in previous["Resources"]]
    other_query = scim.get("/Users", params={"filter": 'userName sw "zz"', "count": 3, "cursor": page["previousCursor"]})
    _error(other_query, 400, "invalidCursor")
    _error(scim.get("/Users", params={"cursor": "not-a-cursor"}), 400, "invalidCursor")
    _error(scim.get("/Users", params={"cursor": "", "startIndex": 1}), 400, "invalidValue")
    assert scim.get("/ServiceProviderConfig").json()["pagination"]["cursor"] is True


def test_parallel_creates_of_one_user_name_make_one_user(scim):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(15):
            name = f"race-{uuid.uuid4().hex[:8]}"
            bodies = [{"schemas": [USER_URN], "userName": name}, {"schemas": [USER_URN], "userName": name.upper()}]
            statuses = sorted(response.status_code for response in pool.map(lambda b: scim.post("/Users", b), bodies))
            assert statuses == [201, 409]
            assert scim.get("/Users", params={"filter": f'userName eq "{name}"'}).json()["totalResults"] == 1


def test_parallel_member_additions_are_all_kept(scim):
    from concurrent.futures import ThreadPoolExecutor

    members = [_user(scim)["id"] for _ in range(20)]
    group = scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": f"Race {uuid.uuid4()}"}).json()
    path = f"/Groups/{group['id']}"

    def add(member_id: str) -> int:
        return scim.patch(path, [{"op": "Add", "path": "members", "value": [{"value": member_id}]}]).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(add, members)) == {204}
    assert {m["value"] for m in scim.get(path).json()["members"]} == set(members)
