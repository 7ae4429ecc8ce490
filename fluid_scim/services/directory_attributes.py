"""An organisation's directory attributes, as its admin manages them: declare, retype, remove; the
undeclared-attribute policy; the attributes its directory sends that Fluid does not know.

Every change runs in one transaction with its history record and commits (or changes nothing).
Stored values are never lost silently:

* Declaring a path that users already hold (as undeclared values) converts those values to the
  type; when some do not fit, nothing changes and the answer says how many and for whom, unless the
  admin asks to drop them — each dropped value is then recorded in the user's history.
* Retyping works the same way.
* Removing a declaration keeps the values as undeclared ones (listed again for the admin) unless the
  admin asks to delete them — each deletion recorded in the user's history.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from fluid_scim.errors import Conflict, InvalidValue, NotFound
from fluid_scim.models import AttributeDeclaration, Organisation, ScimUser, UndeclaredAttribute
from fluid_scim.models.types import utcnow
from fluid_scim.repositories import directory as repo
from fluid_scim.repositories import mapping
from fluid_scim.schema import Attribute
from fluid_scim.schema.coerce import coerce_attribute
from fluid_scim.schema.custom import (
    POLICIES,
    Declaration,
    check_declaration,
    declared_attributes,
    json_kind,
    path_key,
    user_resource_type,
)
from fluid_scim.services import access, audit, recorder, transaction
from fluid_scim.text import check_text

#: Most attributes one organisation may declare.
DECLARATIONS_PER_ORGANISATION = 100
_BATCH = 500


@dataclass(frozen=True, slots=True)
class Spec:
    """What an admin declares: the path and the attribute's characteristics (RFC 7643 §2.2)."""

    path: str
    type: str = "string"
    multi_valued: bool = False
    case_exact: bool = False
    description: str = ""


@dataclass(slots=True)
class StoredValues:
    """What a declaration change did to the values users hold at its path."""

    converted: int = 0
    dropped: int = 0
    mismatched: int = 0
    examples: list[str] = field(default_factory=list)  # userNames of users whose value does not fit


def split_path(path: str) -> tuple[str, str]:
    """``urn:…:User:attr`` -> (``urn:…:User``, ``attr``); a plain name -> ("", name)."""
    path = path.strip()
    if path.lower().startswith("urn:"):
        urn, _, name = path.rpartition(":")
        return urn, name
    return "", path


def declarations(*, organisation: Organisation) -> Sequence[AttributeDeclaration]:
    return repo.declarations(organisation.id)


def undeclared(*, organisation: Organisation, limit: int = 100) -> Sequence[UndeclaredAttribute]:
    """"Attributes your directory sends that Fluid does not know": most recently seen first."""
    recorder.flush_pending()  # this process's sightings not yet written
    return repo.undeclared(organisation.id, max(1, min(limit, 500)))


def declare(
    *, organisation: Organisation, spec: Spec, drop_mismatched: bool = False
) -> tuple[AttributeDeclaration, StoredValues]:
    urn, name = split_path(spec.path)
    check_declaration(urn, name, spec.type)
    key = path_key(urn, name)
    if repo.declaration_by_key(organisation.id, key) is not None:
        raise Conflict(f"'{spec.path}' is declared already; change its type or characteristics instead")
    if repo.count_declarations(organisation.id) >= DECLARATIONS_PER_ORGANISATION:
        raise InvalidValue(f"an organisation declares at most {DECLARATIONS_PER_ORGANISATION} attributes")
    now = utcnow()
    row = AttributeDeclaration(
        organisation_id=organisation.id, schema_urn=urn, name=name, path_key=key, type=spec.type,
        multi_valued=spec.multi_valued, case_exact=spec.case_exact,
        description=check_text(spec.description, "the description")[:1024],
        created_at=now, updated_at=now,
    )
    repo.add_declaration(row)
    stored = _settle_values(organisation, row, drop_mismatched=drop_mismatched, reason="attribute.declared")
    repo.forget_undeclared(organisation.id, key)
    _record(organisation, "attribute.declared", row.schema_urn, row.name, None, _describe(row), stored)
    transaction.commit()
    return row, stored


