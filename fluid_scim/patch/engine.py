"""RFC 7644 §3.5.2 PATCH over the canonical document, with the Entra and Okta tolerances.

:func:`apply_patch` works on a deep copy and raises on the first failing operation, so callers see
either the complete result or an exception (with ``Operations[i]: `` in front of its detail).
"""

from __future__ import annotations

import copy
from typing import Any

from fluid_scim.errors import DomainError, InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget, UnkeptValue
from fluid_scim.patch import scalars
from fluid_scim.patch.budget import WorkBudget
from fluid_scim.patch.diff import changed_paths
from fluid_scim.patch.entries import Entry, added, chosen_by_value, merge, set_sub, settle_primary, splice
from fluid_scim.patch.members import MemberAccumulator, apply_member_operation
from fluid_scim.patch.targets import Target, eq_constraints, parse_target, reject_read_only
from fluid_scim.patch.types import Operation, PatchResult
from fluid_scim.schema.attributes import Attribute, ResourceType, Schema
from fluid_scim.schema.coerce import (
    coerce_attribute,
    coerce_entry,
    coerce_sub,
    dropped,
    is_manager,
    is_unassigned,
    kept,
    manager_id_of,
    tolerates_unknown,
)
from fluid_scim.schema.custom import undeclared_attribute
from fluid_scim.schema.limits import describe_limit, values_limit


def apply_patch(
    resource_type: ResourceType,
    document: dict[str, Any],
    operations: list[Operation],
    *,
    resource_id: str,
    quirks: set[str],
    budget: WorkBudget | None = None,
) -> PatchResult:
    """Apply ``operations`` in order to a copy of the canonical ``document``.

    Group ``members`` never enter the document: their operations fold into ``PatchResult.members``.
    ``quirks`` receives the tolerances used, only when the whole request succeeds. Operations on
    multi-valued attributes spend ``budget`` (the request's; a fresh one when None), see
    :mod:`fluid_scim.patch.budget`.
    """
    work = copy.deepcopy(document)
    used: set[str] = set()
    members = MemberAccumulator()
    patcher = _Patcher(resource_type, work, members, resource_id, used, budget or WorkBudget())
    for operation in operations:
        try:
            patcher.apply(operation)
        except DomainError as error:
            error.detail = f"Operations[{operation.index}]: {error.detail}"
            error.args = (error.detail,)
            raise
    delta = members.delta()
    changed = changed_paths(resource_type, document, work) + (("members",) if delta else ())
    quirks.update(used)
    return PatchResult(document=work, members=delta, changed=changed)


