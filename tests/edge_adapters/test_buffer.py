"""The bounded buffer spills to SQLite, keeps FIFO order and survives a restart."""

from __future__ import annotations

from pathlib import Path

from qualitas.edge_adapters._model import Sample
from qualitas.edge_adapters.buffer import SpillBuffer


def _s(i: int) -> Sample:
    return Sample("x", float(i), float(i), "src")


def test_spills_beyond_capacity_and_keeps_order(tmp_path: Path) -> None:
    buf = SpillBuffer(tmp_path / "b.sqlite", capacity=10)
    buf.put_many(_s(i) for i in range(35))
    assert len(buf) == 35 and buf.on_disk == 25 and buf.spilled_total == 25
    got = [s.value for s in buf.take(7)]
    buf.put_many(_s(i) for i in range(35, 40))  # still spilling: disk is not empty
    while len(buf):
        got += [s.value for s in buf.take(6)]
    assert got == [float(i) for i in range(40)]
    buf.close()


def test_close_persists_memory_ahead_of_spilled_rows_and_reopen_resumes(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    buf = SpillBuffer(path, capacity=5)
    buf.put_many(_s(i) for i in range(12))
    assert [s.value for s in buf.take(2)] == [0.0, 1.0]
    buf.close()  # 3 in memory, 7 on disk
    again = SpillBuffer(path, capacity=5)
    assert len(again) == 10
    got = []
    while len(again):
        got += [s.value for s in again.take(4)]
    assert got == [float(i) for i in range(2, 12)]
    again.close()


async def test_get_waits_for_samples(tmp_path: Path) -> None:
    buf = SpillBuffer(None, capacity=4)
    assert await buf.get(timeout=0.01) == []
    buf.put(_s(1))
    assert [s.value for s in await buf.get(timeout=1)] == [1.0]
    buf.close()
