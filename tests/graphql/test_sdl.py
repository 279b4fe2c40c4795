"""The committed SDL (``schema.graphql``) is the schema the code builds."""

from __future__ import annotations

import difflib
from pathlib import Path

from qualitas.graphql.schema import sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_committed_sdl_matches_the_schema() -> None:
    assert SCHEMA_FILE.exists(), "schema.graphql is missing: run `qualitas schema > schema.graphql`"
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    current = sdl()
    if committed != current:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                current.splitlines(keepends=True),
                "schema.graphql (committed)",
                "sdl() (code)",
                n=1,
            )
        )
        raise AssertionError(f"schema.graphql is stale: run `qualitas schema > schema.graphql`\n{diff[:4000]}")
