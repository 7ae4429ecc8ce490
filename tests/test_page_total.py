"""A list page's ``totalResults`` (RFC 7644 §3.4.2) is the organisation's number of users, whichever
way it is told: a full page and a page past the end by a COUNT(*), a short page by its length.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.support.statements import captured_statements
from tests.support.tenants import Tenant, make_tenant
from tests.support.urns import USER_URN


def _headers(tenant: Tenant) -> dict[str, str]:
    return {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"}


def _statements(app: Flask, call: Any) -> tuple[Any, list[str]]:
    """What ``call()`` returns and the statements it ran."""
    with captured_statements(app) as seen:
        answer = call()
    return answer, [statement for statement, _ in seen]


def _counts(statements: list[str]) -> list[str]:
    """The statements that count and read no page."""
    return [statement for statement in statements if "count(" in statement.lower() and "LIMIT" not in statement]


def test_a_page_tells_the_organisations_number_of_users(app_factory: Any) -> None:
    app = app_factory(record_flush_seconds=60)  # events batched, as a served worker writes them
    tenant, other = make_tenant(app), make_tenant(app)
    client = app.test_client()

    def create(owner: Tenant, name: str) -> str:
        response = client.post("/scim/v2/Users", json={"schemas": [USER_URN], "userName": name}, headers=_headers(owner))
        assert response.status_code == 201, response.get_data(as_text=True)
        return str(response.json["id"])

    ids = [create(tenant, f"user-{index}@example.com") for index in range(5)]
    create(other, "someone-else@example.com")  # another organisation's user counts for nobody here

    def page(start: int, count: int) -> Any:
        response = client.get("/scim/v2/Users", query_string={"startIndex": start, "count": count}, headers=_headers(tenant))
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.json

    first, statements = _statements(app, lambda: page(1, 2))
    assert first["totalResults"] == 5 and [user["id"] for user in first["Resources"]] == ids[:2]
    assert len(_counts(statements)) == 1, statements
    deeper = page(3, 2)
    assert deeper["totalResults"] == 5 and [user["id"] for user in deeper["Resources"]] == ids[2:4]

    # A new user changes the total of the same page, whose users are shown as before.
    ids.append(create(tenant, "user-5@example.com"))
    again = page(1, 2)
    assert again["totalResults"] == 6 and again["Resources"] == first["Resources"]

    # A short page tells the total by its length; a page past the end by a count.
    last, statements = _statements(app, lambda: page(5, 10))
    assert last["totalResults"] == 6 and [user["id"] for user in last["Resources"]] == ids[4:]
    assert _counts(statements) == [], statements
    beyond, statements = _statements(app, lambda: page(10, 2))
    assert beyond["totalResults"] == 6 and beyond.get("Resources", []) == []
    assert len(_counts(statements)) == 1, statements

    # A removed user leaves the total.
    assert client.delete(f"/scim/v2/Users/{ids[0]}", headers=_headers(tenant)).status_code == 204
    after = page(1, 2)
    assert after["totalResults"] == 5 and [user["id"] for user in after["Resources"]] == ids[1:3]
