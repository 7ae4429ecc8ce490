"""An organisation's SCIM secret token: generate, set, verify.

The value goes to Vault; the database keeps an HMAC-SHA256 digest keyed with a key that is
itself kept in Vault (and cached by each process), plus a short fingerprint and timestamps.
Verifying a presented token therefore needs the database only, and a rotated token is live in
every worker the moment its row commits.

The digest key rotates too (docs/operations.md "Rotating keys"): each row names the version of the
key its digest was made with (``key_id``). New digests use the current version; a row under a
previous version still configured keeps verifying, with that version's key, until
:mod:`fluid_scim.services.key_rotation` digests it again under the current one. Either way one
lookup and one HMAC per request, as before.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from fluid_scim.errors import NoScimToken, SecretNotFound, SecretStoreError, TokenRevealRefused, WeakToken
from fluid_scim.models import Organisation, ScimToken
from fluid_scim.models.types import utcnow
from fluid_scim.repositories import organisations as repo
from fluid_scim.repositories import scim as scim_repo
from fluid_scim.repositories.organisations import TokenCheck
from fluid_scim.secrets import Secret, SecretStore
from fluid_scim.services import audit, transaction
from fluid_scim.services.token_strength import check_token_strength

TOKEN_PREFIX = "fscim_"  # noqa: S105  (a public marker that lets secret scanners spot leaked tokens)
TOKEN_BYTES = 32  # 256 bits from the operating system's CSPRNG
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TokenMetadata:
    """What may be shown about a token: never its value or digest."""

    fingerprint: str
    source: str
    created_at: datetime
    last_used_at: datetime | None


def token_digest(key: bytes, token: str) -> bytes:
    return hmac.new(key, b"scim-token\x00" + token.encode(), hashlib.sha256).digest()


def token_fingerprint(key: bytes, token: str) -> str:
    """Eight hex characters to tell tokens apart; derived separately so no part of the digest is shown."""
    return hmac.new(key, b"fingerprint\x00" + token.encode(), hashlib.sha256).hexdigest()[:8]


def generate_scim_token(*, organisation: Organisation, store: SecretStore) -> Secret:
    """Replace the organisation's token with a new random one and return it (shown once)."""
    token = Secret(TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES))
    _replace_token(organisation=organisation, token=token, source="generated", store=store)
    return token


def set_scim_token(*, organisation: Organisation, token: Secret, store: SecretStore) -> TokenMetadata:
    """Replace the organisation's token with one an admin chose, if it is strong enough."""
    problem = check_token_strength(token.reveal())
    if problem is not None:
        raise WeakToken(problem.message, rule=problem.rule)
    row = _replace_token(organisation=organisation, token=token, source="entered", store=store)
    return metadata_of(row)


def token_metadata(*, organisation: Organisation) -> TokenMetadata | None:
    row = repo.token_of(organisation.id)
    return None if row is None else metadata_of(row)


def revoke_scim_token(*, organisation: Organisation, store: SecretStore) -> TokenMetadata:
    """Delete the token so that every request with it fails at once, then destroy it in Vault.

    The database row goes first, in its own commit with the audit event: a revocation must work
    while Vault is down. Destroying the stored versions afterwards is best effort (logged when it
    fails); without the row nothing can read them back or accept the token.
    """
    row = repo.token_of(organisation.id)
    if row is None:
        raise NoScimToken(f"organisation {organisation.slug!r} has no SCIM token")
    revoked = metadata_of(row)
    organisation_id = organisation.id
    repo.delete_token(row)
    audit.record(
        organisation,
        operation="token.revoked",
        resource_type="Organisation",
        changes=[{"path": "scimToken.fingerprint", "before": revoked.fingerprint, "after": None}],
    )
    transaction.commit()
    try:
        store.destroy_scim_token(organisation_id)
    except SecretStoreError as exc:
        log.warning("revoked a SCIM token but could not destroy it in Vault", extra={"reason": str(exc)})
    return revoked


