"""The provisioning history names whom a row is about (as they were called then) and who acted.

SCIM rows name the identity provider as detected and its token's fingerprint; rows written before
names and SCIM actors were kept show what they carry (the name in their changes, the dialect and
fingerprint columns), and nothing is invented for a row that carries neither.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from fluid_scim.extensions import db
from fluid_scim.models import ProvisioningEvent
from fluid_scim.models.scim import new_id
from fluid_scim.models.types import utcnow
from fluid_scim.services import organisations, scim_tokens
from tests.support.graphql import claims_for, data, execute
from tests.support.provisioning import scim
from tests.support.tenants import Tenant
from tests.support.urns import GROUP_URN, PATCH_OP_URN, USER_URN

EVENTS = """query($id: String) { provisioningEvents(first: 50, resourceId: $id) {
  edges { node { operation actor resourceType resourceId resourceName status } } } }"""


def events_about(app: Flask, tenant: Tenant, resource_id: str) -> list[dict[str, Any]]:
    """The rows about ``resource_id``, oldest first."""
    edges = data(execute(app, EVENTS, claims_for(tenant.slug), {"id": resource_id}))["provisioningEvents"]["edges"]
    return [edge["node"] for edge in reversed(edges)]


def fingerprint(app: Flask, tenant: Tenant) -> str:
    with app.app_context():
        meta = scim_tokens.token_metadata(organisation=organisations.get_organisation(slug=tenant.slug))
        assert meta is not None
        return str(meta.fingerprint)


def test_user_rows_keep_the_name_the_user_had_and_name_entra_with_the_token(
    app: Flask, client: FlaskClient, tenant: Tenant
) -> None:
    user = scim(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": "ada@contoso.com", "active": True})
    scim(client, tenant, "PATCH", f"/Users/{user['id']}", {"schemas": [PATCH_OP_URN], "Operations": [
        {"op": "Replace", "path": "userName", "value": "ada.lovelace@contoso.com"}]})
    scim(client, tenant, "PATCH", f"/Users/{user['id']}", {"schemas": [PATCH_OP_URN], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Ada"}]})
    scim(client, tenant, "DELETE", f"/Users/{user['id']}")

    rows = events_about(app, tenant, user["id"])
    assert [(row["operation"], row["resourceName"]) for row in rows] == [
        ("user.created", "ada@contoso.com"),
        ("user.updated", "ada.lovelace@contoso.com"),  # the rename: the name it took
        ("user.updated", "ada.lovelace@contoso.com"),
        ("user.deleted", "ada.lovelace@contoso.com"),  # gone, still named
    ]
    assert {row["actor"] for row in rows} == {f"scim:entra:{fingerprint(app, tenant)}"}


def test_group_rows_keep_the_display_name_of_the_time(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    group = scim(client, tenant, "POST", "/Groups", {"schemas": [GROUP_URN], "displayName": "Finance"})
    scim(client, tenant, "PATCH", f"/Groups/{group['id']}", {"schemas": [PATCH_OP_URN], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Finance EMEA"}]})
    scim(client, tenant, "DELETE", f"/Groups/{group['id']}")
    rows = events_about(app, tenant, group["id"])
    assert [(row["operation"], row["resourceName"]) for row in rows] == [
        ("group.created", "Finance"), ("group.renamed", "Finance EMEA"), ("group.deleted", "Finance EMEA"),
    ]


def test_a_request_whose_token_is_refused_names_only_the_detected_client(app: Flask, client: FlaskClient,
                                                                          tenant: Tenant) -> None:
    response = client.get("/scim/v2/Users", headers={"Host": tenant.host, "Authorization": "Bearer not-the-token",
                                                     "User-Agent": "Okta SCIM Client 1.0.0"})
    assert response.status_code == 401
    query = '{ provisioningEvents(first: 5, outcome: FAILURE) { edges { node { actor status } } } }'
    nodes = [edge["node"] for edge in data(execute(app, query, claims_for(tenant.slug)))["provisioningEvents"]["edges"]]
    assert nodes and nodes[0] == {"actor": "scim:okta", "status": 401}


def _old_row(app: Flask, tenant: Tenant, **values: Any) -> str:
    """A row as written before names and SCIM actors were kept (no resource_name; no actor on SCIM rows)."""
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        row = ProvisioningEvent(organisation_id=organisation.id, id=new_id(), created_at=utcnow(), status=200, quirks=[],
                                **values)
        db.session.add(row)
        db.session.commit()
        return row.id


def test_rows_older_than_the_names_show_what_they_carry(app: Flask, tenant: Tenant) -> None:
    _old_row(app, tenant, kind="scim", actor=None, dialect="entra", token_fingerprint="a1b2c3d4e5f6a7b8",
             operation="user.created", resource_type="User", resource_id="u-old-1",
             changes=[{"path": "userName", "before": None, "after": "old@contoso.com"}])
    _old_row(app, tenant, kind="scim", actor=None, dialect="okta", token_fingerprint="0011223344556677",
             operation="group.deleted", resource_type="Group", resource_id="g-old-1",
             changes=[{"path": "displayName", "before": "Old Group", "after": None}])
    _old_row(app, tenant, kind="scim", actor=None, dialect=None, token_fingerprint=None,
             operation="user.read", resource_type="User", resource_id="u-old-2", changes=[])
    created = events_about(app, tenant, "u-old-1")
    assert [(row["resourceName"], row["actor"]) for row in created] == [("old@contoso.com", "scim:entra:a1b2c3d4e5f6a7b8")]
    deleted = events_about(app, tenant, "g-old-1")
    assert [(row["resourceName"], row["actor"]) for row in deleted] == [("Old Group", "scim:okta:0011223344556677")]
    bare = events_about(app, tenant, "u-old-2")
    assert [(row["resourceName"], row["actor"]) for row in bare] == [(None, None)]  # nothing to show, nothing made up


def test_the_export_carries_the_name(app: Flask, client: FlaskClient, tenant: Tenant, runner: Any) -> None:
    scim(client, tenant, "POST", "/Users", {"schemas": [USER_URN], "userName": "exported@contoso.com", "active": True})
    result = runner.invoke(args=["audit", "export", tenant.slug, "--since", "2000-01-01"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    created = [row for row in rows if row["operation"] == "user.created"]
    assert [row["resource_name"] for row in created] == ["exported@contoso.com"]
    assert created[0]["actor"].startswith("scim:entra:")
