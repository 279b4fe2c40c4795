"""Every bench, one after the other, merged into ``bench/out/summary.json`` (``make bench``).

    python bench/run_all.py [--only trace,gap,...]    # quick mode: 1M triples
    BENCH_FULL=1 python bench/run_all.py              # adds the 10M-triple trace run
    python bench/run_all.py --table [--summary PATH]  # the summary as a Markdown table

Each bench runs in its own process with ``--json bench/out/<name>.figures.json`` and writes its
own keys; its output goes to ``bench/out/<name>.log``. A bench that fails (exit status,
no JSON, a timeout, an option it does not know) is recorded with its error and the
others still run. The summary holds exactly these figures, each with its goal (issue 15)
and whether it was met, the machine and the date:

    trace_p95_ms_1m, trace_p95_ms_10m, trace_ratio_rdflib_p50, load_triples_per_s,
    load_ratio_rdflib, gap_s_1000_lines, gap_ratio_whole_pyshacl, pack_s_max,
    api_rps_8_clients, api_p99_ms_8_clients, api_rps_uncached

(the last: the issue's "uncached ≥ 120/s"; the API figures are of ``qualitas serve
--workers 3``, the last count ``bench/api_load.py`` measures by default.)

A figure that was not measured is ``null`` with its reason, and its ``met`` is ``null``.
These are benches, not tests: the figures depend on the machine and on what else runs
on it, which is why the summary records the cores, the memory and the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"


@dataclass(frozen=True)
class Goal:
    text: str
    met: Callable[[float], bool]
    unit: str
    label: str


#: The figures of the summary, in table order, with their goals (issue 15). The rdflib
#: ratios have no goal of their own in the issue: the goal written is "faster than
#: rdflib in memory" (> 1).
GOALS: dict[str, Goal] = {
    "trace_p95_ms_1m": Goal("≤ 10", lambda v: v <= 10, "ms", "reverse trace p95, 1M triples on disk"),
    "trace_p95_ms_10m": Goal("≤ 20", lambda v: v <= 20, "ms", "reverse trace p95, 10M triples on disk"),
    "trace_ratio_rdflib_p50": Goal("> 1", lambda v: v > 1, "×", "trace p50, rdflib in memory / Oxigraph"),
    "load_triples_per_s": Goal("≥ 400,000", lambda v: v >= 400_000, "triples/s", "bulk load, N-Triples, 1M"),
    "load_ratio_rdflib": Goal("> 1", lambda v: v > 1, "×", "load time, rdflib / Oxigraph"),
    "gap_s_1000_lines": Goal("≤ 1", lambda v: v <= 1, "s", "gap report, 1,000-line BOM, 1M-triple store"),
    "gap_ratio_whole_pyshacl": Goal("≥ 50", lambda v: v >= 50, "×", "pySHACL on the whole store / gap report"),
    "pack_s_max": Goal("≤ 2", lambda v: v <= 2, "s", "slowest market pack, every demo product"),
    "api_rps_8_clients": Goal("≥ 250", lambda v: v >= 250, "requests/s", "trace requests, 8 clients"),
    "api_p99_ms_8_clients": Goal("≤ 50", lambda v: v <= 50, "ms", "trace request p99, 8 clients"),
    "api_rps_uncached": Goal("≥ 120", lambda v: v >= 120, "requests/s", "uncached trace requests, 8 clients"),
}


@dataclass(frozen=True)
class Bench:
    name: str
    args: tuple[str, ...]
    keys: tuple[str, ...]
    timeout_s: int
    full_only: bool = False


def benches(*, full: bool) -> list[Bench]:
    """The runs of quick mode (1M triples), and with ``full`` the 10M-triple trace run."""
    runs = [  # the shortest first, so that a run stopped early still has most figures
        Bench("packs", ("bench/packs.py", *(("--baseline",) if full else ())), ("pack_s_max",), 2400),
        Bench("api_load", ("bench/api_load.py",), ("api_rps_8_clients", "api_p99_ms_8_clients", "api_rps_uncached"),
              1200),
        Bench("trace_1m", ("bench/trace.py",),
              ("trace_p95_ms_1m", "trace_ratio_rdflib_p50"), 2400),
        Bench("ingest", ("bench/ingest.py", "--skip-formats"), ("load_triples_per_s", "load_ratio_rdflib"), 1800),
        Bench("gap", ("bench/gap.py", "--whole-timeout", "900"),
              ("gap_s_1000_lines", "gap_ratio_whole_pyshacl"), 3600),
        Bench("trace_10m", ("bench/trace.py", "--units", "350000", "--no-rdflib"), ("trace_p95_ms_10m",), 7200,
              full_only=True),
    ]
    return [b for b in runs if full or not b.full_only]


def machine() -> dict[str, object]:
    ram = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    ram = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cores": usable, "ram_gb": ram, "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(), "load_avg_1m_at_start": round(os.getloadavg()[0], 2)}


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def run_bench(bench: Bench) -> dict[str, object]:
    """Run one bench in its own process; its figures, or its error."""
    out = OUT / f"{bench.name}.figures.json"  # not <name>.json: api_load.py writes its own there
    log = OUT / f"{bench.name}.log"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, *bench.args, "--json", str(out)]
    started = time.perf_counter()
    print(f"== {bench.name}: {' '.join(cmd[1:])}  (log: {log.relative_to(REPO)})", flush=True)
    result: dict[str, object] = {"command": " ".join(["python", *cmd[1:]])}
    try:
        with log.open("w", encoding="utf-8") as f:
            proc = subprocess.run(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, timeout=bench.timeout_s,
                                  check=False)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        rc = None
    result["seconds"] = round(time.perf_counter() - started, 1)
    if rc is None:
        result.update(ok=False, error=f"stopped after {bench.timeout_s} s\n{_tail(log)}")
    elif rc != 0:
        result.update(ok=False, error=f"exit status {rc}\n{_tail(log)}")
    elif not out.exists():
        result.update(ok=False, error=f"wrote no {out.relative_to(REPO)}\n{_tail(log)}")
    else:
        try:
            result.update(ok=True, figures=json.loads(out.read_text(encoding="utf-8")))
        except ValueError as exc:
            result.update(ok=False, error=f"unreadable {out.relative_to(REPO)}: {exc}")
    status = "ok" if result["ok"] else "FAILED: " + str(result["error"]).splitlines()[0]
    print(f"   {bench.name}: {status} ({result['seconds']} s)", flush=True)
    return result


def summarise(runs: dict[str, dict[str, object]], *, full: bool, only: set[str] | None,
              started: dt.datetime, machine_info: dict[str, object]) -> dict[str, object]:
    values: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    for bench in benches(full=True):
        for key in bench.keys:
            run = runs.get(bench.name)
            if run is None:
                values[key] = None
                if bench.full_only and not full:
                    reasons[key] = "not run: the 10M-triple run needs BENCH_FULL=1"
                elif only is None or bench.name in only:
                    reasons[key] = f"not run: the run stopped before bench {bench.name}"
                else:
                    reasons[key] = f"not run: bench {bench.name} was left out (--only)"
                continue
            figures = run.get("figures")
            value = figures.get(key) if isinstance(figures, dict) else None
            values[key] = value if isinstance(value, int | float) and not isinstance(value, bool) else None
            if values[key] is None:
                reasons[key] = (f"bench {bench.name} failed: {str(run['error']).splitlines()[0]}" if not run["ok"]
                                else f"bench {bench.name} wrote no {key}")
    summary: dict[str, object] = {key: values[key] for key in GOALS}
    summary["goals"] = {key: goal.text + " " + goal.unit for key, goal in GOALS.items()}
    summary["met"] = {key: (None if values[key] is None else GOALS[key].met(float(values[key] or 0)))
                      for key in GOALS}
    summary["reasons"] = reasons
    summary["mode"] = "full (BENCH_FULL=1)" if full else "quick (1M triples)"
    summary["date"] = started.isoformat(timespec="seconds")
    summary["machine"] = {**machine_info, "load_avg_1m_at_end": round(os.getloadavg()[0], 2)}
    summary["benches"] = {name: {k: v for k, v in run.items() if k != "figures"} for name, run in runs.items()}
    if only:
        summary["only"] = sorted(only)
    return summary


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"


def table(summary: dict[str, object]) -> str:
    """The summary as a Markdown table (for the README)."""
    goals = summary.get("goals", {})
    met = summary.get("met", {})
    reasons = summary.get("reasons", {})
    assert isinstance(goals, dict) and isinstance(met, dict) and isinstance(reasons, dict)
    lines = ["| figure | key | measured | goal | met |", "|---|---|---|---|---|"]
    for key, goal in GOALS.items():
        value = summary.get(key)
        if isinstance(value, int | float):
            shown = f"{_number(float(value))} {goal.unit}"
        else:
            shown = "— (" + str(reasons.get(key, "not measured")).split(":")[0] + ")"
        ok = {True: "yes", False: "**no**", None: "—"}[met.get(key)]
        lines.append(f"| {goal.label} | `{key}` | {shown} | {goals.get(key, goal.text)} | {ok} |")
    m = summary.get("machine", {})
    assert isinstance(m, dict)
    lines.append("")
    lines.append(f"{summary.get('mode', '')}, {summary.get('date', '')}; {m.get('cores')} cores, "
                 f"{m.get('ram_gb')} GB RAM, Python {m.get('python')}; load average "
                 f"{m.get('load_avg_1m_at_start')} at the start, {m.get('load_avg_1m_at_end')} at the end.")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", action="store_true", help="print the summary as a Markdown table and stop")
    parser.add_argument("--summary", type=Path, default=OUT / "summary.json")
    parser.add_argument("--only", default="", help="comma-separated bench names (trace_1m, trace_10m, ingest, gap, "
                                                    "packs, api_load); the others are reported as not run")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.summary.read_text(encoding="utf-8"))))
        return 0
    full = os.environ.get("BENCH_FULL", "") not in ("", "0")
    only = {name.strip() for name in args.only.split(",") if name.strip()} or None
    known = {b.name for b in benches(full=True)}
    if only and not only <= known:
        parser.error(f"unknown bench {sorted(only - known)}; known: {sorted(known)}")
    OUT.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    machine_info = machine()
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    runs: dict[str, dict[str, object]] = {}
    for bench in benches(full=full):
        if only is not None and bench.name not in only:
            continue
        runs[bench.name] = run_bench(bench)
        # written after every bench, so that a stopped run still leaves the figures it has
        summary = summarise(runs, full=full, only=only, started=started, machine_info=machine_info)
        args.summary.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    summary = summarise(runs, full=full, only=only, started=started, machine_info=machine_info)
    args.summary.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.summary}\n")
    print(table(summary))
    return 0 if all(run["ok"] for run in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
