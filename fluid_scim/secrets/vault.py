"""Vault KV v2 through hvac: the only module of fluid-scim that imports hvac.

Layout under the KV v2 mount (``FLUID_VAULT_MOUNT``, default ``secret``) and the path prefix
(``FLUID_VAULT_PATH_PREFIX``, default ``fluid-scim``)::

    {prefix}/token-digest-key                        key of the token digests kept in the database
    {prefix}/admin-jwt-key                           HS256 key of the GraphQL admin API's credentials
    {prefix}/organisations/{organisation id}/scim-token   one version per token ever set
    {prefix}/organisations/{organisation id}/webhooks/{endpoint id}   webhook signing secret, one version per rotation

Each version of the two keys is a key of its own, and its version number is its id (the
``key_id`` stored beside a digest, the ``kid`` of a credential): a rotation writes a new version,
and the versions in use are configured (``FLUID_TOKEN_DIGEST_KEYS``, ``FLUID_ADMIN_JWT_KEYS``).
"""

from __future__ import annotations

import base64
import logging
import secrets
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import requests

from fluid_scim.errors import SecretNotFound, SecretStoreUnavailable
from fluid_scim.secrets.store import KeyName, KeyRing, Secret

T = TypeVar("T")
# organisations/{id}/scim-token and organisations/{id}/webhooks/{endpoint id}: two folders deep.
ORGANISATION_TREE_DEPTH = 2
log = logging.getLogger(__name__)


