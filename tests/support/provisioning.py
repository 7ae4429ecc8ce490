"""Provisioning changes sent to the in-process app (Flask test client) the way Microsoft Entra ID sends them.

For tests that look at what a change leaves behind (outbox events, webhook deliveries): each helper
makes one SCIM request as Entra's provisioning agent and fails the test if it is not a success.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.support.tenants import Tenant
from tests.support.urns import PATCH_OP_URN, USER_URN

SCIM_MEDIA_TYPE = "application/scim+json"
ENTRA_USER_AGENT = "Microsoft.Identity.Provisioning"


def scim(client: FlaskClient, tenant: Tenant, method: str, path: str, body: Any = None) -> Any:
    """One SCIM request to ``tenant``; the parsed body of a 2xx answer (None when it has none)."""
    response = client.open(
        f"/scim/v2{path}",
        method=method,
        data=None if body is None else json.dumps(body),
        headers={"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "Content-Type": SCIM_MEDIA_TYPE,
                 "User-Agent": ENTRA_USER_AGENT},
    )
    assert response.status_code < 300, response.get_data(as_text=True)
    return response.get_json(silent=True)


def new_user(client: FlaskClient, tenant: Tenant, name: str) -> str:
    """Create an active user; returns its id."""
    return scim(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": name, "active": True})["id"]


def access_group_id(client: FlaskClient, tenant: Tenant) -> str:
    """The id of the organisation's access group, found by its default name as Entra matches groups."""
    found = scim(client, tenant, "GET", '/Groups?filter=displayName eq "Fluid User"&excludedAttributes=members')
    return found["Resources"][0]["id"]


def add_to_group(client: FlaskClient, tenant: Tenant, group_id: str, user_id: str) -> None:
    scim(client, tenant, "PATCH", f"/Groups/{group_id}", {"schemas": [PATCH_OP_URN], "Operations": [
        {"op": "Add", "path": "members", "value": [{"value": user_id}]}]})


def set_active(client: FlaskClient, tenant: Tenant, user_id: str, value: str) -> None:
    """Entra's (un)suspend without the ``aadOptscim062020`` flag: ``Replace`` with the string "True"/"False"."""
    scim(client, tenant, "PATCH", f"/Users/{user_id}", {"schemas": [PATCH_OP_URN], "Operations": [
        {"op": "Replace", "path": "active", "value": value}]})


def quirks_recorded(app: Flask, tenant: Tenant, resource_id: str) -> list[set[str]]:
    """The compatibility rules recorded with each change of the resource (reads left out), oldest first."""
    from sqlalchemy import select

    from fluid_scim.extensions import db
    from fluid_scim.models import ProvisioningEvent
    from fluid_scim.services import organisations

    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        events = db.session.execute(
            select(ProvisioningEvent)
            .where(ProvisioningEvent.organisation_id == organisation.id, ProvisioningEvent.resource_id == resource_id)
            .order_by(ProvisioningEvent.created_at, ProvisioningEvent.id)
        ).scalars()
        quirks = [set(event.quirks or ()) for event in events if event.operation != "user.read"]
        db.session.remove()
        return quirks
