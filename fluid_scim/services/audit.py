"""Recording provisioning events: who asked for what, what changed, and how it ended.

A change and its event commit together: services call :func:`record` just before they commit,
so the event is part of the same transaction. SCIM requests that change nothing (reads) or fail
are recorded afterwards through :mod:`fluid_scim.services.recorder` (batched, off the request
path); admin actions outside a change use :func:`record_outside`, a short transaction of its own
that never fails the request. Nothing secret is stored: passwords and token-like values are redacted,
and so is anything shaped like a credential in the request attributes a caller controls (user agent,
request id, path, resource id, detail; :mod:`fluid_scim.redaction`).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

from fluid_scim import redaction
from fluid_scim.models import Organisation
from fluid_scim.models.scim import new_id
from fluid_scim.models.types import utcnow
from fluid_scim.redaction import redact_optional
from fluid_scim.repositories import history as history_repo
from fluid_scim.schema import ENTERPRISE_URN
from fluid_scim.services import request_context, transaction
from fluid_scim.services.request_context import RequestContext
from fluid_scim.text import scrubbed

log = logging.getLogger(__name__)
REDACTED = redaction.REDACTED
_SECRET_KEY = re.compile(r"(?i)password|secret|token|credential")
MAX_DETAIL = 2000


def record(
    organisation: Organisation,
    *,
    operation: str,
    resource_type: str | None = None,
    resource_id: str | None = None,
    resource_name: str | None = None,
    changes: list[dict[str, Any]] | None = None,
    status: int = 200,
    detail: str | None = None,
) -> None:
    """Add the event of a change to the current transaction (the caller commits it with the change).

    ``status`` is the one the request answers when the change succeeds: SCIM use cases say theirs
    (201 for a creation, 204 for a deletion); an admin change is a 200. ``resource_name`` is what
    the subject is called now (a userName, a displayName), kept as it was when the row was written.
    """
    context = request_context.current()
    history_repo.add_event(
        event_values(
            organisation.id, context, operation, resource_type, resource_id, changes or [], status, None, detail,
            resource_name=resource_name,
        )
    )
    context.recorded = True


def record_outside(
    organisation: Organisation,
    *,
    operation: str,
    status: int,
    scim_type: str | None = None,
    detail: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
) -> None:
    """Record a read or a refused request in its own short transaction; a failure here is only logged."""
    context = request_context.current()
    try:
        transaction.rollback()
        history_repo.add_event(
            event_values(organisation.id, context, operation, resource_type, resource_id, [], status, scim_type, detail)
        )
        transaction.commit()
        context.recorded = True
    except Exception:
        transaction.rollback()
        log.exception("could not record a provisioning event", extra={"operation": operation})


def event_values(
    organisation_id: uuid.UUID,
    context: RequestContext,
    operation: str,
    resource_type: str | None,
    resource_id: str | None,
    changes: list[dict[str, Any]],
    status: int,
    scim_type: str | None,
    detail: str | None,
    *,
    resource_name: str | None = None,
) -> dict[str, Any]:
    """The column values of one event (an ORM row in a change's transaction, or a row the recorder writes later).

    Every attribute of the request a caller controls is redacted before it is cut to its column.
    """
    return {
        "organisation_id": organisation_id,
        "id": new_id(),
        "created_at": utcnow(),
        "kind": context.kind,
        "actor": _written(context.actor, 255),
        "request_id": _written(context.request_id, 128),
        "user_agent": _written(context.user_agent, 255),
        "token_fingerprint": context.token_fingerprint,
        "dialect": context.dialect,
        "quirks": sorted(context.quirks),
        "method": context.method,
        "path": _written(context.path, 512),
        "resource_type": resource_type,
        "resource_id": _written(resource_id, 36),
        "resource_name": _written(resource_name, 255),
        "operation": operation,
        "status": status,
        "scim_type": scim_type,
        "detail": _written(detail, MAX_DETAIL),
        "latency_ms": context.latency_ms() if context.kind == "scim" else None,
        "changes": [_redact(change) for change in changes],
    }


def _written(text: str | None, limit: int | None = None) -> str | None:
    """What the caller sent, as the history keeps it: None for nothing, cut to ``limit``, and without the
    characters :mod:`fluid_scim.text` refuses (PostgreSQL cannot store a NUL; one would lose the whole batch),
    and with anything shaped like a secret masked (:func:`fluid_scim.redaction.redact_optional`)."""
    masked = redact_optional(text, limit)
    return scrubbed(masked) if masked else None


# -- diffs ---------------------------------------------------------------------------------------


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Attribute-by-attribute changes between two canonical documents (sub-attributes of complex ones)."""
    changes: list[dict[str, Any]] = []
    for path, old, new in _pairs(before, after):
        if old != new:
            changes.append({"path": path, "before": old, "after": new})
    return changes


def membership(added: list[str], removed: list[str]) -> list[dict[str, Any]]:
    return [{"path": "members", "added": sorted(added), "removed": sorted(removed)}] if added or removed else []


def _pairs(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        path = f"{prefix}{key}"
        if key == ENTERPRISE_URN and not prefix:
            yield from _pairs(old or {}, new or {}, prefix=f"{ENTERPRISE_URN}:")
        elif isinstance(old, dict) or isinstance(new, dict):
            for sub in sorted(set(old or {}) | set(new or {})):
                yield f"{path}.{sub}", (old or {}).get(sub), (new or {}).get(sub)
        else:
            yield path, old, new


def _redact(change: dict[str, Any]) -> dict[str, Any]:
    if _SECRET_KEY.search(str(change.get("path", ""))):
        return {**change, **{key: REDACTED for key in ("before", "after") if change.get(key) is not None}}
    return change