class _Patcher:
    def __init__(
        self, resource_type: ResourceType, document: dict[str, Any], members: MemberAccumulator, resource_id: str,
        quirks: set[str], budget: WorkBudget,
    ) -> None:
        self.resource_type = resource_type
        self.document = document
        self.members = members
        self.resource_id = resource_id
        self.quirks = quirks
        self.budget = budget
        # A sub-attribute no schema defines (a value's key or a path): dropped and noted as the policy
        # keeps or ignores undeclared attributes, refused under "reject".
        self.tolerant = tolerates_unknown(resource_type)

    # -- dispatch ---------------------------------------------------------------------------------

    def apply(self, operation: Operation) -> None:
        op = str(operation.op).lower()
        path = operation.path
        if isinstance(path, str) and not path.strip():
            path = None
        if op not in ("add", "replace", "remove"):
            raise InvalidSyntax(f"'op' must be add, replace or remove, not {operation.op!r}")
        if path is None:
            if op == "remove":
                raise NoTarget("remove needs a path")
            self.write_resource(op, operation.value)
            return
        target = parse_target(self.resource_type, path, quirks=self.quirks)
        if target is None:
            return  # a path to an attribute no schema defines, which the policy drops (parse_target noted it)
        reject_read_only(target)
        if op == "remove":
            self.remove(target, operation.value)
        else:
            self.write(op, target, operation.value)

    def write_resource(self, op: str, value: Any) -> None:
        """Path-less add/replace: every key is an attribute, a dotted or URN-qualified path, or an extension."""
        if not isinstance(value, dict):
            raise InvalidSyntax(f"{op} without a path needs a JSON object as its value")
        for key, item in value.items():
            if self.undeclared_extension(op, key, item):
                continue
            if key.lower() == "id":
                if isinstance(item, str) and item == self.resource_id:
                    self.quirks.add("readonly-id-ignored")  # Okta's group rename carries the group's own id
                    continue
                raise Mutability(f"'id' is read-only; the value {item!r} is not this resource's id")
            target = parse_target(self.resource_type, key, quirks=self.quirks)
            if target is not None and not target.read_only:  # meta, groups, schemas sent back by the client are ignored
                self.write(op, target, item)

    def undeclared_extension(self, op: str, key: str, value: Any) -> bool:
        """A path-less value's extension object no schema declares: written as the policy says (True) or not one (False)."""
        if not (key.lower().startswith("urn:") and isinstance(value, dict)) or self.resource_type.undeclared == "reject":
            return False
        if self.resource_type.extension(key) is not None:
            return False
        extension = Schema(id=key, name="", description="", attributes=())
        for name, item in value.items():
            if name.lower() != "schemas":
                target = Target(label=f"{key}:{name}", schema=extension, attribute=undeclared_attribute(name))
                self.write(op, target, item)
        return True

    def write(self, op: str, target: Target, value: Any) -> None:
        if target.extension is not None:
            self.write_extension(op, target.extension, value, target.label)
        elif target.is_members:
            self.write_members(op, target, value)
        else:
            attribute = target.attribute
            assert attribute is not None
            if target.sub is not None and target.sub.name == "$ref" and is_manager(attribute, target.schema):
                return  # manager.$ref is derived from manager.value when rendering
            if not kept(self.resource_type, attribute, self.quirks):
                return
            if not attribute.declared:
                self.write_undeclared(target, attribute, value)
            elif attribute.multi_valued and attribute.type == "complex":
                self.write_multi(op, target, attribute, value)
            elif attribute.multi_valued:
                current = self.entries(target, attribute, value)
                self.store(target, attribute, scalars.written(op, target, attribute, current, value, self.quirks) or None)
            elif attribute.type == "complex":
                self.write_complex(target, attribute, value)
            else:
                self.write_simple(target, attribute, value)

    def coerced(self, schema: Schema | None, target: Target, attribute: Attribute, value: Any) -> Any:
        """``value`` as ``attribute``'s canonical value; a sub-attribute it does not define as the policy says."""
        return coerce_attribute(schema, attribute, value, quirks=self.quirks, label=target.label, tolerant=self.tolerant)

    # -- document access --------------------------------------------------------------------------

    def current(self, target: Target, attribute: Attribute) -> Any:
        holder = self.document if target.container is None else self.document.get(target.container)
        return holder.get(attribute.name) if isinstance(holder, dict) else None

    def entries(self, target: Target, attribute: Attribute, value: Any) -> list[Any]:
        """A copy of a multi-valued attribute's values, after spending what the operation reads of them:
        each entry once per filter term (once without a filter), plus the values it gives."""
        current = self.current(target, attribute)
        values = list(current) if isinstance(current, list) else []
        given = len(value) if isinstance(value, list) else 1
        self.budget.spend_evaluations(len(values) * target.terms + given, target.label)
        return values

    def check_size(self, target: Target, attribute: Attribute, before: int, after: list[Any]) -> None:
        """Refuse a list grown past its limit (:mod:`fluid_scim.schema.limits`); one stored longer may shrink."""
        if len(after) > values_limit(attribute) and len(after) > before:
            raise InvalidValue(f"'{target.label}' would hold {len(after):,} values; {describe_limit(attribute)}")

    def store(self, target: Target, attribute: Attribute, value: Any) -> None:
        """Set (or, for None, unassign) the attribute; an emptied extension object disappears."""
        key = target.container
        holder = self.document if key is None else self.document.get(key)
        if holder is None:
            if value is None:
                return
            holder = self.document[key] = {}  # type: ignore[index]
        if value is None:
            holder.pop(attribute.name, None)
        else:
            holder[attribute.name] = value
        if key is not None and not holder:
            self.document.pop(key, None)

    # -- add / replace ----------------------------------------------------------------------------

    def write_extension(self, op: str, extension: Schema, value: Any, label: str) -> None:
        if value is None or (is_unassigned(value) and not isinstance(value, dict)):
            self.document.pop(extension.id, None)
            return
        if not isinstance(value, dict):
            raise InvalidValue(f"'{label}' must be a JSON object holding the extension's attributes")
        for key, item in value.items():
            if key.lower() == "schemas":
                continue  # an extension serialised as a resource of its own carries its schemas list
            attribute = extension.attribute(key)
            if attribute is None and self.resource_type.undeclared != "reject":
                attribute = undeclared_attribute(key)
            if attribute is None:
                raise InvalidPath(f"path '{label}': the extension '{extension.id}' has no attribute '{key}'")
            if not attribute.read_only:
                self.write(op, Target(label=f"{extension.id}:{attribute.name}", schema=extension, attribute=attribute), item)

    def write_undeclared(self, target: Target, attribute: Attribute, value: Any) -> None:
        """An undeclared attribute's new value, kept as received; one that cannot be kept leaves the
        stored value as it was and the operation is noted as dropped (the rest of the PATCH applies)."""
        try:
            self.write_simple(target, attribute, value)
        except UnkeptValue as unkept:
            dropped(unkept, quirks=self.quirks)

    def write_simple(self, target: Target, attribute: Attribute, value: Any) -> None:
        new = self.coerced(target.schema, target, attribute, value)
        old = self.current(target, attribute)
        if new is None and attribute.required:
            raise InvalidValue(f"'{target.label}' is required and cannot be set to an empty value")
        if attribute.mutability == "immutable" and old is not None and new != old:
            raise Mutability(f"'{target.label}' is immutable and already has a value")
        self.store(target, attribute, new)

    def write_complex(self, target: Target, attribute: Attribute, value: Any) -> None:
        """Single-valued complex (name, manager): RFC 7644 §3.5.2.1/§3.5.2.3 merge the given sub-attributes."""
        old = self.current(target, attribute)
        if target.predicate is not None and (not isinstance(old, dict) or not target.predicate(old)):
            raise NoTarget(f"path '{target.label}' matched no value")
        updated: Entry = dict(old) if isinstance(old, dict) else {}
        if target.sub is not None:
            set_sub(updated, target.sub, coerce_sub(attribute, target.sub, value, quirks=self.quirks, label=target.label))
        elif isinstance(value, dict):
            merge(updated, attribute, value, self.coerced(target.schema, target, attribute, value))
        else:  # null removes; Entra's manager string / one-element list sets
            updated = self.coerced(target.schema, target, attribute, value) or {}
        self.store(target, attribute, updated or None)

    def write_multi(self, op: str, target: Target, attribute: Attribute, value: Any) -> None:
        """Multi-valued complex (emails, roles): a sub-attribute, the whole list, or the entries a filter selects."""
        entries: list[Entry] = [dict(entry) for entry in self.entries(target, attribute, value)]
        before = len(entries)
        matched = None if target.predicate is None else [entry for entry in entries if target.predicate(entry)]
        if target.sub is not None:
            entries, touched = self.write_multi_sub(target, attribute, entries, matched, value)
        elif matched is None:
            entries, touched = self.write_multi_whole(op, target, attribute, entries, value)
        else:
            entries, touched = self.write_multi_filtered(op, target, attribute, entries, matched, value)
        entries = [entry for entry in entries if entry]
        self.check_size(target, attribute, before, entries)
        settle_primary(entries, touched, target.label)
        self.store(target, attribute, entries or None)

    def write_multi_sub(
        self, target: Target, attribute: Attribute, entries: list[Entry], matched: list[Entry] | None, value: Any
    ) -> tuple[list[Entry], list[Entry]]:
        """``emails[type eq "work"].value``: set it in every chosen entry, or create the entry the filter describes."""
        sub = target.sub
        assert sub is not None
        new = coerce_sub(attribute, sub, value, quirks=self.quirks, label=target.label)
        chosen = entries if matched is None else matched
        touched = list(chosen)
        for entry in chosen:
            set_sub(entry, sub, new)
        if not chosen and new is not None:
            created = {**self.template(target), sub.name: new}
            entries.append(created)
            touched.append(created)
        return entries, touched

    def write_multi_whole(
        self, op: str, target: Target, attribute: Attribute, entries: list[Entry], value: Any
    ) -> tuple[list[Entry], list[Entry]]:
        """No filter: replace swaps the whole list; add appends the entries not already present."""
        coerced: list[Entry] = self.coerced(target.schema, target, attribute, value) or []
        if op == "replace":
            return coerced, coerced
        touched = added(entries, coerced)
        return entries + touched, touched

    def write_multi_filtered(
        self, op: str, target: Target, attribute: Attribute, entries: list[Entry], matched: list[Entry], value: Any
    ) -> tuple[list[Entry], list[Entry]]:
        """``emails[type eq "work"]``: replace or merge into the matching entries; with none, create the described one."""
        coerced = self.entries_for_filter(attribute, value, target.label)
        if not matched:
            if not coerced:
                return entries, []
            template = self.template(target)
            created = [{**template, **entry} for entry in coerced]
            return entries + created, created
        if op == "replace":
            return splice(entries, matched, coerced), coerced
        if len(coerced) > 1:
            raise InvalidValue(f"add to '{target.label}' merges one object into the matching entries, not {len(coerced)}")
        raw = value if isinstance(value, dict) else {}
        for entry in matched:
            merge(entry, attribute, raw, coerced[0] if coerced else None)
        return entries, list(matched)

    def entries_for_filter(self, attribute: Attribute, value: Any, label: str) -> list[Entry]:
        if isinstance(value, dict):
            entry = coerce_entry(attribute, value, quirks=self.quirks, label=label, tolerant=self.tolerant)
            return [] if entry is None else [entry]
        return coerce_attribute(None, attribute, value, quirks=self.quirks, label=label, tolerant=self.tolerant) or []

    def template(self, target: Target) -> Entry:
        """The entry a filter that matched nothing describes (docs/scim.md; RFC 7644 §3.5.2.3 says noTarget), or NoTarget."""
        if target.value_filter is None:
            return {}
        constraints = eq_constraints(target, quirks=self.quirks)
        if constraints is None:
            raise NoTarget(
                f"path '{target.label}' matched no value, and only a filter of eq comparisons joined by 'and' "
                "describes a value to create"
            )
        return constraints

    def write_members(self, op: str, target: Target, value: Any) -> None:
        apply_member_operation(self.members, op, target, value, quirks=self.quirks)

    # -- remove -----------------------------------------------------------------------------------

    def remove(self, target: Target, value: Any) -> None:
        if target.extension is not None:
            self.document.pop(target.extension.id, None)
            return
        if target.is_members:
            self.write_members("remove", target, value)
            return
        attribute = target.attribute
        assert attribute is not None
        if attribute.required and target.sub is None:
            raise Mutability(f"'{target.label}' is required and cannot be removed")
        if not kept(self.resource_type, attribute, self.quirks):
            return
        if attribute.multi_valued and attribute.type == "complex":
            self.remove_multi(target, attribute, value)
        elif attribute.multi_valued:
            current = self.entries(target, attribute, value)
            self.store(target, attribute, scalars.removed(target, attribute, current, value, self.quirks) or None)
        else:
            self.remove_single(target, attribute, value)

    def remove_single(self, target: Target, attribute: Attribute, value: Any) -> None:
        """A simple or single-valued complex attribute, or one sub-attribute of the latter."""
        old = self.current(target, attribute)
        if old is None:
            return
        if target.predicate is not None and not (isinstance(old, dict) and target.predicate(old)):
            return
        if is_manager(attribute, target.schema) and target.sub is None and not _names_manager(old, value, target.label):
            return
        if target.sub is not None and isinstance(old, dict):
            self.store(target, attribute, {key: item for key, item in old.items() if key != target.sub.name} or None)
        else:
            self.store(target, attribute, None)

    def remove_multi(self, target: Target, attribute: Attribute, value: Any) -> None:
        entries: list[Entry] = [dict(entry) for entry in self.entries(target, attribute, value)]
        chosen = self.chosen_for_remove(target, attribute, entries, value)
        if target.sub is None:
            gone = {id(entry) for entry in chosen}
            entries = [entry for entry in entries if id(entry) not in gone]
        else:
            for entry in chosen:
                entry.pop(target.sub.name, None)
            entries = [entry for entry in entries if entry]
        self.store(target, attribute, entries or None)

    def chosen_for_remove(self, target: Target, attribute: Attribute, entries: list[Entry], value: Any) -> list[Entry]:
        """The entries a remove applies to: the filter's matches, all of them, or those equal to the given value."""
        if target.predicate is not None:
            return [entry for entry in entries if target.predicate(entry)]
        if target.sub is not None or value is None:
            return entries
        self.quirks.add("remove-by-value")  # Entra: {"op":"Remove","path":"emails","value":[{"value":"x"}]}
        given = self.coerced(None, target, attribute, value) or []
        return chosen_by_value(attribute, given, entries)


def _names_manager(old: Entry, value: Any, label: str) -> bool:
    """Whether a remove of ``manager`` clears it: always without a value; with one, only when it is the current manager's id."""
    if value is None or value == "":
        return True
    wanted = manager_id_of(value)
    if wanted is None:
        raise InvalidValue(f"remove of '{label}' with a value needs the manager's id as that value")
    return old.get("value") == wanted
