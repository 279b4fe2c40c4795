"""Core queries through the merged schema, in process."""

from __future__ import annotations

from qualitas.graphql.schema import build_schema
from qualitas.store import GraphStore


def test_complaint_by_id_and_unknown_complaint(demo_store: GraphStore) -> None:
    schema = build_schema()
    found = schema.execute_sync(
        '{ complaint(id: "CMP-2025-0057") { serial market } }', context_value={"store": demo_store}
    )
    assert found.errors is None and found.data == {"complaint": {"serial": "LFVEV5A26R0005128", "market": "CN"}}
    missing = schema.execute_sync('{ complaint(id: "NOPE") { serial } }', context_value={"store": demo_store})
    assert missing.errors and missing.errors[0].extensions["code"] == "NOT_FOUND"  # type: ignore[index]
