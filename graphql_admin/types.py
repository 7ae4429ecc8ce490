"""The organisation as its admins see it: settings, SCIM token metadata, provisioning status.

No type here can carry a SCIM token's value: only the mutation results that create one
(:class:`~graphql_admin.mutations.GeneratedScimToken`) or read it back on purpose do.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from fluid_scim.models import Organisation as OrganisationModel
from fluid_scim.models import ScimGroup
from fluid_scim.services import access_admin, provisioning_status, scim_tokens
from graphql_admin.context import Info
from graphql_admin.copying import copied


@strawberry.enum(description="How the current SCIM token came to be.")
class ScimTokenSource(Enum):
    GENERATED = "generated"
    ENTERED = "entered"


@strawberry.type(description="What may be shown about the SCIM secret token: never its value.")
class ScimTokenMetadata:
    is_set: bool
    fingerprint: str | None = strawberry.field(description="Eight hex characters that tell tokens apart.")
    source: ScimTokenSource | None
    created_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, metadata: scim_tokens.TokenMetadata | None) -> ScimTokenMetadata:
        if metadata is None:
            return cls(is_set=False, fingerprint=None, source=None, created_at=None, last_used_at=None)
        return copied(cls, metadata, is_set=True, source=ScimTokenSource(metadata.source))


@strawberry.type(description='The group whose members may use Fluid ("Fluid User" unless renamed).')
class AccessGroup:
    id: strawberry.ID
    display_name: str

    @classmethod
    def of(cls, group: ScimGroup) -> AccessGroup:
        return copied(cls, group)


@strawberry.type(description="Members of this directory group get this Fluid role.")
class GroupRoleMapping:
    group_name: str
    role: str


@strawberry.type(description="Users with this app role (SCIM roles, Entra app roles) get this Fluid role.")
class AppRoleMapping:
    app_role: str
    role: str


@strawberry.type(
    description="Users this SCIM filter (RFC 7644 §3.4.2.2) matches get this Fluid role, "
    'e.g. department eq "Finance" -> finance.'
)
class AttributeRoleMapping:
    filter: str
    role: str


@strawberry.type(
    description="A user with access has the union of the roles of all three kinds of mapping; without access, no roles."
)
class RoleMappings:
    groups: list[GroupRoleMapping]
    app_roles: list[AppRoleMapping]
    attributes: list[AttributeRoleMapping] = strawberry.field(description="In the order they were saved.")

    @classmethod
    def of(cls, organisation: OrganisationModel) -> RoleMappings:
        groups, apps = access_admin.role_mappings(organisation=organisation)
        return cls(
            groups=[GroupRoleMapping(group_name=name, role=role) for name, role in sorted(groups.items())],
            app_roles=[AppRoleMapping(app_role=value, role=role) for value, role in sorted(apps.items())],
            attributes=[
                AttributeRoleMapping(filter=text, role=role)
                for text, role in access_admin.attribute_role_mappings(organisation=organisation)
            ],
        )


@strawberry.type(description="Holds mass access removals back until an admin releases or discards them.")
class DeprovisioningBrake:
    enabled: bool
    percent: int = strawberry.field(description="Share of the organisation's users removed within the window.")
    min_removals: int = strawberry.field(description="…and at least this many removals, before the brake holds.")
    window_minutes: int

    @classmethod
    def of(cls, organisation: OrganisationModel) -> DeprovisioningBrake:
        return cls(
            enabled=organisation.brake_enabled,
            percent=organisation.brake_percent,
            min_removals=organisation.brake_min_removals,
            window_minutes=organisation.brake_window_minutes,
        )


@strawberry.type(description="An organisation's SCIM set-up, as the Authentication Providers page shows it.")
class Organisation:
    model: strawberry.Private[OrganisationModel]
    slug: str
    name: str
    scim_sync_enabled: bool = strawberry.field(description='False while "Disable SCIM User Sync" is on.')
    access_mode: str = strawberry.field(
        description="group: active members of the access group; all_active: every active user; "
        "attribute: every active user the access filter matches."
    )
    access_filter: str | None = strawberry.field(description="The SCIM filter of the attribute access mode.")
    created_at: datetime

    @classmethod
    def of(cls, model: OrganisationModel) -> Organisation:
        return copied(cls, model, model=model)

    @strawberry.field(description="The Tenant URL to enter in the identity provider.")
    def tenant_url(self, info: Info) -> str:
        return info.context.settings.tenant_url(self.slug)

    @strawberry.field
    def access_group(self) -> AccessGroup:
        return AccessGroup.of(access_admin.access_group(organisation=self.model))

    @strawberry.field
    def role_mappings(self) -> RoleMappings:
        return RoleMappings.of(self.model)

    @strawberry.field
    def deprovisioning_brake(self) -> DeprovisioningBrake:
        return DeprovisioningBrake.of(self.model)

    @strawberry.field
    def scim_token(self) -> ScimTokenMetadata:
        return ScimTokenMetadata.of(scim_tokens.token_metadata(organisation=self.model))


@strawberry.type(description="An organisation in the platform operators' list.")
class OrganisationSummary:
    slug: str
    name: str
    scim_sync_enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, model: OrganisationModel) -> OrganisationSummary:
        return copied(cls, model)

    @strawberry.field
    def tenant_url(self, info: Info) -> str:
        return info.context.settings.tenant_url(self.slug)


@strawberry.enum(description="Entra-style health of the SCIM traffic over the last hour.")
class ProvisioningVerdict(Enum):
    IDLE = "idle"
    HEALTHY = "healthy"
    AT_RISK = "at_risk"


@strawberry.type(description="SCIM requests over a window.")
class RequestWindow:
    requests: int
    errors: int
    unauthorized: int
    query_not_found: int
    without_token: int = strawberry.field(
        description="Requests refused without a bearer token: not the identity provider's (which always sends"
        " one), so not in the other counts nor in the verdict. Many of them mean someone else is knocking."
    )


@strawberry.type(description="Last request, last error, counts: what the admin console shows about provisioning.")
class ProvisioningStatus:
    last_request_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error_status: int | None
    last_error_detail: str | None
    consecutive_failures: int
    last_hour: RequestWindow
    last_day: RequestWindow
    verdict: ProvisioningVerdict
    reasons: list[str]
    token_set: bool
    token_created_at: datetime | None
    token_last_used_at: datetime | None
    users_total: int
    users_active: int
    users_with_access: int
    groups_total: int

    @classmethod
    def of(cls, view: provisioning_status.StatusView) -> ProvisioningStatus:
        return copied(
            cls,
            view,
            last_hour=copied(RequestWindow, view.last_hour),
            last_day=copied(RequestWindow, view.last_day),
            verdict=ProvisioningVerdict(view.verdict),
            reasons=list(view.reasons),
        )


@strawberry.type(description="Who is calling: the verified credential's claims.")
class Viewer:
    subject: str
    organisation: str
    roles: list[str]
    is_admin: bool
    is_platform_operator: bool
    expires_at: datetime
