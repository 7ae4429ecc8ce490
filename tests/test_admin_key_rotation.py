"""Rotating the HS256 key of the admin API's credentials without downtime (docs/operations.md "Rotating keys").

The keys in use are the Vault versions ``FLUID_ADMIN_JWT_KEYS`` names, the current one first; a
credential's ``kid`` header names the version that signed it. Each test keeps its keys under a
Vault path prefix of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from flask import Flask

from fluid_scim.services import organisations
from fluid_scim.services.admin_credentials import mint_admin_token
from tests.support.tenants import Tenant, make_tenant

QUERY = "{ organisation { slug } }"


@pytest.fixture
def prefix() -> str:
    return f"admin-rotation-{uuid.uuid4().hex[:10]}"


def ask(app: Flask, tenant: Tenant, credential: str) -> tuple[int, Any]:
    """What an admin's browser gets from ``/graphql`` with this credential."""
    answer = app.test_client().post(
        "/graphql", json={"query": QUERY}, headers={"Host": tenant.host, "Authorization": f"Bearer {credential}"}
    )
    return answer.status_code, answer.get_json()


def admin_token(app: Flask, tenant: Tenant) -> str:
    """A credential as ``flask --app app admin-token`` prints it."""
    result = app.test_cli_runner().invoke(args=["admin-token", tenant.slug])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def without_kid(app: Flask, tenant: Tenant, key: bytes) -> str:
    """A credential as issued before keys rotated: signed with ``key``, no ``kid`` header."""
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
    return mint_admin_token(key=key, settings=app.extensions["fluid_settings"], subject="ada@example.com",
                            organisation=tenant.slug, organisation_id=organisation.id)


def hs256(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """A JWS written out by hand (RFC 7515 §7.1), for headers PyJWT will not write."""

    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    signing_input = f"{part(json.dumps(header).encode())}.{part(json.dumps(claims).encode())}"
    return f"{signing_input}.{part(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


def vault_key(app: Flask, version: int) -> bytes:
    with app.app_context():
        return app.extensions["fluid_secret_store"].admin_jwt_keys().keys[version]


def test_credentials_signed_before_and_after_a_rotation(app_factory: Any, prefix: str) -> None:
    old = app_factory(vault_path_prefix=prefix)  # no setting: version 1, made on first use
    tenant = make_tenant(old)
    signed_by_1 = admin_token(old, tenant)
    assert jwt.get_unverified_header(signed_by_1)["kid"] == "1"
    legacy = without_kid(old, tenant, vault_key(old, 1))
    assert ask(old, tenant, legacy) == (200, {"data": {"organisation": {"slug": tenant.slug}}})

    created = old.test_cli_runner().invoke(args=["keys", "new", "admin-jwt-key"])
    assert created.exit_code == 0, created.output
    assert created.stdout.strip() == "2"
    assert "FLUID_ADMIN_JWT_KEYS=1,2" in created.stderr

    # Step 1: every process accepts version 2 (still signing with 1).
    accepting = app_factory(vault_path_prefix=prefix, admin_jwt_keys=(1, 2))
    assert jwt.get_unverified_header(admin_token(accepting, tenant))["kid"] == "1"
    # Step 2: version 2 signs; credentials signed by 1 keep working until the setting drops it.
    grace = app_factory(vault_path_prefix=prefix, admin_jwt_keys=(2, 1))
    signed_by_2 = admin_token(grace, tenant)
    assert jwt.get_unverified_header(signed_by_2)["kid"] == "2"
    for app in (accepting, grace):
        for credential in (signed_by_1, signed_by_2, legacy):
            assert ask(app, tenant, credential)[0] == 200
    assert ask(old, tenant, signed_by_2)[0] == 401  # why step 1 comes first: a process that knows only version 1

    # Step 3: version 1 retired.
    done = app_factory(vault_path_prefix=prefix, admin_jwt_keys=(2,))
    assert ask(done, tenant, signed_by_2)[0] == 200
    status, body = ask(done, tenant, signed_by_1)
    assert status == 401
    assert body["errors"][0]["message"] == "the admin credential is signed with a key this service does not accept (kid)"
    status, body = ask(done, tenant, legacy)
    assert (status, body["errors"][0]["message"]) == (401, "the admin credential is not valid")


def test_kid_cannot_pick_a_key_other_than_the_one_that_signed(app_factory: Any, prefix: str) -> None:
    old = app_factory(vault_path_prefix=prefix)
    tenant = make_tenant(old)
    assert old.test_cli_runner().invoke(args=["keys", "new", "admin-jwt-key"]).exit_code == 0
    grace = app_factory(vault_path_prefix=prefix, admin_jwt_keys=(2, 1))
    claims = jwt.decode(admin_token(grace, tenant), options={"verify_signature": False})
    key_1 = vault_key(grace, 1)
    for kid in ("2", "3", "01x", "1" * 20, "", "\u00b2", "\u0661"):
        forged = jwt.encode(claims, key_1, algorithm="HS256", headers={"kid": kid})
        assert ask(grace, tenant, forged)[0] == 401
    assert ask(grace, tenant, jwt.encode(claims, key_1, algorithm="HS256", headers={"kid": "1"}))[0] == 200
    numeric = hs256({"alg": "HS256", "typ": "JWT", "kid": 1}, claims, key_1)  # a number, not a string (RFC 7515 §4.1.4)
    assert ask(grace, tenant, numeric)[0] == 401
    unknown = jwt.encode(claims, b"k" * 32, algorithm="HS256")
    assert ask(grace, tenant, unknown)[0] == 401


def test_an_expired_credential_without_kid_says_so(app_factory: Any, prefix: str) -> None:
    old = app_factory(vault_path_prefix=prefix)
    tenant = make_tenant(old)
    assert old.test_cli_runner().invoke(args=["keys", "new", "admin-jwt-key"]).exit_code == 0
    grace = app_factory(vault_path_prefix=prefix, admin_jwt_keys=(2, 1))
    with old.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
    expired = mint_admin_token(key=vault_key(grace, 1), settings=grace.extensions["fluid_settings"], subject="ada@example.com",
                               organisation=tenant.slug, organisation_id=organisation.id, now=int(time.time()) - 7200)
    status, body = ask(grace, tenant, expired)  # version 2 is tried first and does not match; version 1 does
    assert (status, body["errors"][0]["message"]) == (401, "the admin credential has expired")
