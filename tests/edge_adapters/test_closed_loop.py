"""The closed loop against real peers (asyncua Server, pymodbus server on 127.0.0.1):
drift -> SPC alarm -> corroborated -> rule -> write-back observed on the server within
bounds; an OPC UA server restart mid-run loses no buffered sample; a rule asking for a
value beyond bounds is clamped or refused, and alarmed; everything lands in the graph."""

from __future__ import annotations

import asyncio
import random
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from qualitas.edge_adapters.config import parse_config
from qualitas.edge_adapters.modbus import decode, encode
from qualitas.edge_adapters.rules import decide
from qualitas.edge_adapters.runner import EdgeRunner
from qualitas.edge_adapters.simulator import ModbusPlc, OpcUaPlc
from qualitas.ontology import sparql_prefixes
from qualitas.store import open_store


async def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def _config(text: str, tmp_path: Path, **fmt: object) -> object:
    raw = yaml.safe_load(textwrap.dedent(text).format(**fmt))
    raw.setdefault("series_dir", str(tmp_path / "series"))
    return parse_config(raw)


LOOP = """
run: {{id: RUN-LOOP-{n}, equipment: WELD-03}}
agent: edge-test
sources:
  - kind: opcua
    name: plc
    endpoint: {endpoint}
    sampling_ms: 5
    publishing_ms: 10
    nodes:
      - {{node: "{temp}", signal: weld.temperature, parameter: TEMP, equipment: WELD-03}}
spc:
  weld.temperature:
    baseline: 30
    rules: [nelson1, nelson5]
    ewma: {{lambda: 0.2, L: 3}}
    lsl: 230
    usl: 250
    corroborate: {{consecutive: 2}}
    parameter: TEMP
targets:
  weld_current:
    source: plc
    node: "{current}"
    min: 140
    max: 160
    max_step: 5
    min_interval_s: 60
    parameter: CURRENT
rules:
  - id: temp-drift-lowers-current
    description: weld temperature drifting up; lower the welding current by 3.2 A
    when: {{alarm: weld.temperature}}
    then:
      - change: {{target: weld_current, by: -3.2}}
      - alert: {{severity: warning, message: "temperature drift: current lowered"}}
"""


