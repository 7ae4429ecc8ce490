"""No single authenticated request keeps a worker busy for long: every dimension a request's work grows
with is bounded (docs/scim.md, "Limits"), the worst shape just inside each bound completes, and the
shape just over it is refused with a clear 4xx before anything changes (RFC 7644 §3.12 errors;
§3.7.4: Bulk over its limits is 413).

The bounds are the control, and the refusals are what these tests assert. How long each worst accepted
shape took is printed (``pytest -s``) as a report; the only time asserted is half of gunicorn's worker
timeout, the point past which a worker would be close to being killed mid-request. A tighter figure
would measure the machine (one shape took 6.5 s on this project's two-core CI host while other
suites ran beside it), and speed is the benchmark's to measure (bench/README.md)."""

from __future__ import annotations

import ast
import base64
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.tenants import ScimClient
from tests.support.urns import BULK_REQUEST_URN, ERROR_URN, GROUP_URN, PATCH_OP_URN, SEARCH_REQUEST_URN, USER_URN

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
# What each timed request took, printed at the end of the module (pytest -s shows it).
MEASURED: dict[str, float] = {}


def _worker_timeout() -> float:
    """gunicorn's ``timeout`` as gunicorn.conf.py sets it (read, not run: running it configures metrics)."""
    tree = ast.parse((ROOT / "gunicorn.conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "timeout" for t in node.targets):
            return float(ast.literal_eval(node.value))
    raise AssertionError("gunicorn.conf.py sets no timeout")


WORKER_TIMEOUT = _worker_timeout()
WITHIN = WORKER_TIMEOUT / 2  # the worst accepted request of each kind ends well before gunicorn would kill its worker


@pytest.fixture(scope="module", autouse=True)
def _report() -> Any:
    yield
    width = max((len(name) for name in MEASURED), default=0)
    print(f"\nworst accepted shapes (limit {WITHIN:.1f}s = half of gunicorn's timeout {WORKER_TIMEOUT:.0f}s):")
    for name, seconds in MEASURED.items():
        print(f"  {name:<{width}}  {seconds:6.2f}s")


BACKEND = ["?"]


@pytest.fixture
def scim(live_server: Any, tenant: Any, database_url: str) -> ScimClient:
    BACKEND[0] = database_url.split(":", 1)[0]
    return ScimClient(live_server.url, tenant)


def _send(scim: ScimClient, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
    """One request with a timeout longer than the worker's, so a stuck worker shows as its own failure."""
    headers = {"User-Agent": "fluid-scim-tests"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/scim+json"
        data = json.dumps(body)
    return requests.request(
        method, f"{scim.base_url}/scim/v2{path}", data=data, timeout=WORKER_TIMEOUT + 30,
        headers={**headers, "Host": scim.tenant.host, "Authorization": f"Bearer {scim.tenant.token}"}, **kwargs,
    )


def _timed(name: str, send: Callable[[], requests.Response], status: int) -> requests.Response:
    started = time.perf_counter()
    response = send()
    elapsed = time.perf_counter() - started
    MEASURED[f"{BACKEND[0]}: {name} [{response.status_code}]"] = elapsed
    assert response.status_code == status, response.text[:500]
    assert elapsed < WITHIN, f"{name} took {elapsed:.2f}s, more than {WITHIN:.1f}s"
    return response


def _refused(response: requests.Response, status: int, scim_type: str | None, *details: str) -> None:
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert body["schemas"] == [ERROR_URN] and body["status"] == str(status)
    assert body.get("scimType") == scim_type, body
    for detail in details:
        assert detail in body["detail"], body["detail"]


def _patch(operations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP_URN], "Operations": operations}


def _bulk(operations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [BULK_REQUEST_URN], "Operations": operations}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _user(scim: ScimClient, **attributes: Any) -> dict[str, Any]:
    response = _send(scim, "POST", "/Users", {"schemas": [USER_URN], "userName": _name("u"), **attributes})
    assert response.status_code == 201, response.text[:500]
    return response.json()


def _count(scim: ScimClient, filter_text: str, path: str = "/Users") -> int:
    response = _send(scim, "GET", path, params={"filter": filter_text, "count": 0})
    assert response.status_code == 200, response.text[:300]
    return int(response.json()["totalResults"])


# -- how many values a multi-valued attribute holds -------------------------------------------------

ENTRY: dict[str, Callable[[int], dict[str, Any]]] = {
    "emails": lambda i: {"value": f"person.{i}@example.com", "type": "work"},
    "phoneNumbers": lambda i: {"value": f"+44 20 7946 {i:04d}", "type": "work"},
    "ims": lambda i: {"value": f"im-{i}", "type": "xmpp"},
    "photos": lambda i: {"value": f"https://photos.example.com/{i}.jpg", "type": "photo"},
    "addresses": lambda i: {"formatted": f"{i} Example Street", "type": "work"},
    "x509Certificates": lambda i: {"value": base64.b64encode(f"certificate {i}".encode()).decode()},
    "entitlements": lambda i: {"value": f"entitlement-{i}"},
    "roles": lambda i: {"value": f"role-{i}"},
}
CAPS = {"emails": 100, "phoneNumbers": 100, "ims": 100, "photos": 100, "addresses": 100, "x509Certificates": 100,
        "entitlements": 1000, "roles": 1000}


@pytest.mark.parametrize("attribute", list(CAPS))
def test_a_multi_valued_attribute_holds_at_most_its_cap(scim, attribute):
    cap, entry = CAPS[attribute], ENTRY[attribute]
    full = _timed(
        f"POST {attribute} x{cap}",
        lambda: _send(scim, "POST", "/Users", {"schemas": [USER_URN], "userName": _name("full"),
                                               attribute: [entry(i) for i in range(cap)]}),
        201,
    ).json()
    assert len(full[attribute]) == cap

    over = _send(scim, "POST", "/Users", {"schemas": [USER_URN], "userName": _name("over"),
                                          attribute: [entry(i) for i in range(cap + 1)]})
    _refused(over, 400, "invalidValue", f"'{attribute}' has {cap + 1:,} values; '{attribute}' holds at most {cap:,}")
    assert _count(scim, 'userName sw "over-"') == 0

    grown = _send(scim, "PATCH", f"/Users/{full['id']}", _patch([{"op": "add", "path": attribute, "value": [entry(cap)]}]))
    _refused(grown, 400, "invalidValue", f"Operations[0]: '{attribute}' would hold {cap + 1:,} values")
    assert len(_send(scim, "GET", f"/Users/{full['id']}").json()[attribute]) == cap


# -- PATCH: operations, and entries x filter terms ---------------------------------------------------

EMAILS = 100  # the most a user may hold
TWO_TERMS = 'emails[value eq "person.{i}@example.com" or type eq "home"].display'  # or + 2 comparisons: 3 terms
PER_OPERATION = EMAILS * 3 + 1  # each entry once per term, plus the value given
WITHIN_BUDGET = 200_000 // PER_OPERATION  # 664 operations


def _email_user(scim: ScimClient) -> str:
    return _user(scim, emails=[ENTRY["emails"](i) for i in range(EMAILS)])["id"]


def _filtered(count: int) -> list[dict[str, Any]]:
    return [{"op": "replace", "path": TWO_TERMS.format(i=i % EMAILS), "value": f"d{i}"} for i in range(count)]


def test_patch_filters_are_bounded_by_entries_times_terms(scim):
    user_id = _email_user(scim)
    _timed(f"PATCH {WITHIN_BUDGET} 3-term filters x {EMAILS} emails",
           lambda: _send(scim, "PATCH", f"/Users/{user_id}", _patch(_filtered(WITHIN_BUDGET))), 200)

    nick = {"op": "replace", "path": "nickName", "value": "changed"}
    over = _send(scim, "PATCH", f"/Users/{user_id}", _patch([*_filtered(WITHIN_BUDGET + 1), nick]))
    _refused(over, 400, "tooMany", f"Operations[{WITHIN_BUDGET}]:", "at most 200,000 in one request", "nothing was changed")
    assert "nickName" not in _send(scim, "GET", f"/Users/{user_id}").json()


def test_the_widest_accepted_filters_stay_fast(scim):
    """Seven operations whose filters have 255 terms (the most a filter may have) over 100 emails."""
    user_id = _email_user(scim)

    def groups(count: int) -> str:  # groups of 16 comparisons joined by or: 16 x count + 15 x count + count - 1 terms
        return "(" + ") or (".join(" or ".join(f'value eq "w{g}-{i}"' for i in range(16)) for g in range(count)) + ")"

    over = _send(scim, "PATCH", f"/Users/{user_id}", _patch([{"op": "remove", "path": f"emails[{groups(9)}]"}]))
    _refused(over, 400, "invalidFilter", "at most 256 comparisons and logical operators")
    widest = groups(8)  # 255 terms
    operations = [{"op": "remove", "path": f"emails[{widest}]"} for _ in range(7)]  # 7 x (100 x 255 + 1) = 178,507
    _timed("PATCH 7 x 255-term filters x 100 emails",
           lambda: _send(scim, "PATCH", f"/Users/{user_id}", _patch(operations)), 200)


def test_patch_over_its_operation_count_is_refused(scim):
    user_id = _email_user(scim)
    simple = [{"op": "replace", "path": 'emails[value eq "person.1@example.com"].display', "value": f"v{i}"}
              for i in range(1000)]
    _timed("PATCH 1000 filtered operations x 100 emails",
           lambda: _send(scim, "PATCH", f"/Users/{user_id}", _patch(simple)), 200)
    over = _send(scim, "PATCH", f"/Users/{user_id}", _patch([*simple, {"op": "replace", "path": "nickName", "value": "x"}]))
    _refused(over, 400, "invalidSyntax", "Operations: must hold between 1 and 1000 operations")
    assert "nickName" not in _send(scim, "GET", f"/Users/{user_id}").json()


def test_a_thousand_roles_take_a_thousand_cheap_operations(scim):
    """Entra's app roles: a user with the most roles, every one removed by value in one PATCH."""
    roles = [ENTRY["roles"](i) for i in range(1000)]
    user_id = _user(scim, roles=roles)["id"]
    # Remove-by-value (Entra's form) with all 1,000 roles given: one lookup each, not 1,000 x 1,000 comparisons.
    _timed("PATCH remove 1000 roles by value",
           lambda: _send(scim, "PATCH", f"/Users/{user_id}", _patch([{"op": "remove", "path": "roles", "value": roles}])),
           200)
    _timed("PATCH add 1000 roles",
           lambda: _send(scim, "PATCH", f"/Users/{user_id}", _patch([{"op": "add", "path": "roles", "value": roles}])), 200)
    one_by_one = [{"op": "remove", "path": f'roles[value eq "role-{i}"]'} for i in range(199)]  # 199 x 1,001 ≤ 200,000
    _timed("PATCH 199 filtered removes x 1000 roles",
           lambda: _send(scim, "PATCH", f"/Users/{user_id}", _patch(one_by_one)), 200)
    over = [{"op": "remove", "path": f'roles[value eq "role-{i}"]'} for i in range(199, 549)]  # 350 x ~700 > 200,000
    _refused(_send(scim, "PATCH", f"/Users/{user_id}", _patch(over)), 400, "tooMany", "entries x filter terms")
    assert len(_send(scim, "GET", f"/Users/{user_id}").json()["roles"]) == 801


# -- filters ------------------------------------------------------------------------------------------


def _balanced(count: int) -> str:
    """``count`` comparisons in groups of 16 joined by or: depth stays low, terms and length grow."""
    groups = [" or ".join(f'title co "t{g}{i}"' for i in range(16)) for g in range(count // 16)]
    return "(" + ") or (".join(groups) + ")"


def test_query_filters_are_bounded_in_length_depth_and_terms(scim):
    for index in range(20):
        _user(scim, title=f"t{index % 8}{index}", emails=[ENTRY["emails"](index)])
    widest = _balanced(128)  # 128 comparisons + 127 or = 255 terms
    assert len(widest) <= 4096
    _timed("GET filter of 255 terms", lambda: _send(scim, "GET", "/Users", params={"filter": widest}), 200)
    search = {"schemas": [SEARCH_REQUEST_URN], "filter": widest, "sortBy": "emails.value", "count": 1000}
    _timed("POST .search 255 terms, sorted", lambda: _send(scim, "POST", "/Users/.search", search), 200)

    over_terms = widest + ' or title pr'
    _refused(_send(scim, "GET", "/Users", params={"filter": over_terms}), 400, "invalidFilter", "at most 256")
    deep = "(" * 33 + 'title pr' + ")" * 33
    _refused(_send(scim, "GET", "/Users", params={"filter": deep}), 400, "invalidFilter", "at most 32 levels")
    assert _send(scim, "GET", "/Users", params={"filter": "(" * 31 + "title pr" + ")" * 31}).status_code == 200
    long_value = 'title eq "' + "x" * 4085 + '"'  # 4,096 characters
    assert _send(scim, "POST", "/Users/.search", {"schemas": [SEARCH_REQUEST_URN], "filter": long_value}).status_code == 200
    longer = {"schemas": [SEARCH_REQUEST_URN], "filter": long_value[:-1] + 'x"'}
    _refused(_send(scim, "POST", "/Users/.search", longer), 400, "invalidFilter", "4097 characters long; at most 4096")


def test_patch_path_filters_have_the_query_filter_bounds(scim):
    user_id = _email_user(scim)
    deep = "emails[" + "(" * 32 + 'type eq "home"' + ")" * 32 + "]"
    _refused(_send(scim, "PATCH", f"/Users/{user_id}", _patch([{"op": "remove", "path": deep}])), 400, "invalidFilter",
             "at most 32 levels")
    long_path = 'emails[value eq "' + "x" * 4096 + '"]'
    _refused(_send(scim, "PATCH", f"/Users/{user_id}", _patch([{"op": "remove", "path": long_path}])), 400,
             "invalidFilter", "at most 4096")
    assert len(_send(scim, "GET", f"/Users/{user_id}").json()["emails"]) == EMAILS


def test_projection_and_sorting_parameters_are_bounded(scim):
    _user(scim, title="projected")
    names = ["userName", "title", "emails.value", "name.givenName"] * 250  # 1,000 names (a query string holds fewer)
    search = {"schemas": [SEARCH_REQUEST_URN], "attributes": names}
    _timed("POST .search attributes: 1000 names", lambda: _send(scim, "POST", "/Users/.search", search), 200)
    search = {"schemas": [SEARCH_REQUEST_URN], "excludedAttributes": ["title"] * 1001}
    _refused(_send(scim, "POST", "/.search", search), 400, "invalidValue",
             "'excludedAttributes' lists 1,001 names; at most 1,000")
    root = {"schemas": [SEARCH_REQUEST_URN], "attributes": [f"unknown{i}" for i in range(1000)]}
    _timed("POST /.search 1000 unknown names", lambda: _send(scim, "POST", "/.search", root), 200)
    sort_by = "urn:example:" + "x" * 1000 + ":title"  # 1,018 characters: a path, just unknown
    _refused(_send(scim, "GET", "/Users", params={"sortBy": sort_by}), 400, "invalidValue", "cannot sort by")
    longer = {"schemas": [SEARCH_REQUEST_URN], "sortBy": "a" * 1025}
    _refused(_send(scim, "POST", "/Users/.search", longer), 400, "invalidValue",
             "sortBy is 1,025 characters long; an attribute path has at most 1,024")


# -- Bulk ---------------------------------------------------------------------------------------------


def _created(scim: ScimClient, prefix: str) -> int:
    return _count(scim, f'userName sw "{prefix}"')


def test_bulk_over_max_operations_is_413_before_anything_runs(scim):
    config = _send(scim, "GET", "/ServiceProviderConfig").json()["bulk"]
    maximum, payload = config["maxOperations"], config["maxPayloadSize"]
    prefix = _name("ops")

    def create(index: int) -> dict[str, Any]:
        return {"method": "POST", "path": "/Users", "bulkId": f"b{index}",
                "data": {"schemas": [USER_URN], "userName": f"{prefix}-{index}"}}

    _timed(f"Bulk {maximum} POST /Users", lambda: _send(scim, "POST", "/Bulk", _bulk([create(i) for i in range(maximum)])),
           200)
    assert _created(scim, prefix) == maximum

    later = _name("late")
    too_many = [{**create(i), "data": {"schemas": [USER_URN], "userName": f"{later}-{i}"}} for i in range(maximum + 1)]
    _refused(_send(scim, "POST", "/Bulk", _bulk(too_many)), 413, None,
             f"the number of operations ({maximum + 1:,}) exceeds the maxOperations ({maximum})")
    assert _created(scim, later) == 0

    big = {"schemas": [BULK_REQUEST_URN], "Operations": [create(0)], "padding": "x" * payload}
    _refused(_send(scim, "POST", "/Bulk", big), 413, None)
    assert _created(scim, f"{prefix}-0") == 1  # only the one of the first request


def test_bulk_value_rows_are_bounded_per_request(scim):
    prefix = _name("rows")

    def create(index: int, values: int) -> dict[str, Any]:
        emails = [{"value": f"{index}.{i}@example.com"} for i in range(values)]
        return {"method": "POST", "path": "/Users", "bulkId": f"b{index}",
                "data": {"schemas": [USER_URN], "userName": f"{prefix}-{index}", "emails": emails}}

    # 50 users x 100 emails: 5,000 rows, the most one request may write.
    _timed("Bulk 50 POST x 100 emails (5,000 rows)",
           lambda: _send(scim, "POST", "/Bulk", _bulk([create(i, 100) for i in range(50)])), 200)
    assert _created(scim, prefix) == 50

    more = _name("more")
    operations = [{**create(i, 100), "data": {**create(i, 100)["data"], "userName": f"{more}-{i}"}} for i in range(51)]
    response = _send(scim, "POST", "/Bulk", _bulk(operations))
    assert response.status_code == 200, response.text[:300]
    results = response.json()["Operations"]
    assert [result["status"] for result in results] == ["424"] * 50 + ["400"]
    refused = results[-1]["response"]
    assert refused["scimType"] == "tooMany"
    assert "Operations[50]: creating this user passes the request's write limit" in refused["detail"]
    assert "5,100 values" in refused["detail"] and "at most 5,000" in refused["detail"]
    assert _created(scim, more) == 0


def test_every_bound_of_one_bulk_request_at_once(scim):
    """The bounds together: maxOperations creates, 10 with a password, 5,000 values, in one request."""
    maximum = _send(scim, "GET", "/ServiceProviderConfig").json()["bulk"]["maxOperations"]
    prefix = _name("all")
    operations = []
    for index in range(maximum):
        data: dict[str, Any] = {"schemas": [USER_URN], "userName": f"{prefix}-{index}",
                                "emails": [{"value": f"{index}.{i}@example.com"} for i in range(5_000 // maximum)]}
        if index % (maximum // 10) == 0:
            data["password"] = f"Pa55-{uuid.uuid4().hex}"
        operations.append({"method": "POST", "path": "/Users", "bulkId": f"b{index}", "data": data})
    _timed(f"Bulk {maximum} POST, 10 passwords, 5,000 values", lambda: _send(scim, "POST", "/Bulk", _bulk(operations)),
           200)
    assert _created(scim, prefix) == maximum


def test_passwords_hashed_per_request_are_bounded(scim):
    prefix = _name("pw")

    def create(index: int, name: str) -> dict[str, Any]:
        return {"method": "POST", "path": "/Users", "bulkId": f"b{index}",
                "data": {"schemas": [USER_URN], "userName": f"{name}-{index}", "password": f"Pa55-{uuid.uuid4().hex}"}}

    _timed("Bulk 10 POST with passwords", lambda: _send(scim, "POST", "/Bulk", _bulk([create(i, prefix) for i in range(10)])),
           200)
    assert _created(scim, prefix) == 10
    more = _name("pwx")
    results = _send(scim, "POST", "/Bulk", _bulk([create(i, more) for i in range(11)])).json()["Operations"]
    assert [result["status"] for result in results] == ["424"] * 10 + ["400"]
    assert results[-1]["response"]["scimType"] == "tooMany"
    assert "Operations[10]: setting this user's password passes the request's limit of 10 passwords set" in (
        results[-1]["response"]["detail"])
    assert _created(scim, more) == 0


def test_bulk_operations_share_one_patch_budget(scim):
    """Each PATCH alone is within the budget; together they are not, and the first is undone."""
    user_id = _email_user(scim)
    half = _filtered(WITHIN_BUDGET // 2 + 1)
    operations = [{"method": "PATCH", "path": f"/Users/{user_id}", "data": _patch(half)} for _ in range(2)]
    results = _send(scim, "POST", "/Bulk", _bulk(operations)).json()["Operations"]
    assert [result["status"] for result in results] == ["424", "400"]
    assert results[1]["response"]["scimType"] == "tooMany"
    assert "entries x filter terms" in results[1]["response"]["detail"]
    assert "display" not in _send(scim, "GET", f"/Users/{user_id}").json()["emails"][0]


# -- group members ------------------------------------------------------------------------------------


def _stored_users(app: Any, slug: str, count: int) -> list[str]:
    """``count`` active users written straight to the database (creating them over HTTP would take minutes)."""
    from sqlalchemy import select

    from fluid_scim.extensions import db
    from fluid_scim.models import Organisation
    from tests.support.users import add_many_users

    with app.app_context():
        organisation = db.session.execute(select(Organisation).where(Organisation.slug == slug)).scalar_one()
        ids = [user.id for user in add_many_users(organisation, (f"member-{index}" for index in range(count)))]
        db.session.commit()
        return ids


def _members(ids: list[str]) -> list[dict[str, str]]:
    return [{"value": member} for member in ids]


def test_members_per_request_are_bounded_but_groups_are_not(app, scim):
    """A request changes at most 5,000 members of a group; a group holds more, changed over several requests."""
    ids = _stored_users(app, scim.tenant.slug, 5_001)
    group = _send(scim, "POST", "/Groups", {"schemas": [GROUP_URN], "displayName": _name("large")})
    assert group.status_code == 201, group.text[:300]
    group_id = group.json()["id"]
    add = _patch([{"op": "add", "path": "members", "value": _members(ids[:5_000])}])
    _timed("PATCH group: add 5,000 members", lambda: _send(scim, "PATCH", f"/Groups/{group_id}", add), 204)
    over = _patch([{"op": "replace", "path": "members", "value": _members(ids)}])
    _refused(_send(scim, "PATCH", f"/Groups/{group_id}", over), 400, "invalidValue",
             "5,001 members given; at most 5,000 may change in one request")
    created = _send(scim, "POST", "/Groups", {"schemas": [GROUP_URN], "displayName": _name("big"), "members": _members(ids)})
    _refused(created, 400, "invalidValue", "at most 5,000 may change in one request")
    last = _send(scim, "PATCH", f"/Groups/{group_id}", _patch([{"op": "add", "path": "members", "value": _members(ids[-1:])}]))
    assert last.status_code == 204, last.text[:300]
    assert _count(scim, f'members.value eq "{ids[-1]}"', "/Groups") == 1
    assert _count(scim, f'members.value eq "{ids[0]}"', "/Groups") == 1


ACCESS_GRANTED = "urn:fluid:params:scim:schemas:extension:fluid:2.0:User:accessGranted eq true"


def test_access_changes_per_request_are_bounded(app, scim):
    """Members added to or removed from the access group have their access worked out again: at most 10,000
    a request (an identity provider's full push: 5,000 members in, 5,000 others out), however the request
    is split into operations."""
    ids = _stored_users(app, scim.tenant.slug, 10_001)
    # The organisation's access group, which every new organisation has (found as Entra finds it).
    found = _send(scim, "GET", "/Groups", params={"filter": 'displayName eq "Fluid User"', "excludedAttributes": "members"})
    group_id = found.json()["Resources"][0]["id"]
    add = _patch([{"op": "add", "path": "members", "value": _members(ids[:5_000])}])
    _timed("PATCH access group: add 5,000 members", lambda: _send(scim, "PATCH", f"/Groups/{group_id}", add), 204)
    one_more = _send(scim, "PATCH", f"/Groups/{group_id}", _patch([{"op": "add", "path": "members",
                                                                    "value": _members(ids[-1:])}]))
    assert one_more.status_code == 204, one_more.text[:300]
    assert _count(scim, ACCESS_GRANTED) == 5_001

    swap = _patch([{"op": "remove", "path": "members", "value": _members(ids[:5_000])},
                   {"op": "add", "path": "members", "value": _members(ids[5_000:10_000])}])
    _timed("PATCH access group: 5,000 members out, 5,000 in", lambda: _send(scim, "PATCH", f"/Groups/{group_id}", swap), 204)
    assert _count(scim, ACCESS_GRANTED) == 5_001
    assert _count(scim, f'members.value eq "{ids[0]}"', "/Groups") == 0

    over = [{"op": "remove", "path": "members", "value": _members(ids[5_000:])},  # 5,001 out
            {"op": "add", "path": "members", "value": _members(ids[:5_000])}]  # 5,000 in
    _refused(_send(scim, "PATCH", f"/Groups/{group_id}", _patch(over)), 400, "tooMany",
             "changes the access to Fluid of 10,001 users; at most 10,000 in one request", "nothing was changed")
    assert _count(scim, f'members.value eq "{ids[0]}"', "/Groups") == 0
    assert _count(scim, f'members.value eq "{ids[-1]}"', "/Groups") == 1
    operations = [{"method": "PATCH", "path": f"/Groups/{group_id}", "data": _patch([part])} for part in over]  # in Bulk
    results = _send(scim, "POST", "/Bulk", _bulk(operations)).json()["Operations"]
    assert [result["status"] for result in results] == ["424", "400"]
    assert results[-1]["response"]["scimType"] == "tooMany"
    assert _count(scim, ACCESS_GRANTED) == 5_001
