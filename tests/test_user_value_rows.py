"""A change rewrites the filterable rows (``scim_user_value``) of the multi-valued attributes it changed, and
only theirs: filters find the new values, not the old ones, and the rows of the attributes left alone
are not deleted and written again with every index entry of theirs.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fluid_scim.extensions import db
from fluid_scim.models import Organisation, ScimUserValue
from tests.support.statements import captured_statements
from tests.support.tenants import Tenant
from tests.support.urns import PATCH_OP_URN, USER_URN


def _headers(tenant: Tenant) -> dict[str, str]:
    return {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"}


def _user(client: FlaskClient, tenant: Tenant) -> str:
    body = {
        "schemas": [USER_URN],
        "userName": "grace@example.com",
        "emails": [{"value": "grace@work.example", "type": "work", "primary": True},
                   {"value": "grace@home.example", "type": "home"}],
        "phoneNumbers": [{"value": "+44 20 7946 0001", "type": "work"}, {"value": "+44 7700 900001", "type": "mobile"}],
        "addresses": [{"type": "work", "locality": "Cambridge", "country": "GB"}],
    }
    response = client.post("/scim/v2/Users", json=body, headers=_headers(tenant))
    assert response.status_code == 201, response.get_data(as_text=True)
    return str(response.get_json()["id"])


def _found(client: FlaskClient, tenant: Tenant, filter_text: str) -> list[str]:
    response = client.get("/scim/v2/Users", query_string={"filter": filter_text}, headers=_headers(tenant))
    assert response.status_code == 200, response.get_data(as_text=True)
    return [user["id"] for user in response.get_json().get("Resources", [])]


def _rows(app: Flask, tenant: Tenant, user_id: str) -> list[tuple[Any, ...]]:
    organisation = select(Organisation.id).where(Organisation.slug == tenant.slug).scalar_subquery()
    with app.app_context():
        rows = db.session.execute(
            select(ScimUserValue.attribute, ScimUserValue.position, ScimUserValue.value, ScimUserValue.locality)
            .where(ScimUserValue.organisation_id == organisation, ScimUserValue.user_id == user_id)
            .order_by(ScimUserValue.attribute, ScimUserValue.position)
        ).all()
        return [tuple(row) for row in rows]


def _deleted_attributes(seen: list[tuple[str, Any]]) -> list[set[str]]:
    """The attribute names each DELETE of value rows named (whatever the driver's parameter style)."""
    names = {"emails", "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles", "x509Certificates"}
    deletes = [parameters for statement, parameters in seen if statement.upper().startswith("DELETE FROM SCIM_USER_VALUE")]
    return [{value for value in (p.values() if isinstance(p, dict) else p) if value in names} for p in deletes]


def test_a_patch_of_a_work_email_rewrites_the_emails_alone(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    user_id = _user(client, tenant)
    before = _rows(app, tenant, user_id)
    patch = {"schemas": [PATCH_OP_URN], "Operations": [
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "grace@new-work.example"}]}
    with captured_statements(app) as seen:
        response = client.patch(f"/scim/v2/Users/{user_id}", json=patch, headers=_headers(tenant))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert _deleted_attributes(seen) == [{"emails"}]

    after = _rows(app, tenant, user_id)
    assert [row for row in after if row[0] != "emails"] == [row for row in before if row[0] != "emails"]
    assert [row[2] for row in after if row[0] == "emails"] == ["grace@new-work.example", "grace@home.example"]
    assert _found(client, tenant, 'emails.value eq "grace@new-work.example"') == [user_id]
    assert _found(client, tenant, 'emails.value eq "grace@work.example"') == []
    assert _found(client, tenant, 'emails.value eq "grace@home.example"') == [user_id]
    assert _found(client, tenant, 'phoneNumbers.value eq "+44 7700 900001"') == [user_id]
    assert _found(client, tenant, 'addresses.locality eq "Cambridge"') == [user_id]


def test_a_replace_rewrites_what_it_changed_and_drops_what_it_left_out(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    user_id = _user(client, tenant)
    body = {
        "schemas": [USER_URN],
        "userName": "grace@example.com",
        "emails": [{"value": "grace@work.example", "type": "work", "primary": True},
                   {"value": "grace@home.example", "type": "home"}],
        "phoneNumbers": [{"value": "+44 20 7946 0002", "type": "work"}],
    }
    with captured_statements(app) as seen:
        response = client.put(f"/scim/v2/Users/{user_id}", json=body, headers=_headers(tenant))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert _deleted_attributes(seen) == [{"addresses", "phoneNumbers"}]

    assert [(row[0], row[2]) for row in _rows(app, tenant, user_id)] == [
        ("emails", "grace@work.example"), ("emails", "grace@home.example"), ("phoneNumbers", "+44 20 7946 0002")]
    assert _found(client, tenant, 'addresses.locality eq "Cambridge"') == []
    assert _found(client, tenant, 'phoneNumbers.value eq "+44 7700 900001"') == []
    assert _found(client, tenant, 'phoneNumbers.value eq "+44 20 7946 0002"') == [user_id]
    assert _found(client, tenant, 'emails.value eq "grace@work.example"') == [user_id]

    # A change of no multi-valued attribute leaves every row alone.
    with captured_statements(app) as seen:
        response = client.patch(f"/scim/v2/Users/{user_id}", json={"schemas": [PATCH_OP_URN], "Operations": [
            {"op": "replace", "path": "displayName", "value": "Grace H."}]}, headers=_headers(tenant))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert _deleted_attributes(seen) == []
