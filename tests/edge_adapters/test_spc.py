"""SPC: chart limits, run rules, EWMA, CUSUM, capability and chart images."""

from __future__ import annotations

import math
import random
import xml.etree.ElementTree as ET

import pytest

from qualitas.edge_adapters import spc


def test_individuals_limits_from_moving_ranges() -> None:
    lim = spc.individuals_limits([10, 12, 11, 13, 12])
    mr_bar = (2 + 1 + 2 + 1) / 4
    assert lim.center == pytest.approx(11.6)
    assert lim.sigma == pytest.approx(mr_bar / 1.128)
    assert lim.ucl == pytest.approx(11.6 + 3 * mr_bar / 1.128)
    assert lim.mr_ucl == pytest.approx(3.267 * mr_bar)


def test_xbar_r_limits_use_the_tabled_constants() -> None:
    groups = [[10, 11, 12, 11, 10], [11, 12, 13, 12, 11], [9, 10, 11, 10, 9]]
    lim = spc.xbar_r_limits(groups)
    assert lim.center == pytest.approx(10.8)
    assert lim.r_bar == pytest.approx(2.0)
    assert lim.ucl == pytest.approx(10.8 + 0.577 * 2)
    assert lim.r_ucl == pytest.approx(2.114 * 2)
    assert lim.sigma_within == pytest.approx(2 / 2.326)


def _fires(values: list[float], rule: str) -> bool:
    return any(v.rule == rule for v in spc.run_rule_violations(values, center=0.0, sigma=1.0, rules=[rule]))


@pytest.mark.parametrize(
    ("rule", "pattern", "quiet"),
    [
        ("nelson1", [0, 0.5, 3.5], [0, 2.9, -2.9]),
        ("nelson2", [0.3] * 9, [0.3] * 8 + [-0.1]),
        ("nelson3", [0, 0.1, 0.2, 0.3, 0.4, 0.5], [0, 0.1, 0.2, 0.1, 0.4, 0.5]),
        ("nelson4", [0.1, -0.1] * 7, [0.1, -0.1] * 6 + [0.1, 0.2]),
        ("nelson5", [2.5, 0, 2.5], [2.5, 0, -2.5]),
        ("nelson6", [1.5, 1.5, 0, 1.5, 1.5], [1.5, 0, 0, 1.5, 1.5]),
        ("nelson7", [0.5, -0.5] * 7 + [0.2], [0.5, -0.5] * 7 + [1.5]),
        ("nelson8", [1.5, -1.5] * 4, [1.5, -1.5] * 3 + [1.5, 0.5]),
        ("we1", [4.0], [2.0]),
        ("we2", [0, 2.1, 2.2], [0, 2.1, -2.2]),
        ("we3", [0, 1.2, 1.2, 1.2, 1.2], [0, 1.2, 1.2, 1.2, 0.2]),
        ("we4", [0.1] * 8, [0.1] * 7 + [-0.1]),
    ],
)
def test_each_run_rule_fires_on_its_pattern_only(rule: str, pattern: list[float], quiet: list[float]) -> None:
    assert _fires(pattern, rule)
    assert not _fires(quiet, rule)


def test_rule_groups_expand() -> None:
    assert spc.expand_rules(["nelson"]) == spc.NELSON
    assert spc.expand_rules(["western_electric"]) == spc.WESTERN_ELECTRIC
    with pytest.raises(ValueError):
        spc.expand_rules(["nelson9"])


def test_ewma_and_cusum_detect_a_small_sustained_shift_that_3_sigma_misses() -> None:
    rng = random.Random(3)
    values = [rng.gauss(0, 1) for _ in range(20)] + [rng.gauss(1.0, 1) for _ in range(40)]
    assert not any(abs(v) > 3 for v in values[20:35])
    e = spc.ewma(values, center=0, sigma=1, lam=0.2, L=3)
    c = spc.cusum(values, center=0, sigma=1, k=0.5, h=5)
    assert not any(p.out for p in e[:20]) and any(p.out for p in e[20:])
    assert not any(p.out for p in c[:20]) and any(p.out for p in c[20:])


def test_capability() -> None:
    rng = random.Random(1)
    values = [rng.gauss(10.0, 0.5) for _ in range(500)]
    cap = spc.capability(values, lsl=7.0, usl=13.0)
    assert cap.cp == pytest.approx(6 / (6 * cap.sigma_within))
    assert cap.cp == pytest.approx(2.0, rel=0.1)
    assert cap.cpk <= cap.cp
    one_sided = spc.capability(values, lsl=None, usl=13.0)
    assert math.isnan(one_sided.cp) and one_sided.cpk == pytest.approx((13 - cap.mean) / (3 * cap.sigma_within))


def test_monitor_freezes_baseline_limits_and_reports_hits() -> None:
    mon = spc.SpcMonitor(signal="t", baseline=20, rules=("nelson1",), ewma_lambda=None, cusum_k=None)
    rng = random.Random(2)
    for i in range(20):
        assert mon.update(240 + rng.gauss(0, 0.5), ts=i) == []
    assert mon.ready
    assert mon.update(240.1, ts=21) == []
    hits = mon.update(260, ts=22)
    assert [h.key for h in hits] == ["t/nelson1"]
    summary = mon.summary()
    assert summary.n == 22 and summary.violations == {"nelson1": 1}


def test_xbar_r_monitor_flags_a_range_excursion() -> None:
    mon = spc.SpcMonitor(
        signal="d", chart="xbar_r", subgroup=4, baseline=5, rules=("nelson1",), ewma_lambda=None, cusum_k=None
    )
    rng = random.Random(4)
    for _ in range(5 * 4):
        mon.update(rng.gauss(5, 0.1), ts=0)
    hits = []
    for v in (5.0, 6.0, 4.0, 5.0):
        hits += mon.update(v, ts=1)
    assert "d/range" in {h.key for h in hits}


def test_chart_svg_and_png() -> None:
    lim = spc.individuals_limits([1.0, 1.2, 0.9, 1.1, 1.0])
    svg = spc.chart_svg([1.0, 1.1, 2.5], lim, title="weld <temp>", violations=[2])
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert svg.count("<circle") == 3 and "#e74c3c" in svg and "weld &lt;temp&gt;" in svg
    png = spc.chart_png([1.0, 1.1, 2.5], lim, title="weld", violations=[2])
    assert png.startswith(b"\x89PNG")
