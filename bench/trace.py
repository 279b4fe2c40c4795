"""Benchmark: load and reverse trace on Oxigraph versus rdflib in memory (not a test).

    python bench/trace.py [--units 35000] [--traces 50] [--seed 42] [--no-rdflib] [--json PATH]

Builds the scaled demo data set (~30 distinct triples per unit; 35,000 units give
~1M triples), then, in this one process:

* load: ``OxigraphStore.load_file`` (on disk, one transaction, PROV metadata)
  versus ``rdflib.Graph().parse`` (parse + add in memory);
* reverse trace p50 / p95 for the same complaints, running the same
  ``qualitas.reasoning.trace.reverse_trace`` code against both, through a small
  rdflib adapter with the GraphStore ``select`` method.

The Oxigraph traces run in a fresh process that opens the closed store as
``qualitas serve`` does after a restart, so that ``store_rss_mb`` is the resident
memory of a process serving that store (its block cache, its open files, the
Python process itself), not what the load left behind; the loading process's peak is
reported beside it (``load_peak_rss_mb``), as the load's own figure. The traces start
once the compaction that the open starts on a freshly loaded store has settled (its
files unchanged for 5 s; the wait is printed).

Prints the figures and the ratios (rdflib / Oxigraph). The Oxigraph traces run first,
then the rdflib ones (whose results are compared). ``--json PATH`` writes the figures for
``make bench``: ``trace_p95_ms_1m`` (or ``trace_p95_ms_10m`` from 3M triples on, e.g.
``--units 350000``), ``trace_p50_ms``, ``trace_cpu_p50_ms`` / ``trace_cpu_p95_ms`` (CPU
time of the tracing thread), ``store_rss_mb``, ``load_peak_rss_mb`` and, unless ``--no-rdflib``
(the default from 100,000 units: an rdflib graph of 10M triples does not fit in
memory), ``trace_ratio_rdflib_p50``, ``load_triples_per_s``, ``load_ratio_rdflib``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _settle import settle  # bench/ is the script's directory
from rdflib import Graph, Literal, URIRef
from rdflib.term import BNode

from qualitas.demo.scale import generate
from qualitas.ontology import PREFIXES
from qualitas.reasoning.trace import Trace, reverse_trace
from qualitas.store import open_store


class RdflibSelect:
    """Just enough of GraphStore for the trace queries, over an in-memory rdflib graph."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def select(self, query: str) -> list[dict[str, object]]:
        rows = []
        for result in self.graph.query(query, initNs=PREFIXES):
            row: dict[str, object] = {}
            for name, term in result.asdict().items():
                if isinstance(term, URIRef):
                    row[name] = str(term)
                elif isinstance(term, BNode):
                    row[name] = f"_:{term}"
                elif isinstance(term, Literal):
                    row[name] = term.toPython()
            rows.append(row)
        return rows


