"""Every list of the admin API is costed before it runs, and read from the database a page at a time.

The cost rule is read from the schema (graphql_admin/query_limits.py ``list_costs``): a field with
``first`` is paged, a connection's ``edges`` are that page, any other list of objects needs a
declared bound or the schema is not built. Each list field has a case below, and a test fails
when the schema grows a list field without one. The lists that used to be read whole and then
sliced (held deprovisionings, organisations, a user's access trail) are read with LIMIT/OFFSET.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from graphql import build_schema as build_graphql_schema
from graphql import get_named_type, get_nullable_type, is_interface_type, is_leaf_type, is_list_type, is_object_type

from fluid_scim.extensions import db
from fluid_scim.models import AccessEvent, HeldAccessChange, Organisation
from fluid_scim.services import organisations
from graphql_admin.context import AdminContext
from graphql_admin.query_limits import UncostedList, list_costs
from graphql_admin.schema import build_schema, schema
from tests.support.graphql import claims_for, data, execute
from tests.support.statements import captured_statements
from tests.support.tenants import Tenant
from tests.support.users import EPOCH, add_user

PAGE = "edges { node { %s } }"
# (type, field) -> (operation, variables, cost): the cost the limit computes, before anything runs.
COST_CASES: dict[tuple[str, str], list[tuple[str, dict[str, Any], int]]] = {
    ("Query", "users"): [
        ("{ users(first: 50) { %s } }" % (PAGE % "id"), {}, 151),
        ("{ users { %s } }" % (PAGE % "id"), {}, 61),
    ],
    ("Query", "groups"): [
        ("{ groups(first: 50) { %s } }" % (PAGE % "id"), {}, 151),
        ("{ groups { %s } }" % (PAGE % "id"), {}, 61),
    ],
    ("Query", "provisioningEvents"): [
        ("query($n: Int) { provisioningEvents(first: $n) { %s } }" % (PAGE % "id"), {"n": 50}, 151),
        ("{ provisioningEvents { %s } }" % (PAGE % "id"), {}, 61),
    ],
    ("Query", "heldDeprovisionings"): [
        ("{ heldDeprovisionings(first: 50) { %s } }" % (PAGE % "id"), {}, 151),
        ("{ heldDeprovisionings { %s } }" % (PAGE % "id"), {}, 61),
    ],
    ("Query", "organisations"): [
        ("{ organisations(first: 50) { %s } }" % (PAGE % "slug"), {}, 151),
        ("{ organisations { %s } }" % (PAGE % "slug"), {}, 61),
    ],
    ("Query", "webhookDeliveries"): [
        ("{ webhookDeliveries(first: 50) { %s } }" % (PAGE % "id"), {}, 151),
        ("{ webhookDeliveries { %s } }" % (PAGE % "id"), {}, 61),
    ],
    ("Query", "provisioningFeed"): [
        ("{ provisioningFeed(first: 50) { %s } }" % (PAGE % "id"), {}, 151),
        ("{ provisioningFeed { %s } }" % (PAGE % "id"), {}, 61),
    ],
    ("User", "accessTrail"): [
        ("{ users(first: 2) { edges { node { accessTrail(first: 50) { %s } } } } }" % (PAGE % "id"), {}, 307),
        ("{ user(id: \"x\") { accessTrail { %s } } }" % (PAGE % "id"), {}, 62),
    ],
    ("DirectoryAttributes", "undeclaredAttributes"): [
        ("{ directoryAttributes { undeclaredAttributes(first: 50) { path } } }", {}, 52),
        ("{ directoryAttributes { undeclaredAttributes { path } } }", {}, 102),
    ],
    ("DirectoryAttributes", "declarations"): [("{ directoryAttributes { declarations { path name } } }", {}, 202)],
    ("Query", "webhookEndpoints"): [("{ webhookEndpoints { id url } }", {}, 41)],
    ("Query", "setupChecklist"): [("{ setupChecklist { key state } }", {}, 25)],
    ("SetupChecklistReset", "steps"): [
        ("mutation { resetSetupChecklist { ... on SetupChecklistReset { steps { key } } } }", {}, 14),
    ],
    ("User", "customAttributes"): [("{ user(id: \"x\") { customAttributes { path } } }", {}, 134)],
    ("RoleMappings", "groups"): [("{ organisation { roleMappings { groups { role } } } }", {}, 103)],
    ("RoleMappings", "appRoles"): [("{ organisation { roleMappings { appRoles { role } } } }", {}, 103)],
    ("RoleMappings", "attributes"): [("{ organisation { roleMappings { attributes { role } } } }", {}, 103)],
    ("ImportReport", "rows"): [
        (
            "mutation($rows: [ImportUserInput!]!) { importUsers(rows: $rows) { ... on ImportReport { rows { index } } } }",
            {"rows": [{"userName": f"u{n}@example.com"} for n in range(3)]},
            5,
        ),
        ('mutation { importUsers(rows: [{userName: "a"}, {userName: "b"}]) { ... on ImportReport { rows { index } } } }', {}, 4),
    ],
}


def _list_fields(graphql_schema: Any) -> set[tuple[str, str]]:
    """Every field of an object or interface type that returns a list of objects or takes ``first``."""
    found = set()
    for type_name, named in graphql_schema.type_map.items():
        if type_name.startswith("__") or not (is_object_type(named) or is_interface_type(named)):
            continue
        for field_name, field in named.fields.items():
            returns_objects = is_list_type(get_nullable_type(field.type)) and not is_leaf_type(get_named_type(field.type))
            if returns_objects or "first" in field.args:
                found.add((type_name, field_name))
    return found


def test_every_list_field_of_the_schema_has_a_cost_rule_and_a_case() -> None:
    fields = _list_fields(schema._schema)
    costs = list_costs(schema._schema)
    assert fields <= set(costs), f"list fields without a cost rule: {sorted(fields - set(costs))}"
    edges = {key for key in fields if key[1] == "edges"}
    assert set(COST_CASES) == fields - edges, "each list field needs a case in COST_CASES"
    assert all(costs[key].bound == 1 and not costs[key].paged for key in edges)  # counted by the field returning them


def test_a_list_field_without_first_or_bound_stops_the_schema_build() -> None:
    unbounded = build_graphql_schema("type Item { name: String } type Query { items: [Item!]! }")
    with pytest.raises(UncostedList, match=r"Query\.items returns a list but has no first argument and no bound"):
        list_costs(unbounded)


CASES = [(key, index) for key, cases in COST_CASES.items() for index in range(len(cases))]


@pytest.mark.parametrize(("key", "index"), CASES, ids=[f"{key[0]}.{key[1]}-{index}" for key, index in CASES])
def test_each_list_field_is_costed_by_its_length(app: Flask, tenant: Tenant, key: tuple[str, str], index: int) -> None:
    query, variables, cost = COST_CASES[key][index]
    settings = dataclasses.replace(app.extensions["fluid_settings"], graphql_max_cost=cost - 1)
    strict = build_schema(settings)
    with app.app_context():
        context = AdminContext(claims=claims_for(tenant.slug, operator=True), settings=settings,
                               store=app.extensions["fluid_secret_store"], request_id="test")
        refused = strict.execute_sync(query, variable_values=variables, context_value=context)
    assert refused.data is None and refused.errors, refused
    assert refused.errors[0].extensions == {"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": cost - 1}


# -- paged in the database ------------------------------------------------------------------------


def _reading(statements: list[tuple[str, Any]], table: str) -> list[tuple[str, Any]]:
    """The SELECT statements among ``statements`` that read ``table``."""
    return [item for item in statements if item[0].lstrip().upper().startswith("SELECT") and f"FROM {table}" in item[0]]


def _walk(app: Flask, claims: Any, query: str, path: list[str], *, size: int, most: int) -> list[str]:
    """Every node id (or slug) of a paged list, following endCursor; at most ``most`` pages."""
    found: list[str] = []
    after = None
    for _ in range(most):
        result = data(execute(app, query, claims, {"first": size, "after": after}))
        for part in path:
            result = result[part]
        found += [edge["node"]["key"] for edge in result["edges"]]
        assert len(result["edges"]) <= size
        if not result["pageInfo"]["hasNextPage"]:
            return found
        after = result["pageInfo"]["endCursor"]
    raise AssertionError(f"more than {most} pages")


def _limited(statements: list[tuple[str, Any]], size: int) -> None:
    assert statements, "no statement read the list"
    for statement, parameters in statements:
        assert "LIMIT" in statement.upper(), statement
        values = parameters.values() if isinstance(parameters, dict) else parameters
        assert size + 1 in list(values), (statement, parameters)  # one page and one row to tell a next page


def test_held_deprovisionings_are_paged_in_the_database(app: Flask, tenant: Tenant) -> None:
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        for n in range(130):
            db.session.add(HeldAccessChange(organisation_id=organisation.id, user_id=str(uuid.uuid4()), user_name=f"u{n}",
                                            reason="brake", created_at=EPOCH + timedelta(seconds=n)))
        db.session.commit()
    query = """query($first: Int, $after: String) { heldDeprovisionings(first: $first, after: $after) {
      edges { node { key: userName } } pageInfo { hasNextPage endCursor } } }"""
    with captured_statements(app) as captured:
        names = _walk(app, claims_for(tenant.slug), query, ["heldDeprovisionings"], size=25, most=10)
    assert names == [f"u{n}" for n in range(130)]
    _limited(_reading(captured, "held_access_change"), 25)


def test_organisations_are_paged_in_the_database(app: Flask, tenant: Tenant) -> None:
    with app.app_context():
        for n in range(24):
            db.session.add(Organisation(slug=f"paged-{n:02d}-{uuid.uuid4().hex[:6]}", name=f"Paged {n}"))
        db.session.commit()
        everyone = sorted(item.slug for item in organisations.list_organisations())
    query = """query($first: Int, $after: String) { organisations(first: $first, after: $after) {
      edges { node { key: slug } } pageInfo { hasNextPage endCursor } } }"""
    with captured_statements(app) as captured:
        slugs = _walk(app, claims_for(tenant.slug, operator=True), query, ["organisations"], size=10, most=20)
    assert slugs == everyone and len(slugs) >= 25
    _limited([item for item in _reading(captured, "organisation") if "ORDER BY organisation.slug" in item[0]], 10)


def test_a_users_access_trail_is_paged_in_the_database(app: Flask, tenant: Tenant) -> None:
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        user = add_user(organisation, {"userName": "trail@example.com"})
        for n in range(130):
            db.session.add(AccessEvent(organisation_id=organisation.id, user_id=user.id, user_name="trail@example.com",
                                       kind="granted", reason=f"step {n:03d}", created_at=EPOCH + timedelta(seconds=n)))
        db.session.commit()
        user_id = user.id
    query = (
        'query($first: Int, $after: String) { user(id: "' + user_id + '") { accessTrail(first: $first, after: $after) {'
        " edges { node { key: detail } } pageInfo { hasNextPage endCursor } } } }"
    )
    with captured_statements(app) as captured:
        steps = _walk(app, claims_for(tenant.slug), query, ["user", "accessTrail"], size=25, most=10)
    assert steps == [f"step {n:03d}" for n in range(130)]
    _limited(_reading(captured, "access_event"), 25)
