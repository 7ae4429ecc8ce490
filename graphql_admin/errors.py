"""Expected failures as typed results; everything else masked.

Mutations answer a union of their result and the failures a caller can act on (``NotAllowed``,
``WeakToken``, ``InvalidInput`` …), each carrying a message written for people. Queries refuse
with a :class:`PublicError` (a ``FORBIDDEN`` or ``BAD_USER_INPUT`` code). Any other exception is
a bug or an outage: :func:`should_mask_error` hides it behind "Unexpected error." so that no
stack trace, SQL or secret reaches a client; Strawberry logs the original.
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError

from fluid_scim.errors import InvalidSyntax, InvalidValue, Uniqueness
from fluid_scim.errors import NotFound as ScimNotFound
from fluid_scim.secrets import SecretNotFound, SecretStoreUnavailable
from fluid_scim.services import organisations, scim_tokens

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
    depth and cost limits): they describe the query, not the server, and stay visible.
    """
    original = error.original_error
    return original is not None and not isinstance(original, PublicError)


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


def failure_for(exc: Exception) -> Failure | None:
    """The typed failure an expected exception of a service becomes, or ``None`` for a real error."""
    from fluid_scim.services.imports import ImportFileRefused

    if isinstance(exc, scim_tokens.WeakToken):
        return WeakToken(message=str(exc), rule=exc.problem.rule)
    if isinstance(exc, InvalidValue | InvalidSyntax):
        return InvalidInput(message=exc.detail)
    if isinstance(exc, Uniqueness):
        return Conflict(message=exc.detail)
    if isinstance(exc, ScimNotFound):
        return NotFound(message=exc.detail)
    if isinstance(exc, organisations.OrganisationExists):
        return Conflict(message=str(exc))
    if isinstance(exc, organisations.OrganisationNotFound):
        return NotFound(message=str(exc))
    if isinstance(exc, organisations.OrganisationError | ImportFileRefused):
        return InvalidInput(message=str(exc))
    if isinstance(exc, scim_tokens.NoScimToken):
        return NotFound(message="the organisation has no SCIM token")
    if isinstance(exc, scim_tokens.TokenRevealRefused):
        return NotAllowed(message="reading the SCIM token back is switched off for this service")
    if isinstance(exc, SecretNotFound):
        return NotFound(message="the stored SCIM token is gone from the key vault; generate a new one")
    if isinstance(exc, SecretStoreUnavailable):
        # The store's own message names the Vault address: operators read it in the log, not callers.
        return Unavailable(message="the key vault is unavailable, so nothing was changed; try again shortly")
    return None
