"""The audit trail: appends chain, concurrent writers chain, and every kind of tampering
is caught by ``verify`` and by ``qualitas audit verify``."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from qualitas.audit import GENESIS, AuditLog, canonical, record_hash, state_digest
from qualitas.errors import AuditTamperedError, mapping_for
from qualitas.store import open_store

REPO = Path(__file__).resolve().parents[2]
SECRET = "test-secret-key"


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    trail = AuditLog(tmp_path / "audit" / "audit.jsonl", secret=SECRET)
    for n in range(1, 6):
        trail.append(f"test.step{n}", actor="alice", role="compliance", what={"n": n}, why=f"step {n}")
    return trail


def _lines(log: AuditLog) -> list[bytes]:
    return log.path.read_bytes().splitlines(keepends=True)


def _write(log: AuditLog, lines: list[bytes]) -> None:
    log.path.write_bytes(b"".join(lines))


def _rehash(line: bytes, **changes: object) -> bytes:
    data = json.loads(line)
    data.update(changes)
    data["hash"] = record_hash(data)
    return canonical(data) + b"\n"


def test_append_chains_records_and_anchors_the_head(log: AuditLog) -> None:
    records = log.records()
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev == GENESIS
    assert all(b.prev == a.hash for a, b in itertools.pairwise(records))
    assert records[2].actor == "alice" and records[2].role == "compliance" and records[2].what == {"n": 3}
    assert records[0].at.endswith("+00:00")
    head = json.loads(log.head_path.read_text())
    assert head["seq"] == 5 and head["hash"] == records[-1].hash
    result = log.verify()
    assert result.ok and result.records == 5 and result.problem is None
    assert result.summary() == f"audit trail intact: 5 records, head {records[-1].hash[:12]}"


def test_queries_filter_by_actor_action_time_and_page(log: AuditLog) -> None:
    log.append("pack.sign", actor="bob", what={"packId": "P"})
    assert [r.seq for r in log.records(actor="bob")] == [6]
    assert [r.seq for r in log.records(action="test.step2")] == [2]
    assert [r.seq for r in log.records(action="test")] == [1, 2, 3, 4, 5]
    assert [r.seq for r in log.records(action="test.step")] == []  # a prefix ends at a dot
    assert [r.seq for r in log.records(action="pack")] == [6]
    assert [r.seq for r in log.records(limit=2, after_seq=3)] == [4, 5]
    first = log.records()[0].at_datetime
    assert len(log.records(since=first)) == 6 and log.records(until=first)[0].seq == 1


def test_an_empty_trail_verifies(tmp_path: Path) -> None:
    result = AuditLog(tmp_path / "none.jsonl", secret=SECRET).verify()
    assert result.ok and result.records == 0


def test_values_are_stored_as_plain_json_and_still_verify(tmp_path: Path) -> None:
    import datetime as dt
    from decimal import Decimal

    trail = AuditLog(tmp_path / "a.jsonl", secret=SECRET)
    rec = trail.append("x", actor="a", what={"p": tmp_path, "d": dt.date(2026, 3, 1), "q": Decimal("1.50"), "f": 0.1})
    assert rec.what == {"p": str(tmp_path), "d": "2026-03-01", "q": "1.50", "f": 0.1}
    assert trail.verify().ok


def _append_many(path: str, who: str, count: int) -> None:
    trail = AuditLog(Path(path), secret=SECRET)
    for n in range(count):
        trail.append("test.concurrent", actor=who, what={"n": n})


def test_two_processes_appending_at_once_give_one_valid_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_many, args=(str(path), who, 40)) for who in ("server", "cli")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    trail = AuditLog(path, secret=SECRET)
    result = trail.verify()
    assert result.ok, result.summary()
    assert result.records == 80
    records = trail.records()
    assert {r.actor for r in records} == {"server", "cli"}
    assert [r.seq for r in records] == list(range(1, 81))


def test_an_edited_field_is_caught(log: AuditLog) -> None:
    lines = _lines(log)
    lines[2] = lines[2].replace(b'"actor":"alice"', b'"actor":"mallory"')
    _write(log, lines)
    result = log.verify()
    assert not result.ok and result.problem is not None
    assert (result.problem.kind, result.problem.line, result.problem.seq) == ("edited", 3, 3)
    assert "record 3 was edited" in result.summary() and "line 3" in result.summary()


def test_an_edited_record_with_its_hash_recomputed_breaks_the_chain(log: AuditLog) -> None:
    lines = _lines(log)
    lines[1] = _rehash(lines[1], why="nothing to see")
    _write(log, lines)
    problem = log.verify().problem
    assert problem is not None and (problem.kind, problem.line) == ("broken_chain", 3)


def test_a_deleted_middle_record_is_caught(log: AuditLog) -> None:
    lines = _lines(log)
    del lines[2]
    _write(log, lines)
    problem = log.verify().problem
    assert problem is not None and (problem.kind, problem.line, problem.seq) == ("broken_chain", 3, 4)
    assert "deleted or reordered" in problem.message


def test_a_deleted_last_record_is_caught_as_truncation(log: AuditLog) -> None:
    _write(log, _lines(log)[:-2])
    result = log.verify()
    assert result.problem is not None and result.problem.kind == "truncated"
    assert result.records == 3 and "2 record(s) were deleted from the end" in result.problem.message


def test_truncation_stays_visible_after_later_appends(log: AuditLog) -> None:
    _write(log, _lines(log)[:-1])
    log.append("after.cut", actor="server")
    problem = log.verify().problem
    assert problem is not None and (problem.kind, problem.line) == ("broken_chain", 5)


def test_a_reordered_pair_is_caught(log: AuditLog) -> None:
    lines = _lines(log)
    lines[1], lines[2] = lines[2], lines[1]
    _write(log, lines)
    problem = log.verify().problem
    assert problem is not None and (problem.kind, problem.line) == ("broken_chain", 2)


def test_an_unparsable_line_is_named(log: AuditLog) -> None:
    lines = _lines(log)
    lines[3] = b"{not json\n"
    _write(log, lines)
    problem = log.verify().problem
    assert problem is not None and (problem.kind, problem.line) == ("unparsable", 4)


def test_a_rewritten_chain_needs_the_secret_to_re_anchor(log: AuditLog) -> None:
    lines = _lines(log)[:-1]  # drop the last record, keeping a consistent chain
    _write(log, lines)
    last = json.loads(lines[-1])
    # the forger rewrites the head without the secret key
    forged = AuditLog(log.path, secret="guessed")
    forged._write_head(_head(last["seq"], last["hash"]))
    result = log.verify()
    assert result.problem is not None and result.problem.kind == "bad_head"
    assert "MAC does not match" in result.problem.message
    # appends refuse to chain onto a forged head
    with pytest.raises(AuditTamperedError):
        log.append("x", actor="server")
    # a deleted head is caught too
    log.head_path.unlink()
    assert log.verify().problem is not None and log.verify().problem.kind == "missing_head"  # type: ignore[union-attr]


def _head(seq: int, digest: str) -> object:
    from qualitas.audit._log import _Head

    return _Head(seq=seq, hash=digest)


def test_a_whole_chain_recomputed_is_caught_by_the_head(log: AuditLog) -> None:
    lines = _lines(log)
    rebuilt, prev = [], GENESIS
    for line in lines:
        data = json.loads(line)
        data["actor"] = "mallory"
        data["prev"] = prev
        data["hash"] = prev = record_hash(data)
        rebuilt.append(canonical(data) + b"\n")
    _write(log, rebuilt)
    problem = log.verify().problem
    assert problem is not None and problem.kind == "edited" and "chain was rewritten" in problem.message


def test_state_digest_changes_with_the_store(tmp_path: Path) -> None:
    store = open_store(None)
    try:
        empty = state_digest(store)
        store.load_triples([], source="a", sha256="0" * 64, agent="t", format="generated")
        assert state_digest(store) != empty
    finally:
        store.close()


# ---------------------------------------------------------------- the command


def _cli(*args: str, store: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(store), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, "QUALITAS_SECRET_KEY": SECRET, **(env or {})},
    )


def test_audit_verify_command_exit_codes(tmp_path: Path) -> None:
    store = tmp_path / "store"
    data = tmp_path / "extra.ttl"
    data.write_text("<urn:x:a> <urn:x:b> <urn:x:c> .\n")
    loaded = _cli("load", str(data), store=store)
    assert loaded.returncode == 0, loaded.stderr
    trail = AuditLog(tmp_path / "audit" / "audit.jsonl", secret=SECRET)
    [record] = trail.records()
    assert record.action == "load" and record.before != record.after
    [file] = record.what["files"]
    assert file["source"] == str(data.resolve()) and file["triples"] == 1 and file["status"] == "added"
    assert file["format"] == "turtle" and len(file["sha256"]) == 64

    ok = _cli("audit", "verify", store=store)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"audit trail intact: 1 records, head {record.hash[:12]}"
    wrong_key = _cli("audit", "verify", store=store, env={"QUALITAS_SECRET_KEY": "another"})
    assert wrong_key.returncode != 0 and "MAC does not match" in wrong_key.stderr
    listed = _cli("audit", "list", "--action", "load", "--json", store=store)
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["hash"] == record.hash

    trail.path.write_bytes(trail.path.read_bytes().replace(b'"triples":1', b'"triples":2'))
    bad = _cli("audit", "verify", store=store)
    assert bad.returncode == mapping_for(AuditTamperedError("x")).exit_code != 0
    assert "line 1" in bad.stderr and "record 1 was edited" in bad.stderr
