"""Raw high-rate series, stored outside the triples in one SQLite file per run.

The design keeps 200 ms sensor series and 120 fps camera results out of the graph;
the graph gets a ``q:RawSeries`` per signal pointing at this file (``q:seriesFile``,
``q:seriesKey``) with the sample count and time span, so a reader can always go from
an alarm to the raw values behind it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qualitas.edge_adapters._model import Sample


@dataclass(frozen=True)
class SeriesInfo:
    signal: str
    count: int
    first_ts: float
    last_ts: float


class SeriesStore:
    """Append-only samples of one run: ``<folder>/<run_id>.sqlite``, table ``samples``."""

    def __init__(self, folder: Path | str, run_id: str) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
        self.path = (folder / f"{safe}.sqlite").resolve()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS samples (seq INTEGER PRIMARY KEY AUTOINCREMENT, signal TEXT NOT NULL, "
            "ts REAL NOT NULL, value REAL NOT NULL, source TEXT NOT NULL, quality TEXT NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS samples_signal_ts ON samples (signal, ts)")
        self._db.commit()

    @property
    def uri(self) -> str:
        return self.path.as_uri()

    def append(self, samples: Iterable[Sample]) -> int:
        rows = [(s.signal, s.ts, s.value, s.source, s.quality) for s in samples]
        if rows:
            self._db.executemany(
                "INSERT INTO samples (signal, ts, value, source, quality) VALUES (?, ?, ?, ?, ?)", rows
            )
            self._db.commit()
        return len(rows)

    def values(self, signal: str) -> list[float]:
        return [r[0] for r in self._db.execute("SELECT value FROM samples WHERE signal = ? ORDER BY seq", (signal,))]

    def samples(self, signal: str) -> list[Sample]:
        return [
            Sample(signal, r[1], r[0], r[2], r[3])
            for r in self._db.execute(
                "SELECT ts, value, source, quality FROM samples WHERE signal = ? ORDER BY seq", (signal,)
            )
        ]

    def info(self) -> list[SeriesInfo]:
        rows = self._db.execute(
            "SELECT signal, COUNT(*), MIN(ts), MAX(ts) FROM samples GROUP BY signal ORDER BY signal"
        )
        return [SeriesInfo(*r) for r in rows]

    def close(self) -> None:
        self._db.close()
