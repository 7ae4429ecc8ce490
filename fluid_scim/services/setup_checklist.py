"""The set-up checklist: the help article's steps ("Connect Microsoft Entra ID"), checked off from
what Fluid has observed of the identity provider's requests.

Nothing is written for it on the SCIM request path: every step is worked out when an admin asks,
from what is recorded already (the organisation's settings, its token's metadata, its status row,
its undeclared-attribute sightings and its provisioning history). The read event of a query by a
unique name says what it looked for and whether it found it (``request_context.Lookup``), which is
how Entra's Test Connection and its matching of the access group are recognised. The history reads
are few and bounded: each follows one index and reads at most a few dozen rows
(:mod:`fluid_scim.repositories.setup_checklist`), however long the history.

An admin restarts the checklist (:func:`restart`) after reconfiguring the identity provider: the
organisation's ``checklist_since`` moves to now, and what happened before no longer counts. The
history itself keeps everything, the restart included.

Entra's requests are told apart from Okta's and other clients' by the dialect each event records
(``request_context.dialect_of``); each step says what it looks for in each, or that it does not apply.
"""

from __future__ import annotations

import difflib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fluid_scim.models import Organisation, ProvisioningEvent, ScimToken
from fluid_scim.models.types import utcnow
from fluid_scim.repositories import organisations as organisation_repo
from fluid_scim.repositories import scim as scim_repo
from fluid_scim.repositories import setup_checklist as repo
from fluid_scim.repositories import status as status_repo
from fluid_scim.services import audit, directory_attributes, transaction
from fluid_scim.services.history import MEMBERSHIP_OPERATIONS
from fluid_scim.services.recorder import flush_pending
from fluid_scim.services.request_context import lookup_in

DONE, PENDING, PROBLEM = "done", "pending", "problem"
STATES = (DONE, PENDING, PROBLEM)
WINDOW = 100  # the identity provider's first and latest requests read at most
AROUND = 50  # events of one operation or one resource read at most
COUNT_CAP = 100_000  # counts stop here ("100000 or more")
NAMED = 5  # names listed in a message at most
# The 401 of a wrong token, as its detail reads in the history.
_WRONG_TOKEN = "is not valid for this organisation"  # noqa: S105 (a message, not a secret)
_SYNC_DISABLED = "SCIM sync is disabled"
_ENTRA_USERS = "Provisioning → Mappings → Provision Microsoft Entra ID Users"
_ENTRA_GROUPS = "Provisioning → Mappings → Provision Microsoft Entra ID Groups → Target Object Actions"
_ENTRA_CREDENTIALS = "Provisioning → Admin credentials"


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the article, as observed: ``state`` is one of :data:`STATES`."""

    key: str
    title: str
    state: str
    observed_at: datetime | None  # when what the message reports was last seen (None: nothing yet)
    message: str  # what happened, and for a problem what to change and where


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the steps are worked out from, read once."""

    organisation: Organisation
    since: datetime | None
    token: ScimToken | None
    first: Sequence[ProvisioningEvent]  # the identity provider's first requests since ``since``, oldest first
    latest: Sequence[ProvisioningEvent]  # its latest, newest first
    last_success_at: datetime | None  # the status row's, when after ``since``
    idp: str  # "entra", "okta" or "other": the dialect of the latest authenticated request
    now: datetime

    @property
    def name(self) -> str:
        return {"entra": "Entra", "okta": "Okta"}.get(self.idp, "The identity provider")


# -- the checklist -------------------------------------------------------------------------------


def checklist(*, organisation: Organisation, now: datetime | None = None) -> list[Step]:
    """The article's steps in order, each with its state and a sentence for the admin."""
    seen = _observe(organisation, now or utcnow())
    return [
        _sync_enabled(seen),
        _token_set(seen),
        _test_connection(seen),
        _group_create_unchecked(seen),
        _group_delete_unchecked(seen),
        _attributes_understood(seen),
        _access_group_matched(seen),
        _users_provisioned(seen),
    ]


def restart(*, organisation: Organisation) -> datetime:
    """Count only what happens from now on (the history keeps everything); recorded as ``setup_checklist.restarted``."""
    before, now = organisation.checklist_since, utcnow()
    organisation.checklist_since = now
    audit.record(
        organisation,
        operation="setup_checklist.restarted",
        resource_type="Organisation",
        changes=[{"path": "checklistSince", "before": _iso(before), "after": _iso(now)}],
    )
    transaction.commit()
    return now


