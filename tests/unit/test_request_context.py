"""fluid_scim.services.request_context: one context per request or command, nested, never outliving it."""

from __future__ import annotations

import threading

import pytest

from fluid_scim.services import request_context
from fluid_scim.services.request_context import RequestContext


def test_outside_any_context_each_call_gets_a_fresh_admin_system_context():
    first = request_context.current()
    first.quirks.add("op-case")
    first.recorded = True
    second = request_context.current()
    assert second is not first
    assert (second.kind, second.actor, second.quirks, second.recorded) == ("admin", "system", set(), False)


def test_contexts_nest_and_each_end_restores_the_one_around_it():
    outer, inner = RequestContext(kind="admin", actor="cli:ops"), RequestContext(kind="scim", actor=None)
    request_context.begin(outer)
    try:
        assert request_context.current() is outer
        request_context.begin(inner)
        assert request_context.current() is inner
        request_context.end(inner)
        assert request_context.current() is outer
    finally:
        request_context.end(outer)
    assert request_context.current() not in (outer, inner)


def test_ending_a_context_that_is_not_the_current_one_is_refused():
    outer, inner = RequestContext(actor="outer"), RequestContext(actor="inner")
    with request_context.acting(outer):
        request_context.begin(inner)
        with pytest.raises(RuntimeError):
            request_context.end(outer)
        assert request_context.current() is inner
        request_context.end(inner)
    with pytest.raises(RuntimeError):
        request_context.end(outer)  # already ended


def test_acting_ends_the_context_when_the_block_fails():
    context = RequestContext(actor="failing")
    with pytest.raises(ValueError), request_context.acting(context):
        raise ValueError("boom")
    assert request_context.current() is not context


def test_quirks_and_detail_of_one_request_do_not_reach_the_next():
    with request_context.acting(RequestContext(kind="scim")) as first:
        request_context.current().quirks.add("op-case")
        request_context.current().changes_undone("rolled back: Operations[1]: no")
    with request_context.acting(RequestContext(kind="scim")) as second:
        assert request_context.current() is second
        assert (second.quirks, second.detail, second.recorded) == (set(), None, False)
    assert (first.quirks, first.detail, first.recorded) == ({"op-case"}, "rolled back: Operations[1]: no", False)


def test_a_context_is_current_only_in_the_thread_that_began_it():
    seen: list[RequestContext] = []
    with request_context.acting(RequestContext(actor="this thread")) as mine:
        thread = threading.Thread(target=lambda: seen.append(request_context.current()))
        thread.start()
        thread.join()
    assert seen and seen[0] is not mine and seen[0].actor == "system"


def test_changes_undone_asks_for_the_request_itself_to_be_recorded():
    context = RequestContext(kind="scim", recorded=True)
    context.changes_undone("rolled back: Operations[0]: taken")
    assert (context.recorded, context.detail) == (False, "rolled back: Operations[0]: taken")


@pytest.mark.parametrize(
    ("user_agent", "query", "dialect"),
    [
        ("Microsoft.Identity.Provisioning", "", "entra"),
        ("Azure AD", "", "entra"),
        (None, "aadOptscim062020", "entra"),
        ("Okta SCIM Client 1.0.0", "", "okta"),
        ("curl/8", "", "other"),
        (None, "", "other"),
    ],
)
def test_dialect_of(user_agent, query, dialect):
    assert request_context.dialect_of(user_agent, query) == dialect