def _rss_mb() -> float:
    """Current resident memory (not the peak, which only ever grows)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return p50 * 1000, p95 * 1000


def _peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _traces_in_fresh_process(
    store_dir: Path, picked: list[str], warm: list[str]
) -> tuple[list[float], list[float], dict[str, Trace], float]:
    """Run in a spawned process: open the store as a server does, trace ``warm`` (other
    complaints than those measured, as a running server has traced others before), then
    each complaint in ``picked``; return the timings (wall clock, and CPU time of the
    tracing thread, which other jobs on a shared machine disturb far less), the traces
    and the process's resident memory after them."""
    store = open_store(store_dir)
    try:
        settled = settle(store_dir)
        print(f"tracing process: the store's files settled {settled:.0f} s after it opened")
        for cid in warm:
            reverse_trace(store, cid)
        times, cpu, traces = [], [], {}
        for cid in picked:
            t0, c0 = time.perf_counter(), time.thread_time()
            traces[cid] = reverse_trace(store, cid)
            times.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
        return times, cpu, traces, _rss_mb()
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=35_000)
    parser.add_argument("--traces", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--no-rdflib", action="store_true", help="skip the rdflib baseline (the default from 100,000 units)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures to PATH as JSON")
    args = parser.parse_args()
    with_rdflib = not args.no_rdflib and args.units < 100_000
    summary: dict[str, float] = {}

    with tempfile.TemporaryDirectory(prefix="qualitas-bench-") as tmp:
        data = Path(tmp) / "data.nt"
        t0 = time.perf_counter()
        stats = generate(units=args.units, out=data, seed=args.seed)
        print(
            f"generated {data.stat().st_size / 1e6:.0f} MB, {stats.triples} lines, {stats.units} units, "
            f"{stats.complaints} complaints in {time.perf_counter() - t0:.1f} s"
        )

        store = open_store(Path(tmp) / "store")
        rss0 = _rss_mb()
        t0 = time.perf_counter()
        result = store.load_file(data, agent="bench")
        ox_load = time.perf_counter() - t0
        print(
            f"oxigraph load: {result.triples} triples in {ox_load:.1f} s "
            f"({result.triples / ox_load:,.0f} triples/s), RSS +{_rss_mb() - rss0:.0f} MB after load"
        )

        summary["load_triples_per_s"] = round(result.triples / ox_load)

        ids = [str(r["id"]) for r in store.select("SELECT ?id WHERE { ?c q:complaintId ?id } ORDER BY ?id")]
        picked = random.Random(args.seed).sample(ids, min(args.traces, len(ids)))
        warm = [cid for cid in ids[:: max(1, len(ids) // 20)] if cid not in picked][:10]
        store.close()
        load_peak = _peak_rss_mb()
        print(f"loading process: peak RSS {load_peak:.0f} MB")
        summary["load_peak_rss_mb"] = round(load_peak)

        with multiprocessing.get_context("spawn").Pool(1) as pool:
            ox_times, ox_cpu, ox_traces, store_rss = pool.apply(
                _traces_in_fresh_process, (Path(tmp) / "store", picked, warm)
            )
        ox_trace = ox_traces[picked[-1]]
        ox50, ox95 = _percentiles(ox_times)
        cpu50, cpu95 = _percentiles(ox_cpu)
        print(
            f"reverse trace, oxigraph: p50 {ox50:.1f} ms, p95 {ox95:.1f} ms over {len(ox_times)} complaints "
            f"(each: {len(ox_trace.runs)} runs, {len(ox_trace.lots)} lots); CPU per trace p50 {cpu50:.1f} ms, "
            f"p95 {cpu95:.1f} ms; RSS of the tracing process {store_rss:.0f} MB; load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        scale = "1m" if result.triples < 3_000_000 else "10m"
        summary[f"trace_p95_ms_{scale}"] = round(ox95, 2)
        summary["trace_p50_ms"] = round(ox50, 2)
        summary["trace_cpu_p50_ms"] = round(cpu50, 2)
        summary["trace_cpu_p95_ms"] = round(cpu95, 2)
        summary["store_rss_mb"] = round(store_rss)

        if with_rdflib:
            rss0 = _rss_mb()
            t0 = time.perf_counter()
            graph = Graph()
            graph.parse(data, format="nt")
            rdf_load = time.perf_counter() - t0
            print(
                f"rdflib parse+add: {len(graph)} triples in {rdf_load:.1f} s "
                f"({len(graph) / rdf_load:,.0f} triples/s), RSS +{_rss_mb() - rss0:.0f} MB held by the graph"
            )
            summary["load_ratio_rdflib"] = round(rdf_load / ox_load, 2)
            rdf = RdflibSelect(graph)
            rdf_times, rdf_failures = [], 0
            for cid in picked:
                t0 = time.perf_counter()
                try:
                    rdf_trace = reverse_trace(rdf, cid)  # type: ignore[arg-type]
                except RecursionError:
                    rdf_failures += 1
                    continue
                rdf_times.append(time.perf_counter() - t0)
                ox_trace = ox_traces[cid]
                if (len(rdf_trace.runs), len(rdf_trace.lots)) != (len(ox_trace.runs), len(ox_trace.lots)):
                    print(f"warning: traces differ for {cid}", file=sys.stderr)
            if rdf_times:
                rd50, rd95 = _percentiles(rdf_times)
                print(
                    f"reverse trace, rdflib:   p50 {rd50:.1f} ms, p95 {rd95:.1f} ms over {len(rdf_times)} complaints"
                    + (f" ({rdf_failures} RecursionError)" if rdf_failures else "")
                )
                print(
                    f"ratios (rdflib / oxigraph): load {rdf_load / ox_load:.2f}x, "
                    f"trace p50 {rd50 / ox50:.1f}x, trace p95 {rd95 / ox95:.1f}x"
                )
                summary["trace_ratio_rdflib_p50"] = round(rd50 / ox50, 2)
            else:
                print(f"rdflib: every trace failed ({rdf_failures} RecursionError)")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
