"""The GraphQL API (strawberry on FastAPI)."""

from qualitas.graphql.app import create_app
from qualitas.graphql.schema import build_schema, sdl

__all__ = ["build_schema", "create_app", "sdl"]
