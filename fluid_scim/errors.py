"""Every expected failure of Fluid's use cases, in one vocabulary.

Services and pure packages raise these; each surface translates them with one table of its own,
keyed by class (a subclass inherits its nearest ancestor's entry, see :func:`mapping_for`):

* the SCIM API: ``fluid_scim.scim_http.errors`` (HTTP status, ``scimType``, headers; RFC 7644 §3.12),
* the GraphQL admin API: ``graphql_admin.errors`` (typed failures such as ``NotAllowed``),
* the command line: ``fluid_scim.cli.common`` (one ``error:`` line and an exit status).

A class carries what it means, a ``detail`` written for people, and the data a surface needs to
say more (``retry_after``, the broken token rule …); it knows nothing about HTTP or GraphQL. Where
a detail is meant for operators (the secret store's details name the Vault address), a table says
what callers are told instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

Entry = TypeVar("Entry")
DEFAULT_RETRY_AFTER = 30


class DomainError(Exception):
    """Base of every expected failure; ``detail`` is a sentence a person can act on."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def mapping_for(table: Mapping[type[DomainError], Entry], error_class: type[DomainError]) -> Entry | None:
    """The entry of the nearest class in ``error_class``'s MRO (itself first), or ``None``."""
    for cls in error_class.__mro__:
        if issubclass(cls, DomainError) and cls in table:
            return table[cls]
    return None


# -- RFC 7644 §3.12 scimType errors (400, but uniqueness: 409) ---------------------------------


class InvalidFilter(DomainError):
    """RFC 7644 §3.12: the filter syntax is invalid or the filter names an unsupported attribute."""


class TooMany(DomainError):
    """RFC 7644 §3.12: the query or Bulk request would return or process too many items."""


class Uniqueness(DomainError):
    """RFC 7644 §3.12: a unique attribute value is already taken (409)."""


class Mutability(DomainError):
    """RFC 7644 §3.12: the request tries to change an immutable or read-only attribute."""


class InvalidSyntax(DomainError):
    """RFC 7644 §3.12: the request body is not parsable or violates the schema."""


class InvalidPath(DomainError):
    """RFC 7644 §3.12: a PATCH ``path`` is invalid."""


class NoTarget(DomainError):
    """RFC 7644 §3.12: a PATCH ``path`` matched nothing where a target is required."""


class InvalidValue(DomainError):
    """RFC 7644 §3.12: a required value is missing or a value is not compatible."""


class UnkeptValue(InvalidValue):
    """An undeclared value that cannot be kept as received (past a bound, a character no value may
    hold). Under the ``keep`` policy the attribute is dropped and the request goes on: a value Fluid
    does not use never fails the whole user (``fluid_scim.schema.coerce.undeclared_or_dropped``)."""


class InvalidVersion(DomainError):
    """RFC 7644 §3.12 (``invalidVers``): the request names a SCIM protocol version we do not serve."""


class Sensitive(DomainError):
    """RFC 7644 §3.12: sensitive information (a secret) was sent in the request URI."""


class InvalidCursor(DomainError):
    """RFC 9865 §2.2: the cursor is malformed or belongs to another query."""


class UrlRefused(InvalidValue):
    """A webhook URL is not http(s), or its host is (or resolves to) an address that is not allowed."""


# -- the request as a whole ----------------------------------------------------------------------


class Unauthorized(DomainError):
    """RFC 7644 §3.12 (401): the Authorization header is missing or invalid.

    ``bearer_error`` is the RFC 6750 §3 error code, named only when a token was actually presented.
    """

    def __init__(self, detail: str, *, error: str | None = None) -> None:
        super().__init__(detail)
        self.bearer_error = error


class Forbidden(DomainError):
    """RFC 7644 §3.12 (403): authenticated, but this operation is not allowed."""


class ProtectedGroup(Forbidden):
    """The group decides who may use Fluid (the access group or a mapped one); only its members may change."""


class NotFound(DomainError):
    """RFC 7644 §3.12 (404): the resource or endpoint does not exist."""


class MethodNotAllowed(DomainError):
    """RFC 7231 §6.5.5 (405; not listed by RFC 7644 §3.12): wrong method; ``allowed`` names the right ones."""

    def __init__(self, detail: str, *, allowed: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.allowed = allowed


class Conflict(DomainError):
    """409 without a scimType: the request conflicts with the resource's state."""


class PreconditionFailed(DomainError):
    """RFC 7644 §3.14 (412): ``If-Match`` does not match the resource's current version."""


class PayloadTooLarge(DomainError):
    """RFC 7644 §3.7.4 (413): the request body is over the advertised maximum."""


class UnsupportedMediaType(DomainError):
    """415: the body is not JSON (``application/scim+json`` or ``application/json``)."""


class TooManyRequests(DomainError):
    """429 (RFC 6585): over a rate limit; ``retry_after`` (whole seconds, at least 1) says when to come back."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(retry_after, 1)


class InternalError(DomainError):
    """500: our fault; the detail never carries a traceback, SQL or a secret."""


class NotImplementedScim(DomainError):
    """RFC 7644 §3.12 (501): the operation is not supported."""


class ServiceUnavailable(DomainError):
    """503: a dependency is down; ``retry_after`` (seconds) tells the client when to come back."""

    def __init__(self, detail: str, *, retry_after: int = DEFAULT_RETRY_AFTER) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


# -- organisations -------------------------------------------------------------------------------


class OrganisationError(DomainError):
    """A value of an organisation was refused (such as its name); base of the organisation errors."""


class InvalidSlug(OrganisationError):
    """The slug is not one DNS label Fluid can serve, or it is reserved for Fluid's own hosts."""


class OrganisationExists(OrganisationError):
    """An organisation with this slug exists already."""


class OrganisationNotFound(OrganisationError):
    """No organisation has this slug (or the request names none)."""


class RemovalNotConfirmed(OrganisationError):
    """Removing an organisation was asked for without its confirmation (the slug typed again, ``--yes``)."""


class RemovalInterrupted(ServiceUnavailable):
    """Removing an organisation stopped midway (Vault or the database failed): what is done stays done,
    the organisation stays refused everywhere, and running the removal again finishes it."""


# -- SCIM tokens ---------------------------------------------------------------------------------


class WeakToken(DomainError):
    """An admin-entered token broke a strength rule; ``rule`` is its stable name (``min_length`` …)."""

    def __init__(self, detail: str, *, rule: str) -> None:
        super().__init__(detail)
        self.rule = rule


class NoScimToken(DomainError):
    """The organisation has no SCIM token (never set, or revoked)."""


class TokenRevealRefused(DomainError):
    """Reading a token back is switched off (``FLUID_ADMIN_ALLOW_TOKEN_REVEAL``)."""


# -- imports -------------------------------------------------------------------------------------


class ImportFileRefused(DomainError):
    """The whole import is refused before any row is written; the detail says why."""


# -- the secret store ----------------------------------------------------------------------------


class SecretStoreError(DomainError):
    """Base of the secret store's failures; details name the store and the failure (for operators),
    never a credential or a value."""


class SecretStoreUnavailable(SecretStoreError):
    """The store could not be reached, is sealed, or refused our credentials."""


class SecretNotFound(SecretStoreError):
    """The secret (or the requested version of it) does not exist."""
