"""GraphQL loads and observations over a real uvicorn server: ``loadFiles`` followed by the
``ingestProgress`` subscription (graphql-transport-ws over WebSocket), refusals of paths
outside the drop folder, a failing file that leaves the store as it was, and
``recordObservations`` from an edge device."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from fastapi import FastAPI
from websockets.asyncio.client import connect

from qualitas.audit import open_audit_log
from qualitas.auth import AuthStore, Principal
from qualitas.graphql.app import create_app
from qualitas.graphql.ingest import IngestMutation, IngestQuery, LoadJobs
from qualitas.settings import Settings
from qualitas.store import GraphStore, open_store
from tests.conftest import load_demo
from tests.graphql.serving import serve_app

FIXTURES = Path(__file__).resolve().parents[1] / "ingest" / "fixtures"
ENGINEER = Principal(name="eng-ana", role="engineer")
TURTLE = '@prefix q: <https://w3id.org/qualitas/ontology#> .\n<urn:x:a> q:name "A" .\n<urn:x:b> q:name "B" .\n'

LOAD = """
mutation ($files: [String!]!, $dryRun: Boolean! = false) {
  loadFiles(files: $files, dryRun: $dryRun, reason: "weekly complaint export") {
    id state agent reason files { file phase }
  }
}"""
PROGRESS = """
subscription ($id: String!) {
  ingestProgress(jobId: $id) {
    seq kind state
    file { file phase format bytesDone bytesTotal status graph triples message }
    job { id state error files { file phase status } }
  }
}"""
RECORD = """
mutation ($obs: [ObservationInput!]!) { recordObservations(observations: $obs) { count triples graph status } }"""


# ---------------------------------------------------------------- the server


def build_app(settings: Settings, store: GraphStore, loop_box: list[asyncio.AbstractEventLoop]) -> FastAPI:
    """``create_app`` over the given store, noting the server's event loop (the jobs' lock lives there)."""
    app = create_app(settings, store=store)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        loop_box.append(asyncio.get_running_loop())
        async with inner(application) as state:
            yield state

    app.router.lifespan_context = lifespan
    return app


def _engineer_key(settings: Settings) -> str:
    users = AuthStore(settings.auth_db_path)
    try:
        users.add_user(ENGINEER.name, "engineer")
        return users.create_key(ENGINEER.name).secret
    finally:
        users.close()


@dataclass(frozen=True)
class Served:
    url: str
    ws_url: str
    store: GraphStore
    ingest_dir: Path
    jobs: LoadJobs
    loop: asyncio.AbstractEventLoop  # the server's: the jobs' lock lives there
    key: str  # eng-ana's API key (role engineer)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A demo store, a drop folder with one good export, and the app under uvicorn on loopback."""
    store = open_store(None)
    load_demo(store)
    ingest_dir = tmp_path / "drop"
    ingest_dir.mkdir()
    shutil.copy(FIXTURES / "complaints.csv", ingest_dir / "complaints.csv")
    # a body limit above the default 1 MB, so the 10,000-observation cap is what refuses the big call
    settings = Settings(store=tmp_path / "unused", ingest_dir=ingest_dir, max_body_bytes=8_000_000)
    loop_box: list[asyncio.AbstractEventLoop] = []
    key = _engineer_key(settings)
    app = build_app(settings, store, loop_box)
    with serve_app(app) as base:
        yield Served(
            f"{base}/graphql",
            f"{base.replace('http://', 'ws://')}/graphql",
            store,
            ingest_dir,
            app.state.jobs,
            *loop_box,
            key,
        )
    store.close()


async def _gql(served: Served, query: str, **variables: object) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        # json.dumps writes NaN and Infinity as a careless device's JSON library would
        body = json.dumps({"query": query, "variables": variables})
        response = await client.post(
            served.url,
            content=body,
            headers={"content-type": "application/json", "Authorization": f"Bearer {served.key}"},
        )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _follow(served: Served, job_id: str, *, started: asyncio.Event | None = None) -> list[dict[str, Any]]:
    """Subscribe to ``ingestProgress`` over graphql-transport-ws; every ``next`` payload
    until the server completes the subscription."""
    async with connect(served.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "graphql-transport-ws"
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {served.key}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        subscribe = {"query": PROGRESS, "variables": {"id": job_id}}
        await ws.send(json.dumps({"id": "p1", "type": "subscribe", "payload": subscribe}))
        payloads: list[dict[str, Any]] = []
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 20))
            assert message["id"] == "p1"
            if message["type"] == "complete":
                return payloads
            assert message["type"] == "next", message
            payloads.append(message["payload"])
            if started is not None:
                started.set()


