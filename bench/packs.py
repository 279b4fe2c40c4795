"""Seconds per market document pack, for every demo product and market.

Run: ``.venv/bin/python bench/packs.py [--date 2026-03-01] [--baseline] [--json PATH]``.
Builds each pack once into a temporary directory on an in-memory store with the demo
data, after one warm-up pack (fonts, templates, catalog, render workers); prints a
table and a JSON line. ``--baseline`` also builds every pack with ``workers=1`` (all
documents rendered in this process, one after the other) and reports the ratio, in the
same process. Both builds of a pack share their ``now``, and the bench checks that their
documents and gap report PDF are byte for byte the same. ``--json PATH`` writes ``pack_s_max`` (the slowest
pack, the goal is 2 s) and the per-market figures for ``bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

from qualitas.demo import demo_graph
from qualitas.doc_templates._render import default_workers
from qualitas.doc_templates.pack import MARKETS, build_pack
from qualitas.store import open_store

PRODUCTS = ("CPC-200", "CC-T2-32A", "BP-75", "QX-EV5", "OX-50", "AG-125")
GOAL_S = 2.0


def _rendered(path: Path) -> dict[str, bytes]:
    """The rendered files of a pack (documents, gap report PDF). The other members come
    from the gap report, computed again by each build: pySHACL's blank node labels in
    the validation report differ from one run to the next, whatever renders the pack."""
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n.endswith((".pdf", ".docx"))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--date", default="2026-03-01")
    parser.add_argument("--baseline", action="store_true", help="also build each pack with workers=1 and compare")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    on = dt.date.fromisoformat(args.date)
    store = open_store(None)
    store.load_triples(demo_graph(), source="demo", sha256="0" * 64, agent="bench", format="generated")
    workers = default_workers()
    results: dict[str, list[float]] = {m: [] for m in MARKETS}
    baseline: dict[str, list[float]] = {m: [] for m in MARKETS}
    rows = []
    identical = True
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        build_pack(store, "AG-125", "VN", out_dir=out, on=on)  # warm-up
        if args.baseline:
            build_pack(store, "AG-125", "VN", out_dir=out, on=on, workers=1)
        for market in MARKETS:
            for product in PRODUCTS:
                now = dt.datetime.now(dt.UTC)
                start = time.perf_counter()
                pack = build_pack(store, product, market, out_dir=out / "parallel", on=on, now=now)
                seconds = time.perf_counter() - start
                results[market].append(seconds)
                before = None
                if args.baseline:
                    start = time.perf_counter()
                    one = build_pack(store, product, market, out_dir=out / "one", on=on, now=now, workers=1)
                    before = time.perf_counter() - start
                    baseline[market].append(before)
                    identical &= _rendered(one.path) == _rendered(pack.path)
                rows.append((product, market, pack.status, len(pack.files), pack.manifest["findings"]["open"],
                             seconds, before))
    print(f"{'product':<10} {'market':<6} {'status':<6} {'files':>5} {'findings':>8} {'seconds':>8}"
          + (f" {'workers=1':>9}" if args.baseline else ""))
    for product, market, status, files, findings, seconds, before in rows:
        print(f"{product:<10} {market:<6} {status:<6} {files:>5} {findings:>8} {seconds:>8.2f}"
              + (f" {before:>9.2f}" if before is not None else ""))
    summary = {m: {"mean_s": round(statistics.mean(v), 2), "max_s": round(max(v), 2)} for m, v in results.items()}
    figures: dict[str, object] = {
        "pack_s_max": round(max(max(v) for v in results.values()), 2),
        "pack_s_mean": round(statistics.mean(s for v in results.values() for s in v), 2),
        "seconds_per_pack": summary,
        "workers": workers,
        "cores": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    if args.baseline:
        total = sum(sum(v) for v in results.values())
        total_one = sum(sum(v) for v in baseline.values())
        figures["baseline_workers_1"] = {
            m: {"mean_s": round(statistics.mean(v), 2), "max_s": round(max(v), 2)} for m, v in baseline.items()}
        figures["pack_ratio_workers_1"] = round(total_one / total, 2)
        figures["bytes_identical_to_workers_1"] = identical
    print(json.dumps(figures))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if args.baseline and not identical:
        raise SystemExit("packs built with workers=1 and with the pool differ")


if __name__ == "__main__":
    main()
