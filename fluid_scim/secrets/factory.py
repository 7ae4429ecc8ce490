"""Build the secret store a process uses from its settings."""

from __future__ import annotations

import logging

from fluid_scim.config import Settings
from fluid_scim.errors import SecretStoreError
from fluid_scim.secrets.store import SecretStore, UnconfiguredSecretStore
from fluid_scim.secrets.vault import VaultSecretStore

log = logging.getLogger(__name__)


def build_secret_store(settings: Settings) -> SecretStore:
    if not settings.vault_addr:
        return UnconfiguredSecretStore()
    return VaultSecretStore(
        addr=settings.vault_addr,
        mount=settings.vault_mount,
        path_prefix=settings.vault_path_prefix,
        timeout=settings.vault_timeout,
        token=settings.vault_token,
        role_id=settings.vault_role_id,
        secret_id=settings.vault_secret_id,
        namespace=settings.vault_namespace,
        token_digest_keys=settings.token_digest_keys,
        admin_jwt_keys=settings.admin_jwt_keys,
    )


def warm_secret_store(store: SecretStore) -> None:
    """Load the token digest key at start-up, so a later Vault outage does not stop SCIM auth.

    A failure here is not fatal: the key is loaded on first use instead, and ``/readyz`` reports
    Vault as unavailable meanwhile.
    """
    try:
        store.token_digest_key()
    except SecretStoreError as exc:
        log.warning("Vault not ready at start-up; SCIM token checks wait for it", extra={"reason": str(exc)})
