"""SCIM errors (RFC 7644 §3.12): one class per status / ``scimType``, rendered as an Error body."""

from __future__ import annotations

from typing import Any, ClassVar

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_MEDIA_TYPE = "application/scim+json"


class ScimError(Exception):
    """Base of every error the SCIM surface answers; ``detail`` is a sentence a client can act on."""

    status: ClassVar[int] = 400
    scim_type: ClassVar[str | None] = None

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


class InvalidFilter(ScimError):
    """RFC 7644 §3.12: the filter syntax is invalid or the filter names an unsupported attribute."""

    scim_type = "invalidFilter"


class TooMany(ScimError):
    """RFC 7644 §3.12: the query or Bulk request would return or process too many items."""

    scim_type = "tooMany"


class Uniqueness(ScimError):
    """RFC 7644 §3.12: a unique attribute value is already taken (409)."""

    status = 409
    scim_type = "uniqueness"


class Mutability(ScimError):
    """RFC 7644 §3.12: the request tries to change an immutable or read-only attribute."""

    scim_type = "mutability"


class InvalidSyntax(ScimError):
    """RFC 7644 §3.12: the request body is not parsable or violates the schema."""

    scim_type = "invalidSyntax"


class InvalidPath(ScimError):
    """RFC 7644 §3.12: a PATCH ``path`` is invalid."""

    scim_type = "invalidPath"


class NoTarget(ScimError):
    """RFC 7644 §3.12: a PATCH ``path`` matched nothing where a target is required."""

    scim_type = "noTarget"


class InvalidValue(ScimError):
    """RFC 7644 §3.12: a required value is missing or a value is not compatible."""

    scim_type = "invalidValue"


class InvalidVersion(ScimError):
    """RFC 7644 §3.12: the request names a SCIM protocol version we do not serve."""

    scim_type = "invalidVers"


class Sensitive(ScimError):
    """RFC 7644 §3.12: sensitive information (a secret) was sent in the request URI."""

    scim_type = "sensitive"


class Unauthorized(ScimError):
    """RFC 7644 §3.12 (401): the Authorization header is missing or invalid."""

    status = 401

    def __init__(self, detail: str, *, error: str | None = None) -> None:
        # RFC 6750 §3: name the error only when a token was actually presented.
        challenge = 'Bearer realm="fluid-scim"' + (f', error="{error}"' if error else "")
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class Forbidden(ScimError):
    """RFC 7644 §3.12 (403): authenticated, but this operation is not allowed."""

    status = 403


class NotFound(ScimError):
    """RFC 7644 §3.12 (404): the resource or endpoint does not exist."""

    status = 404


class MethodNotAllowed(ScimError):
    """RFC 7644 §3.12 (405 is not listed, but RFC 7231 §6.5.5 applies): wrong method for this endpoint."""

    status = 405


class Conflict(ScimError):
    """409 without a scimType: the request conflicts with the resource's state."""

    status = 409


class PreconditionFailed(ScimError):
    """RFC 7644 §3.14 (412): ``If-Match`` does not match the resource's current version."""

    status = 412


class PayloadTooLarge(ScimError):
    """RFC 7644 §3.7.4 (413): the request body is over the advertised maximum."""

    status = 413


class InternalError(ScimError):
    """500: our fault; the detail never carries a traceback, SQL or a secret."""

    status = 500


class NotImplementedScim(ScimError):
    """RFC 7644 §3.12 (501): the operation is not supported."""

    status = 501


class ServiceUnavailable(ScimError):
    """503: a dependency is down; ``Retry-After`` tells the client when to come back."""

    status = 503

    def __init__(self, detail: str, *, retry_after: int = 30) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
