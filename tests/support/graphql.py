"""Helpers shared by the GraphQL admin API tests.

``execute`` runs an operation in-process with ``schema.execute_sync`` as a given caller;
``credential`` mints a real JWT for HTTP tests; ``graphql_post`` sends one to a live server.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import requests
import strawberry
from flask import Flask
from strawberry.types import ExecutionResult

from fluid_scim.config import Settings
from fluid_scim.services.admin_credentials import ADMIN_ROLE, mint_admin_token
from graphql_admin.auth import AdminClaims
from graphql_admin.context import AdminContext
from graphql_admin.schema import build_schema


def claims_for(
    slug: str, *, roles: tuple[str, ...] = (ADMIN_ROLE,), operator: bool = False, sub: str = "ada@example.com"
) -> AdminClaims:
    now = int(time.time())
    return AdminClaims(
        subject=sub, organisation=slug, roles=roles, platform_operator=operator, issued_at=now, expires_at=now + 600
    )


@functools.lru_cache(maxsize=8)
def _schema(settings: Settings) -> strawberry.Schema:
    return build_schema(settings)


def execute(
    app: Flask, query: str, claims: AdminClaims | None, variables: dict[str, Any] | None = None
) -> ExecutionResult:
    """Run one operation as ``claims`` against the app's database, Vault and settings."""
    settings: Settings = app.extensions["fluid_settings"]
    with app.app_context():
        context = AdminContext(claims=claims, settings=settings, store=app.extensions["fluid_secret_store"], request_id="test")
        return _schema(settings).execute_sync(query, variable_values=variables, context_value=context)


def data(result: ExecutionResult) -> dict[str, Any]:
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


def credential(app: Flask, slug: str, *, operator: bool = False, ttl: int = 600, sub: str = "ada@example.com") -> str:
    with app.app_context():
        key = app.extensions["fluid_secret_store"].admin_jwt_key()
    settings = app.extensions["fluid_settings"]
    return mint_admin_token(
        key=key, settings=settings, subject=sub, organisation=slug, platform_operator=operator, ttl_seconds=ttl
    )


def graphql_post(
    base_url: str, query: str, *, host: str, token: str | None, variables: dict[str, Any] | None = None
) -> requests.Response:
    headers = {"Host": host, "Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(f"{base_url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers, timeout=10)
