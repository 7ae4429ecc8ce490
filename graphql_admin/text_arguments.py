"""The control-character rule (:mod:`fluid_scim.text`) for every string argument of the admin API.

A mutation checks the arguments of its own field in :func:`graphql_admin.permissions.as_admin` /
``as_operator`` and answers ``InvalidInput`` (or, when its union has no such member, a
``BAD_USER_INPUT`` error); queries are checked as a whole before they run by :class:`TextArguments`,
which answers a ``BAD_USER_INPUT`` error. So a NUL never reaches the database (PostgreSQL cannot
store or compare one) and a caller's mistake is never masked as "Unexpected error.".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode, OperationType, StringValueNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

from fluid_scim.text import refusal

BAD_USER_INPUT = "BAD_USER_INPUT"


def _strings(value: Any, label: str) -> Iterator[tuple[str, str]]:
    """(label, text) of every string inside an argument value (lists and input objects included)."""
    if isinstance(value, str):
        yield label, value
    elif isinstance(value, Mapping):
        for name, item in value.items():
            yield from _strings(item, f"{label}.{name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{label}[{index}]")


def refused_argument(arguments: Mapping[str, Any]) -> str | None:
    """The detail refusing the first string of ``arguments`` (name -> value) the rule refuses, or None."""
    for name, value in arguments.items():
        for label, text in _strings(value, name):
            detail = refusal(text, label)
            if detail is not None:
                return detail
    return None


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.found.append(node.value)


class TextArguments(SchemaExtension):
    """Refuse a query whose literals or variables hold a character the rule refuses (mutations: see above)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and not context.result and not _is_mutation(document, context.operation_name):
            literals = _Literals()
            visit(document, literals)
            in_query = (refusal(text, "a string of the query") for text in literals.found)
            detail = next((found for found in in_query if found), None) or refused_argument(context.variables or {})
            if detail is not None:
                error = GraphQLError(detail, extensions={"code": BAD_USER_INPUT})
                context.result = ExecutionResult(data=None, errors=[error])  # set before execution: Strawberry skips it
        yield


def _is_mutation(document: Any, operation_name: str | None) -> bool:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)]
    return bool(chosen) and chosen[0].operation == OperationType.MUTATION
