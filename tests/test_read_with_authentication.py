"""A GET by id and a ``userName eq`` lookup read their user in the authentication lookup's statement.

One statement (one round trip on PostgreSQL) answers the organisation, its token and the user the
request is about to show; the user is shown only once the token is verified, and only a user of the
organisation the host names.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event

from fluid_scim.extensions import db
from tests.support.tenants import Tenant, make_tenant
from tests.support.urns import FLUID_URN, USER_URN

GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _headers(tenant: Tenant, token: str | None = None) -> dict[str, str]:
    return {"Host": tenant.host, "Authorization": f"Bearer {token or tenant.token}"}


def _statements(app: Flask, call: Any) -> tuple[Any, list[str]]:
    """What ``call()`` returns and the statements it ran (a cursor listener sees every one)."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        return call(), seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _ada_in_admins(app_factory: Any) -> tuple[Flask, Any, dict[str, str], dict[str, Any]]:
    """An app whose reads' events are batched, as a served worker writes them, and a user in a group "admins":
    the app, its client, the headers of the organisation and the user as created."""
    app = app_factory(record_flush_seconds=60)
    tenant = make_tenant(app)
    client = app.test_client()
    headers = _headers(tenant)
    user = client.post("/scim/v2/Users", json={"schemas": [USER_URN], "userName": "Ada@Example.com"}, headers=headers).json
    client.post("/scim/v2/Groups", json={"schemas": [GROUP_URN], "displayName": "admins", "members": [{"value": user["id"]}]},
                headers=headers)
    return app, client, headers, user


def test_a_get_by_id_and_a_user_name_lookup_are_one_statement(app_factory: Any) -> None:
    app, client, headers, user = _ada_in_admins(app_factory)

    got, statements = _statements(app, lambda: client.get(f"/scim/v2/Users/{user['id']}", headers=headers))
    assert got.status_code == 200 and got.json["userName"] == "Ada@Example.com"
    assert [group["display"] for group in got.json["groups"]] == ["admins"]
    assert len(statements) == 1, statements

    def lookup(name: str) -> Any:
        return client.get("/scim/v2/Users", query_string={"filter": f'userName eq "{name}"'}, headers=headers)

    found, statements = _statements(app, lambda: lookup("ada@example.COM"))  # userName is caseExact false
    assert found.json["totalResults"] == 1 and found.json["Resources"][0]["id"] == user["id"]
    assert len(statements) == 1, statements
    missed, statements = _statements(app, lambda: lookup("grace@example.com"))
    assert missed.status_code == 200 and missed.json["totalResults"] == 0
    assert len(statements) == 1, statements
    unknown, statements = _statements(app, lambda: client.get("/scim/v2/Users/7d7a1f0e-0000-4000-8000-000000000000",
                                                              headers=headers))
    assert unknown.status_code == 404 and len(statements) == 1, statements

    # A sorted lookup is answered by the filter's page, not by the key: authentication reads no user for it.
    sorted_lookup, statements = _statements(app, lambda: client.get(
        "/scim/v2/Users", query_string={"filter": 'userName eq "ada@example.com"', "sortBy": "userName"}, headers=headers))
    assert sorted_lookup.json["totalResults"] == 1 and sorted_lookup.json["Resources"][0]["id"] == user["id"]
    assert "scim_user" not in statements[0], statements


def test_the_user_read_with_the_token_is_shown_only_to_its_own_verified_organisation(app: Flask, client: Any) -> None:
    mine, theirs = make_tenant(app), make_tenant(app)
    user = client.post("/scim/v2/Users", json={"schemas": [USER_URN], "userName": "ada@example.com", "title": "Countess"},
                       headers=_headers(mine)).json
    wrong = client.get(f"/scim/v2/Users/{user['id']}", headers=_headers(mine, token="fscim_" + "x" * 40))
    assert wrong.status_code == 401 and "Countess" not in wrong.get_data(as_text=True)
    wrong = client.get("/scim/v2/Users", query_string={"filter": 'userName eq "ada@example.com"'},
                       headers=_headers(mine, token=theirs.token))
    assert wrong.status_code == 401 and "Countess" not in wrong.get_data(as_text=True)
    elsewhere = client.get(f"/scim/v2/Users/{user['id']}", headers=_headers(theirs))
    assert elsewhere.status_code == 404
    lookup = client.get("/scim/v2/Users", query_string={"filter": 'userName eq "ada@example.com"'}, headers=_headers(theirs))
    assert lookup.status_code == 200 and lookup.json["totalResults"] == 0
    assert client.get(f"/scim/v2/Users/{user['id']}", headers=_headers(mine)).json["title"] == "Countess"


PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _user_reads(statements: list[str]) -> list[str]:
    """The statements that read users or memberships apart from authentication's (which also reads the organisation)."""
    return [statement for statement in statements if "FROM scim_user" in statement.split("organisation", 1)[0]
            or statement.lstrip().startswith("SELECT scim_group_member")]


