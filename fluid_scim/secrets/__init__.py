"""Where secret values live. :mod:`fluid_scim.secrets.vault` is the only module that talks to Vault."""

from fluid_scim.secrets.store import (
    Secret,
    SecretNotFound,
    SecretStore,
    SecretStoreError,
    SecretStoreUnavailable,
)

__all__ = ["Secret", "SecretNotFound", "SecretStore", "SecretStoreError", "SecretStoreUnavailable"]
