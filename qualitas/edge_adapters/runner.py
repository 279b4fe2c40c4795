"""The edge runner: sources -> buffer -> series file, SPC, transient filter, rules -> line and graph.

Layers::

    adapters (OPC UA, Modbus, vision) ── SpillBuffer ── EdgeRunner.process
        ├── SeriesStore (raw values, outside the graph)
        ├── SpcMonitor per signal ── CorroborationFilter ── Alarm ─┐
        └── RuleEngine (conditions, corroboration, safety) <──────┘ ── actuator writes
    alarms and actions ── AlertHub (live) and GraphRecorder (graph, append-only)

Samples never wait on the graph: the recorder flushes in the background, and the
buffer spills to disk if processing falls behind or the run stops mid-way.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rdflib import RDF, Literal

from qualitas.audit import AuditLog
from qualitas.edge_adapters._model import ActionRecord, Alarm, Sample
from qualitas.edge_adapters.alerts import AlertHub
from qualitas.edge_adapters.buffer import SpillBuffer
from qualitas.edge_adapters.config import EdgeConfig, SpcSpec
from qualitas.edge_adapters.frames import AlarmFrames
from qualitas.edge_adapters.graph import (
    GraphRecorder,
    action_triples,
    alarm_triples,
    last_writes,
    series_triples,
    summary_triples,
)
from qualitas.edge_adapters.rules import RuleEngine, _new_id
from qualitas.edge_adapters.series import SeriesStore
from qualitas.edge_adapters.spc import RULE_TEXT, SpcMonitor
from qualitas.edge_adapters.transient import CorroborationFilter
from qualitas.ontology import Q, mint
from qualitas.store import GraphStore


@dataclass(frozen=True)
class EdgeStatus:
    """One line of live status."""

    uptime_s: float
    samples: int
    rate: float  # samples per second over the last status interval
    buffered: int
    spilled_total: int
    alarms: int
    actions: int
    writes: int
    suppressed_fraction: float
    connected: dict[str, bool]
    reconnects: int
    finished: tuple[str, ...] = ()  # sources that ended on their own (a replayed folder of frames)

    def line(self) -> str:
        conn = " ".join(
            f"{k}:{'done' if k in self.finished else 'up' if v else 'DOWN'}" for k, v in self.connected.items()
        )
        return (
            f"{self.uptime_s:7.1f}s  {self.samples} samples ({self.rate:.0f}/s)  buffer {self.buffered} "
            f"(spilled {self.spilled_total})  alarms {self.alarms}  actions {self.actions}  writes {self.writes}  "
            f"suppressed {self.suppressed_fraction:.0%}  {conn}"
        )


def _monitor(signal: str, spec: SpcSpec) -> SpcMonitor:
    return SpcMonitor(
        signal=signal,
        chart=spec.chart,
        subgroup=spec.subgroup,
        baseline=spec.baseline,
        rules=tuple(spec.rules),
        center=spec.center,
        sigma=spec.sigma,
        ewma_lambda=spec.ewma.get("lambda", 0.2) if spec.ewma is not None else None,
        ewma_l=spec.ewma.get("L", 3.0) if spec.ewma is not None else 3.0,
        cusum_k=spec.cusum.get("k", 0.5) if spec.cusum is not None else None,
        cusum_h=spec.cusum.get("h", 5.0) if spec.cusum is not None else 5.0,
        lsl=spec.lsl,
        usl=spec.usl,
    )


def make_adapter(
    source: Any,
    sink: Callable[[Sample], None],
    *,
    store: GraphStore | None = None,
    alarm: Callable[[Alarm], None] | None = None,
) -> Any:
    """The adapter for one configured source (imports its client library lazily)."""
    if source.kind == "opcua":
        from qualitas.edge_adapters.opcua import OpcUaAdapter

        return OpcUaAdapter(source, sink)
    if source.kind == "modbus":
        from qualitas.edge_adapters.modbus import ModbusAdapter

        return ModbusAdapter(source, sink)
    from qualitas.edge_adapters.vision.source import VisionAdapter

    return VisionAdapter(source, sink, store=store, alarm=alarm)


class EdgeRunner:
    def __init__(
        self,
        config: EdgeConfig,
        *,
        store: GraphStore | None = None,
        hub: AlertHub | None = None,
        adapters: dict[str, Any] | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.config = config
        self.audit = audit  # every write to a device also goes to the audit trail (edge.write), when one is given
        self.run_id = config.run.id
        self.hub = hub or AlertHub()
        self.buffer = SpillBuffer(config.buffer.path, capacity=config.buffer.capacity)
        self.series = SeriesStore(config.series_dir, config.run.id)
        self.frames = AlarmFrames(config.frames_dir, keep=config.frames_keep)
        self.recorder = GraphRecorder(store, agent=config.agent, run_id=config.run.id, audit=audit)
        self.adapters = (
            adapters
            if adapters is not None
            else {s.name: make_adapter(s, self.buffer.put, store=store, alarm=self.alarm) for s in config.sources}
        )
        self.monitors = {signal: _monitor(signal, spec) for signal, spec in config.spc.items()}
        self.spc_filters = {
            signal: CorroborationFilter(
                consecutive=spec.corroborate.consecutive or 1,
                min_sources=spec.corroborate.sources,
                window_s=spec.corroborate.window_s,
            )
            for signal, spec in config.spc.items()
        }
        actuators = {n: a for n, a in self.adapters.items() if hasattr(a, "write_target")}
        self.engine = RuleEngine(
            config.rules,
            config.targets,
            actuators=actuators,
            sink=self,
            agent=config.agent,
            dry_run=config.dry_run,
            run_id=config.run.id,
        )
        if store is not None:  # the rate limit holds across a restart of the runner
            for name, ts in last_writes(store, config.targets).items():
                self.engine.remember_write(name, ts)
        self.alarms: list[Alarm] = []
        self.actions: list[ActionRecord] = []
        self.processed = 0
        self.alarm_to_write_s: list[float] = []
        self._started = time.monotonic()
        self._last_status = (time.monotonic(), 0)
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    # -------------------------------------------------------------- sink for the engine

    def _equipment_for(self, signal: str) -> str | None:
        spec = self.config.spc.get(signal)
        target = self.config.targets.get(signal)
        return (spec.equipment if spec else None) or (target.equipment if target else None) or self.config.run.equipment

    def _frame_of(self, alarm: Alarm) -> str | None:
        """Keep the frame a vision alarm fired on (see :mod:`qualitas.edge_adapters.frames`)."""
        for adapter in self.adapters.values():
            frame_for = getattr(adapter, "frame_for", None)
            frame = frame_for(alarm) if frame_for is not None else None
            if frame is not None:
                path = self.frames.save(alarm.id, frame)
                return str(path) if path is not None else None
        return None

    def alarm(self, alarm: Alarm) -> None:
        if alarm.photo is None:
            photo = self._frame_of(alarm)
            if photo is not None:
                alarm = dataclasses.replace(alarm, photo=photo)
        self.alarms.append(alarm)
        self.hub.publish(alarm)
        self.recorder.add(alarm_triples(alarm, agent=self.config.agent, equipment=self._equipment_for(alarm.signal)))

    def action(self, record: ActionRecord) -> None:
        self.actions.append(record)
        target = self.config.targets.get(record.target or "")
        if self.audit is not None and record.applied is not None and not record.dry_run:
            self.audit.append(
                "edge.write",
                actor=record.agent,
                role="edge",
                why=record.why,
                what={
                    "target": record.target,
                    "parameter": target.parameter if target else None,
                    "previous": record.previous,
                    "requested": record.requested,
                    "written": record.applied,
                    "status": record.status,
                    "rule": record.rule_id,
                    "action": record.id,
                    "run": record.run_id,
                    "reasons": list(record.reasons),
                },
                before=None if record.previous is None else repr(record.previous),
                after=repr(record.applied),
            )
        self.recorder.add(
            action_triples(
                record,
                equipment=(target.equipment if target else None) or self.config.run.equipment,
                parameter=target.parameter if target else None,
            )
        )

    # -------------------------------------------------------------- processing

    async def process(self, samples: list[Sample]) -> None:
        """Store the raw values, then run SPC, the transient filter and the rules."""
        if not samples:
            return
        self.series.append(samples)
        for sample in samples:
            self.processed += 1
            monitor = self.monitors.get(sample.signal)
            if monitor is not None:
                await self._spc(monitor, sample)
            await self.engine.on_sample(sample)

    async def _spc(self, monitor: SpcMonitor, sample: Sample) -> None:
        was_ready = monitor.ready
        hits = monitor.update(sample.value, ts=sample.ts, source=sample.source)
        if not was_ready:
            return
        filt = self.spc_filters[sample.signal]
        fired = {h.key for h in hits}
        for key in monitor.rule_keys():
            if key not in fired:
                filt.miss(key, source=sample.source, ts=sample.ts)
        raised: list[Alarm] = []
        for hit in hits:
            evidence = filt.hit(hit)
            if evidence is None:
                continue
            rule = hit.key.rsplit("/", 1)[1]
            alarm = Alarm(
                id=_new_id(self.run_id, "alarm"),
                kind="spc",
                signal=sample.signal,
                rule=rule,
                severity="warning",
                message=f"{sample.signal}: {RULE_TEXT[rule]} ({evidence.how})",
                ts=sample.ts,
                value=sample.value,
                evidence=evidence.hits,
                run_id=self.run_id,
            )
            self.alarm(alarm)
            raised.append(alarm)
        if raised:  # one trigger per sample and signal, however many rules agreed
            t0 = time.perf_counter()
            records = await self.engine.on_alarm(raised[0])
            if any(r.status in ("applied", "clamped") for r in records):
                self.alarm_to_write_s.append(time.perf_counter() - t0)

    # -------------------------------------------------------------- lifecycle

    def suppressed_fraction(self) -> float:
        stats = [f.stats() for f in self.spc_filters.values()] + [f.stats() for f in self.engine._filters.values()]
        passed = sum(s.passed for s in stats)
        suppressed = sum(s.suppressed for s in stats)
        return suppressed / (passed + suppressed) if passed + suppressed else 0.0

    def status(self) -> EdgeStatus:
        now = time.monotonic()
        t_last, n_last = self._last_status
        rate = (self.processed - n_last) / (now - t_last) if now > t_last else 0.0
        self._last_status = (now, self.processed)
        return EdgeStatus(
            uptime_s=now - self._started,
            samples=self.processed,
            rate=rate,
            buffered=len(self.buffer),
            spilled_total=self.buffer.spilled_total,
            alarms=len(self.alarms),
            actions=len(self.actions),
            writes=self.engine.writes,
            suppressed_fraction=self.suppressed_fraction(),
            connected={n: a.connected.is_set() for n, a in self.adapters.items()},
            reconnects=sum(getattr(a, "reconnects", 0) for a in self.adapters.values()),
            finished=tuple(n for n, a in self.adapters.items() if getattr(a, "finished", False)),
        )

    def start(self) -> None:
        """Start the source adapters (idempotent)."""
        if not self._tasks:
            self._tasks = [asyncio.create_task(a.run(), name=f"edge-source-{n}") for n, a in self.adapters.items()]

    async def run(
        self,
        *,
        duration: float | None = None,
        stop: asyncio.Event | None = None,
        on_status: Callable[[EdgeStatus], None] | None = None,
        status_every: float = 0.5,
        flush_every: float = 1.0,
    ) -> None:
        """Run until ``duration`` elapses or ``stop`` is set, then :meth:`close`."""
        stop = stop or asyncio.Event()
        self.start()
        deadline = time.monotonic() + duration if duration is not None else None
        next_status = next_flush = time.monotonic()
        try:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                batch = await self.buffer.get(2000, timeout=0.05)
                await self.process(batch)
                now = time.monotonic()
                if on_status is not None and now >= next_status:
                    on_status(self.status())
                    next_status = now + status_every
                if now >= next_flush:
                    for adapter in self.adapters.values():  # a camera follows its station's deployment
                        follow = getattr(adapter, "follow_deployment", None)
                        if follow is not None:
                            await asyncio.to_thread(follow)
                    await self.recorder.flush()
                    next_flush = now + flush_every
                for task in self._tasks:
                    if task.done() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
        finally:
            await self.close()

    async def close(self, *, drain: bool = True) -> None:
        """Stop the sources, process what is buffered (``drain``), write the run's
        summaries and raw-series links, flush the graph and close the files. Without
        ``drain`` the buffered samples stay in the buffer file for the next run."""
        if self._closed:
            return
        self._closed = True
        for adapter in self.adapters.values():
            adapter.stop()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5.0)
        if drain:
            while len(self.buffer):
                await self.process(self.buffer.take(5000))
        await self.recorder.flush()
        self.recorder.add(self._summary_triples())
        await self.recorder.flush(source=f"edge:{self.run_id}:summary")
        self.buffer.close()
        self.series.close()

    def _summary_triples(self) -> list[Any]:
        """The run's summary batch (replaced, not duplicated, if the run is resumed)."""
        run = mint("run", self.run_id)
        triples: list[Any] = [(run, RDF.type, Q.ProductionRun), (run, Q.runId, Literal(self.run_id))]
        if self.config.run.equipment:
            triples.append((run, Q.equipment, mint("equipment", self.config.run.equipment)))
        infos = {i.signal: i for i in self.series.info()}
        for signal, monitor in self.monitors.items():
            spec = self.config.spc[signal]
            triples += summary_triples(
                monitor.summary(),
                run_id=self.run_id,
                series=infos.get(signal),
                series_uri=self.series.uri,
                suppressed_fraction=self.spc_filters[signal].stats().suppressed_fraction,
                parameter=spec.parameter,
                equipment=spec.equipment or self.config.run.equipment,
            )
        for signal, info in infos.items():
            if signal not in self.monitors:
                triples += series_triples(info, run_id=self.run_id, uri=self.series.uri)
        for adapter in self.adapters.values():  # which model judged which frames
            segments = getattr(adapter, "segment_triples", None)
            if segments is not None:
                triples += segments(run_id=self.run_id)
        return triples