def _errors(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["extensions"]["code"], e["message"]) for e in body.get("errors") or []]


# ---------------------------------------------------------------- loadFiles


async def test_load_files_reports_progress_over_websocket_then_the_data_is_there(served: Served) -> None:
    # another writer holds the store: the job queues, and the subscriber joins before it runs
    lock = served.jobs.write_lock
    asyncio.run_coroutine_threadsafe(lock.acquire(), served.loop).result(5)
    try:
        body = await _gql(served, LOAD, files=["complaints.csv"])
        job = body["data"]["loadFiles"]
        assert (job["state"], job["agent"], job["reason"]) == ("QUEUED", "eng-ana", "weekly complaint export")
        assert job["files"] == [{"file": "complaints.csv", "phase": "QUEUED"}]
        started = asyncio.Event()
        follow = asyncio.create_task(_follow(served, job["id"], started=started))
        await asyncio.wait_for(started.wait(), 5)
        # the server keeps answering while the job waits
        queued = await _gql(served, "query ($id: String!) { loadJob(id: $id) { state } }", id=job["id"])
        assert queued["data"]["loadJob"]["state"] == "QUEUED"
    finally:
        served.loop.call_soon_threadsafe(lock.release)
    events = await asyncio.wait_for(follow, 20)

    kinds = [e["data"]["ingestProgress"]["kind"] for e in events]
    assert kinds[0] == "CURRENT" and events[0]["data"]["ingestProgress"]["state"] == "QUEUED"
    assert kinds[1:3] == ["JOB_STARTED", "FILE_STARTED"]
    assert "FILE_PROGRESS" in kinds
    assert kinds[-2:] == ["FILE_DONE", "JOB_SUCCEEDED"]
    assert [e["data"]["ingestProgress"]["seq"] for e in events[1:]] == list(range(1, len(events)))
    size = (served.ingest_dir / "complaints.csv").stat().st_size
    done = events[-2]["data"]["ingestProgress"]["file"]
    assert done["format"] == "complaint"
    assert (done["phase"], done["status"], done["bytesDone"], done["bytesTotal"]) == ("DONE", "added", size, size)
    assert done["triples"] > 0 and "complaints.csv" in done["graph"]
    final = events[-1]["data"]["ingestProgress"]
    assert final["state"] == "SUCCEEDED" and final["job"]["error"] is None

    # the data is visible afterwards, recorded as the caller's load
    complaints = await _gql(served, "{ complaints { complaintId } }")
    assert {"complaintId": "C-WPR-1"} in complaints["data"]["complaints"]
    # the batch is known by the file's absolute path on the server
    [batch] = [b for b in served.store.batches() if b.source == str((served.ingest_dir / "complaints.csv").resolve())]
    assert (batch.agent, batch.graph) == ("eng-ana", done["graph"])
    listed = await _gql(served, "{ loadJobs { id state files { status triples } } }")
    assert listed["data"]["loadJobs"] == [
        {"id": job["id"], "state": "SUCCEEDED", "files": [{"status": "added", "triples": done["triples"]}]}
    ]

    # the trail has the enqueueing mutation and the load itself, with the file's sha256 and the reason
    trail = open_audit_log(Settings(store=served.ingest_dir.parent / "unused"))
    [loaded] = trail.records(action="load")
    assert (loaded.actor, loaded.role, loaded.why) == ("eng-ana", "engineer", "weekly complaint export")
    sha = hashlib.sha256((served.ingest_dir / "complaints.csv").read_bytes()).hexdigest()
    assert sha in json.dumps(loaded.what) and loaded.before != loaded.after
    assert [r.actor for r in trail.records(action="graphql.mutation.loadFiles")] == ["eng-ana"]

    # a subscriber who comes late gets the final state and the end
    [late] = await _follow(served, job["id"])
    assert (late["data"]["ingestProgress"]["kind"], late["data"]["ingestProgress"]["state"]) == ("CURRENT", "SUCCEEDED")


