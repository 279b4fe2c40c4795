"""A bounded sample buffer that spills to disk (SQLite) instead of dropping.

Producers (OPC UA callbacks, Modbus polls) never block and never lose a sample:
up to ``capacity`` samples wait in memory; beyond that, new samples go to an SQLite
file in arrival order. Consumers get samples strictly first in, first out: memory
first, then the spilled rows (which are always newer), refilled in order.
:meth:`SpillBuffer.close` writes whatever is still in memory to the file, and a
buffer opened on an existing file hands its rows out first, so a restart of the
edge process, the PLC or the network loses nothing that was buffered.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from qualitas.edge_adapters._model import Sample


class SpillBuffer:
    def __init__(self, path: Path | str | None, *, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self.path = Path(path) if path is not None else None
        self._mem: deque[Sample] = deque()
        self._event = asyncio.Event()
        self.spilled_total = 0
        self.put_total = 0
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path) if self.path is not None else ":memory:", check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS spill (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "signal TEXT NOT NULL, value REAL NOT NULL, ts REAL NOT NULL, source TEXT NOT NULL, quality TEXT NOT NULL)"
        )
        self._db.commit()
        self._on_disk = self._db.execute("SELECT COUNT(*) FROM spill").fetchone()[0]
        if self._on_disk:
            self._event.set()

    def __len__(self) -> int:
        return len(self._mem) + self._on_disk

    @property
    def on_disk(self) -> int:
        return self._on_disk

    def put(self, sample: Sample) -> None:
        """Add one sample (never blocks; spills when memory is full)."""
        self.put_total += 1
        if self._on_disk or len(self._mem) >= self.capacity:
            self._spill([sample])
        else:
            self._mem.append(sample)
        self._event.set()

    def put_many(self, samples: Iterable[Sample]) -> None:
        for sample in samples:
            self.put(sample)

    def _spill(self, samples: list[Sample]) -> None:
        self._db.executemany(
            "INSERT INTO spill (signal, value, ts, source, quality) VALUES (?, ?, ?, ?, ?)",
            [(s.signal, s.value, s.ts, s.source, s.quality) for s in samples],
        )
        self._db.commit()
        self._on_disk += len(samples)
        self.spilled_total += len(samples)

    def _refill(self, limit: int) -> None:
        rows = self._db.execute(
            "SELECT seq, signal, value, ts, source, quality FROM spill ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        if not rows:
            self._on_disk = 0
            return
        self._db.execute("DELETE FROM spill WHERE seq <= ?", (rows[-1][0],))
        self._db.commit()
        self._on_disk -= len(rows)
        self._mem.extend(Sample(r[1], r[2], r[3], r[4], r[5]) for r in rows)

    def take(self, max_items: int = 1000) -> list[Sample]:
        """Up to ``max_items`` of the oldest samples, removed from the buffer."""
        if not self._mem and self._on_disk:
            self._refill(max(max_items, min(self.capacity, 10_000)))
        out = [self._mem.popleft() for _ in range(min(max_items, len(self._mem)))]
        if not self._mem and not self._on_disk:
            self._event.clear()
        return out

    async def get(self, max_items: int = 1000, *, timeout: float | None = None) -> list[Sample]:
        """Wait (up to ``timeout``) for samples, then :meth:`take` them."""
        if not len(self):
            try:
                async with asyncio.timeout(timeout):  # no task per call, unlike wait_for
                    await self._event.wait()
            except TimeoutError:
                return []
        return self.take(max_items)

    def close(self) -> None:
        """Persist what is still in memory (ahead of the spilled rows) and close."""
        if self._mem:
            rest = list(self._mem)
            self._mem.clear()
            if self._on_disk:
                # memory rows are older than the spilled ones: renumber them in front
                low = self._db.execute("SELECT MIN(seq) FROM spill").fetchone()[0]
                self._db.executemany(
                    "INSERT INTO spill (seq, signal, value, ts, source, quality) VALUES (?, ?, ?, ?, ?, ?)",
                    [(low - len(rest) + i, s.signal, s.value, s.ts, s.source, s.quality) for i, s in enumerate(rest)],
                )
                self._db.commit()
                self._on_disk += len(rest)
            else:
                self._spill(rest)
        self._db.close()
