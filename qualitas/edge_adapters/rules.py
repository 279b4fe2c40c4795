"""Declarative rules with the safety envelope built into the engine.

A rule (YAML, see :class:`qualitas.edge_adapters.config.Rule`) says *when* (a
condition over signals, inspection results and SPC alarms) and *then* (set or change
a parameter, raise an alert, open a work order). Safety is not the rule author's
job; the engine enforces it for every write:

1. **corroboration required**: a rule that writes must be corroborated (its own
   ``corroborate`` block, or an SPC alarm, which is corroborated by construction);
   a write is only ever executed with the :class:`Corroborated` evidence in hand,
   and a writing rule without corroboration is refused when the engine is built;
2. **hard min/max** and **maximum step per write** (``on_violation: clamp`` moves the
   value to the nearest safe one, ``refuse`` writes nothing), each raising a safety alarm;
3. **rate limit**: at most one write per target per ``min_interval_s``;
4. **dry run**: everything is decided and recorded, nothing is written;
5. **every action recorded** with who (agent and rule), what (target, previous,
   requested, applied value, status), why (rule, condition) and the evidence (raw
   hits, alarm ids) through the sink, which writes it to the graph.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from qualitas.edge_adapters._model import ActionRecord, ActionStatus, Alarm, Corroborated, RawHit, Sample
from qualitas.edge_adapters.config import Action, Condition, Rule, Target
from qualitas.edge_adapters.transient import CorroborationFilter
from qualitas.errors import ConfigError, QualitasError


class Actuator(Protocol):
    """What a source adapter offers the engine for write-back."""

    async def read_target(self, target: Target) -> float: ...

    async def write_target(self, target: Target, value: float) -> None: ...


class Sink(Protocol):
    """Where alarms and actions go (the graph recorder and the alert hub)."""

    def alarm(self, alarm: Alarm) -> None: ...

    def action(self, record: ActionRecord) -> None: ...


@dataclass(frozen=True)
class Decision:
    status: ActionStatus
    value: float | None
    reasons: tuple[str, ...]


def decide(target: Target, *, previous: float, requested: float, now: float, last_write: float | None) -> Decision:
    """The safety envelope for one write, as a pure function (see the module docstring)."""
    if not math.isfinite(requested):
        return Decision("refused", None, (f"requested value {requested} is not a number",))
    if last_write is not None and now - last_write < target.min_interval_s:
        return Decision(
            "rate_limited",
            None,
            (f"last write {now - last_write:.3f} s ago; at most one write per {target.min_interval_s:g} s",),
        )
    reasons: list[str] = []
    value = requested
    if not target.min <= value <= target.max:
        reasons.append(f"requested {requested:g} is outside the hard limits [{target.min:g}, {target.max:g}]")
        value = min(max(value, target.min), target.max)
    if abs(value - previous) > target.max_step + 1e-12:
        reasons.append(f"step {value - previous:+g} from {previous:g} exceeds the maximum step {target.max_step:g}")
        value = previous + math.copysign(target.max_step, value - previous)
        value = min(max(value, target.min), target.max)
    if reasons and target.on_violation == "refuse":
        return Decision("refused", None, tuple(reasons))
    return Decision("clamped" if reasons else "applied", value, tuple(reasons))


def _signals(cond: Condition) -> set[str]:
    if cond.signal is not None:
        return {cond.signal}
    return set().union(*(_signals(c) for c in (cond.all or cond.any or [])))


def _alarm_only(cond: Condition) -> bool:
    """Whether the condition can only hold on an SPC alarm (then it is corroborated)."""
    if cond.alarm is not None:
        return True
    if cond.all is not None:
        return any(_alarm_only(c) for c in cond.all)
    if cond.any is not None:
        return all(_alarm_only(c) for c in cond.any)
    return False


def _new_id(run_id: str | None, kind: str) -> str:
    return f"{run_id or 'edge'}-{kind}-{uuid.uuid4().hex[:12]}"


class RuleEngine:
    """Evaluates rules on samples and SPC alarms and executes their actions safely."""

    def __init__(
        self,
        rules: list[Rule],
        targets: dict[str, Target],
        *,
        actuators: dict[str, Actuator],
        sink: Sink,
        agent: str = "qualitas-edge",
        dry_run: bool = False,
        run_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rules = [r for r in rules if r.enabled]
        self.targets = targets
        self.actuators = actuators
        self.sink = sink
        self.agent = agent
        self.dry_run = dry_run
        self.run_id = run_id
        self.clock = clock
        self.latest: dict[str, Sample] = {}
        self._last_write: dict[str, float] = {}
        self._last_fired: dict[str, float] = {}
        #: Firings a rule's cooldown held back, per rule id.
        self.cooled_down: dict[str, int] = {}
        self._filters: dict[str, CorroborationFilter] = {}
        self._by_signal: dict[str, list[Rule]] = {}
        self.writes = 0
        for rule in self.rules:
            writes = any(a.writes for a in rule.then)
            if rule.corroborate is not None:
                c = rule.corroborate
                self._filters[rule.id] = CorroborationFilter(
                    consecutive=c.consecutive or 1, min_sources=c.sources, window_s=c.window_s
                )
            elif writes and not _alarm_only(rule.when):
                raise ConfigError(
                    f"rule {rule.id!r} writes to the line but is not corroborated: add corroborate "
                    "(consecutive: N or sources: M) or trigger it on an SPC alarm",
                    rule=rule.id,
                )
            for signal in _signals(rule.when):
                self._by_signal.setdefault(signal, []).append(rule)

    def remember_write(self, target: str, ts: float) -> None:
        """A write made before this engine started (read back from the graph), so the
        rate limit holds across a restart."""
        self._last_write[target] = max(ts, self._last_write.get(target, ts))

    def last_write(self, target: str) -> float | None:
        return self._last_write.get(target)

    # -------------------------------------------------------------- conditions

    def _holds(self, cond: Condition, alarm: Alarm | None) -> bool:
        if cond.alarm is not None:
            if alarm is None or alarm.kind != "spc" or alarm.signal != cond.alarm:
                return False
            return cond.rules is None or alarm.rule in cond.rules
        if cond.all is not None:
            return all(self._holds(c, alarm) for c in cond.all)
        if cond.any is not None:
            return any(self._holds(c, alarm) for c in cond.any)
        sample = self.latest.get(cond.signal or "")
        if sample is None:
            return False
        v = sample.value
        if cond.above is not None:
            return v > cond.above
        if cond.below is not None:
            return v < cond.below
        lo, hi = cond.outside or (-math.inf, math.inf)
        return not lo <= v <= hi

    # -------------------------------------------------------------- events

    async def on_sample(self, sample: Sample) -> list[ActionRecord]:
        self.latest[sample.signal] = sample
        records: list[ActionRecord] = []
        for rule in self._by_signal.get(sample.signal, ()):
            fired = self._holds(rule.when, None)
            filt = self._filters.get(rule.id)
            if filt is None:  # a rule without writes and without corroboration: alert directly
                if fired:
                    hit = RawHit(rule.id, sample.source, sample.ts, sample.value, rule.description)
                    records += await self._execute(rule, Corroborated(rule.id, "none", (hit,)), ())
                continue
            evidence = filt.observe(
                rule.id, fired, source=sample.source, ts=sample.ts, value=sample.value, detail=sample.signal
            )
            if evidence is not None:
                records += await self._execute(rule, evidence, ())
        return records

    async def on_alarm(self, alarm: Alarm) -> list[ActionRecord]:
        records: list[ActionRecord] = []
        for rule in self.rules:
            if _alarm_only(rule.when) and self._holds(rule.when, alarm):
                evidence = Corroborated(alarm.id, "spc-alarm", alarm.evidence)
                records += await self._execute(rule, evidence, (alarm.id,))
        return records

    # -------------------------------------------------------------- actions

    async def _execute(self, rule: Rule, evidence: Corroborated, alarm_ids: tuple[str, ...]) -> list[ActionRecord]:
        now = self.clock()
        last = self._last_fired.get(rule.id)
        if rule.cooldown_s and last is not None and now - last < rule.cooldown_s:
            self.cooled_down[rule.id] = self.cooled_down.get(rule.id, 0) + 1
            return []
        self._last_fired[rule.id] = now
        records = []
        for action in rule.then:
            if action.writes:
                record = await self._write(rule, action, evidence, alarm_ids)
            else:
                record = self._notify(rule, action, evidence, alarm_ids)
            self.sink.action(record)
            records.append(record)
        return records

    def _why(self, rule: Rule, evidence: Corroborated) -> str:
        what = rule.description or rule.id
        return f"rule {rule.id}: {what} (corroborated by {evidence.how}, {len(evidence.hits)} hits)"

    def _notify(self, rule: Rule, action: Action, evidence: Corroborated, alarm_ids: tuple[str, ...]) -> ActionRecord:
        now = self.clock()
        spec = action.alert or action.work_order or {}
        details = {str(k): str(v) for k, v in spec.items()}
        if action.alert is not None:
            alarm = Alarm(
                id=_new_id(self.run_id, "alarm"),
                kind="rule",
                signal=evidence.hits[-1].detail if evidence.hits else rule.id,
                rule=rule.id,
                severity=spec.get("severity", "warning"),
                message=str(spec.get("message", rule.description or rule.id)),
                ts=now,
                value=evidence.hits[-1].value if evidence.hits else None,
                evidence=evidence.hits,
                run_id=self.run_id,
            )
            self.sink.alarm(alarm)
            alarm_ids = (*alarm_ids, alarm.id)
        return ActionRecord(
            id=_new_id(self.run_id, "action"),
            rule_id=rule.id,
            kind=action.kind,
            status="raised",
            agent=self.agent,
            why=self._why(rule, evidence),
            ts=now,
            evidence=evidence.hits,
            alarm_ids=alarm_ids,
            dry_run=self.dry_run,
            details=details,
            run_id=self.run_id,
        )

    async def _write(
        self, rule: Rule, action: Action, evidence: Corroborated, alarm_ids: tuple[str, ...]
    ) -> ActionRecord:
        spec = action.set or action.change or {}
        name = str(spec["target"])
        target = self.targets[name]
        actuator = self.actuators[target.source]
        now = self.clock()
        base = {
            "id": _new_id(self.run_id, "action"),
            "rule_id": rule.id,
            "kind": action.kind,
            "agent": self.agent,
            "why": self._why(rule, evidence),
            "target": name,
            "evidence": evidence.hits,
            "alarm_ids": alarm_ids,
            "dry_run": self.dry_run,
            "run_id": self.run_id,
            "details": {str(k): str(v) for k, v in spec.items()},
        }
        try:
            previous = await actuator.read_target(target)
        except QualitasError as exc:
            return ActionRecord(status="failed", ts=now, reasons=(f"cannot read {name}: {exc}",), **base)
        requested = float(spec["value"]) if action.set is not None else previous + float(spec["by"])
        decision = decide(
            target, previous=previous, requested=requested, now=now, last_write=self._last_write.get(name)
        )
        status: ActionStatus = decision.status
        reasons = decision.reasons
        if decision.value is not None:
            if self.dry_run:
                status = "dry_run"
                reasons = (*reasons, "dry-run: nothing written")
            else:
                try:
                    await actuator.write_target(target, decision.value)
                except QualitasError as exc:
                    status, reasons = "failed", (*reasons, f"write failed: {exc}")
                else:
                    self._last_write[name] = now
                    self.writes += 1
        if decision.status in ("clamped", "refused", "rate_limited"):
            safety = Alarm(
                id=_new_id(self.run_id, "alarm"),
                kind="safety",
                signal=name,
                rule=rule.id,
                severity="critical" if decision.status != "rate_limited" else "warning",
                message=f"{decision.status}: {'; '.join(decision.reasons)}",
                ts=now,
                value=requested,
                evidence=evidence.hits,
                run_id=self.run_id,
            )
            self.sink.alarm(safety)
            base["alarm_ids"] = (*alarm_ids, safety.id)
        return ActionRecord(
            status=status,
            ts=now,
            previous=previous,
            requested=requested,
            applied=decision.value if status in ("applied", "clamped") else None,
            reasons=reasons,
            **base,
        )
