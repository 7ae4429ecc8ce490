"""Reading the provisioning history: filters, keyset pages, a user's trail, retention purge, export."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from fluid_scim.errors import InvalidValue
from fluid_scim.extensions import db
from fluid_scim.models import AccessEvent, ProvisioningEvent
from fluid_scim.models.types import utcnow
from fluid_scim.repositories.scoping import across_organisations
from fluid_scim.services import history, organisations
from tests.support.tenants import ScimClient, wait_until_recorded
from tests.support.urns import USER_URN


@dataclass
class Story:
    alice: str
    bob: str
    missing: str
    access_group: str


@pytest.fixture
def entra(live_server, tenant) -> ScimClient:
    return ScimClient(live_server.url, tenant, user_agent="Microsoft.Identity.Provisioning")


def _user(entra: ScimClient, name: str | None = None) -> dict:
    response = entra.post("/Users", {"schemas": [USER_URN], "userName": name or f"u-{uuid.uuid4().hex[:10]}@contoso.com"})
    assert response.status_code == 201, response.text
    return response.json()


def _group_id(entra: ScimClient, name: str) -> str:
    found = entra.get("/Groups", params={"filter": f'displayName eq "{name}"', "excludedAttributes": "members"}).json()
    assert found["totalResults"] == 1
    return found["Resources"][0]["id"]


def _members(entra: ScimClient, group_id: str, op: str, user_id: str) -> None:
    response = entra.patch(f"/Groups/{group_id}", [{"op": op, "path": "members", "value": [{"value": user_id}]}])
    assert response.status_code == 204, response.text


def _deactivate(entra: ScimClient, user_id: str) -> None:
    response = entra.patch(f"/Users/{user_id}", [{"op": "Replace", "path": "active", "value": "False"}])
    assert response.status_code == 200, response.text


@pytest.fixture
def story(app, entra) -> Story:
    """Creates, patches, a deactivation, membership adds and removes, a 409, a 404 and reads."""
    access_group = _group_id(entra, "Fluid User")
    alice = _user(entra)
    bob = _user(entra)
    assert entra.post("/Users", {"schemas": [USER_URN], "userName": alice["userName"]}).status_code == 409
    missing = str(uuid.uuid4())
    assert entra.get(f"/Users/{missing}").status_code == 404
    assert entra.get(f"/Users/{alice['id']}").status_code == 200
    renamed = entra.patch(f"/Users/{alice['id']}", [{"op": "Replace", "path": "displayName", "value": "Alice A."}])
    assert renamed.status_code == 200
    _members(entra, access_group, "Add", alice["id"])
    _deactivate(entra, alice["id"])
    _members(entra, access_group, "Add", bob["id"])
    _members(entra, access_group, "Remove", bob["id"])
    wait_until_recorded(app, entra.tenant)
    return Story(alice=alice["id"], bob=bob["id"], missing=missing, access_group=access_group)


def _organisation(tenant):
    return organisations.get_organisation(slug=tenant.slug)


def _everything(organisation, **filters) -> list[ProvisioningEvent]:
    page = history.list_events(organisation=organisation, limit=500, **filters)
    assert page.next_cursor is None
    return list(page.events)


def _deactivation(changes) -> bool:
    # Created without "active" (absent: active), then PATCHed to "False".
    return {"path": "active", "before": None, "after": False} in changes


def _ops(found) -> list[str]:
    return [event.operation for event in found]


@pytest.mark.live
def test_filters(app, tenant, story):
    with app.app_context():
        organisation = _organisation(tenant)
        every = _everything(organisation)
        assert [(e.created_at, e.id) for e in every] == sorted(((e.created_at, e.id) for e in every), reverse=True)

        failures = _everything(organisation, outcome="failure")
        assert sorted((e.operation, e.status) for e in failures) == [("user.create", 409), ("user.read", 404)]
        assert next(e for e in failures if e.status == 409).scim_type == "uniqueness"
        successes = _everything(organisation, outcome="success")
        assert len(successes) + len(failures) == len(every) and all(e.status < 400 for e in successes)

        deactivated = _everything(organisation, operation="user.deactivated")
        assert [(e.resource_id, e.status) for e in deactivated] == [(story.alice, 200)]
        assert _deactivation(deactivated[0].changes)
        assert set(_ops(_everything(organisation, operation="user."))) == {
            "user.created",
            "user.create",
            "user.read",
            "user.updated",
            "user.deactivated",
        }
        assert _ops(_everything(organisation, operation="group.members.")) == [
            "group.members.removed",
            "group.members.added",
            "group.members.added",
        ]
        assert _everything(organisation, operation="user") == [], "without a trailing dot: exact"
        assert _ops(_everything(organisation, operation="groups.")) == ["groups.list"]
        assert _everything(organisation, operation="group_.") == [], "LIKE wildcards are taken literally"

        about_alice = ["user.deactivated", "user.updated", "user.read", "user.created"]
        assert _ops(_everything(organisation, user_id=story.alice)) == about_alice
        assert _ops(_everything(organisation, resource_id=story.alice)) == about_alice
        assert _ops(_everything(organisation, user_id=story.alice, outcome="failure")) == []
        assert [(e.operation, e.status) for e in _everything(organisation, resource_id=story.missing)] == [("user.read", 404)]
        # Entra's lookup of the group by its displayName found it: that read is about the group too.
        assert set(_ops(_everything(organisation, resource_id=story.access_group))) == {
            "groups.list",
            "group.members.added",
            "group.members.removed",
        }
        assert {e.kind for e in _everything(organisation, kind="scim")} == {"scim"}
        admin = _everything(organisation, kind="admin")
        assert admin and all(e.operation.startswith(("organisation.", "token.")) for e in admin)
        assert len(admin) + len(_everything(organisation, kind="scim")) == len(every)

        # A time range: since inclusive, until exclusive.
        oldest_first = every[::-1]
        since, until = oldest_first[3].created_at, oldest_first[8].created_at
        expected = [e.id for e in every if since <= e.created_at < until]
        assert [e.id for e in _everything(organisation, since=since, until=until)] == expected and len(expected) >= 5
        assert _everything(organisation, since=utcnow() + timedelta(minutes=1)) == []
        assert len(_everything(organisation, until=utcnow() + timedelta(minutes=1))) == len(every)

        for bad in ({"outcome": "maybe"}, {"kind": "robot"}, {"operation": ""}, {"since": datetime(2026, 1, 1)}):
            with pytest.raises(InvalidValue):
                history.list_events(organisation=organisation, **bad)


@pytest.mark.live
def test_keyset_pages_visit_every_event_once_newest_first(app, tenant, story):
    with app.app_context():
        organisation = _organisation(tenant)
        for filters in ({}, {"operation": "user."}, {"outcome": "success", "kind": "scim"}):
            every = [e.id for e in _everything(organisation, **filters)]
            seen, pages, cursor = [], 0, None
            while True:
                page = history.list_events(organisation=organisation, limit=3, after=cursor, **filters)
                assert len(page.events) <= 3
                seen += page.events
                pages += 1
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert [e.id for e in seen] == every, filters
            assert len(set(every)) == len(every) > 3 and pages == -(-len(every) // 3)
            stamps = [(e.created_at, e.id) for e in seen]
            assert stamps == sorted(stamps, reverse=True)

        first = history.list_events(organisation=organisation, limit=1)
        assert len(first.events) == 1 and first.next_cursor
        naive = base64.urlsafe_b64encode(b'["2026-01-01T00:00:00","x"]').decode()
        for bad in ("not a cursor!", "e30", first.next_cursor[:-3], "W10", naive, "", "=" * 8):
            with pytest.raises(InvalidValue):
                history.list_events(organisation=organisation, after=bad)
        assert len(history.list_events(organisation=organisation, limit=10_000).events) <= history.MAX_PAGE


@pytest.mark.live
def test_the_trail_says_why_a_user_was_deactivated(app, tenant, entra, story):
    carol = _user(entra)["id"]
    assert entra.get(f"/Users/{carol}").status_code == 200
    _members(entra, story.access_group, "Add", carol)
    _deactivate(entra, carol)
    wait_until_recorded(app, tenant)
    with app.app_context():
        organisation = _organisation(tenant)
        trail = history.access_trail(organisation=organisation, user_id=carol)
        assert [(entry.source, entry.what) for entry in trail] == [
            ("provisioning", "user.created"),
            ("provisioning", "group.members.added"),
            ("access", "granted"),
            ("provisioning", "user.deactivated"),
            ("access", "suspended"),
        ]
        created, added, granted, deactivated, suspended = trail
        assert [entry.status for entry in trail] == [201, 204, None, 200, None]
        assert added.changes == [{"path": "members", "added": [carol], "removed": []}]
        assert granted.detail == "group.members:Fluid User" and granted.roles_after == [] and granted.changes is None
        assert _deactivation(deactivated.changes)
        assert suspended.detail == "user.patched" and suspended.roles_before == [] and suspended.roles_after == []
        assert all(entry.time.tzinfo is not None for entry in trail)
        assert created.time <= added.time <= deactivated.time

        with_reads = history.access_trail(organisation=organisation, user_id=carol, include_reads=True)
        assert [entry.what for entry in with_reads][:2] == ["user.created", "user.read"]

        bob = [(entry.source, entry.what) for entry in history.access_trail(organisation=organisation, user_id=story.bob)]
        assert bob == [
            ("provisioning", "user.created"),
            ("provisioning", "group.members.added"),
            ("access", "granted"),
            ("provisioning", "group.members.removed"),
            ("access", "revoked"),
        ]
        missing = history.access_trail(organisation=organisation, user_id=story.missing, include_reads=True)
        assert [(entry.what, entry.status) for entry in missing] == [("user.read", 404)]
        assert history.access_trail(organisation=organisation, user_id="%") == []


def _age(app, *, resource_id: str, days: int) -> int:
    """Move every event about ``resource_id`` (and its access events) ``days`` into the past."""
    then = utcnow() - timedelta(days=days)
    with app.app_context():
        aged = db.session.execute(
            across_organisations(
                update(ProvisioningEvent).where(ProvisioningEvent.resource_id == resource_id).values(created_at=then)
            )
        ).rowcount
        aged += db.session.execute(
            across_organisations(update(AccessEvent).where(AccessEvent.user_id == resource_id).values(created_at=then))
        ).rowcount
        db.session.commit()
    return aged


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.execute(across_organisations(select(func.count()).select_from(ProvisioningEvent))).scalar_one(),
            db.session.execute(across_organisations(select(func.count()).select_from(AccessEvent))).scalar_one(),
        )


@pytest.mark.live
def test_purge_deletes_only_old_events(app, runner, tenant, story):
    aged = _age(app, resource_id=story.alice, days=400)
    assert aged == 4 + 2  # created, read, updated, deactivated; granted, suspended
    before = _counts(app)
    nothing = runner.invoke(args=["audit", "purge", "--days", "500"])
    assert nothing.exit_code == 0 and "purged 0 event(s)" in nothing.stderr
    result = runner.invoke(args=["audit", "purge"])  # FLUID_AUDIT_RETENTION_DAYS: 365 by default
    assert result.exit_code == 0, result.output
    assert f"purged {aged} event(s)" in result.stderr
    assert _counts(app) == (before[0] - 4, before[1] - 2)
    with app.app_context():
        organisation = _organisation(tenant)
        assert history.list_events(organisation=organisation, user_id=story.alice).events == ()
        left = history.access_trail(organisation=organisation, user_id=story.alice)
        assert [entry.what for entry in left] == ["group.members.added"], "the group's event is not about alice alone"
        assert len(history.access_trail(organisation=organisation, user_id=story.bob)) == 5

    # Small batches: the count is the same whatever the batch size.
    aged = _age(app, resource_id=story.bob, days=40) + _age(app, resource_id=story.access_group, days=40)
    with app.app_context():
        assert history.purge_events(older_than_days=30, batch_size=2) == aged
        assert history.purge_events(older_than_days=1) == 0
        with pytest.raises(InvalidValue):
            history.purge_events(older_than_days=0)
    assert runner.invoke(args=["audit", "purge", "--days", "0"]).exit_code == 2


def test_retention_setting():
    from fluid_scim.config import ConfigError, load_settings

    assert load_settings({}).audit_retention_days == 365
    assert load_settings({"FLUID_AUDIT_RETENTION_DAYS": "30"}).audit_retention_days == 30
    for bad in ("0", "3651", "a year"):
        with pytest.raises(ConfigError, match="FLUID_AUDIT_RETENTION_DAYS"):
            load_settings({"FLUID_AUDIT_RETENTION_DAYS": bad})


@pytest.mark.live
def test_export_as_csv_and_json_lines(app, runner, tenant, story):
    with app.app_context():
        expected = _everything(_organisation(tenant))[::-1]  # oldest first
    since = (utcnow() - timedelta(days=1)).date().isoformat()

    as_csv = runner.invoke(args=["audit", "export", tenant.slug, "--since", since, "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert list(rows[0]) == list(history.EXPORT_COLUMNS)
    assert [row["id"] for row in rows] == [event.id for event in expected]
    deactivated = next(row for row in rows if row["operation"] == "user.deactivated")
    assert deactivated["resource_id"] == story.alice and deactivated["status"] == "200"
    assert _deactivation(json.loads(deactivated["changes"]))
    assert all(isinstance(json.loads(row["quirks"]), list) for row in rows)
    conflict = next(row for row in rows if row["status"] == "409")
    assert conflict["scim_type"] == "uniqueness" and conflict["resource_id"] == "" and conflict["detail"]

    as_jsonl = runner.invoke(args=["audit", "export", tenant.slug, "--since", f"{since}T00:00:00Z", "--format", "jsonl"])
    assert as_jsonl.exit_code == 0, as_jsonl.output
    lines = [json.loads(line) for line in as_jsonl.stdout.splitlines()]
    assert [line["id"] for line in lines] == [event.id for event in expected]
    assert all(set(line) == set(history.EXPORT_COLUMNS) for line in lines)
    first = lines[0]
    assert first["organisation_id"] == str(expected[0].organisation_id)
    assert datetime.fromisoformat(first["created_at"]) == expected[0].created_at
    assert next(line for line in lines if line["operation"] == "group.members.removed")["changes"] == [
        {"path": "members", "added": [], "removed": [story.bob]}
    ]

    # A range: --until is exclusive.
    middle = expected[len(expected) // 2].created_at.astimezone(UTC).isoformat()
    head = runner.invoke(args=["audit", "export", tenant.slug, "--since", since, "--until", middle, "--format", "jsonl"])
    assert [json.loads(line)["id"] for line in head.stdout.splitlines()] == [
        event.id for event in expected if event.created_at < expected[len(expected) // 2].created_at
    ]
    later = (utcnow() + timedelta(days=1)).date().isoformat()
    empty = runner.invoke(args=["audit", "export", tenant.slug, "--since", later, "--format", "csv"])
    assert empty.exit_code == 0 and empty.stdout.splitlines() == [",".join(history.EXPORT_COLUMNS)]


def test_export_refuses_bad_input(app, runner, tenant):
    for args in (
        ["--since", "yesterday"],
        ["--since", "2026-13-01"],
        ["--since", "2026-01-01", "--until", "soon"],
        ["--since", "2026-02-01", "--until", "2026-01-01"],
    ):
        result = runner.invoke(args=["audit", "export", tenant.slug, *args, "--format", "csv"])
        assert result.exit_code == 1, args
        assert result.stdout == "" and result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1
    unknown = runner.invoke(args=["audit", "export", "no-such-org", "--since", "2026-01-01"])
    assert unknown.exit_code == 1 and "no organisation 'no-such-org'" in unknown.stderr
