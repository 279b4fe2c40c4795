"""Batches as readers see them: a set union whatever their number, with counters that
match the data, each batch replaceable and retractable on its own (issue 14, items 3, 14)."""

from __future__ import annotations

import hashlib
import statistics
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Literal, URIRef

from qualitas.demo import demo_graph
from qualitas.demo.scenario import COMPLAINT_A, COMPLAINT_B, COMPLAINT_C
from qualitas.edge_adapters._model import Observation
from qualitas.edge_adapters.graph import observation_triples, write_batch
from qualitas.errors import NotFoundError
from qualitas.ontology import ONTOLOGY_FILE
from qualitas.reasoning.trace import reverse_trace
from qualitas.store import GraphStore, OxigraphStore, open_store

EX = "http://example.com/"
META = "https://w3id.org/qualitas/graph/meta"


def _t(s: str, p: str, o: str) -> tuple[URIRef, URIRef, URIRef]:
    return URIRef(EX + s), URIRef(EX + p), URIRef(EX + o)


def _load(store: GraphStore, source: str, *triples: tuple[URIRef, URIRef, URIRef | Literal]) -> None:
    sha = hashlib.sha256(repr(sorted(triples)).encode()).hexdigest()
    store.load_triples(list(triples), source=source, sha256=sha, agent="test", format="test")


def _truth(store: GraphStore) -> int:
    """The distinct triples of the current batches, counted the slow way."""
    rows = store.select(
        f"""SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?p ?o WHERE {{
            GRAPH <{META}> {{ ?g a q:IngestBatch }} GRAPH ?g {{ ?s ?p ?o }} }} }}"""
    )
    return int(str(rows[0]["n"]))


def _objects(store: GraphStore) -> list[str]:
    return [str(r["o"]) for r in store.select(f"SELECT ?o WHERE {{ <{EX}a> <{EX}p> ?o }} ORDER BY ?o")]


def test_a_triple_in_two_batches_is_seen_once_and_outlives_either() -> None:
    store = open_store(None)
    _load(store, "one", _t("a", "p", "shared"), _t("a", "p", "only-one"))
    _load(store, "two", _t("a", "p", "shared"), _t("a", "p", "only-two"))
    # SPARQL's default graph is a set merge: the shared triple is one row, one count.
    assert _objects(store) == [EX + "only-one", EX + "only-two", EX + "shared"]
    assert store.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ <{EX}a> ?p ?o }}") == [{"n": 3}]
    assert (store.triple_count(), store.batch_count()) == (3, 2)

    # Replacing batch one with content that drops the shared triple keeps it (batch two has it).
    _load(store, "one", _t("a", "p", "new-one"))
    assert _objects(store) == [EX + "new-one", EX + "only-two", EX + "shared"]
    assert (store.triple_count(), store.batch_count()) == (3, 2)

    # Retracting batch two: now the shared triple goes with it.
    result = store.retract("two")
    assert (result.status, result.triples, result.previous_triples) == ("retracted", 0, 2)
    assert _objects(store) == [EX + "new-one"]
    assert [b.source for b in store.batches()] == ["one"]
    assert store.batch("two") is None
    assert store.batch("one") == store.batches()[0]
    assert (store.triple_count(), store.batch_count()) == (1, 1) == (_truth(store), len(store.batches()))


