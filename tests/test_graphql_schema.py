"""The schema as a whole: the checked-in SDL, GraphiQL, introspection, limits and masked errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from strawberry.printer import print_schema

from fluid_scim.config import Settings, load_settings
from fluid_scim.secrets.store import UnconfiguredSecretStore
from fluid_scim.services import provisioning_status
from graphql_admin.context import AdminContext
from graphql_admin.schema import build_schema, schema
from graphql_admin.view import register_graphql
from tests.support.graphql import claims_for, credential, data, execute
from tests.support.tenants import Tenant

SDL = Path(__file__).resolve().parents[1] / "graphql_admin" / "schema.graphql"
INTROSPECTION = "{ __schema { queryType { name } } }"


def test_checked_in_sdl_matches_the_schema() -> None:
    assert print_schema(schema) + "\n" == SDL.read_text(encoding="utf-8"), (
        "graphql_admin/schema.graphql is out of date: run"
        " `.venv/bin/python -m graphql_admin.schema > graphql_admin/schema.graphql` and review the diff"
    )


def _bare_app(**settings: Any) -> Flask:
    """An app with nothing but the admin API, for settings ``create_app`` would not accept here."""
    app = Flask("bare")
    app.extensions["fluid_settings"] = Settings(**settings)
    app.extensions["fluid_secret_store"] = UnconfiguredSecretStore()
    register_graphql(app)
    return app


def _context(app: Flask, tenant: Tenant) -> AdminContext:
    settings = app.extensions["fluid_settings"]
    return AdminContext(claims=claims_for(tenant.slug), settings=settings, store=UnconfiguredSecretStore())


def test_graphiql_only_in_development(client: Any) -> None:
    page = client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and b"GraphiQL" in page.data
    production = _bare_app(env="production").test_client()
    assert production.get("/graphql", headers={"Accept": "text/html"}).status_code == 404


def test_introspection_follows_the_settings(app: Flask, tenant: Tenant) -> None:
    assert data(execute(app, INTROSPECTION, claims_for(tenant.slug)))["__schema"]["queryType"]["name"] == "Query"
    closed = build_schema(dataclasses.replace(app.extensions["fluid_settings"], graphql_introspection=False))
    context = _context(app, tenant)
    refused = closed.execute_sync(INTROSPECTION, context_value=context)
    assert refused.data is None and refused.errors and "introspection" in refused.errors[0].message.lower()
    # No "did you mean" hints either: they would describe the hidden schema.
    typo = closed.execute_sync("{ organisatio { slug } }", context_value=context)
    assert typo.errors and "Did you mean" not in typo.errors[0].message


def test_introspection_defaults() -> None:
    production = {
        "FLUID_ENV": "production",
        "FLUID_DATABASE_URL": "postgresql://db.example/fluid",
        "FLUID_BASE_DOMAIN": "fluid.wlork",
        "VAULT_ADDR": "https://vault.example",
        "VAULT_TOKEN": "t",
    }
    assert load_settings(environ={}).graphql_introspection is True
    assert load_settings(environ=production).graphql_introspection is False
    assert load_settings(environ={**production, "FLUID_GRAPHQL_INTROSPECTION": "true"}).graphql_introspection is True


def test_depth_limit(app: Flask, tenant: Tenant) -> None:
    deep = "{ users { edges { node { accessTrail { edges { node { changes } } pageInfo { endCursor } } } } } }"
    assert execute(app, deep, claims_for(tenant.slug)).errors is None  # depth 7
    shallow = build_schema(dataclasses.replace(app.extensions["fluid_settings"], graphql_max_depth=4))
    context = _context(app, tenant)
    refused = shallow.execute_sync(deep, context_value=context)
    assert refused.data is None and refused.errors and "exceeds maximum operation depth of 4" in refused.errors[0].message


def test_cost_limit_and_page_size(app: Flask, tenant: Tenant) -> None:
    costly = """query($n: Int) { users(first: $n) { edges { node { userName email roles
      accessTrail(first: $n) { edges { node { what time detail } } } } } } }"""
    refused = execute(app, costly, claims_for(tenant.slug), {"n": 100})
    assert refused.data is None and refused.errors
    assert refused.errors[0].extensions == {"code": "QUERY_TOO_COSTLY", "cost": 50601, "maxCost": 5000}
    assert execute(app, costly, claims_for(tenant.slug), {"n": 10}).errors is None
    too_big = execute(app, "{ users(first: 101) { edges { cursor } } }", claims_for(tenant.slug))
    assert too_big.errors and too_big.errors[0].message == "first must be between 1 and 100; got 101"


def test_unexpected_errors_are_masked(app: Flask, tenant: Tenant, client: Any, monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture) -> None:
    def broken(**_: Any) -> None:
        raise RuntimeError("SELECT digest FROM scim_token -- vault token s.hunter2")

    monkeypatch.setattr(provisioning_status, "status_of", broken)
    result = execute(app, "{ provisioningStatus { verdict } }", claims_for(tenant.slug))
    assert result.errors and [error.message for error in result.errors] == ["Unexpected error."]
    assert result.errors[0].original_error is None
    assert "SELECT digest" in caplog.text  # the operators' log has it, with the traceback

    response = client.post(
        "/graphql",
        json={"query": "{ provisioningStatus { verdict } }"},
        headers={"Host": f"{tenant.slug}.localhost", "Authorization": f"Bearer {credential(app, tenant.slug)}"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert json.loads(body)["errors"][0]["message"] == "Unexpected error."
    for leak in ("SELECT", "hunter2", "Traceback", "RuntimeError", "provisioning_status"):
        assert leak not in body
