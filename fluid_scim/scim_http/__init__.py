"""The SCIM 2.0 surface under ``/scim/v2``."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from fluid_scim.errors import DomainError, InternalError, MethodNotAllowed, NotFound, ServiceUnavailable
from fluid_scim.scim_http import addressing, bulk, discovery, openapi, rate_limits, recording, resource_views
from fluid_scim.scim_http.auth import authenticate_scim_request
from fluid_scim.scim_http.errors import INTERNAL_DETAIL, answer_for
from fluid_scim.scim_http.responses import scim_error, scim_error_status
from fluid_scim.services import request_context, transaction

log = logging.getLogger(__name__)
SCIM_PREFIX = "/scim/v2"


def create_scim_blueprint() -> Blueprint:
    blueprint = Blueprint("scim", __name__, url_prefix=SCIM_PREFIX)
    # The request's context first: recording.finish_request (an after_request hook, which runs
    # whichever before_request hook refused the request) ends exactly the context begun here.
    # Rate limits are counted in authentication: failures before any database work, an
    # organisation's budget once its token is verified (scim_http/rate_limits.py).
    blueprint.before_request(recording.start_request)
    blueprint.before_request(_reads_without_transaction)
    blueprint.before_request(authenticate_scim_request)
    blueprint.after_request(recording.finish_request)
    blueprint.teardown_request(_end_reads)
    discovery.register(blueprint)
    openapi.register(blueprint)
    resource_views.register(blueprint)
    bulk.register(blueprint)
    return blueprint


def register_scim(app: Flask) -> None:
    """Mount the blueprint and make every error under ``/scim/`` an RFC 7644 error body.

    Routing errors (404, 405) never reach a blueprint's handlers, so the handlers are app-wide and
    answer SCIM JSON only for paths under the SCIM prefix.
    """
    rate_limits.register_rate_limits(app)
    # Before routing: /scim/v2/users and /scim/v2/Users/ reach /Users (recorded as quirks).
    app.wsgi_app = addressing.LenientAddressing(app.wsgi_app)  # type: ignore[method-assign]  # Flask's documented middleware hook
    app.register_blueprint(create_scim_blueprint())

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError) -> Response:
        answer = answer_for(error)
        if answer is None:
            # A failure nobody decided how to answer is a bug: logged with its traceback like one.
            log.error("domain error without a SCIM answer", exc_info=error, extra={"error_type": type(error).__name__})
        elif answer.detail is not None:
            # The caller is told something general; the operators' log keeps what happened.
            log.warning("answered a domain error in general terms", extra={"error_type": type(error).__name__,
                                                                          "reason": error.detail})
        return scim_error(error)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Response | HTTPException:
        if not _is_scim_request():
            return error
        if error.code in (404, 405):
            # Routing failed before the blueprint's hooks ran: a caller still learns nothing
            # about the surface without the organisation's token. Nothing is recorded for such a
            # request, but authentication runs in a context of its own, ended here.
            try:
                with request_context.acting(recording.context_of_request()):
                    authenticate_scim_request()
            except DomainError as refused:
                return scim_error(refused)
        if error.code == 404:
            return scim_error(NotFound(f"there is no SCIM endpoint at {request.path}"))
        if error.code == 405:
            allowed = tuple(sorted(getattr(error, "valid_methods", None) or []))
            return scim_error(MethodNotAllowed(f"{request.method} is not allowed on {request.path}", allowed=allowed))
        return scim_error_status(error.code or 500, error.description or error.name)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def handle_database_down(error: Exception) -> Response | tuple[dict[str, str], int]:
        # Nothing was committed: the transaction that failed is rolled back whole.
        transaction.rollback()
        log.error("database unavailable", extra={"error_type": type(error).__name__})
        if _is_scim_request():
            return scim_error(ServiceUnavailable("the database is unavailable; nothing was changed; retry later"))
        return {"error": "service unavailable"}, 503

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response | tuple[dict[str, str], int]:
        log.exception("unhandled error", extra={"error_type": type(error).__name__})
        if _is_scim_request():
            return scim_error(InternalError(INTERNAL_DETAIL))
        return {"error": "internal server error"}, 500


def _reads_without_transaction() -> None:
    """GET and HEAD write nothing (but, once a minute, a token's last use: one statement)."""
    if request.method in ("GET", "HEAD"):
        transaction.read_only_request()


def _end_reads(_error: BaseException | None) -> None:
    transaction.end_read_only_request()


def _is_scim_request() -> bool:
    return request.path == SCIM_PREFIX or request.path.startswith(SCIM_PREFIX + "/")
