"""Each chart rendered as SVG, PNG and PDF and the files checked: valid, the marks where
the statistics say, the counts right. The PNGs are kept in test-artifacts/charts/."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from qualitas.edge_adapters import spc
from qualitas.errors import InputError
from qualitas.ontology.builder import Builder
from qualitas.store import open_store
from qualitas.workbench import charts

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "charts"
SVG = "{http://www.w3.org/2000/svg}"


def _series() -> list[float]:
    rng = random.Random(18)
    values = [40.0 + rng.gauss(0, 0.5) for _ in range(30)]
    values += [42.2, 40.1]  # one point far above 3 sigma at index 30
    values += [40.6 + rng.gauss(0, 0.2) for _ in range(13)]  # a sustained shift up: runs, EWMA, CUSUM
    return values


def _check(chart: charts.Chart, name: str) -> ET.Element:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    svg = chart.render("svg")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert b"style=" not in svg and b"<style" not in svg, "inline CSS would be dropped under the explorer's CSP"
    png = chart.render("png")
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.format == "PNG" and image.size[0] > 400 and image.size[1] > 200
    (ARTIFACTS / f"{name}.png").write_bytes(png)
    pdf = chart.render("pdf")
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    return root


def _ids(root: ET.Element, prefix: str) -> list[str]:
    return sorted((el.get("id") or "") for el in root.iter() if (el.get("id") or "").startswith(prefix))


def test_individuals_chart_marks_exactly_the_points_the_rules_flag() -> None:
    values = _series()
    chart = charts.spc_chart(values, chart="individuals", title="Formation temperature", unit="°C", baseline=30)
    root = _check(chart, "spc-individuals")
    lim = spc.individuals_limits(values[:30])
    expected = {v.index for v in spc.run_rule_violations(values, center=lim.center, sigma=lim.sigma)}
    assert 30 in expected and 0 not in expected
    assert _ids(root, "violation-") == sorted(f"violation-x-{i}" for i in expected)
    assert {"ucl", "cl", "lcl", "points"} <= set(_ids(root, ""))
    text = "".join(root.itertext())
    assert f"UCL {lim.ucl:.4g}" in text and f"LCL {lim.lcl:.4g}" in text
    assert "N1 one point beyond 3 sigma" in text


def test_in_control_series_marks_nothing() -> None:
    rng = random.Random(1)
    values = [10 + rng.gauss(0, 0.1) for _ in range(20)]
    chart = charts.spc_chart(values, chart="individuals", rules=["we1"], center=10.0, sigma=0.1)
    assert chart.marks == ()
    assert _ids(_check(chart, "spc-in-control"), "violation-") == []


def test_xbar_r_ewma_and_cusum_charts() -> None:
    values = _series()
    xbar = charts.spc_chart(values, chart="xbar_r", subgroup=5, baseline=6)
    groups = [values[i : i + 5] for i in range(0, 45, 5)]
    lim = spc.xbar_r_limits(groups[:6])
    means = [sum(g) / 5 for g in groups]
    expected = {v.index for v in spc.run_rule_violations(means, center=lim.center, sigma=lim.sigma)}
    root = _check(xbar, "spc-xbar-r")
    assert {m.index for m in xbar.marks if m.panel == "x"} == expected and expected
    assert set(_ids(root, "violation-x-")) == {f"violation-x-{i}" for i in expected}

    ind = spc.individuals_limits(values[:30])
    ewma = charts.spc_chart(values, chart="ewma", baseline=30)
    out = [i for i, p in enumerate(spc.ewma(values, center=ind.center, sigma=ind.sigma)) if p.out]
    assert _ids(_check(ewma, "spc-ewma"), "violation-") == sorted(f"violation-ewma-{i}" for i in out)
    assert out and min(out) >= 30

    cusum = charts.spc_chart(values, chart="cusum", baseline=30)
    out = [i for i, p in enumerate(spc.cusum(values, center=ind.center, sigma=ind.sigma)) if p.out]
    assert _ids(_check(cusum, "spc-cusum"), "violation-") == sorted(f"violation-cusum-{i}" for i in out)
    assert out and min(out) >= 30


def test_pareto_of_complaints_and_defects_from_the_graph(tmp_path: Path) -> None:
    from rdflib import Graph

    graph = Graph()
    b = Builder(graph.add)
    b.failure_mode("FM-ODOUR", "Odour in cabin", "车内异味")
    b.failure_mode("FM-RATTLE", "Rattle", "异响")
    for i in range(3):
        b.complaint(
            f"C-{i}",
            serial=f"S{i}",
            received=dt.date(2025, 1, 1 + i),
            channel="dealer",
            market="EU",
            texts={"en": "smell"},
            failure_mode="FM-ODOUR",
        )
    b.complaint(
        "C-9",
        serial="S9",
        received=dt.date(2025, 2, 1),
        channel="dealer",
        market="EU",
        texts={"en": "rattle"},
        failure_mode="FM-RATTLE",
    )
    source = tmp_path / "fm.ttl"
    graph.serialize(source, format="turtle")
    store = open_store(tmp_path / "store")
    try:
        store.load_file(source, agent="tests")
        from qualitas.chat._inbound import AnomalyReport, record_anomaly

        for n in range(2):  # two anomalies raised at the line name the odour mode: defects
            record_anomaly(
                store, AnomalyReport("slack", f"m{n}", "smell", "li", 1.7e9, failure_mode="FM-ODOUR"), audit=None
            )
        bars = charts.failure_mode_counts(store)
    finally:
        store.close()
    assert [(b.label, b.complaints, b.defects) for b in bars] == [
        ("FM-ODOUR Odour in cabin", 3, 2),
        ("FM-RATTLE Rattle", 1, 0),
    ]
    chart = charts.pareto_chart(bars)
    root = _check(chart, "pareto")
    assert _ids(root, "bar-") == ["bar-0", "bar-0-defects", "bar-1", "bar-1-defects"]
    assert chart.facts["cumulative"] == [pytest.approx(500 / 6), 100.0]
    assert "Pareto: Failure modes (n=6)" in "".join(root.itertext())


def test_ishikawa_and_five_why() -> None:
    fish = charts.ishikawa_chart(
        "Cabin air smells",
        {
            "Machine": ["FC-12 calibration expired"],
            "Method": ["parameter set v1 used", "no formation hold"],
            "Material": ["cell lot CL-240802-A"],
            "Measurement": ["thermocouple read low"],
        },
    )
    root = _check(fish, "ishikawa")
    assert _ids(root, "bone-") == ["bone-0", "bone-1", "bone-2", "bone-3"]
    assert len(_ids(root, "cause-")) == 5
    assert "FC-12 calibration expired" in "".join(root.itertext())

    why = charts.five_why_chart(
        "Cabin air smells",
        [
            {
                "text": "Cell vented electrolyte",
                "children": [
                    {"text": "Formation ran hot", "children": ["FC-12 read low: calibration expired"]},
                    {"text": "Seal weak", "children": [{"text": "Supplier changed the gasket", "root_cause": True}]},
                ],
            },
        ],
    )
    root = _check(why, "five-why")
    assert why.facts == {"nodes": 5, "root_causes": 2, "depth": 3}
    assert sorted(i for i in _ids(root, "why-") if i.endswith("-root")) == ["why-0-0-0-0-root", "why-0-0-1-0-root"]
    chain = charts.five_why_chart("Rattle", ["clip loose", "clip brittle", "PBT+GF25 instead of GF30"])
    assert chain.facts == {"nodes": 3, "root_causes": 1, "depth": 3}


def test_fmea_risk_matrix_colours_by_action_priority() -> None:
    from qualitas.workbench.ap import action_priority

    items = [
        {"label": "overheat", "s": 9, "o": 4, "d": 6},
        {"label": "odour", "s": 6, "o": 3, "d": 5},
        {"label": "rattle", "s": 4, "o": 2, "d": 3, "ap": "L"},
        {"label": "same cell", "s": 9, "o": 4, "d": 2},
    ]
    chart = charts.fmea_risk_matrix(items, ap_of=action_priority)
    root = _check(chart, "fmea-risk-matrix")
    assert _ids(root, "risk-") == ["risk-0", "risk-1", "risk-2", "risk-3"]
    expected = {"H": 0, "M": 0, "L": 0, "?": 0}
    for item in items:
        expected[item.get("ap") or action_priority(item["s"], item["o"], item["d"])] += 1  # type: ignore[arg-type]
    assert chart.facts["ap"] == expected
    fills = {el.get("id"): el for el in root.iter() if re.match(r"risk-\d$", el.get("id") or "")}
    assert len(fills) == 4
    with pytest.raises(InputError, match=r"severity must be 1\.\.10"):
        charts.fmea_risk_matrix([{"label": "x", "s": 11, "o": 1, "d": 1}])