async def test_drift_alarm_corroborated_rule_write_back_within_bounds(opcua_plc: OpcUaPlc, tmp_path: Path) -> None:
    opcua_plc.write("WeldCurrent", 150.0)
    config = _config(
        LOOP,
        tmp_path,
        n=1,
        endpoint=opcua_plc.endpoint,
        temp=opcua_plc.node_id("Temperature"),
        current=opcua_plc.node_id("WeldCurrent"),
    )
    store = open_store(None)
    runner = EdgeRunner(config, store=store)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop=stop))
    await asyncio.wait_for(runner.adapters["plc"].connected.wait(), 10)
    rng = random.Random(7)
    for i in range(30):  # in control
        await opcua_plc.awrite("Temperature", 240.0 + rng.gauss(0, 0.3) + i * 1e-4)
        await asyncio.sleep(0.012)
    await _until(lambda: runner.monitors["weld.temperature"].ready, 3)
    assert not runner.alarms
    for k in range(1, 40):  # the simulated PLC value drifts
        await opcua_plc.awrite("Temperature", 240.0 + 0.25 * k + rng.gauss(0, 0.3))
        await asyncio.sleep(0.012)
        if runner.engine.writes:
            break
    await _until(lambda: abs(opcua_plc.read("WeldCurrent") - 146.8) < 1e-9, 3)
    stop.set()
    await task

    assert 140 <= opcua_plc.read("WeldCurrent") <= 160
    spc_alarms = [a for a in runner.alarms if a.kind == "spc"]
    assert spc_alarms and len(spc_alarms[0].evidence) >= 2  # corroborated, not a transient
    writes = [a for a in runner.actions if a.kind == "change"]
    applied = [a for a in writes if a.status == "applied"]
    assert len(applied) == 1  # later alarms of the same drift hit the rate limit and write nothing
    assert all(a.status == "rate_limited" and a.applied is None for a in writes if a is not applied[0])
    w = applied[0]
    assert (w.status, w.previous, w.applied) == ("applied", 150.0, pytest.approx(146.8))
    assert spc_alarms[0].id in w.alarm_ids and w.agent == "edge-test" and "3.2 A" in w.why

    rows = store.select(
        sparql_prefixes()
        + """SELECT ?status ?applied ?alarm ?rule ?agent ?evidence ?run WHERE {
             ?a a q:ControlAction ; q:actionKind "change" ; q:actionStatus ?status ; q:appliedValue ?applied ;
                q:triggeredBy ?alarm ; q:ruleId ?rule ; prov:wasAssociatedWith ?agent ; q:evidence ?evidence ;
                q:duringRun ?run .
             ?alarm a q:Alarm ; q:alarmKind "spc" . }"""
    )
    assert len(rows) == 1
    assert rows[0]["status"] == "applied" and float(rows[0]["applied"]) == pytest.approx(146.8)  # type: ignore[arg-type]
    assert str(rows[0]["run"]).endswith("/run/RUN-LOOP-1") and "weld.temperature" in str(rows[0]["evidence"])
    summary = store.select(
        sparql_prefixes()
        + """SELECT ?n ?ucl ?cpk ?file ?count WHERE { ?s a q:SpcSummary ; q:signal "weld.temperature" ;
             q:sampleCount ?n ; q:upperControlLimit ?ucl ; q:cpk ?cpk ; q:hasRawSeries ?r .
             ?r q:seriesFile ?file ; q:sampleCount ?count }"""
    )
    assert len(summary) == 1 and summary[0]["n"] == summary[0]["count"] >= 31  # type: ignore[operator]
    assert Path(str(summary[0]["file"]).removeprefix("file://")).exists()

    # A restarted runner reads the last write back from the graph: the rate limit holds.
    again = EdgeRunner(config, store=store)
    assert again.engine.last_write("weld_current") == pytest.approx(w.ts, abs=1)
    target = config.targets["weld_current"]
    soon = decide(
        target, previous=146.8, requested=143.6, now=w.ts + 5, last_write=again.engine.last_write("weld_current")
    )
    assert soon.status == "rate_limited"
    store.close()


RESTART = """
run: {{id: RUN-RESTART}}
buffer: {{capacity: 5, path: {buffer}}}
sources:
  - kind: opcua
    name: plc
    endpoint: {endpoint}
    sampling_ms: 5
    publishing_ms: 10
    queue_size: 50
    reconnect_min_s: 0.05
    reconnect_max_s: 0.2
    nodes:
      - {{node: "{node}", signal: counter}}
"""


async def test_server_restart_mid_run_loses_no_buffered_sample(opcua_plc: OpcUaPlc, tmp_path: Path) -> None:
    config = _config(
        RESTART,
        tmp_path,
        endpoint=opcua_plc.endpoint,
        node=opcua_plc.node_id("Restart"),
        buffer=tmp_path / "buf.sqlite",
    )
    runner = EdgeRunner(config)
    runner.start()  # sources only: samples pile up in the buffer, which spills to disk
    adapter = runner.adapters["plc"]
    await asyncio.wait_for(adapter.connected.wait(), 10)
    await _until(lambda: adapter.received >= 1)  # the initial value

    async def produce(first: int, last: int) -> None:
        for i in range(first, last + 1):
            await opcua_plc.awrite("Restart", float(i))
            await asyncio.sleep(0.015)

    opcua_plc.write("Restart", 0.0)
    await produce(1, 40)
    await _until(lambda: 40.0 in {s.value for s in runner.buffer._mem} or runner.buffer.on_disk >= 35, 3)
    before = adapter.received
    assert runner.buffer.on_disk > 0  # the buffer spilled

    await asyncio.to_thread(opcua_plc.stop_listener)  # the server goes away mid-run
    await _until(lambda: not adapter.connected.is_set(), 5)
    await asyncio.to_thread(opcua_plc.start_listener)
    await asyncio.wait_for(adapter.connected.wait(), 10)
    assert adapter.reconnects >= 1
    await produce(41, 60)
    await _until(lambda: adapter.received >= before + 20, 5)
    await runner.close()

    from qualitas.edge_adapters.series import SeriesStore

    series = SeriesStore(tmp_path / "series", "RUN-RESTART")
    values = series.values("counter")
    series.close()
    assert len(values) == adapter.received  # every sample received was stored, none dropped
    numbered = sorted({v for v in values if v >= 1})
    assert numbered == [float(i) for i in range(1, 61)]  # nothing lost across the restart