def test_the_counters_follow_every_kind_of_write(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    lots = tmp_path / "lots.ttl"
    lots.write_text(f'<{EX}a> <{EX}p> <{EX}shared> .\n<{EX}lot> <{EX}n> "L1" .\n', encoding="utf-8")
    store.load_file(lots, agent="test")
    _load(store, "edge:1", _t("a", "p", "shared"), _t("x", "y", "z"))
    _load(store, "edge:2", _t("x", "y", "z"))
    lots.write_text(f'<{EX}lot> <{EX}n> "L2" .\n', encoding="utf-8")
    store.load_file(lots, agent="test")  # replace
    store.load_file(lots, agent="test")  # unchanged
    store.retract("edge:2")
    expected = (_truth(store), len(store.batches()))
    assert (store.triple_count(), store.batch_count()) == expected == (3, 2)
    store.close()
    with open_store(tmp_path / "s", read_only=True) as view:
        assert (view.triple_count(), view.batch_count()) == expected
        assert view.select(f"SELECT ?n WHERE {{ <{EX}lot> <{EX}n> ?n }}") == [{"n": "L2"}]


def test_retracting_an_unknown_source_is_refused_and_changes_nothing() -> None:
    store = open_store(None)
    _load(store, "one", _t("a", "p", "b"))
    before = store.snapshot()
    with pytest.raises(NotFoundError, match="no batch with source 'two'"):
        store.retract("two")
    assert store.snapshot() == before


def test_a_store_of_the_older_layout_is_read_as_before_and_upgraded_when_opened_for_writing(tmp_path: Path) -> None:
    """Before the default graph held the live data, a store had only batch graphs and
    their metadata; such a store must keep working."""
    path = tmp_path / "old"
    raw = ox.Store(str(path))
    graph = ox.NamedNode(OxigraphStore.batch_graph("old.ttl", "0" * 64))
    raw.add(ox.Quad(ox.NamedNode(EX + "a"), ox.NamedNode(EX + "p"), ox.NamedNode(EX + "b"), graph))
    raw.add(
        ox.Quad(
            ox.NamedNode(EX + "orphan"),
            ox.NamedNode(EX + "p"),
            ox.NamedNode(EX + "b"),
            ox.NamedNode(OxigraphStore.batch_graph("killed.ttl", "1" * 64)),
        )
    )
    raw.update(
        f"""PREFIX q: <https://w3id.org/qualitas/ontology#> PREFIX prov: <http://www.w3.org/ns/prov#>
        INSERT DATA {{ GRAPH <{META}> {{ <{graph.value}> a q:IngestBatch , prov:Entity ; q:source "old.ttl" ;
            q:sha256 "{"0" * 64}" ; q:format "turtle" ; q:tripleCount 1 ;
            prov:wasAttributedTo <{EX}agent> ;
            prov:generatedAtTime "2025-01-01T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .
            <{EX}agent> prov:label "old" . }} }}"""
    )
    raw.flush()
    del raw
    with open_store(path, read_only=True) as view:
        assert view.select(f"SELECT ?s WHERE {{ ?s <{EX}p> ?o }}") == [{"s": EX + "a"}]
        assert (view.triple_count(), view.batch_count()) == (1, 1)
    with open_store(path) as store:
        assert store.select(f"SELECT ?s WHERE {{ ?s <{EX}p> ?o }}") == [{"s": EX + "a"}]
        assert (store.triple_count(), store.batch_count()) == (1, 1)
        _load(store, "new", _t("c", "p", "d"))
        assert (store.triple_count(), store.batch_count()) == (2, 2) == (_truth(store), 2)


# ---------------------------------------------------------------- item 3: the ratio


def _demo_store() -> GraphStore:
    """The demo data set as ``qualitas demo load`` writes it (ontology, then demo), in
    memory: the same query engine as on disk, and 10,000 commits take a third of the
    time (``bench/batches.py`` measures the store on disk)."""
    store = open_store(None)
    store.load_file(ONTOLOGY_FILE, format="turtle", source="qualitas-ontology.ttl", agent="test")
    sha = hashlib.sha256(b"qualitas-demo").hexdigest()
    store.load_triples(demo_graph(), source="qualitas-demo", sha256=sha, agent="test", format="generated")
    return store


def _edge_batches(store: GraphStore, count: int) -> None:
    """``count`` batches of one observation each, written as ``recordObservations`` writes
    them (``write_batch`` -> ``load_triples``, one batch and one source per call)."""
    for i in range(count):
        obs = Observation(equipment="press-7", parameter="force", value=float(i), ts=1_700_000_000 + i, unit="N")
        write_batch(store, observation_triples(obs, agent="edge"), source=f"edge:test:{i:05d}", agent="edge")


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[round(0.95 * (len(ordered) - 1))]


@pytest.mark.slow
def test_trace_p95_with_10000_batches_stays_within_1_5x_of_the_p95_with_10() -> None:
    few, many = _demo_store(), _demo_store()
    _edge_batches(few, 10)
    _edge_batches(many, 10_000)
    assert many.batch_count() == 10_002 and len(many.batches()) == 10_002
    # The batches are real and visible: every observation, through the default graph.
    observations = "SELECT (COUNT(*) AS ?n) WHERE { ?o a q:ParameterObservation }"
    assert int(many.select(observations)[0]["n"]) - int(few.select(observations)[0]["n"]) == 9_990  # type: ignore[call-overload]

    complaints = (COMPLAINT_A, COMPLAINT_B, COMPLAINT_C)
    assert [len(reverse_trace(few, c).runs) for c in complaints] == [
        len(reverse_trace(many, c).runs) for c in complaints
    ]
    timings: dict[str, list[float]] = {"few": [], "many": []}
    # Alternate the two stores, so that load from other processes falls on both alike,
    # and time the CPU of this thread (queries run in it), not the waits for a core.
    for k in range(60):
        for name, store in (("few", few), ("many", many)):
            t0 = time.thread_time()
            reverse_trace(store, complaints[k % 3])
            timings[name].append(time.thread_time() - t0)
    few_p95, many_p95 = _p95(timings["few"]), _p95(timings["many"])
    ratio = many_p95 / few_p95
    print(
        f"trace p95: {few_p95 * 1000:.1f} ms with 10 batches, {many_p95 * 1000:.1f} ms with 10,000 "
        f"(p50 {statistics.median(timings['few']) * 1000:.1f} / {statistics.median(timings['many']) * 1000:.1f} ms): "
        f"{ratio:.2f}x"
    )
    assert ratio <= 1.5, f"trace p95 {ratio:.2f}x slower with 10,000 batches than with 10"
    few.close()
    many.close()
