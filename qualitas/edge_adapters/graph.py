"""Edge records as triples: alarms, control actions, SPC summaries and raw-series links.

Only what the design wants in the graph goes there: runs receive summaries,
excursions (alarms) and actions, each attributable (``prov:wasAttributedTo`` /
``prov:wasAssociatedWith`` a software agent, ``q:reason``, ``q:evidence``); raw
values stay in the series file that ``q:RawSeries`` points at.

Every batch is an append-only named graph of the store (``load_triples`` with a
source unique to the batch), so an action, once recorded, is never rewritten.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rdflib import RDF, XSD, Literal, URIRef
from rdflib.namespace import PROV, SOSA
from rdflib.term import Node

from qualitas.audit import AuditLog, audited_load
from qualitas.edge_adapters._model import ActionRecord, Alarm, Observation, RawHit, as_datetime
from qualitas.edge_adapters.series import SeriesInfo
from qualitas.edge_adapters.spc import SpcSummary
from qualitas.ontology import ID, Q, mint
from qualitas.ontology.namespaces import UNIT
from qualitas.store import GraphStore, LoadResult

Triple = tuple[Node, Node, Node]


def edge_iri(kind: str, *keys: str) -> URIRef:
    """IRIs of edge records, ``id/<kind>/<key>`` like :func:`qualitas.ontology.mint`."""
    return ID[kind + "/" + "/".join(quote(str(k), safe="-._~") for k in keys)]


def agent_iri(agent: str) -> URIRef:
    return URIRef("https://w3id.org/qualitas/id/agent/" + quote(agent, safe=""))


def _dec(value: float) -> Literal:
    return Literal(Decimal(repr(float(value))), datatype=XSD.decimal)


def _when(ts: float) -> Literal:
    return Literal(as_datetime(ts).isoformat(), datatype=XSD.dateTime)


def _evidence(hits: Iterable[RawHit]) -> Literal:
    return Literal(
        json.dumps(
            [
                {
                    "ts": as_datetime(h.ts).isoformat(),
                    "source": h.source,
                    "key": h.key,
                    "value": h.value,
                    "detail": h.detail,
                }
                for h in hits
            ],
            ensure_ascii=False,
        )
    )


def alarm_triples(alarm: Alarm, *, agent: str, equipment: str | None = None) -> list[Triple]:
    s = edge_iri("alarm", alarm.id)
    out: list[Triple] = [
        (s, RDF.type, Q.Alarm),
        (s, Q.alarmKind, Literal(alarm.kind)),
        (s, Q.signal, Literal(alarm.signal)),
        (s, Q.ruleId, Literal(alarm.rule)),
        (s, Q.severity, Literal(alarm.severity)),
        (s, Q.message, Literal(alarm.message)),
        (s, Q.raisedAt, _when(alarm.ts)),
        (s, Q.evidence, _evidence(alarm.evidence)),
        (s, PROV.wasAttributedTo, agent_iri(agent)),
    ]
    if alarm.value is not None and math.isfinite(alarm.value):
        out.append((s, Q.value, _dec(alarm.value)))
    if alarm.run_id:
        out.append((s, Q.duringRun, mint("run", alarm.run_id)))
    if equipment:
        out.append((s, Q.onEquipment, mint("equipment", equipment)))
    if alarm.photo:  # the frame a vision alarm fired on, where the edge run keeps it
        out.append((s, Q.photo, Literal(Path(alarm.photo).resolve().as_uri())))
    return out


def observation_iri(obs: Observation) -> URIRef:
    """One IRI per (equipment, parameter, time): a device that re-sends a value writes
    the same triples again, never a second observation."""
    return edge_iri("observation", obs.equipment, obs.parameter, as_datetime(obs.ts).isoformat())


def observation_triples(obs: Observation, *, agent: str) -> list[Triple]:
    """A measured value as a ``q:ParameterObservation`` (a ``sosa:Observation``): the
    parameter and value as MES actuals have them (``q:parameter``, ``q:value``,
    ``q:unit``), the time as ``sosa:resultTime``, the equipment and run as alarms have
    them (``q:onEquipment``, ``q:duringRun``)."""
    s = observation_iri(obs)
    out: list[Triple] = [
        (s, RDF.type, Q.ParameterObservation),
        (s, RDF.type, SOSA.Observation),
        (s, Q.parameter, mint("parameter", obs.parameter)),
        (s, Q.value, _dec(obs.value)),
        (s, SOSA.resultTime, _when(obs.ts)),
        (s, Q.onEquipment, mint("equipment", obs.equipment)),
        (s, PROV.wasAttributedTo, agent_iri(agent)),
    ]
    if obs.unit:
        out.append((s, Q.unit, UNIT[obs.unit]))
    if obs.run_id:
        out.append((s, Q.duringRun, mint("run", obs.run_id)))
    if obs.signal:
        out.append((s, Q.signal, Literal(obs.signal)))
    return out


def batch_sha256(triples: Iterable[Triple]) -> str:
    """The content hash of a batch of edge records (independent of their order)."""
    body = "\n".join(sorted(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in triples))
    return hashlib.sha256(body.encode()).hexdigest()


def write_batch(store: GraphStore, triples: list[Triple], *, source: str, agent: str) -> LoadResult:
    """Write edge records as one append-only batch: one transaction, one named graph."""
    return store.load_triples(triples, source=source, sha256=batch_sha256(triples), agent=agent, format="edge")


def action_triples(record: ActionRecord, *, equipment: str | None = None, parameter: str | None = None) -> list[Triple]:
    s = edge_iri("action", record.id)
    agent = agent_iri(record.agent)
    out: list[Triple] = [
        (s, RDF.type, Q.ControlAction),
        (s, Q.actionKind, Literal(record.kind)),
        (s, Q.actionStatus, Literal(record.status)),
        (s, Q.ruleId, Literal(record.rule_id)),
        (s, Q.raisedAt, _when(record.ts)),
        (s, Q.reason, Literal(record.why)),
        (s, Q.evidence, _evidence(record.evidence)),
        (s, Q.dryRun, Literal(record.dry_run)),
        (s, PROV.wasAssociatedWith, agent),
        (agent, RDF.type, PROV.SoftwareAgent),
    ]
    out += [(s, Q.reason, Literal(r)) for r in record.reasons]
    out += [(s, Q.triggeredBy, edge_iri("alarm", a)) for a in record.alarm_ids]
    if record.target:
        out.append((s, Q.targetName, Literal(record.target)))
    for prop, value in (
        (Q.previousValue, record.previous),
        (Q.requestedValue, record.requested),
        (Q.appliedValue, record.applied),
    ):
        if value is not None and math.isfinite(value):
            out.append((s, prop, _dec(value)))
    for key, value in sorted(record.details.items()):
        if key in ("title", "message", "assignee"):
            out.append((s, Q.message, Literal(f"{key}: {value}")))
    if record.run_id:
        out.append((s, Q.duringRun, mint("run", record.run_id)))
    if equipment:
        out.append((s, Q.onEquipment, mint("equipment", equipment)))
    if parameter:
        out.append((s, Q.parameter, mint("parameter", parameter)))
    return out


def last_writes(store: GraphStore, targets: Mapping[str, Any]) -> dict[str, float]:
    """When each target was last written (applied or clamped, not dry-run), from the
    control actions in the graph; a target with ``equipment`` matches only that equipment."""
    rows = store.select(
        """SELECT ?target ?eq (MAX(?t) AS ?last) WHERE {
            ?a a q:ControlAction ; q:targetName ?target ; q:actionStatus ?status ; q:raisedAt ?t ;
               q:dryRun false .
            OPTIONAL { ?a q:onEquipment ?eq }
            FILTER(?status IN ("applied", "clamped"))
        } GROUP BY ?target ?eq"""
    )
    out: dict[str, float] = {}
    for row in rows:
        name = str(row["target"])
        target = targets.get(name)
        last = row.get("last")
        if target is None or not isinstance(last, dt.datetime):
            continue
        equipment = getattr(target, "equipment", None)
        if equipment and row.get("eq") != str(mint("equipment", equipment)):
            continue
        out[name] = max(out.get(name, 0.0), last.timestamp())
    return out


def summary_triples(
    summary: SpcSummary,
    *,
    run_id: str,
    series: SeriesInfo | None,
    series_uri: str | None,
    suppressed_fraction: float | None = None,
    parameter: str | None = None,
    equipment: str | None = None,
) -> list[Triple]:
    run = mint("run", run_id)
    s = edge_iri("spcsummary", run_id, summary.signal)
    out: list[Triple] = [
        (s, RDF.type, Q.SpcSummary),
        (s, Q.duringRun, run),
        (s, Q.signal, Literal(summary.signal)),
        (s, Q.chartType, Literal(summary.chart)),
        (s, Q.sampleCount, Literal(summary.n)),
        (s, Q.ruleViolations, Literal(json.dumps(summary.violations, sort_keys=True))),
    ]
    for prop, value in (
        (Q.mean, summary.mean),
        (Q.standardDeviation, summary.std_dev),
        (Q.cp, summary.cp),
        (Q.cpk, summary.cpk),
    ):
        if value is not None and math.isfinite(value):
            out.append((s, prop, _dec(value)))
    if summary.limits is not None:
        out += [
            (s, Q.centerLine, _dec(summary.limits.center)),
            (s, Q.upperControlLimit, _dec(summary.limits.ucl)),
            (s, Q.lowerControlLimit, _dec(summary.limits.lcl)),
        ]
    if suppressed_fraction is not None:
        out.append((s, Q.suppressedFraction, _dec(suppressed_fraction)))
    if parameter:
        out.append((s, Q.parameter, mint("parameter", parameter)))
    if equipment:
        out.append((s, Q.onEquipment, mint("equipment", equipment)))
    if series is not None and series_uri is not None:
        raw = series_triples(series, run_id=run_id, uri=series_uri)
        out += raw
        out.append((s, Q.hasRawSeries, raw[0][0]))  # type: ignore[arg-type]
    return out


def series_triples(series: SeriesInfo, *, run_id: str, uri: str) -> list[Triple]:
    s = edge_iri("series", run_id, series.signal)
    run = mint("run", run_id)
    return [
        (s, RDF.type, Q.RawSeries),
        (s, Q.seriesFile, Literal(uri, datatype=XSD.anyURI)),
        (s, Q.seriesKey, Literal(series.signal)),
        (s, Q.signal, Literal(series.signal)),
        (s, Q.sampleCount, Literal(series.count)),
        (s, Q.firstSampleAt, _when(series.first_ts)),
        (s, Q.lastSampleAt, _when(series.last_ts)),
        (s, Q.duringRun, run),
        (run, Q.hasRawSeries, s),
    ]


class GraphRecorder:
    """Queues records and writes them as append-only batches, off the control path.

    ``flush`` writes everything queued as one batch (one transaction). The runner
    flushes periodically and at the end of a run; a write to the line never waits
    for the graph.
    """

    def __init__(self, store: GraphStore | None, *, agent: str, run_id: str, audit: AuditLog | None = None) -> None:
        self.store = store
        self.agent = agent
        self.run_id = run_id
        self.audit = audit  # each batch and its `edge.record` audit record are one unit
        self._pending: list[Triple] = []
        self._batches = 0
        self._lock = asyncio.Lock()
        self.recorded = 0

    def add(self, triples: Iterable[Triple]) -> None:
        self._pending.extend(triples)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _write(self, triples: list[Triple], source: str) -> None:
        assert self.store is not None
        with audited_load(
            self.audit, self.store, actor=self.agent, role="edge", source=source, format="edge", action="edge.record"
        ) as done:
            done.results = [write_batch(self.store, triples, source=source, agent=self.agent)]

    async def flush(self, *, source: str | None = None) -> int:
        """Write what is queued; ``source`` names the batch (default: a fresh one)."""
        async with self._lock:
            if not self._pending or self.store is None:
                self._pending.clear()
                return 0
            triples, self._pending = self._pending, []
            self._batches += 1
            name = (
                source
                or f"edge:{self.run_id}:{hashlib.sha256(repr(triples[:3]).encode()).hexdigest()[:10]}-{self._batches}"
            )
            await asyncio.to_thread(self._write, triples, name)
            self.recorded += len(triples)
            return len(triples)