async def test_a_bad_file_fails_the_job_with_its_line_and_leaves_the_store_unchanged(served: Served) -> None:
    (served.ingest_dir / "exports").mkdir()
    (served.ingest_dir / "exports" / "bad.ttl").write_text(TURTLE + "<urn:x:c> q:name .\n")
    before = served.store.snapshot()
    body = await _gql(served, LOAD, files=["exports/bad.ttl", "complaints.csv"])
    events = await _follow(served, body["data"]["loadFiles"]["id"])
    final = events[-1]["data"]["ingestProgress"]
    assert final["state"] == "FAILED"
    error = final["job"]["error"]
    assert error.startswith("exports/bad.ttl:4") and str(served.ingest_dir) not in error
    assert final["job"]["files"] == [
        {"file": "exports/bad.ttl", "phase": "FAILED", "status": None},
        {"file": "complaints.csv", "phase": "SKIPPED", "status": None},  # after the failure: not loaded
    ]
    if len(events) > 1:  # followed from the start: the failing file was announced
        failed = [e["data"]["ingestProgress"] for e in events if e["data"]["ingestProgress"]["kind"] == "FILE_FAILED"]
        assert failed[0]["file"]["message"] == error
    assert served.store.snapshot() == before


async def test_a_dry_run_plans_and_writes_nothing(served: Served) -> None:
    before = served.store.snapshot()
    body = await _gql(served, LOAD, files=["complaints.csv"], dryRun=True)
    final = (await _follow(served, body["data"]["loadFiles"]["id"]))[-1]["data"]["ingestProgress"]
    assert final["state"] == "SUCCEEDED"
    assert final["job"]["files"] == [{"file": "complaints.csv", "phase": "DONE", "status": "add"}]
    assert served.store.snapshot() == before


