"""The GraphQL API over HTTP: a real uvicorn server on loopback, queried with httpx."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from qualitas.demo import CELL_LOT, COMPLAINT_A, COMPLAINT_B
from qualitas.graphql.schema import sdl
from tests.graphql.serving import gql

REPO = Path(__file__).resolve().parents[2]

TRACE_QUERY = """
query ($id: String!) {
  trace(complaintId: $id) {
    complaint { id complaintId receivedOn channel market failureMode texts { lang text } unitSerial }
    unit { id serial product partNumber }
    units { id serial product partNumber }
    lots { id lotNumber partNumber partName
           supplier { id supplierId name country }
           declarations { id kind number issuer issued material }
           testReports { id kind number issuer issued material }
           designedMaterials
           materialChecks { testReport reported designed matches } }
    runs { id runId step stepName startedAt endedAt
           equipment { id equipmentId name calibratedAtRun
                       calibrations { id number issuer validFrom validUntil validAtRun } }
           parameterSetUsed parameterSetInForce
           parameters { parameter name actual unit nominal tolerance withinTolerance }
           consumed produced }
    nodes { id kind label }
    edges { source target relation }
    findings { kind severity subject messageEn messageZh expected actual evidence }
  }
}
"""


def _cli(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(store), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def store_dir(demo_store_dir: Path) -> Path:
    return demo_store_dir


@pytest.fixture(scope="module")
def server(api_server: str) -> str:
    return api_server


@pytest.fixture(scope="module")
def engineer_key(api_keys: dict[str, str]) -> str:
    return api_keys["engineer"]


_KEY: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _as_engineer(engineer_key: str) -> None:
    _KEY["engineer"] = engineer_key


def _gql(base: str, query: str, **variables: object) -> dict:  # type: ignore[type-arg]
    return gql(base, query, key=_KEY["engineer"], **variables)


def test_graphiql_is_served(server: str) -> None:
    page = httpx.get(f"{server}/graphql", headers={"accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


def test_trace_b_shows_cabinet_calibration_expired(server: str) -> None:
    data = _gql(server, TRACE_QUERY, id=COMPLAINT_B)["data"]["trace"]
    [run] = [r for r in data["runs"] if r["runId"] == "FM-240802-12"]
    assert run["equipment"]["equipmentId"] == "FC-12"
    assert run["equipment"]["calibratedAtRun"] is False
    assert run["equipment"]["calibrations"][0]["validUntil"] == "2024-06-30"
    assert [f["kind"] for f in data["findings"]] == ["calibration_invalid"]


def test_trace_a_shows_material_and_parameter_set(server: str) -> None:
    data = _gql(server, TRACE_QUERY, id=COMPLAINT_A)["data"]["trace"]
    checks = [c for lot in data["lots"] for c in lot["materialChecks"] if not c["matches"]]
    assert checks == [
        {"testReport": "CTI-NB-NPP-24-0913", "reported": "PBT+GF25", "designed": ["PBT+GF30"], "matches": False}
    ]
    [run] = [r for r in data["runs"] if r["runId"] == "IM-240917-07"]
    assert (run["parameterSetUsed"], run["parameterSetInForce"]) == ("v1", "v2")


def test_cli_json_is_the_same_trace_as_graphql(server: str, store_dir: Path) -> None:
    # The CLI opens the store read-only beside the running server.
    cli = _cli("trace", "complaint", COMPLAINT_A, "--json", store=store_dir)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == _gql(server, TRACE_QUERY, id=COMPLAINT_A)["data"]["trace"]


def test_products_complaints_and_recall_scope(server: str) -> None:
    data = _gql(
        server,
        """{ products { modelNumber categories }
                             complaints(market: "EU") { complaintId serial texts { lang text } }
                             product(id: "CPC-200") { bom { level partNumber material } } }""",
    )["data"]
    models = {p["modelNumber"] for p in data["products"]}
    assert models == {"AG-125", "BP-75", "CC-T2-32A", "CPC-200", "OX-50", "QP-6", "QX-EV5"}
    assert {c["complaintId"] for c in data["complaints"]} == {"CMP-2025-0042", "CMP-2025-0061"}
    assert {"level": 2, "partNumber": "RES-PA66GF30", "material": "PA66+GF30"} in data["product"]["bom"]
    scope = _gql(server, "query ($lot: String!) { recallScope(lotId: $lot) { units { serial } } }", lot=CELL_LOT)
    units = scope["data"]["recallScope"]["units"]
    assert [u["serial"] for u in units] == ["BP75-24-001337", "LFVEV5A26R0005128"]


def test_unknown_complaint_is_a_not_found_error(server: str) -> None:
    body = _gql(server, '{ trace(complaintId: "NOPE") { unit { serial } } }')
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "NOPE" in error["message"]


def test_schema_command_prints_the_served_sdl(store_dir: Path) -> None:
    cli = _cli("schema", store=store_dir)
    assert cli.returncode == 0
    assert cli.stdout == sdl()
    assert "recallScope(lotId: String!): RecallScope!" in cli.stdout
    assert "trace(complaintId: String!): Trace!" in cli.stdout
