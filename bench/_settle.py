"""Waiting for RocksDB's background compaction before timing reads (benches only)."""

from __future__ import annotations

import time
from pathlib import Path


def settle(store_dir: Path, *, quiet_s: float = 5.0, limit_s: float = 300.0) -> float:
    """Wait until RocksDB's background compaction, which a writable open starts on a
    freshly loaded store, has settled: the store's ``*.sst`` files unchanged (names and
    sizes) for ``quiet_s``, at most ``limit_s``. Until then a lookup checks more files
    (1.5 to 2 times the CPU per trace at 1M triples right after a bulk load) and the
    compaction takes a core from the traces: the figure sought is that of a server
    that has held its store for a while. Returns the seconds waited."""
    started = last_change = time.monotonic()
    seen: frozenset[tuple[str, int]] = frozenset()
    while time.monotonic() - started < limit_s:
        files = set()
        for sst in store_dir.glob("*.sst"):
            try:
                files.add((sst.name, sst.stat().st_size))
            except FileNotFoundError:  # compacted away while listed
                continue
        now = frozenset(files)
        if now != seen:
            seen, last_change = now, time.monotonic()
        elif time.monotonic() - last_change >= quiet_s:
            break
        time.sleep(0.5)
    return last_change - started
