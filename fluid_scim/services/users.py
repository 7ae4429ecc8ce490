"""SCIM User use cases: create, read, replace, patch, delete, list. Each ends its own transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fluid_scim.models import Organisation, ScimUser, UserRecord, UserTombstone
from fluid_scim.models.scim import new_id
from fluid_scim.models.types import utcnow
from fluid_scim.patch import Operation, apply_patch
from fluid_scim.repositories import access as access_repo
from fluid_scim.repositories import mapping
from fluid_scim.repositories import scim as repo
from fluid_scim.repositories.mapping import ValueRow
from fluid_scim.schema import FLUID_URN
from fluid_scim.schema.coerce import coerce_resource
from fluid_scim.services import access, audit, directory_schema, managers, outbox, request_context, transaction
from fluid_scim.services.passwords import hash_password
from fluid_scim.services.resource_support import (
    ListQuery,
    Page,
    check_if_match,
    commit_unique,
    existing,
    flush_unique,
    list_resources,
    retry_on_conflict,
    unique,
)


def _taken(document: dict[str, Any]) -> str:
    return f"userName '{document.get('userName')}' is already taken in this organisation (userName is case-insensitive)"


def get_user(*, organisation: Organisation, user_id: str) -> ScimUser:
    return existing(repo.get_user(organisation.id, user_id), f"User {user_id} not found")


def read_user(*, organisation: Organisation, user_id: str) -> UserRecord:
    """A user to show (GET): its record, not an object to change."""
    return existing(repo.user_record(organisation.id, user_id), f"User {user_id} not found")


def create_user(*, organisation: Organisation, body: dict[str, Any]) -> ScimUser:
    """POST: a new user — or an imported one adopted by email, so that nobody is duplicated."""
    quirks = request_context.current().quirks
    resource_type = directory_schema.user_resource(organisation)
    document = coerce_resource(resource_type, body, quirks=quirks)
    imported = _imported_match(organisation, document) if organisation.imports_waiting else None
    if imported is not None:
        quirks.add("adopted-by-email")
        _update(organisation, imported, document, password=document.pop("password", None), reason="user.adopted", status=201)
        return imported
    directory_schema.trim_undeclared(organisation, resource_type, document)
    now = utcnow()
    user = ScimUser(
        organisation_id=organisation.id,
        id=new_id(),
        version=1,
        created_at=now,
        updated_at=now,
        multi_valued={},
        access_granted=False,
        fluid_roles=[],
    )
    rows = _store(organisation, user, document, password=document.pop("password", None))
    request_context.current().work.spend_rows(len(rows), "creating this user")
    with unique(_taken(document)):
        # The userName key's unique index speaks before the value rows are added; with them, whether any
        # report waits for this user as its manager.
        waiting = repo.add_user(user, rows, probe_reports=True)
    if user.custom:
        directory_schema.store_custom_values(resource_type, user, before=None, created=True)
        directory_schema.note_undeclared(organisation, resource_type, document, resource_id=user.id)
    managers.link_reports(organisation, user, waiting=waiting)
    changes = audit.diff({}, document) + _password_change(password_set=user.password_hash is not None)
    audit.record(
        organisation, operation="user.created", resource_type="User", resource_id=user.id, resource_name=user.user_name,
        changes=changes, status=201,
    )
    outbox.emit(organisation, "user.provisioned", user.id, _user_data(user, "user.created"))
    access.grant_on_creation(organisation, user, reason="user.created")  # its access events follow the change
    commit_unique(_taken(document))
    return user


@retry_on_conflict
def replace_user(
    *, organisation: Organisation, user_id: str, body: dict[str, Any], if_match: str | None
) -> ScimUser:
    """PUT (RFC 7644 §3.5.1): readWrite attributes absent from the body are cleared; readOnly ones ignored.

    An absent ``password`` keeps the current one: clearing a credential because a client did not
    echo a write-only attribute it can never read back would lock people out.
    """
    user = get_user(organisation=organisation, user_id=user_id)
    check_if_match(if_match, user.version)
    document = coerce_resource(directory_schema.user_resource(organisation), body, quirks=request_context.current().quirks)
    user.fluid_extension = _mentions_fluid_extension(body)
    _update(organisation, user, document, password=document.pop("password", None), reason="user.replaced", status=200)
    return user


@retry_on_conflict
def patch_user(
    *, organisation: Organisation, user_id: str, operations: list[Operation], if_match: str | None
) -> ScimUser:
    """PATCH (RFC 7644 §3.5.2): all operations apply, or none (the engine works on a copy)."""
    user = get_user(organisation=organisation, user_id=user_id)
    check_if_match(if_match, user.version)
    shown, operations = _fluid_extension_operations(operations, user.fluid_extension)
    quirks = request_context.current().quirks
    resource_type = directory_schema.user_resource(organisation)
    result = apply_patch(
        resource_type, mapping.read_user(user), operations, resource_id=user.id, quirks=quirks,
        budget=request_context.current().work,
    )
    document = dict(result.document)
    password = document.pop("password", None)
    if result.changed or password is not None or _awaiting_adoption(user) or shown != user.fluid_extension:
        user.fluid_extension = shown
        _update(organisation, user, document, password=password, reason="user.patched", status=200)
    return user


def _fluid_extension_operations(operations: list[Operation], shown: bool) -> tuple[bool, list[Operation]]:
    """Take out the operations on the Fluid extension as a whole: they add or remove it from the view.

    Its attributes are read-only (derived by Fluid), so such an operation changes nothing else.
    """
    kept: list[Operation] = []
    for operation in operations:
        if operation.path is not None and operation.path.lower() == FLUID_URN.lower():
            shown = operation.op != "remove"
            continue
        if operation.path is None and isinstance(operation.value, dict):
            if any(key.lower() == FLUID_URN.lower() for key in operation.value):
                shown = True
        kept.append(operation)
    return shown, kept


@retry_on_conflict
def delete_user(*, organisation: Organisation, user_id: str, if_match: str | None) -> None:
    """DELETE (RFC 7644 §3.6): gone from every list and group; later requests for the id are 404."""
    user = get_user(organisation=organisation, user_id=user_id)
    check_if_match(if_match, user.version)
    now = utcnow()
    access_repo.add_tombstone(
        UserTombstone(
            organisation_id=organisation.id,
            user_id=user.id,
            user_name=user.user_name,
            external_id=user.external_id,
            deleted_at=now,
            purge_after=now + timedelta(days=organisation.tombstone_retention_days),
        )
    )
    repo.forget_member_everywhere(organisation.id, user.id)
    repo.clear_manager(organisation.id, user.id)
    audit.record(
        organisation,
        operation="user.deleted",
        resource_type="User",
        resource_id=user.id,
        resource_name=user.user_name,
        changes=[{"path": "userName", "before": user.user_name, "after": None}],
        status=204,
    )
    access.revoke_for_deletion(organisation, user, reason="user.deleted")
    deleted = {"userId": user.id, "userName": user.user_name, "externalId": user.external_id}
    outbox.emit(organisation, "user.deleted", user.id, deleted)
    repo.delete_user(user)
    transaction.commit()


def list_users(*, organisation: Organisation, query: ListQuery) -> Page[UserRecord | ScimUser]:
    """Filter, count, sort and page in the database (RFC 7644 §3.4.2); the users to show, as records."""
    return list_resources(
        ScimUser, directory_schema.user_resource(organisation), organisation_id=organisation.id, query=query, records=True
    )


def _update(
    organisation: Organisation, user: ScimUser, document: dict[str, Any], *, password: str | None, reason: str, status: int
) -> None:
    before, before_custom = user.multi_valued, user.custom
    identifiers = (user.external_id, user.employee_number)  # what a waiting report may name it by, besides its id
    before_document = mapping.read_user(user)
    resource_type = directory_schema.user_resource(organisation)
    directory_schema.trim_undeclared(organisation, resource_type, document, before=before_document)
    rows = _store(organisation, user, document, password=password)
    user.updated_at = utcnow()
    if _awaiting_adoption(user):
        user.linked_at = user.updated_at  # the directory manages this imported user from now on
    flush_unique(_taken(document))
    if reason == "user.adopted" or (user.external_id, user.employee_number) != identifiers:
        managers.link_reports(organisation, user)  # its id was linkable since its creation
    if user.multi_valued != before:
        # Only the attributes whose entries changed: a row is made of its entry alone, so an attribute
        # with the same entries has the same rows (Entra's PATCH of a work e-mail rewrote the phones
        # and addresses too, and every index entry of theirs).
        changed = _changed_attributes(before or {}, user.multi_valued or {})
        rows = [row for row in rows if row["attribute"] in changed]
        request_context.current().work.spend_rows(len(rows), "changing this user")
        repo.replace_user_values(user, rows, attributes=sorted(changed))
    directory_schema.store_custom_values(resource_type, user, before=before_custom)
    directory_schema.note_undeclared(organisation, resource_type, document, resource_id=user.id, before=before_document)
    changes = audit.diff(before_document, mapping.read_user(user)) + _password_change(password_set=password is not None)
    operation = _update_operation(reason, before_document, document)
    audit.record(
        organisation, operation=operation, resource_type="User", resource_id=user.id, resource_name=user.user_name,
        changes=changes, status=status,
    )
    outbox.emit(organisation, "user.updated", user.id, _user_data(user, operation))
    access.recompute(organisation, [user.id], reason=reason)
    commit_unique(_taken(document))


def _changed_attributes(before: dict[str, Any], after: dict[str, Any]) -> frozenset[str]:
    """The multi-valued attributes (``mapping.MULTI_VALUED``) whose entries differ between the two."""
    return frozenset(name for name in mapping.MULTI_VALUED if before.get(name) != after.get(name))


def _update_operation(reason: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    if reason == "user.adopted":
        return "user.adopted"
    was_active, is_active = before.get("active") is not False, after.get("active") is not False
    if was_active and not is_active:
        return "user.deactivated"
    if is_active and not was_active:
        return "user.reactivated"
    return "user.updated"


def _user_data(user: ScimUser, operation: str) -> dict[str, Any]:
    """The outbox's view of a user: identifiers and state, never a credential."""
    return {
        "userId": user.id,
        "userName": user.user_name,
        "externalId": user.external_id,
        "active": user.active is not False,
        "operation": operation,
        # Declared custom attributes and undeclared ones kept, as stored (never a credential).
        "customAttributes": user.custom or {},
    }