def _observe(organisation: Organisation, now: datetime) -> _Seen:
    flush_pending()  # this process's read events and counts not yet written
    since = organisation.checklist_since
    first = repo.requests_in_order(organisation.id, since=since, limit=WINDOW, oldest_first=True)
    latest = repo.requests_in_order(organisation.id, since=since, limit=WINDOW, oldest_first=False)
    status = status_repo.status_row(organisation.id)
    last_success = status.last_success_at if status is not None else None
    if last_success is not None and since is not None and last_success < since:
        last_success = None
    authenticated = [event for event in latest if event.token_fingerprint] or list(latest)
    idp = next((event.dialect for event in authenticated if event.dialect), None) or "other"
    token = organisation_repo.token_of(organisation.id)
    return _Seen(organisation, since, token, first, latest, last_success, idp, now)


# -- 1. "Disable SCIM User Sync" is off ----------------------------------------------------------


def _sync_enabled(seen: _Seen) -> Step:
    title = "“Disable SCIM User Sync” is off"
    organisation = seen.organisation
    if organisation.scim_sync_enabled:
        switched = repo.of_operation(organisation.id, "sync.enabled", since=None, limit=1, kind="admin")
        on_at = switched[0].created_at if switched else organisation.created_at
        return Step("sync_enabled", title, DONE, on_at, "“Disable SCIM User Sync” is off: Fluid accepts SCIM requests.")
    switched = repo.of_operation(organisation.id, "sync.disabled", since=None, limit=1, kind="admin")
    refused = [event for event in seen.latest if _sync_refusal(event)]
    fix = "Switch “Disable SCIM User Sync” off in Fluid's admin console (Authentication Providers → SCIM)."
    if refused:
        return Step(
            "sync_enabled", title, PROBLEM, refused[0].created_at,
            f"{seen.name}'s requests are refused with 403 while “Disable SCIM User Sync” is on"
            f" ({len(refused)} of the latest, the last {_at(refused[0].created_at)}); nothing changes in Fluid. {fix}",
        )
    off_at = switched[0].created_at if switched else None
    return Step(
        "sync_enabled", title, PENDING, off_at,
        f"“Disable SCIM User Sync” is on{_since_text(off_at)}: every SCIM request would be refused with 403. {fix}",
    )


def _sync_refusal(event: ProvisioningEvent) -> bool:
    return event.status == 403 and (event.detail or "").startswith(_SYNC_DISABLED)


# -- 2. a token is saved -------------------------------------------------------------------------


def _token_set(seen: _Seen) -> Step:
    title = "Secret token saved"
    token = seen.token
    if token is None:
        return Step(
            "token_set", title, PENDING, None,
            "No secret token is saved: type one and press Save, or press Generate, under Authentication Providers → SCIM;"
            " then Copy Token into the identity provider.",
        )
    how = "generated" if token.source == "generated" else "entered"
    used = f"; last used {_at(token.last_used_at)}" if token.last_used_at else "; not used yet"
    return Step(
        "token_set", title, DONE, token.created_at,
        f"A token is saved: fingerprint {token.fingerprint}, {how} {_at(token.created_at)}"
        f" ({_age(seen.now - token.created_at)} old){used}.",
    )


# -- 3. Test Connection --------------------------------------------------------------------------


def _test_connection(seen: _Seen) -> Step:
    title = "Test Connection"
    if seen.token is None:
        message = "No token is saved yet, so no connection can succeed: save one first."
        return Step("test_connection", title, PENDING, None, message)
    last_success_at = _last_success(seen)
    refusal = next((event for event in seen.latest if _sync_refusal(event)), None)
    if not seen.organisation.scim_sync_enabled and refusal is not None:
        return Step(
            "test_connection", title, PROBLEM, refusal.created_at,
            f"{seen.name}'s requests arrive with the saved token but are refused (403) while “Disable SCIM User Sync”"
            f" is on (the last {_at(refusal.created_at)}). Switch it off in Fluid, then {_test_again(seen)}.",
        )
    wrong = next((event for event in seen.latest if _wrong_token_refusal(event)), None)
    if wrong is not None and (last_success_at is None or wrong.created_at > last_success_at):
        return _wrong_token(seen, wrong, title)
    if last_success_at is not None:
        return _connected(seen, title, last_success_at)
    return Step(
        "test_connection", title, PENDING, None,
        f"No request from the identity provider{_since_text(seen.since)} yet. {_test_hint(seen)}",
    )


