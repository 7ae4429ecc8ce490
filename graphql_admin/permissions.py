"""Who may do what: an organisation's Fluid admins act on it alone; platform operators manage the list.

Queries carry a permission class and refuse with a ``FORBIDDEN`` error. Mutations run through
:func:`as_admin` / :func:`as_operator`, which answer ``NotAllowed`` as a typed result, run the
change under an audit context naming the acting admin (the services record it), and turn the
services' expected exceptions into typed failures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from strawberry.permission import BasePermission

from fluid_scim.models import Organisation
from fluid_scim.services import audit, organisations, transaction
from graphql_admin.context import AdminContext, Info
from graphql_admin.errors import Failure, ForbiddenError, NotAllowed, failure_for

R = TypeVar("R")
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
    except organisations.OrganisationNotFound:
        raise ForbiddenError(NOT_ADMIN) from None


def as_admin(info: Info, change: Callable[[Organisation], R]) -> R | Failure:
    """Run ``change`` on the caller's organisation if the caller administers it."""
    context = info.context
    if not context.is_admin:
        return NotAllowed(message=NOT_ADMIN)
    try:
        organisation = context.organisation()
    except organisations.OrganisationNotFound:
        return NotAllowed(message=NOT_ADMIN)
    with _acting(context):
        return _expected(lambda: change(organisation))


def as_operator(info: Info, change: Callable[[], R]) -> R | Failure:
    """Run ``change`` if the caller is a platform operator."""
    context = info.context
    if not context.is_operator:
        return NotAllowed(message=NOT_OPERATOR)
    with _acting(context):
        return _expected(change)


@contextmanager
def _acting(context: AdminContext) -> Iterator[None]:
    with audit.acting(context.audit_context()):
        yield


def _expected(change: Callable[[], R]) -> R | Failure:
    try:
        # One request may carry several mutations: a failed one must leave nothing for the next to commit.
        with transaction.rolled_back_on_failure():
            return change()
    except Exception as exc:
        failure = failure_for(exc)
        if failure is None:
            raise
        return failure
