"""The safety envelope (pure) and the engine's refusal of uncorroborated writes."""

from __future__ import annotations

import math

import pytest

from qualitas.edge_adapters.config import Rule, Target
from qualitas.edge_adapters.rules import RuleEngine, decide
from qualitas.errors import ConfigError

TARGET = Target(source="plc", node="ns=2;s=X", min=140, max=160, max_step=5, min_interval_s=10)


def test_within_the_envelope_is_applied() -> None:
    d = decide(TARGET, previous=150, requested=146.8, now=100, last_write=None)
    assert d.status == "applied" and d.value == pytest.approx(146.8) and d.reasons == ()


def test_beyond_the_hard_limit_is_clamped_with_a_reason() -> None:
    d = decide(TARGET, previous=158, requested=175, now=100, last_write=None)
    assert d.status == "clamped" and d.value == 160 and "outside the hard limits" in d.reasons[0]


def test_a_step_too_large_is_limited_to_the_maximum_step() -> None:
    d = decide(TARGET, previous=150, requested=141, now=100, last_write=None)
    assert d.status == "clamped" and d.value == 145 and "maximum step" in d.reasons[0]


def test_refuse_mode_writes_nothing() -> None:
    strict = TARGET.model_copy(update={"on_violation": "refuse"})
    d = decide(strict, previous=150, requested=200, now=100, last_write=None)
    assert d.status == "refused" and d.value is None and len(d.reasons) == 2


def test_rate_limit_and_not_a_number() -> None:
    assert decide(TARGET, previous=150, requested=149, now=105, last_write=100).status == "rate_limited"
    assert decide(TARGET, previous=150, requested=149, now=111, last_write=100).status == "applied"
    assert decide(TARGET, previous=150, requested=math.nan, now=100, last_write=None).status == "refused"


class _NoSink:
    def alarm(self, alarm: object) -> None:  # pragma: no cover - never reached
        raise AssertionError

    def action(self, record: object) -> None:  # pragma: no cover
        raise AssertionError


def test_a_writing_rule_without_corroboration_is_refused_at_load() -> None:
    rule = Rule.model_validate(
        {
            "id": "r1",
            "when": {"signal": "aoi.void_probability", "above": 0.85},
            "then": [{"change": {"target": "t", "by": -1}}],
        }
    )
    with pytest.raises(ConfigError, match="not corroborated"):
        RuleEngine([rule], {"t": TARGET}, actuators={}, sink=_NoSink())
    # the same rule triggered by an SPC alarm is corroborated by construction
    on_alarm = rule.model_copy(
        update={"when": rule.when.model_copy(update={"signal": None, "above": None, "alarm": "x"})}
    )
    RuleEngine([on_alarm], {"t": TARGET}, actuators={}, sink=_NoSink())


def test_target_needs_one_address() -> None:
    with pytest.raises(ValueError):
        Target(source="plc", min=0, max=1, max_step=1)


class _Recorder:
    def __init__(self) -> None:
        self.actions: list[object] = []

    def alarm(self, alarm: object) -> None:
        pass

    def action(self, record: object) -> None:
        self.actions.append(record)


async def test_a_cooldown_turns_an_excursion_into_one_work_order() -> None:
    from qualitas.edge_adapters._model import Alarm

    rule = Rule.model_validate(
        {
            "id": "drift",
            "when": {"alarm": "weld.temperature"},
            "cooldown_s": 60,
            "then": [{"work_order": {"title": "check heater", "assignee": "maintenance"}}],
        }
    )
    now = [1000.0]
    sink = _Recorder()
    engine = RuleEngine([rule], {}, actuators={}, sink=sink, clock=lambda: now[0])

    def alarm(i: int) -> Alarm:
        return Alarm(
            id=f"a{i}",
            kind="spc",
            signal="weld.temperature",
            rule="nelson1",
            severity="warning",
            message="drift",
            ts=now[0],
            value=252.0,
            evidence=(),
            run_id="R",
        )

    for i in range(10):  # ten alarms of one excursion, five seconds apart
        await engine.on_alarm(alarm(i))
        now[0] += 5
    assert len(sink.actions) == 1
    assert engine.cooled_down == {"drift": 9}
    now[0] += 60  # a later excursion opens a new one
    await engine.on_alarm(alarm(99))
    assert len(sink.actions) == 2
