"""GraphQL ``recordObservations``: measured values from edge devices, written to the graph.

Layers::

    recordObservations ── check (pure: values, times, units) ── check against the store
                                                                 (equipment, parameters, earlier values)
                       └── edge_adapters.graph.observation_triples ── write_batch (one transaction)

An edge device may write observations and nothing else (the ``edge`` role). A call
is one batch: every observation is written, or none is (a refusal names the index of
each bad observation). Observations are ``q:ParameterObservation`` (a
``sosa:Observation``, https://www.w3.org/TR/vocab-ssn/#SOSAObservation) of a known
process parameter on known equipment, with one IRI per (equipment, parameter, time),
so a device re-sending a call it got no answer to changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal

import strawberry
from strawberry.types import Info

from qualitas.audit import AuditLog, audited_load
from qualitas.edge_adapters._model import Observation
from qualitas.edge_adapters.graph import batch_sha256, observation_iri, observation_triples, write_batch
from qualitas.errors import LimitExceededError, QualitasError, ValidationError
from qualitas.graphql._errors import graphql_error as _error
from qualitas.graphql.audit import mark_recorded
from qualitas.ingest._units import UnknownUnitError, qudt_unit
from qualitas.ontology import mint
from qualitas.store import GraphStore, LoadResult

__all__ = ["MAX_OBSERVATIONS", "ObservationInput", "ObservationMutation", "RecordResult", "record_observations"]

_FIELD = "recordObservations"
#: The most observations one call may carry.
MAX_OBSERVATIONS = 10_000
#: How far ahead of the server's clock an observation's time may be (device clock skew).
MAX_FUTURE = dt.timedelta(days=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: Problems listed in one refusal; the rest are counted.
_MAX_LISTED = 20


@strawberry.input(description="One measured value from an edge device.")
class ObservationInput:
    equipment: str = strawberry.field(description="Equipment id (q:equipmentId) of equipment in the graph.")
    parameter: str = strawberry.field(description="Process parameter code (q:code) of a parameter in the graph.")
    value: float
    time: dt.datetime = strawberry.field(description="When the value was measured; must carry a time zone.")
    unit: str | None = strawberry.field(default=None, description="Unit as written (degC, N·m, MPa), or none.")
    run_id: str | None = strawberry.field(default=None, description="The production run it was measured in.")
    signal: str | None = strawberry.field(default=None, description="The device's name for the signal.")


@strawberry.type(description="What recordObservations wrote: one batch (named graph) for the whole call.")
class RecordResult:
    count: int = strawberry.field(description="Observations in the call.")
    triples: int
    graph: str
    status: str = strawberry.field(description="added, or unchanged when the same call was recorded before.")


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[int, str, str]] = []

    def add(self, index: int, field: str, message: str) -> None:
        self.items.append((index, field, message))

    def raise_any(self) -> None:
        if not self.items:
            return
        listed = [f"observations[{i}].{f}: {m}" for i, f, m in self.items[:_MAX_LISTED]]
        more = len(self.items) - len(listed)
        text = "; ".join(listed) + (f"; and {more} more" if more else "")
        index, field, _ = self.items[0]
        raise ValidationError(
            f"{len(self.items)} problem(s), nothing written: {text}", where=f"observations[{index}]", field=field
        )


def check(observations: Sequence[ObservationInput], *, now: dt.datetime) -> list[Observation]:
    """The observations as the edge model has them; refuses (naming each index) non-finite
    values, times without a zone or more than :data:`MAX_FUTURE` ahead of ``now``,
    unknown units, and two different values for one (equipment, parameter, time).
    The result keeps the order and indexes of the input (a repeat is harmless)."""
    if len(observations) > MAX_OBSERVATIONS:
        raise LimitExceededError(
            f"{len(observations)} observations in one call; the most is {MAX_OBSERVATIONS}", limit=MAX_OBSERVATIONS
        )
    problems = _Problems()
    out: dict[int, Observation] = {}
    seen: dict[tuple[str, str, float], int] = {}
    for i, o in enumerate(observations):
        for name in ("equipment", "parameter"):
            if not str(getattr(o, name)).strip():
                problems.add(i, name, "empty")
        if not math.isfinite(o.value):
            problems.add(i, "value", f"{o.value} is not a finite number")
        if o.time.tzinfo is None or o.time.utcoffset() is None:
            problems.add(i, "time", f"{o.time.isoformat()} has no time zone (add Z or +hh:mm)")
        elif o.time < _EPOCH:
            problems.add(i, "time", f"{o.time.isoformat()} is before 1970")
        elif o.time - now > MAX_FUTURE:
            problems.add(i, "time", f"{o.time.isoformat()} is more than {MAX_FUTURE.days} day ahead of the server")
        unit = None
        if o.unit and o.unit.strip():
            try:
                unit = qudt_unit(o.unit)
            except UnknownUnitError as exc:
                problems.add(i, "unit", str(exc))
        if problems.items and problems.items[-1][0] == i:
            continue
        obs = Observation(
            equipment=o.equipment.strip(),
            parameter=o.parameter.strip(),
            value=float(o.value),
            ts=o.time.timestamp(),
            unit=unit,
            run_id=o.run_id.strip() if o.run_id and o.run_id.strip() else None,
            signal=o.signal or None,
        )
        key = (obs.equipment, obs.parameter, obs.ts)
        first = seen.setdefault(key, i)
        if first != i and out[first] != obs:
            problems.add(i, "time", f"observations[{first}] has the same equipment, parameter and time")
        out[i] = obs
    problems.raise_any()
    return list(out.values())


def _values(var: str, iris: Iterable[str]) -> str:
    return f"VALUES ?{var} {{ {' '.join(f'<{iri}>' for iri in sorted(set(iris)))} }}"


def check_against(store: GraphStore, observations: Sequence[Observation]) -> None:
    """Refuses unknown equipment or parameters, and a value that differs from the one
    already recorded for the same (equipment, parameter, time)."""
    problems = _Problems()
    for name, kind, cls in (
        ("equipment", "equipment", "q:Equipment"),
        ("parameter", "parameter", "q:ProcessParameter"),
    ):
        wanted = {str(mint(kind, getattr(o, name))) for o in observations}
        rows = store.select(f"SELECT ?x WHERE {{ {_values('x', wanted)} ?x a {cls} }}")
        known = {str(r["x"]) for r in rows}
        for i, o in enumerate(observations):
            if str(mint(kind, getattr(o, name))) not in known:
                problems.add(i, name, f"unknown {name} {getattr(o, name)!r} (no {cls} with that id in the graph)")
    problems.raise_any()
    by_iri = {str(observation_iri(o)): (i, o) for i, o in enumerate(observations)}
    for r in store.select(f"SELECT ?o ?v WHERE {{ {_values('o', by_iri)} ?o q:value ?v }}"):
        i, o = by_iri[str(r["o"])]
        if Decimal(str(r["v"])) != Decimal(repr(o.value)):
            problems.add(i, "value", f"{o.value} differs from the {r['v']} already recorded for this time")
    problems.raise_any()


def record_observations(
    store: GraphStore,
    observations: Sequence[Observation],
    *,
    agent: str,
    audit: AuditLog | None = None,
    role: str | None = None,
) -> LoadResult:
    """Check ``observations`` against the store and write them as one batch (blocking).
    With an ``audit`` log the batch and its ``graphql.mutation.recordObservations``
    record are one unit: a crash between them is reconciled on the next open."""
    check_against(store, observations)
    triples = [t for o in observations for t in observation_triples(o, agent=agent)]
    source = f"edge:observations:{batch_sha256(triples)[:24]}"
    with audited_load(
        audit, store, actor=agent, role=role, source=source, format="edge", action=f"graphql.mutation.{_FIELD}"
    ) as done:
        done.results = [write_batch(store, triples, source=source, agent=agent)]
    return done.results[0]


@strawberry.type
class ObservationMutation:
    @strawberry.mutation(
        description="Record measured values (edge devices): known equipment and parameters, finite values, "
        f"times with a zone; at most {MAX_OBSERVATIONS} per call, written as one batch or not at all."
    )
    async def record_observations(self, info: Info, observations: list[ObservationInput]) -> RecordResult:
        context = info.context
        principal = context.get("principal")
        agent = str(getattr(principal, "name", None) or "anonymous")
        try:
            checked = check(observations, now=dt.datetime.now(dt.UTC))
            if not checked:
                raise ValidationError("no observations given")
            jobs = context.get("jobs")
            lock = getattr(jobs, "write_lock", None)  # one writer: wait for a running load
            async with lock if lock is not None else contextlib.nullcontext():
                result = await asyncio.to_thread(
                    record_observations,
                    context["store"],
                    checked,
                    agent=agent,
                    audit=context.get("audit"),
                    role=getattr(principal, "role", None),
                )
        except QualitasError as exc:
            raise _error(exc) from exc
        if context.get("audit") is not None and result.status != "unchanged":
            mark_recorded(info)  # recorded above, with the batch, as one unit
        return RecordResult(count=len(observations), triples=result.triples, graph=result.graph, status=result.status)
