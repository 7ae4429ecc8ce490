"""Resolving an attribute path (as the filter and PATCH parsers give it) against a resource type."""

from __future__ import annotations

from dataclasses import dataclass

from fluid_scim.filters import AttributeInfo, AttributeLookup, AttrPath, FilterError
from fluid_scim.schema.attributes import Attribute, ResourceType, Schema
from fluid_scim.schema.custom import undeclared_attribute
from fluid_scim.schema.definitions import COMMON_ATTRIBUTES


class UnknownAttribute(Exception):
    """The path names no attribute of the resource type; the message says which part is unknown."""


@dataclass(frozen=True, slots=True)
class Resolved:
    """A resolved path: ``schema`` is ``None`` for the common attributes (id, externalId, meta)."""

    schema: Schema | None
    attribute: Attribute
    sub_attribute: Attribute | None = None

    @property
    def target(self) -> Attribute:
        return self.sub_attribute or self.attribute

    @property
    def is_extension(self) -> bool:
        return self.schema is not None and self.schema.id.lower().startswith("urn:ietf:params:scim:schemas:core:") is False

    @property
    def path(self) -> str:
        """The canonical dotted path (URN-qualified for extensions), e.g. ``name.givenName``."""
        base = self.attribute.name if self.sub_attribute is None else f"{self.attribute.name}.{self.sub_attribute.name}"
        return f"{self.schema.id}:{base}" if self.is_extension and self.schema is not None else base


_COMMON = {attribute.name.lower(): attribute for attribute in COMMON_ATTRIBUTES}


def resolve(
    resource_type: ResourceType, schema_urn: str | None, attr: str, sub_attr: str | None = None, *, undeclared: bool = False
) -> Resolved:
    """Find ``[schema_urn:]attr[.sub_attr]`` on ``resource_type``, case-insensitively.

    ``undeclared``: a top-level name no schema defines resolves to a stand-in (``declared=False``)
    when the resource type's policy keeps or ignores such attributes (writes only: filters,
    sorting and projection name declared attributes).
    """
    try:
        schema, attribute = _top_level(resource_type, schema_urn, attr)
    except UnknownAttribute:
        if not undeclared or resource_type.undeclared == "reject" or sub_attr is not None:
            raise
        return _undeclared(resource_type, schema_urn, attr)
    if sub_attr is None:
        return Resolved(schema, attribute)
    sub = attribute.sub(sub_attr)
    if sub is None:
        raise UnknownAttribute(f"'{attribute.name}' has no sub-attribute '{sub_attr}'")
    return Resolved(schema, attribute, sub)


def _undeclared(resource_type: ResourceType, schema_urn: str | None, attr: str) -> Resolved:
    if schema_urn is None or schema_urn.lower() == resource_type.schema.id.lower():
        return Resolved(resource_type.schema, undeclared_attribute(attr))
    extension = resource_type.extension(schema_urn) or Schema(id=schema_urn, name="", description="", attributes=())
    return Resolved(extension, undeclared_attribute(attr))


def _top_level(resource_type: ResourceType, schema_urn: str | None, attr: str) -> tuple[Schema | None, Attribute]:
    if schema_urn is None or schema_urn.lower() == resource_type.schema.id.lower():
        common = _COMMON.get(attr.lower())
        if common is not None:
            return None, common
        found = resource_type.schema.attribute(attr)
        if found is None:
            raise UnknownAttribute(f"{resource_type.name} has no attribute '{attr}'")
        return resource_type.schema, found
    extension = resource_type.extension(schema_urn)
    if extension is None:
        raise UnknownAttribute(f"{resource_type.name} has no schema extension '{schema_urn}'")
    found = extension.attribute(attr)
    if found is None:
        raise UnknownAttribute(f"the extension '{extension.id}' has no attribute '{attr}'")
    return extension, found


def attribute_info(attribute: Attribute) -> AttributeInfo:
    """What the in-memory filter evaluator needs to know of an attribute."""
    keyed = attribute.uniqueness == "server" and attribute.type == "string" and not attribute.case_exact
    return AttributeInfo(attribute.type, case_exact=attribute.case_exact, multi_valued=attribute.multi_valued, keyed=keyed)


def evaluator_lookup(resource_type: ResourceType) -> AttributeLookup:
    """The filter evaluator's schema callback, answered by ``resource_type`` (FilterError for an unknown path)."""

    def lookup(path: AttrPath) -> AttributeInfo:
        try:
            return attribute_info(resolve(resource_type, path.schema, path.attr, path.sub_attr).target)
        except UnknownAttribute as error:
            raise FilterError(str(error)) from None

    return lookup
