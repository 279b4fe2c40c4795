"""Seconds per market document pack, for every demo product and market.

Run: ``.venv/bin/python bench/packs.py [--date 2026-03-01]``. Builds each pack once into
a temporary directory on an in-memory store with the demo data, after one warm-up pack
(fonts, templates, catalog); prints a table and a JSON line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

from qualitas.demo import demo_graph
from qualitas.doc_templates.pack import MARKETS, build_pack
from qualitas.store import open_store

PRODUCTS = ("CPC-200", "CC-T2-32A", "BP-75", "QX-EV5", "OX-50", "AG-125")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--date", default="2026-03-01")
    args = parser.parse_args()
    on = dt.date.fromisoformat(args.date)
    store = open_store(None)
    store.load_triples(demo_graph(), source="demo", sha256="0" * 64, agent="bench", format="generated")
    results: dict[str, list[float]] = {m: [] for m in MARKETS}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        build_pack(store, "AG-125", "VN", out_dir=Path(tmp), on=on)  # warm-up
        for market in MARKETS:
            for product in PRODUCTS:
                start = time.perf_counter()
                pack = build_pack(store, product, market, out_dir=Path(tmp), on=on)
                seconds = time.perf_counter() - start
                results[market].append(seconds)
                rows.append((product, market, pack.status, len(pack.files), pack.manifest["findings"]["open"], seconds))
    print(f"{'product':<10} {'market':<6} {'status':<6} {'files':>5} {'findings':>8} {'seconds':>8}")
    for product, market, status, files, findings, seconds in rows:
        print(f"{product:<10} {market:<6} {status:<6} {files:>5} {findings:>8} {seconds:>8.2f}")
    summary = {m: {"mean_s": round(statistics.mean(v), 2), "max_s": round(max(v), 2)} for m, v in results.items()}
    print(json.dumps({"seconds_per_pack": summary}))


if __name__ == "__main__":
    main()