def _last_success(seen: _Seen) -> datetime | None:
    """The identity provider's last successful request: in the latest events, or the status row's."""
    successes = [event.created_at for event in seen.latest if event.token_fingerprint and event.status < 400][:1]
    return max([*successes, *([seen.last_success_at] if seen.last_success_at else [])], default=None)


def _wrong_token_refusal(event: ProvisioningEvent) -> bool:
    return event.status == 401 and _WRONG_TOKEN in (event.detail or "")


def _wrong_token(seen: _Seen, wrong: ProvisioningEvent, title: str) -> Step:
    assert seen.token is not None
    who = {"entra": "Entra", "okta": "Okta"}.get(wrong.dialect or "", "The identity provider")
    changed = f"The saved token (fingerprint {seen.token.fingerprint}) was set {_at(seen.token.created_at)}"
    if wrong.created_at < seen.token.created_at:
        return Step(
            "test_connection", title, PENDING, wrong.created_at,
            f"{who}'s last request, {_at(wrong.created_at)}, had a token that was not the saved one. {changed}, after it:"
            f" waiting for a request with the new token. {_test_hint(seen)}",
        )
    return Step(
        "test_connection", title, PROBLEM, wrong.created_at,
        f"{who}'s requests arrive with a token that does not match the saved one (refused with 401, the last"
        f" {_at(wrong.created_at)}). {changed}; a token copied before then no longer works. In Fluid, Generate (or type"
        f" and Save) a token and Copy Token; {_paste_hint(wrong.dialect or seen.idp)}",
    )


def _connected(seen: _Seen, title: str, last_success_at: datetime) -> Step:
    if seen.idp == "entra":
        test = next((event for event in seen.first if _entra_test(event)), None)
        if test is not None:
            return Step(
                "test_connection", title, DONE, test.created_at,
                f"Entra's Test Connection arrived {_at(test.created_at)} and succeeded (it looked up a random userName"
                " with the saved token).",
            )
        return Step(
            "test_connection", title, DONE, last_success_at,
            f"Entra's requests succeed with the saved token (the last {_at(last_success_at)}); its Test Connection"
            " itself was not among the first requests observed.",
        )
    first = next((event for event in seen.first if event.token_fingerprint and event.status < 400), None)
    at = first.created_at if first is not None else last_success_at
    what = f" ({first.method} {first.path})" if first is not None and first.method else ""
    if seen.idp == "okta":
        lead, note = "Okta's first authenticated request (its “Test API Credentials”)", ""
    else:
        lead = "The identity provider's first authenticated request"
        note = " It is not Entra (whose Test Connection Fluid recognises): its first request stands for the test."
    return Step("test_connection", title, DONE, at, f"{lead}{what} arrived {_at(at)} and succeeded.{note}")


def _entra_test(event: ProvisioningEvent) -> bool:
    """Entra's Test Connection: a successful ``userName eq "<random>"`` query that found nobody."""
    lookup = lookup_in(event.detail)
    return (
        event.dialect == "entra" and event.status < 400 and lookup is not None and lookup[0] == "userName" and not lookup[2]
    )


def _test_hint(seen: _Seen) -> str:
    if seen.idp == "okta":
        return (
            "In Okta: the application's Provisioning → Integration, enter the base URL and API token, then Test API"
            " Credentials."
        )
    return (
        f"In Entra: the application's {_ENTRA_CREDENTIALS}, enter the Tenant URL and Secret Token, then press Test Connection"
        " (other identity providers: their first request counts)."
    )


def _test_again(seen: _Seen) -> str:
    return "press Test Connection in Entra again" if seen.idp != "okta" else "Test API Credentials in Okta again"


def _paste_hint(dialect: str) -> str:
    if dialect == "okta":
        return "paste it as the API token in Okta's Provisioning → Integration, then Test API Credentials."
    return f"paste it into Entra's Secret Token ({_ENTRA_CREDENTIALS}), then Test Connection and Save."


# -- 4. group mappings: Create and Delete unchecked ----------------------------------------------


