"""Benchmark: the same ~1M-triple data set in each store backend (not a test).

    python bench/backends.py [--units 35000] [--traces 50] [--seed 42]
                             [--backends oxigraph,oxigraph-server,virtuoso,bolt-arcadedb]
                             [--json bench/out/backends.json]

Builds the scaled demo data set (``qualitas.demo.scale``, ~30 triples per unit: 35,000
units give ~1M triples) plus the ontology and the demo data, then, for each backend:

* **load**: the ontology, the demo data and the generated file, each one batch through
  ``GraphStore.load_file`` / ``load_triples`` (the remote stores' load includes the
  round trips: staging requests, the switch);
* **trace**: ``reverse_trace`` for the same ``--traces`` complaints (after 10 warm-up
  traces of other complaints), p50 and p95;
* **gap**: ``gap_report`` of the demo product BP-75 for the EU on 2025-06-01 (median of
  3 after a warm-up run).

Remote servers run on 127.0.0.1 (the test suite's fixtures: ``oxigraph serve`` from
PyPI, Virtuoso 7 from Debian); every figure is also given as a ratio to the embedded
store (``oxigraph``), measured in the same run. The issue's goal: a remote store's
trace p95 at most 2x the embedded one's on loopback (``goals`` in the output).

``BACKENDS`` maps a name to a context manager that starts the server and yields
``(store location, settings)``; a backend added to the product adds its entry here.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the servers the tests start (tests/store/_servers.py)

from qualitas.demo import demo_graph  # noqa: E402
from qualitas.demo.scale import generate  # noqa: E402
from qualitas.ontology import ONTOLOGY_FILE  # noqa: E402
from qualitas.reasoning.gap import gap_report  # noqa: E402
from qualitas.reasoning.trace import reverse_trace  # noqa: E402
from qualitas.settings import Settings  # noqa: E402
from qualitas.store import GraphStore, open_store  # noqa: E402

ON = dt.date(2025, 6, 1)
Location = tuple[Path | str, Settings | None]


@contextlib.contextmanager
def _embedded(tmp: Path) -> Iterator[Location]:
    yield tmp / "embedded", None


@contextlib.contextmanager
def _oxigraph_server(tmp: Path) -> Iterator[Location]:
    from tests.store._servers import OxigraphServer

    with OxigraphServer.running() as server:
        yield server.url, Settings(store=server.url)


@contextlib.contextmanager
def _virtuoso(tmp: Path) -> Iterator[Location]:
    from tests.store._servers import VirtuosoServer

    with VirtuosoServer.running() as server:
        env = server.env
        yield (
            server.url,
            Settings(
                store=server.url,
                store_user=env["QUALITAS_STORE_USER"],
                store_password=env["QUALITAS_STORE_PASSWORD"],
                store_timeout_s=600,
            ),
        )


@contextlib.contextmanager
def _bolt_arcadedb(tmp: Path) -> Iterator[Location]:
    """ArcadeDB (PyPI ``arcadedb-embedded``) with its Bolt plugin, through the neo4j driver."""
    from tests.store._arcadedb import DATABASE, PASSWORD, USER, start_server

    server = start_server(tmp / "arcadedb", heap="5g", serial_gc=False)
    try:
        yield (
            server.url,
            Settings(
                store=server.url,
                store_user=USER,
                store_password=PASSWORD,
                store_database=DATABASE,
                store_timeout_s=3600,
            ),
        )
    finally:
        server.stop()


BACKENDS: dict[str, Callable[[Path], contextlib.AbstractContextManager[Location]]] = {
    "oxigraph": _embedded,
    "oxigraph-server": _oxigraph_server,
    "virtuoso": _virtuoso,
    "bolt-arcadedb": _bolt_arcadedb,
}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return p50 * 1000, p95 * 1000


#: Backends whose batch is one server transaction, held in the server's memory until it
#: commits, load the generated file in parts of this many triples, each its own batch
#: (ArcadeDB's heap grew to 4.6 GB for one 300,000-triple transaction); the others load
#: it as one batch. The same triples either way.
BATCH_TRIPLES: dict[str, int] = {"bolt-arcadedb": 200_000}


def _parts(data: Path, triples: int) -> list[Path]:
    """The N-Triples file ``data`` (one triple a line) cut into files of ``triples`` lines."""
    parts: list[Path] = []
    with data.open("rb") as fh:
        while True:
            lines = [line for _, line in zip(range(triples), fh, strict=False)]
            if not lines:
                return parts
            part = data.with_name(f"{data.stem}.part{len(parts) + 1}{data.suffix}")
            part.write_bytes(b"".join(lines))
            parts.append(part)


def _load(store: GraphStore, data: Path, *, parts: list[Path] | None = None) -> tuple[float, int]:
    t0 = time.perf_counter()
    store.load_file(ONTOLOGY_FILE, format="turtle", source="qualitas-ontology.ttl", agent="bench")
    graph = demo_graph()
    sha = hashlib.sha256(graph.serialize(format="nt").encode()).hexdigest()
    store.load_triples(graph, source="qualitas-demo", sha256=sha, agent="bench", format="generated")
    for part in parts or [data]:
        store.load_file(part, agent="bench")
    return time.perf_counter() - t0, store.triple_count()


def measure(
    name: str, location: Path | str, settings: Settings | None, data: Path, traces: int, seed: int
) -> dict[str, Any]:
    store = open_store(location, settings=settings)
    try:
        parts = _parts(data, BATCH_TRIPLES[name]) if name in BATCH_TRIPLES else None
        load_s, triples = _load(store, data, parts=parts)
        print(f"{name}: loaded {triples:,} triples in {load_s:.1f} s", flush=True)
        ids = [str(r["id"]) for r in store.select("SELECT ?id WHERE { ?c q:complaintId ?id } ORDER BY ?id")]
        picked = random.Random(seed).sample(ids, min(traces, len(ids)))
        warm = [cid for cid in ids[:: max(1, len(ids) // 20)] if cid not in picked][:10]
        for cid in warm:
            reverse_trace(store, cid)
        times, shapes = [], {}
        for cid in picked:
            t0 = time.perf_counter()
            trace = reverse_trace(store, cid)
            times.append(time.perf_counter() - t0)
            shapes[cid] = (len(trace.runs), len(trace.lots), len(trace.findings))
        p50, p95 = _percentiles(times)
        print(f"{name}: trace p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(times)} complaints", flush=True)
        gap_report(store, "BP-75", "EU", on=ON)  # warm-up
        gap_times = []
        for _ in range(3):
            t0 = time.perf_counter()
            report = gap_report(store, "BP-75", "EU", on=ON)
            gap_times.append(time.perf_counter() - t0)
        gap_s = statistics.median(gap_times)
        print(f"{name}: gap report BP-75/EU {gap_s * 1000:.0f} ms ({len(report.findings)} findings)", flush=True)
        return {
            "triples": triples,
            "load_s": round(load_s, 2),
            "load_triples_per_s": round(triples / load_s),
            "trace_p50_ms": round(p50, 2),
            "trace_p95_ms": round(p95, 2),
            "gap_ms": round(gap_s * 1000, 1),
            "gap_findings": len(report.findings),
            "data_batches": len(parts) if parts else 1,
            "_shapes": shapes,
        }
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=35_000)
    parser.add_argument("--traces", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--backends", default=",".join(BACKENDS), help=f"comma-separated, from {', '.join(BACKENDS)}")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "out" / "backends.json", metavar="PATH")
    args = parser.parse_args()
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        parser.error(f"unknown backends {unknown}; known: {list(BACKENDS)}")
    if "oxigraph" not in names:
        names.insert(0, "oxigraph")  # the baseline every ratio is taken against

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="qualitas-bench-backends-") as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "data.nt"
        stats = generate(units=args.units, out=data, seed=args.seed)
        print(f"generated {stats.triples:,} triples, {stats.complaints} complaints", flush=True)
        for name in names:
            with BACKENDS[name](tmp) as (location, settings):
                results[name] = measure(name, location, settings, data, args.traces, args.seed)

    base = results["oxigraph"]
    base_shapes = base["_shapes"]  # runs, lots and findings of each trace: the same on every backend
    mismatched = [name for name, figures in results.items() if figures.pop("_shapes") != base_shapes]
    for name, figures in results.items():
        if name == "oxigraph":
            continue
        figures["ratio_load"] = round(figures["load_s"] / base["load_s"], 2)
        figures["ratio_trace_p50"] = round(figures["trace_p50_ms"] / base["trace_p50_ms"], 2)
        figures["ratio_trace_p95"] = round(figures["trace_p95_ms"] / base["trace_p95_ms"], 2)
        figures["ratio_gap"] = round(figures["gap_ms"] / base["gap_ms"], 2)
    goals = {
        f"{name}_trace_p95_at_most_2x_embedded": figures["ratio_trace_p95"] <= 2.0
        for name, figures in results.items()
        if name != "oxigraph"
    }
    out = {
        "units": args.units,
        "traces": args.traces,
        "seed": args.seed,
        "results": results,
        "goals": goals,
        "traces_differ_from_embedded": mismatched,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "note": "loopback; the machine was shared with other jobs while this ran",
        },
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("results", "goals", "traces_differ_from_embedded")}, indent=2))
    return 0 if not mismatched else 1


if __name__ == "__main__":
    raise SystemExit(main())
