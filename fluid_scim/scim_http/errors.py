"""How the SCIM API answers each domain error: one table of HTTP status, ``scimType`` and headers.

Bodies are RFC 7644 §3.12 Error messages: ``status`` as a string, ``scimType`` where one applies,
``detail``. Headers: ``WWW-Authenticate`` on 401 (RFC 6750 §3), ``Retry-After`` on 429 and 503
(RFC 9110 §10.2.3), ``Allow`` on 405 (RFC 9110 §15.5.6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fluid_scim import errors as domain
from fluid_scim.errors import DomainError, mapping_for
from fluid_scim.text import scrubbed

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
REALM = "fluid-scim"
INTERNAL_DETAIL = "an internal error occurred; it has been logged with this request's id"
_VAULT_DOWN = "a service this needs is unavailable; nothing was changed; retry later"

Headers = Callable[[DomainError], dict[str, str]]


def _no_headers(error: DomainError) -> dict[str, str]:
    return {}


def _challenge(error: DomainError) -> dict[str, str]:
    code = error.bearer_error if isinstance(error, domain.Unauthorized) else None
    return {"WWW-Authenticate": f'Bearer realm="{REALM}"' + (f', error="{code}"' if code else "")}


def _retry_after(error: DomainError) -> dict[str, str]:
    if isinstance(error, domain.ServiceUnavailable | domain.TooManyRequests):
        return {"Retry-After": str(error.retry_after)}
    return {"Retry-After": str(domain.DEFAULT_RETRY_AFTER)}


def _allow(error: DomainError) -> dict[str, str]:
    allowed = error.allowed if isinstance(error, domain.MethodNotAllowed) else ()
    return {"Allow": ", ".join(allowed)} if allowed else {}


@dataclass(frozen=True, slots=True)
class ScimAnswer:
    """The status, ``scimType`` and headers of one kind of error; ``detail`` replaces one meant for operators."""

    status: int
    scim_type: str | None = None
    headers: Headers = _no_headers
    detail: str | None = None


# Every concrete domain error has an entry (tests/unit/test_error_tables.py): a new class must
# decide how it is answered. Classes no SCIM request can meet are mapped all the same, to what they mean.
SCIM_ANSWERS: dict[type[DomainError], ScimAnswer] = {
    domain.InvalidFilter: ScimAnswer(400, "invalidFilter"),
    domain.TooMany: ScimAnswer(400, "tooMany"),
    domain.Uniqueness: ScimAnswer(409, "uniqueness"),
    domain.Mutability: ScimAnswer(400, "mutability"),
    domain.InvalidSyntax: ScimAnswer(400, "invalidSyntax"),
    domain.InvalidPath: ScimAnswer(400, "invalidPath"),
    domain.NoTarget: ScimAnswer(400, "noTarget"),
    domain.InvalidValue: ScimAnswer(400, "invalidValue"),
    domain.InvalidVersion: ScimAnswer(400, "invalidVers"),
    domain.Sensitive: ScimAnswer(400, "sensitive"),
    domain.InvalidCursor: ScimAnswer(400, "invalidCursor"),
    domain.Unauthorized: ScimAnswer(401, headers=_challenge),
    domain.Forbidden: ScimAnswer(403),
    domain.NotFound: ScimAnswer(404),
    domain.MethodNotAllowed: ScimAnswer(405, headers=_allow),
    domain.Conflict: ScimAnswer(409),
    domain.PreconditionFailed: ScimAnswer(412),
    domain.PayloadTooLarge: ScimAnswer(413),
    domain.UnsupportedMediaType: ScimAnswer(415),
    domain.TooManyRequests: ScimAnswer(429, headers=_retry_after),
    domain.InternalError: ScimAnswer(500),
    domain.NotImplementedScim: ScimAnswer(501),
    domain.ServiceUnavailable: ScimAnswer(503, headers=_retry_after),
    domain.OrganisationError: ScimAnswer(400, "invalidValue"),
    domain.OrganisationExists: ScimAnswer(409, "uniqueness"),
    domain.OrganisationNotFound: ScimAnswer(404),
    domain.WeakToken: ScimAnswer(400, "invalidValue"),
    domain.NoScimToken: ScimAnswer(404),
    domain.TokenRevealRefused: ScimAnswer(403),
    domain.ImportFileRefused: ScimAnswer(400, "invalidValue"),
    # The store's details name the Vault address: operators read them in the log, callers do not.
    domain.SecretStoreError: ScimAnswer(503, headers=_retry_after, detail=_VAULT_DOWN),
    # A secret our own rows name is gone: our fault, not the client's.
    domain.SecretNotFound: ScimAnswer(500, detail=INTERNAL_DETAIL),
}


def answer_for(error: DomainError) -> ScimAnswer | None:
    """How ``error`` is answered, or ``None`` for a class without an entry (answered as a bug)."""
    return mapping_for(SCIM_ANSWERS, type(error))


def error_body(status: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    """An RFC 7644 §3.12 Error message."""
    # A detail may quote the caller (an id from the URL, a filter): no control character is echoed or recorded.
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": scrubbed(detail)}
    if scim_type:
        body["scimType"] = scim_type
    return body


@dataclass(frozen=True, slots=True)
class ScimErrorAnswer:
    """One error as the SCIM API answers it."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def scim_error_answer(error: DomainError) -> ScimErrorAnswer:
    """Status, body and headers for ``error``; a class without an entry is answered as an internal error."""
    answer = answer_for(error) or ScimAnswer(500, detail=INTERNAL_DETAIL)
    detail = answer.detail or error.detail
    return ScimErrorAnswer(answer.status, error_body(answer.status, detail, answer.scim_type), answer.headers(error))
