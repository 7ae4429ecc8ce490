"""The typed context every resolver receives: the verified caller and the process's dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field

import strawberry

from fluid_scim.config import Settings
from fluid_scim.errors import OrganisationNotFound
from fluid_scim.models import Organisation
from fluid_scim.secrets import SecretStore
from fluid_scim.services.admin_credentials import organisation_of_credential
from fluid_scim.services.request_context import RequestContext
from graphql_admin.auth import AdminClaims


@dataclass
class AdminContext:
    """One request's caller (``None`` only in tests of refusals) and what resolvers need.

    Built by the view from a verified credential, or directly by tests of resolvers
    (``schema.execute_sync(..., context_value=AdminContext(...))``).
    """

    claims: AdminClaims | None
    settings: Settings
    store: SecretStore
    request_id: str | None = None
    _organisation: Organisation | None = field(default=None, init=False, repr=False)

    @property
    def is_admin(self) -> bool:
        return self.claims is not None and self.claims.is_admin

    @property
    def is_operator(self) -> bool:
        return self.claims is not None and self.claims.platform_operator

    def organisation(self) -> Organisation:
        """The caller's own organisation (the credential's ``org_id``, still named ``org``), loaded once per request.

        Raises :class:`~fluid_scim.errors.OrganisationNotFound` when it does not exist (any more:
        one created again under the same slug is another organisation) or the credential names
        none. There is deliberately no way to name another organisation.
        """
        if self.claims is None:
            raise OrganisationNotFound("no organisation: the request carries no credential")
        if self.claims.organisation_id is None:
            raise OrganisationNotFound("no organisation: the credential names none")
        if self._organisation is None:
            self._organisation = organisation_of_credential(
                organisation_id=self.claims.organisation_id, slug=self.claims.organisation
            )
        return self._organisation

    def bind(self, organisation: Organisation) -> None:
        """Use ``organisation``, already found for this request's credential (the view checks it first)."""
        self._organisation = organisation

    def audit_context(self) -> RequestContext:
        """The context a change of this request runs in: who the provisioning history names for it."""
        actor = self.claims.actor if self.claims is not None else None
        return RequestContext(kind="admin", actor=actor, request_id=self.request_id, method="POST", path="/graphql")


Info = strawberry.Info[AdminContext, None]
