"""Read-only fields: thin resolvers over the services, always scoped to the caller's organisation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import strawberry
from strawberry.permission import BasePermission

from fluid_scim.errors import InvalidFilter, InvalidValue, NotFound
from fluid_scim.services import access_admin, organisations, provisioning_status
from fluid_scim.services import search as search_service
from fluid_scim.services import users as user_service
from graphql_admin.attributes import AttributeQueries
from graphql_admin.context import Info
from graphql_admin.directory import (
    EventKind,
    EventOutcome,
    Group,
    HeldChangeStatus,
    HeldDeprovisioning,
    ProvisioningEvent,
    User,
    search_text,
)
from graphql_admin.errors import BadInputError, ForbiddenError
from graphql_admin.pagination import Connection, connection, decode_offset, offset_connection, page_connection, page_size
from graphql_admin.permissions import IsOrganisationAdmin, IsPlatformOperator, own_organisation
from graphql_admin.setup_checklist import SetupChecklistQueries
from graphql_admin.types import Organisation, OrganisationSummary, ProvisioningStatus, Viewer
from graphql_admin.webhooks import WebhookQueries

T = TypeVar("T")
_ADMIN: list[type[BasePermission]] = [IsOrganisationAdmin]
_OPERATOR: list[type[BasePermission]] = [IsPlatformOperator]


@strawberry.type
class Query(WebhookQueries, AttributeQueries, SetupChecklistQueries):
    @strawberry.field(description="Who is calling (the verified credential); needs no role.")
    def viewer(self, info: Info) -> Viewer:
        claims = info.context.claims
        if claims is None:
            raise ForbiddenError("no credential")
        return Viewer(
            subject=claims.subject,
            organisation=claims.organisation,
            roles=list(claims.roles),
            is_admin=claims.is_admin,
            is_platform_operator=claims.platform_operator,
            expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
        )

    @strawberry.field(permission_classes=_ADMIN, description="The caller's organisation.")
    def organisation(self, info: Info) -> Organisation:
        return Organisation.of(own_organisation(info))

    @strawberry.field(permission_classes=_ADMIN)
    def provisioning_status(self, info: Info) -> ProvisioningStatus:
        return ProvisioningStatus.of(provisioning_status.status_of(organisation=own_organisation(info)))

    @strawberry.field(permission_classes=_ADMIN, description="Users by userName; search looks in userName, displayName, e-mail.")
    def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
        has_access: bool | None = None,
        active: bool | None = None,
    ) -> Connection[User]:
        organisation = own_organisation(info)
        size, offset = page_size(first, info.context.settings), decode_offset(after)
        text = search_text(search)
        page = _listing(
            lambda: search_service.find_users(
                organisation=organisation, text=text, has_access=has_access, active=active, start_index=offset + 1, count=size
            )
        )
        nodes = [User.of(user) for user in page.items]
        return offset_connection(nodes, offset=offset, has_next=offset + len(nodes) < page.total)

    @strawberry.field(permission_classes=_ADMIN, description="One user of the organisation; null when there is none.")
    def user(self, info: Info, id: strawberry.ID) -> User | None:
        try:
            return User.of(user_service.get_user(organisation=own_organisation(info), user_id=str(id)))
        except NotFound:
            return None

    @strawberry.field(permission_classes=_ADMIN, description="Groups by displayName.")
    def groups(
        self, info: Info, first: int | None = None, after: str | None = None, search: str | None = None
    ) -> Connection[Group]:
        organisation = own_organisation(info)
        size, offset = page_size(first, info.context.settings), decode_offset(after)
        text = search_text(search)
        page = _listing(
            lambda: search_service.find_groups(organisation=organisation, text=text, start_index=offset + 1, count=size)
        )
        nodes = [Group.of(group, organisation.access_group_id) for group in page.items]
        return offset_connection(nodes, offset=offset, has_next=offset + len(nodes) < page.total)

    @strawberry.field(permission_classes=_ADMIN, description="The provisioning history, newest first.")
    def provisioning_events(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        outcome: EventOutcome | None = None,
        operation: str | None = None,
        resource_id: str | None = None,
        user_id: str | None = None,
        kind: EventKind | None = None,
    ) -> Connection[ProvisioningEvent]:
        from fluid_scim.services import history

        organisation = own_organisation(info)
        page = _listing(
            lambda: history.list_events(
                organisation=organisation,
                since=since,
                until=until,
                outcome=outcome.value if outcome else None,
                operation=operation,
                resource_id=resource_id,
                user_id=user_id,
                kind=kind.value if kind else None,
                after=after,
                limit=page_size(first, info.context.settings),
            )
        )
        cursors = [history.encode_cursor(event.created_at, event.id) for event in page.events]
        nodes = [ProvisioningEvent.of(event) for event in page.events]
        return connection(nodes, cursors, has_next=page.next_cursor is not None, has_previous=after is not None)

    @strawberry.field(permission_classes=_ADMIN, description="Access removals the deprovisioning brake holds (or decided ones).")
    def held_deprovisionings(
        self, info: Info, first: int | None = None, after: str | None = None, status: HeldChangeStatus = HeldChangeStatus.HELD
    ) -> Connection[HeldDeprovisioning]:
        size, offset = page_size(first, info.context.settings), decode_offset(after)
        held = access_admin.held_changes(organisation=own_organisation(info), status=status.value, offset=offset, limit=size + 1)
        return page_connection([HeldDeprovisioning.of(change) for change in held], offset=offset, size=size)

    @strawberry.field(permission_classes=_OPERATOR, description="Every organisation, by slug (platform operators).")
    def organisations(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[OrganisationSummary]:
        size, offset = page_size(first, info.context.settings), decode_offset(after)
        summaries = [OrganisationSummary.of(item) for item in organisations.list_organisations(offset=offset, limit=size + 1)]
        return page_connection(summaries, offset=offset, size=size)


def _listing(run: Callable[[], T]) -> T:
    """Turn a service's complaint about the caller's arguments (a bad cursor, date or filter) into BAD_USER_INPUT."""
    try:
        return run()
    except (InvalidValue, InvalidFilter) as exc:
        raise BadInputError(exc.detail) from None
