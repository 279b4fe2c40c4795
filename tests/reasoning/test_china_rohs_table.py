"""The SJ/T 11364-2014 hazardous substance table from evidence (issue 13).

SJ/T 11364-2014 clause 5.2 marks each hazardous substance of each component O (below
the GB/T 26572 limit in all its homogeneous materials) or X (above in at least one):
"?" is not a mark. Parts come from the BOM, marks from declarations and, where they
contradict the declaration, from the as-built test reports; what is missing becomes a
finding (which keeps every document of the pack a draft), never a "?".
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator

import pytest
from rdflib import Graph
from rdflib import Literal as RdfLiteral

from qualitas.demo import demo_graph
from qualitas.ontology import ONTOLOGY_FILE, Q, mint
from qualitas.ontology.builder import Builder
from qualitas.reasoning.gap import LANGUAGES, GapReport, gap_report
from qualitas.store import GraphStore, open_store

ON = dt.date(2025, 6, 1)


def _store(change: Callable[[Graph], None]) -> Iterator[GraphStore]:
    graph = demo_graph()
    change(graph)
    store = open_store(None)
    store.load_file(ONTOLOGY_FILE, format="turtle", source="ontology", agent="pytest")
    sha = hashlib.sha256(graph.serialize(format="nt").encode()).hexdigest()
    store.load_triples(graph, source="demo", sha256=sha, agent="pytest", format="generated")
    yield store
    store.close()


def _drop_zh_name(part: str) -> Callable[[Graph], None]:
    def change(g: Graph) -> None:
        for name in list(g.objects(mint("part", part), Q.name)):
            if isinstance(name, RdfLiteral) and (name.language or "").startswith("zh"):
                g.remove((mint("part", part), Q.name, name))

    return change


def _lead_free_lot(g: Graph) -> None:
    """A contact lot whose test report found another brass than the declared CuZn39Pb3."""
    b = Builder(g.add)
    b.material("CuZn21Si3P", "Lead-free silicon brass")
    b.lot("VNC-24-1107", "CNT-T2", supplier="SUP-VNC", quantity=5000)
    b.test_report("VNC-LAB-24-1107", lot="VNC-24-1107", issuer="Saigon Connector QC laboratory",
                  issued=dt.date(2024, 11, 7), material="CuZn21Si3P", supplier="SUP-VNC")


@pytest.fixture(scope="module")
def cover_cn(demo_store: GraphStore) -> GapReport:
    return gap_report(demo_store, "CPC-200", "CN", on=ON)


@pytest.fixture(scope="module")
def changed_cable_cn() -> Iterator[GapReport]:
    def change(g: Graph) -> None:
        _lead_free_lot(g)
        _drop_zh_name("PLG-T2")(g)

    for store in _store(change):
        yield gap_report(store, "CC-T2-32A", "CN", on=ON)


def test_marks_are_o_or_x_only(cover_cn: GapReport, demo_store: GraphStore) -> None:
    for r in (cover_cn, gap_report(demo_store, "CC-T2-32A", "CN", on=ON)):
        table = r.screening.china_rohs
        assert table is not None and table.rows
        assert {m for row in table.rows for m in row.marks} <= {"O", "X"}


def test_raw_resin_is_not_a_component_row(cover_cn: GapReport) -> None:
    # RES-PA66GF30 is moulded into the flap (a BOM line in kg): its material is the flap's.
    table = cover_cn.screening.china_rohs
    assert table is not None
    assert {row.part_number for row in table.rows} == {"CLIP-7731", "FLAP-2001", "SEAL-1202", "SPR-0045"}


def test_clip_declared_gf30_but_tested_gf25_is_x_not_o(cover_cn: GapReport) -> None:
    table = cover_cn.screening.china_rohs
    assert table is not None
    clip = next(row for row in table.rows if row.part_number == "CLIP-7731")
    assert clip.marks == ("X",) * 6 and set(clip.unverified) == {c.symbol for c in table.columns}
    [gap] = [g for g in table.gaps if g.part_number == "CLIP-7731" and g.kind == "contradicted"]
    assert (gap.material, gap.tested, gap.declaration, gap.report) == (
        "PBT+GF30", "PBT+GF25", "NPP-IPC1752-7731", "CTI-NB-NPP-24-0913")
    # The lot that tested GF30, as declared, raises nothing.
    assert not [g for g in table.gaps if g.lot == "NPP-24-1001"]
    flap = next(g for g in table.gaps if g.part_number == "FLAP-2001")
    assert (flap.kind, flap.material) == ("no_evidence", "PA66+GF30")


def test_rows_carry_chinese_component_names(cover_cn: GapReport) -> None:
    table = cover_cn.screening.china_rohs
    assert table is not None
    for row in table.rows:
        assert row.part_name is None or any("\u4e00" <= ch <= "\u9fff" for ch in row.part_name), row


def test_healthy_cable_table_is_stated_from_evidence(demo_store: GraphStore) -> None:
    r = gap_report(demo_store, "CC-T2-32A", "CN", on=ON)
    table = r.screening.china_rohs
    assert table is not None and table.required
    assert {row.part_number: row.marks[0] for row in table.rows} == {"CBL-5G6": "O", "CNT-T2": "X", "PLG-T2": "O"}
    assert not any(row.unverified for row in table.rows)
    assert not [f for f in r.findings if f.kind == "china_rohs_data"]


def test_contradicting_test_report_and_missing_chinese_name_are_findings(changed_cable_cn: GapReport) -> None:
    r = changed_cable_cn
    table = r.screening.china_rohs
    assert table is not None
    rows = {row.part_number: row for row in table.rows}
    assert rows["CNT-T2"].marks == ("X",) * 6  # lead is measured X; the others are unverified for CuZn21Si3P
    assert rows["PLG-T2"].part_name is None  # the row shows the part number, and a finding says why
    found = {(f.subject_label, f.regulation_id) for f in r.findings if f.kind == "china_rohs_data"}
    assert ("CNT-T2", "cn-sj-t-11364-2014") in found and ("PLG-T2", "cn-sj-t-11364-2014") in found
    assert not r.conforms  # a finding keeps the pack a draft
    contradicted = next(f for f in r.findings if f.kind == "china_rohs_data" and f.subject_label == "CNT-T2")
    assert "CuZn21Si3P" in contradicted.message("en") and "VNC-LAB-24-1107" in contradicted.message("zh")
    assert "VNC-LAB-24-1107" in {e.label for e in contradicted.evidence}
    name = next(f for f in r.findings if f.kind == "china_rohs_data" and f.subject_label == "PLG-T2")
    assert "中文部件名称" in name.message("zh") and "chinesische" in name.message("de")
    for f in (contradicted, name):
        assert all(f.message(lang) and f.remediation.action(lang) for lang in LANGUAGES)
        assert f.untranslated == ()
