"""Credentials of the GraphQL admin API as Fluid issues them: the claims, minting them (HS256), and
the organisation a credential names.

Fluid itself issues the real credentials; minting here serves development (``flask admin-token``)
and tests. The HS256 key is the current one the secret store keeps (``SecretStore.admin_jwt_keys``),
named by the ``kid`` header (RFC 7515 §4.1.4) as its Vault version; with RS256, Fluid holds the
private key and nothing here can mint.

A credential names its organisation by id (``org_id``) and by slug (``org``, for the host rule and
for people). The id is what binds it: an organisation removed and created again under the same
slug is another organisation, and credentials issued for the first are refused
(:func:`organisation_of_credential`).
"""

from __future__ import annotations

import time
import uuid

import jwt

from fluid_scim.config import Settings
from fluid_scim.errors import OrganisationNotFound
from fluid_scim.models import Organisation
from fluid_scim.repositories import organisations as repo

ADMIN_ROLE = "fluid_admin"
MAX_LIFETIME_SECONDS = 3600


def mint_admin_token(
    *,
    key: bytes,
    settings: Settings,
    key_id: int | None = None,
    subject: str,
    organisation: str,
    organisation_id: uuid.UUID | str | None,
    roles: tuple[str, ...] = (ADMIN_ROLE,),
    platform_operator: bool = False,
    ttl_seconds: int = 900,
    now: int | None = None,
) -> str:
    """An HS256 credential as Fluid issues them (development and tests; Fluid itself issues real ones).

    ``organisation_id`` is the id of the organisation ``organisation`` names; ``None`` only for a
    platform operator's credential that administers no organisation (one not created yet).
    ``key_id`` (the key's Vault version) goes in the ``kid`` header.
    """
    if settings.admin_jwt_algorithm != "HS256":
        raise ValueError("only HS256 credentials can be minted here; with RS256, Fluid holds the private key")
    if not 0 < ttl_seconds <= MAX_LIFETIME_SECONDS:
        raise ValueError(f"the lifetime must be 1 to {MAX_LIFETIME_SECONDS} seconds")
    issued_at = int(time.time()) if now is None else now
    claims = {
        "sub": subject,
        "org": organisation,
        "org_id": None if organisation_id is None else str(organisation_id),
        "roles": list(roles),
        "platform_operator": platform_operator,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "iss": settings.admin_jwt_issuer,
        "aud": settings.admin_jwt_audience,
    }
    headers = None if key_id is None else {"kid": str(key_id)}
    return jwt.encode(claims, key, algorithm="HS256", headers=headers)


def organisation_of_credential(*, organisation_id: str, slug: str) -> Organisation:
    """The organisation a verified credential names: the one with its ``org_id``, still under its ``org``.

    Raises :class:`~fluid_scim.errors.OrganisationNotFound` when there is none: the organisation
    was removed (perhaps created again under the same slug, which makes a new organisation).
    """
    organisation = repo.find_by_id(uuid.UUID(organisation_id))
    if organisation is None or organisation.slug != slug:
        raise OrganisationNotFound(
            f"this admin credential was issued for an organisation '{slug}' that no longer exists"
            " (an organisation created again under the same name is a new one); get a new credential"
        )
    return organisation
