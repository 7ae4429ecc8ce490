"""The one context of a request or admin command: who acts, what they asked, what to record about it.

A SCIM request, a GraphQL mutation and a CLI command each begin a :class:`RequestContext`, and
end it when they finish. Services read it through :func:`current` (the provisioning history
names its actor, the compatibility rules that fired are added to its ``quirks``), so nothing
about the caller is passed down through every use case, and nothing is kept a second time in
``flask.g``. Contexts nest (a test acting as an admin around a SCIM request gets its own back
when the request ends); outside any context :func:`current` answers a fresh admin ``system``
context each time, so nothing accumulates between unrelated calls.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from fluid_scim.patch.budget import WorkBudget


@dataclass
class RequestContext:
    """Who is acting in this request or command, and what has been recorded for it so far."""

    kind: str = "admin"  # "scim" (an identity provider), or "admin" (the GraphQL API, the CLI)
    # scim:<dialect>[:<token fingerprint>] (see scim_actor), admin:<subject>, cli:<login>, or system.
    actor: str | None = "system"
    token_fingerprint: str | None = None
    request_id: str | None = None
    user_agent: str | None = None
    dialect: str | None = None  # "entra", "okta" or "other": which client's tolerances to expect
    method: str | None = None
    path: str | None = None
    # Client tolerances that fired (recorded with the request's events); the pure packages add to it.
    quirks: set[str] = field(default_factory=set)
    # Undeclared attributes the request's changes kept: (path, resource type, JSON kind, resource id),
    # counted for the organisation's admin once the request succeeded (see services.recorder).
    undeclared: list[tuple[str, str, str, str]] = field(default_factory=list)
    # A note the request's own event carries when its changes' events did not survive (a Bulk rollback).
    detail: str | None = None
    # The unique-name query the request ran, when it ran one (its read event describes it).
    lookup: Lookup | None = None
    started: float = field(default_factory=time.perf_counter)
    # Whether an event of this request is written already (so the request itself need not be).
    recorded: bool = False
    # What the request may still spend on values of multi-valued attributes (every PATCH of a Bulk request shares it).
    work: WorkBudget = field(default_factory=WorkBudget)

    def latency_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    def changes_undone(self, detail: str) -> None:
        """The events of this request's changes were rolled back with them: record the request itself."""
        self.recorded = False
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Lookup:
    """A query by a unique name (``userName eq "…"``, ``displayName eq "…"``: Entra's Test Connection,
    its matching of users and groups) and whether it found the resource.

    The request's read event carries it as its detail (:meth:`describe`), and a group it found as
    its resource, so that the set-up checklist (:mod:`fluid_scim.services.setup_checklist`) can
    tell what the identity provider looked for without another write.
    """

    resource_type: str  # "User" or "Group"
    attribute: str  # "userName" or "displayName"
    value: str
    found_id: str | None

    def describe(self) -> str:
        found = "found" if self.found_id is not None else "none found"
        return f"{self.attribute} eq {json.dumps(self.value, ensure_ascii=False)}: {found}"


_LOOKUP = re.compile(r'(userName|displayName) eq (".*"): (found|none found)', re.DOTALL)


def lookup_in(detail: str | None) -> tuple[str, str, bool] | None:
    """(attribute, value, found) of a read event's detail :meth:`Lookup.describe` wrote; None for any other detail."""
    match = _LOOKUP.fullmatch(detail or "")
    if match is None:
        return None
    try:
        value = json.loads(match.group(2))
    except ValueError:  # masked as secret-shaped, or cut to the column's length
        return None
    return (match.group(1), value, match.group(3) == "found") if isinstance(value, str) else None


# Innermost last; a tuple, so that each ``contextvars.Context`` (thread, task) sees only its own.
_stack: ContextVar[tuple[RequestContext, ...]] = ContextVar("fluid_scim_request_context", default=())


def current() -> RequestContext:
    """The innermost context begun and not ended; outside any, a fresh admin ``system`` one."""
    stack = _stack.get()
    return stack[-1] if stack else RequestContext()


def begin(context: RequestContext) -> RequestContext:
    """Make ``context`` the current one until :func:`end` (Flask hooks cannot wrap a ``with`` block)."""
    _stack.set((*_stack.get(), context))
    return context


def end(context: RequestContext) -> None:
    """End ``context``, which must be the current one; the context around it is current again."""
    stack = _stack.get()
    if not stack or stack[-1] is not context:
        raise RuntimeError("request contexts must end in the reverse order they began")
    _stack.set(stack[:-1])


@contextmanager
def acting(context: RequestContext) -> Iterator[RequestContext]:
    """Run a request, a mutation or a command under ``context``."""
    begin(context)
    try:
        yield context
    finally:
        end(context)


def dialect_of(user_agent: str | None, query_string: str = "") -> str:
    """Which identity provider a request comes from, by its User-Agent (Entra also by its ``aadOptscim`` flag)."""
    agent = (user_agent or "").lower()
    if "microsoft" in agent or "azure" in agent or "aadoptscim" in query_string.lower():
        return "entra"
    if "okta" in agent:
        return "okta"
    return "other"


def scim_actor(dialect: str | None, token_fingerprint: str | None = None) -> str:
    """Who acts in a SCIM request: ``scim:<dialect>`` as detected, then ``scim:<dialect>:<fingerprint>``
    once its token is verified (the fingerprint names the token, never reveals it)."""
    detected = f"scim:{dialect or 'other'}"
    return f"{detected}:{token_fingerprint}" if token_fingerprint else detected
