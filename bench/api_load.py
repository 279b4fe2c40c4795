"""Benchmark: a bounded load run against the API (not a test).

    python bench/api_load.py [--clients 8] [--seconds 20] [--json PATH]

Loads the demo into a temporary store, creates an engineer with an API key, starts
``qualitas serve`` (uvicorn) in its own process on 127.0.0.1, then runs ``--clients``
concurrent HTTP/1.1 keep-alive clients for ``--seconds``, each posting the demo trace
query (``trace(complaintId: "CMP-2025-0057")``, the explorer page's field set) with the
key, as fast as answers come back. Every answer is checked: HTTP 200, no ``errors``, the
expected ``calibration_invalid`` finding; anything else counts as an error.

For each ``--workers`` count (default ``1,3``: one process, then the server and two
reader processes, ``qualitas serve --workers 3``), two servers, one after the other, on
the same store:

* **cached** (the default settings): the same trace repeated, so after the first one
  every answer comes from the answer cache (``qualitas.graphql._answers``), as for
  clients polling one trace between two loads;
* **uncached** (``QUALITAS_ANSWER_CACHE_ENTRIES=0``): every request parses nothing
  again (the parser and validation caches stay) but resolves the trace in the store,
  builds the GraphQL answer and encodes it.

The clients are plain asyncio streams writing one prepared request and reading the
answer by its Content-Length (an answer whose bytes equal the last checked one is
not parsed again), so that the load generator, on the same 2 cores as the server,
takes as little CPU from it as it can. The client process's CPU per request is
reported beside the server's.

Baseline, in this process: the same trace by the core function
(``reasoning.trace.reverse_trace``) on the same store opened read-only, one call at a
time, so ``api p50 / core p50`` is what HTTP, authentication, GraphQL and JSON add.

Also: one client alone for a few seconds (latency without queueing), and the server
process's CPU time per request (from /proc), which tells whether the server or the
load generator is the limit.

Prints the figures, writes ``bench/out/api_load.json``, and with ``--json PATH`` the
summary keys ``api_rps_8_clients``, ``api_p99_ms_8_clients`` (cached) and
``api_rps_uncached``, all three from the last ``--workers`` count, and
``api_rps_uncached_1_worker`` where 1 is among the counts (for ``make bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from qualitas.auth import AuthStore
from qualitas.reasoning.trace import reverse_trace
from qualitas.settings import Settings
from qualitas.store import open_store

OUT = Path(__file__).parent / "out"
REPO = Path(__file__).resolve().parents[1]
COMPLAINT = "CMP-2025-0057"
QUERY = """query ($id: String!) { trace(complaintId: $id) {
  complaint { id complaintId receivedOn market failureMode texts { lang text } }
  unit { id serial product }
  lots { id lotNumber partNumber supplier { name country } declarations { number } testReports { number }
         materialChecks { testReport reported designed matches } }
  runs { id runId step equipment { equipmentId calibratedAtRun calibrations { number validUntil validAtRun } }
         parameterSetUsed parameterSetInForce parameters { name actual unit withinTolerance } }
  nodes { id kind label } edges { source target relation }
  findings { kind severity subject messageEn messageZh } } }"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _request_bytes(port: int, key: str) -> bytes:
    body = json.dumps({"query": QUERY, "variables": {"id": COMPLAINT}}).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length: int | None = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length or 0)
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body
        body += chunk[:-2]


@dataclass
class _Run:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    good: bytes = b""

    def check(self, status: int, body: bytes) -> str | None:
        if status == 200 and body == self.good:
            return None
        try:
            data = json.loads(body)
            ok = (
                status == 200
                and "errors" not in data
                and [f["kind"] for f in data["data"]["trace"]["findings"]] == ["calibration_invalid"]
            )
        except (ValueError, KeyError, TypeError) as exc:
            return f"{type(exc).__name__}: {exc}"
        if not ok:
            return f"HTTP {status}: {body[:200]!r}"
        self.good = body
        return None


async def _client(port: int, request: bytes, until: float, run: _Run) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                writer.write(request)
                status, body = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:  # closed: open another
                run.errors.append(f"{type(exc).__name__}: {exc}")
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            elapsed = time.perf_counter() - started
            problem = run.check(status, body)
            if problem is None:
                run.latencies.append(elapsed)
            else:
                run.errors.append(problem)
    finally:
        writer.close()


async def _load(port: int, key: str, clients: int, seconds: float) -> tuple[_Run, float, float]:
    """(the run, its wall-clock seconds, this process's CPU seconds during it)."""
    run = _Run()
    request = _request_bytes(port, key)
    await _client(port, request, time.monotonic() + 0.5, _Run())  # warm: first key check pays Argon2 once
    cpu = time.process_time()
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(*(_client(port, request, until, run) for _ in range(clients)))
    return run, time.monotonic() - started, time.process_time() - cpu


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc): a server's reader workers."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _tree_cpu_seconds(pid: int) -> float:
    """CPU time of a server and its reader workers."""
    total = _cpu_seconds(pid)
    for child in _children(pid):
        with contextlib.suppress(OSError):
            total += _cpu_seconds(child)
    return total


@contextlib.contextmanager
def _server(env: dict[str, str], log: Path, workers: int) -> Iterator[tuple[int, int]]:
    """``qualitas serve --workers N`` on a free port, its log in ``log``; yields (port, pid)
    once it and its readers are ready."""
    port = _free_port()
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "qualitas.cli", "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    if health.status_code == 200 and health.json().get("readers", {}).get("ready", 0) == workers - 1:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.2)
            yield port, server.pid
        finally:
            server.terminate()
            server.wait(timeout=20)