def _password_change(*, password_set: bool) -> list[dict[str, Any]]:
    return [{"path": "password", "before": None, "after": audit.REDACTED}] if password_set else []


def _mentions_fluid_extension(body: dict[str, Any]) -> bool:
    declared = body.get("schemas")
    schemas = declared if isinstance(declared, list) else []
    keys = [key for key in body if isinstance(key, str)] + [urn for urn in schemas if isinstance(urn, str)]
    return any(key.lower() == FLUID_URN.lower() for key in keys)


def _awaiting_adoption(user: ScimUser) -> bool:
    return user.origin == "import" and user.linked_at is None


def _imported_match(organisation: Organisation, document: dict[str, Any]) -> ScimUser | None:
    """The documented e-mail fallback: one imported, not yet adopted user with a matching address.

    Only when no user has the userName (that is a 409, which Entra follows with a PATCH of the user
    its own lookup finds) and exactly one imported user matches the userName or an e-mail as an address.
    """
    addresses = {document["userName"].lower()} | {
        email["value"].lower() for email in document.get("emails", []) if isinstance(email.get("value"), str)
    }
    matches = repo.imported_users_with_email(organisation.id, sorted(addresses))
    if len(matches) != 1 or repo.user_exists_with_key(organisation.id, mapping.fold(document["userName"])):
        return None
    return matches[0]


def _store(organisation: Organisation, user: ScimUser, document: dict[str, Any], *, password: str | None) -> list[ValueRow]:
    """Write ``document`` onto ``user``'s columns, resolving the manager; return its value rows."""
    manager_id = managers.manager_for(organisation, user, document)  # before the columns change: no early flush
    if password is not None:
        request_context.current().work.spend_password("setting this user's password")
        user.password_hash = hash_password(password)
    rows = mapping.write_user(user, document)
    user.manager_id = manager_id
    return rows
