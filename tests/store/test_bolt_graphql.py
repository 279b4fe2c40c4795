"""The GraphQL API on the Bolt store (ArcadeDB on 127.0.0.1): ``gapReport`` and
``generatePack`` give the embedded store's findings; and a server restart in the middle
of a run of writes and reads loses no write, doubles none, and reads recover."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from qualitas.store import open_store
from qualitas.store._bolt import BoltStore
from tests.conftest import load_demo
from tests.store._arcadedb import ArcadeServer, connection, create_database, start_server
from tests.store.test_sparql_graphql import CASES, GAP, PACK, READ, RECORD, Api, _findings, _observation, _serve


@pytest.fixture(scope="module")
def embedded_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("embedded-api")
    store = open_store(root / "store")
    load_demo(store)
    with _serve(store, root, root / "store") as api:
        yield api
    store.close()


@pytest.fixture
def bolt_api(arcadedb_server: ArcadeServer, tmp_path: Path) -> Iterator[Api]:
    create_database(arcadedb_server, "graphql")
    store = BoltStore(connection(arcadedb_server, "graphql"))
    load_demo(store)
    with _serve(store, tmp_path, arcadedb_server.url) as api:
        yield api
    store.close()


def test_gap_report_and_pack_give_the_embedded_findings(bolt_api: Api, embedded_api: Api) -> None:
    for product, market, date in CASES:
        expected = _findings(embedded_api.run(GAP, role="compliance", p=product, m=market, d=date))
        got = _findings(bolt_api.run(GAP, role="compliance", p=product, m=market, d=date))
        assert got == expected
    product, market, date = CASES[1]
    expected_pack = embedded_api.run(PACK, role="compliance", p=product, m=market, d=date)
    got_pack = bolt_api.run(PACK, role="compliance", p=product, m=market, d=date)
    assert got_pack.get("errors") is None, got_pack
    got, expected = got_pack["data"]["generatePack"], expected_pack["data"]["generatePack"]
    assert {k: got[k] for k in got if k != "manifest"} == {k: expected[k] for k in expected if k != "manifest"}
    for part in ("findings", "route", "validation", "documents", "storeSnapshot", "product"):
        assert got["manifest"][part] == expected["manifest"][part], part
    assert got["manifest"]["findings"]["items"]


def test_a_server_restart_during_a_graphql_run_loses_and_doubles_no_write(tmp_path: Path) -> None:
    """Writes (one recordObservations batch each) and reads run while ArcadeDB is killed
    (SIGKILL) and started again on the same data. The store's retries ride out the
    restart; a write whose answer is an error is sent again by the client, as a device
    would. Afterwards every observation is in the store exactly once."""
    server = start_server(tmp_path / "arcadedb")
    store = BoltStore(connection(server))
    load_demo(store)
    writes, restart_after = 16, 5
    read_results: list[bool] = []
    stop = threading.Event()
    acknowledged: dict[int, str] = {}
    restarted = threading.Event()
    down: list[float] = []
    spans: list[tuple[str, float, float]] = []

    def restart() -> None:
        down.append(time.monotonic())
        server.kill()
        time.sleep(1.0)
        server.start()
        down.append(time.monotonic())
        restarted.set()

    try:
        with _serve(store, tmp_path, server.url) as api:

            def reader() -> None:
                while not stop.is_set():
                    try:
                        start = time.monotonic()
                        body = api.run(READ, role="engineer", timeout=30)
                        spans.append(("read", start, time.monotonic()))
                        read_results.append(body.get("errors") is None)
                    except (httpx.HTTPError, AssertionError):
                        read_results.append(False)
                    time.sleep(0.02)

            thread = threading.Thread(target=reader, daemon=True)
            thread.start()
            for i in range(writes):
                if i == restart_after:
                    threading.Thread(target=restart, daemon=True).start()
                for _attempt in range(20):  # the device resends a call whose answer was an error
                    start = time.monotonic()
                    body = api.run(RECORD, role="engineer", obs=_observation(i))
                    spans.append(("write", start, time.monotonic()))
                    if body.get("errors") is None:
                        acknowledged[i] = body["data"]["recordObservations"]["status"]
                        break
                    time.sleep(0.5)
            assert restarted.wait(90)
            reads_before_end = len(read_results)
            time.sleep(0.5)
            stop.set()
            thread.join(timeout=60)
            assert read_results and all(read_results[reads_before_end:])
            assert read_results[-1]
        # The restart happened in the middle of the run: reads and writes were under way while the server was down.
        assert {kind for kind, start, end in spans if start < down[1] and end > down[0]} == {"read", "write"}
        assert set(acknowledged) == set(range(writes))
        assert set(acknowledged.values()) <= {"added", "unchanged"}
        with BoltStore(connection(server)) as fresh:  # what the server holds, read by a new process
            rows = fresh.select(
                """SELECT ?at (COUNT(?o) AS ?n) WHERE { ?o a sosa:Observation ; q:onEquipment/q:equipmentId "FC-12" ;
                     q:parameter/q:code "FORM-TEMP" ; sosa:resultTime ?at
                     FILTER(?at >= "2024-08-02T10:00:00Z"^^xsd:dateTime) } GROUP BY ?at"""
            )
            assert len(rows) == writes and {int(str(r["n"])) for r in rows} == {1}
            assert len([b for b in fresh.batches() if b.format == "edge"]) == writes
            live = fresh.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"]
            assert fresh.triple_count() == int(str(live))
            assert fresh.property_graph_triples() == {
                (str(q.subject), str(q.predicate), str(q.object))
                for q in fresh._replica.quads_for_pattern(None, None, None, ox.DefaultGraph())
            }
    finally:
        stop.set()
        store.close()
        server.stop()