def _refused(seen: _Seen, operation: str) -> list[ProvisioningEvent]:
    """The latest refused requests of one operation (a request's intent: ``group.create``, ``user.create``)."""
    events = repo.of_operation(seen.organisation.id, operation, since=seen.since, limit=AROUND)
    return [event for event in events if event.status >= 400]


def _group_traffic(seen: _Seen) -> bool:
    """Whether the identity provider has dealt with groups: found one, or changed one (a lookup that found
    nothing, such as Test Connection's of a random name, or a plain list, does not count)."""
    return _last_group_event(seen) is not None or any(_with_group(event) for event in seen.first)


def _with_group(event: ProvisioningEvent) -> bool:
    return event.resource_type == "Group" and event.status < 400 and (event.method != "GET" or event.resource_id is not None)


def _group_create_unchecked(seen: _Seen) -> Step:
    title = "Group mapping: Create unchecked"
    organisation = seen.organisation
    created = repo.of_operation(organisation.id, "group.created", since=seen.since, limit=AROUND)
    tried = _refused(seen, "group.create")
    if created or tried:
        count = repo.count_of_operation(organisation.id, "group.created", since=seen.since, cap=COUNT_CAP) if created else 0
        names = _names(event_name(event, "after") for event in created)
        last = max([event.created_at for event in (*created[:1], *tried[:1])])
        did = f"created {count} group(s) here ({names})" if created else ""
        refused = f"tried to create groups that were refused ({tried[0].status}: {tried[0].detail})" if tried else ""
        return Step(
            "group_create_unchecked", title, PROBLEM, last,
            f"{seen.name} {' and '.join(part for part in (did, refused) if part)}, the last {_at(last)}."
            f" {_create_fix(seen.idp)}",
        )
    if _group_traffic(seen):
        return Step(
            "group_create_unchecked", title, DONE, _last_group_event(seen),
            f"{seen.name} works with groups and has created none{_since_text(seen.since)}.",
        )
    return Step(
        "group_create_unchecked", title, PENDING, None,
        f"No group request yet. {_create_fix(seen.idp, observed=False)}",
    )


def _create_fix(idp: str, *, observed: bool = True) -> str:
    if idp == "okta":
        return (
            "In Okta, Push Groups creates a group unless it is linked: push the directory group by linking it to Fluid's"
            " existing group (“Link Group”) instead."
        )
    entra = f"In Entra: {_ENTRA_GROUPS}, uncheck Create (keep Update), Save."
    if idp == "other":
        return (
            "Fluid expects the identity provider to update the groups it has, not to create them: turn group creation"
            f" off. {entra}"
        )
    return f"Create is still checked in Entra's group mapping. {entra}" if observed else entra


def _group_delete_unchecked(seen: _Seen) -> Step:
    title = "Group mapping: Delete unchecked"
    organisation = seen.organisation
    deleted = repo.of_operation(organisation.id, "group.deleted", since=seen.since, limit=AROUND)
    tried = _refused(seen, "group.delete")
    if deleted or tried:
        last = max([event.created_at for event in (*deleted[:1], *tried[:1])])
        parts = []
        if deleted:
            names = _names(event_name(event, "before") for event in deleted)
            parts.append(f"deleted {len(deleted)}{'+' if len(deleted) == AROUND else ''} group(s) ({names})")
        if tried:
            parts.append(f"tried to delete groups Fluid refused to delete ({tried[0].status}: {tried[0].detail})")
        return Step(
            "group_delete_unchecked", title, PROBLEM, last,
            f"{seen.name} {' and '.join(parts)}, the last {_at(last)}. {_delete_fix(seen.idp)}",
        )
    if _group_traffic(seen):
        return Step(
            "group_delete_unchecked", title, DONE, _last_group_event(seen),
            f"{seen.name} works with groups and has tried to delete none{_since_text(seen.since)}.",
        )
    message = f"No group request yet. {_delete_fix(seen.idp, observed=False)}"
    return Step("group_delete_unchecked", title, PENDING, None, message)


def _delete_fix(idp: str, *, observed: bool = True) -> str:
    if idp == "okta":
        return "In Okta, unlinking a pushed group asks whether to delete it in the app: choose to keep it."
    entra = f"In Entra: {_ENTRA_GROUPS}, uncheck Delete (keep Update), Save."
    if idp == "other":
        return f"Fluid expects the identity provider to leave its groups in place: turn group deletion off. {entra}"
    return f"Delete is still checked in Entra's group mapping. {entra}" if observed else entra


