"""The Bolt (Neo4j) backend against a real ArcadeDB server on 127.0.0.1: the CLI, trace
and recall scope give what the embedded store gives (GraphQL gap reports and packs:
``test_bolt_graphql.py``); the property graph is the n10s mapping of the live graph; a
server killed during a load keeps all of the batch or none of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Literal, URIRef

from qualitas.errors import StoreError
from qualitas.store import GraphStore, open_store
from qualitas.store._bolt import BoltStore, decode_literal, encode_literal
from tests.conftest import load_demo
from tests.store._arcadedb import (
    PASSWORD,
    USER,
    ArcadeServer,
    connection,
    create_database,
    start_server,
)

REPO = Path(__file__).resolve().parents[2]
XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.fixture(scope="module")
def bolt_demo(arcadedb_server: ArcadeServer) -> Iterator[BoltStore]:
    """The demo data in its own database on the session's server."""
    create_database(arcadedb_server, "demo")
    store = BoltStore(connection(arcadedb_server, "demo"))
    load_demo(store)
    yield store
    store.close()


def _cli(*args: str, store: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", store, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


# ---------------------------------------------------------------- the mapping


@pytest.mark.parametrize(
    "literal",
    [
        ox.Literal("L1"),
        ox.Literal("qa@example.com"),
        ox.Literal("a^^b"),
        ox.Literal("Beschwerde", language="de"),
        ox.Literal("x^^http://a/b", language="en"),
        ox.Literal("42", datatype=ox.NamedNode(XSD + "integer")),
        ox.Literal("042", datatype=ox.NamedNode(XSD + "integer")),
        ox.Literal("1.50", datatype=ox.NamedNode(XSD + "decimal")),
        ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean")),
        ox.Literal("2025-03-01T08:00:00+01:00", datatype=ox.NamedNode(XSD + "dateTime")),
        ox.Literal("2025-03-01", datatype=ox.NamedNode(XSD + "date")),
        ox.Literal("x", datatype=ox.NamedNode("http://example.com/custom")),
    ],
)
def test_every_literal_reads_back_as_written(literal: ox.Literal) -> None:
    assert decode_literal(encode_literal(literal)) == literal


def test_the_property_graph_is_the_live_graph_in_the_n10s_mapping(bolt_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = bolt_factory.make()
    ex = "http://example.com/"
    data = tmp_path / "mixed.ttl"
    data.write_text(
        """@prefix ex: <http://example.com/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        ex:lot1 a ex:Lot ; ex:ofPart ex:partA ;
            ex:qty 5 , "five" ;                 # one array, mixed types
            ex:note "Los"@de ; ex:mass "1.50"^^xsd:decimal ;
            ex:made [ ex:by "qa@example.com" ] .
        """,
        encoding="utf-8",
    )
    store.load_file(data, agent="t")
    live = store.select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }")
    assert len(live) == 8
    assert isinstance(store, BoltStore)
    replica = {
        (str(q.subject), str(q.predicate), str(q.object))
        for q in store._replica.quads_for_pattern(None, None, None, ox.DefaultGraph())
    }
    assert store.property_graph_triples() == replica
    rows = store._read(
        "MATCH (n:Resource {uri: $u}) RETURN labels(n) AS labels, n[$qty] AS qty, n[$mass] AS mass",
        "test",
        u=ex + "lot1",
        qty=ex + "qty",
        mass=ex + "mass",
    )
    assert sorted(rows[0]["labels"]) == sorted(["Resource", ex + "Lot"])
    assert rows[0]["qty"] == ["5^^" + XSD + "integer", "five"]
    assert rows[0]["mass"] == ["1.5^^" + XSD + "decimal"]  # Oxigraph's canonical form, as the embedded store holds it


def test_a_fact_two_batches_hold_stays_when_one_goes(bolt_factory) -> None:  # type: ignore[no-untyped-def]
    store = bolt_factory.make()
    shared = (URIRef("http://x/a"), URIRef("http://x/p"), URIRef("http://x/b"))
    own = (URIRef("http://x/a"), URIRef("http://x/q"), Literal("only one"))
    store.load_triples([shared, own], source="one", sha256="1", agent="t", format="g")
    store.load_triples([shared], source="two", sha256="2", agent="t", format="g")
    store.retract("one")
    assert store.ask("ASK { <http://x/a> <http://x/p> <http://x/b> }")
    assert not store.ask('ASK { <http://x/a> <http://x/q> "only one" }')
    assert store.triple_count() == 1
    assert store.property_graph_triples() == {("<http://x/a>", "<http://x/p>", "<http://x/b>")}


def test_a_batch_larger_than_one_bolt_message_loads(bolt_factory) -> None:  # type: ignore[no-untyped-def]
    """ArcadeDB drops a Bolt message over 16 MiB (and the client then waits for good):
    statements are cut by size, so a 24 MB batch goes through in one transaction."""
    store = bolt_factory.make()
    text = "x" * (1 << 20)
    triples = [(URIRef(f"http://x/doc{i}"), URIRef("http://x/text"), Literal(f"{i}{text}")) for i in range(24)]
    assert store.load_triples(triples, source="big", sha256="1", agent="t", format="g").triples == 24
    again = open_store(store.connection.url, connection=store.connection)
    bolt_factory.opened.append(again)
    assert again.snapshot() == store.snapshot()
    assert len(again.property_graph_triples()) == 24


def test_init_creates_the_constraints(bolt_factory) -> None:  # type: ignore[no-untyped-def]
    store = bolt_factory.make()
    names = {r["name"] for r in store._read("SHOW CONSTRAINTS", "test")}
    assert {"n10s_unique_uri", "qualitas_batch", "qualitas_batch_source", "qualitas_meta"} <= names


def test_a_write_by_another_process_is_seen_by_the_next_read(bolt_factory) -> None:  # type: ignore[no-untyped-def]
    first = bolt_factory.make()
    second = open_store(first.connection.url, connection=first.connection)
    bolt_factory.opened.append(second)
    before = second.generation()
    first.load_triples(
        [(URIRef("http://x/a"), URIRef("http://x/p"), Literal(1))], source="s", sha256="1", agent="t", format="g"
    )
    assert second.generation() > before
    assert second.ask("ASK { <http://x/a> <http://x/p> 1 }")
    assert second.snapshot() == first.snapshot()


# ---------------------------------------------------------------- the same answers as embedded


def test_lineage_in_cypher_equals_the_sparql_paths(bolt_demo: BoltStore, demo_store: GraphStore) -> None:
    units = [r["u"] for r in demo_store.select("SELECT DISTINCT ?u WHERE { ?c q:concernsUnit ?u }")]
    lots = [r["l"] for r in demo_store.select("SELECT DISTINCT ?l WHERE { ?l q:lotNumber ?n }")]
    assert units and lots
    for unit in units:
        expected = demo_store.select(
            f"""SELECT ?run ?in ?out WHERE {{
                {{ SELECT DISTINCT ?run WHERE {{ <{unit}> ^q:produced/(q:consumed/^q:produced)* ?run }} }}
                OPTIONAL {{ {{ ?run q:consumed ?in }} UNION {{ ?run q:produced ?out }} }} }}"""
        )
        key = lambda rows: sorted(sorted(r.items()) for r in rows)  # noqa: E731
        assert key(bolt_demo.lineage_runs(str(unit))) == key(expected), unit
    for lot in lots:
        expected_items = demo_store.select(
            f"SELECT DISTINCT ?x WHERE {{ <{lot}> ^q:consumed/(q:produced/^q:consumed)*/q:produced ?x }}"
        )
        assert bolt_demo.made_from(str(lot)) == {str(r["x"]) for r in expected_items}, lot


def test_trace_and_recall_scope_equal_embedded(bolt_demo: BoltStore, demo_store: GraphStore) -> None:
    """Every complaint's reverse trace and every lot's recall scope: on the Bolt store the
    lineage is walked in Cypher, the rest in SPARQL on the replica."""
    from qualitas.reasoning.trace import recall_scope, reverse_trace

    complaints = [str(r["id"]) for r in demo_store.select("SELECT ?id WHERE { ?c q:complaintId ?id }")]
    lots = [str(r["n"]) for r in demo_store.select("SELECT ?n WHERE { ?l q:lotNumber ?n }")]
    assert len(complaints) >= 3 and len(lots) > 3
    for complaint in complaints:
        assert reverse_trace(bolt_demo, complaint) == reverse_trace(demo_store, complaint), complaint
    for lot in lots:
        assert recall_scope(bolt_demo, lot) == recall_scope(demo_store, lot), lot


def test_cli_demo_load_and_trace_are_identical_to_embedded(arcadedb_server: ArcadeServer, tmp_path: Path) -> None:
    """The acceptance: `qualitas --store bolt://127.0.0.1:PORT demo load`, then `trace
    complaint CMP-2025-0057 --json` prints what the embedded store prints."""
    create_database(arcadedb_server, "cli")
    env = {"QUALITAS_STORE_USER": USER, "QUALITAS_STORE_PASSWORD": PASSWORD, "QUALITAS_STORE_DATABASE": "cli"}
    loaded = _cli("demo", "load", store=arcadedb_server.url, env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert PASSWORD not in loaded.stdout + loaded.stderr
    bolt = _cli("trace", "complaint", "CMP-2025-0057", "--json", store=arcadedb_server.url, env=env)
    embedded_store = str(tmp_path / "embedded")
    assert _cli("demo", "load", store=embedded_store).returncode == 0
    embedded = _cli("trace", "complaint", "CMP-2025-0057", "--json", store=embedded_store)
    assert bolt.returncode == embedded.returncode == 0, bolt.stderr
    assert bolt.stdout == embedded.stdout
    assert json.loads(bolt.stdout)["complaint"]["complaintId"] == "CMP-2025-0057"


def test_a_server_that_is_down_or_refuses_the_login_is_one_line_and_exit_74(arcadedb_server: ArcadeServer) -> None:
    env = {"QUALITAS_STORE_USER": USER, "QUALITAS_STORE_PASSWORD": "wrong-password", "QUALITAS_STORE_RETRIES": "1"}
    refused = _cli("trace", "complaint", "CMP-2025-0057", store=arcadedb_server.url, env=env)
    assert refused.returncode == 74
    assert len(refused.stderr.strip().splitlines()) == 1 and "refused the login" in refused.stderr
    assert "wrong-password" not in refused.stderr
    down = _cli("trace", "complaint", "CMP-2025-0057", store="bolt://127.0.0.1:9", env=env)
    assert down.returncode == 74
    assert len(down.stderr.strip().splitlines()) == 1 and "cannot reach" in down.stderr


# ---------------------------------------------------------------- kill


def test_killing_the_server_during_a_load_leaves_all_or_none_of_the_batch(tmp_path: Path) -> None:
    server = start_server(tmp_path / "arcadedb")
    try:
        store = BoltStore(connection(server))
        store.load_triples(
            [(URIRef("http://x/keep"), URIRef("http://x/p"), Literal("kept"))],
            source="first",
            sha256="1",
            agent="t",
            format="g",
        )
        before = store.snapshot()
        big = [
            (URIRef(f"http://x/unit{i}"), URIRef("http://x/madeFrom"), URIRef(f"http://x/lot{i % 97}"))
            for i in range(1000)
        ] + [(URIRef(f"http://x/unit{i}"), URIRef("http://x/serial"), Literal(f"S{i}")) for i in range(1000)]
        outcome: list[BaseException | None] = []

        def load() -> None:
            try:
                store.load_triples(big, source="big", sha256="2", agent="t", format="g")
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=load)
        thread.start()
        deadline = time.monotonic() + 60
        while not store._writing and time.monotonic() < deadline:  # the transaction is open
            time.sleep(0.005)
        assert store._writing
        time.sleep(0.2)
        server.kill()
        thread.join(timeout=120)
        assert outcome and isinstance(outcome[0], StoreError), outcome
        store.close()

        server.start()
        with BoltStore(connection(server)) as after:
            snapshot = after.snapshot()
            assert [b.source for b in after.batches()] == ["first"]  # none of the batch
            assert snapshot == before
            assert after.property_graph_triples() == {("<http://x/keep>", "<http://x/p>", '"kept"')}
            # and the same load goes through on the restarted server
            assert after.load_triples(big, source="big", sha256="2", agent="t", format="g").triples == 2000
            assert after.triple_count() == 2001
    finally:
        server.stop()
