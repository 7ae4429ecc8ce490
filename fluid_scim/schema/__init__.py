"""SCIM schemas, resource types and attribute resolution (pure: no Flask, no database)."""

from fluid_scim.schema.attributes import Attribute, ResourceType, Schema, SchemaExtension
from fluid_scim.schema.definitions import (
    ENTERPRISE_URN,
    ENTERPRISE_USER,
    FLUID_URN,
    FLUID_USER,
    GROUP,
    GROUP_RESOURCE,
    GROUP_URN,
    RESOURCE_TYPES,
    SCHEMAS,
    USER,
    USER_RESOURCE,
    USER_URN,
)
from fluid_scim.schema.resolve import Resolved, UnknownAttribute, resolve

__all__ = [
    "ENTERPRISE_URN",
    "ENTERPRISE_USER",
    "FLUID_URN",
    "FLUID_USER",
    "GROUP",
    "GROUP_RESOURCE",
    "GROUP_URN",
    "RESOURCE_TYPES",
    "SCHEMAS",
    "USER",
    "USER_RESOURCE",
    "USER_URN",
    "Attribute",
    "Resolved",
    "ResourceType",
    "Schema",
    "SchemaExtension",
    "UnknownAttribute",
    "resolve",
]