def _last_group_event(seen: _Seen) -> datetime | None:
    return next((event.created_at for event in seen.latest if _with_group(event)), None)


def event_name(event: ProvisioningEvent, side: str) -> str:
    """The displayName a group event's changes name (``after`` for a creation, ``before`` for a deletion)."""
    for change in event.changes or ():
        if change.get("path") == "displayName" and isinstance(change.get(side), str):
            return str(change[side])
    return event.resource_id or "?"


# -- 5. default attribute mappings ---------------------------------------------------------------


def _attributes_understood(seen: _Seen) -> Step:
    title = "Default attribute mappings kept"
    organisation = seen.organisation
    sighted = [
        item
        for item in directory_attributes.undeclared(organisation=organisation, limit=20)
        if seen.since is None or item.last_seen_at >= seen.since
    ]
    if sighted:
        policy = {
            "keep": "Fluid keeps them as received",
            "ignore": "Fluid drops them",
            "reject": "requests carrying them are refused (400)",
        }.get(organisation.undeclared_policy, "")
        where = f"remove their mappings in Entra ({_ENTRA_USERS})"
        if seen.idp == "okta":
            where = "remove them from Okta's attribute mappings"
        return Step(
            "attributes_understood", title, PROBLEM, sighted[0].last_seen_at,
            f"{seen.name} sends {len(sighted)} attribute(s) Fluid does not know: {_names(item.path for item in sighted)}"
            f" (the last {_at(sighted[0].last_seen_at)}); {policy}. Declare them under Directory attributes, or {where}.",
        )
    sent = next((event.created_at for event in (*seen.latest, *reversed(seen.first)) if _user_sent(event)), None)
    if sent is not None:
        return Step(
            "attributes_understood", title, DONE, sent,
            f"Every attribute {seen.name} has sent is standard or declared.",
        )
    return Step(
        "attributes_understood", title, PENDING, None,
        "No user has been sent yet: keep the default attribute mappings (userName ← userPrincipalName as the"
        " matching attribute).",
    )


def _user_sent(event: ProvisioningEvent) -> bool:
    return event.resource_type == "User" and event.method in ("POST", "PUT", "PATCH") and event.status < 400


# -- 6. the access group -------------------------------------------------------------------------


def _access_group_matched(seen: _Seen) -> Step:
    title = "Users put into the access group"
    organisation = seen.organisation
    if organisation.access_mode != "group":
        return _not_by_group(organisation)
    group = scim_repo.get_group(organisation.id, organisation.access_group_id or "")
    if group is None:
        message = "The organisation has no access group: name one under Access and roles."
        return Step("access_group_matched", title, PROBLEM, None, message)
    name = group.display_name or ""
    about = repo.about_resource(organisation.id, group.id, since=seen.since, limit=AROUND)
    matched = [event for event in about if event.kind == "scim" and event.status < 400]
    added = [event for event in matched if event.operation in MEMBERSHIP_OPERATIONS and _adds(event)]
    if added:
        count = sum(_added(event) for event in added)
        return Step(
            "access_group_matched", title, DONE, added[0].created_at,
            f"{seen.name} matched the access group {json.dumps(name)} and added {count} member(s),"
            f" the last {_at(added[0].created_at)}.",
        )
    if matched:
        return Step(
            "access_group_matched", title, PENDING, matched[0].created_at,
            f"{seen.name} found the access group {json.dumps(name)} ({_at(matched[0].created_at)}) but has added no member yet:"
            f" put the users who should use Fluid into the directory group {json.dumps(name)} and assign it to the application.",
        )
    return _access_group_missed(seen, name)


def _not_by_group(organisation: Organisation) -> Step:
    rule = "every active user" if organisation.access_mode == "all_active" else "every active user the access filter matches"
    return Step(
        "access_group_matched", "Users put into the access group", DONE, None,
        f"Not needed here: access is given to {rule}, not to the members of a group.",
    )


def _adds(event: ProvisioningEvent) -> bool:
    return _added(event) > 0


def _added(event: ProvisioningEvent) -> int:
    return sum(len(change.get("added") or ()) for change in event.changes or ())


