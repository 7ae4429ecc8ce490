"""Helpers shared by the GraphQL admin API tests.

``execute`` runs an operation in-process with ``schema.execute_sync`` as a given caller;
``credential`` mints a real JWT for HTTP tests; ``graphql_post`` sends one to a live server.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import uuid
from typing import Any

import requests
import strawberry
from flask import Flask
from strawberry.types import ExecutionResult

from fluid_scim.config import Settings
from fluid_scim.services import organisations
from fluid_scim.services.admin_credentials import ADMIN_ROLE, mint_admin_token
from graphql_admin.auth import AdminClaims
from graphql_admin.context import AdminContext
from graphql_admin.schema import build_schema


def claims_for(
    slug: str,
    *,
    roles: tuple[str, ...] = (ADMIN_ROLE,),
    operator: bool = False,
    sub: str = "ada@example.com",
    organisation_id: str | None = None,
) -> AdminClaims:
    """Verified claims for ``slug``; :func:`execute` fills in the id of the organisation ``slug`` names, if any."""
    now = int(time.time())
    return AdminClaims(
        subject=sub,
        organisation=slug,
        organisation_id=organisation_id,
        roles=roles,
        platform_operator=operator,
        issued_at=now,
        expires_at=now + 600,
    )


def _organisation_id(slug: str) -> uuid.UUID | None:
    found = organisations.find_organisation(slug=slug)
    return None if found is None else found.id


@functools.lru_cache(maxsize=8)
def _schema(settings: Settings) -> strawberry.Schema:
    return build_schema(settings)


def execute(
    app: Flask, query: str, claims: AdminClaims | None, variables: dict[str, Any] | None = None
) -> ExecutionResult:
    """Run one operation as ``claims`` against the app's database, Vault and settings."""
    settings: Settings = app.extensions["fluid_settings"]
    with app.app_context():
        if claims is not None and claims.organisation_id is None:
            found = _organisation_id(claims.organisation)
            claims = dataclasses.replace(claims, organisation_id=None if found is None else str(found))
        context = AdminContext(claims=claims, settings=settings, store=app.extensions["fluid_secret_store"], request_id="test")
        return _schema(settings).execute_sync(query, variable_values=variables, context_value=context)


def data(result: ExecutionResult) -> dict[str, Any]:
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


def credential(app: Flask, slug: str, *, operator: bool = False, ttl: int = 600, sub: str = "ada@example.com") -> str:
    """A credential for ``slug`` naming its organisation's id (a made-up one when there is no such
    organisation; none for an operator's)."""
    with app.app_context():
        keys = app.extensions["fluid_secret_store"].admin_jwt_keys()
        organisation_id = _organisation_id(slug)
    if organisation_id is None and not operator:
        organisation_id = uuid.uuid4()
    settings = app.extensions["fluid_settings"]
    return mint_admin_token(
        key=keys.current,
        key_id=keys.current_id,
        settings=settings,
        subject=sub,
        organisation=slug,
        organisation_id=organisation_id,
        platform_operator=operator,
        ttl_seconds=ttl,
    )


def graphql_post(
    base_url: str, query: str, *, host: str, token: str | None, variables: dict[str, Any] | None = None
) -> requests.Response:
    headers = {"Host": host, "Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(f"{base_url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers, timeout=10)
