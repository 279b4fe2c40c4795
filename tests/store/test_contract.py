"""The GraphStore contract. Every backend (``tests/store/conftest.py``) runs the same tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Literal, URIRef

from qualitas.errors import InputError, ParseError
from qualitas.store import GraphStore
from tests.store.conftest import StoreFactory

TTL = """@prefix ex: <http://example.com/> .
ex:lot1 ex:ofPart ex:partA ; ex:lotNumber "L1" .
ex:lot2 ex:ofPart ex:partA ; ex:lotNumber "L2" .
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_data_survives_a_restart(store_factory: StoreFactory, tmp_path: Path) -> None:
    data = _write(tmp_path / "lots.ttl", TTL)
    store = store_factory.make()
    result = store.load_file(data, agent="alice")
    assert (result.status, result.triples) == ("added", 4)
    reopened = store_factory.reopen(store)
    rows = reopened.select("SELECT ?n WHERE { ?l <http://example.com/lotNumber> ?n } ORDER BY ?n")
    assert [r["n"] for r in rows] == ["L1", "L2"]


def test_each_batch_has_prov_metadata(store_factory: StoreFactory, tmp_path: Path) -> None:
    data = _write(tmp_path / "lots.ttl", TTL)
    store = store_factory.make()
    store.load_file(data, agent="alice")
    [batch] = store.batches()
    assert batch.source == "lots.ttl"
    assert batch.agent == "alice"
    assert len(batch.sha256) == 64
    assert batch.triples == 4
    assert store.ask(
        f"""ASK {{ GRAPH <https://w3id.org/qualitas/graph/meta> {{
            <{batch.graph}> a prov:Entity ; prov:generatedAtTime ?t ; prov:wasAttributedTo ?a }} }}"""
    )
    # The data sits in the batch's own named graph.
    assert store.ask(f'ASK {{ GRAPH <{batch.graph}> {{ ?s <http://example.com/lotNumber> "L1" }} }}')


def test_loading_the_same_file_twice_changes_nothing(store_factory: StoreFactory, tmp_path: Path) -> None:
    data = _write(tmp_path / "lots.ttl", TTL)
    store = store_factory.make()
    store.load_file(data, agent="alice")
    before = store.snapshot()
    again = store.load_file(data, agent="bob")
    assert again.status == "unchanged"
    assert store.snapshot() == before


def test_a_changed_file_replaces_only_its_own_graph(store_factory: StoreFactory, tmp_path: Path) -> None:
    store = store_factory.make()
    store.load_file(_write(tmp_path / "lots.ttl", TTL), agent="a")
    store.load_file(_write(tmp_path / "other.ttl", '<http://x/a> <http://x/b> "keep" .\n'), agent="a")
    changed = store.load_file(
        _write(tmp_path / "lots.ttl", '@prefix ex: <http://example.com/> .\nex:lot3 ex:lotNumber "L3" .\n'),
        agent="a",
    )
    assert (changed.status, changed.triples, changed.previous_triples) == ("replaced", 1, 4)
    numbers = [r["n"] for r in store.select("SELECT ?n WHERE { ?l <http://example.com/lotNumber> ?n }")]
    assert numbers == ["L3"]
    assert store.ask('ASK { <http://x/a> <http://x/b> "keep" }')


def test_malformed_turtle_is_refused_with_file_and_line_and_store_unchanged(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    store = store_factory.make()
    store.load_file(_write(tmp_path / "lots.ttl", TTL), agent="a")
    before = store.snapshot()
    bad = _write(tmp_path / "bad.ttl", TTL + 'ex:lot4 ex:lotNumber "L4 .\nex:lot5 ex:lotNumber "L5" .\n')
    with pytest.raises(ParseError) as info:
        store.load_file(bad, agent="a")
    assert info.value.file is not None and info.value.file.endswith("bad.ttl")
    assert info.value.line == 4
    assert str(info.value).startswith(f"{bad}:4: ")
    assert store.snapshot() == before


def test_unknown_suffix_is_refused(store_factory: StoreFactory, tmp_path: Path) -> None:
    store = store_factory.make()
    with pytest.raises(InputError, match=r"data\.xyz.*--format"):
        store.load_file(_write(tmp_path / "data.xyz", TTL), agent="a")


def test_load_triples_is_one_batch(store_factory: StoreFactory) -> None:
    store: GraphStore = store_factory.make()
    triples = [(URIRef(f"http://x/{i}"), URIRef("http://x/p"), Literal(i)) for i in range(100)]
    result = store.load_triples(triples, source="gen", sha256="0" * 64, agent="a", format="generated")
    assert (result.status, result.triples) == ("added", 100)
    assert store.triple_count() == 100
    assert (
        store.load_triples(triples, source="gen", sha256="0" * 64, agent="a", format="generated").status == "unchanged"
    )


def test_a_failing_triple_stream_leaves_the_store_unchanged(store_factory: StoreFactory) -> None:
    store = store_factory.make()
    store.load_triples(
        [(URIRef("http://x/a"), URIRef("http://x/p"), Literal(1))], source="one", sha256="1", agent="a", format="g"
    )
    before = store.snapshot()

    def broken():  # type: ignore[no-untyped-def]
        yield (URIRef("http://x/b"), URIRef("http://x/p"), Literal(2))
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError):
        store.load_triples(broken(), source="two", sha256="2", agent="a", format="g")
    assert store.snapshot() == before


def test_generation_moves_with_every_write_and_only_then(store_factory: StoreFactory, tmp_path: Path) -> None:
    data = _write(tmp_path / "lots.ttl", TTL)
    store = store_factory.make()
    start = store.generation()
    assert start % 2 == 0
    store.select("SELECT * WHERE { ?s ?p ?o }")
    assert store.generation() == start  # reads move nothing
    store.load_file(data, agent="alice")
    loaded = store.generation()
    assert loaded > start and loaded % 2 == 0
    store.load_file(data, agent="alice")  # unchanged: nothing written
    assert store.generation() == loaded
    store.load_triples(
        [(URIRef("http://example.com/x"), URIRef("http://example.com/p"), Literal("1"))],
        source="x",
        sha256="0" * 64,
        agent="alice",
        format="test",
    )
    after_triples = store.generation()
    assert after_triples > loaded
    store.retract("x")
    assert store.generation() > after_triples
