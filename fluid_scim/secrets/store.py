"""The secret store contract and a value type that never prints itself."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from fluid_scim.errors import SecretStoreUnavailable


class Secret:
    """A secret string whose ``repr`` and ``str`` are masked; ``reveal()`` is the only way out."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


KeyName = Literal["token-digest-key", "admin-jwt-key"]


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The versions of one Vault key a process uses: the current one signs or digests, all of them verify.

    A key's id is its Vault KV version number. ``keys`` holds the current key and the previous
    ones still accepted during a rotation's grace period (``FLUID_TOKEN_DIGEST_KEYS``,
    ``FLUID_ADMIN_JWT_KEYS``). ``repr`` never shows a key.
    """

    current_id: int
    keys: Mapping[int, bytes]

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]

    def __repr__(self) -> str:
        return f"KeyRing(current_id={self.current_id}, ids={sorted(self.keys)})"


class SecretStore(Protocol):
    """What fluid-scim needs from a secret store (Vault KV v2 in every deployment)."""

    def write_scim_token(self, organisation_id: uuid.UUID, token: Secret) -> int:
        """Store a new version of an organisation's SCIM token; return the version number."""
        ...

    def read_scim_token(self, organisation_id: uuid.UUID, version: int) -> Secret:
        """Read one version of an organisation's SCIM token."""
        ...

    def token_digest_key(self) -> bytes:
        """The current key of the token digests kept in the database (``token_digest_keys().current``)."""
        ...

    def token_digest_keys(self) -> KeyRing:
        """The token digest keys in use (configured versions; loaded once, then cached)."""
        ...

    def token_digest_key_version(self, version: int) -> bytes | None:
        """One version of the token digest key (cached, a missing one too); ``None`` if Vault has none."""
        ...

    def admin_jwt_keys(self) -> KeyRing:
        """The HS256 keys of the admin API's credentials in use (configured versions; cached)."""
        ...

    def create_key_version(self, name: KeyName) -> int:
        """Write a new random version of a key (its first use creates version 1); return its version."""
        ...

    def check_health(self) -> None:
        """Raise :class:`SecretStoreUnavailable` unless the store answers and is unsealed."""
        ...

    def admin_jwt_key(self) -> bytes:
        """The current HS256 key of the GraphQL admin API's credentials (``admin_jwt_keys().current``)."""
        ...

    def destroy_scim_token(self, organisation_id: uuid.UUID) -> None:
        """Destroy every stored version of an organisation's SCIM token (revocation); none is fine."""
        ...

    def describe_location(self, organisation_id: uuid.UUID) -> str:
        """Where an organisation's SCIM token lives, for operators (``mount/path``)."""
        ...

    def reset_connections(self) -> None:
        """Forget connections inherited from a parent process (after a fork)."""
        ...

    def write_webhook_secret(self, organisation_id: uuid.UUID, endpoint_id: str, secret: Secret) -> int:
        """Store a new version of a webhook endpoint's signing secret; return the version number."""
        ...

    def read_webhook_secret(self, organisation_id: uuid.UUID, endpoint_id: str, version: int) -> Secret:
        """Read one version of a webhook endpoint's signing secret."""
        ...

    def destroy_webhook_secret(self, organisation_id: uuid.UUID, endpoint_id: str) -> None:
        """Destroy every version of a webhook endpoint's signing secret; none is fine."""
        ...

    def destroy_organisation_secrets(self, organisation_id: uuid.UUID) -> int:
        """Destroy every version and the metadata of every secret kept for an organisation (its SCIM
        token, its webhook secrets, whatever else is stored under it); return how many were there."""
        ...


class UnconfiguredSecretStore:
    """Stands in when ``VAULT_ADDR`` is unset: every operation fails with the same clear message."""

    _MESSAGE = "Vault is not configured: set VAULT_ADDR and VAULT_TOKEN (or VAULT_ROLE_ID and VAULT_SECRET_ID)"

    def write_scim_token(self, organisation_id: uuid.UUID, token: Secret) -> int:
        raise SecretStoreUnavailable(self._MESSAGE)

    def read_scim_token(self, organisation_id: uuid.UUID, version: int) -> Secret:
        raise SecretStoreUnavailable(self._MESSAGE)

    def token_digest_key(self) -> bytes:
        raise SecretStoreUnavailable(self._MESSAGE)

    def token_digest_keys(self) -> KeyRing:
        raise SecretStoreUnavailable(self._MESSAGE)

    def token_digest_key_version(self, version: int) -> bytes | None:
        raise SecretStoreUnavailable(self._MESSAGE)

    def admin_jwt_keys(self) -> KeyRing:
        raise SecretStoreUnavailable(self._MESSAGE)

    def create_key_version(self, name: KeyName) -> int:
        raise SecretStoreUnavailable(self._MESSAGE)

    def check_health(self) -> None:
        raise SecretStoreUnavailable(self._MESSAGE)

    def admin_jwt_key(self) -> bytes:
        raise SecretStoreUnavailable(self._MESSAGE)

    def destroy_scim_token(self, organisation_id: uuid.UUID) -> None:
        raise SecretStoreUnavailable(self._MESSAGE)

    def describe_location(self, organisation_id: uuid.UUID) -> str:
        return "(Vault not configured)"

    def reset_connections(self) -> None:
        return None

    def write_webhook_secret(self, organisation_id: uuid.UUID, endpoint_id: str, secret: Secret) -> int:
        raise SecretStoreUnavailable(self._MESSAGE)

    def read_webhook_secret(self, organisation_id: uuid.UUID, endpoint_id: str, version: int) -> Secret:
        raise SecretStoreUnavailable(self._MESSAGE)

    def destroy_webhook_secret(self, organisation_id: uuid.UUID, endpoint_id: str) -> None:
        raise SecretStoreUnavailable(self._MESSAGE)

    def destroy_organisation_secrets(self, organisation_id: uuid.UUID) -> int:
        raise SecretStoreUnavailable(self._MESSAGE)
