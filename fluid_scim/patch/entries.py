"""Small operations on entries (one value of a complex attribute) shared by the PATCH engine."""

from __future__ import annotations

from typing import Any

from fluid_scim.errors import InvalidValue
from fluid_scim.schema.attributes import Attribute
from fluid_scim.schema.coerce import check_primary, is_unassigned

Entry = dict[str, Any]


def set_sub(entry: Entry, sub: Attribute, value: Any) -> None:
    if value is None:
        entry.pop(sub.name, None)
    else:
        entry[sub.name] = value


def merge(entry: Entry, attribute: Attribute, raw: dict[str, Any], coerced: Entry | None) -> None:
    """RFC 7644 §3.5.2.3: given sub-attributes replace, null ones unassign, the others stay."""
    for key, item in raw.items():
        sub = attribute.sub(key)
        if sub is not None and is_unassigned(item):
            entry.pop(sub.name, None)
    entry.update(coerced or {})


def splice(entries: list[Entry], matched: list[Entry], replacement: list[Entry]) -> list[Entry]:
    """``entries`` with the matched ones replaced by ``replacement``, at the first match's position."""
    result: list[Entry] = []
    inserted = False
    hits = {id(entry) for entry in matched}
    for entry in entries:
        if id(entry) in hits:
            if not inserted:
                result.extend(replacement)
                inserted = True
            continue
        result.append(entry)
    return result


def added(entries: list[Entry], given: list[Entry]) -> list[Entry]:
    """The entries of ``given`` equal to none of ``entries`` nor to an earlier one of ``given`` (RFC 7644
    §3.5.2.1: add appends the values not already present), found by hashing instead of comparing each pair."""
    seen = {_key(entry) for entry in entries}
    fresh: list[Entry] = []
    for entry in given:
        key = _key(entry)
        if key not in seen:
            seen.add(key)
            fresh.append(entry)
    return fresh


def _key(entry: Entry) -> frozenset[tuple[str, Any]]:
    """A hashable stand-in equal exactly when the entries are (their values are JSON scalars once coerced)."""
    return frozenset(entry.items())


def chosen_by_value(attribute: Attribute, given: list[Entry], entries: list[Entry]) -> list[Entry]:
    """Remove-by-value: the entries :func:`same_entry` pairs with one of ``given``, without comparing each pair
    when the given entries name a ``value`` (as Entra's remove-by-value does)."""
    value_attribute = attribute.sub("value")
    folded = value_attribute is not None and not value_attribute.case_exact
    values = {_folded(wanted["value"], folded) for wanted in given if "value" in wanted}
    others = [wanted for wanted in given if "value" not in wanted]
    return [
        entry for entry in entries
        if ("value" in entry and _folded(entry["value"], folded) in values)
        or any(same_entry(attribute, wanted, entry) for wanted in others)
    ]


def _folded(value: Any, folded: bool) -> Any:
    return ("str", value.lower()) if folded and isinstance(value, str) else value


def same_entry(attribute: Attribute, wanted: Entry, entry: Entry) -> bool:
    """Remove-by-value: compare ``value`` when given (case-insensitively unless caseExact), else all given fields."""
    if "value" in wanted:
        left, right = wanted["value"], entry.get("value")
        value_attribute = attribute.sub("value")
        if isinstance(left, str) and isinstance(right, str) and value_attribute is not None and not value_attribute.case_exact:
            return left.lower() == right.lower()
        return left == right
    return all(entry.get(key) == item for key, item in wanted.items())


def settle_primary(entries: list[Entry], touched: list[Entry], label: str) -> None:
    """RFC 7644 §3.5.2: an entry the operation set ``"primary": true`` on clears the flag of the others."""
    present = {id(entry) for entry in entries}
    fresh = [entry for entry in touched if entry.get("primary") is True and id(entry) in present]
    if len(fresh) > 1:
        raise InvalidValue(f"'{label}' would leave more than one entry with \"primary\": true")
    if fresh:
        for entry in entries:
            if entry is not fresh[0] and entry.get("primary") is True:
                entry["primary"] = False
    check_primary(entries, label)