def _random_name(name: str) -> bool:
    """A GUID: the name Entra's Test Connection looks a group up by, which is meant to find nothing."""
    try:
        uuid.UUID(name)
    except ValueError:
        return False
    return len(name) in (32, 36)


def _access_group_missed(seen: _Seen, name: str) -> Step:
    title = "Users put into the access group"
    misses: dict[str, datetime] = {}
    for operation in ("groups.list", "groups.search"):
        for event in repo.of_operation(seen.organisation.id, operation, since=seen.since, limit=AROUND):
            lookup = lookup_in(event.detail) if event.status < 400 else None
            if lookup is not None and lookup[0] == "displayName" and not lookup[2] and not _random_name(lookup[1]):
                misses.setdefault(lookup[1], event.created_at)
    if misses:
        near = sorted(misses, key=lambda missed: -difflib.SequenceMatcher(None, missed.casefold(), name.casefold()).ratio())
        last = max(misses.values())
        return Step(
            "access_group_matched", title, PROBLEM, last,
            f"{seen.name} looked for groups named {_names(json.dumps(missed) for missed in near)}, which did not exist"
            " here"
            f" (the last {_at(last)}); Fluid's access group is named {json.dumps(name)}. Name the directory group"
            f" {json.dumps(name)}, or rename Fluid's access group under Access and roles to the directory group's name.",
        )
    if seen.idp == "okta":
        hint = f"In Okta, push the directory group and link it to Fluid's {json.dumps(name)} (Push Groups)."
    else:
        hint = (
            f"Put the users into the directory group {json.dumps(name)} and assign it to the application;"
            " Entra looks it up by name."
        )
    message = f"The access group {json.dumps(name)} has not been matched yet. {hint}"
    return Step("access_group_matched", title, PENDING, None, message)


# -- 7. the first users --------------------------------------------------------------------------


def _users_provisioned(seen: _Seen) -> Step:
    title = "First users provisioned"
    organisation = seen.organisation
    counts, first, last = {}, [], []
    for operation in ("user.created", "user.adopted"):
        newest = repo.of_operation(organisation.id, operation, since=seen.since, limit=1)
        counts[operation] = repo.count_of_operation(organisation.id, operation, since=seen.since, cap=COUNT_CAP) if newest else 0
        if newest:
            last.append(newest[0].created_at)
            oldest = repo.of_operation(organisation.id, operation, since=seen.since, limit=1, oldest_first=True)
            first += [event.created_at for event in oldest]
    if last:
        return Step(
            "users_provisioned", title, DONE, max(last),
            f"{seen.name} created {_count(counts['user.created'])} user(s) and adopted {_count(counts['user.adopted'])}"
            f" existing one(s): the first {_at(min(first))}, the last {_at(max(last))}.",
        )
    failed = _refused(seen, "user.create")
    if failed:
        return Step(
            "users_provisioned", title, PROBLEM, failed[0].created_at,
            f"{seen.name} tried to create users but Fluid refused them (the last {_at(failed[0].created_at)}:"
            f" {failed[0].status} {failed[0].detail}). Correct what the detail names; the help article's"
            " “Provisioning-log errors” table says where.",
        )
    where = "assign people to the application in Okta" if seen.idp == "okta" else (
        "in Entra, assign the users or the access group to the application (Users and groups) and set Provisioning Status On"
    )
    message = f"No user has been created or adopted{_since_text(seen.since)} yet: {where}."
    return Step("users_provisioned", title, PENDING, None, message)


# -- wording -------------------------------------------------------------------------------------


def _at(moment: datetime | None) -> str:
    return "never" if moment is None else f"at {moment.strftime('%Y-%m-%d %H:%M:%S')} UTC"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _since_text(since: datetime | None) -> str:
    return "" if since is None else f" since {since.strftime('%Y-%m-%d %H:%M:%S')} UTC"


def _age(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            value = seconds // size
            return f"{value} {unit}{'s' if value != 1 else ''}"
    return "less than a minute"


def _count(number: int) -> str:
    return f"{COUNT_CAP} or more" if number >= COUNT_CAP else str(number)


def _names(names: Iterable[str]) -> str:
    listed = list(dict.fromkeys(names))
    shown = ", ".join(listed[:NAMED])
    return shown + (f" and {len(listed) - NAMED} more" if len(listed) > NAMED else "")
