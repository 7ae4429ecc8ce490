"""The admin API's schema, and the limits each process puts on it.

``schema`` (default settings) is what ``schema.graphql`` is printed from; a test fails when the
two drift. Regenerate the file after changing a type::

    .venv/bin/python -m graphql_admin.schema > graphql_admin/schema.graphql

The app builds its own with :func:`build_schema`, whose extensions follow the settings: the depth
and cost limits, introspection (off by default in production) and masked errors.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.printer import print_schema
from strawberry.schema.config import StrawberryConfig

from fluid_scim.config import Settings
from graphql_admin.errors import UNEXPECTED, should_mask_error
from graphql_admin.mutations import Mutation
from graphql_admin.queries import Query
from graphql_admin.query_limits import CostLimit, LiteralRange, list_costs
from graphql_admin.text_arguments import TextArguments

# Far beyond any real query; stops a huge document before it is even parsed into an AST.
MAX_TOKENS = 20_000
log = logging.getLogger(__name__)


class AdminSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log what gets masked, with its traceback; the caller's own mistakes are not server errors.

        The message names the field, never the query text (whose literals may hold a token).
        """
        for error in errors:
            if should_mask_error(error):
                path = ".".join(str(part) for part in error.path or ())
                log.error("unexpected error in the admin API at %s", path or "(operation)", exc_info=error.original_error)


def build_schema(settings: Settings) -> AdminSchema:
    extensions: list[Callable[[], SchemaExtension]] = [
        functools.partial(MaskErrors, should_mask_error=should_mask_error, error_message=UNEXPECTED),
        functools.partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        LiteralRange,
        functools.partial(QueryDepthLimiter, max_depth=settings.graphql_max_depth),
        functools.partial(CostLimit, max_cost=settings.graphql_max_cost, max_page_size=settings.graphql_max_page_size),
        TextArguments,
    ]
    if not settings.graphql_introspection:
        extensions.append(DisableIntrospection)
    built = AdminSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        # Suggestions ("did you mean …?") would describe the schema that introspection hides.
        config=StrawberryConfig(disable_field_suggestions=not settings.graphql_introspection),
    )
    list_costs(built._schema)  # a list field without a cost rule stops the build (UncostedList)
    return built


schema = build_schema(Settings())


if __name__ == "__main__":
    print(print_schema(schema))
