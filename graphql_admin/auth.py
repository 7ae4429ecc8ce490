"""Who is calling the admin API: JWTs issued by Fluid, verified here.

A credential is ``Authorization: Bearer <JWT>``, signed HS256 with a key kept in Vault or RS256
with a key pair whose public half is configured (``FLUID_ADMIN_JWT_PUBLIC_KEY``). PyJWT checks the
signature against the one configured algorithm only (never the token's own ``alg``: ``none`` and
algorithm confusion are refused), ``exp``, ``iat``, ``iss`` and ``aud``; this module adds the rest
of the contract: every claim present and well-typed, and at most an hour between ``iat`` and ``exp``.
The organisation is named by its id (``org_id``), checked against the organisation found when the
credential is used (:func:`fluid_scim.services.admin_credentials.organisation_of_credential`), so a
credential issued before an organisation was removed and its slug taken again is refused.
Minting (development and tests) is :mod:`fluid_scim.services.admin_credentials`.

The HS256 key rotates (docs/operations.md "Rotating keys"): the keys in use are the Vault versions
``FLUID_ADMIN_JWT_KEYS`` names, and a credential's ``kid`` header (RFC 7515 §4.1.4) says which one
signed it. A ``kid`` that names none of them is refused without checking anything; a credential
without ``kid`` (issued before rotation existed) is checked against each configured key, at most
:data:`fluid_scim.config.MAX_KEY_VERSIONS`.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from fluid_scim.config import ConfigError, Settings
from fluid_scim.dns_label import LABEL
from fluid_scim.secrets import KeyRing, SecretStore
from fluid_scim.services.admin_credentials import ADMIN_ROLE, MAX_LIFETIME_SECONDS
from fluid_scim.web.tenancy import slug_from_host

# Clock skew tolerated between Fluid (the issuer) and this service, for exp and iat.
LEEWAY_SECONDS = 5
REQUIRED_CLAIMS = ("sub", "org", "roles", "iat", "exp", "iss", "aud")
# Present in every credential too, but may be null (PyJWT's ``require`` counts null as missing).
NULLABLE_CLAIMS = ("org_id",)


class InvalidAdminToken(Exception):
    """The credential is missing, malformed, expired, wrongly signed or not meant for us.

    The message is safe to show the caller: it never contains the credential.
    """


@dataclass(frozen=True, slots=True)
class AdminClaims:
    """The verified claims of one admin credential."""

    subject: str
    organisation: str  # the slug: for the host rule and for people
    organisation_id: str | None  # what binds the credential; None only for an operator administering none
    roles: tuple[str, ...]
    platform_operator: bool
    issued_at: int
    expires_at: int

    @property
    def is_admin(self) -> bool:
        """A Fluid admin of :attr:`organisation` (and of no other)."""
        return ADMIN_ROLE in self.roles

    @property
    def actor(self) -> str:
        """How the provisioning history names this admin."""
        return f"admin:{self.subject}"


def bearer_credential(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise InvalidAdminToken("an admin credential is required: send Authorization: Bearer <token>")
    return value.strip()


def verification_key(settings: Settings, store: SecretStore) -> Any:
    """The keys credentials are checked with: the Vault HS256 keys in use, or the configured RS256 public key."""
    if settings.admin_jwt_algorithm == "RS256":
        return _public_key(settings.admin_jwt_public_key or "")
    return store.admin_jwt_keys()


@functools.lru_cache(maxsize=4)
def _public_key(pem: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        return load_pem_public_key(pem.encode())
    except ValueError:
        raise ConfigError("FLUID_ADMIN_JWT_PUBLIC_KEY is not a readable PEM public key") from None


def _candidate_keys(token: str, keys: KeyRing) -> list[bytes]:
    """The HS256 keys to try: the one ``kid`` names, or each key in use when there is no ``kid``."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise InvalidAdminToken("the admin credential is not valid") from None
    kid = header.get("kid")
    if kid is None:
        return [keys.keys[key_id] for key_id in sorted(keys.keys, key=lambda key_id: key_id != keys.current_id)]
    key = keys.keys.get(int(kid)) if isinstance(kid, str) and kid.isascii() and kid.isdigit() and len(kid) <= 7 else None
    if key is None:
        raise InvalidAdminToken("the admin credential is signed with a key this service does not accept (kid)")
    return [key]


