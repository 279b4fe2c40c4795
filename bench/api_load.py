"""Benchmark: a bounded load run against the API (not a test).

    python bench/api_load.py [--clients 8] [--seconds 20] [--workers 1]

Loads the demo into a temporary store, creates an engineer with an API key, starts
``qualitas serve`` (uvicorn) in its own process on 127.0.0.1, then runs ``--clients``
concurrent HTTP/1.1 keep-alive clients for ``--seconds``, each posting the demo trace
query (``trace(complaintId: "CMP-2025-0057")``, the explorer page's field set) with the
key, as fast as answers come back. Every answer is checked: HTTP 200, no ``errors``, the
expected ``calibration_invalid`` finding; anything else counts as an error.

Baseline, in this process: the same trace by the core function
(``reasoning.trace.reverse_trace``) on the same store opened read-only, one call at a
time, so ``api p50 / core p50`` is what HTTP, authentication, GraphQL and JSON add.

Also: one client alone for a few seconds (latency without queueing, against the core
baseline), and the server process's CPU time per request (from /proc), which tells
whether the server or the load generator (on the same 2 cores) is the limit.

Prints requests/s, latency p50/p95/p99/max, errors, and writes ``bench/out/api_load.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


async def _client(base: str, key: str, until: float, latencies: list[float], errors: list[str]) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(
        base_url=base, timeout=30, limits=limits, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        payload = {"query": QUERY, "variables": {"id": COMPLAINT}}
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                response = await client.post("/graphql", json=payload)
                elapsed = time.perf_counter() - started
                body = response.json()
                ok = (
                    response.status_code == 200
                    and "errors" not in body
                    and [f["kind"] for f in body["data"]["trace"]["findings"]] == ["calibration_invalid"]
                )
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            if ok:
                latencies.append(elapsed)
            else:
                errors.append(f"HTTP {response.status_code}: {response.text[:200]}")


async def _load(base: str, key: str, clients: int, seconds: float) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {key}"}) as warm:
        for _ in range(20):  # warm the server (first key check pays Argon2 once)
            (await warm.post("/graphql", json={"query": QUERY, "variables": {"id": COMPLAINT}})).raise_for_status()
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(*(_client(base, key, until, latencies, errors) for _ in range(clients)))
    return latencies, errors, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--core-calls", type=int, default=200)
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

        port = _free_port()
        server = subprocess.Popen(
            [*cli, "serve", "--port", str(port)], env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start: {server.stderr.read().decode() if server.stderr else ''}")
                time.sleep(0.2)
            solo, solo_errors, _ = asyncio.run(_load(base, key, 1, min(5.0, args.seconds)))
            cpu_before = _cpu_seconds(server.pid)
            latencies, errors, wall = asyncio.run(_load(base, key, args.clients, args.seconds))
            server_cpu = _cpu_seconds(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(timeout=20)

        # baseline: the core function on the same store, in this process
        with open_store(store_dir, read_only=True) as store:
            for _ in range(10):
                reverse_trace(store, COMPLAINT)
            core: list[float] = []
            for _ in range(args.core_calls):
                started = time.perf_counter()
                reverse_trace(store, COMPLAINT)
                core.append(time.perf_counter() - started)

    ms = [v * 1000 for v in latencies]
    core_ms = [v * 1000 for v in core]
    result = {
        "clients": args.clients,
        "seconds": round(wall, 2),
        "requests": len(latencies) + len(errors),
        "ok": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:5],
        "requests_per_s": round(len(latencies) / wall, 1),
        "latency_ms": {
            "p50": round(statistics.median(ms), 2),
            "p95": round(_percentile(ms, 0.95), 2),
            "p99": round(_percentile(ms, 0.99), 2),
            "max": round(max(ms), 2),
        },
        "server_cpu_ms_per_request": round(server_cpu * 1000 / max(1, len(latencies) + len(errors)), 2),
        "server_cpu_busy": round(server_cpu / wall, 2),
        "one_client": {
            "requests": len(solo) + len(solo_errors),
            "errors": len(solo_errors),
            "p50_ms": round(statistics.median(solo) * 1000, 2),
            "p99_ms": round(_percentile(solo, 0.99) * 1000, 2),
        },
        "core_trace_ms": {"p50": round(statistics.median(core_ms), 2), "p99": round(_percentile(core_ms, 0.99), 2)},
        "one_client_p50_over_core_p50": round(statistics.median(solo) * 1000 / statistics.median(core_ms), 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "server": "qualitas serve (one uvicorn worker) on 127.0.0.1",
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "api_load.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
