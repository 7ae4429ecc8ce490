"""Attribute and schema definitions (RFC 7643 §2, §7): the one description every layer reads.

Validation, filtering, projection, PATCH paths and ``/Schemas`` all resolve names here, always
case-insensitively (RFC 7643 §2.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

AttributeType = Literal["string", "boolean", "decimal", "integer", "dateTime", "reference", "complex", "binary"]
Mutability = Literal["readOnly", "readWrite", "immutable", "writeOnly"]
Returned = Literal["always", "never", "default", "request"]
Uniqueness = Literal["none", "server", "global"]


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute or sub-attribute with its RFC 7643 §2.2 characteristics."""

    name: str
    type: AttributeType = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: Mutability = "readWrite"
    returned: Returned = "default"
    uniqueness: Uniqueness = "none"
    description: str = ""
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()
    # The id of the organisation's declaration, for a declared custom attribute (its values have typed rows).
    custom_id: str | None = None
    # False for an attribute the organisation has not declared, kept or ignored as its policy says.
    declared: bool = True
    _by_key: dict[str, Attribute] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_key.update({sub.name.lower(): sub for sub in self.sub_attributes})

    def sub(self, name: str) -> Attribute | None:
        """The sub-attribute called ``name``, in any case."""
        return self._by_key.get(name.lower())

    @property
    def read_only(self) -> bool:
        return self.mutability == "readOnly"

    def to_scim(self) -> dict[str, Any]:
        """The attribute as RFC 7643 §7 describes it in a ``/Schemas`` resource."""
        body: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "mutability": self.mutability,
            "returned": self.returned,
        }
        if self.type in ("string", "reference", "binary"):
            body["caseExact"] = self.case_exact
        if self.type != "complex":
            body["uniqueness"] = self.uniqueness
        if self.canonical_values:
            body["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            body["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            body["subAttributes"] = [sub.to_scim() for sub in self.sub_attributes]
        return body


@dataclass(frozen=True, slots=True)
class Schema:
    """A core or extension schema: its URN and top-level attributes."""

    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    _by_key: dict[str, Attribute] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_key.update({attribute.name.lower(): attribute for attribute in self.attributes})

    def attribute(self, name: str) -> Attribute | None:
        return self._by_key.get(name.lower())

    def to_scim(self, location: str) -> dict[str, Any]:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [attribute.to_scim() for attribute in self.attributes],
            "meta": {"resourceType": "Schema", "location": location},
        }


@dataclass(frozen=True, slots=True)
class SchemaExtension:
    schema: Schema
    required: bool = False


@dataclass(frozen=True, slots=True)
class ResourceType:
    """A SCIM resource type (RFC 7643 §6): endpoint, core schema, extensions."""

    id: str
    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[SchemaExtension, ...] = ()
    # What becomes of an attribute none of its schemas defines: "reject" (400), "keep" (stored as
    # received) or "ignore" (dropped); the organisation's policy.
    undeclared: str = "reject"

    @property
    def schemas(self) -> tuple[Schema, ...]:
        return (self.schema, *(extension.schema for extension in self.extensions))

    def extension(self, urn: str) -> Schema | None:
        lowered = urn.lower()
        return next((ext.schema for ext in self.extensions if ext.schema.id.lower() == lowered), None)

    def to_scim(self, location: str) -> dict[str, Any]:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.id,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": [{"schema": ext.schema.id, "required": ext.required} for ext in self.extensions],
            "meta": {"resourceType": "ResourceType", "location": location},
        }
