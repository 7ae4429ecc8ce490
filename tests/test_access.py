"""Fluid access and roles, driven by Entra-shaped SCIM requests against a live server."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from fluid_scim.extensions import db
from fluid_scim.models import AccessEvent, UserTombstone
from fluid_scim.repositories.scoping import across_organisations
from fluid_scim.services import access_admin, organisations, request_context
from fluid_scim.services.request_context import RequestContext
from tests.support.tenants import ScimClient
from tests.support.urns import FLUID_URN, GROUP_URN, USER_URN

pytestmark = pytest.mark.live



@pytest.fixture
def entra(live_server, tenant) -> ScimClient:
    return ScimClient(live_server.url, tenant, user_agent="Microsoft.Identity.Provisioning")


def _organisation(app, tenant):
    return organisations.get_organisation(slug=tenant.slug)


def _user(entra: ScimClient, **extra) -> dict:
    name = f"u-{uuid.uuid4().hex[:10]}@contoso.com"
    response = entra.post("/Users", {"schemas": [USER_URN], "userName": name, "active": True, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def _group_id(entra: ScimClient, name: str) -> str:
    found = entra.get("/Groups", params={"filter": f'displayName eq "{name}"', "excludedAttributes": "members"}).json()
    assert found["totalResults"] == 1, f"{name!r} not found"
    return found["Resources"][0]["id"]


def _members(entra: ScimClient, group_id: str, op: str, ids: list[str]) -> None:
    response = entra.patch(f"/Groups/{group_id}", [{"op": op, "path": "members", "value": [{"value": i} for i in ids]}])
    assert response.status_code == 204, response.text


def _access(entra: ScimClient, user_id: str) -> tuple[bool, list[str]]:
    fluid = entra.get(f"/Users/{user_id}").json()[FLUID_URN]
    return fluid.get("accessGranted", False), [role["value"] for role in fluid.get("roles", [])]


def _trail(app, tenant, user_id: str) -> list[str]:
    with app.app_context():
        organisation = _organisation(app, tenant)
        return [event.kind for event in access_admin.access_trail(organisation=organisation, user_id=user_id)]


def test_the_access_group_exists_from_the_start_and_decides_access(app, tenant, entra):
    access_group = _group_id(entra, "Fluid User")
    user = _user(entra)
    assert _access(entra, user["id"]) == (False, [])
    _members(entra, access_group, "Add", [user["id"]])
    assert _access(entra, user["id"]) == (True, [])
    _members(entra, access_group, "Remove", [user["id"]])
    assert _access(entra, user["id"]) == (False, [])
    assert _trail(app, tenant, user["id"]) == ["granted", "revoked"]


def test_renaming_the_access_group_keeps_it(app, tenant, entra):
    before = _group_id(entra, "Fluid User")
    with app.app_context():
        group = access_admin.set_access_group_name(organisation=_organisation(app, tenant), name="Staff")
    assert group.id == before and _group_id(entra, "Staff") == before
    assert entra.get("/Groups", params={"filter": 'displayName eq "Fluid User"'}).json()["totalResults"] == 0
    user = _user(entra)
    _members(entra, before, "Add", [user["id"]])
    assert _access(entra, user["id"]) == (True, [])


def test_roles_combine_group_mappings_and_app_roles(app, tenant, entra):
    with app.app_context():
        access_admin.set_role_mappings(
            organisation=_organisation(app, tenant), groups={"Fluid Admin": "admin"}, app_roles={"Editor": "editor"}
        )
    admins = _group_id(entra, "Fluid Admin")  # pre-created like the access group
    user = _user(entra, roles=[{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Editor"}])
    _members(entra, _group_id(entra, "Fluid User"), "Add", [user["id"]])
    assert _access(entra, user["id"]) == (True, ["editor"])
    _members(entra, admins, "Add", [user["id"]])
    assert _access(entra, user["id"]) == (True, ["admin", "editor"])
    # Entra's app-role PATCH carries a JSON document inside value.
    replaced = entra.patch(
        f"/Users/{user['id']}",
        [
            {
                "op": "Replace",
                "path": "roles",
                "value": [{"value": json.dumps({"id": "06b07648", "value": "Viewer", "displayName": "Viewer"})}],
            }
        ],
    )
    assert replaced.status_code == 200
    assert _access(entra, user["id"]) == (True, ["admin"]), "an unmapped app role grants nothing"
    by_role = entra.get("/Users", params={"filter": f'{FLUID_URN}:roles[value eq "admin"]'}).json()
    assert [item["id"] for item in by_role["Resources"]] == [user["id"]]
    with_access = entra.get("/Users", params={"filter": f"{FLUID_URN}:accessGranted eq true"}).json()
    assert user["id"] in {item["id"] for item in with_access["Resources"]}
    assert "roles_changed" in _trail(app, tenant, user["id"])


def test_deactivation_suspends_and_reactivation_restores(app, tenant, entra):
    user = _user(entra)
    _members(entra, _group_id(entra, "Fluid User"), "Add", [user["id"]])
    entra.patch(f"/Users/{user['id']}", [{"op": "Replace", "path": "active", "value": "False"}])
    assert _access(entra, user["id"]) == (False, [])
    assert entra.get(f"/Users/{user['id']}").status_code == 200, "a suspended user stays visible"
    entra.patch(f"/Users/{user['id']}", [{"op": "Replace", "path": "active", "value": "True"}])
    assert _access(entra, user["id"]) == (True, [])
    assert _trail(app, tenant, user["id"]) == ["granted", "suspended", "granted"]


def test_delete_revokes_keeps_a_tombstone_and_the_name_can_come_back(app, tenant, entra):
    user = _user(entra)
    _members(entra, _group_id(entra, "Fluid User"), "Add", [user["id"]])
    assert entra.delete(f"/Users/{user['id']}").status_code == 204
    assert entra.get(f"/Users/{user['id']}").status_code == 404
    assert _trail(app, tenant, user["id"]) == ["granted", "revoked"]
    with app.app_context():
        tombstone = db.session.execute(
            across_organisations(select(UserTombstone).where(UserTombstone.user_id == user["id"]))
        ).scalar_one()
        assert tombstone.user_name == user["userName"] and tombstone.purge_after > tombstone.deleted_at
    again = entra.post("/Users", {"schemas": [USER_URN], "userName": user["userName"]})
    assert again.status_code == 201 and again.json()["id"] != user["id"]


def test_protected_groups_cannot_be_deleted(app, tenant, entra):
    with app.app_context():
        access_admin.set_role_mappings(organisation=_organisation(app, tenant), groups={"Fluid Admin": "admin"})
    for name in ("Fluid User", "Fluid Admin"):
        refused = entra.delete(f"/Groups/{_group_id(entra, name)}")
        assert refused.status_code == 403
        assert "cannot be deleted through SCIM" in refused.json()["detail"]
        _group_id(entra, name)
    other = entra.post("/Groups", {"schemas": [GROUP_URN], "displayName": "Project X"}).json()
    assert entra.delete(f"/Groups/{other['id']}").status_code == 204


def test_every_active_user_mode(app, tenant, entra):
    user = _user(entra)
    with app.app_context():
        access_admin.set_access_mode(organisation=_organisation(app, tenant), mode="all_active")
    assert _access(entra, user["id"]) == (True, [])
    later = _user(entra)
    assert _access(entra, later["id"]) == (True, [])
    entra.patch(f"/Users/{later['id']}", [{"op": "Replace", "path": "active", "value": False}])
    assert _access(entra, later["id"]) == (False, [])


def test_the_brake_holds_the_21st_removal_of_100_users_at_20_percent(app, tenant, entra):
    access_group = _group_id(entra, "Fluid User")
    ids = [_user(entra)["id"] for _ in range(100)]
    for start in range(0, 100, 50):
        _members(entra, access_group, "Add", ids[start : start + 50])
    with app.app_context():
        access_admin.set_brake(
            organisation=_organisation(app, tenant), enabled=True, percent=20, min_removals=10, window_minutes=60
        )
    for user_id in ids[:25]:
        _members(entra, access_group, "Remove", [user_id])
    granted = [_access(entra, user_id)[0] for user_id in ids[:25]]
    assert granted == [False] * 20 + [True] * 5, "removals 21 to 25 are held"
    group_members = {m["value"] for m in entra.get(f"/Groups/{access_group}").json()["members"]}
    assert not group_members & set(ids[:25]), "SCIM still records what the directory said"

    with app.app_context():
        organisation = _organisation(app, tenant)
        held = access_admin.held_changes(organisation=organisation)
        assert sorted(h.user_id for h in held) == sorted(ids[20:25])
        page = access_admin.who_has_access(organisation=organisation, limit=50)
        assert len(page.entries) == 50 and page.next_after is not None
        rest = access_admin.who_has_access(organisation=organisation, after=page.next_after, limit=50)
        assert len(page.entries) + len(rest.entries) == 80 and rest.next_after is None  # 75 members + 5 held
        with request_context.acting(RequestContext(actor="admin@acme")):
            events = access_admin.release_held(organisation=organisation, ids=None)
        assert sum(1 for e in events if e.kind == "revoked") == 5
        assert access_admin.held_changes(organisation=organisation) == []
        released = access_admin.held_changes(organisation=organisation, status="released")
        assert {change.decided_by for change in released} == {"admin@acme"}, "the acting admin decided them"
    assert [_access(entra, user_id)[0] for user_id in ids[20:25]] == [False] * 5
    assert _trail(app, tenant, ids[22]) == ["granted", "held", "revoked", "released"]


def test_discarding_held_changes_keeps_access(app, tenant, entra):
    access_group = _group_id(entra, "Fluid User")
    ids = sorted(_user(entra)["id"] for _ in range(3))  # one request removes all three: in id order
    _members(entra, access_group, "Add", ids)
    with app.app_context():
        access_admin.set_brake(organisation=_organisation(app, tenant), enabled=True, percent=10, min_removals=1)
    _members(entra, access_group, "Remove", ids)
    assert [_access(entra, i)[0] for i in ids] == [False, True, True]
    with app.app_context(), request_context.acting(RequestContext(actor="admin@acme")):
        assert access_admin.discard_held(organisation=_organisation(app, tenant), ids=None) == 2
    assert [_access(entra, i)[0] for i in ids] == [False, True, True]
    with app.app_context():
        kinds = db.session.execute(
            across_organisations(select(AccessEvent.kind).where(AccessEvent.user_id == ids[2]))
        ).scalars().all()
    assert sorted(kinds) == ["discarded", "granted", "held"]


def test_one_request_granting_and_removing_holds_what_removal_by_removal_would(app, tenant, entra):
    """The brake judges each removal in the order the request names the users (by id), counting the
    grants and removals decided before it in the same request, as if each had been written on its own."""
    access_group = _group_id(entra, "Fluid User")
    staying = [_user(entra)["id"] for _ in range(20)]
    newcomers = [_user(entra)["id"] for _ in range(10)]
    _members(entra, access_group, "Add", staying)
    with app.app_context():
        access_admin.set_brake(organisation=_organisation(app, tenant), enabled=True, percent=20, min_removals=2)
    leaving = set(staying[:10])
    response = entra.patch(
        f"/Groups/{access_group}",
        [
            {"op": "Remove", "path": "members", "value": [{"value": i} for i in sorted(leaving)]},
            {"op": "Add", "path": "members", "value": [{"value": i} for i in newcomers]},
        ],
    )
    assert response.status_code == 204, response.text

    with_access, removed, expected_held = 20, 0, set()
    for user_id in sorted(leaving | set(newcomers)):  # the per-removal rule, one user at a time
        if user_id in leaving:
            allowed = max((with_access + removed) * 20 // 100, 2)
            if removed + 1 > allowed:
                expected_held.add(user_id)
            else:
                removed, with_access = removed + 1, with_access - 1
        else:
            with_access += 1
    with app.app_context():
        held = {change.user_id for change in access_admin.held_changes(organisation=_organisation(app, tenant))}
    assert held == expected_held and 0 < len(held) < 10
    assert {i: _access(entra, i)[0] for i in sorted(leaving)} == {i: i in expected_held for i in sorted(leaving)}
    assert all(_access(entra, i)[0] for i in newcomers)
    assert _trail(app, tenant, sorted(expected_held)[0]) == ["granted", "held"]


def _stored_members(app, tenant, group_name: str, count: int) -> list[str]:
    """``count`` active users written straight to the database as members of the group (not yet recomputed)."""
    from fluid_scim.models import ScimGroup
    from fluid_scim.repositories import mapping
    from fluid_scim.repositories import scim as scim_repo
    from tests.support.users import add_many_users

    with app.app_context():
        organisation = _organisation(app, tenant)
        users = add_many_users(organisation, (f"member-{index}@contoso.com" for index in range(count)))
        group = scim_repo.find_by_key(ScimGroup, organisation.id, mapping.fold(group_name))
        scim_repo.add_members(organisation.id, group.id, [(user.id, "User") for user in users])
        db.session.commit()
        return [user.id for user in users]


def _statements_to_recompute(app, tenant, ids: list[str]) -> int:
    """The SQL statements that recomputing these users' access (and committing it) sends to the database."""
    from sqlalchemy import event

    from fluid_scim.services import access

    sent: list[str] = []

    def count(_connection, _cursor, statement, *_args) -> None:
        sent.append(statement)

    with app.app_context():
        organisation = _organisation(app, tenant)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            access.recompute(organisation, ids, reason="test")
            db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    return len(sent)