def verify_admin_token(token: str, *, key: Any, settings: Settings) -> AdminClaims:
    """Check a credential completely and return its claims, or raise :class:`InvalidAdminToken`.

    ``key``: what :func:`verification_key` returns (the HS256 keys in use, or the RS256 public key),
    or one key.
    """
    candidates = _candidate_keys(token, key) if isinstance(key, KeyRing) else [key]
    for candidate in candidates[:-1]:
        try:  # the signature alone first: the claims are judged once, with the key that signed
            jwt.api_jws.decode_complete(token, candidate, algorithms=[settings.admin_jwt_algorithm])
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidTokenError:
            pass
        return _verify_with(token, candidate, settings)
    return _verify_with(token, candidates[-1], settings)


def _verify_with(token: str, key: Any, settings: Settings) -> AdminClaims:
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[settings.admin_jwt_algorithm],
            audience=settings.admin_jwt_audience,
            issuer=settings.admin_jwt_issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidAdminToken("the admin credential has expired") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidAdminToken(f"the admin credential lacks the {exc.claim!r} claim") from None
    except jwt.InvalidAudienceError:
        raise InvalidAdminToken("the admin credential is not meant for this service (aud)") from None
    except jwt.InvalidIssuerError:
        raise InvalidAdminToken("the admin credential was not issued by Fluid (iss)") from None
    except jwt.InvalidTokenError:
        raise InvalidAdminToken("the admin credential is not valid") from None
    return _claims(payload)


def _claims(payload: dict[str, Any]) -> AdminClaims:
    for claim in NULLABLE_CLAIMS:
        if claim not in payload:
            raise InvalidAdminToken(f"the admin credential lacks the {claim!r} claim")
    subject, organisation, roles = payload["sub"], payload["org"], payload["roles"]
    operator = payload.get("platform_operator", False)
    organisation_id = _organisation_id(payload["org_id"], operator is True)
    issued_at, expires_at = payload["iat"], payload["exp"]
    if not isinstance(subject, str) or not 0 < len(subject) <= 200:
        raise InvalidAdminToken("the admin credential's 'sub' must be a non-empty string")
    if not isinstance(organisation, str) or not LABEL.match(organisation):
        raise InvalidAdminToken("the admin credential's 'org' must be an organisation slug")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise InvalidAdminToken("the admin credential's 'roles' must be a list of strings")
    if not isinstance(operator, bool):
        raise InvalidAdminToken("the admin credential's 'platform_operator' must be true or false")
    if not all(isinstance(value, int | float) and not isinstance(value, bool) for value in (issued_at, expires_at)):
        raise InvalidAdminToken("the admin credential's 'iat' and 'exp' must be numbers of seconds")
    if not 0 < expires_at - issued_at <= MAX_LIFETIME_SECONDS:
        raise InvalidAdminToken(f"the admin credential must expire within {MAX_LIFETIME_SECONDS} seconds of being issued")
    return AdminClaims(
        subject=subject,
        organisation=organisation,
        organisation_id=organisation_id,
        roles=tuple(roles),
        platform_operator=operator,
        issued_at=int(issued_at),
        expires_at=int(expires_at),
    )


def _organisation_id(value: Any, operator: bool) -> str | None:
    """The canonical text of the ``org_id`` claim (a UUID); ``null`` is an operator's credential for no organisation."""
    if value is None and operator:
        return None
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise InvalidAdminToken("the admin credential's 'org_id' must be the organisation's id (a UUID)")


def host_refusal(claims: AdminClaims, host: str | None, base_domain: str) -> str | None:
    """Why this credential may not be used through this host, or ``None`` when it may.

    Through a tenant host (``acme.fluid.wlork``) only that organisation's credentials are
    accepted; any other host (the bare base domain) serves platform operators only.
    """
    slug = slug_from_host(host, base_domain)
    if slug is None:
        if claims.platform_operator:
            return None
        return f"use your organisation's address, {claims.organisation}.{base_domain}, for the admin API"
    if slug != claims.organisation:
        return f"this credential is for organisation '{claims.organisation}', not '{slug}'"
    return None
