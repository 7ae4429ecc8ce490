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
    for entry in entries:
        if any(entry is hit for hit in matched):
            if not inserted:
                result.extend(replacement)
                inserted = True
            continue
        result.append(entry)
    return result


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
    fresh = [entry for entry in touched if entry.get("primary") is True and any(entry is kept for kept in entries)]
    if len(fresh) > 1:
        raise InvalidValue(f"'{label}' would leave more than one entry with \"primary\": true")
    if fresh:
        for entry in entries:
            if entry is not fresh[0] and entry.get("primary") is True:
                entry["primary"] = False
    check_primary(entries, label)
