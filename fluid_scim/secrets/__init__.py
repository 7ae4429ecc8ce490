"""Where secret values live. :mod:`fluid_scim.secrets.vault` is the only module that talks to Vault.

The store's failures are domain errors: :class:`fluid_scim.errors.SecretStoreError` and its subclasses.
"""

from fluid_scim.secrets.store import KeyName, KeyRing, Secret, SecretStore

__all__ = ["KeyName", "KeyRing", "Secret", "SecretStore"]
