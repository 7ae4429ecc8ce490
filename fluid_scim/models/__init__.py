"""SQLAlchemy models. Every tenant-owned table carries ``organisation_id`` first in its keys."""

from fluid_scim.models.access import AccessEvent, HeldAccessChange, RoleMapping, UserTombstone
from fluid_scim.models.audit import ProvisioningEvent, ProvisioningStatus, StatusBucket
from fluid_scim.models.directory import AttributeDeclaration, AttributeRoleMapping, UndeclaredAttribute
from fluid_scim.models.organisation import Organisation, OrganisationRemoval, ScimToken
from fluid_scim.models.outbox import OutboxEvent, OutboxPending, OutboxSequence, WebhookDelivery, WebhookEndpoint
from fluid_scim.models.scim import ScimGroup, ScimGroupMember, ScimUser, ScimUserCustomValue, ScimUserValue, UserRecord

__all__ = [
    "AccessEvent",
    "AttributeDeclaration",
    "AttributeRoleMapping",
    "HeldAccessChange",
    "Organisation",
    "OrganisationRemoval",
    "OutboxEvent",
    "OutboxPending",
    "OutboxSequence",
    "ProvisioningEvent",
    "ProvisioningStatus",
    "RoleMapping",
    "ScimGroup",
    "ScimGroupMember",
    "ScimToken",
    "ScimUser",
    "ScimUserCustomValue",
    "ScimUserValue",
    "StatusBucket",
    "UndeclaredAttribute",
    "UserRecord",
    "UserTombstone",
    "WebhookDelivery",
    "WebhookEndpoint",
]
