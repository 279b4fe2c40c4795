"""A load killed half-way (SIGKILL, no clean-up code runs) leaves the store as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from qualitas.demo.scale import generate
from qualitas.ontology import ONTOLOGY_FILE
from qualitas.store import open_store

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(store), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )


def test_killing_a_large_load_leaves_the_store_unchanged(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    assert _cli("demo", "load", store=store_dir).returncode == 0
    with open_store(store_dir) as store:
        before = store.snapshot()
    big = tmp_path / "big.nt"
    stats = generate(units=8000, out=big)
    assert stats.triples > 200_000

    with subprocess.Popen(
        [sys.executable, "-m", "qualitas.cli", "--store", str(store_dir), "load", str(big)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
    ) as proc:
        assert proc.stderr is not None
        deadline = time.monotonic() + 120
        seen = ""
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            seen += line
            if "loading big.nt: 50%" in line or (not line and proc.poll() is not None):
                break
        assert "loading big.nt: 50%" in seen, seen
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    with open_store(store_dir) as store:
        assert store.snapshot() == before
        assert [b.source for b in store.batches()] == ["qualitas-demo", "qualitas-ontology.ttl"]

    # And the same load, not killed, goes through afterwards.
    done = _cli("load", str(big), store=store_dir)
    assert done.returncode == 0, done.stderr
    assert "big.nt: added" in done.stdout


def test_a_killed_bulk_load_leaves_no_sst_files_once_the_store_reopens(tmp_path: Path) -> None:
    """``bulk_load`` writes ``bulk-*.sst`` files into the store directory before RocksDB
    ingests them; a kill in between left them there for good (issue 14, item 16)."""
    store_dir = tmp_path / "store"
    with open_store(store_dir) as store:
        store.load_file(ONTOLOGY_FILE, format="turtle", source="qualitas-ontology.ttl", agent="test")
        before = store.snapshot()
        counts = (store.triple_count(), store.batch_count())
    big = tmp_path / "big.nt"
    generate(units=8000, out=big)
    code = (
        "import sys; from pathlib import Path; from qualitas.store import open_store; "
        "open_store(Path(sys.argv[1])).load_file(Path(sys.argv[2]), agent='test')"
    )
    with subprocess.Popen([sys.executable, "-c", code, str(store_dir), str(big)], cwd=REPO) as proc:
        deadline = time.monotonic() + 120
        while not list(store_dir.glob("bulk-*.sst")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the load ended before any bulk-*.sst file was seen"
    assert list(store_dir.glob("bulk-*.sst"))

    with open_store(store_dir, read_only=True) as view:
        assert (view.triple_count(), view.batch_count()) == counts
    with open_store(store_dir) as store:
        assert store.snapshot() == before
    assert not list(store_dir.glob("bulk-*.sst"))
