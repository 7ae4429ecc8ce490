"""``/graphql``: the Strawberry Flask view behind a credential check.

Every operation needs a valid admin credential (401 otherwise) used through the right host (403
otherwise), whose organisation still exists under its id (401 otherwise: one removed and created
again under the same slug is another organisation), checked before Strawberry parses anything.
Only the GraphiQL page itself, served in development alone, loads without one: the admin pastes
the credential into its headers.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, json, make_response, request
from flask.typing import ResponseReturnValue
from strawberry.flask.views import GraphQLView

from fluid_scim import json_input
from fluid_scim.config import Settings
from fluid_scim.errors import OrganisationNotFound, SecretStoreError
from fluid_scim.models import Organisation
from fluid_scim.secrets import SecretStore
from fluid_scim.services.admin_credentials import organisation_of_credential
from graphql_admin.auth import (
    InvalidAdminToken,
    bearer_credential,
    host_refusal,
    verification_key,
    verify_admin_token,
)
from graphql_admin.context import AdminContext
from graphql_admin.ide import ide_policy
from graphql_admin.schema import build_schema

log = logging.getLogger(__name__)
GRAPHQL_PATH = "/graphql"


#: The deepest nesting of a request body (variables included): the deepest input type, a list of
#: ``ImportUserInput`` objects, sits three levels below the body.
MAX_BODY_DEPTH = 10
#: The most members of one array or object in a request body: ``importUsers`` takes 1,000 rows.
MAX_BODY_ITEMS = 1000


class BodyRefused(Exception):
    """The request body is not JSON, or out of range (numbers, depth, list length)."""


class AdminGraphQLView(GraphQLView[AdminContext, None]):
    """Strawberry's Flask view with Fluid's authentication in front of it."""

    def __init__(self, *, settings: Settings, store: SecretStore, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.store = store

    def dispatch_request(self) -> ResponseReturnValue:
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            return _ide_page(super().dispatch_request())  # the IDE page (development) or 404
        try:
            credential = bearer_credential(request.headers.get("Authorization"))
            key = verification_key(self.settings, self.store)
            claims = verify_admin_token(credential, key=key, settings=self.settings)
        except InvalidAdminToken as exc:
            return _refusal(401, "UNAUTHENTICATED", str(exc))
        except SecretStoreError as exc:
            log.warning("cannot check admin credentials: the key vault is unavailable", extra={"reason": str(exc)})
            return _refusal(503, "UNAVAILABLE", "the key vault is unavailable; try again shortly")
        refused = host_refusal(claims, request.host, self.settings.base_domain)
        if refused is not None:
            return _refusal(403, "FORBIDDEN", refused)
        organisation: Organisation | None = None
        if claims.organisation_id is not None:
            try:
                organisation = organisation_of_credential(organisation_id=claims.organisation_id, slug=claims.organisation)
            except OrganisationNotFound as exc:
                return _refusal(401, "UNAUTHENTICATED", exc.detail)
        g.admin_claims, g.admin_organisation = claims, organisation
        try:
            return super().dispatch_request()
        except BodyRefused as exc:
            return _refusal(400, "BAD_REQUEST", str(exc))

    def decode_json(self, data: str | bytes) -> object:
        """The body, read strictly (:mod:`fluid_scim.json_input`): a body out of range is 400, never a 500."""
        try:
            return json_input.loads(data, max_depth=MAX_BODY_DEPTH, max_items=MAX_BODY_ITEMS)
        except json_input.JsonRefused as exc:
            raise BodyRefused(exc.detail) from None

    def get_context(self, request: Any, response: Any) -> AdminContext:
        context = AdminContext(
            claims=g.admin_claims,
            settings=self.settings,
            store=self.store,
            request_id=getattr(g, "request_id", None),
        )
        if g.admin_organisation is not None:
            context.bind(g.admin_organisation)
        return context


def _ide_page(page: ResponseReturnValue) -> Response:
    response = make_response(page)
    if response.status_code == 200 and response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = ide_policy(response.get_data(as_text=True))
    return response


def _refusal(status: int, code: str, message: str) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    response = Response(json.dumps(body), status=status, content_type="application/json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fluid-scim-admin", error="invalid_token"'
    return response  # Cache-Control: no-store, like every /graphql answer (fluid_scim.web.security_headers)


def register_graphql(app: Flask) -> None:
    """Mount ``/graphql``; load the credential key now, so a later Vault outage does not stop admins."""
    settings: Settings = app.extensions["fluid_settings"]
    store: SecretStore = app.extensions["fluid_secret_store"]
    try:
        verification_key(settings, store)  # RS256: a bad public key stops the start-up (ConfigError)
    except SecretStoreError as exc:
        log.warning("Vault not ready at start-up; admin credentials are checked once it is", extra={"reason": str(exc)})
    view = AdminGraphQLView.as_view(
        "graphql_admin",
        schema=build_schema(settings),
        settings=settings,
        store=store,
        graphql_ide="graphiql" if settings.env == "development" else None,
        allow_queries_via_get=False,
    )
    app.add_url_rule(GRAPHQL_PATH, view_func=view, methods=["GET", "POST"])
