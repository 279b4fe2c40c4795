"""GraphQL ``gapReport`` through the merged schema."""

from __future__ import annotations

from qualitas.graphql.schema import build_schema
from qualitas.store import GraphStore


def test_gap_report_query(demo_store: GraphStore) -> None:
    result = build_schema().execute_sync(
        """{ gapReport(productId: "BP-75", market: "EU", date: "2025-06-01") {
              conforms summary { checked violated notCheckable }
              findings { kind severity regulationId clause subjectLabel offending expected messageZh
                         remediation { owner } evidence { kind label } }
              validationReportTurtle } }""",
        context_value={"store": demo_store},
    )
    assert result.errors is None, result.errors
    data = result.data["gapReport"]  # type: ignore[index]
    assert data["conforms"] is False
    [cal] = [f for f in data["findings"] if f["kind"] == "calibration_invalid"]
    assert cal["subjectLabel"] == "FM-240802-12" and cal["remediation"]["owner"] == "engineering"
    assert "sh:ValidationReport" in data["validationReportTurtle"]


def test_gap_report_unknown_product(demo_store: GraphStore) -> None:
    result = build_schema().execute_sync(
        '{ gapReport(productId: "NOPE", market: "EU") { conforms } }', context_value={"store": demo_store}
    )
    assert result.errors and result.errors[0].extensions["code"] == "NOT_FOUND"  # type: ignore[index]


def test_gap_report_carries_the_repairability_class(demo_store: GraphStore) -> None:
    result = build_schema().execute_sync(
        """{ gapReport(productId: "QP-6", market: "EU", date: "2026-11-26") {
              repairability { euIndex euClass euMissing eu: euParameters { symbol weight score }
                              frenchApplies frenchIndex } } }""",
        context_value={"store": demo_store},
    )
    assert result.errors is None, result.errors
    rep = result.data["gapReport"]["repairability"]  # type: ignore[index]
    # 0.25 x 3.35 + 0.15 x (3.90 + 3.80 + 4 + 3 + 4) = 3.6425 -> class B (3.35 <= R < 4.00)
    assert rep["euClass"] == "B"
    assert rep["euIndex"].startswith("3.64")
    assert rep["euMissing"] == []
    assert rep["frenchApplies"] is False  # phones left the French index when the EU label applied


def test_no_repairability_for_a_charging_port_cover(demo_store: GraphStore) -> None:
    result = build_schema().execute_sync(
        '{ gapReport(productId: "CPC-200", market: "EU", date: "2026-11-26") { repairability { euClass } } }',
        context_value={"store": demo_store},
    )
    assert result.errors is None, result.errors
    assert result.data["gapReport"]["repairability"] is None  # type: ignore[index]


def test_gap_report_says_route_exclusions_and_findings_in_each_pack_language(demo_store: GraphStore) -> None:
    """The charging cable: CE route under the LVD (its voltage range, Directive 2014/35/EU
    Art. 1) and RoHS; the EMC Directive excludes inherently benign equipment (Art. 2(2)(d));
    every finding reads in the pack languages, never as silent English."""
    result = build_schema().execute_sync(
        """{ gapReport(productId: "CC-T2-32A", market: "EU", date: "2026-12-07") {
              route { code basis declared de: reason(lang: "de") fr: reason(lang: "fr") }
              excluded { regulationId basis zh: reason(lang: "zh") }
              requirements { status zh: message(lang: "zh") } }
            bp: gapReport(productId: "BP-75", market: "EU", date: "2025-06-01") {
              findings { messageEn de: message(lang: "de") vi: message(lang: "vi") untranslated
                         remediation { fr: action(lang: "fr") } } } }""",
        context_value={"store": demo_store},
    )
    assert result.errors is None, result.errors
    data = result.data["gapReport"]  # type: ignore[index]
    route = data["route"]
    assert route["code"] == "eu_ce_marking"
    assert "eu-lvd-2014-35" in route["declared"]
    assert "Konformitätserklärung" in route["de"] and "déclaration UE de conformité" in route["fr"]
    # the acts in the reason are cited in the reason's language, not in English
    assert "Richtlinie 2014/35/EU" in route["de"] and "Directive" not in route["de"]
    assert "Directive 2014/35/UE" in route["fr"]
    emc = next(e for e in data["excluded"] if e["regulationId"] == "eu-emc-2014-30")
    assert emc["basis"].endswith("Art. 2(2)(d)") and "电磁兼容指令" in emc["zh"]
    findings = result.data["bp"]["findings"]  # type: ignore[index]
    assert findings
    for f in findings:
        if not f["untranslated"]:
            assert f["de"] and f["de"] != f["messageEn"] and f["vi"] != f["messageEn"]
        assert f["remediation"]["fr"]
    assert all(r["zh"] for r in data["requirements"])


def test_gap_report_refuses_an_unknown_language(demo_store: GraphStore) -> None:
    result = build_schema().execute_sync(
        '{ gapReport(productId: "CC-T2-32A", market: "EU") { route { reason(lang: "xx") } } }',
        context_value={"store": demo_store},
    )
    assert result.errors and "unknown language 'xx'" in result.errors[0].message