def test_a_change_of_one_user_reads_it_with_authentication(app_factory: Any) -> None:
    """A PATCH, PUT or DELETE of a user by id reads the user (and its groups, for the answer) in the statement
    that authenticates: no SELECT of the user and no read of its groups after the commit."""
    app, client, headers, user = _ada_in_admins(app_factory)
    patch = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "replace", "path": "title", "value": "Countess"}]}

    patched, statements = _statements(app, lambda: client.patch(f"/scim/v2/Users/{user['id']}", json=patch, headers=headers))
    assert patched.status_code == 200 and patched.json["title"] == "Countess"
    assert [group["display"] for group in patched.json["groups"]] == ["admins"]
    assert patched.json["meta"]["version"] != user["meta"]["version"]
    assert "scim_user" in statements[0] and _user_reads(statements[1:]) == [], statements

    unchanged, statements = _statements(app, lambda: client.patch(f"/scim/v2/Users/{user['id']}", json=patch, headers=headers))
    assert unchanged.status_code == 200 and unchanged.json["meta"]["version"] == patched.json["meta"]["version"]
    assert [group["display"] for group in unchanged.json["groups"]] == ["admins"]
    assert len(statements) == 1, statements

    replaced, statements = _statements(app, lambda: client.put(
        f"/scim/v2/Users/{user['id']}", json={"schemas": [USER_URN], "userName": "Ada@Example.com", "title": "Analyst"},
        headers=headers))
    assert replaced.status_code == 200 and replaced.json["title"] == "Analyst"
    assert [group["display"] for group in replaced.json["groups"]] == ["admins"]
    assert _user_reads(statements[1:]) == [], statements
    # Its access is decided from the groups read with it and the role mappings the first PATCH read and kept.
    assert not [statement for statement in statements if "role_mapping" in statement], statements

    stale = client.patch(f"/scim/v2/Users/{user['id']}", json=patch, headers={**headers, "If-Match": patched.headers["ETag"]})
    assert stale.status_code == 412  # the version read with the token is the stored one

    missing, statements = _statements(app, lambda: client.patch(
        "/scim/v2/Users/7d7a1f0e-0000-4000-8000-000000000000", json=patch, headers=headers))
    assert missing.status_code == 404 and len(statements) == 1, statements

    deleted, statements = _statements(app, lambda: client.delete(f"/scim/v2/Users/{user['id']}", headers=headers))
    assert deleted.status_code == 204 and not [s for s in statements[1:] if s.lstrip().startswith("SELECT scim_user.")]
    assert client.get(f"/scim/v2/Users/{user['id']}", headers=headers).status_code == 404


def test_a_change_of_a_user_read_with_the_token_is_refused_to_other_organisations(app: Flask, client: Any) -> None:
    mine, theirs = make_tenant(app), make_tenant(app)
    user = client.post("/scim/v2/Users", json={"schemas": [USER_URN], "userName": "ada@example.com", "title": "Countess"},
                       headers=_headers(mine)).json
    patch = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "replace", "path": "title", "value": "Thief"}]}
    wrong = client.patch(f"/scim/v2/Users/{user['id']}", json=patch, headers=_headers(mine, token=theirs.token))
    assert wrong.status_code == 401 and "Countess" not in wrong.get_data(as_text=True)
    elsewhere = client.patch(f"/scim/v2/Users/{user['id']}", json=patch, headers=_headers(theirs))
    assert elsewhere.status_code == 404
    assert client.delete(f"/scim/v2/Users/{user['id']}", headers=_headers(theirs)).status_code == 404
    assert client.get(f"/scim/v2/Users/{user['id']}", headers=_headers(mine)).json["title"] == "Countess"


def test_a_patch_decides_access_with_the_role_mappings_of_now(app_factory: Any) -> None:
    """A worker keeps an organisation's role mappings by its schema_version, which every change of them sets:
    after a change, the recomputation of everyone and each later PATCH decide with the new mappings."""
    from fluid_scim.services import access_admin, organisations

    app, client, headers, user = _ada_in_admins(app_factory)
    slug = headers["Host"].split(".")[0]

    def set_mappings(groups: dict[str, str]) -> None:
        with app.app_context():
            access_admin.set_role_mappings(organisation=organisations.get_organisation(slug=slug), groups=groups)

    def roles() -> tuple[bool, list[str]]:
        fluid = client.get(f"/scim/v2/Users/{user['id']}", headers=headers).json[FLUID_URN]
        return fluid.get("accessGranted", False), [role["value"] for role in fluid.get("roles", [])]

    def patch(path: str, value: str) -> tuple[bool, list[str]]:
        body = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "replace", "path": path, "value": value}]}
        response = client.patch(f"/scim/v2/Users/{user['id']}", json=body, headers=headers)
        assert response.status_code == 200, response.json
        return roles()

    access_group = client.get("/scim/v2/Groups", query_string={"filter": 'displayName eq "Fluid User"'}, headers=headers)
    client.patch(f"/scim/v2/Groups/{access_group.json['Resources'][0]['id']}", headers=headers, json={
        "schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}]})
    set_mappings({"admins": "editor"})
    assert patch("title", "one") == (True, ["editor"])
    set_mappings({"admins": "admin"})
    assert roles() == (True, ["admin"])
    assert patch("active", "False")[0] is False
    assert patch("active", "True") == (True, ["admin"])
