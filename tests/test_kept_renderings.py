"""A list page's users are kept as JSON between requests while nothing they show has changed.

What a client sees must be what it would see without the kept records: every change that shows in a
user's representation shows on the next page, whichever way it was made — the user's own attributes,
a group it joins or leaves or that is renamed, its manager's new name (a change to another user's
row), the address the request names, the attributes asked for.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import orjson
import pytest

from fluid_scim.database import json_bytes
from fluid_scim.models import UserRecord
from fluid_scim.repositories.record_cache import BYTES_PER_RECORD, LARGEST_KEPT, KeptRecord, RecordCache, whole
from tests.support.tenants import ScimClient
from tests.support.urns import ENTERPRISE_URN, GROUP_URN, PATCH_OP_URN, USER_URN

FLUID = "fluid-scim-tests"


def _headers(tenant: Any) -> dict[str, str]:
    return {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "User-Agent": FLUID}


def _user(name: str, **enterprise: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "userName": f"{name}@example.com",
        "displayName": name.title(),
        "name": {"givenName": name.title(), "familyName": "Kept"},
        "emails": [{"value": f"{name}@example.com", "type": "work", "primary": True}],
        ENTERPRISE_URN: {"department": "Engineering", **enterprise},
    }
    return body


def _create(client: Any, tenant: Any, body: dict[str, Any], endpoint: str = "Users") -> dict[str, Any]:
    created = client.post(f"/scim/v2/{endpoint}", json=body, headers=_headers(tenant))
    assert created.status_code == 201, created.get_data(as_text=True)
    return created.json


def _patch(client: Any, tenant: Any, path: str, *operations: dict[str, Any]) -> None:
    answer = client.patch(
        f"/scim/v2/{path}", json={"schemas": [PATCH_OP_URN], "Operations": list(operations)}, headers=_headers(tenant)
    )
    assert answer.status_code in (200, 204), answer.get_data(as_text=True)


def _page(client: Any, tenant: Any, **params: Any) -> dict[str, dict[str, Any]]:
    answer = client.get("/scim/v2/Users", query_string={"startIndex": 1, "count": 100, **params}, headers=_headers(tenant))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {user["id"]: user for user in answer.json["Resources"]}


def _one(client: Any, tenant: Any, user_id: str) -> dict[str, Any]:
    answer = client.get(f"/scim/v2/Users/{user_id}", headers=_headers(tenant))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.json


def test_a_page_read_again_is_the_same_and_matches_each_users_get(client, tenant):
    ids = [_create(client, tenant, _user(f"same-{index}"))["id"] for index in range(3)]
    first, second = _page(client, tenant), _page(client, tenant)
    assert first == second
    assert set(first) == set(ids)
    for user_id in ids:
        assert first[user_id] == _one(client, tenant, user_id)


def test_a_change_to_the_user_shows_on_the_next_page(client, tenant):
    user = _create(client, tenant, _user("changes"))
    assert _page(client, tenant)[user["id"]]["name"]["familyName"] == "Kept"
    _patch(client, tenant, f"Users/{user['id']}", {"op": "replace", "path": "name.familyName", "value": "Changed"},
           {"op": "replace", "path": "active", "value": False})
    shown = _page(client, tenant)[user["id"]]
    assert shown["name"]["familyName"] == "Changed"
    assert shown["active"] is False
    assert shown["meta"]["version"] != user["meta"]["version"]
    assert shown == _one(client, tenant, user["id"])


def test_joining_leaving_and_a_renamed_group_show_on_the_next_page(client, tenant):
    user = _create(client, tenant, _user("member"))
    assert "groups" not in _page(client, tenant)[user["id"]]
    group = _create(client, tenant, {"schemas": [GROUP_URN], "displayName": "Before"}, "Groups")
    _patch(client, tenant, f"Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": user["id"]}]})
    assert [g["display"] for g in _page(client, tenant)[user["id"]]["groups"]] == ["Before"]
    _patch(client, tenant, f"Groups/{group['id']}", {"op": "replace", "path": "displayName", "value": "After"})
    assert [g["display"] for g in _page(client, tenant)[user["id"]]["groups"]] == ["After"]
    _patch(client, tenant, f"Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{user["id"]}"]'})
    assert "groups" not in _page(client, tenant)[user["id"]]


def test_a_managers_new_name_and_removal_show_on_the_reports_next_page(client, tenant):
    """The report's own row does not change when its manager is renamed: the name is read for the page
    that asks for it (``manager.displayName`` is ``returned: request``)."""
    manager = _create(client, tenant, _user("boss"))
    report = _create(client, tenant, _user("report", manager={"value": manager["id"]}))
    named = {"attributes": f"{ENTERPRISE_URN}:manager.displayName,{ENTERPRISE_URN}:manager.value"}
    default = _page(client, tenant)[report["id"]]
    assert default[ENTERPRISE_URN]["manager"]["$ref"].endswith(f"/Users/{manager['id']}")
    assert _page(client, tenant, **named)[report["id"]][ENTERPRISE_URN]["manager"]["displayName"] == "Boss"
    _patch(client, tenant, f"Users/{manager['id']}", {"op": "replace", "path": "displayName", "value": "Big Boss"})
    assert _page(client, tenant, **named)[report["id"]][ENTERPRISE_URN]["manager"]["displayName"] == "Big Boss"
    assert _page(client, tenant)[report["id"]] == default == _one(client, tenant, report["id"])
    assert client.delete(f"/scim/v2/Users/{manager['id']}", headers=_headers(tenant)).status_code == 204
    assert _page(client, tenant)[report["id"]] == _one(client, tenant, report["id"])
    assert "$ref" not in _page(client, tenant)[report["id"]][ENTERPRISE_URN].get("manager", {})


def test_each_address_gets_its_own_references(client, tenant):
    user = _create(client, tenant, _user("addressed"))
    plain = _page(client, tenant)[user["id"]]
    answer = client.get("/scim/v2/Users", base_url=f"https://{tenant.host}", headers=_headers(tenant))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    secure = {item["id"]: item for item in answer.json["Resources"]}[user["id"]]
    assert plain["meta"]["location"] == f"http://{tenant.host}/scim/v2/Users/{user['id']}"
    assert secure["meta"]["location"] == f"https://{tenant.host}/scim/v2/Users/{user['id']}"
    assert _page(client, tenant)[user["id"]] == plain


def test_attributes_asked_for_are_projected_after_a_full_page(client, tenant):
    user = _create(client, tenant, _user("projected"))
    assert "emails" in _page(client, tenant)[user["id"]]
    assert set(_page(client, tenant, attributes="userName")[user["id"]]) == {"schemas", "id", "userName"}
    assert "emails" not in _page(client, tenant, excludedAttributes="emails")[user["id"]]
    assert "emails" in _page(client, tenant)[user["id"]]


def test_a_deleted_user_leaves_the_page(client, tenant):
    kept, gone = (_create(client, tenant, _user(name))["id"] for name in ("stays", "leaves"))
    assert set(_page(client, tenant)) == {kept, gone}
    assert client.delete(f"/scim/v2/Users/{gone}", headers=_headers(tenant)).status_code == 204
    assert set(_page(client, tenant)) == {kept}


def test_organisations_never_share_a_kept_record(client, tenant, app):
    from tests.support.tenants import make_tenant

    other = make_tenant(app)
    mine = _create(client, tenant, _user("mine"))
    theirs = _create(client, other, _user("mine"))
    assert set(_page(client, tenant)) == {mine["id"]}
    assert set(_page(client, other)) == {theirs["id"]}
    assert _page(client, other)[theirs["id"]]["meta"]["location"].startswith(f"http://{other.host}/")


def test_rendering_a_kept_record_never_changes_it(client, tenant, app):
    """A kept record answers many requests: rendering it (any view, any address) must leave it as it was."""
    from fluid_scim.projection import Projection
    from fluid_scim.repositories import scim as repo
    from fluid_scim.services import directory_schema, kept_renderings, organisations

    manager = _create(client, tenant, _user("lead"))
    body = _user("watched", manager={"value": manager["id"]})
    body["phoneNumbers"] = [{"value": "+44 20 7946 0000", "type": "work"}]
    body["urn:example:params:scim:schemas:extension:Undeclared:2.0:User"] = {"badge": "B-7", "tags": ["a", "b"]}
    _create(client, tenant, body)
    with app.test_request_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        records = repo.user_records_by_creation(organisation.id, 1, 100)
        before = [copy.deepcopy({k: v for k, v in vars(r).items() if k != "rendered"}) for r in records]
        resource_type = directory_schema.user_resource(organisation)
        views = [Projection(resource_type), Projection.parse(resource_type, ["emails.type", ENTERPRISE_URN + ":manager"], None),
                 Projection.parse(resource_type, None, ["groups", "name"])]
        first = None
        for base_url in ("http://a.example/scim/v2", "https://b.example/scim/v2", "http://a.example/scim/v2"):
            for view in views:
                rendered = orjson.loads(json_bytes(kept_renderings.render_records(
                    organisation, records, base_url=base_url, projection=view
                )))
                if first is None:
                    first = rendered
        after = [{k: v for k, v in vars(r).items() if k != "rendered"} for r in records]
        assert after == before
        again = orjson.loads(json_bytes(kept_renderings.render_records(
            organisation, repo.user_records_by_creation(organisation.id, 1, 100), base_url="http://a.example/scim/v2",
            projection=views[0],
        )))
        assert again == first


def test_no_records_are_kept_when_the_setting_says_none(app_factory):
    from fluid_scim.repositories import scim as repo
    from tests.support.tenants import make_tenant

    app = app_factory(kept_records=0)
    client, tenant = app.test_client(), make_tenant(app)
    user = _create(client, tenant, _user("unkept"))
    assert _page(client, tenant) == _page(client, tenant) == {user["id"]: _one(client, tenant, user["id"])}
    assert len(repo._KEPT_RECORDS) == 0


# -- The cache itself -------------------------------------------------------------------------


def _record(row: tuple[Any, ...]) -> UserRecord:
    return UserRecord(id=row[0], value=row[1])


def test_an_unchanged_row_answers_the_kept_record_and_a_changed_one_a_new_record():
    cache = RecordCache(capacity=10)
    organisation = uuid.uuid4()
    (first,) = cache.records(organisation, [("u1", "a")], _record, {"id": 0})
    (again,) = cache.records(organisation, [("u1", "a")], _record, {"id": 0})
    (changed,) = cache.records(organisation, [("u1", "b")], _record, {"id": 0})
    assert isinstance(again, KeptRecord) and again.rendered is first.rendered
    assert (again.id, again.value) == ("u1", "a")  # the whole record, made from the kept row
    assert whole(again) == UserRecord(id="u1", value="a", rendered=first.rendered)
    assert changed.rendered is not first.rendered and changed.value == "b"
    (other_organisation,) = cache.records(uuid.uuid4(), [("u1", "b")], _record, {"id": 0})
    assert other_organisation.rendered is not changed.rendered


def test_the_cache_keeps_at_most_its_capacity_dropping_the_oldest_first():
    cache = RecordCache(capacity=2)
    organisation = uuid.uuid4()
    one, two = cache.records(organisation, [("u1", 1), ("u2", 2)], _record, {"id": 0})
    cache.records(organisation, [("u3", 3)], _record, {"id": 0})
    assert len(cache) == 2
    (two_again,) = cache.records(organisation, [("u2", 2)], _record, {"id": 0})
    (one_again,) = cache.records(organisation, [("u1", 1)], _record, {"id": 0})
    assert two_again.rendered is two.rendered
    assert one_again.rendered is not one.rendered
    cache.resize(1)
    assert len(cache) == 1


def test_large_users_are_kept_within_the_caches_bytes_and_the_largest_not_at_all():
    cache = RecordCache(capacity=8)
    organisation = uuid.uuid4()
    (huge,) = cache.records(organisation, [("u0", "x" * LARGEST_KEPT)], _record, {"id": 0})
    assert len(cache) == 0 and not hasattr(huge, "rendered")  # rendered each time, never kept
    large = "y" * (LARGEST_KEPT // 4)  # each counts about half the largest
    cache.records(organisation, [(f"u{index}", large) for index in range(8)], _record, {"id": 0})
    assert cache.size <= 8 * BYTES_PER_RECORD
    assert 0 < len(cache) < 8
    (latest,) = cache.records(organisation, [("u7", large)], _record, {"id": 0})
    assert isinstance(latest, KeptRecord)  # the newest stay, the oldest went first
    cache.records(organisation, [("u1", "z")], _record, {"id": 0})
    assert cache.size <= 8 * BYTES_PER_RECORD
    cache.resize(0)
    assert len(cache) == 0 and cache.size == 0


def test_a_cache_of_no_capacity_keeps_nothing():
    cache = RecordCache(capacity=0)
    organisation = uuid.uuid4()
    (first,) = cache.records(organisation, [("u1", "a")], _record, {"id": 0})
    (again,) = cache.records(organisation, [("u1", "a")], _record, {"id": 0})
    assert again is not first
    assert len(cache) == 0
    assert not hasattr(again, "rendered")  # nothing to keep its JSON on


def test_kept_json_is_written_by_the_standard_library_when_orjson_refuses_the_rest():
    page = {"Resources": [orjson.Fragment(b'{"id":"u1"}')], "big": 2**70}
    assert orjson.loads(json_bytes({"Resources": page["Resources"]})) == {"Resources": [{"id": "u1"}]}
    assert json_bytes(page) == b'{"Resources":[{"id":"u1"}],"big":1180591620717411303424}'


@pytest.mark.live
def test_a_served_page_shows_changes_made_through_any_worker(live_server, tenant):
    """Over HTTP, where each gunicorn worker keeps its own records: read, change, read again."""
    scim = ScimClient(live_server.url, tenant)
    manager = scim.post("/Users", _user("served-boss")).json()
    report = scim.post("/Users", _user("served-report", manager={"value": manager["id"]})).json()
    group = scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": "Served"}).json()

    def page() -> dict[str, dict[str, Any]]:
        answer = scim.get(f"/Users?startIndex=1&count=100&attributes={ENTERPRISE_URN}:manager.displayName,title,groups")
        assert answer.status_code == 200, answer.text
        return {user["id"]: user for user in answer.json()["Resources"]}

    def full_page() -> dict[str, dict[str, Any]]:
        answer = scim.get("/Users?startIndex=1&count=100")
        assert answer.status_code == 200, answer.text
        return {user["id"]: user for user in answer.json()["Resources"]}

    for _ in range(4):  # enough reads for each worker to keep the records
        assert page()[report["id"]][ENTERPRISE_URN]["manager"]["displayName"] == "Served-Boss"
        assert "groups" not in full_page()[report["id"]]
    renamed = scim.patch(f"/Users/{manager['id']}", [{"op": "replace", "path": "displayName", "value": "Renamed"}])
    assert renamed.status_code == 200, renamed.text
    joined = scim.patch(f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": report["id"]}]}])
    assert joined.status_code in (200, 204), joined.text
    assert scim.patch(f"/Users/{report['id']}", [{"op": "replace", "path": "title", "value": "Lead"}]).status_code == 200
    for _ in range(4):
        shown = page()[report["id"]]
        assert shown[ENTERPRISE_URN]["manager"]["displayName"] == "Renamed"
        assert [g["display"] for g in shown["groups"]] == ["Served"]
        assert shown["title"] == "Lead"
        kept = full_page()[report["id"]]
        assert [g["display"] for g in kept["groups"]] == ["Served"]
        assert kept["title"] == "Lead"
        assert kept == scim.get(f"/Users/{report['id']}").json()