def change(
    *, organisation: Organisation, spec: Spec, drop_mismatched: bool = False
) -> tuple[AttributeDeclaration, StoredValues]:
    """Change a declaration's type or characteristics; stored values are converted as :func:`declare` does."""
    row = _existing(organisation, spec.path)
    check_declaration(row.schema_urn, row.name, spec.type)
    before = _describe(row)
    row.type, row.multi_valued, row.case_exact = spec.type, spec.multi_valued, spec.case_exact
    row.description = check_text(spec.description, "the description")[:1024]
    row.updated_at = utcnow()
    _keep_access_rules_working(organisation, without=None)
    stored = _settle_values(organisation, row, drop_mismatched=drop_mismatched, reason="attribute.changed")
    _record(organisation, "attribute.changed", row.schema_urn, row.name, before, _describe(row), stored)
    transaction.commit()
    return row, stored


def remove(*, organisation: Organisation, path: str, delete_values: bool = False) -> StoredValues:
    """Remove a declaration. Its values stay as undeclared ones, or are deleted (and recorded) when asked."""
    row = _existing(organisation, path)
    _keep_access_rules_working(organisation, without=row)
    stored = StoredValues()
    repo.delete_values_of(organisation.id, row.id)
    repo.delete_declaration(row)
    repo.bump_schema_version(organisation)
    example: tuple[str, Any] | None = None
    for user, value in _holders(organisation, row.schema_urn, row.name):
        if delete_values:
            _put(user, row.schema_urn, row.name, None)
            _history(organisation, user, row, value, None, "attribute.removed")
            stored.dropped += 1
        else:
            stored.converted += 1  # kept, as an undeclared value
            example = (user.id, value)
    if example is not None:
        repo.note_undeclared(organisation.id, path=_path(row), resource_type="User", value_kind=json_kind(example[1]),
                             resource_id=example[0], now=utcnow(), count=stored.converted)
    _record(organisation, "attribute.removed", row.schema_urn, row.name, _describe(row), None, stored)
    transaction.commit()
    return stored


def set_policy(*, organisation: Organisation, policy: str) -> None:
    if policy not in POLICIES:
        raise InvalidValue(f"the undeclared-attribute policy is one of {', '.join(POLICIES)}, not '{policy}'")
    before = organisation.undeclared_policy
    if before == policy:
        return
    organisation.undeclared_policy = policy
    audit.record(organisation, operation="organisation.undeclared_policy", resource_type="Organisation", resource_id=None,
                 changes=[{"path": "undeclaredPolicy", "before": before, "after": policy}])
    transaction.commit()


# -- stored values ------------------------------------------------------------------------------------


def _settle_values(organisation: Organisation, row: AttributeDeclaration, *, drop_mismatched: bool, reason: str) -> StoredValues:
    """Convert the values users hold at the declaration's path to its type and rewrite their typed rows."""
    repo.bump_schema_version(organisation)
    repo.delete_values_of(organisation.id, row.id)  # a retype rewrites them all; a new declaration has none
    attribute = _attribute_of(organisation, row)
    stored = StoredValues()
    rows: list[dict[str, Any]] = []
    for user, value in _holders(organisation, row.schema_urn, row.name):
        try:
            converted = coerce_attribute(None, attribute, value, quirks=set(), label=_path(row))
        except InvalidValue:
            converted = None
            stored.mismatched += 1
            if len(stored.examples) < 5:
                stored.examples.append(user.user_name)
            if not drop_mismatched:
                continue
        else:
            stored.converted += 1
        if converted != value:
            _put(user, row.schema_urn, row.name, converted)
            _history(organisation, user, row, value, converted, reason)
            stored.dropped += converted is None
        rows += mapping.typed_rows(organisation.id, user.id, attribute, converted)
    if stored.mismatched and not drop_mismatched:
        transaction.rollback()
        raise InvalidValue(
            f"{stored.mismatched} user(s) hold a value of '{_path(row)}' that is not a {row.type}"
            f"{' (multi-valued)' if row.multi_valued else ''}, e.g. {', '.join(stored.examples)}; nothing was changed. "
            "Correct them in the identity provider, choose another type, or confirm that those values are dropped"
        )
    transaction.flush()  # the users' rewritten custom values first (their rows point at them)
    repo.insert_custom_values(rows)
    return stored


