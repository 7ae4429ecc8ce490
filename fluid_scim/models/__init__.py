"""SQLAlchemy models. Every tenant-owned table carries ``organisation_id`` first in its keys."""

from fluid_scim.models.organisation import Organisation, ScimToken
from fluid_scim.models.scim import ScimGroup, ScimGroupMember, ScimUser, ScimUserValue

__all__ = ["Organisation", "ScimGroup", "ScimGroupMember", "ScimToken", "ScimUser", "ScimUserValue"]
