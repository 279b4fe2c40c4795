"""Benchmark: the edge adapters against bare client loops (not a test).

    python bench/edge.py [--items 3000] [--seconds 5] [--frames 2000] [--episodes 200]

* OPC UA items/s with ``--items`` monitored items: a bare asyncua client whose handler
  only counts callbacks versus :class:`OpcUaAdapter` (samples into the spill buffer);
  the server runs in a separate process and rewrites every item as fast as it can.
* Modbus requests/s: a bare ``read_holding_registers`` loop versus ``ModbusAdapter.poll_once``
  (same 10-register block, decoded into samples).
* Alarm-to-write latency p50/p99 on loopback: SPC alarm raised -> rule -> safety
  envelope -> read-back + write acknowledged by the OPC UA server.
* Vision ms/frame on one core: ``VisionInspector.inspect`` (preprocess + run + verdict)
  versus a bare ``InferenceSession.run`` on the same prepared tensor.

Prints the figures and ratios (adapter / bare) and writes ``bench/out/edge.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qualitas.edge_adapters.buffer import SpillBuffer
from qualitas.edge_adapters.config import ModbusSource, OpcUaNode, OpcUaSource, Register, parse_config
from qualitas.edge_adapters.simulator import ModbusPlc, OpcUaPlc, free_port

OUT = Path(__file__).parent / "out"


# ---------------------------------------------------------------- OPC UA throughput


def _opcua_server(port: int, items: int, ready: mp.Event, stop: mp.Event) -> None:  # type: ignore[valid-type]
    plc = OpcUaPlc({}, port=port, extra=items)
    names = [f"Item{i:05d}" for i in range(items)]

    async def churn() -> None:
        from asyncua import ua

        ids = [plc.nodes[name].nodeid for name in names]
        write = plc.server.write_attribute_value  # the server's fast path, no client layers
        k = 0
        while not stop.is_set():  # type: ignore[attr-defined]
            k += 1
            for i, node_id in enumerate(ids):
                await write(node_id, ua.DataValue(ua.Variant(float(k), ua.VariantType.Double)))
                if i % 500 == 499:
                    await asyncio.sleep(0)  # let the server answer requests and publish
            await asyncio.sleep(0.005)

    ready.set()  # type: ignore[attr-defined]
    plc.call(churn(), timeout=None)  # type: ignore[arg-type]
    plc.close()


async def _bare_opcua(endpoint: str, ns: int, items: int, seconds: float) -> float:
    from asyncua import Client

    class Counter:
        n = 0

        def datachange_notification(self, node: object, val: object, data: object) -> None:
            Counter.n += 1

    from qualitas.edge_adapters.opcua import subscription_parameters

    client = Client(endpoint, timeout=30)
    await client.connect()
    sub = await client.create_subscription(subscription_parameters(50), Counter())  # same parameters as ours
    nodes = [client.get_node(f"ns={ns};s=Item{i:05d}") for i in range(items)]
    for i in range(0, items, 1000):
        await sub.subscribe_data_change(nodes[i : i + 1000], queuesize=1, sampling_interval=0)
    await asyncio.sleep(1.0)  # warm up
    start_n, t0 = Counter.n, time.perf_counter()
    await asyncio.sleep(seconds)
    rate = (Counter.n - start_n) / (time.perf_counter() - t0)
    await client.disconnect()
    return rate


async def _adapter_opcua(endpoint: str, ns: int, items: int, seconds: float) -> float:
    from qualitas.edge_adapters.opcua import OpcUaAdapter

    buffer = SpillBuffer(None, capacity=10_000_000)
    spec = OpcUaSource(
        kind="opcua",
        name="bench",
        endpoint=endpoint,
        sampling_ms=0,
        publishing_ms=50,
        queue_size=1,
        timeout_s=30,
        nodes=[OpcUaNode(node=f"ns={ns};s=Item{i:05d}", signal=f"item{i}") for i in range(items)],
    )
    adapter = OpcUaAdapter(spec, buffer.put)
    task = asyncio.create_task(adapter.run())
    taken = 0

    async def drain() -> None:  # the runner's consumer side, minus processing
        nonlocal taken
        while True:
            taken += len(await buffer.get(5000, timeout=0.1))

    consumer = asyncio.create_task(drain())
    await asyncio.wait_for(adapter.connected.wait(), 60)
    await asyncio.sleep(1.0)
    start_n, t0 = taken, time.perf_counter()
    await asyncio.sleep(seconds)
    rate = (taken - start_n) / (time.perf_counter() - t0)
    adapter.stop()
    await task
    consumer.cancel()
    buffer.close()
    return rate


def bench_opcua(items: int, seconds: float, rounds: int = 3) -> dict[str, object]:
    port = free_port()
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_opcua_server, args=(port, items, ready, stop), daemon=True)
    proc.start()
    if not ready.wait(120):
        raise RuntimeError("OPC UA bench server did not start")
    endpoint = f"opc.tcp://127.0.0.1:{port}/qualitas/"
    bares, ours_ = [], []
    try:
        for _ in range(rounds):  # interleaved, so drift in machine load hits both alike
            bares.append(asyncio.run(_bare_opcua(endpoint, 2, items, seconds)))
            ours_.append(asyncio.run(_adapter_opcua(endpoint, 2, items, seconds)))
    finally:
        stop.set()
        proc.join(20)
        if proc.is_alive():
            proc.kill()
    bare, ours = statistics.median(bares), statistics.median(ours_)
    return {
        "items": items,
        "rounds": rounds,
        "bare_items_per_s": bare,
        "adapter_items_per_s": ours,
        "ratio": ours / bare,
        "bare_runs": bares,
        "adapter_runs": ours_,
    }


# ---------------------------------------------------------------- Modbus throughput


async def _modbus(port: int, seconds: float) -> dict[str, float]:
    from pymodbus.client import AsyncModbusTcpClient

    from qualitas.edge_adapters.modbus import ModbusAdapter

    client = AsyncModbusTcpClient("127.0.0.1", port=port)
    await client.connect()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        await client.read_holding_registers(0, count=10, device_id=1)
        n += 1
    bare = n / (time.perf_counter() - t0)
    client.close()

    regs = [Register(name=f"r{i}", signal=f"r{i}", address=2 * i, type="float32") for i in range(5)]
    buffer = SpillBuffer(None, capacity=10_000_000)
    adapter = ModbusAdapter(
        ModbusSource(kind="modbus", name="bench", port=port, poll_ms=1e9, registers=regs), buffer.put
    )
    task = asyncio.create_task(adapter.run())
    await asyncio.wait_for(adapter.connected.wait(), 5)
    n0, t0 = adapter.requests, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        await adapter.poll_once()
    ours = (adapter.requests - n0) / (time.perf_counter() - t0)
    adapter.stop()
    await task
    buffer.close()
    return {"bare_requests_per_s": bare, "adapter_requests_per_s": ours, "ratio": ours / bare}


def bench_modbus(seconds: float) -> dict[str, float]:
    plc = ModbusPlc(size=100)
    try:
        return asyncio.run(_modbus(plc.port, seconds))
    finally:
        plc.close()


# ---------------------------------------------------------------- alarm-to-write latency


async def _latency(plc: OpcUaPlc, episodes: int, folder: Path) -> dict[str, float]:
    from qualitas.edge_adapters.runner import EdgeRunner

    config = parse_config(
        {
            "run": {"id": "BENCH-LATENCY"},
            "series_dir": str(folder),
            "sources": [
                {
                    "kind": "opcua",
                    "name": "plc",
                    "endpoint": plc.endpoint,
                    "sampling_ms": 0,
                    "publishing_ms": 5,
                    "nodes": [{"node": plc.node_id("Temperature"), "signal": "t"}],
                }
            ],
            "spc": {"t": {"center": 0, "sigma": 1, "rules": ["nelson1"], "corroborate": {"consecutive": 1}}},
            "targets": {
                "sp": {
                    "source": "plc",
                    "node": plc.node_id("Setpoint"),
                    "min": 0,
                    "max": 200,
                    "max_step": 5,
                    "min_interval_s": 0,
                }
            },
            "rules": [{"id": "r", "when": {"alarm": "t"}, "then": [{"change": {"target": "sp", "by": -0.01}}]}],
        }
    )
    runner = EdgeRunner(config)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop=stop))
    await asyncio.wait_for(runner.adapters["plc"].connected.wait(), 10)
    for _ in range(episodes):
        n = len(runner.alarm_to_write_s)
        await plc.awrite("Temperature", 10.0)  # out of control
        while len(runner.alarm_to_write_s) == n:
            await asyncio.sleep(0.001)
        await plc.awrite("Temperature", 0.0)  # back in control: re-arms the filter
        await asyncio.sleep(0.02)
    stop.set()
    await task
    ms = sorted(x * 1000 for x in runner.alarm_to_write_s)
    return {
        "episodes": len(ms),
        "p50_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))],
        "max_ms": ms[-1],
    }


def bench_latency(episodes: int) -> dict[str, float]:
    plc = OpcUaPlc({"Temperature": 0.0, "Setpoint": 100.0})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return asyncio.run(_latency(plc, episodes, Path(tmp)))
    finally:
        plc.close()


# ---------------------------------------------------------------- vision


def bench_vision(frames: int) -> dict[str, float]:
    from qualitas.edge_adapters.vision.generator import generate
    from qualitas.edge_adapters.vision.inference import VisionInspector, f1_scores

    images, labels = generate(frames, seed=4242)
    inspector = VisionInspector(threads=1)
    for img in images[:50]:
        inspector.inspect(img)
    t0 = time.perf_counter()
    verdicts = [inspector.inspect(img) for img in images]
    ours = (time.perf_counter() - t0) * 1000 / frames
    session = inspector.session
    name = session.get_inputs()[0].name
    tensors = [img.astype(np.float32).reshape(1, 1, 64, 64) / 255 for img in images]
    t0 = time.perf_counter()
    for x in tensors:
        session.run(None, {name: x})
    bare = (time.perf_counter() - t0) * 1000 / frames
    scores = f1_scores(labels, np.array([v.label_index for v in verdicts]))
    return {
        "frames": frames,
        "adapter_ms_per_frame": ours,
        "bare_ms_per_frame": bare,
        "ratio": ours / bare,
        "fps_one_core": 1000 / ours,
        "defect_f1": scores.defect_f1,
        "macro_f1": scores.macro_f1,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--only", choices=["opcua", "modbus", "latency", "vision"], action="append")
    args = parser.parse_args(argv)
    only = set(args.only or ["opcua", "modbus", "latency", "vision"])
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    logging.basicConfig(level=logging.CRITICAL)  # asyncua logs tracebacks of its publish loop on disconnect
    results: dict[str, object] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    if "vision" in only:
        results["vision"] = v = bench_vision(args.frames)
        print(
            f"vision: {v['adapter_ms_per_frame']:.3f} ms/frame (bare run {v['bare_ms_per_frame']:.3f} ms, "
            f"ratio {v['ratio']:.2f}), {v['fps_one_core']:.0f} fps on one core; F1 defect {v['defect_f1']:.4f}, "
            f"macro {v['macro_f1']:.4f} on {v['frames']} held-out frames"
        )
    if "modbus" in only:
        results["modbus"] = m = bench_modbus(args.seconds)
        print(
            f"modbus: adapter {m['adapter_requests_per_s']:.0f} req/s vs bare {m['bare_requests_per_s']:.0f} req/s "
            f"(ratio {m['ratio']:.2f})"
        )
    if "latency" in only:
        results["alarm_to_write"] = lat = bench_latency(args.episodes)
        print(
            f"alarm-to-write: p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms, max {lat['max_ms']:.2f} ms "
            f"over {lat['episodes']} episodes"
        )
    if "opcua" in only:
        results["opcua"] = o = bench_opcua(args.items, args.seconds)
        print(
            f"opcua: {o['items']} monitored items: adapter {o['adapter_items_per_s']:.0f} items/s vs bare "
            f"{o['bare_items_per_s']:.0f} items/s (ratio {o['ratio']:.2f})"
        )
    OUT.mkdir(exist_ok=True)
    (OUT / "edge.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
