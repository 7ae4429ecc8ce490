"""``attributes`` / ``excludedAttributes`` (RFC 7644 §3.4.2.5) applied to a rendered resource.

Pure: works on the JSON body and the registry. ``returned: always`` attributes (``id``, ``schemas``,
``meta``… per the schema) survive every projection; ``returned: never`` never appear.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fluid_scim.errors import InvalidValue
from fluid_scim.filters import FilterError, parse_path
from fluid_scim.schema import ResourceType, UnknownAttribute, resolve

ALWAYS = frozenset({"id", "schemas"})


@dataclass(frozen=True, slots=True)
class Projection:
    """Parsed ``attributes`` and ``excludedAttributes``: sets of canonical (schema, attr, sub) keys."""

    resource_type: ResourceType
    include: frozenset[tuple[str | None, str, str | None]] | None = None
    exclude: frozenset[tuple[str | None, str, str | None]] = frozenset()

    @classmethod
    def parse(
        cls,
        resource_type: ResourceType,
        attributes: Iterable[str] | None,
        excluded: Iterable[str] | None,
        *,
        strict: bool = True,
    ) -> Projection:
        """``strict=False`` skips names the resource type lacks (a root search spans several types)."""
        include = _keys(resource_type, attributes, strict) if attributes else None
        return cls(resource_type, include, _keys(resource_type, excluded, strict) if excluded else frozenset())

    def wants(self, attr: str, schema: str | None = None) -> bool:
        """Whether top-level ``attr`` can appear at all (lets services skip work, e.g. members)."""
        if self.include is not None:
            return any(key[0] == schema and key[1] == attr for key in self.include)
        return (schema, attr, None) not in self.exclude

    def apply(self, body: dict[str, Any], *, own: bool = False) -> dict[str, Any]:
        """The projected body (a new dict; ``own``: ``body`` was built for this answer alone, and the
        default view may change it in place rather than copy it)."""
        if self.include is None and not self.exclude:
            return _default_view(self.resource_type, body, own=own)
        result: dict[str, Any] = {}
        for key, value in body.items():
            if key in ALWAYS:
                result[key] = value
            elif key.startswith("urn:"):
                projected = self._extension(key, value)
                if projected is not None:
                    result[key] = projected
            elif self._keep(None, key):
                result[key] = self._sub(None, key, value)
        if "schemas" in result:
            result["schemas"] = self._schemas_left(result)
        return result

    def _extension(self, key: str, value: dict[str, Any]) -> dict[str, Any] | None:
        """The projected extension object; None when nothing of it is left."""
        extension = self.resource_type.extension(key)
        urn = extension.id if extension is not None else key
        projected = {k: self._sub(urn, k, v) for k, v in value.items() if self._keep(urn, k)}
        # An extension with every value unassigned is still part of the resource.
        return projected if projected or (not value and self.include is None) else None

    def _schemas_left(self, result: dict[str, Any]) -> list[str]:
        """An extension projected away is no longer part of the resource's schemas."""
        core = self.resource_type.schema.id
        return [urn for urn in result["schemas"] if not urn.startswith("urn:") or urn in result or urn == core]

    def _keep(self, schema: str | None, attr: str) -> bool:
        if self.include is not None:
            return any(k[0] == schema and k[1] == attr for k in self.include)
        return (schema, attr, None) not in self.exclude

    def keeps_sub(self, schema: str | None, attr: str, sub: str) -> bool:
        """Whether sub-attribute ``sub`` of ``attr`` is shown (``returned: request`` ones only when asked for)."""
        if sub in _requested_only(self.resource_type, schema, attr):
            return self.include is not None and (schema, attr, sub) in self.include
        if self.include is not None:
            return (schema, attr, None) in self.include or (schema, attr, sub) in self.include
        return (schema, attr, sub) not in self.exclude

    def _sub(self, schema: str | None, attr: str, value: Any) -> Any:
        """Project the sub-attributes of a complex value when only some were asked for (or excluded)."""

        def pick(item: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in item.items() if self.keeps_sub(schema, attr, k)}

        if isinstance(value, dict):
            return pick(value)
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return [picked for picked in (pick(item) for item in value) if picked]
        return value


