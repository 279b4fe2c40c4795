"""The values that flow through the edge: samples in, hits, alarms and actions out.

Adapters translate their peer's data into :class:`Sample`; everything downstream
(SPC, transient filter, rules, the graph recorder) sees only these types.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["info", "warning", "critical"]
ActionStatus = Literal["applied", "clamped", "refused", "dry_run", "rate_limited", "failed", "raised"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_datetime(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of one signal at one time (Unix seconds), from one source."""

    signal: str
    value: float
    ts: float
    source: str
    quality: str = "good"


@dataclass(frozen=True, slots=True)
class RawHit:
    """A rule (SPC run rule, threshold) fired once: not yet an alarm."""

    key: str  # what is judged, e.g. "weld.temperature/nelson1" or a rule id
    source: str
    ts: float
    value: float
    detail: str = ""


@dataclass(frozen=True)
class Corroborated:
    """Raw hits that passed the transient filter: the evidence of one alarm."""

    key: str
    how: str  # "consecutive:3" or "sources:2/1.0s"
    hits: tuple[RawHit, ...]

    @property
    def ts(self) -> float:
        return self.hits[-1].ts


@dataclass(frozen=True)
class Alarm:
    """A corroborated excursion or a safety event, as recorded in the graph and pushed
    to subscribers."""

    id: str
    kind: str  # "spc", "rule", "safety"
    signal: str
    rule: str
    severity: Severity
    message: str
    ts: float
    value: float | None = None
    evidence: tuple[RawHit, ...] = ()
    run_id: str | None = None
    #: The image file of the frame a vision alarm fired on (qualitas.edge_adapters.frames).
    photo: str | None = None

    @property
    def raised_at(self) -> dt.datetime:
        return as_datetime(self.ts)


@dataclass(frozen=True)
class ActionRecord:
    """What a rule did (or was stopped from doing), with who, what, why and evidence."""

    id: str
    rule_id: str
    kind: str  # "set", "change", "alert", "work_order"
    status: ActionStatus
    agent: str
    why: str
    ts: float
    target: str | None = None
    previous: float | None = None
    requested: float | None = None
    applied: float | None = None
    reasons: tuple[str, ...] = ()
    evidence: tuple[RawHit, ...] = ()
    alarm_ids: tuple[str, ...] = ()
    dry_run: bool = False
    details: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """One measured value of a process parameter on a piece of equipment, as an edge
    device reports it (GraphQL ``recordObservations``); recorded in the graph as a
    ``q:ParameterObservation`` (a ``sosa:Observation``, https://www.w3.org/TR/vocab-ssn/#SOSAObservation).

    ``equipment`` and ``parameter`` are business keys (``q:equipmentId``, ``q:code``);
    ``unit`` is a QUDT unit local name (``DEG_C``); ``ts`` is Unix seconds.
    """

    equipment: str
    parameter: str
    value: float
    ts: float
    unit: str | None = None
    run_id: str | None = None
    signal: str | None = None