def _keep_access_rules_working(organisation: Organisation, *, without: AttributeDeclaration | None) -> None:
    """Refuse a change after which a stored access filter or attribute role mapping would no longer
    compile: access would stop following the rule the admin wrote."""
    declarations = [
        Declaration.of(item) for item in repo.declarations(organisation.id) if without is None or item.id != without.id
    ]
    broken = access.filters_broken_by(organisation, user_resource_type(declarations, undeclared="keep"))
    if broken:
        transaction.rollback()
        raise InvalidValue(
            f"{'; '.join(broken)} would no longer work with this change; change or remove "
            f"{'it' if len(broken) == 1 else 'them'} first (Access and roles), then try again"
        )


def _attribute_of(organisation: Organisation, row: AttributeDeclaration) -> Attribute:
    """The declaration as the organisation's schema describes it, with its characteristics as they are now."""
    resource_type = user_resource_type(
        [Declaration.of(item) for item in repo.declarations(organisation.id)],
        undeclared="keep",
    )
    return next(attr for _, attr in declared_attributes(resource_type) if attr.custom_id == row.id)


def _holders(organisation: Organisation, urn: str, name: str) -> Iterator[tuple[ScimUser, Any]]:
    """Every user holding a value at the path, with the value, in batches by id."""
    after = ""
    while True:
        users = repo.users_with_custom(organisation.id, after, _BATCH)
        if not users:
            return
        for user in users:
            value = mapping.custom_value(user.custom or {}, urn, name)
            if value is not None:
                yield user, value
        after = users[-1].id
        transaction.flush()
        repo.release(users)  # a pass over 100,000 users keeps one batch in memory


def _put(user: ScimUser, urn: str, name: str, value: Any) -> None:
    custom = {key: (dict(item) if isinstance(item, dict) else item) for key, item in (user.custom or {}).items()}
    if urn:
        key = next((key for key in custom if key.lower() == urn.lower()), urn)
        holder = custom.setdefault(key, {})
    else:
        key, holder = "", custom
    for existing in [existing for existing in holder if existing.lower() == name.lower()]:
        del holder[existing]
    if value is not None:
        holder[name] = value
    if urn and not holder:
        custom.pop(key, None)
    user.custom = custom or None
    user.updated_at = utcnow()


def _history(organisation: Organisation, user: ScimUser, row: AttributeDeclaration, before: Any, after: Any, reason: str) -> None:
    audit.record(organisation, operation=reason, resource_type="User", resource_id=user.id, resource_name=user.user_name,
                 changes=[{"path": _path(row), "before": before, "after": after}])


def _record(
    organisation: Organisation, operation: str, urn: str, name: str, before: Any, after: Any, stored: StoredValues
) -> None:
    path = f"{urn}:{name}" if urn else name
    audit.record(
        organisation, operation=operation, resource_type="Organisation", resource_id=None,
        changes=[{"path": f"attributes.{path}", "before": before, "after": after},
                 {"path": "storedValues", "before": None,
                  "after": {"converted": stored.converted, "dropped": stored.dropped}}],
    )


def _existing(organisation: Organisation, path: str) -> AttributeDeclaration:
    urn, name = split_path(path)
    row = repo.declaration_by_key(organisation.id, path_key(urn, name))
    if row is None:
        raise NotFound(f"'{path}' is not declared")
    return row


def _path(row: AttributeDeclaration) -> str:
    return f"{row.schema_urn}:{row.name}" if row.schema_urn else row.name


def _describe(row: AttributeDeclaration) -> dict[str, Any]:
    return {"type": row.type, "multiValued": row.multi_valued, "caseExact": row.case_exact}
