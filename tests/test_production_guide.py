"""The production guide's Vault policy (docs/operations.md), as written, on a real OpenBao server.

It must grant every call fluid-scim makes (AppRole login, the keys, SCIM tokens and webhook secrets
with their destruction, the readiness check) and nothing beyond: the keys cannot be deleted and
nothing outside the prefix can be read.
"""

import re
import uuid

import pytest
import requests

from fluid_scim.errors import SecretNotFound
from fluid_scim.secrets.store import Secret
from fluid_scim.secrets.vault import VaultSecretStore
from tests.support.services import ROOT

ROLE = "fluid-scim-guide"


def _documented_policy() -> str:
    guide = (ROOT / "docs" / "operations.md").read_text()
    found = re.search(r"```hcl\n(# fluid-scim\.hcl\n.*?)```", guide, re.S)
    assert found, "docs/operations.md no longer shows the fluid-scim.hcl policy"
    return found.group(1)


def _vault(vault, method, path, token=None, **kwargs):
    response = requests.request(
        method, f"{vault.addr}/v1/{path}", headers={"X-Vault-Token": token or vault.token}, timeout=5, **kwargs
    )
    return response


def _approle_with_the_documented_policy(vault) -> tuple[str, str]:
    if "approle/" not in _vault(vault, "GET", "sys/auth").json()["data"]:
        _vault(vault, "POST", "sys/auth/approle", json={"type": "approle"}).raise_for_status()
    _vault(vault, "PUT", "sys/policies/acl/fluid-scim-guide", json={"policy": _documented_policy()}).raise_for_status()
    _vault(vault, "POST", f"auth/approle/role/{ROLE}", json={
        # The guide's role, bound to the loopback address the test runs on; no default policy, so
        # that the guide's policy alone must carry the readiness check.
        "token_policies": ["fluid-scim-guide"], "token_no_default_policy": True, "token_ttl": "1h",
        "token_max_ttl": "4h", "secret_id_num_uses": 0, "secret_id_ttl": 0,
        "secret_id_bound_cidrs": ["127.0.0.1/32"], "token_bound_cidrs": ["127.0.0.1/32"],
    }).raise_for_status()
    role_id = _vault(vault, "GET", f"auth/approle/role/{ROLE}/role-id").json()["data"]["role_id"]
    secret_id = _vault(vault, "POST", f"auth/approle/role/{ROLE}/secret-id").json()["data"]["secret_id"]
    return role_id, secret_id


def test_the_documented_vault_policy_grants_what_fluid_scim_calls_and_no_more(vault):
    role_id, secret_id = _approle_with_the_documented_policy(vault)
    store = VaultSecretStore(
        addr=vault.addr, mount="secret", path_prefix="fluid-scim", timeout=5, role_id=role_id, secret_id=secret_id
    )
    store.check_health()
    assert len(store.token_digest_key()) >= 32 and len(store.admin_jwt_key()) >= 32

    organisation = uuid.uuid4()
    first = store.write_scim_token(organisation, Secret("fscim_first"))
    second = store.write_scim_token(organisation, Secret("fscim_second"))
    assert store.read_scim_token(organisation, first).reveal() == "fscim_first"
    assert store.read_scim_token(organisation, second).reveal() == "fscim_second"
    store.destroy_scim_token(organisation)
    with pytest.raises(SecretNotFound):
        store.read_scim_token(organisation, second)

    version = store.write_webhook_secret(organisation, "endpoint-1", Secret("whsec_guide"))
    assert store.read_webhook_secret(organisation, "endpoint-1", version).reveal() == "whsec_guide"
    store.destroy_webhook_secret(organisation, "endpoint-1")
    with pytest.raises(SecretNotFound):
        store.read_webhook_secret(organisation, "endpoint-1", version)

    # Removing an organisation (org delete) lists what is kept under it and destroys each secret.
    leaving = uuid.uuid4()
    token_version = store.write_scim_token(leaving, Secret("fscim_leaving"))
    store.write_webhook_secret(leaving, "endpoint-2", Secret("whsec_leaving"))
    assert store.destroy_organisation_secrets(leaving) == 2
    with pytest.raises(SecretNotFound):
        store.read_scim_token(leaving, token_version)

    # Key rotation (keys new) writes a new version of a key and reads it back by version.
    new_version = store.create_key_version("token-digest-key")
    assert new_version >= 2 and len(store.token_digest_key_version(new_version) or b"") >= 32

    # And no more: the same login may neither delete the keys nor read outside the prefix.
    login = requests.post(f"{vault.addr}/v1/auth/approle/login", json={"role_id": role_id, "secret_id": secret_id}, timeout=5)
    token = login.json()["auth"]["client_token"]
    _vault(vault, "POST", "secret/data/elsewhere/probe", json={"data": {"value": "x"}}).raise_for_status()
    refused = [
        _vault(vault, "DELETE", "secret/metadata/fluid-scim/token-digest-key", token=token),
        _vault(vault, "DELETE", "secret/metadata/fluid-scim/admin-jwt-key", token=token),
        _vault(vault, "DELETE", "secret/data/fluid-scim/token-digest-key", token=token),
        _vault(vault, "GET", "secret/data/elsewhere/probe", token=token),
        _vault(vault, "LIST", "secret/metadata/fluid-scim", token=token),
    ]
    assert [response.status_code for response in refused] == [403] * len(refused)
    assert store.token_digest_key() == VaultSecretStore(
        addr=vault.addr, mount="secret", path_prefix="fluid-scim", timeout=5, token=vault.token
    ).token_digest_key()
