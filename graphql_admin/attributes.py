"""The organisation's directory attributes in the admin API: declared custom attributes and undeclared ones.

Query ``directoryAttributes``: the declarations (which join the organisation's ``/Schemas`` and
``/ResourceTypes``), the undeclared-attribute policy, and the attributes its directory sends that
Fluid does not know. Mutations ``declareAttribute``, ``changeAttribute``, ``removeAttribute`` and
``setUndeclaredPolicy``; each says what became of the values users already hold
(:mod:`fluid_scim.services.directory_attributes`).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.permission import BasePermission

from fluid_scim.errors import NotFound as NotFoundError
from fluid_scim.models import AttributeDeclaration as DeclarationModel
from fluid_scim.models import Organisation as OrganisationModel
from fluid_scim.models import UndeclaredAttribute as UndeclaredModel
from fluid_scim.services import directory_attributes
from fluid_scim.services import users as user_service
from graphql_admin.context import Info
from graphql_admin.copying import copied
from graphql_admin.directory import User
from graphql_admin.errors import Conflict, InvalidInput, NotAllowed, NotFound
from graphql_admin.permissions import IsOrganisationAdmin, as_admin, own_organisation

_ADMIN: list[type[BasePermission]] = [IsOrganisationAdmin]
#: Most undeclared attributes one query lists (an organisation keeps at most 100 distinct ones).
MAX_UNDECLARED = 100
_INT_MAX = 2**31 - 1


@strawberry.enum(description="The type of a declared attribute's values (RFC 7643 §2.3).")
class AttributeType(Enum):
    STRING = "string"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE_TIME = "dateTime"


@strawberry.enum(description="What SCIM does with an attribute no schema of the organisation defines.")
class UndeclaredPolicy(Enum):
    KEEP = "keep"
    IGNORE = "ignore"
    REJECT = "reject"


@strawberry.type(description="A custom User attribute the organisation declared; /Schemas advertises it.")
class AttributeDeclaration:
    id: strawberry.ID
    path: str = strawberry.field(description="The full path SCIM clients use: '<extension URN>:<name>', or a plain name.")
    schema_urn: str | None = strawberry.field(description="The extension schema; null for a top-level name.")
    name: str
    type: AttributeType
    multi_valued: bool
    case_exact: bool
    description: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: DeclarationModel) -> AttributeDeclaration:
        return copied(
            cls, row, path=f"{row.schema_urn}:{row.name}" if row.schema_urn else row.name,
            schema_urn=row.schema_urn or None, type=AttributeType(row.type),
        )


@strawberry.type(description="An attribute the organisation's directory sends that Fluid does not know (not declared).")
class UndeclaredAttribute:
    path: str
    resource_type: str = strawberry.field(description="User or Group.")
    value_kind: str = strawberry.field(
        description="The JSON kind of the last value seen: string, number, boolean, object, array."
    )
    first_seen_at: datetime
    last_seen_at: datetime
    seen_count: int = strawberry.field(description="How many times a resource was written with it.")
    example_resource_id: str | None = strawberry.field(description="The last resource seen with it.")

    @classmethod
    def of(cls, row: UndeclaredModel) -> UndeclaredAttribute:
        return copied(cls, row, seen_count=min(row.seen_count, _INT_MAX))

    @strawberry.field(description="The example resource, when it is a user that still exists.")
    def example_user(self, info: Info) -> User | None:
        if self.resource_type != "User" or not self.example_resource_id:
            return None
        try:
            return User.of(user_service.get_user(organisation=own_organisation(info), user_id=self.example_resource_id))
        except NotFoundError:
            return None


@strawberry.type(description="The organisation's declared custom attributes and what happens to undeclared ones.")
class DirectoryAttributes:
    organisation: strawberry.Private[OrganisationModel]

    @strawberry.field(description="Declared attributes, by path (at most 100).")
    def declarations(self) -> list[AttributeDeclaration]:
        rows = directory_attributes.declarations(organisation=self.organisation)
        return [AttributeDeclaration.of(row) for row in rows]

    @strawberry.field(description="keep (stored as received and listed), ignore (dropped, recorded) or reject (400).")
    def undeclared_policy(self) -> UndeclaredPolicy:
        return UndeclaredPolicy(self.organisation.undeclared_policy or "keep")

    @strawberry.field(description="Attributes your directory sends that Fluid does not know: most recently seen first.")
    def undeclared_attributes(self, first: int | None = None) -> list[UndeclaredAttribute]:
        limit = MAX_UNDECLARED if first is None else max(1, min(first, MAX_UNDECLARED))
        rows = directory_attributes.undeclared(organisation=self.organisation, limit=limit)
        return [UndeclaredAttribute.of(row) for row in rows]


@strawberry.type(description="What a change did to the values users already hold at the path.")
class StoredValues:
    converted: int = strawberry.field(
        description="Values kept: converted to the declared type, or (on removal) kept as undeclared values."
    )
    dropped: int = strawberry.field(description="Values dropped or deleted; each is recorded in its user's history.")

    @classmethod
    def of(cls, stored: directory_attributes.StoredValues) -> StoredValues:
        return cls(converted=stored.converted, dropped=stored.dropped)


@strawberry.type
class AttributeDeclared:
    declaration: AttributeDeclaration
    stored_values: StoredValues


@strawberry.type
class AttributeRemoved:
    path: str
    stored_values: StoredValues


@strawberry.input(description="A custom attribute to declare, or a declaration's new characteristics.")
class AttributeInput:
    path: str = strawberry.field(
        description="'urn:ietf:params:scim:schemas:extension:<Name>:2.0:User:<attribute>', or a plain top-level name."
    )
    type: AttributeType = AttributeType.STRING
    multi_valued: bool = False
    case_exact: bool = False
    description: str = ""
    drop_mismatched: bool = strawberry.field(
        default=False,
        description="Drop (and record) the stored values that do not fit the type; otherwise such values refuse the change.",
    )

    def spec(self) -> directory_attributes.Spec:
        return directory_attributes.Spec(
            path=self.path, type=self.type.value, multi_valued=self.multi_valued, case_exact=self.case_exact,
            description=self.description,
        )


DeclareAttributeResult = Annotated[
    AttributeDeclared | InvalidInput | Conflict | NotAllowed, strawberry.union("DeclareAttributeResult")
]
ChangeAttributeResult = Annotated[
    AttributeDeclared | InvalidInput | NotFound | NotAllowed, strawberry.union("ChangeAttributeResult")
]
RemoveAttributeResult = Annotated[
    AttributeRemoved | InvalidInput | NotFound | NotAllowed, strawberry.union("RemoveAttributeResult")
]
SetUndeclaredPolicyResult = Annotated[
    DirectoryAttributes | InvalidInput | NotAllowed, strawberry.union("SetUndeclaredPolicyResult")
]


@strawberry.type
class AttributeQueries:
    @strawberry.field(permission_classes=_ADMIN, description="Declared custom attributes, the undeclared policy and list.")
    def directory_attributes(self, info: Info) -> DirectoryAttributes:
        return DirectoryAttributes(organisation=own_organisation(info))


@strawberry.type
class AttributeMutations:
    @strawberry.mutation(
        description="Declare a custom attribute. Values users already hold at the path are converted to the type; "
        "when some do not fit, nothing changes (the message says how many) unless dropMismatched."
    )
    def declare_attribute(self, info: Info, input: AttributeInput) -> DeclareAttributeResult:
        def change(organisation: OrganisationModel) -> AttributeDeclared:
            row, stored = directory_attributes.declare(
                organisation=organisation, spec=input.spec(), drop_mismatched=input.drop_mismatched
            )
            return AttributeDeclared(declaration=AttributeDeclaration.of(row), stored_values=StoredValues.of(stored))

        return as_admin(info, change, InvalidInput, Conflict)

    @strawberry.mutation(description="Change a declaration's type or characteristics; stored values as for declareAttribute.")
    def change_attribute(self, info: Info, input: AttributeInput) -> ChangeAttributeResult:
        def change(organisation: OrganisationModel) -> AttributeDeclared:
            row, stored = directory_attributes.change(
                organisation=organisation, spec=input.spec(), drop_mismatched=input.drop_mismatched
            )
            return AttributeDeclared(declaration=AttributeDeclaration.of(row), stored_values=StoredValues.of(stored))

        return as_admin(info, change, InvalidInput, NotFound)

    @strawberry.mutation(
        description="Remove a declaration. Its values stay as undeclared ones, or are deleted (each recorded) with deleteValues."
    )
    def remove_attribute(self, info: Info, path: str, delete_values: bool) -> RemoveAttributeResult:
        def change(organisation: OrganisationModel) -> AttributeRemoved:
            stored = directory_attributes.remove(organisation=organisation, path=path, delete_values=delete_values)
            return AttributeRemoved(path=path, stored_values=StoredValues.of(stored))

        return as_admin(info, change, InvalidInput, NotFound)

    @strawberry.mutation(description="What SCIM does with attributes the organisation has not declared.")
    def set_undeclared_policy(self, info: Info, policy: UndeclaredPolicy) -> SetUndeclaredPolicyResult:
        def change(organisation: OrganisationModel) -> DirectoryAttributes:
            directory_attributes.set_policy(organisation=organisation, policy=policy.value)
            return DirectoryAttributes(organisation=organisation)

        return as_admin(info, change, InvalidInput)
