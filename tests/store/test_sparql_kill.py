"""A SPARQL server killed (SIGKILL) in the middle of a load, while the batch is being
staged, while its switch runs, or after the switch while the replaced batch's graph is
being dropped: after a restart the store holds all of the batch or none of it, and the
next open leaves no trace of a half-written or superseded one."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from rdflib import Literal, URIRef

from qualitas.errors import StoreError
from qualitas.settings import Settings
from qualitas.store import GraphStore, open_store
from qualitas.store._sparql import SparqlStore
from tests.store._servers import OxigraphServer, VirtuosoServer

P = URIRef("http://example.com/p")
BASE = [(URIRef(f"http://example.com/base/{i}"), P, Literal(i)) for i in range(200)]
#: Shares 100 triples with BASE, so the switch has overlap to get right; big enough for
#: its switch to take a few hundred milliseconds on either server.
BIG = BASE[:100] + [(URIRef(f"http://example.com/big/{i}"), P, Literal(f"v{i}")) for i in range(10_000)]


def _open(server: OxigraphServer | VirtuosoServer) -> GraphStore:
    env = server.env
    settings = Settings(
        store=server.url,
        store_user=env.get("QUALITAS_STORE_USER"),
        store_password=env.get("QUALITAS_STORE_PASSWORD"),
        store_retries=2,
    )
    return open_store(server.url, settings=settings)


def _live(store: GraphStore) -> set[tuple[str, str, str]]:
    return {(str(r["s"]), str(r["p"]), str(r["o"])) for r in store.select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }")}


def _as_rows(triples: list[tuple[URIRef, URIRef, Literal]]) -> set[tuple[str, str, str]]:
    return {(str(s), str(p), str(o.toPython())) for s, p, o in triples}


def _killing_after(triples: list[tuple[URIRef, URIRef, Literal]], n: int, server: object) -> Iterator[object]:
    for i, triple in enumerate(triples):
        if i == n:
            server.kill()  # type: ignore[attr-defined]
        yield triple


@pytest.mark.parametrize("kind", ["oxigraph-server", "virtuoso"])
@pytest.mark.parametrize("phase", ["staging", "switch", "cleanup"])
def test_a_kill_during_a_load_leaves_all_or_none_of_the_batch(
    kind: str, phase: str, request: pytest.FixtureRequest
) -> None:
    server: OxigraphServer | VirtuosoServer = request.getfixturevalue(
        "oxigraph_server" if kind == "oxigraph-server" else "virtuoso_server"
    )
    server.wipe()
    store = _open(server)
    store.load_triples(BASE, source="base", sha256="b" * 64, agent="t", format="test")
    before = _live(store)
    assert store.triple_count() == len(before) == 200
    triples: object = BIG
    timers: list[threading.Timer] = []
    # In the clean-up phase the load replaces "base": the switch lands, the server dies
    # as the superseded graph is dropped (the load still reports success).
    source = "base" if phase == "cleanup" else "big"
    if phase == "staging":
        # Half the triples read: on Virtuoso (1,000 a request) three requests are in, on
        # Oxigraph (50,000 a request) the pending marker is.
        triples = _killing_after(BIG, 2500, server)
    else:
        assert isinstance(store, SparqlStore)
        send = store._update

        def kill_during_switch(text: str, *, idempotent: bool = True) -> None:
            if phase == "switch" and "q:IngestBatch , prov:Entity" in text:  # the switch's record
                timer = threading.Timer(0.02, server.kill)
                timers.append(timer)
                timer.start()
            if phase == "cleanup" and "RetiredBatch" in text and "DROP SILENT GRAPH" in text:
                server.kill()
            send(text, idempotent=idempotent)

        store._update = kill_during_switch  # type: ignore[method-assign]
    failed = False
    try:
        store.load_triples(triples, source=source, sha256="c" * 64, agent="t", format="test")  # type: ignore[arg-type]
    except StoreError:
        failed = True
    finally:
        # A switch quicker than the timer: the kill still comes, but never into the restart.
        for timer in timers:
            timer.join()
        store.close()
        server.kill()
        server.start()
    # Killed while staging, the load fails; after the switch, it succeeds (the clean-up is
    # best effort); during the switch, it fails, unless the switch was quicker than the kill.
    if phase == "staging":
        assert failed
    if phase == "cleanup":
        assert not failed

    store = _open(server)  # opening for writing clears what a cut load left
    after = _live(store)
    expected_all = _as_rows(BIG) if phase == "cleanup" else before | _as_rows(BIG)
    assert after in (before, expected_all)
    if phase == "cleanup" or (phase == "switch" and not failed):
        assert after == expected_all
    batch = store.batch(source)
    if after == before:
        assert batch is None
        assert store.batch_count() == 1
    else:
        assert batch is not None and batch.triples == len(BIG) and batch.sha256 == "c" * 64
        assert store.batch_count() == (1 if phase == "cleanup" else 2)
    assert store.triple_count() == len(after)
    graphs = store.select(
        'SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(CONTAINS(STR(?g), "/graph/batch/")) }'
    )
    assert {str(r["g"]) for r in graphs} == {b.graph for b in store.batches()}
    markers = store.ask(
        "ASK { GRAPH <https://w3id.org/qualitas/graph/meta> { { ?g a q:PendingBatch } UNION { ?g a q:RetiredBatch } } }"
    )
    assert not markers
    # And the load goes through once the server is back.
    again = store.load_triples(BIG, source=source, sha256="c" * 64, agent="t", format="test")
    assert again.status in ("added", "unchanged")
    assert _live(store) == expected_all
    assert store.triple_count() == len(expected_all)
    store.close()
