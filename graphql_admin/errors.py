"""Expected failures as typed results; everything else masked.

Mutations answer a union of their result and the failures a caller can act on (``NotAllowed``,
``WeakToken``, ``InvalidInput`` …), each carrying a message written for people; :data:`FAILURES`
says which failure each domain error (:mod:`fluid_scim.errors`) becomes. Queries refuse
with a :class:`PublicError` (a ``FORBIDDEN`` or ``BAD_USER_INPUT`` code). Any other exception is
a bug or an outage: :func:`should_mask_error` hides it behind "Unexpected error." so that no
stack trace, SQL or secret reaches a client; Strawberry logs the original.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError

from fluid_scim import errors as domain
from fluid_scim.errors import DomainError, mapping_for

UNEXPECTED = "Unexpected error."


class PublicError(GraphQLError):
    """An error whose message is written for the caller and is shown as it is."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})


class ForbiddenError(PublicError):
    code = "FORBIDDEN"


class BadInputError(PublicError):
    code = "BAD_USER_INPUT"


def should_mask_error(error: GraphQLError) -> bool:
    """Mask every error raised by our code except :class:`PublicError`.

    Errors without an original exception come from GraphQL itself (syntax, validation, the
    depth and cost limits): they describe the query, not the server, and stay visible. So do
    those whose original is itself a GraphQL error: graphql-core's own, such as a variable's value
    an ``Int`` cannot hold ("Variable '$first' got invalid value …"), the caller's mistake.
    """
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


# -- typed failures ------------------------------------------------------------------------------


@strawberry.interface(description="Why a mutation did not happen; nothing was changed.")
class Failure:
    message: str


@strawberry.type(description="The caller may not do this (not an admin of the organisation, or switched off).")
class NotAllowed(Failure):
    pass


@strawberry.type(description="What the mutation names does not exist (in the caller's organisation).")
class NotFound(Failure):
    pass


@strawberry.type(description="A value was refused; the message says which and why.")
class InvalidInput(Failure):
    pass


@strawberry.type(description="The change clashes with something that exists, such as a name in use.")
class Conflict(Failure):
    pass


@strawberry.type(description="A secret token an admin entered breaks a strength rule.")
class WeakToken(Failure):
    rule: str = strawberry.field(description="Stable name of the broken rule, such as min_length or common_word.")


@strawberry.type(description="A service this needs (the key vault) is unavailable; try again later.")
class Unavailable(Failure):
    pass


FailureOf = Callable[[DomainError], Failure | None]


def _typed(failure: type[Failure], message: str | None = None) -> FailureOf:
    """The failure ``failure`` with the error's detail, or with ``message`` when the detail is for operators."""

    def build(error: DomainError) -> Failure:
        return failure(message=message or error.detail)

    return build


def _weak_token(error: DomainError) -> Failure | None:
    if not isinstance(error, domain.WeakToken):  # mapped for WeakToken only: this is for the type checker
        return None
    return WeakToken(message=error.detail, rule=error.rule)


def _masked(error: DomainError) -> None:
    """Not a failure a caller can act on: the error stays a (masked) GraphQL error, logged with its traceback."""
    return None


# Every concrete domain error has an entry (tests/unit/test_error_tables.py): a new class must
# decide what a mutation answers. ``_masked`` ones belong to the SCIM HTTP protocol or are our fault.
FAILURES: dict[type[DomainError], FailureOf] = {
    domain.InvalidFilter: _typed(InvalidInput),
    domain.TooMany: _typed(InvalidInput),
    domain.Uniqueness: _typed(Conflict),
    domain.Mutability: _typed(InvalidInput),
    domain.InvalidSyntax: _typed(InvalidInput),
    domain.InvalidPath: _typed(InvalidInput),
    domain.NoTarget: _typed(InvalidInput),
    domain.InvalidValue: _typed(InvalidInput),
    domain.InvalidVersion: _typed(InvalidInput),
    domain.Sensitive: _typed(InvalidInput),
    domain.InvalidCursor: _typed(InvalidInput),
    domain.Unauthorized: _typed(NotAllowed),
    domain.Forbidden: _typed(NotAllowed),
    domain.NotFound: _typed(NotFound),
    domain.MethodNotAllowed: _masked,
    domain.Conflict: _typed(Conflict),
    domain.PreconditionFailed: _typed(Conflict),
    domain.PayloadTooLarge: _masked,
    domain.UnsupportedMediaType: _masked,
    domain.TooManyRequests: _masked,
    domain.InternalError: _masked,
    domain.NotImplementedScim: _masked,
    domain.ServiceUnavailable: _typed(Unavailable),
    domain.OrganisationError: _typed(InvalidInput),
    domain.OrganisationExists: _typed(Conflict),
    domain.OrganisationNotFound: _typed(NotFound),
    domain.WeakToken: _weak_token,
    domain.NoScimToken: _typed(NotFound, "the organisation has no SCIM token"),
    domain.TokenRevealRefused: _typed(NotAllowed, "reading the SCIM token back is switched off for this service"),
    domain.ImportFileRefused: _typed(InvalidInput),
    # The store's own details name the Vault address: operators read them in the log, not callers.
    domain.SecretStoreError: _typed(Unavailable, "the key vault is unavailable, so nothing was changed; try again shortly"),
    domain.SecretNotFound: _typed(NotFound, "the stored SCIM token is gone from the key vault; generate a new one"),
}


def failure_for(exc: Exception) -> Failure | None:
    """The typed failure an expected exception of a service becomes, or ``None`` for a real error."""
    if not isinstance(exc, DomainError):
        return None
    build = mapping_for(FAILURES, type(exc))
    return build(exc) if build is not None else None
