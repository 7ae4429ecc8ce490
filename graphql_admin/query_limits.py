"""Limits on what one request may ask for, checked from the query before anything runs.

The cost: every field costs 1, and a field returning a list multiplies the cost of what it selects
by how long that list can be. Which fields those are, and how long, is read from the schema itself
(:func:`list_costs`), so no list can be forgotten:

- a field with a ``first`` argument is paged: its page is ``first`` (the default page when absent,
  at most the largest page). So ``users(first: 100) { edges { node { accessTrail(first: 100) … } } }``
  costs about 100 * 100 * its leaves and is refused before a single row is read;
- the ``edges`` of a connection are that page, already counted by the field that returns it;
- any other list of objects must have a bound in :data:`LIST_BOUNDS` (the most rows the service
  keeps or returns); :func:`list_costs` raises when one has none, so the schema is not even built;
- lists of scalars (roles, event types) are leaves: their length is bounded where they are stored.

The admin console's screens cost a few hundred. Depth is limited separately (``QueryDepthLimiter``),
and so is the length of integer literals (:class:`LiteralRange`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    is_interface_type,
    is_leaf_type,
    is_list_type,
    is_object_type,
    visit,
)
from strawberry.extensions import SchemaExtension

from fluid_scim.schema.custom import PER_RESOURCE
from fluid_scim.services.access_admin import MAX_ATTRIBUTE_RULES, MAX_ROLE_MAPPINGS
from fluid_scim.services.directory_attributes import DECLARATIONS_PER_ORGANISATION
from fluid_scim.services.webhooks import MAX_ENDPOINTS
from graphql_admin.attributes import MAX_UNDECLARED
from graphql_admin.mutations import MAX_IMPORT_ROWS
from graphql_admin.pagination import DEFAULT_PAGE_SIZE
from graphql_admin.setup_checklist import MAX_STEPS

#: Longest integer literal read from a query: an ``Int`` is 32 bits (11 characters with its sign).
MAX_INT_LITERAL = 50


@dataclass(frozen=True)
class ListCost:
    """How long a list field's answer can be.

    ``paged``: as long as its ``first`` argument (``default`` when absent; at most ``cap``, or the
    largest page when ``cap`` is None). Otherwise at most ``bound``, or, with ``argument``, as long
    as that list argument of the operation's root field (a mutation's report row per input row).
    """

    bound: int = 1
    paged: bool = False
    default: int = DEFAULT_PAGE_SIZE
    cap: int | None = None
    argument: str | None = None


#: Lists of objects without a ``first`` argument, and the most items each can have.
LIST_BOUNDS: dict[tuple[str, str], ListCost] = {
    ("Query", "webhookEndpoints"): ListCost(bound=MAX_ENDPOINTS),
    ("DirectoryAttributes", "declarations"): ListCost(bound=DECLARATIONS_PER_ORGANISATION),
    ("User", "customAttributes"): ListCost(bound=DECLARATIONS_PER_ORGANISATION + PER_RESOURCE),
    ("RoleMappings", "groups"): ListCost(bound=MAX_ROLE_MAPPINGS),
    ("RoleMappings", "appRoles"): ListCost(bound=MAX_ROLE_MAPPINGS),
    ("RoleMappings", "attributes"): ListCost(bound=MAX_ATTRIBUTE_RULES),
    ("ImportReport", "rows"): ListCost(bound=MAX_IMPORT_ROWS, argument="rows"),
    ("Query", "setupChecklist"): ListCost(bound=MAX_STEPS),
    ("SetupChecklistReset", "steps"): ListCost(bound=MAX_STEPS),
}
#: Paged fields whose default page is not :data:`DEFAULT_PAGE_SIZE`.
PAGE_DEFAULTS: dict[tuple[str, str], ListCost] = {
    ("DirectoryAttributes", "undeclaredAttributes"): ListCost(paged=True, default=MAX_UNDECLARED, cap=MAX_UNDECLARED),
}
_EDGES = ListCost(bound=1)  # a connection's page, counted by the field that returns the connection


class UncostedList(Exception):
    """A list field of the schema has no cost rule: give it a ``first`` argument or a bound."""


@functools.lru_cache(maxsize=16)
def list_costs(schema: GraphQLSchema) -> dict[tuple[str, str], ListCost]:
    """(type, field) -> :class:`ListCost` for every field of ``schema`` returning a list or taking ``first``.

    Raises :class:`UncostedList` for a list of objects that is neither paged nor bounded.
    """
    costs: dict[tuple[str, str], ListCost] = {}
    for type_name, named in schema.type_map.items():
        if type_name.startswith("__") or not (is_object_type(named) or is_interface_type(named)):
            continue
        for field_name, field in named.fields.items():
            key = (type_name, field_name)
            returns_list = is_list_type(get_nullable_type(field.type))
            if "first" in field.args:
                costs[key] = PAGE_DEFAULTS.get(key, ListCost(paged=True))
            elif returns_list and is_leaf_type(get_named_type(field.type)):
                continue  # a leaf: nothing below it is multiplied
            elif returns_list and field_name == "edges" and "pageInfo" in named.fields:
                costs[key] = _EDGES
            elif returns_list:
                if key not in LIST_BOUNDS:
                    raise UncostedList(f"{type_name}.{field_name} returns a list but has no first argument and no bound")
                costs[key] = LIST_BOUNDS[key]
    return costs


class LiteralRange(SchemaExtension):
    """Refuse an integer literal too long to read before validation reads it.

    graphql-core turns ``first: 999…`` (thousands of digits) into a Python ``int`` while validating,
    which stops with a ``ValueError`` past 4,300 digits; this answers the caller's mistake instead.
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.pre_execution_errors is None:
            errors = [
                GraphQLError(
                    f"Int cannot represent non 32-bit signed integer value: a number of {len(node.value)} digits",
                    nodes=[node],
                    extensions={"code": "BAD_USER_INPUT"},
                )
                for node in _long_integers(context.graphql_document)
            ]
            if errors:
                context.pre_execution_errors = errors  # validation then does not run
        yield


