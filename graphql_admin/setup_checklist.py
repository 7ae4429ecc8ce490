"""The set-up checklist in the admin API: the help article's steps, checked off from what Fluid observed.

Query ``setupChecklist`` (the steps, in the article's order) and ``setupChecklistSince`` (when the
admin last restarted it); mutation ``resetSetupChecklist`` (count only what happens from now on; the
provisioning history keeps everything, the restart included).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.permission import BasePermission

from fluid_scim.models import Organisation as OrganisationModel
from fluid_scim.services import setup_checklist
from graphql_admin.context import Info
from graphql_admin.errors import NotAllowed
from graphql_admin.permissions import IsOrganisationAdmin, as_admin, own_organisation

_ADMIN: list[type[BasePermission]] = [IsOrganisationAdmin]
#: The most steps the checklist has (its list's cost bound).
MAX_STEPS = 12


@strawberry.enum(description="DONE: observed as done; PENDING: not observed yet; PROBLEM: observed going wrong.")
class SetupStepState(Enum):
    DONE = setup_checklist.DONE
    PENDING = setup_checklist.PENDING
    PROBLEM = setup_checklist.PROBLEM


@strawberry.type(description="One step of the set-up, as Fluid observed it.")
class SetupStep:
    key: str = strawberry.field(
        description="Stable: sync_enabled, token_set, test_connection, group_create_unchecked, group_delete_unchecked,"
        " attributes_understood, access_group_matched, users_provisioned."
    )
    title: str = strawberry.field(description="The step as the help article names it.")
    state: SetupStepState
    observed_at: datetime | None = strawberry.field(description="When what the message reports was last seen; null: nothing yet.")
    message: str = strawberry.field(description="What happened; for a problem, what to change and where.")

    @classmethod
    def of(cls, step: setup_checklist.Step) -> SetupStep:
        return cls(
            key=step.key,
            title=step.title,
            state=SetupStepState(step.state),
            observed_at=step.observed_at,
            message=step.message,
        )


@strawberry.type(description="The checklist counts only what happens from `since` on; the history keeps everything.")
class SetupChecklistReset:
    since: datetime
    steps: list[SetupStep]


ResetSetupChecklistResult = Annotated[SetupChecklistReset | NotAllowed, strawberry.union("ResetSetupChecklistResult")]


@strawberry.type
class SetupChecklistQueries:
    @strawberry.field(
        permission_classes=_ADMIN,
        description="The help article's set-up steps in order, each checked off from what Fluid observed of the"
        " identity provider's requests (since setupChecklistSince).",
    )
    def setup_checklist(self, info: Info) -> list[SetupStep]:
        return [SetupStep.of(step) for step in setup_checklist.checklist(organisation=own_organisation(info))]

    @strawberry.field(
        permission_classes=_ADMIN,
        description="When the set-up checklist was last restarted (resetSetupChecklist); null: it counts from the start.",
    )
    def setup_checklist_since(self, info: Info) -> datetime | None:
        return own_organisation(info).checklist_since


@strawberry.type
class SetupChecklistMutations:
    @strawberry.mutation(
        description="Restart the set-up checklist (after reconfiguring the identity provider): what was observed before"
        " no longer counts. Recorded in the provisioning history, which keeps everything."
    )
    def reset_setup_checklist(self, info: Info) -> ResetSetupChecklistResult:
        def change(organisation: OrganisationModel) -> SetupChecklistReset:
            since = setup_checklist.restart(organisation=organisation)
            steps = [SetupStep.of(step) for step in setup_checklist.checklist(organisation=organisation)]
            return SetupChecklistReset(since=since, steps=steps)

        return as_admin(info, change)
