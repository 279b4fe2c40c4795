"""Every committed change has exactly one audit record, and no record describes a change
that did not commit (issue 14, item 8; 21 CFR 11.10(e)).

The store commit and the trail append are one recoverable unit: processes are really
killed (``SIGKILL``, from outside or at a chosen point from inside), and the trail's disk
really fills up (a file size limit, ``RLIMIT_FSIZE``, and, where the tests may mount one,
a small tmpfs). After each, the next open must leave the trail intact with one record per
committed change.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qualitas.audit import AuditLog, pending
from qualitas.errors import ERROR_TABLE, StoreError
from qualitas.store import open_store

REPO = Path(__file__).resolve().parents[2]
SECRET = "atomic-audit-tests-secret-0123456789"
STORE_EXIT = ERROR_TABLE[StoreError].exit_code


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "QUALITAS_SECRET_KEY": SECRET, "QUALITAS_AGENT": "kai", "COLUMNS": "300", **extra}


def _cli(
    store: Path, *args: str, limit: int | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``qualitas --store STORE ARGS``; with ``limit``, no file it writes may grow past
    that many bytes (``RLIMIT_FSIZE``: what a full disk looks like to one file)."""

    def fsize_limit() -> None:
        assert limit is not None
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(store), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=env or _env(),
        preexec_fn=fsize_limit if limit is not None else None,
    )


def _trail(store: Path) -> AuditLog:
    return AuditLog(store.parent / "audit" / "audit.jsonl", secret=SECRET)


def _sources(store: Path) -> dict[str, str]:
    """Current batches: source -> sha256 (a read-only view, as beside a server)."""
    with open_store(store, read_only=True) as view:
        return {b.source: b.sha256 for b in view.batches()}


def _committed_while_loading(store: Path, source: Path) -> bool:
    """Whether ``source`` is committed, seen from a read-only view opened while another
    process writes (an open that races a compaction is tried again at the next poll)."""
    try:
        return str(source) in _sources(store)
    except (RuntimeError, StoreError):
        return False


def _recorded_changes(trail: AuditLog) -> list[tuple[str, str]]:
    """(source, sha256) of every record of a committed load or retract."""
    changes = []
    for record in trail.records():
        if record.action in ("load", "retract") and record.what.get("ok"):
            for f in record.what["files"]:
                changes.append((f["source"], f["sha256"]))
    return changes


