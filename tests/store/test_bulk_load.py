"""The bulk way of loading large N-Triples files (issue 15, item 3): what readers in
this process and in read-only views see while it runs, and what a bad file leaves."""

from __future__ import annotations

import threading
from pathlib import Path

import pyoxigraph as ox
import pytest

import qualitas.store._oxigraph as backend
from qualitas.demo.scale import generate
from qualitas.errors import ParseError, StoreBusyError
from qualitas.ontology import ONTOLOGY_FILE
from qualitas.store import OxigraphStore

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 256 KiB, so that a 5 MB file goes through the pipeline in twenty."""
    monkeypatch.setattr(backend, "CHUNK_BYTES", 256 << 10)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bulk") / "units.nt"
    generate(units=1000, out=path, seed=3)
    assert path.stat().st_size >= backend.BULK_MIN_BYTES
    return path


def _live(store: OxigraphStore) -> set[tuple[str, ...]]:
    """The quads of the default graph, from ``snapshot()`` (which also holds the batch
    graph a load is filling, invisible to queries)."""
    return {quad for quad in store.snapshot() if quad[3] == str(ox.DefaultGraph())}


def _store(tmp_path: Path) -> OxigraphStore:
    store = OxigraphStore(tmp_path / "store")
    store.load_file(ONTOLOGY_FILE, format="turtle", source="qualitas-ontology.ttl", agent="test")
    return store


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("on_disk", [True, False], ids=["on-disk", "in-memory"])
def test_readers_see_the_store_before_or_after_a_bulk_load_never_between(
    tmp_path: Path, data: Path, on_disk: bool
) -> None:
    """On disk, this object's queries read a checkpoint of the store as it was while the
    load writes the live data, without waiting; in memory they wait at a gate."""
    store = OxigraphStore(tmp_path / "store" if on_disk else None)
    store.load_file(ONTOLOGY_FILE, format="turtle", source="qualitas-ontology.ttl", agent="test")
    before, live = store.select(COUNT)[0]["n"], _live(store)
    seen: list[object] = []
    during: list[object] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(store.select(COUNT)[0]["n"])

    def progress(done: int, total: int) -> None:
        # Called by the loader, in its live phase from the second report on.
        if not on_disk or done * 2 < total or during:
            return
        # A query here, in the loading thread, is answered at once, from before the load ...
        during.append(store.select(COUNT)[0]["n"])
        during.append(len(store.batches()))
        during.append(_live(store) == live)
        # ... and a read-only view opened now reads the flag in its own snapshot and refuses.
        with pytest.raises(StoreBusyError):
            OxigraphStore(tmp_path / "store", read_only=True, busy_wait_s=0)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        result = store.load_file(data, agent="test", progress=progress)
    finally:
        stop.set()
        reader.join()
    after = store.select(COUNT)[0]["n"]
    profile = store.last_bulk_profile
    assert profile is not None and profile.chunks >= 15 and profile.triples == result.triples
    assert set(seen) <= {before, after} and after == store.triple_count() > before
    if on_disk:
        assert during == [before, 1, True]
        with OxigraphStore(tmp_path / "store", read_only=True, busy_wait_s=0) as view:
            assert view.select(COUNT)[0]["n"] == after
            assert (view.triple_count(), view.batch_count()) == (after, 2)


@pytest.mark.usefixtures("small_chunks")
def test_a_syntax_error_late_in_a_bulk_load_names_its_line_and_leaves_the_store_unchanged(
    tmp_path: Path, data: Path
) -> None:
    store = _store(tmp_path)
    snapshot, counts = store.snapshot(), (store.triple_count(), store.batch_count())
    lines = data.read_bytes().splitlines(keepends=True)
    bad_line = len(lines) - 50
    lines[bad_line - 1] = b"<http://example.com/a> <http://example.com/b> .\n"
    broken = tmp_path / "broken.nt"
    broken.write_bytes(b"".join(lines))

    with pytest.raises(ParseError) as caught:
        store.load_file(broken, agent="test")
    assert caught.value.line == bad_line
    assert str(caught.value).startswith(f"{broken}:{bad_line}: ")
    # Most chunks had reached the default graph; they are out again, and the flag with them.
    assert store.snapshot() == snapshot
    assert (store.triple_count(), store.batch_count()) == counts
    with OxigraphStore(store.path, read_only=True, busy_wait_s=0) as view:
        assert view.triple_count() == counts[0]
    store.close()
    with OxigraphStore(tmp_path / "store") as reopened:
        assert reopened.snapshot() == snapshot


def test_blank_nodes_go_the_transactional_way_and_keep_their_identity(tmp_path: Path, data: Path) -> None:
    """The bulk loader renames blank nodes per call, so a file with ``_:`` cannot be
    loaded twice (batch graph, live data) in chunks; it goes the transactional way."""
    with_blank = tmp_path / "blank.nt"
    with with_blank.open("wb") as fh:
        fh.write(data.read_bytes())
        for i in range(2000):
            fh.write(f"<http://example.com/lot{i}> <http://example.com/sample> _:s{i} .\n".encode())
            fh.write(f'_:s{i} <http://example.com/value> "{i}" .\n'.encode())
    store = _store(tmp_path)
    result = store.load_file(with_blank, agent="test")
    assert store.last_bulk_profile is None
    joined = store.select(
        "SELECT (COUNT(*) AS ?n) WHERE { ?lot <http://example.com/sample> ?s . ?s <http://example.com/value> ?v }"
    )
    assert joined == [{"n": 2000}]
    graph = ox.NamedNode(result.graph)
    assert store.triple_count() == store.select(COUNT)[0]["n"]
    assert store.ask(f"ASK {{ GRAPH <{graph.value}> {{ ?lot <http://example.com/sample> ?s . ?s ?p ?v }} }}")