def _figures(run: _Run, wall: float, server_cpu: float, client_cpu: float) -> dict[str, Any]:
    ms = [v * 1000 for v in run.latencies] or [float("nan")]
    requests = len(run.latencies) + len(run.errors)
    return {
        "seconds": round(wall, 2),
        "requests": requests,
        "ok": len(run.latencies),
        "errors": len(run.errors),
        "first_errors": run.errors[:5],
        "requests_per_s": round(len(run.latencies) / wall, 1),
        "latency_ms": {
            "p50": round(statistics.median(ms), 2),
            "p95": round(_percentile(ms, 0.95), 2),
            "p99": round(_percentile(ms, 0.99), 2),
            "max": round(max(ms), 2),
        },
        "server_cpu_ms_per_request": round(server_cpu * 1000 / max(1, requests), 2),
        "server_cpu_busy": round(server_cpu / wall, 2),
        "client_cpu_ms_per_request": round(client_cpu * 1000 / max(1, requests), 2),
    }


def _measure(
    env: dict[str, str], log: Path, key: str, clients: int, seconds: float, *, workers: int, solo: float = 0
) -> dict[str, Any]:
    with _server(env, log, workers) as (port, pid):
        alone = asyncio.run(_load(port, key, 1, solo))[0] if solo else None
        cpu_before = _tree_cpu_seconds(pid)
        run, wall, client_cpu = asyncio.run(_load(port, key, clients, seconds))
        result = _figures(run, wall, _tree_cpu_seconds(pid) - cpu_before, client_cpu)
    if alone is not None:
        result["one_client"] = {
            "requests": len(alone.latencies) + len(alone.errors),
            "errors": len(alone.errors),
            "p50_ms": round(statistics.median(alone.latencies) * 1000, 2),
            "p99_ms": round(_percentile(alone.latencies, 0.99) * 1000, 2),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--core-calls", type=int, default=200)
    parser.add_argument(
        "--workers", default="1,3", help="comma-separated `qualitas serve --workers` counts to measure (default 1,3)"
    )
    parser.add_argument("--json", type=Path, help="also write the summary keys for `make bench` here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qualitas-load-") as tmp:
        store_dir = Path(tmp) / "store"
        env = {k: v for k, v in os.environ.items() if not k.startswith("QUALITAS_")}
        env["QUALITAS_STORE"] = str(store_dir)
        cli = [sys.executable, "-m", "qualitas.cli"]
        subprocess.run([*cli, "demo", "load"], check=True, env=env, capture_output=True, cwd=REPO)
        settings = Settings(store=store_dir)
        users = AuthStore(settings.auth_db_path)
        users.add_user("load-engineer", "engineer")
        key = users.create_key("load-engineer", label="bench").secret
        users.close()

        log = Path(tmp) / "serve.log"
        counts = [int(n) for n in args.workers.split(",") if n.strip()]
        by_workers: dict[int, dict[str, Any]] = {}
        for workers in counts:
            by_workers[workers] = {
                "cached": _measure(
                    env, log, key, args.clients, args.seconds, workers=workers, solo=min(5.0, args.seconds)
                ),
                "uncached": _measure(
                    {**env, "QUALITAS_ANSWER_CACHE_ENTRIES": "0"},
                    log,
                    key,
                    args.clients,
                    args.seconds,
                    workers=workers,
                    solo=min(5.0, args.seconds),
                ),
            }
        cached, uncached = by_workers[counts[-1]]["cached"], by_workers[counts[-1]]["uncached"]

        # baseline: the core function on the same store, in this process
        with open_store(store_dir, read_only=True) as store:
            for _ in range(10):
                reverse_trace(store, COMPLAINT)
            core: list[float] = []
            for _ in range(args.core_calls):
                started = time.perf_counter()
                reverse_trace(store, COMPLAINT)
                core.append(time.perf_counter() - started)

    core_p50 = statistics.median(core) * 1000
    result = {
        "clients": args.clients,
        "workers": counts[-1],
        "cached": cached,
        "uncached": uncached,
        "by_workers": {
            str(n): {
                "cached_rps": by_workers[n]["cached"]["requests_per_s"],
                "cached_p99_ms": by_workers[n]["cached"]["latency_ms"]["p99"],
                "uncached_rps": by_workers[n]["uncached"]["requests_per_s"],
                "uncached_p99_ms": by_workers[n]["uncached"]["latency_ms"]["p99"],
                "uncached_server_cpu_ms_per_request": by_workers[n]["uncached"]["server_cpu_ms_per_request"],
            }
            for n in counts
        },
        "core_trace_ms": {"p50": round(core_p50, 2), "p99": round(_percentile(core, 0.99) * 1000, 2)},
        "one_client_uncached_p50_over_core_p50": round(uncached["one_client"]["p50_ms"] / core_p50, 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "server": f"qualitas serve --workers {counts[-1]} on 127.0.0.1 (the figures above; by_workers for each "
        "count); the load generator on the same machine",
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "api_load.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if args.json is not None:
        summary = {
            "api_rps_8_clients": cached["requests_per_s"],
            "api_p99_ms_8_clients": cached["latency_ms"]["p99"],
            "api_rps_uncached": uncached["requests_per_s"],
            "api_workers": counts[-1],
        }
        if 1 in by_workers:
            summary["api_rps_uncached_1_worker"] = by_workers[1]["uncached"]["requests_per_s"]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