BOUNDS = """
run: {{id: RUN-BOUNDS-{mode}}}
dry_run: {dry_run}
sources:
  - kind: modbus
    name: mb
    port: {port}
    poll_ms: 15
    registers:
      - {{name: pressure, signal: line.pressure, address: 30, type: uint16}}
      - {{name: setpoint, signal: line.setpoint, address: 20, type: float32, word_order: little}}
targets:
  setpoint:
    source: mb
    register: setpoint
    min: 90
    max: 110
    max_step: 50
    on_violation: {on_violation}
rules:
  - id: overpressure-raise-setpoint
    description: a badly written rule that asks for 200
    when: {{signal: line.pressure, above: 500}}
    corroborate: {{consecutive: 2}}
    then:
      - set: {{target: setpoint, value: 200}}
"""


@pytest.mark.parametrize("mode", ["clamp", "refuse", "dry_run"])
async def test_a_value_beyond_bounds_is_clamped_or_refused_and_alarmed(
    modbus_plc: ModbusPlc, tmp_path: Path, mode: str
) -> None:
    from qualitas.edge_adapters.config import Register

    reg = Register(name="setpoint", address=20, type="float32", word_order="little")
    modbus_plc.set_words(20, encode(100.0, reg))
    modbus_plc.set_words(30, [100])
    config = _config(
        BOUNDS,
        tmp_path,
        mode=mode,
        port=modbus_plc.port,
        dry_run=str(mode == "dry_run").lower(),
        on_violation="refuse" if mode == "refuse" else "clamp",
    )
    store = open_store(None)
    runner = EdgeRunner(config, store=store)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop=stop))
    await asyncio.wait_for(runner.adapters["mb"].connected.wait(), 5)
    await asyncio.sleep(0.05)
    modbus_plc.set_words(30, [650])
    await _until(lambda: bool(runner.actions), 5)
    stop.set()
    await task

    written = decode(modbus_plc.get_words(20, 2), reg)
    action = runner.actions[0]
    safety = [a for a in runner.alarms if a.kind == "safety"]
    assert action.requested == 200 and action.previous == pytest.approx(100.0)
    if mode == "clamp":
        assert action.status == "clamped" and written == pytest.approx(110.0)
    elif mode == "refuse":
        assert action.status == "refused" and written == pytest.approx(100.0)
    else:
        assert action.status == "dry_run" and written == pytest.approx(100.0)
    assert 90 <= written <= 110
    assert len(safety) == 1 and safety[0].severity == "critical" and "hard limits" in safety[0].message
    rows = store.select(
        sparql_prefixes()
        + """SELECT ?status ?reason ?sev WHERE { ?a a q:ControlAction ; q:actionStatus ?status ; q:reason ?reason ;
             q:triggeredBy ?al . ?al q:alarmKind "safety" ; q:severity ?sev }"""
    )
    assert {r["status"] for r in rows} == {action.status}
    assert any("hard limits" in str(r["reason"]) for r in rows)
    store.close()
