"""The extensions' per-field hooks run on root fields only where that is all they act on
(``qualitas.graphql.schema._RootFieldMiddleware``): nested fields still stop at the
operation's deadline, and an extension the schema does not know keeps seeing every field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strawberry.extensions import SchemaExtension

from qualitas.auth import Principal
from qualitas.graphql.audit import AuditExtension
from qualitas.graphql.schema import build_schema
from qualitas.graphql.security import extensions_for
from qualitas.settings import Settings
from qualitas.store import GraphStore

TRACE = '{ trace(complaintId: "CMP-2025-0057") { unit { serial } lots { lotNumber supplier { name } } } }'


def _context(store: GraphStore, settings: Settings) -> dict[str, Any]:
    return {"store": store, "settings": settings, "principal": Principal(name="eng", role="engineer")}


async def test_nested_fields_stop_at_the_deadline(demo_store: GraphStore, tmp_path: Any) -> None:
    settings = Settings(store=tmp_path / "unused", request_timeout_s=0.000001)
    schema = build_schema(extensions=[*extensions_for(settings), AuditExtension])
    # no resolver pool in the context: the root field runs inline, past the deadline already
    result = await schema.execute(TRACE, context_value=_context(demo_store, settings))
    assert result.errors
    assert {e.extensions["code"] for e in result.errors if e.extensions} == {"LIMIT_EXCEEDED"}
    assert all(len(e.path or ()) > 1 for e in result.errors)  # stopped below the root field


async def test_the_same_answer_with_a_generous_deadline(demo_store: GraphStore, tmp_path: Any) -> None:
    settings = Settings(store=tmp_path / "unused")
    schema = build_schema(extensions=[*extensions_for(settings), AuditExtension])
    result = await schema.execute(TRACE, context_value=_context(demo_store, settings))
    assert result.errors is None
    assert result.data is not None and result.data["trace"]["unit"]["serial"]


async def test_an_unknown_extension_sees_every_field(demo_store: GraphStore, tmp_path: Any) -> None:
    seen: list[str] = []

    class Counting(SchemaExtension):
        def resolve(self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    settings = Settings(store=tmp_path / "unused")
    schema = build_schema(extensions=[*extensions_for(settings), AuditExtension, Counting])
    result = await schema.execute(TRACE, context_value=_context(demo_store, settings))
    assert result.errors is None
    assert {"trace", "unit", "serial", "lotNumber", "name"} <= set(seen)
