"""``qualitas serve --workers 3`` (:mod:`qualitas.graphql._readers`), as real processes:
the server (the one writer) and two reader processes, each a uvicorn server on a unix
socket reading a checkpoint of the store.

Reads the readers answer are the bytes the one-process server answers; a load through
the server's port is seen by the next read (no stale answer, from the cache or from a
reader); a reader killed with SIGKILL loses no write, the reads go on while it is down,
and it is started again."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from qualitas.errors import ERROR_TABLE, ConfigError
from qualitas.settings import Settings
from tests.graphql.serving import REPO, free_port, issue_keys, load_demo_store

FIXTURES = Path(__file__).resolve().parents[1] / "ingest" / "fixtures"

TRACE = """query ($id: String!) { trace(complaintId: $id) {
  complaint { complaintId market texts { lang text } } unit { serial product }
  lots { lotNumber supplier { name } testReports { number } materialChecks { reported designed matches } }
  runs { runId equipment { equipmentId calibratedAtRun } parameterSetInForce
         parameters { name actual withinTolerance } }
  nodes { id kind label } edges { source target relation } findings { kind severity subject messageEn } } }"""
RECALL = """query ($lot: String!) {
  recallScope(lotId: $lot) { lots { lotNumber } units { serial complaints { complaintId } } } }"""
COMPLAINTS = "{ complaints { complaintId } }"
COMPLAINT = """query ($id: String!) { complaint(id: $id) { complaintId texts { lang text } } }"""
LOAD = """mutation ($files: [String!]!) { loadFiles(files: $files, replace: true, reason: "workers test") { id } }"""

READS: list[tuple[str, dict[str, Any]]] = [
    (TRACE, {"id": "CMP-2025-0057"}),
    (TRACE, {"id": "CMP-2025-0042"}),
    (RECALL, {"lot": "CL-240802-A"}),
    (COMPLAINTS, {}),
    (TRACE, {"id": "CMP-2099-0000"}),  # NOT_FOUND: an answer with errors, which the server makes itself
]


@dataclass(frozen=True)
class Served:
    url: str
    key: str
    pid: int
    ingest_dir: Path
    expected: dict[int, bytes]  # READS index -> the one-process server's answer


def _post(base: str, key: str, query: str, variables: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


def _health(served: Served) -> dict[str, Any]:
    return httpx.get(f"{served.url}/healthz", timeout=10).json()["readers"]  # type: ignore[no-any-return]


def _children(pid: int) -> set[int]:
    """The reader processes of the server ``pid``: its children started by
    multiprocessing's spawn (not its resource tracker)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid and b"spawn_main" in (stat.parent / "cmdline").read_bytes():
                found.add(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _wait_ready(served: Served, ready: int) -> None:
    deadline = time.monotonic() + 90
    while _health(served)["ready"] != ready:
        assert time.monotonic() < deadline, f"readers not ready: {_health(served)}"
        time.sleep(0.1)


@contextmanager
def _serving(store: Path, ingest_dir: Path, workers: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``qualitas serve --workers N`` in its own process; yields its URL and process."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUALITAS_")}
    env.update(QUALITAS_STORE=str(store), QUALITAS_INGEST_DIR=str(ingest_dir))
    process = subprocess.Popen(
        [sys.executable, "-m", "qualitas.cli", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("workers")
    store = load_demo_store(root / "store")
    ingest_dir = root / "drop"
    ingest_dir.mkdir()
    key = issue_keys(Settings(store=store, ingest_dir=ingest_dir), ("engineer",))["engineer"]
    # What one process answers, on the same store, before the three-process server holds it.
    with _serving(store, ingest_dir, 1) as (base, _):
        expected = {i: _post(base, key, query, variables).content for i, (query, variables) in enumerate(READS)}
    with _serving(store, ingest_dir, 3) as (base, process):
        result = Served(base, key, process.pid, ingest_dir, expected)
        _wait_ready(result, 2)
        yield result
    assert not Path(f"{store}.snapshots").exists()  # the checkpoints went with the server
    assert not _children(process.pid)


def _load(served: Served, name: str) -> None:
    """``loadFiles`` through the server's port, then wait for the job to succeed."""
    started = _post(served.url, served.key, LOAD, {"files": [name]}).json()
    assert "errors" not in started, started
    job = started["data"]["loadFiles"]["id"]
    deadline = time.monotonic() + 60
    while True:
        body = _post(served.url, served.key, "query ($id: String!) { loadJob(id: $id) { state error } }", {"id": job})
        state = body.json()["data"]["loadJob"]
        if state["state"] in {"SUCCEEDED", "FAILED"}:
            assert state["state"] == "SUCCEEDED", state
            return
        assert time.monotonic() < deadline, "load job did not end"
        time.sleep(0.05)


def test_readers_answer_the_bytes_one_process_answers(served: Served) -> None:
    answered = _health(served)["answered"]
    for i, (query, variables) in enumerate(READS):
        response = _post(served.url, served.key, query, variables)
        assert response.status_code == 200
        assert response.content == served.expected[i], query
    assert "errors" not in served.expected[0].decode() and "NOT_FOUND" in served.expected[len(READS) - 1].decode()
    # each was a first read of this snapshot, so none came from the cache: the readers
    # made them, except the one with errors
    assert _health(served)["answered"] == answered + len(READS) - 1
    assert len(_children(served.pid)) == 2


def test_a_load_through_the_port_is_seen_by_the_next_read(served: Served) -> None:
    before = {c["complaintId"] for c in _post(served.url, served.key, COMPLAINTS, {}).json()["data"]["complaints"]}
    assert "C-WPR-1" not in before
    shutil.copy(FIXTURES / "complaints.csv", served.ingest_dir / "complaints.csv")
    _load(served, "complaints.csv")
    answered = _health(served)["answered"]
    after = {c["complaintId"] for c in _post(served.url, served.key, COMPLAINTS, {}).json()["data"]["complaints"]}
    assert {"C-WPR-1", "C-WPR-2"} <= after and before < after
    text = _post(served.url, served.key, COMPLAINT, {"id": "C-WPR-1"}).json()["data"]["complaint"]["texts"][0]["text"]
    assert text == "Der Wischer rattert bei Regen"
    assert _health(served)["answered"] == answered + 2  # from a checkpoint taken after the load

    # the same source again, as many rows, one word changed: the next read has the new word
    csv = served.ingest_dir / "complaints.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("rattert bei Regen", "quietscht bei Frost"), "utf-8")
    _load(served, "complaints.csv")
    text = _post(served.url, served.key, COMPLAINT, {"id": "C-WPR-1"}).json()["data"]["complaint"]["texts"][0]["text"]
    assert text == "Der Wischer quietscht bei Frost"


def test_a_killed_reader_loses_no_write_and_is_started_again(served: Served) -> None:
    readers = _children(served.pid)
    victim = min(readers)
    os.kill(victim, signal.SIGKILL)
    # reads go on while it is down (the other reader, or the server itself); the loads
    # above changed the complaint list, not these
    for i, (query, variables) in enumerate(READS[:3]):
        response = _post(served.url, served.key, query + " ", variables)
        assert response.status_code == 200
        assert response.content == served.expected[i]
    csv = served.ingest_dir / "complaints.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("quietscht bei Frost", "klappert im Wind"), "utf-8")
    _load(served, "complaints.csv")
    _wait_ready(served, 2)
    now = _children(served.pid)
    assert victim not in now and len(now) == 2
    for _ in range(4):  # whichever process answers, the write is there
        body = _post(served.url, served.key, COMPLAINT + " " * (_ + 2), {"id": "C-WPR-1"}).json()
        assert body["data"]["complaint"]["texts"][0]["text"] == "Der Wischer klappert im Wind"


def test_workers_need_the_embedded_store_on_disk() -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", "http://127.0.0.1:9/sparql", "serve", "--workers", "2"],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("QUALITAS_")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == ERROR_TABLE[ConfigError].exit_code
    [line] = refused.stderr.strip().splitlines()
    assert "--workers 2 needs the embedded store in a folder on disk" in line