def reveal_scim_token(*, organisation: Organisation, store: SecretStore, allowed: bool) -> Secret:
    """Read the current token back from Vault, when ``allowed``; every attempt is audited."""
    row = repo.token_of(organisation.id)
    fingerprint = row.fingerprint if row is not None else None
    if not allowed:
        audit.record_outside(
            organisation, operation="token.revealed", status=403, detail="reading a token back is switched off"
        )
        raise TokenRevealRefused("reading the SCIM token back is switched off (FLUID_ADMIN_ALLOW_TOKEN_REVEAL)")
    if row is None:
        raise NoScimToken(f"organisation {organisation.slug!r} has no SCIM token")
    try:
        token = store.read_scim_token(organisation.id, row.vault_version)
    except SecretStoreError as exc:
        missing = isinstance(exc, SecretNotFound)
        reason = "the stored token is gone from Vault" if missing else "Vault is unavailable"
        status, detail = (404 if missing else 503), f"fingerprint {fingerprint}: {reason}"
        audit.record_outside(organisation, operation="token.revealed", status=status, detail=detail)
        raise
    audit.record(organisation, operation="token.revealed", resource_type="Organisation", detail=f"fingerprint {fingerprint}")
    transaction.commit()
    return token


def metadata_of(row: ScimToken) -> TokenMetadata:
    return TokenMetadata(fingerprint=row.fingerprint, source=row.source, created_at=row.created_at, last_used_at=row.last_used_at)


def organisation_and_token(*, slug: str, user: tuple[str, str] | None = None) -> tuple[Organisation, TokenCheck | None] | None:
    """The organisation with this slug and its current token (None: no token), in one round trip; None if none.

    The per-request lookup of SCIM authentication: check the presented token with :func:`verify_scim_token`.
    ``user``: (``"id"``, a user id) or (``"key"``, a folded userName) that the request is about to read,
    read in the same statement and kept for it (:func:`fluid_scim.repositories.scim.organisation_token_and_user`).
    """
    if user is None:
        return repo.find_with_token(slug)
    return scim_repo.organisation_token_and_user(slug, *user)


def digest_key_of(*, row: ScimToken | TokenCheck | None, store: SecretStore) -> bytes | None:
    """The key ``row``'s digest was made with: the current one, a previous one still configured, or a
    newer one other processes already use (read from Vault once per process); ``None``: a retired key.

    Raises :class:`~fluid_scim.errors.SecretStoreUnavailable` when a key cannot be loaded.
    """
    ring = store.token_digest_keys()
    if row is None or row.key_id == ring.current_id:
        return ring.current
    key = ring.keys.get(row.key_id)
    if key is None and row.key_id > ring.current_id:
        key = store.token_digest_key_version(row.key_id)
    return key


def verify_scim_token(*, row: TokenCheck | None, presented: str, key: bytes | None) -> bool:
    """Constant-time check of a presented token against the organisation's digest (``key``: :func:`digest_key_of`)."""
    digest = token_digest(key if key is not None else secrets.token_bytes(32), presented)
    expected = row.digest if row is not None else secrets.token_bytes(32)
    return hmac.compare_digest(digest, expected) and row is not None and key is not None


def record_token_use(*, row: TokenCheck, interval_seconds: int) -> None:
    """Remember when the token was last used, writing at most once per ``interval_seconds``."""
    now = utcnow()
    if row.last_used_at is not None and now - row.last_used_at < timedelta(seconds=interval_seconds):
        return
    repo.mark_token_used(row.organisation_id, row.digest, now, now - timedelta(seconds=interval_seconds))
    transaction.commit()


def _replace_token(*, organisation: Organisation, token: Secret, source: str, store: SecretStore) -> ScimToken:
    # Vault first: if it is down nothing changes; if the commit below fails, Vault merely holds
    # an unused version, because the row names the version it describes.
    ring = store.token_digest_keys()
    version = store.write_scim_token(organisation.id, token)
    previous = repo.token_of(organisation.id)
    before = previous.fingerprint if previous is not None else None
    for attempt in (1, 2):
        row = repo.token_of(organisation.id) or ScimToken(organisation_id=organisation.id)
        row.digest = token_digest(ring.current, token.reveal())
        row.key_id = ring.current_id
        row.fingerprint = token_fingerprint(ring.current, token.reveal())
        row.source = source
        row.vault_version = version
        row.created_at = utcnow()
        row.last_used_at = None
        repo.save_token(row)
        audit.record(
            organisation,
            operation=f"token.{source}",
            resource_type="Organisation",
            changes=[{"path": "scimToken.fingerprint", "before": before, "after": row.fingerprint}],
        )
        try:
            transaction.commit()
            return row
        except IntegrityError:
            # Two first-ever tokens raced to insert the row; the loser updates the winner's row.
            transaction.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