def _default_view(resource_type: ResourceType, body: dict[str, Any], *, own: bool = False) -> dict[str, Any]:
    """What :meth:`Projection.apply` gives when nothing is asked for or excluded: the body without its
    ``returned: request`` sub-attributes (a page of 100 users is rendered often; this is its short way)."""
    result = body if own else dict(body)
    for schema, attr, hidden in _hidden_subs(resource_type):
        container = result if schema is None else result.get(schema)
        if not isinstance(container, dict) or attr not in container:
            continue
        if schema is not None:
            container = result[schema] = dict(container)
        container[attr] = _without(container[attr], hidden)
    return result


def _without(value: Any, hidden: frozenset[str]) -> Any:
    """A complex value (or list of them) without the ``hidden`` sub-attributes; emptied entries are dropped."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in hidden}
    if isinstance(value, list) and value and isinstance(value[0], dict):
        picked = ({k: v for k, v in item.items() if k not in hidden} for item in value)
        return [item for item in picked if item]
    return value


_HIDDEN_SUBS: dict[str, tuple[tuple[str | None, str, frozenset[str]], ...]] = {}


def _hidden_subs(resource_type: ResourceType) -> tuple[tuple[str | None, str, frozenset[str]], ...]:
    """(extension URN or None, attribute, its ``returned: request`` sub-attributes) of a resource type."""
    if resource_type.id not in _HIDDEN_SUBS:
        schemas = [(None, resource_type.schema), *((ext.schema.id, ext.schema) for ext in resource_type.extensions)]
        _HIDDEN_SUBS[resource_type.id] = tuple(
            (urn, attribute.name, hidden)
            for urn, schema in schemas
            for attribute in schema.attributes
            if (hidden := _requested_only(resource_type, urn, attribute.name))
        )
    return _HIDDEN_SUBS[resource_type.id]


_REQUESTED_ONLY: dict[tuple[str, str | None, str], frozenset[str]] = {}


def _requested_only(resource_type: ResourceType, schema: str | None, attr: str) -> frozenset[str]:
    """Sub-attributes with ``returned: request``: derived values sent only when asked for by name."""
    key = (resource_type.id, schema, attr)
    if key not in _REQUESTED_ONLY:
        _REQUESTED_ONLY[key] = _find_requested_only(resource_type, schema, attr)
    return _REQUESTED_ONLY[key]


def _find_requested_only(resource_type: ResourceType, schema: str | None, attr: str) -> frozenset[str]:
    owner = resource_type.extension(schema) if schema else resource_type.schema
    attribute = owner.attribute(attr) if owner is not None else None
    if attribute is None:
        return frozenset()
    return frozenset(sub.name for sub in attribute.sub_attributes if sub.returned == "request")


def _keys(resource_type: ResourceType, names: Iterable[str], strict: bool) -> frozenset[tuple[str | None, str, str | None]]:
    keys = set()
    for name in names:
        name = name.strip()
        if not name:
            continue
        try:
            path = parse_path(name)
            if path.value_filter is not None:
                raise InvalidValue(f"'{name}' is not an attribute name (filters are not allowed here)")
            resolved = resolve(resource_type, path.attr.schema, path.attr.attr, path.attr.sub_attr)
        except UnknownAttribute as exc:
            if not strict:
                continue
            raise InvalidValue(f"invalid attribute name '{name}': {exc}") from None
        except FilterError as exc:
            raise InvalidValue(f"invalid attribute name '{name}': {exc}") from None
        schema = resolved.schema.id if resolved.is_extension and resolved.schema else None
        keys.add((schema, resolved.attribute.name, resolved.sub_attribute.name if resolved.sub_attribute else None))
    return frozenset(keys)
