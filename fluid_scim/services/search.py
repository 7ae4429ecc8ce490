"""The admin console's user and group searches: typed criteria instead of filter text.

The criteria become the same filter tree a SCIM client's ``filter`` parses to, so that the admin
API and SCIM match, sort and page users and groups in exactly the same way.
"""

from __future__ import annotations

from functools import reduce

from fluid_scim.filters import And, AttrPath, Compare, Filter, Not, Or
from fluid_scim.models import Organisation, ScimGroup, ScimUser
from fluid_scim.schema import FLUID_URN, GROUP_RESOURCE, USER_RESOURCE
from fluid_scim.services.resource_support import ListQuery, Page, list_matching

_USER_NAME, _DISPLAY_NAME = AttrPath(None, "userName"), AttrPath(None, "displayName")
_EMAIL, _ACTIVE = AttrPath(None, "emails", "value"), AttrPath(None, "active")
_ACCESS_GRANTED = AttrPath(FLUID_URN, "accessGranted")


def find_users(
    *,
    organisation: Organisation,
    text: str | None = None,
    has_access: bool | None = None,
    active: bool | None = None,
    start_index: int = 1,
    count: int = 100,
) -> Page[ScimUser]:
    """Users by userName; ``text`` is looked for (case-insensitively) in userName, displayName and e-mail.

    A user whose ``active`` is unassigned counts as active (as for access).
    """
    clauses: list[Filter] = []
    if text:
        clauses.append(Or(Or(Compare(_USER_NAME, "co", text), Compare(_DISPLAY_NAME, "co", text)), Compare(_EMAIL, "co", text)))
    if has_access is not None:
        clauses.append(Compare(_ACCESS_GRANTED, "eq", has_access))
    if active is not None:
        inactive = Compare(_ACTIVE, "eq", False)
        clauses.append(Not(inactive) if active else inactive)
    node = reduce(And, clauses) if clauses else None
    query = ListQuery(sort_by="userName", start_index=start_index, count=count)
    return list_matching(ScimUser, USER_RESOURCE, organisation_id=organisation.id, node=node, query=query)


def find_groups(
    *, organisation: Organisation, text: str | None = None, start_index: int = 1, count: int = 100
) -> Page[ScimGroup]:
    """Groups by displayName; ``text`` is looked for (case-insensitively) in displayName."""
    node = Compare(_DISPLAY_NAME, "co", text) if text else None
    query = ListQuery(sort_by="displayName", start_index=start_index, count=count)
    return list_matching(ScimGroup, GROUP_RESOURCE, organisation_id=organisation.id, node=node, query=query)
