"""Files far larger than the memory the parser uses: CSV rows and N-Triples stream."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from ingest_helpers import refused

from qualitas.ingest import complaints, rdf
from qualitas.store import open_store

ROWS = 20_000  # about 21 MB of CSV: long free texts, as complaints have
_TEXT = "The charging port cover rattles at speed and the latch does not hold; " * 14


def _write_complaints(path: Path, rows: int, *, duplicate_at: int | None = None) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("complaint_id,received,channel,serial,market,text,lang\n")
        for i in range(rows):
            cid = "C-0000007" if duplicate_at == i else f"C-{i:07d}"
            fh.write(f'{cid},2025-03-01,dealer,SN-{i:08d},EU,"{_TEXT} case {i}",en\n')


@pytest.mark.slow
def test_large_csv_streams(tmp_path: Path) -> None:
    path = tmp_path / "complaints-large.csv"
    _write_complaints(path, ROWS)
    size = path.stat().st_size
    assert size > 20_000_000
    with open_store(None) as store:  # tracemalloc sees the parser's Python memory, not the store's
        tracemalloc.start()
        result = complaints.execute(store, path, agent="pytest")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert result.status == "added" and result.triples > ROWS * 8
        assert peak < size / 4, f"parser peak {peak} bytes for a {size} byte file"


@pytest.mark.slow
def test_large_csv_duplicate_found_with_both_rows(tmp_path: Path) -> None:
    path = tmp_path / "complaints-dup.csv"
    _write_complaints(path, 3_000, duplicate_at=2_500)
    with open_store(None) as store:
        refused(
            store,
            lambda: complaints.execute(store, path, agent="pytest"),
            "row 2502",
            "duplicate complaint 'C-0000007'",
            "first in row 9",
        )


@pytest.mark.slow
def test_large_ntriples_streams(tmp_path: Path) -> None:
    path = tmp_path / "big.nt"
    with path.open("w") as fh:
        for i in range(300_000):
            fh.write(f'<urn:x:s{i}> <https://w3id.org/qualitas/ontology#name> "name {i} of a large file" .\n')
    size = path.stat().st_size
    with open_store(tmp_path / "store") as store:
        tracemalloc.start()
        result = rdf.execute(store, path, agent="pytest")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert result.triples == 300_000
        assert peak < size / 4
