"""A list page reads its rows in index order: the database never sorts a whole organisation for one page.

The statements a real request sends are caught and explained (``EXPLAIN QUERY PLAN`` on SQLite,
``EXPLAIN`` on PostgreSQL) on an organisation of a few thousand users and groups, with statistics
gathered, so that each planner chooses as it would on a customer's data.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from fluid_scim.extensions import db
from fluid_scim.models import Organisation, ScimGroup
from fluid_scim.models.scim import new_id
from tests.support.statements import captured_statements
from tests.support.tenants import Tenant
from tests.support.users import EPOCH, add_many_users

USERS = 3000
GROUPS = 1500


def _fill(app: Flask, tenant: Tenant) -> None:
    with app.app_context():
        organisation = db.session.scalars(select(Organisation).filter_by(slug=tenant.slug)).one()
        add_many_users(organisation, (f"user-{index:05d}@example.com" for index in range(USERS)))
        db.session.execute(insert(ScimGroup), [
            {"organisation_id": organisation.id, "id": new_id(), "display_name": f"Group {index:05d}",
             "display_name_key": f"group {index:05d}", "created_at": EPOCH, "updated_at": EPOCH}
            for index in range(GROUPS)
        ])
        db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()


def _plan(app: Flask, statement: str, parameters: Any) -> str:
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            explain = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
            cursor.execute(explain + statement, parameters)
            return "\n".join(" ".join(str(part) for part in row) for row in cursor.fetchall())
        finally:
            connection.close()


def _page_statement(app: Flask, client: FlaskClient, tenant: Tenant, path: str, table: str) -> tuple[str, Any]:
    headers = {"Authorization": f"Bearer {tenant.token}"}
    with captured_statements(app) as seen:
        response = client.get(path, headers=headers, base_url=f"http://{tenant.host}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(response.get_json()["Resources"]) == 100
    pages = [(statement, parameters) for statement, parameters in seen
             if f"FROM {table}" in statement and "LIMIT" in statement and "ORDER BY" in statement]
    assert len(pages) == 1, [statement for statement, _ in seen]
    return pages[0]


@pytest.mark.parametrize(
    ("path", "table", "index"),
    [
        ("/scim/v2/Users?startIndex=1&count=100", "scim_user", "ix_scim_user_created"),
        ("/scim/v2/Users?startIndex=2001&count=100", "scim_user", "ix_scim_user_created"),
        ("/scim/v2/Users?startIndex=1&count=100&sortBy=meta.created", "scim_user", "ix_scim_user_created"),
        ("/scim/v2/Groups?startIndex=1&count=100&excludedAttributes=members", "scim_group", "ix_scim_group_created"),
    ],
)
def test_a_page_in_the_default_order_is_read_from_the_creation_index(
    app: Flask, client: FlaskClient, tenant: Tenant, path: str, table: str, index: str
) -> None:
    _fill(app, tenant)
    plan = _plan(app, *_page_statement(app, client, tenant, path, table))
    assert index in plan, plan
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert "TEMP B-TREE" not in plan, plan
    else:
        assert "Sort" not in plan, plan
