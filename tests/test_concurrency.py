"""Entra sends bursts in parallel: nothing duplicated, nothing dropped, versions respected (several workers)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.tenants import ScimClient
from tests.support.urns import GROUP_URN, USER_URN

pytestmark = pytest.mark.live



@pytest.fixture
def scim(live_server, tenant) -> ScimClient:
    return ScimClient(live_server.url, tenant)


def test_two_simultaneous_creates_of_one_user_name_give_one_201_and_one_409_every_time(scim):
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(100):
            name = f"race-{uuid.uuid4().hex[:10]}"
            bodies = [{"schemas": [USER_URN], "userName": name}, {"schemas": [USER_URN], "userName": name}]
            statuses = sorted(r.status_code for r in pool.map(lambda body: scim.post("/Users", body), bodies))
            assert statuses == [201, 409], statuses


def test_fifty_parallel_member_additions_keep_all_fifty(scim):
    members = [
        scim.post("/Users", {"schemas": [USER_URN], "userName": f"m-{uuid.uuid4().hex[:10]}"}).json()["id"] for _ in range(50)
    ]
    group = scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": f"Burst {uuid.uuid4()}"}).json()
    path = f"/Groups/{group['id']}"

    def add(member_id: str) -> int:
        return scim.patch(path, [{"op": "Add", "path": "members", "value": [{"value": member_id}]}]).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert set(pool.map(add, members)) == {204}
    assert {m["value"] for m in scim.get(path).json()["members"]} == set(members)


def test_parallel_patches_pinned_to_one_version_let_exactly_one_win(scim):
    user = scim.post("/Users", {"schemas": [USER_URN], "userName": f"v-{uuid.uuid4().hex[:10]}"}).json()
    version = user["meta"]["version"]

    def patch(title: str) -> int:
        return scim.patch(
            f"/Users/{user['id']}", [{"op": "replace", "path": "title", "value": title}], headers={"If-Match": version}
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(patch, [f"t{i}" for i in range(8)]))
    assert statuses == [200] + [412] * 7
    final = scim.get(f"/Users/{user['id']}").json()
    assert final["meta"]["version"] != version and final["title"].startswith("t")


def test_two_parallel_patches_of_one_user_both_land(scim):
    """Without If-Match, the loser of a race on a user's version runs again on the user as the winner left it
    (it reads it anew, not as authentication read it): both changes are kept. Two requests on two workers, so
    the retry never meets a third competitor."""
    user = scim.post("/Users", {"schemas": [USER_URN], "userName": f"p-{uuid.uuid4().hex[:10]}"}).json()
    path = f"/Users/{user['id']}"
    with ThreadPoolExecutor(max_workers=2) as pool:
        for round_ in range(20):
            changes = [("title", f"title-{round_}"), ("nickName", f"nick-{round_}")]
            statuses = list(pool.map(
                lambda change: scim.patch(path, [{"op": "replace", "path": change[0], "value": change[1]}]).status_code, changes))
            assert statuses == [200, 200]
            final = scim.get(path).json()
            assert (final["title"], final["nickName"]) == (f"title-{round_}", f"nick-{round_}")
