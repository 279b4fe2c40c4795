"""Request limits against the real server: depth and cost bombs, aliases, page size, body
size, time limit, introspection in production, and a server that will not start with a
placeholder secret."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qualitas.graphql.schema import build_schema
from qualitas.graphql.security import query_cost
from qualitas.settings import Settings
from qualitas.store import open_store
from tests.graphql.serving import REPO, gql, issue_keys, serve

TRACE_FIELDS = """complaint { complaintId texts { lang text } }
  lots { lotNumber supplier { name } declarations { number } testReports { number }
         materialChecks { reported designed matches } }
  runs { runId equipment { equipmentId calibrations { number validUntil } }
         parameters { name actual withinTolerance } }
  nodes { id kind label } edges { source target relation } findings { kind messageEn }"""


def _codes(body: dict) -> set[str]:  # type: ignore[type-arg]
    return {e.get("extensions", {}).get("code", "NO_CODE") for e in body.get("errors") or []}


@pytest.fixture(scope="module")
def limited(demo_store_dir: Path) -> Iterator[tuple[str, str]]:
    """A server with small limits, beside the module's default server (read-only store)."""
    settings = Settings(
        store=demo_store_dir,
        max_query_depth=3,
        max_query_cost=500,  # a trace costs 100 before its selection (security.FIELD_COSTS)
        max_aliases=5,
        max_page_size=10,
        max_body_bytes=20_000,
    )
    key = issue_keys(settings, ("engineer",))["engineer"]
    with open_store(demo_store_dir, read_only=True) as store, serve(settings, store=store) as base:
        yield base, key


def test_default_limits_refuse_an_alias_bomb_of_traces(api_server: str, api_keys: dict[str, str]) -> None:
    one = f'trace(complaintId: "CMP-2025-0057") {{ {TRACE_FIELDS} }}'
    fine = gql(api_server, "{ " + one + " }", key=api_keys["engineer"])
    assert "errors" not in fine, fine
    for copies, refusal in ((40, "40 aliases found. Allowed: 30"), (25, "over the limit of 5000")):
        bomb = "{ " + " ".join(f"t{i}: {one}" for i in range(copies)) + " }"
        body = gql(api_server, bomb, key=api_keys["engineer"])
        assert body.get("data") is None
        assert refusal in " ".join(e["message"] for e in body["errors"]), body


def test_depth_bomb_is_refused_before_it_runs(limited: tuple[str, str]) -> None:
    base, key = limited
    deep = '{ trace(complaintId: "CMP-2025-0057") { runs { equipment { calibrations { number } } } } }'
    body = gql(base, deep, key=key)
    assert body.get("data") is None
    assert "exceeds maximum operation depth of 3" in body["errors"][0]["message"]
    shallow = '{ trace(complaintId: "CMP-2025-0057") { runs { runId } } }'
    assert "errors" not in gql(base, shallow, key=key)


def test_cost_and_alias_limits(limited: tuple[str, str]) -> None:
    base, key = limited
    one = """trace(complaintId: "CMP-2025-0057") { nodes { id kind label } edges { source target relation }
             findings { kind messageEn evidence } lots { lotNumber testReports { number issued } } }"""
    from graphql import parse

    cost, _ = query_cost(build_schema()._schema, parse("{ " + one + " }"), max_page_size=10)
    assert 2 * cost <= 500 < 3 * cost
    assert "errors" not in gql(base, "{ " + " ".join(f"t{i}: {one}" for i in range(2)) + " }", key=key)
    body = gql(base, "{ " + " ".join(f"t{i}: {one}" for i in range(3)) + " }", key=key)
    assert "LIMIT_EXCEEDED" in _codes(body) and body.get("data") is None
    [error] = [e for e in body["errors"] if "query cost" in e["message"]]
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "cost": 3 * cost, "maxCost": 500}
    body = gql(base, "{ " + " ".join(f"w{i}: whoami {{ name }}" for i in range(6)) + " }", key=key)
    assert "aliases" in body["errors"][0]["message"].lower()


def test_page_size_over_the_maximum_is_refused(limited: tuple[str, str]) -> None:
    schema = build_schema()
    connections = [
        name
        for name, field in schema._schema.query_type.fields.items()  # type: ignore[union-attr]
        if "first" in field.args
    ]
    if not connections:
        pytest.fail("the schema has no paginated (first:) fields")
    base, key = limited
    field = connections[0]
    body = gql(base, f"{{ {field}(first: 11) {{ __typename }} }}", key=key)
    assert body.get("data") is None
    assert "over the maximum page size 10" in body["errors"][0]["message"], body
    assert "errors" not in gql(base, f"{{ {field}(first: 10) {{ __typename }} }}", key=key)


def test_body_over_the_limit_is_413(limited: tuple[str, str]) -> None:
    base, key = limited
    padding = "#" + "x" * 30_000 + "\n"
    response = httpx.post(
        f"{base}/graphql",
        json={"query": padding + "{ whoami { name } }"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        yield b'{"query": "'
        for _ in range(30):
            yield b" " * 1000
        yield b'{ whoami { name } }"}'

    response = httpx.post(
        f"{base}/graphql",
        content=chunks(),
        timeout=10,
        headers={"Authorization": f"Bearer {key}", "content-type": "application/json"},
    )
    assert response.status_code == 413


def test_a_query_past_the_time_limit_is_stopped(demo_store_dir: Path) -> None:
    settings = Settings(store=demo_store_dir, request_timeout_s=0.000001)
    key = issue_keys(settings, ("engineer",))["engineer"]
    with open_store(demo_store_dir, read_only=True) as store, serve(settings, store=store) as base:
        body = gql(base, f'{{ trace(complaintId: "CMP-2025-0057") {{ {TRACE_FIELDS} }} }}', key=key)
    assert "LIMIT_EXCEEDED" in _codes(body)
    assert "time limit" in body["errors"][0]["message"]


def test_production_turns_introspection_and_graphiql_off(demo_store_dir: Path) -> None:
    settings = Settings(store=demo_store_dir, environment="production", secret_key="s" * 16 + "-not-a-placeholder-xyz")
    key = issue_keys(settings, ("engineer",))["engineer"]
    with open_store(demo_store_dir, read_only=True) as store, serve(settings, store=store) as base:
        body = gql(base, "{ __schema { types { name } } }", key=key)
        assert body.get("data") is None and "introspection" in body["errors"][0]["message"].lower()
        page = httpx.get(f"{base}/graphql", headers={"accept": "text/html"}, timeout=10)
        assert "graphiql" not in page.text.lower()
        assert "errors" not in gql(base, "{ products { modelNumber } }", key=key)


@pytest.mark.parametrize("secret", [None, "changethis", "too-short"])
def test_server_refuses_to_start_in_production_without_a_real_secret(tmp_path: Path, secret: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUALITAS_")}
    env["QUALITAS_ENVIRONMENT"] = "production"
    if secret is not None:
        env["QUALITAS_SECRET_KEY"] = secret
    done = subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(tmp_path / "store"), "serve", "--port", "1"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 78, done.stderr
    assert "QUALITAS_SECRET_KEY must be set to a real secret" in done.stderr


def test_query_cost_counts_page_sizes_and_lists() -> None:
    from graphql import parse

    schema = build_schema()._schema
    small, _ = query_cost(schema, parse("{ products { modelNumber } }"), max_page_size=100)
    nested, _ = query_cost(schema, parse("{ products { modelNumber bom { partNumber } } }"), max_page_size=100)
    assert small == 1 + 5 * 1
    assert nested == 1 + 5 * (1 + 1 + 5 * 1)
