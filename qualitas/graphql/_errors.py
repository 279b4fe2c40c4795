"""Core errors as GraphQL errors: ``extensions.code`` from ``qualitas.errors.ERROR_TABLE``,
plus the error's context (file, line, field ...) as strings."""

from __future__ import annotations

from graphql import GraphQLError

from qualitas.errors import QualitasError, mapping_for


def graphql_error(exc: QualitasError) -> GraphQLError:
    extensions = {"code": mapping_for(exc).graphql_code, **{k: str(v) for k, v in exc.context.items()}}
    return GraphQLError(exc.message, extensions=extensions)