def _long_integers(document: DocumentNode) -> list[IntValueNode]:
    found: list[IntValueNode] = []

    class Finder(Visitor):
        def enter_int_value(self, node: IntValueNode, *_: Any) -> None:
            if len(node.value) > MAX_INT_LITERAL:
                found.append(node)

    visit(document, Finder())
    return found


class CostLimit(SchemaExtension):
    """Refuse an operation whose estimated cost exceeds ``max_cost`` (``FLUID_GRAPHQL_MAX_COST``)."""

    def __init__(self, *, max_cost: int, max_page_size: int) -> None:
        self.max_cost = max_cost
        self.max_page_size = max_page_size

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and not context.result:
            cost = operation_cost(
                context.schema._schema,
                document.definitions,
                operation_name=context.operation_name,
                variables=context.variables or {},
                max_page_size=self.max_page_size,
            )
            if cost > self.max_cost:
                message = f"the query costs {cost}, over the limit of {self.max_cost}: ask for smaller pages or fewer fields"
                error = GraphQLError(message, extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": self.max_cost})
                # A result set before execution makes Strawberry skip it.
                context.result = ExecutionResult(data=None, errors=[error])
        yield


def operation_cost(
    schema: GraphQLSchema, definitions: Any, *, operation_name: str | None, variables: Mapping[str, Any], max_page_size: int
) -> int:
    """The cost of the operation that runs (the named one, or the only one) of a validated document."""
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)]
    if not chosen:
        return 0
    root = schema.get_root_type(chosen[0].operation if chosen[0].operation else OperationType.QUERY)
    if root is None:
        return 0
    walker = _Walker(schema, fragments, variables, max_page_size)
    return walker.root_cost(root, chosen[0].selection_set)


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        max_page_size: int,
    ) -> None:
        self.schema = schema
        self.costs = list_costs(schema)
        self.fragments = fragments
        self.variables = variables
        self.max_page_size = max_page_size
        self.root_field: FieldNode | None = None

    def root_cost(self, root: Any, selection_set: SelectionSetNode) -> int:
        total = 0
        for field, parent in self.fields(root, selection_set, frozenset()):
            self.root_field = field
            total += self.field_cost(parent, field, frozenset())
        return total

    def fields(
        self, parent: Any, selection_set: SelectionSetNode | None, seen: frozenset[str]
    ) -> Iterator[tuple[FieldNode, Any]]:
        """The fields selected on ``parent``, through inline fragments and fragment spreads, with their type."""
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                yield from self.fields(self.condition(selection, parent), selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:  # validation already refused cycles
                    yield from self.fields(self.condition(fragment, parent), fragment.selection_set, seen | {name})

    def condition(self, fragment: InlineFragmentNode | FragmentDefinitionNode, parent: Any) -> Any:
        if fragment.type_condition is None:
            return parent
        return self.schema.get_type(fragment.type_condition.name.value) or parent

    def field_cost(self, parent: Any, field: FieldNode, seen: frozenset[str]) -> int:
        definition = getattr(parent, "fields", {}).get(field.name.value)
        if definition is None:  # __typename, or a field validation refused
            return 1
        child = get_named_type(definition.type)
        selected = self.fields(child, field.selection_set, seen)
        children = sum(self.field_cost(child_parent, node, seen) for node, child_parent in selected)
        return 1 + self.length(self.costs.get((parent.name, field.name.value)), field) * children

    def length(self, cost: ListCost | None, field: FieldNode) -> int:
        """How many items a list field can answer (1 for any other field)."""
        if cost is None:
            return 1
        if cost.paged:
            cap = self.max_page_size if cost.cap is None else cost.cap
            first = self.argument(field, "first")
            if not isinstance(first, int) or isinstance(first, bool):
                return min(cost.default, cap)
            return max(1, min(first, cap))
        if cost.argument is not None and self.root_field is not None:
            items = self.argument(self.root_field, cost.argument)
            if isinstance(items, list):
                return max(1, min(len(items), cost.bound))
        return cost.bound

    def argument(self, field: FieldNode, name: str) -> Any:
        """The value of an argument: an int or list literal, or a variable's value (None when absent)."""
        for argument in field.arguments or ():
            if argument.name.value != name:
                continue
            if isinstance(argument.value, IntValueNode):
                return int(argument.value.value)
            if isinstance(argument.value, ListValueNode):
                return list(argument.value.values)
            if isinstance(argument.value, VariableNode):
                return self.variables.get(argument.value.name.value)
        return None
