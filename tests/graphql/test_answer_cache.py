"""Read answers cached per store snapshot (:mod:`qualitas.graphql._answers`), over a real
uvicorn server: a repeated query is served from the cache, a load through ``loadFiles``
(a new source, then a changed version of it with as many rows) is seen by the next
query, and a caller who may not read an answer gets a refusal, never the cached bytes."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from qualitas.audit import open_audit_log
from qualitas.graphql._answers import AnswerCache, cacheable_root_fields
from qualitas.graphql.app import create_app
from qualitas.settings import Settings
from qualitas.store import open_store
from tests.conftest import load_demo
from tests.graphql.serving import issue_keys, serve_app

FIXTURES = Path(__file__).resolve().parents[1] / "ingest" / "fixtures"

COMPLAINT = """query ($id: String!) { complaint(id: $id) { complaintId market texts { lang text } } }"""
COMPLAINTS = "{ complaints { complaintId } }"
TRACE = """query ($id: String!) { trace(complaintId: $id) { unit { serial } findings { kind } } }"""
LOAD = """mutation ($files: [String!]!) { loadFiles(files: $files, replace: true, reason: "cache test") { id } }"""


@dataclass(frozen=True)
class Served:
    url: str
    keys: dict[str, str]
    answers: AnswerCache
    ingest_dir: Path
    settings: Settings


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    store = open_store(None)
    load_demo(store)
    ingest_dir = tmp_path / "drop"
    ingest_dir.mkdir()
    settings = Settings(store=tmp_path / "unused", ingest_dir=ingest_dir)
    keys = issue_keys(settings, ("engineer", "edge", "auditor"))
    app = create_app(settings, store=store)
    with serve_app(app) as base:
        yield Served(f"{base}/graphql", keys, app.state.answers, ingest_dir, settings)
    store.close()


def _post(served: Served, query: str, *, role: str | None = "engineer", **variables: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {served.keys[role]}"} if role else {}
    return httpx.post(served.url, json={"query": query, "variables": variables}, headers=headers, timeout=60)


def _gql(served: Served, query: str, *, role: str | None = "engineer", **variables: object) -> dict[str, Any]:
    response = _post(served, query, role=role, **variables)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _load(served: Served, name: str) -> None:
    """``loadFiles`` through the server, then wait for the job to end (it must succeed)."""
    body = _gql(served, LOAD, files=[name])
    assert "errors" not in body, body
    job = body["data"]["loadFiles"]["id"]
    deadline = time.monotonic() + 60
    while True:
        state = _gql(served, "query ($id: String!) { loadJob(id: $id) { state error } }", id=job)["data"]["loadJob"]
        if state["state"] in {"SUCCEEDED", "FAILED"}:
            assert state["state"] == "SUCCEEDED", state
            return
        assert time.monotonic() < deadline, "load job did not end"
        time.sleep(0.05)


def test_a_repeated_query_is_answered_from_the_cache_with_the_same_bytes(served: Served) -> None:
    first = _post(served, TRACE, id="CMP-2025-0057")
    hits = served.answers.hits
    second = _post(served, TRACE, id="CMP-2025-0057")
    assert served.answers.hits == hits + 1
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert second.headers["content-type"] == "application/json"
    assert [f["kind"] for f in second.json()["data"]["trace"]["findings"]] == ["calibration_invalid"]
    # other variables, another answer
    other = _gql(served, TRACE, id="CMP-2025-0001")
    assert other != second.json()


def test_no_stale_answer_after_a_load_through_the_server(served: Served) -> None:
    before = _gql(served, COMPLAINTS)["data"]["complaints"]
    assert _gql(served, COMPLAINTS)["data"]["complaints"] == before  # cached now
    assert "C-WPR-1" not in {c["complaintId"] for c in before}
    assert _gql(served, COMPLAINT, id="C-WPR-1")["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    shutil.copy(FIXTURES / "complaints.csv", served.ingest_dir / "complaints.csv")
    _load(served, "complaints.csv")
    after = {c["complaintId"] for c in _gql(served, COMPLAINTS)["data"]["complaints"]}
    assert {"C-WPR-1", "C-WPR-2"} <= after
    complaint = _gql(served, COMPLAINT, id="C-WPR-1")["data"]["complaint"]
    assert complaint["texts"][0]["text"] == "Der Wischer rattert bei Regen"
    assert _gql(served, COMPLAINT, id="C-WPR-1")["data"]["complaint"] == complaint  # and cached

    # A new version of the same source with as many rows (same counts in the store):
    # the answer changes with it.
    csv = served.ingest_dir / "complaints.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("rattert bei Regen", "quietscht bei Frost"), "utf-8")
    _load(served, "complaints.csv")
    texts = _gql(served, COMPLAINT, id="C-WPR-1")["data"]["complaint"]["texts"]
    assert texts[0]["text"] == "Der Wischer quietscht bei Frost"
    assert {c["complaintId"] for c in _gql(served, COMPLAINTS)["data"]["complaints"]} == after


def test_a_caller_who_may_not_read_never_gets_the_cached_answer(served: Served) -> None:
    _gql(served, TRACE, id="CMP-2025-0057")
    cached = _gql(served, TRACE, id="CMP-2025-0057")
    assert cached["data"]["trace"] is not None

    for _ in range(2):  # the edge role may not read traces, cached or not
        refused = _gql(served, TRACE, role="edge", id="CMP-2025-0057")
        assert refused["data"] is None
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = _gql(served, TRACE, role=None, id="CMP-2025-0057")
    assert anonymous["data"] is None
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    # a wrong key: 401 before anything runs, recorded in the audit trail
    wrong = httpx.post(
        served.url,
        json={"query": TRACE, "variables": {"id": "CMP-2025-0057"}},
        headers={"Authorization": "Bearer qk_0123456789ab_wrong"},
        timeout=30,
    )
    assert wrong.status_code == 401
    assert "trace" not in wrong.text
    trail = open_audit_log(served.settings)
    assert [r.what["keyId"] for r in trail.records(action="auth.refused")] == ["0123456789ab"]

    # an auditor may read it: same data, from its own entry
    assert _gql(served, TRACE, role="auditor", id="CMP-2025-0057") == cached


def test_errors_and_caller_specific_fields_are_not_cached(served: Served) -> None:
    stored = len(served.answers)
    for _ in range(2):
        assert _gql(served, TRACE, id="CMP-NOPE")["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert _gql(served, "{ whoami { name role } }")["data"]["whoami"]["role"] == "engineer"
    assert len(served.answers) == stored


@pytest.mark.parametrize(
    ("query", "operation", "fields"),
    [
        ('{ trace(complaintId: "x") { unit { serial } } }', None, ("trace",)),
        ("query A { products { id } } query B { whoami { name } }", "A", ("products",)),
        ("query A { products { id } } query B { whoami { name } }", "B", None),
        ("query A { products { id } } query B { products { id } }", None, None),  # which one: the server says
        ("{ ...F } fragment F on Query { lots { lotNumber } __typename }", None, ("__typename", "lots")),
        ("{ ...F } fragment F on Query { ...F }", None, None),
        ("{ products { id } whoami { name } }", None, None),
        ("{ loadJobs { id } }", None, None),
        ("{ auditTrail { edges { node { action } } } }", None, None),
        ('mutation { createUser(name: "x", role: "admin") { name } }', None, None),
        ("subscription { alerts { id } }", None, None),
        ("{ products { id ", None, None),
    ],
)
def test_what_may_be_cached(query: str, operation: str | None, fields: tuple[str, ...] | None) -> None:
    assert cacheable_root_fields(query, operation) == fields
