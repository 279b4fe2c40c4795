"""Gap reports on the demo data: acceptance criteria of issue 5."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import warnings
from collections.abc import Callable, Iterator

import pytest
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS

from qualitas.demo import demo_graph
from qualitas.ontology import ONTOLOGY_FILE, Q, mint
from qualitas.reasoning.gap import GapReport, gap_report
from qualitas.regulations import applicable_regulations, default_catalog
from qualitas.store import GraphStore, open_store

ON = dt.date(2025, 6, 1)
_CACHE: dict[tuple[str, str], GapReport] = {}


@pytest.fixture
def report(demo_store: GraphStore) -> Callable[[str, str], GapReport]:
    def get(product: str, market: str) -> GapReport:
        key = (product, market)
        if key not in _CACHE:
            _CACHE[key] = gap_report(demo_store, product, market, on=ON)
        return _CACHE[key]

    return get


def test_cover_eu_names_material_mismatch_with_test_report(report: Callable[[str, str], GapReport]) -> None:
    r = report("CPC-200", "EU")
    [f] = [f for f in r.findings if f.kind == "material_mismatch"]
    assert (f.offending, f.expected) == ("PBT+GF25", "PBT+GF30")
    assert f.regulation_id == "int-iatf-16949-2016" and f.clause == "8.6.4"
    assert "CTI-NB-NPP-24-0913" in {e.label for e in f.evidence}
    assert any(e.kind == "TestReport" for e in f.evidence)
    assert f.remediation.owner == "supplier"
    assert "PBT+GF25" in f.message_en and "PBT+GF25" in f.message_zh and "检测报告" in f.message_zh


def test_cover_eu_names_outdated_parameter_set(report: Callable[[str, str], GapReport]) -> None:
    r = report("CPC-200", "EU")
    [f] = [f for f in r.findings if f.kind == "parameter_set_outdated"]
    assert (f.offending, f.expected, f.subject_label) == ("v1", "v2", "IM-240917-07")
    assert f.remediation.owner == "engineering"
    assert [r.parameter_set_used for r in r.as_built.runs if r.run_id == "IM-240917-07"] == ["v1"]


def test_cover_eu_names_every_missing_eu_document(report: Callable[[str, str], GapReport]) -> None:
    r = report("CPC-200", "EU")
    catalog = default_catalog().by_id
    on_file = {"imds_material_data", "svhc_declaration"}
    expected = {
        (a.id, doc) for a in r.applicable for doc in catalog[a.id].required_documents if doc not in on_file
    }
    found = {(f.regulation_id, f.expected) for f in r.findings if f.kind == "missing_document"}
    assert found == expected and found
    assert all(f.remediation.owner == "compliance" for f in r.findings if f.kind == "missing_document")


def test_cover_cn_produces_china_rohs_table(report: Callable[[str, str], GapReport]) -> None:
    table = report("CPC-200", "CN").screening.china_rohs
    assert table is not None
    assert [c.symbol for c in table.columns] == ["Pb", "Hg", "Cd", "Cr(VI)", "PBB", "PBDE"]
    rows = {row.part_number: row.marks for row in table.rows}
    # SJ/T 11364 allows O or X only; O needs evidence. The clip's declaration covers
    # PBT+GF30 but its lot tested PBT+GF25, and the flap has no declaration: both X.
    assert rows["CLIP-7731"] == ("X",) * 6
    assert rows["FLAP-2001"] == ("X",) * 6
    assert {m for row in table.rows for m in row.marks} <= {"O", "X"}
    assert any("FLAP-2001" in item for item in report("CPC-200", "CN").summary.not_checkable_items)


def test_cable_cn_table_marks_lead_in_brass(report: Callable[[str, str], GapReport]) -> None:
    table = report("CC-T2-32A", "CN").screening.china_rohs
    assert table is not None and table.required
    assert {row.part_number: row.marks[0] for row in table.rows} == {"CBL-5G6": "O", "CNT-T2": "X", "PLG-T2": "O"}


def test_battery_eu_names_expired_calibration(report: Callable[[str, str], GapReport]) -> None:
    r = report("BP-75", "EU")
    [f] = [f for f in r.findings if f.kind == "calibration_invalid"]
    assert f.severity == "critical" and f.subject_label == "FM-240802-12"
    assert "CAL-FC12-2023" in f.offending and "2024-06-30" in f.offending
    assert {"FC-12", "CAL-FC12-2023"} <= {e.label for e in f.evidence}
    assert "FC-12" in f.message_zh and "校准" in f.message_zh


def test_healthy_cable_conforms_in_eu(report: Callable[[str, str], GapReport]) -> None:
    r = report("CC-T2-32A", "EU")
    assert r.conforms and r.validation_conforms and r.findings == ()
    assert r.summary.violated == 0 and r.summary.passed == r.summary.checked > 20
    assert [h.verdict for h in r.screening.rohs if h.part_number == "CNT-T2" and h.cas == "7439-92-1"] == ["exempt"]
    assert {h.part_number for h in r.screening.svhc if h.above_threshold} == {"CBL-5G6", "CNT-T2"}


def test_summary_lists_not_checkable(report: Callable[[str, str], GapReport]) -> None:
    r = report("CPC-200", "CN")
    assert r.summary.checked == r.summary.passed + r.summary.violated + sum(
        c.status == "not_checkable" for c in r.requirements)
    assert r.summary.not_checkable == len(r.summary.not_checkable_items) > 0


def test_validation_report_is_pyshacls_own(report: Callable[[str, str], GapReport]) -> None:
    # CPC-200 in CN: violations of curated, generated and SHACL-SPARQL shapes; the cable: a conforming report.
    for key in (("CPC-200", "CN"), ("CC-T2-32A", "EU")):
        r = report(*key)
        ours = Graph().parse(data=r.validation_report_ttl, format="turtle")
        _, theirs, _ = validate(r.data_graph, shacl_graph=r.shapes_graph, inference="none", allow_warnings=True)
        assert isinstance(theirs, Graph)
        assert isomorphic(ours, theirs)
        with warnings.catch_warnings():  # rdflib's JSON-LD parser uses its deprecated ConjunctiveGraph
            warnings.simplefilter("ignore", DeprecationWarning)
            from_jsonld = Graph().parse(data=r.validation_report_jsonld, format="json-ld")
        assert isomorphic(from_jsonld, theirs)
        assert json.loads(r.validation_report_jsonld)


def test_focus_subgraph_excludes_other_products(report: Callable[[str, str], GapReport]) -> None:
    data = report("CC-T2-32A", "EU").data_graph
    assert (mint("lot", "NPP-24-0913"), None, None) not in data
    assert set(data.subjects(predicate=None, object=Q.Product)) <= {mint("product", "CC-T2-32A")}


# ---------------------------------------------------------------- one fact at a time


def _cable_store(change: Callable[[Graph], None]) -> Iterator[GraphStore]:
    graph = demo_graph()
    change(graph)
    store = open_store(None)
    store.load_file(ONTOLOGY_FILE, format="turtle", source="ontology", agent="pytest")
    sha = hashlib.sha256(graph.serialize(format="nt").encode()).hexdigest()
    store.load_triples(graph, source="demo", sha256=sha, agent="pytest", format="generated")
    yield store
    store.close()


def _drop_doc(number: str) -> Callable[[Graph], None]:
    return lambda g: g.remove((mint("document", number), None, None))


def _retype_report(g: Graph) -> None:
    doc = mint("testreport", "RKB-TR-24-8812")
    g.remove((doc, Q.reportedMaterial, None))
    g.add((doc, Q.reportedMaterial, mint("material", "PA6-V0")))


def _drop_exemption(g: Graph) -> None:
    g.remove((None, Q.claimsExemption, None))


def _drop_marking(g: Graph) -> None:
    g.remove((mint("product", "CC-T2-32A"), Q.marking, Literal("crossed_out_wheeled_bin")))


def _expire_calibration(g: Graph) -> None:
    cert = mint("calibration", "CAL-CA03-2024")
    g.set((cert, Q.validUntil, Literal("2024-09-30", datatype=URIRef("http://www.w3.org/2001/XMLSchema#date"))))


def _outdated_paramset(g: Graph) -> None:
    run = mint("run", "CA-241001-03")
    g.set((run, Q.usedParameterSet, mint("paramset", "CC-S10", "v1")))
    ps = mint("paramset", "CC-S10", "v1")
    g.add((ps, Q.forStep, mint("step", "CC-S10")))
    g.add((ps, Q.version, Literal("v1")))
    g.add((ps, Q.effectiveFrom, Literal("2024-01-01T00:00:00+00:00",
                                         datatype=URIRef("http://www.w3.org/2001/XMLSchema#dateTime"))))
    g.set((mint("paramset", "CC-S10", "v2"), Q.effectiveFrom, Literal(
        "2024-06-01T00:00:00+00:00", datatype=URIRef("http://www.w3.org/2001/XMLSchema#dateTime"))))
    g.add((ps, Q.effectiveUntil, Literal("2024-06-01T00:00:00+00:00",
                                          datatype=URIRef("http://www.w3.org/2001/XMLSchema#dateTime"))))


BREAKS = {
    "no technical file": (_drop_doc("TF-CC-T2-32A"), "missing_document", "technical_documentation"),
    "no WEEE bin": (_drop_marking, "missing_marking", "crossed_out_wheeled_bin"),
    "no Art. 33 communication": (_drop_doc("ART33-CBL-5G6"), "svhc_communication",
                                 "REACH Art. 33 communication for the article"),
    "wrong jacket material": (_retype_report, "material_mismatch", "TPE-V0"),
    "lead without exemption": (_drop_exemption, "substance_limit", "≤ 0.1 % w/w or a valid exemption"),
    "calibration expired": (_expire_calibration, "calibration_invalid", "calibration valid on 2024-10-01"),
    "old parameter set": (_outdated_paramset, "parameter_set_outdated", "v2"),
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_breaking_one_fact_shows_exactly_its_finding(name: str) -> None:
    change, kind, expected = BREAKS[name]
    for store in _cable_store(change):
        r = gap_report(store, "CC-T2-32A", "EU", on=ON)
        assert not r.conforms
        assert {(f.kind, f.expected) for f in r.findings} == {(kind, expected)}, [f.message_en for f in r.findings]


def test_applicability_drives_shapes(demo_store: GraphStore) -> None:
    ids = applicable_regulations(demo_store, "CC-T2-32A", "EU", on=ON).ids
    r = gap_report(demo_store, "CC-T2-32A", "US", on=ON)
    assert {c.regulation_id for c in r.requirements}.isdisjoint(ids - {a.id for a in r.applicable})
    assert all(doc.startswith("http") for doc in (str(DCTERMS.type),))
