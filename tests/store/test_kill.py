"""A load killed at any moment (SIGKILL, no clean-up code runs) leaves the store as it
was, or, once its commit has landed, as after it: never part of it (issue 15, item 3)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from qualitas.demo.scale import generate
from qualitas.errors import StoreBusyError
from qualitas.ontology import ONTOLOGY_FILE
from qualitas.store import OxigraphStore, open_store

REPO = Path(__file__).resolve().parents[2]
META = "https://w3id.org/qualitas/graph/meta"


def _cli(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(store), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )


def _truth(store: OxigraphStore) -> int:
    """The distinct triples of the current batches, counted the slow way."""
    rows = store.select(
        f"""SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?p ?o WHERE {{
            GRAPH <{META}> {{ ?g a q:IngestBatch }} GRAPH ?g {{ ?s ?p ?o }} }} }}"""
    )
    return int(str(rows[0]["n"]))


def _live(store: OxigraphStore) -> set[tuple[str, str, str]]:
    """The live data (the default graph), each term in N-Triples syntax."""
    return {(s, p, o) for s, p, o, g in store.snapshot() if g == str(ox.DefaultGraph())}


def test_killing_a_large_load_leaves_the_store_unchanged(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    assert _cli("demo", "load", store=store_dir).returncode == 0
    with open_store(store_dir) as store:
        before = store.snapshot()
        counts = (store.triple_count(), store.batch_count())
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
            reached = re.match(r"loading big\.nt: (\d+)%", line)
            if (reached and 50 <= int(reached.group(1)) < 100) or (not line and proc.poll() is not None):
                break
        assert reached, seen  # half-way or more, not done: the live phase
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # Half-way through, the bulk loader was writing the live data: a read-only view
    # refuses to show it rather than show part of the load ...
    with pytest.raises(StoreBusyError, match="in the middle of a bulk load"):
        OxigraphStore(store_dir, read_only=True, busy_wait_s=0)
    # ... and the next open for writing takes it out again.
    with open_store(store_dir) as store:
        assert store.snapshot() == before
        assert [b.source for b in store.batches()] == ["qualitas-demo", "qualitas-ontology.ttl"]
        assert (store.triple_count(), store.batch_count()) == counts
    assert not list(store_dir.glob("bulk-*.sst"))
    with open_store(store_dir, read_only=True) as view:
        assert (view.triple_count(), view.batch_count()) == counts

    # And the same load, not killed, goes through afterwards.
    done = _cli("load", str(big), store=store_dir)
    assert done.returncode == 0, done.stderr
    assert "big.nt: added" in done.stdout
    with open_store(store_dir, read_only=True) as view:
        assert view.triple_count() == _truth(view) == len(_live(view)) > counts[0] + 200_000
        assert view.batch_count() == 3


def test_a_killed_bulk_load_leaves_no_sst_files_once_the_store_reopens(tmp_path: Path) -> None:
    """``bulk_load`` writes ``bulk-*.sst`` files into the store directory before RocksDB
    ingests them; a kill in between left them there for good (issue 14, item 16). The
    file is Turtle (N-Triples is Turtle), so it loads the transactional way: whole into
    its batch graph first, and the kill lands there."""
    store_dir = tmp_path / "store"
    with open_store(store_dir) as store:
        store.load_file(ONTOLOGY_FILE, format="turtle", source="qualitas-ontology.ttl", agent="test")
        before = store.snapshot()
        counts = (store.triple_count(), store.batch_count())
    big = tmp_path / "big.ttl"
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


#: Loads FILE as SOURCE into the store the bulk way, in 512 KiB chunks (so that a small
#: file has many), printing its progress in percent, one line per report.
_CHILD = """
import sys
from pathlib import Path
import qualitas.store._oxigraph as backend
backend.CHUNK_BYTES = 512 << 10
store = backend.OxigraphStore(Path(sys.argv[1]))
print("start", flush=True)
store.load_file(Path(sys.argv[2]), source=sys.argv[3], agent="test",
                progress=lambda done, total: print(done * 100 // total, flush=True))
print("done", flush=True)
sys.stdin.readline()  # alive until killed, so that a kill never finds it gone
"""


def _kill_at(store_dir: Path, data: Path, source: str, percent: int | None) -> str:
    """Run the child load and SIGKILL it at the first progress report of ``percent`` or
    more (``None``: as soon as it starts); the last line it printed before."""
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(store_dir), str(data), source],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    ) as proc:
        assert proc.stdout is not None
        line = ""
        for line in proc.stdout:
            line = line.strip()
            if line == "done" or (percent is None and line == "start"):
                break
            if percent is not None and line.isdigit() and int(line) >= percent:
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert line != "done", f"the load ended before it reached {percent}%"
    return line


@pytest.mark.parametrize("percent", [None, 50, 100], ids=["batch-graph", "live-phase", "count-and-commit"])
def test_a_replace_killed_at_any_phase_of_the_bulk_way_is_all_or_nothing(tmp_path: Path, percent: int | None) -> None:
    """Source ``lots`` is replaced by a version that keeps half of its triples, while a
    small batch shares some of the dropped half; the replace is killed while the batch
    graph fills (before the live data is touched), in the middle of the live phase, or
    once every chunk is in (counting or committing). Reopened, the store is as before,
    or (only possible in the last case) as after; finishing or retracting then leaves
    exactly what a store loaded the transactional way holds."""
    v1, v2, shared, fresh = tmp_path / "v1.nt", tmp_path / "v2.nt", tmp_path / "shared.nt", tmp_path / "fresh.nt"
    generate(units=1000, out=v1, seed=1)
    generate(units=1000, out=fresh, seed=2)
    lines = v1.read_bytes().splitlines(keepends=True)
    v2.write_bytes(b"".join(lines[len(lines) // 2 :]) + fresh.read_bytes())
    shared.write_bytes(b"".join(lines[100:400]))
    assert v1.stat().st_size > 4 << 20 and v2.stat().st_size > 4 << 20

    def expected(*files: Path) -> tuple[set[tuple[str, str, str]], int]:
        """The live data of the files loaded the transactional way (as Turtle)."""
        with OxigraphStore(None) as reference:
            for i, f in enumerate(files):
                copy = tmp_path / f"{f.stem}.ttl"
                shutil.copyfile(f, copy)
                reference.load_file(copy, source=f"ref{i}", agent="test")
            return _live(reference), reference.triple_count()

    store_dir = tmp_path / "store"
    with open_store(store_dir) as store:
        assert store.load_file(v1, source="lots", agent="test").status == "added"
        assert store.last_bulk_profile is not None  # it went the bulk way
        store.load_file(shared, source="shared", agent="test")
        before, counts = store.snapshot(), (store.triple_count(), store.batch_count())
        assert (_live(store), counts[0]) == expected(v1, shared)

    last = _kill_at(store_dir, v2, "lots", percent)
    if percent == 50:  # the pending flag is set until the commit
        with pytest.raises(StoreBusyError):
            OxigraphStore(store_dir, read_only=True, busy_wait_s=0)

    after_v2 = expected(v2, shared)
    with open_store(store_dir) as store:
        batch = store.batch("lots")
        assert batch is not None
        if batch.sha256 == hashlib.sha256(v2.read_bytes()).hexdigest():
            assert percent == 100, f"the commit landed though the load was killed at {last}%"
            assert (_live(store), store.triple_count()) == after_v2
        else:
            assert store.snapshot() == before
            assert (store.triple_count(), store.batch_count()) == counts
        assert store.triple_count() == _truth(store) and store.batch_count() == len(store.batches()) == 2
        assert not list(store_dir.glob("bulk-*.sst"))

        # Finished now, the replace drops v1's triples that neither v2 nor `shared` holds.
        store.load_file(v2, source="lots", agent="test")
        assert (_live(store), store.triple_count()) == after_v2
        assert store.triple_count() == _truth(store)
        # Retracted, `lots` leaves `shared` whole.
        store.retract("lots")
        assert (_live(store), store.triple_count()) == expected(shared)
        assert store.batch_count() == 1