async def test_paths_outside_the_drop_folder_are_refused(served: Served, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("complaint_id\n")
    os.symlink(secret, served.ingest_dir / "link.csv")
    (served.ingest_dir / "sub").mkdir()
    for name, why in (
        ("../secret.csv", "'..' is refused"),
        ("sub/../../secret.csv", "'..' is refused"),
        (str(secret), "absolute paths are refused"),
        ("link.csv", "leads out of the ingest folder"),
        ("missing.csv", "no such file"),
        ("sub", "not a regular file"),
    ):
        body = await _gql(served, LOAD, files=["complaints.csv", name])
        assert body["data"] is None
        [(code, message)] = _errors(body)
        assert code == "BAD_INPUT"
        # An absolute path is cut to its last part: no server path reaches a client.
        shown = Path(name).name if Path(name).is_absolute() else name
        assert message.startswith(f"{shown}: ") and why in message, message
        assert str(tmp_path) not in message
    assert (await _gql(served, "{ loadJobs { id } }"))["data"]["loadJobs"] == []  # no job was made


async def test_progress_of_an_unknown_job_is_an_error(served: Served) -> None:
    async with connect(served.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {served.key}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": PROGRESS, "variables": {"id": "no-such-job"}}
        await ws.send(json.dumps({"id": "p1", "type": "subscribe", "payload": payload}))
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["message"] == "no load job 'no-such-job'"
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_load_files_is_off_without_a_drop_folder(served: Served) -> None:
    schema = strawberry.Schema(query=IngestQuery, mutation=IngestMutation)
    context = {"store": served.store, "settings": Settings(), "jobs": LoadJobs()}
    result = await schema.execute('mutation { loadFiles(files: ["complaints.csv"]) { id } }', context_value=context)
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "CONFIG_ERROR"}
    assert "QUALITAS_INGEST_DIR" in result.errors[0].message


# ---------------------------------------------------------------- recordObservations

OBSERVATIONS = [
    {
        "equipment": "FC-12",
        "parameter": "FORM-TEMP",
        "value": 45.5,
        "unit": "degC",
        "time": "2024-08-02T10:00:00+08:00",
        "runId": "FM-240802-12",
    },
    {"equipment": "FC-12", "parameter": "FORM-CURR", "value": 12.25, "unit": "A", "time": "2024-08-02T02:00:01Z"},
]


def _recorded(store: GraphStore) -> list[dict[str, object]]:
    return store.select(
        """SELECT ?param ?value ?unit ?at ?run ?by WHERE {
            ?o a sosa:Observation ; q:onEquipment/q:equipmentId "FC-12" ; q:parameter/q:code ?param ;
               q:value ?value ; sosa:resultTime ?at ; prov:wasAttributedTo ?by .
            OPTIONAL { ?o q:unit ?unit } OPTIONAL { ?o q:duringRun ?run }
        } ORDER BY ?at"""
    )


async def test_record_observations_writes_one_batch_readable_afterwards(served: Served) -> None:
    body = await _gql(served, RECORD, obs=OBSERVATIONS)
    assert body.get("errors") is None, body
    result = body["data"]["recordObservations"]
    assert (result["count"], result["status"]) == (2, "added")
    rows = _recorded(served.store)
    assert [(r["param"], float(r["value"]), r["unit"]) for r in rows] == [  # type: ignore[arg-type]
        ("FORM-TEMP", 45.5, "http://qudt.org/vocab/unit/DEG_C"),
        ("FORM-CURR", 12.25, "http://qudt.org/vocab/unit/A"),
    ]
    assert rows[0]["at"] == dt.datetime(2024, 8, 2, 2, 0, tzinfo=dt.UTC)
    assert rows[0]["run"] == "https://w3id.org/qualitas/id/run/FM-240802-12" and "run" not in rows[1]
    assert str(rows[0]["by"]).endswith("/agent/eng-ana")
    [batch] = [b for b in served.store.batches() if b.graph == result["graph"]]
    assert (batch.format, batch.agent, batch.triples) == ("edge", "eng-ana", result["triples"])
    # the batch and its audit record are one unit: exactly one record, naming the batch
    trail = open_audit_log(Settings(store=served.ingest_dir.parent / "unused"))
    [record] = trail.records(action="graphql.mutation.recordObservations")
    assert (record.actor, record.role, record.what["ok"]) == ("eng-ana", "engineer", True)
    assert record.what["files"][0]["graph"] == result["graph"] and record.before != record.after

    # a device re-sending the same call (it lost the answer) changes nothing
    before = served.store.snapshot()
    again = (await _gql(served, RECORD, obs=OBSERVATIONS))["data"]["recordObservations"]
    assert (again["status"], again["graph"]) == ("unchanged", result["graph"])
    assert served.store.snapshot() == before


@pytest.mark.parametrize(
    ("bad", "code", "fragment"),
    [
        ({"equipment": "FC-99"}, "VALIDATION_ERROR", "observations[1].equipment: unknown equipment 'FC-99'"),
        ({"parameter": "NOPE"}, "VALIDATION_ERROR", "observations[1].parameter: unknown parameter 'NOPE'"),
        ({"time": "2024-08-02T10:00:00"}, "VALIDATION_ERROR", "observations[1].time: 2024-08-02T10:00:00 has no time"),
        (
            {"time": "2999-01-01T00:00:00Z"},
            "VALIDATION_ERROR",
            "observations[1].time: 2999-01-01T00:00:00+00:00 is more",
        ),
        ({"unit": "zorks"}, "VALIDATION_ERROR", "observations[1].unit: unknown unit 'zorks'"),
        ({"value": float("nan")}, None, "[1].value: Float cannot represent non numeric value"),
        ({"value": float("inf")}, None, "[1].value: Float cannot represent non numeric value"),
    ],
)
async def test_a_bad_observation_refuses_the_whole_call(
    served: Served, bad: dict[str, object], code: str | None, fragment: str
) -> None:
    before = served.store.snapshot()
    body = await _gql(served, RECORD, obs=[OBSERVATIONS[0], {**OBSERVATIONS[1], **bad}])
    assert body["data"] is None
    [error] = body["errors"]
    assert fragment in error["message"], error["message"]
    if code is not None:
        assert error["extensions"]["code"] == code
    assert served.store.snapshot() == before


async def test_a_different_value_for_a_recorded_time_is_refused(served: Served) -> None:
    assert (await _gql(served, RECORD, obs=OBSERVATIONS[:1])).get("errors") is None
    before = served.store.snapshot()
    body = await _gql(served, RECORD, obs=[OBSERVATIONS[1], {**OBSERVATIONS[0], "value": 46.0}])
    [error] = body["errors"]
    assert "observations[1].value: 46.0 differs from the 45.5 already recorded" in error["message"]
    assert served.store.snapshot() == before


async def test_too_many_observations_in_one_call_are_refused(served: Served) -> None:
    from qualitas.graphql.observations import MAX_OBSERVATIONS

    body = await _gql(served, RECORD, obs=[OBSERVATIONS[1]] * (MAX_OBSERVATIONS + 1))
    [error] = body["errors"]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
