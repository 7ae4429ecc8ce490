"""A cost limit per request, computed from the query before anything runs.

Every field costs 1; a field with a ``first`` argument (a connection) multiplies the cost of what
it selects by the page size it asks for (the default page size when it asks for none, at most
the largest page). So ``users(first: 100) { edges { node { accessTrail(first: 100) … } } }``
costs about 100 * 100 * its leaves and is refused before a single row is read, while the admin
console's screens cost a few hundred. Depth is limited separately (``QueryDepthLimiter``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    visit,
)
from strawberry.extensions import SchemaExtension

from graphql_admin.pagination import DEFAULT_PAGE_SIZE

#: Longest integer literal read from a query: an ``Int`` is 32 bits (11 characters with its sign).
MAX_INT_LITERAL = 50


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
    definitions: Any, *, operation_name: str | None, variables: Mapping[str, Any], max_page_size: int
) -> int:
    """The cost of the operation that runs (the named one, or the only one) of a validated document."""
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)]
    if not chosen:
        return 0
    walker = _Walker(fragments, variables, max_page_size)
    return walker.selection_cost(chosen[0].selection_set)


class _Walker:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode], variables: Mapping[str, Any], max_page_size: int) -> None:
        self.fragments = fragments
        self.variables = variables
        self.max_page_size = max_page_size

    def selection_cost(self, selection_set: SelectionSetNode | None, seen: frozenset[str] = frozenset()) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(selection, seen)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_cost(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:  # validation already refused cycles
                    total += self.selection_cost(fragment.selection_set, seen | {name})
        return total

    def field_cost(self, field: FieldNode, seen: frozenset[str]) -> int:
        children = self.selection_cost(field.selection_set, seen)
        return 1 + self.page_size(field) * children

    def page_size(self, field: FieldNode) -> int:
        """The page a connection field asks for (1 for other fields), within the largest page."""
        for argument in field.arguments or ():
            if argument.name.value != "first":
                continue
            value: Any = None
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value)
            if not isinstance(value, int) or isinstance(value, bool):
                return min(DEFAULT_PAGE_SIZE, self.max_page_size)
            return max(1, min(value, self.max_page_size))
        if field.name.value in _CONNECTIONS:
            return min(DEFAULT_PAGE_SIZE, self.max_page_size)
        return 1


# Connection fields that take a default page size when ``first`` is left out.
_CONNECTIONS = frozenset({"users", "groups", "provisioningEvents", "heldDeprovisionings", "organisations", "accessTrail"})