class VaultSecretStore:
    """A :class:`~fluid_scim.secrets.store.SecretStore` on Vault KV v2.

    Authenticates with a token, or with AppRole (logging in again once when the login token
    has expired). The digest key is cached for the life of the process, so that checking a
    SCIM token never waits for Vault.
    """

    def __init__(
        self,
        *,
        addr: str,
        mount: str,
        path_prefix: str,
        timeout: float,
        token: str | None = None,
        role_id: str | None = None,
        secret_id: str | None = None,
        namespace: str | None = None,
        token_digest_keys: tuple[int, ...] = (),
        admin_jwt_keys: tuple[int, ...] = (),
        client_factory: Callable[..., hvac.Client] = hvac.Client,
    ) -> None:
        self.addr = addr
        self.mount = mount
        self.path_prefix = path_prefix
        self._token = token
        self._role_id = role_id
        self._secret_id = secret_id
        self._client = client_factory(url=addr, token=token, timeout=timeout, namespace=namespace)
        self._logged_in = bool(token)
        self._versions: dict[KeyName, tuple[int, ...]] = {
            "token-digest-key": token_digest_keys or (1,),
            "admin-jwt-key": admin_jwt_keys or (1,),
        }
        self._rings: dict[KeyName, KeyRing] = {}
        # Versions of the digest key met in stored rows but not configured here (a newer key that
        # other processes already use during a rolling restart); None: Vault has no such version.
        self._seen_digest_keys: dict[int, bytes | None] = {}

    def __repr__(self) -> str:
        return f"<VaultSecretStore {self.addr} mount={self.mount}>"

    # -- SecretStore ---------------------------------------------------------------------------

    def write_scim_token(self, organisation_id: uuid.UUID, token: Secret) -> int:
        return self._write(self._token_path(organisation_id), {"token": token.reveal()})

    def read_scim_token(self, organisation_id: uuid.UUID, version: int) -> Secret:
        response = self._read(self._token_path(organisation_id), version=version)
        return Secret(response["data"]["data"]["token"])

    def token_digest_key(self) -> bytes:
        return self.token_digest_keys().current

    def admin_jwt_key(self) -> bytes:
        return self.admin_jwt_keys().current

    def token_digest_keys(self) -> KeyRing:
        return self._ring("token-digest-key")

    def admin_jwt_keys(self) -> KeyRing:
        return self._ring("admin-jwt-key")

    def token_digest_key_version(self, version: int) -> bytes | None:
        ring = self._ring("token-digest-key")
        if version in ring.keys:
            return ring.keys[version]
        if version not in self._seen_digest_keys:
            try:
                self._seen_digest_keys[version] = self._read_key("token-digest-key", version)
            except SecretNotFound:
                self._seen_digest_keys[version] = None
        return self._seen_digest_keys[version]

    def create_key_version(self, name: KeyName) -> int:
        path = f"{self.path_prefix}/{name}"
        try:
            self._read(path)
        except SecretNotFound:
            self._load_or_create_key(path, name)  # version 1 first, as its first use would have made it
        version = self._write(path, {"key": base64.b64encode(secrets.token_bytes(32)).decode()})
        log.info("wrote a new version of the %s in Vault", name, extra={"vault_path": path, "version": version})
        return version

    def destroy_scim_token(self, organisation_id: uuid.UUID) -> None:
        self._destroy(self._token_path(organisation_id))

    def check_health(self) -> None:
        response = self._call(lambda c: c.sys.read_health_status(method="GET", standby_ok=True))
        if isinstance(response, dict):
            status = response
        else:
            status = response.json()
        if status.get("sealed"):
            raise SecretStoreUnavailable(f"Vault at {self.addr} is sealed")
        # Health says nothing about our credentials: look ourselves up as well.
        self._call(lambda c: c.auth.token.lookup_self())

    def describe_location(self, organisation_id: uuid.UUID) -> str:
        return f"{self.mount}/data/{self._token_path(organisation_id)}"

    def reset_connections(self) -> None:
        # Closing our copies of sockets inherited over fork() sends nothing on the wire; the pool
        # then opens fresh connections owned by this process alone.
        self._client.adapter.close()

    def write_webhook_secret(self, organisation_id: uuid.UUID, endpoint_id: str, secret: Secret) -> int:
        return self._write(self._webhook_path(organisation_id, endpoint_id), {"secret": secret.reveal()})

    def read_webhook_secret(self, organisation_id: uuid.UUID, endpoint_id: str, version: int) -> Secret:
        response = self._read(self._webhook_path(organisation_id, endpoint_id), version=version)
        return Secret(response["data"]["data"]["secret"])

    def destroy_webhook_secret(self, organisation_id: uuid.UUID, endpoint_id: str) -> None:
        self._destroy(self._webhook_path(organisation_id, endpoint_id))

    def destroy_organisation_secrets(self, organisation_id: uuid.UUID) -> int:
        """Every secret under ``{prefix}/organisations/{id}/``, found by listing the metadata (so a webhook
        secret whose endpoint row never committed goes too), then destroyed: metadata and every version."""
        leaves = self._walk(f"{self.path_prefix}/organisations/{organisation_id}", depth=ORGANISATION_TREE_DEPTH)
        for path in leaves:
            self._destroy(path)
        return len(leaves)

    # -- internals ----------------------------------------------------------------------------

    def _write(self, path: str, data: dict[str, str]) -> int:
        """A new version of a secret; returns its version number.

        No check-and-set: the database row written afterwards names the version it describes, so a
        concurrent writer cannot make the database and Vault disagree on the live secret.
        """
        response = self._call(
            lambda c: c.secrets.kv.v2.create_or_update_secret(path=path, secret=data, cas=None, mount_point=self.mount)
        )
        return int(response["data"]["version"])

    def _destroy(self, path: str) -> None:
        """Metadata and every version go: nothing of a revoked secret stays readable in Vault."""
        try:
            self._call(lambda c: c.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point=self.mount))
        except hvac.exceptions.InvalidPath:
            return

    def _walk(self, folder: str, *, depth: int) -> list[str]:
        """The secrets under ``folder`` (KV v2 ``LIST`` of the metadata), ``depth`` folders deep at most."""
        try:
            response = self._call(lambda c: c.secrets.kv.v2.list_secrets(path=folder, mount_point=self.mount))
        except hvac.exceptions.InvalidPath:
            return []  # nothing there (KV v2 answers 404 for an empty folder)
        found: list[str] = []
        for key in response["data"]["keys"]:
            if not key.endswith("/"):
                found.append(f"{folder}/{key}")
            elif depth > 1:
                found += self._walk(f"{folder}/{key.rstrip('/')}", depth=depth - 1)
        return found

    def _webhook_path(self, organisation_id: uuid.UUID, endpoint_id: str) -> str:
        return f"{self.path_prefix}/organisations/{organisation_id}/webhooks/{endpoint_id}"

    def _token_path(self, organisation_id: uuid.UUID) -> str:
        return f"{self.path_prefix}/organisations/{organisation_id}/scim-token"

    def _ring(self, name: KeyName) -> KeyRing:
        """The configured versions of a key, read once; version 1 is created on first use."""
        ring = self._rings.get(name)
        if ring is None:
            keys: dict[int, bytes] = {}
            for version in self._versions[name]:
                if version == 1:
                    keys[version] = self._load_or_create_key(f"{self.path_prefix}/{name}", name)
                    continue
                try:
                    keys[version] = self._read_key(name, version)
                except SecretNotFound:
                    raise SecretStoreUnavailable(
                        f"version {version} of the {name} is configured but Vault at {self.addr} does not hold it"
                    ) from None
            ring = self._rings[name] = KeyRing(current_id=self._versions[name][0], keys=keys)
        return ring

    def _read_key(self, name: KeyName, version: int) -> bytes:
        return base64.b64decode(self._read(f"{self.path_prefix}/{name}", version=version)["data"]["data"]["key"])

    def _load_or_create_key(self, path: str, what: str) -> bytes:
        """Read version 1 of a random 256-bit key, creating it first (``cas=0``: the first process wins)."""
        try:
            return base64.b64decode(self._read(path, version=1)["data"]["data"]["key"])
        except SecretNotFound:
            pass
        candidate = base64.b64encode(secrets.token_bytes(32)).decode()
        try:
            self._call(
                lambda c: c.secrets.kv.v2.create_or_update_secret(
                    path=path, secret={"key": candidate}, cas=0, mount_point=self.mount
                )
            )
            log.info("created the %s in Vault", what, extra={"vault_path": path})
        except hvac.exceptions.InvalidRequest:
            log.info("another process created the %s first; reading it", what)
        return base64.b64decode(self._read(path, version=1)["data"]["data"]["key"])

    def _read(self, path: str, version: int | None = None) -> dict[str, Any]:
        try:
            return self._call(
                lambda c: c.secrets.kv.v2.read_secret_version(
                    path=path, version=version, mount_point=self.mount, raise_on_deleted_version=True
                )
            )
        except hvac.exceptions.InvalidPath:
            suffix = f" (version {version})" if version else ""
            raise SecretNotFound(f"no secret at {self.mount}/{path}{suffix} in Vault") from None

    def _login(self) -> None:
        self._call_once(lambda c: c.auth.approle.login(role_id=self._role_id, secret_id=self._secret_id))
        self._logged_in = True

    def _call(self, operation: Callable[[hvac.Client], T]) -> T:
        """Run one Vault call, logging in with AppRole first or again when the token expired."""
        if self._role_id and not self._logged_in:
            self._login()
        try:
            return self._call_once(operation)
        except SecretStoreUnavailable as exc:
            if not (self._role_id and isinstance(exc.__cause__, hvac.exceptions.Forbidden)):
                raise
        self._login()
        return self._call_once(operation)

    def _call_once(self, operation: Callable[[hvac.Client], T]) -> T:
        """Translate transport and server failures into :class:`SecretStoreUnavailable`.

        Messages carry the Vault address and the failure's kind, never a token or a value.
        """
        try:
            return operation(self._client)
        except (hvac.exceptions.InvalidPath, hvac.exceptions.InvalidRequest):
            raise
        except hvac.exceptions.Forbidden as exc:
            raise SecretStoreUnavailable(f"Vault at {self.addr} refused fluid-scim's credentials") from exc
        except hvac.exceptions.VaultDown as exc:
            raise SecretStoreUnavailable(f"Vault at {self.addr} is sealed or down") from exc
        except hvac.exceptions.VaultError as exc:
            raise SecretStoreUnavailable(f"Vault at {self.addr} failed: {type(exc).__name__}") from exc
        except requests.exceptions.Timeout as exc:
            raise SecretStoreUnavailable(f"Vault at {self.addr} did not answer in time") from exc
        except requests.exceptions.RequestException as exc:
            raise SecretStoreUnavailable(f"Vault at {self.addr} is unreachable") from exc
