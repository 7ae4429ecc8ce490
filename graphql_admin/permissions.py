"""Who may do what: an organisation's Fluid admins act on it alone; platform operators manage the list.

Queries carry a permission class and refuse with a ``FORBIDDEN`` error. Mutations run through
:func:`as_admin` / :func:`as_operator`, which answer ``NotAllowed`` as a typed result, run the
change under an audit context naming the acting admin (the services record it), and turn the
services' expected exceptions into the typed failures the mutation declares.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, overload

from strawberry.permission import BasePermission
from strawberry.types.nodes import SelectedField

from fluid_scim.errors import OrganisationNotFound
from fluid_scim.models import Organisation
from fluid_scim.services import request_context, transaction
from graphql_admin.context import AdminContext, Info
from graphql_admin.errors import BadInputError, Failure, ForbiddenError, InvalidInput, NotAllowed, failure_for
from graphql_admin.text_arguments import refused_argument

R = TypeVar("R")
F1 = TypeVar("F1", bound=Failure)
F2 = TypeVar("F2", bound=Failure)
F3 = TypeVar("F3", bound=Failure)
NOT_ADMIN = "only a Fluid admin of this organisation may do this"
NOT_OPERATOR = "only a platform operator may do this"


class IsOrganisationAdmin(BasePermission):
    """The caller is a Fluid admin of the organisation the credential names."""

    message = NOT_ADMIN
    error_class = ForbiddenError

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.is_admin


class IsPlatformOperator(BasePermission):
    """The caller is a platform operator (creates and lists organisations)."""

    message = NOT_OPERATOR
    error_class = ForbiddenError

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.is_operator


def own_organisation(info: Info) -> Organisation:
    """The caller's organisation, for query resolvers behind :class:`IsOrganisationAdmin`."""
    if not info.context.is_admin:
        raise ForbiddenError(NOT_ADMIN)
    try:
        return info.context.organisation()
    except OrganisationNotFound:
        raise ForbiddenError(NOT_ADMIN) from None


@overload
def as_admin(info: Info, change: Callable[[Organisation], R], /) -> R | NotAllowed: ...
@overload
def as_admin(info: Info, change: Callable[[Organisation], R], f1: type[F1], /) -> R | NotAllowed | F1: ...
@overload
def as_admin(
    info: Info, change: Callable[[Organisation], R], f1: type[F1], f2: type[F2], /
) -> R | NotAllowed | F1 | F2: ...
@overload
def as_admin(
    info: Info, change: Callable[[Organisation], R], f1: type[F1], f2: type[F2], f3: type[F3], /
) -> R | NotAllowed | F1 | F2 | F3: ...
def as_admin(info: Info, change: Callable[[Organisation], R], *failures: type[Failure]) -> R | Failure:
    """Run ``change`` on the caller's organisation if the caller administers it.

    ``failures`` are the failure types the mutation's result union lists besides ``NotAllowed``
    (the type checker holds the two together); see :func:`_expected`.
    """
    context = info.context
    if not context.is_admin:
        return NotAllowed(message=NOT_ADMIN)
    try:
        organisation = context.organisation()
    except OrganisationNotFound:
        return NotAllowed(message=NOT_ADMIN)
    refused = _refused_text(info, failures)
    if refused is not None:
        return refused
    with _acting(context):
        return _expected(lambda: change(organisation), failures)


@overload
def as_operator(info: Info, change: Callable[[], R], /) -> R | NotAllowed: ...
@overload
def as_operator(info: Info, change: Callable[[], R], f1: type[F1], /) -> R | NotAllowed | F1: ...
@overload
def as_operator(info: Info, change: Callable[[], R], f1: type[F1], f2: type[F2], /) -> R | NotAllowed | F1 | F2: ...
@overload
def as_operator(
    info: Info, change: Callable[[], R], f1: type[F1], f2: type[F2], f3: type[F3], /
) -> R | NotAllowed | F1 | F2 | F3: ...
def as_operator(info: Info, change: Callable[[], R], *failures: type[Failure]) -> R | Failure:
    """Run ``change`` if the caller is a platform operator; ``failures`` as for :func:`as_admin`."""
    context = info.context
    if not context.is_operator:
        return NotAllowed(message=NOT_OPERATOR)
    refused = _refused_text(info, failures)
    if refused is not None:
        return refused
    with _acting(context):
        return _expected(change, failures)


def _refused_text(info: Info, declared: tuple[type[Failure], ...]) -> Failure | None:
    """``InvalidInput`` when an argument of the mutation holds a character :mod:`fluid_scim.text` refuses
    (a ``BAD_USER_INPUT`` error when the mutation's union has no ``InvalidInput``); None when all are fine."""
    arguments: dict[str, Any] = {}
    for field in info.selected_fields:  # the mutation's own field (a root field is never a fragment)
        if isinstance(field, SelectedField):
            arguments.update(field.arguments)
    detail = refused_argument(arguments)
    if detail is None:
        return None
    if InvalidInput not in declared:
        raise BadInputError(detail)
    return InvalidInput(message=detail)


@contextmanager
def _acting(context: AdminContext) -> Iterator[None]:
    with request_context.acting(context.audit_context()):
        yield


def _expected(change: Callable[[], R], declared: tuple[type[Failure], ...]) -> R | Failure:
    """``change()``, or the typed failure its domain error becomes when the mutation declares that type.

    Anything else is raised on, so masked and logged with its traceback: an unexpected exception,
    or a domain error whose failure the mutation's union does not list (a bug in the union).
    """
    try:
        # One request may carry several mutations: a failed one must leave nothing for the next to commit.
        with transaction.rolled_back_on_failure():
            return change()
    except Exception as exc:
        failure = failure_for(exc)
        if failure is None or not isinstance(failure, (NotAllowed, *declared)):
            raise
        return failure
