"""Changes an admin makes, each a service call audited with the acting admin, each answering a union.

Every mutation returns its result or a typed failure (``NotAllowed``, ``WeakToken`` …); only an
unexpected error is a GraphQL error, and that one is masked. Each result union lists the failures
its services' domain errors become (``graphql_admin.errors.FAILURES``), and each mutation passes
the same types to ``as_admin`` / ``as_operator``, which the type checker holds to the union.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from fluid_scim.errors import RemovalNotConfirmed
from fluid_scim.models import Organisation as OrganisationModel
from fluid_scim.secrets import Secret
from fluid_scim.services import access_admin, audit, offboarding, organisations, scim_tokens
from graphql_admin.attributes import AttributeMutations
from graphql_admin.context import Info
from graphql_admin.errors import Conflict, InvalidInput, NotAllowed, NotFound, Unavailable, WeakToken
from graphql_admin.permissions import as_admin, as_operator
from graphql_admin.setup_checklist import SetupChecklistMutations
from graphql_admin.types import (
    AccessGroup,
    DeprovisioningBrake,
    Organisation,
    OrganisationSummary,
    RoleMappings,
    ScimTokenMetadata,
)
from graphql_admin.webhooks import WebhookMutations

MAX_IMPORT_ROWS = 1000
# Database batches (of offboarding.BATCH_ROWS rows) one removeOrganisation call runs; a larger
# organisation takes several calls, each going on where the last stopped.
REMOVAL_BATCHES_PER_CALL = 50


@strawberry.type(description="A new SCIM token. This is the only time its value is shown: copy it into the IdP now.")
class GeneratedScimToken:
    token: str
    fingerprint: str


@strawberry.type
class ScimTokenSet:
    scim_token: ScimTokenMetadata


@strawberry.type(description="The token no longer works anywhere; its stored value is destroyed.")
class ScimTokenRevoked:
    fingerprint: str


@strawberry.type(description="The current SCIM token read back from the key vault (when allowed; audited).")
class RevealedScimToken:
    token: str
    fingerprint: str


@strawberry.type
class RoleMappingsSet:
    role_mappings: RoleMappings
    access_changes: int = strawberry.field(description="How many users' access or roles changed as a result.")


@strawberry.type
class AccessModeSet:
    organisation: Organisation
    access_changes: int = strawberry.field(description="How many users' access or roles changed as a result.")


@strawberry.enum(description="Who may use Fluid: the organisation's access rule.")
class AccessMode(Enum):
    GROUP = "group"
    ALL_ACTIVE = "all_active"
    ATTRIBUTE = "attribute"


@strawberry.type
class HeldChangesReleased:
    released: int
    access_changes: int


@strawberry.type
class HeldChangesDiscarded:
    discarded: int


@strawberry.type
class ImportRowResult:
    index: int = strawberry.field(description="Position of the row in the input list, from 0.")
    user_name: str
    outcome: str = strawberry.field(description="created, skipped (exists already) or refused.")
    reason: str
    user_id: strawberry.ID | None


@strawberry.type
class ImportReport:
    created: int
    skipped: int
    refused: int
    rows: list[ImportRowResult]


@strawberry.type
class OrganisationCreated:
    organisation: OrganisationSummary


@strawberry.type(description="Where the removal of an organisation stands (a platform record that outlives it).")
class OrganisationRemoval:
    slug: str
    organisation_id: strawberry.ID
    requested_by: str = strawberry.field(description="Who started the removal (admin:<sub> or cli:<login>).")
    requested_at: datetime
    completed: bool = strawberry.field(
        description="Whether nothing of the organisation is left; false: call removeOrganisation again to go on."
    )
    completed_by: str | None
    completed_at: datetime | None
    secrets_destroyed: int = strawberry.field(description="Secrets destroyed in the key vault by this call.")
    rows_deleted: int = strawberry.field(description="Database rows deleted by this call.")

    @classmethod
    def of(cls, report: offboarding.RemovalReport) -> OrganisationRemoval:
        return cls(
            slug=report.slug,
            organisation_id=strawberry.ID(str(report.organisation_id)),
            requested_by=report.requested_by,
            requested_at=report.requested_at,
            completed=report.completed,
            completed_by=report.completed_by,
            completed_at=report.completed_at,
            secrets_destroyed=report.secrets_destroyed,
            rows_deleted=sum(report.rows_deleted.values()),
        )


@strawberry.input
class GroupRoleMappingInput:
    group_name: str
    role: str


@strawberry.input
class AppRoleMappingInput:
    app_role: str
    role: str


@strawberry.input(description='Users this SCIM filter matches get this Fluid role, e.g. department eq "Finance".')
class AttributeRoleMappingInput:
    filter: str
    role: str


@strawberry.input(description="A person who already has a Fluid account, to be matched and adopted by SCIM later.")
class ImportUserInput:
    user_name: str
    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    display_name: str | None = None
    roles: list[str] | None = None
    active: bool | None = None


SetScimSyncEnabledResult = Annotated[Organisation | NotFound | NotAllowed, strawberry.union("SetScimSyncEnabledResult")]
GenerateScimTokenResult = Annotated[GeneratedScimToken | NotAllowed | Unavailable, strawberry.union("GenerateScimTokenResult")]
SetScimTokenResult = Annotated[ScimTokenSet | WeakToken | NotAllowed | Unavailable, strawberry.union("SetScimTokenResult")]
RevokeScimTokenResult = Annotated[ScimTokenRevoked | NotFound | NotAllowed, strawberry.union("RevokeScimTokenResult")]
RevealScimTokenResult = Annotated[
    RevealedScimToken | NotFound | NotAllowed | Unavailable, strawberry.union("RevealScimTokenResult")
]
SetAccessGroupNameResult = Annotated[
    AccessGroup | InvalidInput | Conflict | NotAllowed, strawberry.union("SetAccessGroupNameResult")
]
SetRoleMappingsResult = Annotated[RoleMappingsSet | InvalidInput | NotAllowed, strawberry.union("SetRoleMappingsResult")]
SetAttributeRoleMappingsResult = Annotated[
    RoleMappingsSet | InvalidInput | NotAllowed, strawberry.union("SetAttributeRoleMappingsResult")
]
SetAccessModeResult = Annotated[AccessModeSet | InvalidInput | NotAllowed, strawberry.union("SetAccessModeResult")]
SetDeprovisioningBrakeResult = Annotated[
    DeprovisioningBrake | InvalidInput | NotAllowed, strawberry.union("SetDeprovisioningBrakeResult")
]
ReleaseHeldChangesResult = Annotated[HeldChangesReleased | NotFound | NotAllowed, strawberry.union("ReleaseHeldChangesResult")]
DiscardHeldChangesResult = Annotated[HeldChangesDiscarded | NotFound | NotAllowed, strawberry.union("DiscardHeldChangesResult")]
ImportUsersResult = Annotated[ImportReport | InvalidInput | NotAllowed, strawberry.union("ImportUsersResult")]
CreateOrganisationResult = Annotated[
    OrganisationCreated | InvalidInput | Conflict | NotAllowed, strawberry.union("CreateOrganisationResult")
]

RemoveOrganisationResult = Annotated[
    OrganisationRemoval | InvalidInput | NotFound | Unavailable | NotAllowed, strawberry.union("RemoveOrganisationResult")
]


@strawberry.type
class Mutation(WebhookMutations, AttributeMutations, SetupChecklistMutations):
    @strawberry.mutation(description='The "Disable SCIM User Sync" switch: false refuses SCIM requests (403).')
    def set_scim_sync_enabled(self, info: Info, enabled: bool) -> SetScimSyncEnabledResult:
        def change(organisation: OrganisationModel) -> Organisation:
            return Organisation.of(organisations.set_scim_sync_enabled(slug=organisation.slug, enabled=enabled))

        return as_admin(info, change, NotFound)

    @strawberry.mutation(description="Replace the SCIM token with a new random one; the old one stops at once.")
    def generate_scim_token(self, info: Info) -> GenerateScimTokenResult:
        def change(organisation: OrganisationModel) -> GeneratedScimToken:
            token = scim_tokens.generate_scim_token(organisation=organisation, store=info.context.store)
            return GeneratedScimToken(token=token.reveal(), fingerprint=_fingerprint(info, token))

        return as_admin(info, change, Unavailable)

    @strawberry.mutation(description="Replace the SCIM token with one the admin chose (strength rules apply).")
    def set_scim_token(self, info: Info, token: str) -> SetScimTokenResult:
        def change(organisation: OrganisationModel) -> ScimTokenSet:
            metadata = scim_tokens.set_scim_token(organisation=organisation, token=Secret(token), store=info.context.store)
            return ScimTokenSet(scim_token=ScimTokenMetadata.of(metadata))

        return as_admin(info, change, WeakToken, Unavailable)

    @strawberry.mutation(description="Delete the SCIM token: every request with it is refused from now on.")
    def revoke_scim_token(self, info: Info) -> RevokeScimTokenResult:
        def change(organisation: OrganisationModel) -> ScimTokenRevoked:
            revoked = scim_tokens.revoke_scim_token(organisation=organisation, store=info.context.store)
            return ScimTokenRevoked(fingerprint=revoked.fingerprint)

        return as_admin(info, change, NotFound)

    @strawberry.mutation(description="Read the current SCIM token back (only where FLUID_ADMIN_ALLOW_TOKEN_REVEAL; audited).")
    def reveal_scim_token(self, info: Info) -> RevealScimTokenResult:
        allowed = info.context.settings.admin_allow_token_reveal

        def change(organisation: OrganisationModel) -> RevealedScimToken:
            token = scim_tokens.reveal_scim_token(organisation=organisation, store=info.context.store, allowed=allowed)
            return RevealedScimToken(token=token.reveal(), fingerprint=_fingerprint(info, token))

        return as_admin(info, change, NotFound, Unavailable)

    @strawberry.mutation(description="Rename the access group; its members and the IdP's link to it stay.")
    def set_access_group_name(self, info: Info, name: str) -> SetAccessGroupNameResult:
        def change(organisation: OrganisationModel) -> AccessGroup:
            return AccessGroup.of(access_admin.set_access_group_name(organisation=organisation, name=name))

        return as_admin(info, change, InvalidInput, Conflict)

    @strawberry.mutation(description="Replace the role mappings; groups not in Fluid yet are created.")
    def set_role_mappings(
        self, info: Info, groups: list[GroupRoleMappingInput], app_roles: list[AppRoleMappingInput] | None = None
    ) -> SetRoleMappingsResult:
        def change(organisation: OrganisationModel) -> RoleMappingsSet:
            events = access_admin.set_role_mappings(
                organisation=organisation,
                groups={item.group_name: item.role for item in groups},
                app_roles={item.app_role: item.role for item in app_roles or ()},
            )
            return RoleMappingsSet(role_mappings=RoleMappings.of(organisation), access_changes=len(events))

        return as_admin(info, change, InvalidInput)

    @strawberry.mutation(
        description="Replace the attribute role mappings (SCIM filters over users, in order); group and app-role "
        "mappings stay. Each filter is checked against the User schema first: a bad one changes nothing."
    )
    def set_attribute_role_mappings(
        self, info: Info, mappings: list[AttributeRoleMappingInput]
    ) -> SetAttributeRoleMappingsResult:
        def change(organisation: OrganisationModel) -> RoleMappingsSet:
            events = access_admin.set_attribute_role_mappings(
                organisation=organisation, rules=[(item.filter, item.role) for item in mappings]
            )
            return RoleMappingsSet(role_mappings=RoleMappings.of(organisation), access_changes=len(events))

        return as_admin(info, change, InvalidInput)

    @strawberry.mutation(
        description="Set who may use Fluid: GROUP (active members of the access group), ALL_ACTIVE, or ATTRIBUTE "
        "with a SCIM filter over users (required there, refused otherwise). Removals are subject to the brake."
    )
    def set_access_mode(self, info: Info, mode: AccessMode, filter: str | None = None) -> SetAccessModeResult:
        def change(organisation: OrganisationModel) -> AccessModeSet:
            events = access_admin.set_access_mode(organisation=organisation, mode=mode.value, access_filter=filter)
            return AccessModeSet(organisation=Organisation.of(organisation), access_changes=len(events))

        return as_admin(info, change, InvalidInput)

    @strawberry.mutation(description="Switch the deprovisioning brake and set its thresholds (unset ones stay).")
    def set_deprovisioning_brake(
        self,
        info: Info,
        enabled: bool,
        percent: int | None = None,
        min_removals: int | None = None,
        window_minutes: int | None = None,
    ) -> SetDeprovisioningBrakeResult:
        def change(organisation: OrganisationModel) -> DeprovisioningBrake:
            updated = access_admin.set_brake(
                organisation=organisation,
                enabled=enabled,
                percent=percent,
                min_removals=min_removals,
                window_minutes=window_minutes,
            )
            return DeprovisioningBrake.of(updated)

        return as_admin(info, change, InvalidInput)

    @strawberry.mutation(description="Apply held access removals (the given ones, or all).")
    def release_held_changes(self, info: Info, ids: list[strawberry.ID] | None = None) -> ReleaseHeldChangesResult:

        def change(organisation: OrganisationModel) -> HeldChangesReleased:
            chosen = None if ids is None else [str(item) for item in ids]
            events = access_admin.release_held(organisation=organisation, ids=chosen)
            released = sum(1 for event in events if event.kind == "released")
            return HeldChangesReleased(released=released, access_changes=len(events) - released)

        return as_admin(info, change, NotFound)

    @strawberry.mutation(description="Drop held access removals (the given ones, or all): those users keep access.")
    def discard_held_changes(self, info: Info, ids: list[strawberry.ID] | None = None) -> DiscardHeldChangesResult:

        def change(organisation: OrganisationModel) -> HeldChangesDiscarded:
            chosen = None if ids is None else [str(item) for item in ids]
            return HeldChangesDiscarded(discarded=access_admin.discard_held(organisation=organisation, ids=chosen))

        return as_admin(info, change, NotFound)

    @strawberry.mutation(description=f"Import people who already use Fluid (at most {MAX_IMPORT_ROWS} a call).")
    def import_users(self, info: Info, rows: list[ImportUserInput]) -> ImportUsersResult:
        def change(organisation: OrganisationModel) -> ImportReport | InvalidInput:
            from fluid_scim.services import imports

            if len(rows) > MAX_IMPORT_ROWS:
                return InvalidInput(message=f"at most {MAX_IMPORT_ROWS} rows per call; send the rest in further calls")
            report = imports.import_users(organisation=organisation, rows=[_import_row(row) for row in rows])
            # The service commits row by row and records no summary: the admin's action is recorded here.
            audit.record_outside(organisation, operation="users.imported", status=200, detail=report.summary())
            return ImportReport(
                created=report.created,
                skipped=report.skipped,
                refused=report.refused,
                rows=[
                    ImportRowResult(
                        index=result.row - 2,
                        user_name=result.user_name,
                        outcome=result.outcome,
                        reason=result.reason,
                        user_id=strawberry.ID(result.user_id) if result.user_id else None,
                    )
                    for result in report.results
                ],
            )

        return as_admin(info, change, InvalidInput)

    @strawberry.mutation(description="Create an organisation with its access group (platform operators).")
    def create_organisation(
        self, info: Info, slug: str, name: str | None = None, access_group_name: str | None = None
    ) -> CreateOrganisationResult:
        def change() -> OrganisationCreated:
            created = organisations.create_organisation(slug=slug, name=name, access_group=access_group_name)
            return OrganisationCreated(organisation=OrganisationSummary.of(created))

        return as_operator(info, change, InvalidInput, Conflict)

    @strawberry.mutation(
        description="Remove an organisation for good: its users, groups, history, webhooks and its secrets in the key "
        "vault (platform operators only; confirmSlug repeats the slug). SCIM and its admins are refused from the first "
        f"call. A call deletes at most {REMOVAL_BATCHES_PER_CALL} batches of rows: call again until completed is true; "
        "after a failure, calling again finishes what was begun."
    )
    def remove_organisation(self, info: Info, slug: str, confirm_slug: str) -> RemoveOrganisationResult:
        def change() -> OrganisationRemoval:
            if confirm_slug != slug:
                raise RemovalNotConfirmed("confirmSlug must repeat the slug of the organisation to remove; nothing was removed")
            report = offboarding.remove_organisation(
                slug=slug, store=info.context.store, max_batches=REMOVAL_BATCHES_PER_CALL
            )
            return OrganisationRemoval.of(report)

        return as_operator(info, change, InvalidInput, NotFound, Unavailable)


def _import_row(row: ImportUserInput) -> dict[str, str]:
    values = {
        "userName": row.user_name,
        "email": row.email,
        "givenName": row.given_name,
        "familyName": row.family_name,
        "displayName": row.display_name,
        "roles": ";".join(row.roles) if row.roles is not None else None,
        "active": None if row.active is None else ("true" if row.active else "false"),
    }
    return {key: value for key, value in values.items() if value is not None}


def _fingerprint(info: Info, token: Secret) -> str:
    """The fingerprint stored with the token, worked out from it (the key is cached: no query, no Vault call)."""
    return scim_tokens.token_fingerprint(info.context.store.token_digest_key(), token.reveal())
