"""Mutations answer the typed failure their services' domain errors become, as their unions declare."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from fluid_scim.errors import SecretStoreUnavailable
from fluid_scim.services import organisations
from tests.support.graphql import claims_for, data, execute
from tests.support.services import Vault
from tests.support.tenants import Tenant

VAULT_DOWN = "the key vault is unavailable, so nothing was changed; try again shortly"


def _mutate(app: Flask, tenant: Tenant, field: str) -> dict[str, Any]:
    result = execute(app, f"mutation {{ {field} {{ __typename ... on Failure {{ message }} }} }}", claims_for(tenant.slug))
    return data(result)[field]


def test_a_vault_outage_is_the_typed_unavailable_failure(app_factory: Any, tenant: Tenant, vault: Vault) -> None:
    revealing = app_factory(admin_allow_token_reveal=True)
    scim = {"Host": f"{tenant.slug}.localhost", "Authorization": f"Bearer {tenant.token}"}
    vault.pause()  # connections hang until the store's timeout: Vault stopped answering
    try:
        generated = _mutate(revealing, tenant, "generateScimToken")
        revealed = _mutate(revealing, tenant, "revealScimToken")
    finally:
        vault.resume()
    assert generated == {"__typename": "Unavailable", "message": VAULT_DOWN}
    assert revealed == {"__typename": "Unavailable", "message": VAULT_DOWN}
    assert revealing.test_client().get("/scim/v2/Users", headers=scim).status_code == 200, "the token was not changed"


def test_a_failure_the_union_does_not_declare_stays_masked(app: Flask, tenant: Tenant, monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    def vault_down(**_: Any) -> None:
        raise SecretStoreUnavailable("Vault at http://10.0.0.5:8200 is unreachable")

    # setScimSyncEnabled never calls Vault, so its union has no Unavailable: this one is a bug.
    monkeypatch.setattr(organisations, "set_scim_sync_enabled", vault_down)
    result = execute(app, "mutation { setScimSyncEnabled(enabled: false) { __typename } }", claims_for(tenant.slug))
    assert result.errors and [error.message for error in result.errors] == ["Unexpected error."]
    assert "10.0.0.5" in caplog.text  # the operators' log has it