def _assert_one_record_per_committed_change(store: Path, files: list[Path]) -> None:
    """After reconciling (``qualitas audit verify``): the trail is intact, nothing is
    pending, every file's current batch has exactly one record, and no record names a
    batch that is not (or was not) committed."""
    verified = _cli(store, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    trail = _trail(store)
    assert list(pending(trail)) == []
    current = _sources(store)
    recorded = [c for c in _recorded_changes(trail) if c[0] in {str(f) for f in files}]
    for f in files:
        if str(f) in current:
            assert recorded.count((str(f), current[str(f)])) == 1, (f, recorded)
    assert {source for source, _ in recorded} <= set(current), "a record for a change that did not commit"
    seqs = [r.seq for r in trail.records()]
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    assert _cli(path, "init").returncode == 0
    return path


def _turtle(path: Path, n: int) -> Path:
    path.write_text("".join(f'<urn:x:{path.stem}:{i}> <urn:x:p> "{i}" .\n' for i in range(n)))
    return path


# ---------------------------------------------------------------- kills


def _run_killed_at(store: Path, data: Path, point: str) -> None:
    """A process that loads ``data`` as one audited unit and SIGKILLs itself at ``point``:
    ``before-commit`` (intent written, nothing loaded) or ``after-commit`` (batch
    committed, record not yet written)."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from qualitas.audit import AuditLog, audited_load
        from qualitas.ingest import load_paths
        from qualitas.store import open_store

        store = open_store({str(store)!r})
        trail = AuditLog({str(_trail(store).path)!r}, secret={SECRET!r})
        data = Path({str(data)!r})
        with audited_load(trail, store, actor="kai", source=str(data), paths=[data]) as loaded:
            if {point!r} == "before-commit":
                os.kill(os.getpid(), signal.SIGKILL)
            loaded.results = load_paths(store, [data], agent="kai")
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=_env(), check=False, capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr


def test_a_kill_after_the_commit_gets_its_record_on_the_next_open(store: Path, tmp_path: Path) -> None:
    data = _turtle(tmp_path / "after.ttl", 3)
    _run_killed_at(store, data, "after-commit")
    trail = _trail(store)
    assert str(data) in _sources(store)  # committed ...
    assert [r for r in trail.records() if r.action == "load" and data.name in json.dumps(r.what)] == []
    assert len(list(pending(trail))) == 1  # ... and its record is pending
    _assert_one_record_per_committed_change(store, [data])
    [record] = [r for r in trail.records() if r.action == "load" and r.what["files"][0]["source"] == str(data)]
    assert record.what["recovered"] is True and record.actor == "kai" and record.what["files"][0]["status"] == "added"
    assert record.before != record.after
    # reconciling again changes nothing
    _assert_one_record_per_committed_change(store, [data])
    assert len(trail.records()) == 2


def test_a_kill_before_the_commit_leaves_no_record(store: Path, tmp_path: Path) -> None:
    data = _turtle(tmp_path / "before.ttl", 3)
    _run_killed_at(store, data, "before-commit")
    assert str(data) not in _sources(store)
    _assert_one_record_per_committed_change(store, [data])
    assert [r.action for r in _trail(store).records()] == ["load"]  # only `init`'s


def _wait_for(condition: object, *, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 300
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, f"the load ended before {what}"
        assert time.monotonic() < deadline, f"no {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("kill_when", ["while the big file loads", "once the big file is committed"])
def test_a_multi_file_cli_load_killed_part_way(store: Path, tmp_path: Path, kill_when: str) -> None:
    # big files, so that each kill lands while a file loads, even on a busy machine
    files = [
        _turtle(tmp_path / "first.ttl", 5),
        _turtle(tmp_path / "big.ttl", 120_000),
        _turtle(tmp_path / "last.ttl", 120_000),
    ]
    trail = _trail(store)
    process = subprocess.Popen(
        [sys.executable, "-m", "qualitas.cli", "--store", str(store), "load", *map(str, files)],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def first_recorded_and_big_under_way() -> bool:
            return str(files[0]) in json.dumps([r.what for r in trail.records()]) and any(
                str(files[1]) in p.read_text(errors="replace") for p in pending(trail)
            )

        _wait_for(first_recorded_and_big_under_way, process=process, what="record of the first file")
        if kill_when == "once the big file is committed":
            _wait_for(lambda: _committed_while_loading(store, files[1]), process=process, what="the big file's commit")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    committed = _sources(store)
    assert str(files[0]) in committed
    assert str(files[1]) in committed or kill_when == "while the big file loads"
    _assert_one_record_per_committed_change(store, files)
    # and the same load run again completes the set, still one record per change
    again = _cli(store, "load", *map(str, files))
    assert again.returncode == 0, again.stderr
    _assert_one_record_per_committed_change(store, files)
    assert {str(f) for f in files} <= set(_sources(store))


def _append_killed(trail: AuditLog, at: str) -> None:
    """A process appending one record, SIGKILLed ``at``: ``head`` (the line written in
    full, the head anchor not yet moved) or ``line`` (half the line written)."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from qualitas.audit import _log
        from qualitas.audit._log import AuditLog

        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)

        if {at!r} == "head":
            AuditLog._write_head = die
        else:
            whole = _log._write_all
            def half(fd, data):
                if not os.readlink(f"/proc/self/fd/{{fd}}").endswith("audit.jsonl"):
                    return whole(fd, data)
                os.write(fd, data[: len(data) // 2])
                os.fsync(fd)
                die()
            _log._write_all = half
        AuditLog({str(trail.path)!r}, secret={SECRET!r}).append("test.killed", actor="kai", what={{"n": 1}})
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=_env(), check=False, capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr


@pytest.mark.parametrize(("at", "kept"), [("head", True), ("line", False)])
def test_an_append_killed_part_way_is_finished_or_undone(tmp_path: Path, at: str, kept: bool) -> None:
    trail = AuditLog(tmp_path / "audit.jsonl", secret=SECRET)
    trail.append("test.first", actor="kai")
    _append_killed(trail, at)
    assert trail.next_path.exists()
    result = trail.verify()
    assert result.ok, result.summary()
    assert [r.action for r in trail.records()] == ["test.first", "test.killed"] if kept else ["test.first"]
    trail.append("test.after", actor="kai")
    assert [r.seq for r in trail.records()] == list(range(1, len(trail.records()) + 1))
    assert trail.verify().ok and not trail.next_path.exists()


def test_an_announcement_without_the_key_is_not_adopted(tmp_path: Path) -> None:
    trail = AuditLog(tmp_path / "audit.jsonl", secret=SECRET)
    trail.append("test.first", actor="kai")
    _append_killed(trail, "head")
    forger = AuditLog(trail.path, secret="not-the-key")
    assert not forger.verify().ok  # it cannot finish the append (nor read the head)
    assert trail.next_path.exists()
    assert trail.verify().ok  # the key holder can


# ---------------------------------------------------------------- a full disk


def _fill_trail(trail: AuditLog, size: int) -> None:
    """Records until the trail holds at least ``size`` bytes (each record well under the caps)."""
    while not trail.path.exists() or trail.path.stat().st_size < size:
        trail.append("test.filler", actor="kai", what={"pad": ["x" * 1500] * 20})


def test_an_append_over_a_file_size_limit_leaves_the_trail_as_it_was(tmp_path: Path) -> None:
    trail = AuditLog(tmp_path / "audit.jsonl", secret=SECRET)
    _fill_trail(trail, 64 * 1024)
    before = trail.path.read_bytes()
    for room in (0, 40):  # nothing fits; a short write of 40 bytes, then EFBIG
        script = textwrap.dedent(
            f"""
            import resource
            from qualitas.audit._log import AuditLog
            from qualitas.errors import StoreError
            trail = AuditLog({str(trail.path)!r}, secret={SECRET!r})
            limit = trail.path.stat().st_size + {room}
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            try:
                trail.append("test.refused", actor="kai", what={{"n": 1}})
            except StoreError as exc:
                print(exc)
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, env=_env(), check=False, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert "File too large" in done.stdout and "no record was written" in done.stdout
        assert trail.path.read_bytes() == before and not trail.next_path.exists()
        assert trail.verify().ok
    record = trail.append("test.later", actor="kai")
    assert record.seq == len(trail.records()) and trail.verify().ok


def test_a_cli_load_whose_record_does_not_fit_is_recorded_on_the_next_open(store: Path, tmp_path: Path) -> None:
    trail = _trail(store)
    _fill_trail(trail, 600 * 1024)  # larger than any file the store writes for this load
    data = _turtle(tmp_path / "limited.ttl", 1)
    before = len(trail.records())
    limited = _cli(store, "load", str(data), limit=trail.path.stat().st_size + 64)
    assert limited.returncode == STORE_EXIT, limited.stdout + limited.stderr
    [line] = limited.stderr.strip().splitlines()
    assert line.startswith(f"error: {data}: added (1 triples), but its audit record could not be written")
    assert "File too large" in line and "is kept in" in line
    # the change committed; its record waits, the trail is intact and not forked
    assert str(data) in _sources(store)
    assert len(trail.records()) == before and trail.verify().ok and len(list(pending(trail))) == 1
    _assert_one_record_per_committed_change(store, [data])
    [record] = [r for r in trail.records() if r.action == "load" and r.what["files"][0]["source"] == str(data)]
    assert record.what["recovered"] is True and record.seq == before + 1
    # later changes chain on: no two records share a seq
    nxt = _turtle(tmp_path / "next.ttl", 2)
    assert _cli(store, "load", str(nxt)).returncode == 0
    _assert_one_record_per_committed_change(store, [data, nxt])


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs for the audit trail (needs the right to mount; skipped without)."""
    mount = tmp_path / "auditfs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill_disk(folder: Path) -> Path:
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # the disk is full
    finally:
        os.close(fd)
    return filler


def test_a_full_audit_disk_refuses_the_change_before_making_it(small_disk: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    env = _env(QUALITAS_AUDIT_LOG=str(small_disk / "audit.jsonl"))
    assert _cli(store, "init", env=env).returncode == 0
    trail = AuditLog(small_disk / "audit.jsonl", secret=SECRET)
    data = _turtle(tmp_path / "full.ttl", 2)
    filler = _fill_disk(small_disk)
    before = trail.path.read_bytes()

    refused = _cli(store, "load", str(data), env=env)
    assert refused.returncode == STORE_EXIT, refused.stdout + refused.stderr
    [line] = refused.stderr.strip().splitlines()
    assert "No space left on device" in line and "nothing was changed" in line
    assert str(data) not in _sources(store)  # the change was refused before it was made

    # The trail's last block has room for a line but not for the head anchor's rewrite:
    # the append is cut back instead of leaving a record the head does not name.
    with pytest.raises(StoreError, match="no record was written"):
        trail.append("test.full", actor="kai")
    assert trail.path.read_bytes() == before and trail.verify().ok

    filler.unlink()
    loaded = _cli(store, "load", str(data), env=env)
    assert loaded.returncode == 0, loaded.stderr
    verified = _cli(store, "audit", "verify", env=env)
    assert verified.returncode == 0, verified.stderr
    assert [r.seq for r in trail.records()] == [1, 2]
    assert trail.records()[-1].what["files"][0]["source"] == str(data)
