"""The edge runner's device writes reach the audit trail (``edge.write``), and only
real writes: dry runs, refusals and runners without a trail record nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from qualitas.audit import AuditLog
from qualitas.edge_adapters._model import ActionRecord
from qualitas.edge_adapters.config import parse_config
from qualitas.edge_adapters.runner import EdgeRunner


def _runner(tmp_path: Path, audit: AuditLog | None) -> EdgeRunner:
    config = parse_config(
        {
            "run": {"id": "RUN-AUDIT"},
            "agent": "edge-test",
            "sources": [],
            "series_dir": str(tmp_path / "series"),
            "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        }
    )
    return EdgeRunner(config, adapters={}, audit=audit)


def _action(status: str, *, applied: float | None, dry_run: bool = False) -> ActionRecord:
    return ActionRecord(
        id=f"act-{status}",
        rule_id="R-TEMP",
        kind="change",
        status=status,
        agent="edge-test",  # type: ignore[arg-type]
        why="EWMA drift on weld.temperature",
        ts=0.0,
        target="weld.setpoint",
        previous=240.0,
        requested=236.0,
        applied=applied,
        dry_run=dry_run,
        run_id="RUN-AUDIT",
    )


def test_edge_writes_are_recorded_with_previous_and_written_values(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", secret="s")
    runner = _runner(tmp_path, log)
    runner.action(_action("applied", applied=236.0))
    runner.action(_action("clamped", applied=238.0))
    runner.action(_action("refused", applied=None))
    runner.action(_action("dry_run", applied=None, dry_run=True))
    asyncio.run(runner.close(drain=False))
    records = log.records()
    assert [r.action for r in records] == ["edge.write", "edge.write"]
    first = records[0]
    assert (first.actor, first.role, first.before, first.after) == ("edge-test", "edge", "240.0", "236.0")
    assert first.what["target"] == "weld.setpoint" and first.what["rule"] == "R-TEMP"
    assert (first.what["previous"], first.what["requested"], first.what["written"]) == (240.0, 236.0, 236.0)
    assert first.why == "EWMA drift on weld.temperature"
    assert records[1].what["status"] == "clamped" and log.verify().ok


def test_without_a_trail_nothing_is_recorded(tmp_path: Path) -> None:
    runner = _runner(tmp_path, None)
    runner.action(_action("applied", applied=236.0))
    asyncio.run(runner.close(drain=False))
    assert runner.actions and not list(tmp_path.glob("**/*.jsonl"))


def test_demo_load_and_pack_command_are_recorded(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    store = tmp_path / "store"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "qualitas.cli", "--store", str(store), *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=repo,
            env={**os.environ, "QUALITAS_SECRET_KEY": "s", "QUALITAS_AGENT": "dana"},
        )

    assert cli("demo", "load").returncode == 0
    done = cli("pack", "AG-125", "--market", "VN", "--date", "2026-03-01", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    log = AuditLog(tmp_path / "audit" / "audit.jsonl", secret="s")
    # one record per committed change: the ontology, the demo data, then the pack
    ontology, load, pack = log.records()
    assert (ontology.action, ontology.what["files"][0]["source"]) == ("load", "qualitas-ontology.ttl")
    assert (load.action, load.actor, load.what["files"][0]["source"]) == ("load", "dana", "qualitas-demo")
    assert load.before != load.after
    assert (pack.action, pack.actor, pack.what["product"], pack.what["market"]) == (
        "pack.generate",
        "dana",
        "AG-125",
        "VN",
    )
    assert Path(done.stdout.strip()).name == f"{pack.what['packId']}.zip"
    assert pack.before == pack.after == load.after and log.verify().ok


def test_a_load_is_refused_before_it_runs_when_the_trail_cannot_take_its_record(tmp_path: Path) -> None:
    import pytest

    from qualitas.audit import audited_load
    from qualitas.errors import AuditTamperedError
    from qualitas.store import open_store

    log = AuditLog(tmp_path / "audit.jsonl", secret="server-secret")
    log.append("x", actor="server")
    other_key = AuditLog(log.path, secret="cli-with-another-secret")
    store = open_store(None)
    ran = []
    try:
        with pytest.raises(AuditTamperedError, match="MAC does not match"), audited_load(
            other_key, store, actor="a", source="s"
        ):
            ran.append(True)
    finally:
        store.close()
    assert ran == [] and len(log.records()) == 1


def test_edge_batches_and_their_records_are_one_unit(tmp_path: Path) -> None:
    """What the edge runner writes to the graph is a change too: one ``edge.record`` per
    batch written, naming it; a batch written again unchanged gets none."""
    from rdflib import Literal, URIRef

    from qualitas.edge_adapters.graph import GraphRecorder
    from qualitas.store import open_store

    log = AuditLog(tmp_path / "audit.jsonl", secret="s")
    store = open_store(None)
    try:
        recorder = GraphRecorder(store, agent="edge-test", run_id="RUN-AUDIT", audit=log)
        recorder.add([(URIRef("urn:x:sample"), URIRef("urn:x:value"), Literal(1.5))])
        asyncio.run(recorder.flush(source="edge:RUN-AUDIT:one"))
        recorder.add([(URIRef("urn:x:sample"), URIRef("urn:x:value"), Literal(1.5))])
        asyncio.run(recorder.flush(source="edge:RUN-AUDIT:one"))  # the same batch again: no change
        [record] = log.records()
        batch = store.batch("edge:RUN-AUDIT:one")
        assert batch is not None
        assert (record.action, record.actor, record.role) == ("edge.record", "edge-test", "edge")
        assert record.what["files"][0]["graph"] == batch.graph and record.what["files"][0]["triples"] == 1
        assert log.verify().ok
    finally:
        store.close()
