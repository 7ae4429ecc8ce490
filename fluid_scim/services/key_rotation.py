"""Digest every SCIM token again under the current digest key, after the key has rotated.

A digest is one-way, so the token's value is read back from Vault (the version its row names),
checked against the stored digest under the key it was made with, and digested under the current
key. The row changes only if it still holds the digest that was checked (a token replaced
meanwhile is left to its new digest). Each batch is one transaction with one history event per
organisation ("token.redigested"). Tokens that cannot be digested again (their key already
retired, their value gone from Vault or no longer matching) are reported and keep their digest:
they stop working when their key leaves ``FLUID_TOKEN_DIGEST_KEYS``, and need a new token.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from fluid_scim.errors import SecretNotFound
from fluid_scim.models import Organisation, ScimToken
from fluid_scim.repositories import organisations as repo
from fluid_scim.secrets import KeyRing, SecretStore
from fluid_scim.services import audit, scim_tokens, transaction

DEFAULT_BATCH = 200
MAX_BATCH = 1000
LISTED_AT_MOST = 100  # tokens left behind named in the report; the count covers every one


@dataclass
class RedigestReport:
    """Progress of one run: tokens under other keys when it began, done so far, and those left behind."""

    key_id: int
    total: int
    redigested: int = 0
    left_count: int = 0
    left: list[tuple[str, str]] = field(default_factory=list)  # (organisation slug, why)

    @property
    def seen(self) -> int:
        return self.redigested + self.left_count

    def leave(self, slug: str, reason: str) -> None:
        self.left_count += 1
        if len(self.left) < LISTED_AT_MOST:
            self.left.append((slug, reason))


def tokens_by_key() -> dict[int, int]:
    """How many SCIM tokens each version of the digest key has made."""
    counts = repo.count_tokens_by_key()
    transaction.commit()
    return counts


def redigest_tokens(
    *, store: SecretStore, batch_size: int = DEFAULT_BATCH, on_batch: Callable[[RedigestReport], None] | None = None
) -> RedigestReport:
    """Digest every token under an older key than the current one again, ``batch_size`` per transaction.

    Versions only grow, so a token under a newer key (digested by a process already configured for
    the next rotation) is left as it is.
    """
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"the batch size must be 1 to {MAX_BATCH}")
    ring = store.token_digest_keys()
    counts = repo.count_tokens_by_key()
    report = RedigestReport(key_id=ring.current_id, total=sum(n for key_id, n in counts.items() if key_id < ring.current_id))
    after: uuid.UUID | None = None
    while True:
        batch = repo.tokens_under_older_keys(ring.current_id, after=after, limit=batch_size)
        if not batch:
            transaction.commit()
            return report
        for organisation, row in batch:
            reason = _redigest_one(organisation, row, ring, store)
            if reason is not None:
                report.leave(organisation.slug, reason)
            else:
                report.redigested += 1
        after = batch[-1][1].organisation_id
        transaction.commit()
        if on_batch is not None:
            on_batch(report)


def _redigest_one(organisation: Organisation, row: ScimToken, ring: KeyRing, store: SecretStore) -> str | None:
    """Digest one token again; why not, when it cannot be."""
    old_key = scim_tokens.digest_key_of(row=row, store=store)
    if old_key is None:
        return f"its digest key (version {row.key_id}) is retired already; generate a new token"
    try:
        token = store.read_scim_token(organisation.id, row.vault_version)
    except SecretNotFound:
        return "its value is gone from Vault; generate a new token"
    if not hmac.compare_digest(scim_tokens.token_digest(old_key, token.reveal()), row.digest):
        return "the value in Vault does not match the stored digest; generate a new token"
    old_key_id = row.key_id
    new_digest = scim_tokens.token_digest(ring.current, token.reveal())
    if repo.replace_digest(organisation.id, row.digest, new_digest, ring.current_id):
        audit.record(
            organisation,
            operation="token.redigested",
            resource_type="Organisation",
            detail=f"fingerprint {row.fingerprint}: digest key version {old_key_id} -> {ring.current_id}",
        )
    return None
