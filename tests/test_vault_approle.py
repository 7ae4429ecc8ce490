"""Production authentication to Vault: AppRole with a least-privilege policy, re-login on expiry."""

import requests

from fluid_scim.services import organisations, scim_tokens
from tests.support.services import wait_until
from tests.support.tenants import make_tenant

POLICY = """
path "secret/data/fluid-scim/*" { capabilities = ["create", "read", "update"] }
"""


def _vault(vault, method, path, **kwargs):
    response = requests.request(method, f"{vault.addr}/v1/{path}", headers={"X-Vault-Token": vault.token}, timeout=5, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else {}


def _approle(vault, role, token_ttl):
    mounts = _vault(vault, "GET", "sys/auth")
    if "approle/" not in mounts.get("data", mounts):
        _vault(vault, "POST", "sys/auth/approle", json={"type": "approle"})
    _vault(vault, "PUT", "sys/policies/acl/fluid-scim", json={"policy": POLICY})
    _vault(vault, "POST", f"auth/approle/role/{role}", json={"token_policies": ["fluid-scim"], "token_ttl": token_ttl,
                                                           "token_max_ttl": token_ttl})
    role_id = _vault(vault, "GET", f"auth/approle/role/{role}/role-id")["data"]["role_id"]
    secret_id = _vault(vault, "POST", f"auth/approle/role/{role}/secret-id")["data"]["secret_id"]
    return role_id, secret_id


def _logged_in(vault, role) -> bool:
    """Whether Vault still holds a token from an AppRole login as ``role`` (it revokes one when its TTL ends)."""
    listed = requests.request("LIST", f"{vault.addr}/v1/auth/token/accessors", headers={"X-Vault-Token": vault.token}, timeout=5)
    listed.raise_for_status()
    for accessor in listed.json()["data"]["keys"]:
        found = requests.post(f"{vault.addr}/v1/auth/token/lookup-accessor", json={"accessor": accessor},
                              headers={"X-Vault-Token": vault.token}, timeout=5)
        if found.ok and (found.json()["data"].get("meta") or {}).get("role_name") == role:
            return True
    return False


def test_approle_login_with_a_least_privilege_policy_and_relogin_after_expiry(app, app_factory, vault):
    role_id, secret_id = _approle(vault, "fluid-scim-test", token_ttl="2s")
    approle_app = app_factory(vault_token=None, vault_role_id=role_id, vault_secret_id=secret_id)
    tenant = make_tenant(app, with_token=False)
    with approle_app.app_context():
        store = approle_app.extensions["fluid_secret_store"]
        organisation = organisations.get_organisation(slug=tenant.slug)
        first = scim_tokens.generate_scim_token(organisation=organisation, store=store)
        assert _logged_in(vault, "fluid-scim-test")
        # Once Vault has revoked the expired login token, the store must log in again by itself.
        wait_until(lambda: not _logged_in(vault, "fluid-scim-test"), timeout=30, what="the AppRole login token's expiry")
        second = scim_tokens.generate_scim_token(organisation=organisation, store=store)
        assert store.read_scim_token(organisation.id, 2) == second
        assert first != second
    # Same digest key as the token-authenticated processes: both see one truth.
    with app.app_context():
        key = app.extensions["fluid_secret_store"].token_digest_key()
        meta = scim_tokens.token_metadata(organisation=organisations.get_organisation(slug=tenant.slug))
    assert meta.fingerprint == scim_tokens.token_fingerprint(key, second.reveal())
