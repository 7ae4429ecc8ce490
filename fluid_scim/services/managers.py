"""The enterprise ``manager`` (RFC 7643 §4.3): kept as the client named it, resolved when a user matches.

``manager.value`` is an optional reference. Entra sends the manager's id; Okta sends its free-text
``managerId`` (an employee number, say), which names no SCIM resource. Neither refuses the user:
the value is stored as sent (``ScimUser.manager_ref``) and resolved to a user of the organisation
(``ScimUser.manager_id``) in this order:

1. the user whose id equals the value;
2. else the one user whose externalId equals it;
3. else the one user whose enterprise employeeNumber equals it.

Matching is exact (case-sensitive), and the user is never its own manager: a value naming the
user's own id is refused (400), one matching only the user's own externalId or employeeNumber
stays unresolved. When a rank matches several users the value is ambiguous and stays unresolved.
An unresolved value is recorded as the quirk ``manager-unresolved`` and linked later, in the
transaction that creates or updates a user it resolves to (:func:`link_reports`). Once resolved,
a manager stays resolved until the value changes or the manager is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fluid_scim.errors import InvalidValue
from fluid_scim.models import Organisation, ScimUser
from fluid_scim.models.scim import is_resource_id
from fluid_scim.repositories import scim as repo
from fluid_scim.schema import ENTERPRISE_URN
from fluid_scim.services import request_context

UNRESOLVED = "manager-unresolved"


def manager_for(organisation: Organisation, user: ScimUser, document: dict[str, Any]) -> str | None:
    """The id of the manager ``document`` names for ``user``, or None (none named, or none matches).

    Call before writing the document onto the user: a resolved manager whose value is unchanged
    is kept without a query.
    """
    manager = (document.get(ENTERPRISE_URN) or {}).get("manager")
    reference = manager.get("value") if isinstance(manager, dict) else None
    if reference is None:
        return None
    if reference == user.id:
        raise InvalidValue("a user cannot be their own manager")
    if reference == user.manager_ref and user.manager_id is not None:
        return user.manager_id
    resolved = resolve(organisation, reference, user_id=user.id)
    if resolved is None:
        request_context.current().quirks.add(UNRESOLVED)
    return resolved


def resolve(organisation: Organisation, reference: str, *, user_id: str) -> str | None:
    """The user ``reference`` names (by id, else externalId, else employeeNumber), never ``user_id``."""
    if is_resource_id(reference) and reference != user_id and repo.get_user(organisation.id, reference) is not None:
        return reference
    for column in ("external_id", "employee_number"):
        found = repo.user_ids_with(organisation.id, column, reference, except_id=user_id, limit=2)
        if found:
            return found[0] if len(found) == 1 else None  # several: ambiguous
    return None


def link_reports(organisation: Organisation, user: ScimUser, *, waiting: bool | None = None) -> None:
    """Users waiting for a manager whose value resolves to ``user`` get it; one UPDATE, after ``user`` is flushed.
    ``waiting``: whether any does, when the caller knows (``repo.add_user`` answers it for a new user)."""
    repo.link_reports(
        organisation.id, user.id, external_id=user.external_id, employee_number=user.employee_number, waiting=waiting
    )


@dataclass(frozen=True, slots=True)
class Manager:
    """A user's manager as the admin API shows it."""

    value: str  # as the client sent it
    user_id: str | None  # the user it resolves to; None while unresolved
    user_name: str | None


def manager_of(organisation: Organisation, user: ScimUser) -> Manager | None:
    """The user's manager, with the resolved user's userName (one query when resolved); None without one."""
    if user.manager_ref is None:
        return None
    if user.manager_id is None:
        return Manager(user.manager_ref, None, None)
    manager = repo.get_user(organisation.id, user.manager_id)
    return Manager(user.manager_ref, user.manager_id, manager.user_name if manager is not None else None)
