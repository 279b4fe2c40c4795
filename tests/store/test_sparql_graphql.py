"""The GraphQL API on a remote SPARQL store: ``gapReport`` and ``generatePack`` give the
embedded store's findings; and a server restart in the middle of a run of writes and
reads loses no write, doubles none, and reads recover."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from qualitas.graphql.app import create_app
from qualitas.settings import Settings
from qualitas.store import GraphStore, open_store
from tests.conftest import load_demo
from tests.graphql.serving import issue_keys
from tests.store._servers import OxigraphServer, VirtuosoServer, free_port

GAP = """query ($p: String!, $m: String!, $d: Date) { gapReport(productId: $p, market: $m, date: $d) {
  conforms applicable summary { checked passed violated notCheckable notCheckableItems }
  findings { kind severity source regulationId clause subject offending expected }
  requirements { shape regulationId clause status } } }"""
PACK = """mutation ($p: String!, $m: String!, $d: Date) { generatePack(productId: $p, market: $m, date: $d) {
  status productId market openFindings manifest files { path mediaType } } }"""
CASES = [("BP-75", "EU", "2025-06-01"), ("AG-125", "VN", "2026-03-01")]


@dataclass
class Api:
    url: str
    keys: dict[str, str]
    store: GraphStore

    def run(self, query: str, *, role: str, timeout: float = 120, **variables: object) -> dict[str, Any]:
        response = httpx.post(
            self.url,
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.keys[role]}"},
            timeout=timeout,
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


@contextmanager
def _serve(store: GraphStore, root: Path, url: str | Path) -> Iterator[Api]:
    settings = Settings(
        store=url,
        auth_db=root / "auth.sqlite",
        audit_log=root / "audit" / "audit.jsonl",
        secret_file=root / "secret.key",
    )
    keys = issue_keys(settings, ("compliance", "engineer"))
    port = free_port()
    # No WebSocket protocol: these tests need none (and uvicorn's default imports a deprecated module).
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, store=store), host="127.0.0.1", port=port, log_level="warning", ws="none")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API server did not start"
        time.sleep(0.05)
    try:
        yield Api(f"http://127.0.0.1:{port}/graphql", keys, store)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def embedded_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("embedded-api")
    store = open_store(root / "store")
    load_demo(store)
    with _serve(store, root, root / "store") as api:
        yield api
    store.close()


@pytest.fixture(params=["oxigraph-server", "virtuoso"])
def remote_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    server: OxigraphServer | VirtuosoServer = request.getfixturevalue(
        "oxigraph_server" if request.param == "oxigraph-server" else "virtuoso_server"
    )
    server.wipe()
    store = open_store(server.url, settings=Settings(store=server.url, **_login(server)))
    load_demo(store)
    with _serve(store, tmp_path, server.url) as api:
        yield api
    store.close()


def _login(server: OxigraphServer | VirtuosoServer) -> dict[str, Any]:
    env = server.env
    return {"store_user": env.get("QUALITAS_STORE_USER"), "store_password": env.get("QUALITAS_STORE_PASSWORD")}


def _findings(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors") is None, body
    report = body["data"]["gapReport"]
    report["findings"] = sorted(report["findings"], key=repr)
    report["requirements"] = sorted(report["requirements"], key=repr)
    return report  # type: ignore[no-any-return]


def test_gap_report_and_pack_give_the_embedded_findings(remote_api: Api, embedded_api: Api) -> None:
    for product, market, date in CASES:
        expected = _findings(embedded_api.run(GAP, role="compliance", p=product, m=market, d=date))
        got = _findings(remote_api.run(GAP, role="compliance", p=product, m=market, d=date))
        assert got == expected
        assert expected["findings"] or not expected["conforms"] or expected["requirements"]
    product, market, date = CASES[1]
    expected_pack = embedded_api.run(PACK, role="compliance", p=product, m=market, d=date)
    got_pack = remote_api.run(PACK, role="compliance", p=product, m=market, d=date)
    assert got_pack.get("errors") is None, got_pack
    got, expected = got_pack["data"]["generatePack"], expected_pack["data"]["generatePack"]
    assert {k: got[k] for k in got if k != "manifest"} == {k: expected[k] for k in expected if k != "manifest"}
    # The same findings, route, validation outcome and documents, from the same batches.
    for part in ("findings", "route", "validation", "documents", "storeSnapshot", "product"):
        assert got["manifest"][part] == expected["manifest"][part], part
    assert got["manifest"]["findings"]["items"]


RECORD = """mutation ($obs: [ObservationInput!]!) { recordObservations(observations: $obs) { status graph } }"""
READ = """query { complaint(id: "CMP-2025-0057") { complaintId } }"""


def _observation(i: int) -> list[dict[str, object]]:
    return [
        {
            "equipment": "FC-12",
            "parameter": "FORM-TEMP",
            "value": 40.0 + i / 8,
            "unit": "degC",
            "time": f"2024-08-02T{10 + i // 60:02d}:{i % 60:02d}:00Z",
        }
    ]


def test_a_server_restart_during_a_graphql_run_loses_and_doubles_no_write(
    oxigraph_server: OxigraphServer, tmp_path: Path
) -> None:
    """Writes (one recordObservations batch each) and reads run while the SPARQL server is
    killed and started again on the same data. The store's retries ride out the restart;
    a write whose answer is an error is sent again by the client, as a device would.
    Afterwards every observation is in the store exactly once."""
    server = oxigraph_server
    server.wipe()
    store = open_store(server.url)
    load_demo(store)
    writes, restart_after = 24, 8
    read_results: list[bool] = []
    stop = threading.Event()
    acknowledged: dict[int, str] = {}
    restarted = threading.Event()

    down: list[float] = []
    spans: list[tuple[str, float, float]] = []  # (read or write, start, end) of each request

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
                for _attempt in range(10):  # the device resends a call whose answer was an error
                    start = time.monotonic()
                    body = api.run(RECORD, role="engineer", obs=_observation(i))
                    spans.append(("write", start, time.monotonic()))
                    if body.get("errors") is None:
                        acknowledged[i] = body["data"]["recordObservations"]["status"]
                        break
                    time.sleep(0.5)
            assert restarted.wait(60)
            reads_before_end = len(read_results)
            time.sleep(0.5)
            stop.set()
            thread.join(timeout=60)
            # Reads recovered: every read after the restart settled succeeded.
            assert read_results and all(read_results[reads_before_end:])
            assert read_results[-1]
    finally:
        stop.set()
    # The restart happened in the middle of the run: reads and writes were under way while the server was down.
    assert {kind for kind, start, end in spans if start < down[1] and end > down[0]} == {"read", "write"}
    assert set(acknowledged) == set(range(writes))
    assert set(acknowledged.values()) <= {"added", "unchanged"}
    rows = store.select(
        """SELECT ?at (COUNT(?o) AS ?n) WHERE { ?o a sosa:Observation ; q:onEquipment/q:equipmentId "FC-12" ;
             q:parameter/q:code "FORM-TEMP" ; sosa:resultTime ?at FILTER(?at >= "2024-08-02T10:00:00Z"^^xsd:dateTime) }
           GROUP BY ?at"""
    )
    assert len(rows) == writes and {int(str(r["n"])) for r in rows} == {1}
    edge_batches = [b for b in store.batches() if b.format == "edge"]
    assert len(edge_batches) == writes
    live = store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"]
    assert store.triple_count() == int(str(live))
    store.close()
