"""Provisioning events and status: what the directory changed, when, and whether it worked."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from fluid_scim.extensions import db
from fluid_scim.models import ProvisioningEvent, ScimUser
from fluid_scim.repositories.scoping import across_organisations
from fluid_scim.services import audit, organisations, provisioning_status, scim_tokens
from tests.support.tenants import ScimClient, scim_request, wait_until_recorded
from tests.support.urns import USER_URN


def _events(app, tenant) -> list[ProvisioningEvent]:
    wait_until_recorded(app, tenant)
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        return list(
            db.session.execute(
                select(ProvisioningEvent)
                .where(ProvisioningEvent.organisation_id == organisation.id, ProvisioningEvent.kind == "scim")
                .order_by(ProvisioningEvent.created_at, ProvisioningEvent.id)
            ).scalars()
        )


@pytest.mark.live
def test_an_entra_lifecycle_leaves_exactly_these_events(app, tenant, live_server):
    entra = ScimClient(live_server.url, tenant, user_agent="Microsoft.Identity.Provisioning")
    name = f"audit-{uuid.uuid4().hex[:8]}@contoso.com"
    entra.get("/Users", params={"filter": f'userName eq "{name}"'})
    user = entra.post(
        "/Users",
        {
            "schemas": [USER_URN],
            "userName": name,
            "active": True,
            "name": {"familyName": "Old"},
            "emails": [{"type": "work", "value": name}],
        },
    ).json()
    entra.patch(
        f"/Users/{user['id']}",
        [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@contoso.com"},
            {"op": "Replace", "path": "name.familyName", "value": "New"},
        ],
    )
    entra.patch(f"/Users/{user['id']}", [{"op": "Replace", "path": "active", "value": "False"}])
    access_group = entra.get("/Groups", params={"filter": 'displayName eq "Fluid User"'}).json()["Resources"][0]["id"]
    entra.patch(f"/Groups/{access_group}", [{"op": "Add", "path": "members", "value": [{"value": user["id"]}]}])
    entra.delete(f"/Users/{user['id']}")

    events = _events(app, tenant)
    assert [(e.operation, e.status, e.method) for e in events] == [
        ("users.list", 200, "GET"),
        ("user.created", 201, "POST"),
        ("user.updated", 200, "PATCH"),
        ("user.deactivated", 200, "PATCH"),
        ("groups.list", 200, "GET"),
        ("group.members.added", 204, "PATCH"),
        ("user.deleted", 204, "DELETE"),
    ]
    with app.app_context():
        fingerprint = scim_tokens.token_metadata(organisation=organisations.get_organisation(slug=tenant.slug)).fingerprint
    assert {e.dialect for e in events} == {"entra"} and {e.token_fingerprint for e in events} == {fingerprint}
    assert all(e.request_id and e.latency_ms is not None and e.user_agent == "Microsoft.Identity.Provisioning" for e in events)
    created, updated, deactivated, members = events[1], events[2], events[3], events[5]
    assert {"path": "userName", "before": None, "after": name} in created.changes
    assert updated.changes == [
        {"path": "emails", "before": [{"type": "work", "value": name}], "after": [{"type": "work", "value": "new@contoso.com"}]},
        {"path": "name.familyName", "before": "Old", "after": "New"},
    ]
    assert "op-case" in updated.quirks
    assert deactivated.changes == [{"path": "active", "before": True, "after": False}]
    assert {"string-boolean", "op-case"} <= set(deactivated.quirks)
    assert members.changes == [{"path": "members", "added": [user["id"]], "removed": []}]
    assert members.resource_type == "Group" and members.resource_id == access_group


@pytest.mark.live
def test_a_failing_patch_leaves_a_failure_event_and_no_change(app, tenant, live_server):
    scim = ScimClient(live_server.url, tenant)
    user = scim.post("/Users", {"schemas": [USER_URN], "userName": f"f-{uuid.uuid4().hex[:8]}", "title": "Before"}).json()
    refused = scim.patch(
        f"/Users/{user['id']}",
        [
            {"op": "replace", "path": "title", "value": "After"},
            {"op": "replace", "path": "name..x", "value": 9},
        ],
    )
    assert refused.status_code == 400
    assert scim.get(f"/Users/{user['id']}").json()["title"] == "Before"
    events = [e for e in _events(app, tenant) if e.resource_id == user["id"]]
    assert [(e.operation, e.status) for e in events] == [("user.created", 201), ("user.update", 400), ("user.read", 200)]
    failure = events[1]
    assert failure.scim_type == "invalidPath" and failure.detail.startswith("Operations[1]:") and failure.changes == []


def test_a_change_whose_event_cannot_be_written_is_rolled_back(app, client, tenant, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit, "record", broken)
    headers = {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "Content-Type": "application/scim+json"}
    response = client.post("/scim/v2/Users", json={"schemas": [USER_URN], "userName": "no-event"}, headers=headers)
    assert response.status_code == 500
    assert "audit store" not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(across_organisations(select(ScimUser).where(ScimUser.user_name == "no-event"))).first() is None


@pytest.mark.live
def test_refused_requests_are_recorded(app, tenant, live_server):
    scim_request(live_server.url, "GET", "/Users", host=tenant.host, token="fscim_wrong-token")
    with app.app_context():
        organisations.set_scim_sync_enabled(slug=tenant.slug, enabled=False)
    scim_request(live_server.url, "POST", "/Users", host=tenant.host, token=tenant.token, json={"userName": "x"})
    events = _events(app, tenant)
    assert [(e.operation, e.status, e.token_fingerprint is None) for e in events] == [
        ("users.list", 401, True),
        ("user.create", 403, False),
    ]
    assert "SCIM sync is disabled" in events[1].detail


@pytest.mark.live
def test_no_token_or_password_is_ever_stored_in_an_event(app, tenant, live_server, runner):
    okta = ScimClient(live_server.url, tenant, user_agent="Okta SCIM Client 1.0.0")
    password = "S3cret-" + uuid.uuid4().hex
    user = okta.post("/Users", {"schemas": [USER_URN], "userName": f"p-{uuid.uuid4().hex[:6]}", "password": password}).json()
    okta.patch(f"/Users/{user['id']}", [{"op": "replace", "value": {"password": password + "2"}}])
    okta.put(f"/Users/{user['id']}", {"schemas": [USER_URN], "userName": user["userName"], "password": password + "3"})
    rotated = runner.invoke(args=["org", "token", "generate", tenant.slug]).stdout.strip()
    wait_until_recorded(app, tenant)
    with app.app_context():
        rows = db.session.execute(across_organisations(select(ProvisioningEvent))).scalars().all()
        text = repr([(r.changes, r.detail, r.path, r.quirks, r.actor, r.user_agent) for r in rows])
        organisation_id = organisations.get_organisation(slug=tenant.slug).id
    for secret in (password, password + "2", password + "3", tenant.token, rotated):
        assert secret not in text
    assert "[REDACTED]" in text
    # The organisation's first token was generated when it was made; the CLI's is the one asked here.
    ours = [r for r in rows if r.organisation_id == organisation_id and r.operation == "token.generated"]
    by_cli = [r for r in ours if (r.actor or "").startswith("cli:")]
    assert [r.kind for r in by_cli] == ["admin"]


@pytest.mark.live
def test_the_health_verdict_flips_on_a_burst_of_401s_and_recovers(app, tenant, live_server):
    def status():
        wait_until_recorded(app, tenant)
        with app.app_context():
            return provisioning_status.status_of(organisation=organisations.get_organisation(slug=tenant.slug))

    assert status().verdict == "idle"
    for _ in range(3):
        scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
    healthy = status()
    assert healthy.verdict == "healthy" and healthy.last_hour.requests == 3 and healthy.last_success_at is not None
    for _ in range(25):
        scim_request(live_server.url, "GET", "/Users", host=tenant.host, token="fscim_rotated-in-entra-but-not-here")
    failing = status()
    assert failing.verdict == "at_risk" and failing.consecutive_failures == 25 and failing.last_error_status == 401
    assert any("401" in reason for reason in failing.reasons) and any("over 40%" in reason for reason in failing.reasons)
    for _ in range(60):
        scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
    recovered = status()
    assert recovered.verdict == "healthy" and recovered.consecutive_failures == 0
    assert recovered.last_hour.requests == 88 and recovered.last_hour.errors == 25 and recovered.last_hour.unauthorized == 25
    assert recovered.token_set and recovered.token_last_used_at is not None and recovered.groups_total == 1


def test_admin_actions_are_events_with_their_actor(app, runner):
    runner.invoke(args=["org", "create", "globex"])
    runner.invoke(args=["org", "sync", "disable", "globex"])
    runner.invoke(args=["org", "roles", "globex", "--group", "Fluid Admin=admin"])
    with app.app_context():
        organisation = organisations.get_organisation(slug="globex")
        rows = (
            db.session.execute(
                select(ProvisioningEvent)
                .where(ProvisioningEvent.organisation_id == organisation.id)
                .order_by(ProvisioningEvent.created_at)
            )
            .scalars()
            .all()
        )
    assert [r.operation for r in rows] == ["organisation.created", "sync.disabled", "access.role_mappings_changed"]
    assert {r.kind for r in rows} == {"admin"} and all(r.actor.startswith("cli:") for r in rows)
    assert rows[1].changes == [{"path": "scimSyncEnabled", "before": True, "after": False}]
    assert rows[2].changes[0]["after"] == {"groups": {"Fluid Admin": "admin"}, "appRoles": {}}
