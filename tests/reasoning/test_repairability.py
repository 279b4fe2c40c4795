"""Repairability: the EU class (Regulation (EU) 2023/1669 Annex IV point 5) and the
French index, with worked examples computed by hand from the formula.

    R = 0.25 S_DD + 0.15 S_F + 0.15 S_T + 0.15 S_SP + 0.15 S_SU + 0.15 S_RI
    part weights: battery 0.30, display 0.30, back cover 0.10, six more parts 0.05 each
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import XSD

from qualitas.demo import demo_graph
from qualitas.ontology import Q, mint
from qualitas.reasoning.gap import gap_report
from qualitas.reasoning.repairability import (
    PART_WEIGHTS,
    PartInput,
    disassembly_depth_score,
    eu_repairability,
    french_repairability,
    repairability,
)
from qualitas.store import GraphStore

PHONE = mint("product", "QP-6")


def _uniform(steps: int, fastener: str, tool: str) -> dict[str, list[PartInput]]:
    return {p: [PartInput(p, steps, fastener, tool)] for p in PART_WEIGHTS}


def test_part_weights_sum_to_one() -> None:
    assert sum(PART_WEIGHTS.values()) == Decimal(1)


@pytest.mark.parametrize(("steps", "score"), [(1, 5), (2, 5), (3, 4), (5, 4), (6, 3), (10, 3), (11, 2), (15, 2),
                                               (16, 1), (40, 1)])
def test_disassembly_depth_bands(steps: int, score: int) -> None:
    assert disassembly_depth_score(steps) == score


def test_demo_phone_worked_example() -> None:
    # Parts (steps -> S_DD, fastener -> S_F, tool -> S_T):
    #   battery 4 -> 4, resupplied 3, basic 4          display 8 -> 3, reusable 5, basic 4
    #   back cover 2 -> 5, reusable 5, none 5          front camera 12 -> 2, removable 1, with product 2
    #   rear camera 10 -> 3, reusable 5, basic 4       charging port 16 -> 1, resupplied 3, commercial 1
    #   button 14 -> 2, removable 1, basic 4           microphone 5 -> 4, reusable 5, basic 4
    #   speaker 6 -> 3, reusable 5, with spare part 3
    # S_DD = .3*4 + .3*3 + .1*5 + .05*(2+3+1+2+4+3) = 1.2 + .9 + .5 + .75 = 3.35
    # S_F  = .3*3 + .3*5 + .1*5 + .05*(1+5+3+1+5+5) = .9 + 1.5 + .5 + 1.0 = 3.90
    # S_T  = .3*4 + .3*4 + .1*5 + .05*(2+4+1+4+4+3) = 1.2 + 1.2 + .5 + .9 = 3.80
    # S_SP = 4 (declared), S_SU = 3 (6 years), S_RI = 4 (declared)
    # R = .25*3.35 + .15*(3.9 + 3.8 + 4 + 3 + 4) = .8375 + 2.805 = 3.6425 -> class B (3.35 <= R < 4.00)
    r = repairability(demo_graph(), PHONE).eu
    assert {p.symbol: p.score for p in r.parameters} == {
        "S_DD": Decimal("3.35"), "S_F": Decimal("3.90"), "S_T": Decimal("3.80"), "S_SP": 4, "S_SU": 3, "S_RI": 4,
    }
    assert r.index == Decimal("3.6425") and r.index_display == "3.64"
    assert r.repairability_class == "B" and r.missing == ()
    assert {p.part: (p.disassembly_score, p.fastener_score, p.tool_score) for p in r.parts}["front_camera"] == (2, 1, 2)


def test_class_boundaries() -> None:
    # 3-5 steps (4), reusable (5), basic tools (4), S_SP 4, 6 years (3), S_RI 4:
    # R = .25*4 + .15*(5 + 4 + 4 + 3 + 4) = 1.00 + 3.00 = 4.00 -> A (the bound is inclusive)
    at_a = eu_repairability(_uniform(4, "reusable", "basic"), software_update_years=Decimal(6),
                            spare_parts_score=4, repair_information_score=4)
    assert (at_a.index, at_a.repairability_class) == (Decimal("4.00"), "A")
    # One point less on repair information: R = 1.00 + .15*19 = 3.85 -> B
    below = eu_repairability(_uniform(4, "reusable", "basic"), software_update_years=Decimal(6),
                             spare_parts_score=4, repair_information_score=3)
    assert (below.index, below.repairability_class) == (Decimal("3.85"), "B")
    # Everything at its worst: every score 1, R = .25 + .15*5 = 1.00 -> E
    worst = eu_repairability(_uniform(20, "removable", "commercially_available"), software_update_years=Decimal(5),
                             spare_parts_score=1, repair_information_score=1)
    assert (worst.index, worst.repairability_class) == (Decimal("1.00"), "E")
    # 11-15 steps (2), resupplied (3), tool with the product (2), S_SP 3, 5 years (1), S_RI 2:
    # R = .25*2 + .15*(3 + 2 + 3 + 1 + 2) = .50 + 1.65 = 2.15 -> D (1.75 <= R < 2.55)
    d = eu_repairability(_uniform(12, "resupplied", "supplied_with_product"), software_update_years=Decimal(5),
                         spare_parts_score=3, repair_information_score=2)
    assert (d.index, d.repairability_class) == (Decimal("2.15"), "D")


def test_absent_part_scores_highest_and_repeated_part_its_lowest() -> None:
    parts = _uniform(12, "resupplied", "supplied_with_product")
    parts["mechanical_button"] = [PartInput("mechanical_button", present=False)]
    parts["rear_camera"] = [PartInput("rear_camera", 12, "resupplied", "supplied_with_product"),
                            PartInput("rear_camera", 20, "removable", "commercially_available")]
    r = eu_repairability(parts, software_update_years=Decimal(5), spare_parts_score=3, repair_information_score=2)
    by_part = {p.part: p for p in r.parts}
    assert (by_part["mechanical_button"].disassembly_score, by_part["mechanical_button"].present) == (5, False)
    assert (by_part["rear_camera"].steps, by_part["rear_camera"].tool_score) == (20, 1)
    # S_DD = 2 - .05*1 (camera 2 -> 1) + .05*3 (button 2 -> 5) = 2.10
    # S_F  = 3 - .05*2 (camera 3 -> 1) + .05*2 (button 3 -> 5) = 3.00
    # S_T  = 2 - .05*1 (camera 2 -> 1) + .05*3 (button 2 -> 5) = 2.10
    # R = .25*2.10 + .15*(3 + 2.1 + 3 + 1 + 2) = .525 + 1.665 = 2.19 -> D
    assert {p.symbol: p.score for p in r.parameters}["S_DD"] == Decimal("2.10")
    assert (r.index, r.repairability_class) == (Decimal("2.19"), "D")


def test_missing_data_is_listed_and_leaves_the_class_open() -> None:
    g = demo_graph()
    g.remove((PHONE, Q.softwareUpdateYears, None))
    speaker = mint("product", "QP-6", "repair", "speaker")
    g.remove((PHONE, Q.hasPriorityPartRepair, speaker))
    g.remove((mint("product", "QP-6", "repair", "battery"), Q.toolType, None))
    r = repairability(g, PHONE)
    assert r.eu.index is None and r.eu.repairability_class is None
    assert set(r.eu.missing) == {"speaker: no repair data", "battery: tool type", "software update years"}
    scores = {p.symbol: p.score for p in r.eu.parameters}
    assert scores["S_DD"] is None and scores["S_T"] is None and scores["S_SU"] is None
    assert scores["S_SP"] == 4  # what is known is still shown


def test_french_index_worked_example() -> None:
    # 16 + 13.5 + 15 + 9 + 14 = 67.5 points of 100 -> 6.75 / 10, shown 6.8, light green (6 to 7.9)
    fr = repairability(demo_graph(), PHONE).french
    assert (fr.index, fr.index_display, fr.band) == (Decimal("6.75"), "6.8", "light_green")
    assert not fr.applies and "2025-06-20" in fr.status
    partial = french_repairability({"documentation": Decimal(20)})
    assert partial.index is None and len(partial.missing) == 4


def test_gap_report_carries_repairability_for_smartphones(demo_store: GraphStore) -> None:
    r = gap_report(demo_store, "QP-6", "EU", on=dt.date(2026, 11, 26))
    assert r.repairability is not None
    assert (r.repairability.eu.repairability_class, r.repairability.eu.index) == ("B", Decimal("3.6425"))
    assert not any("repairability" in item for item in r.summary.not_checkable_items)
    assert gap_report(demo_store, "CC-T2-32A", "EU", on=dt.date(2025, 6, 1)).repairability is None


def test_gap_report_lists_missing_repairability_data() -> None:
    from qualitas.store import open_store

    g: Graph = demo_graph()
    g.remove((PHONE, Q.repairInformationScore, None))
    g.add((PHONE, Q.sparePartsScore, Literal(7, datatype=XSD.integer)))
    g.remove((PHONE, Q.sparePartsScore, Literal(4, datatype=XSD.integer)))
    store = open_store(None)
    try:
        store.load_triples(g, source="demo", sha256="x" * 64, agent="pytest", format="generated")
        r = gap_report(store, "QP-6", "EU", on=dt.date(2026, 11, 26))
    finally:
        store.close()
    assert r.repairability is not None and r.repairability.eu.repairability_class is None
    items = [i for i in r.summary.not_checkable_items if "repairability" in i]
    assert any("repair information score" in i for i in items)
    assert any("spare parts score (7 is outside 1-5)" in i for i in items)
