"""``/healthz`` answers from counters, never by counting the data, and neither it nor a
read-only view counts a load that was killed (issue 14, items 14 and 16)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest

from qualitas.demo import demo_graph
from qualitas.ontology import ONTOLOGY_FILE
from qualitas.settings import Settings
from qualitas.store import OxigraphStore, open_store
from tests.graphql.serving import serve


class _Recording:
    """The pyoxigraph store inside an ``OxigraphStore``, recording each SPARQL query."""

    def __init__(self, inner: ox.Store) -> None:
        self.inner, self.queries = inner, list[str]()

    def query(self, query: str, **options: Any) -> object:
        self.queries.append(query)
        return self.inner.query(query, **options)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.fixture()
def demo_dir(tmp_path: Path) -> Path:
    with open_store(tmp_path / "store") as store:
        store.load_file(ONTOLOGY_FILE, format="turtle", source="qualitas-ontology.ttl", agent="test")
        sha = hashlib.sha256(b"qualitas-demo").hexdigest()
        store.load_triples(demo_graph(), source="qualitas-demo", sha256=sha, agent="test", format="generated")
    return tmp_path / "store"


def test_healthz_reads_counters_and_counts_nothing(demo_dir: Path) -> None:
    store = open_store(demo_dir)
    assert isinstance(store, OxigraphStore)
    expected = {"triples": store.triple_count(), "batches": store.batch_count()}
    assert expected["triples"] > 2000 and expected["batches"] == 2
    recording = _Recording(store._store)
    store._store = recording  # type: ignore[assignment]
    with serve(Settings(store=demo_dir), store=store) as base:
        for _ in range(3):
            body = httpx.get(f"{base}/healthz", timeout=10).json()
            assert (body["status"], body["triples"], body["batches"]) == ("ok", expected["triples"], 2)
    # A health check must not touch the data: no aggregate, no pattern over all triples
    # (the counters are kept by the store object; there may be no query at all).
    for query in recording.queries:
        assert "COUNT(" not in query.upper() and "?s ?p ?o" not in query, query
    store.close()


def test_a_read_only_view_and_healthz_do_not_count_a_killed_load(demo_dir: Path) -> None:
    """The state a load killed after writing its data and before its switch leaves: a
    batch graph full of triples that no metadata points at (the next writable open
    drops it). Until then, readers must not see or count it."""
    with open_store(demo_dir, read_only=True) as view:
        expected = {"triples": view.triple_count(), "batches": view.batch_count()}
    raw = ox.Store(str(demo_dir))
    killed = ox.NamedNode(OxigraphStore.batch_graph("/data/big.nt", "f" * 64))
    raw.extend(
        ox.Quad(ox.NamedNode(f"http://example.com/lot{i}"), ox.NamedNode("http://example.com/p"), ox.Literal(i), killed)
        for i in range(5000)
    )
    raw.flush()
    del raw

    view = open_store(demo_dir, read_only=True)
    assert {"triples": view.triple_count(), "batches": view.batch_count()} == expected
    assert not view.ask("ASK { ?s <http://example.com/p> ?o }")
    with serve(Settings(store=demo_dir), store=view) as base:
        body = httpx.get(f"{base}/healthz", timeout=10).json()
    assert (body["triples"], body["batches"]) == (expected["triples"], expected["batches"])
    view.close()
