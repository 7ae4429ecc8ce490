"""A full Entra and Okta replay leaves no token or password in any log line or stored event."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from fluid_scim.errors import DomainError
from fluid_scim.extensions import db
from fluid_scim.models import AccessEvent, ProvisioningEvent
from fluid_scim.repositories.scoping import across_organisations
from fluid_scim.scim_http.errors import answer_for
from fluid_scim.services.resource_support import parse_scim_filter
from tests.support.tenants import ScimClient, make_tenant, wait_until_recorded
from tests.support.urns import USER_URN


@pytest.mark.live
def test_logs_and_events_never_hold_a_token_or_password(app, live_server):
    tenant = make_tenant(app)
    entra = ScimClient(live_server.url, tenant, user_agent="Microsoft.Identity.Provisioning")
    okta = ScimClient(live_server.url, tenant, user_agent="Okta SCIM Client 1.0.0")
    passwords = [f"Pw-{uuid.uuid4().hex}" for _ in range(3)]

    entra.get("/Users", params={"filter": f'userName eq "{uuid.uuid4()}"'})
    user = entra.post("/Users", {"schemas": [USER_URN], "userName": f"leak-{uuid.uuid4().hex[:6]}", "active": True}).json()
    entra.patch(f"/Users/{user['id']}", [{"op": "Replace", "path": "active", "value": "False"}])
    group = entra.get("/Groups", params={"filter": 'displayName eq "Fluid User"'}).json()["Resources"][0]
    entra.patch(f"/Groups/{group['id']}", [{"op": "Add", "path": "members", "value": [{"value": user["id"]}]}])
    created = okta.post("/Users", {"schemas": [USER_URN], "userName": f"okta-{uuid.uuid4().hex[:6]}", "password": passwords[0]})
    okta_user = created.json()
    okta.patch(f"/Users/{okta_user['id']}", [{"op": "replace", "value": {"password": passwords[1]}}])
    okta.put(f"/Users/{okta_user['id']}", {"schemas": [USER_URN], "userName": okta_user["userName"], "password": passwords[2]})
    # Wrong tokens and a token in a query string, as a careless client might send.
    for bad in (tenant.token[:-2] + "xx", "Bearer " + tenant.token):
        ScimClient(live_server.url, type(tenant)(tenant.slug, bad)).get("/Users")
    entra.get(f"/Users?token={tenant.token}&password={passwords[0]}")
    entra.delete(f"/Users/{user['id']}")

    wait_until_recorded(app, tenant)
    with app.app_context():
        events = db.session.execute(across_organisations(select(ProvisioningEvent))).scalars().all()
        access = db.session.execute(across_organisations(select(AccessEvent))).scalars().all()
        stored = repr([vars(e) for e in events]) + repr([vars(e) for e in access])
    logs = live_server.log_text()
    assert len(events) >= 10 and "user.deactivated" in stored
    for secret in (tenant.token, *passwords):
        assert secret not in logs, "a secret reached a log line"
        assert secret not in stored, "a secret reached a stored event"


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=200))
def test_any_filter_text_parses_or_is_a_scim_error(text):
    try:
        parse_scim_filter(text)
    except DomainError as error:
        answer = answer_for(error)
        assert answer is not None and answer.status == 400 and answer.scim_type == "invalidFilter"
