"""Credentials of the GraphQL admin API as Fluid issues them: the claims, and minting them (HS256).

Fluid itself issues the real credentials; minting here serves development (``flask admin-token``)
and tests. The HS256 key is the one the secret store keeps (``SecretStore.admin_jwt_key``); with
RS256, Fluid holds the private key and nothing here can mint.
"""

from __future__ import annotations

import time

import jwt

from fluid_scim.config import Settings

ADMIN_ROLE = "fluid_admin"
MAX_LIFETIME_SECONDS = 3600


def mint_admin_token(
    *,
    key: bytes,
    settings: Settings,
    subject: str,
    organisation: str,
    roles: tuple[str, ...] = (ADMIN_ROLE,),
    platform_operator: bool = False,
    ttl_seconds: int = 900,
    now: int | None = None,
) -> str:
    """An HS256 credential as Fluid issues them (development and tests; Fluid itself issues real ones)."""
    if settings.admin_jwt_algorithm != "HS256":
        raise ValueError("only HS256 credentials can be minted here; with RS256, Fluid holds the private key")
    if not 0 < ttl_seconds <= MAX_LIFETIME_SECONDS:
        raise ValueError(f"the lifetime must be 1 to {MAX_LIFETIME_SECONDS} seconds")
    issued_at = int(time.time()) if now is None else now
    claims = {
        "sub": subject,
        "org": organisation,
        "roles": list(roles),
        "platform_operator": platform_operator,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "iss": settings.admin_jwt_issuer,
        "aud": settings.admin_jwt_audience,
    }
    return jwt.encode(claims, key, algorithm="HS256")