def test_recomputing_access_sends_the_same_statements_for_100_users_as_for_500(app, tenant):
    """Access is written a chunk of 500 users at a time, in a number of statements that does not grow
    with the users: roles rows, access columns, events, held changes and outbox events alike."""
    from fluid_scim.models import ScimGroup, ScimUserValue
    from fluid_scim.repositories import scim as scim_repo

    with app.app_context():
        access_admin.set_role_mappings(organisation=_organisation(app, tenant), groups={"Fluid User": "viewer"})
    ids = _stored_members(app, tenant, "Fluid User", 1_600)
    granting = {size: _statements_to_recompute(app, tenant, part) for size, part in
                ((100, ids[:100]), (500, ids[100:600]), (1_000, ids[600:1_600]))}
    assert granting[100] == granting[500] < 30, granting
    assert granting[1_000] <= 2 * granting[500], granting

    with app.app_context():
        organisation = _organisation(app, tenant)
        assert db.session.execute(
            select(func.count()).select_from(ScimUserValue).where(
                ScimUserValue.organisation_id == organisation.id, ScimUserValue.value == "viewer")
        ).scalar_one() == 1_600, "each granted user has its role row"
        access_admin.set_brake(organisation=organisation, enabled=True, percent=10, min_removals=0)
        group = db.session.execute(select(ScimGroup).where(
            ScimGroup.organisation_id == organisation.id, ScimGroup.display_name == "Fluid User")).scalar_one()
        scim_repo.remove_members(organisation.id, group.id, None)
        db.session.commit()
    removing = {size: _statements_to_recompute(app, tenant, part) for size, part in
                ((100, ids[:100]), (500, ids[100:600]), (1_000, ids[600:1_600]))}  # 160 revoked, the rest held
    assert removing[100] <= removing[500] < 30, removing
    assert removing[1_000] <= 2 * removing[500], removing
    with app.app_context():
        organisation = _organisation(app, tenant)
        assert len(access_admin.held_changes(organisation=organisation)) == 1_600 - 160
