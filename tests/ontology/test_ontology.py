"""The ontology parses, is consistent (HermiT), stays consistent with the demo data
under the OWL RL closure, and the data-model shapes hold on good data and fail on bad."""

from __future__ import annotations

import shutil
import textwrap

import owlrl
import pyshacl
import pytest
from owlrl.Namespaces import ERRNS as ERR  # where owlrl records inconsistencies
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import SKOS

from qualitas.demo import demo_graph
from qualitas.ontology import ONTOLOGY_FILE, Q, load_ontology, load_shapes
from qualitas.ontology._vocabgen import render

QNS = str(Q)


def test_every_term_has_english_and_chinese_label_and_definition() -> None:
    graph = load_ontology()
    terms = [
        s
        for t in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
        for s in graph.subjects(RDF.type, t)
        if str(s).startswith(QNS)
    ]
    assert len(terms) > 80
    for term in terms:
        for prop in (RDFS.label, SKOS.definition):
            langs = {o.language for o in graph.objects(term, prop) if isinstance(o, Literal)}
            assert {"en", "zh"} <= langs, f"{term} lacks {prop} in en and zh"


def test_issue_classes_exist() -> None:
    graph = load_ontology()
    for name in (
        "Product",
        "ProductCategory",
        "BillOfMaterials",
        "BOMLine",
        "Part",
        "Material",
        "Substance",
        "Supplier",
        "SupplierDeclaration",
        "TestReport",
        "Routing",
        "ProcessStep",
        "ParameterSet",
        "ParameterSpecification",
        "Equipment",
        "CalibrationCertificate",
        "Lot",
        "SerialUnit",
        "ProductionRun",
        "InspectionResult",
        "Complaint",
        "FailureMode",
        "CAPA",
        "Regulation",
        "Requirement",
        "Market",
        "Document",
    ):
        assert (Q[name], RDF.type, OWL.Class) in graph


def test_vocab_module_matches_the_ontology() -> None:
    generated = (ONTOLOGY_FILE.parent / "vocab.py").read_text(encoding="utf-8")
    assert generated == render(), "run: python -m qualitas.ontology._vocabgen"


def test_misspelled_term_fails() -> None:
    assert Q.ProductionRun == URIRef(QNS + "ProductionRun")
    with pytest.raises(AttributeError):
        _ = Q.ProductonRun


# ---------------------------------------------------------------- HermiT (owlready2, Java)

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs Java")


def _hermit(extra_turtle: str = "") -> list[str]:
    """Run HermiT on the ontology (+ extra axioms); return unsatisfiable class IRIs.
    Raises OwlReadyInconsistentOntologyError when inconsistent."""
    import owlready2

    graph = load_ontology()
    if extra_turtle:
        graph.parse(data=extra_turtle, format="turtle")
    world = owlready2.World()
    onto = world.get_ontology("http://test/qualitas.owl")
    onto.load(fileobj=__import__("io").BytesIO(graph.serialize(format="xml").encode()), format="rdfxml")
    with onto:
        # xsd:date (validFrom, receivedOn ...) is outside the OWL 2 datatype map; HermiT
        # can only ignore it: https://www.w3.org/TR/owl2-syntax/#Datatype_Maps
        owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0, ignore_unsupported_datatypes=True)
    return [c.iri for c in world.inconsistent_classes()]


@needs_java
def test_hermit_finds_the_ontology_consistent_and_every_class_satisfiable() -> None:
    assert _hermit() == []


@needs_java
def test_hermit_catches_an_individual_that_is_both_lot_and_serial_unit() -> None:
    import owlready2

    bad = textwrap.dedent(f"""
        @prefix q: <{QNS}> .
        <http://test/x> a q:Lot , q:SerialUnit .
    """)
    with pytest.raises(owlready2.OwlReadyInconsistentOntologyError):
        _hermit(bad)


# ---------------------------------------------------------------- OWL RL closure (owlrl)


def _owlrl_errors(graph: Graph) -> list[str]:
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    errors = [str(o) for s in graph.subjects(RDF.type, ERR.ErrorMessage) for o in graph.objects(s, ERR.error)]
    errors += [str(s) for s in graph.subjects(RDF.type, OWL.Nothing)]
    return errors


def test_owl_rl_closure_of_ontology_and_demo_raises_no_inconsistency() -> None:
    graph = load_ontology() + demo_graph()
    assert _owlrl_errors(graph) == []
    # The closure did infer: runs are PROV activities through the subclass axiom.
    assert (
        URIRef("https://w3id.org/qualitas/id/run/FM-240802-12"),
        RDF.type,
        URIRef("http://www.w3.org/ns/prov#Activity"),
    ) in graph


def test_owl_rl_closure_reports_a_disjointness_violation() -> None:
    graph = load_ontology() + demo_graph()
    clip_lot = URIRef("https://w3id.org/qualitas/id/lot/NPP-24-0913")
    graph.add((clip_lot, RDF.type, Q.SerialUnit))
    assert _owlrl_errors(graph)


# ---------------------------------------------------------------- SHACL shapes of the data model


def _validate(graph: Graph) -> tuple[bool, str]:
    conforms, _, text = pyshacl.validate(graph, shacl_graph=load_shapes(), inference="none")
    return bool(conforms), str(text)


def test_model_shapes_hold_on_the_demo_data() -> None:
    conforms, text = _validate(demo_graph())
    assert conforms, text


ID = "https://w3id.org/qualitas/id/"


def _break_two_equipment(g: Graph) -> None:
    g.add((URIRef(ID + "run/FM-240802-12"), Q.equipment, URIRef(ID + "equipment/PA-LINE-2")))


def _break_certificate_dates(g: Graph) -> None:
    cert = URIRef(ID + "calibration/CAL-IMM07-2024")
    g.remove((cert, Q.validFrom, None))
    g.add((cert, Q.validFrom, Literal("2026-01-01", datatype=URIRef("http://www.w3.org/2001/XMLSchema#date"))))


def _break_vin(g: Graph) -> None:
    g.add((URIRef(ID + "unit/X"), RDF.type, Q.SerialUnit))
    g.add((URIRef(ID + "unit/X"), Q.serialNumber, Literal("X")))
    g.add((URIRef(ID + "unit/X"), Q.vin, Literal("LFVEV5A28R00O4711")))  # letter O is not allowed


def _break_run_end_before_start(g: Graph) -> None:
    run = URIRef(ID + "run/IM-240917-07")
    g.remove((run, Q.endedAt, None))
    g.add(
        (
            run,
            Q.endedAt,
            Literal("2024-09-16T00:00:00+00:00", datatype=URIRef("http://www.w3.org/2001/XMLSchema#dateTime")),
        )
    )


def _break_complaint_without_unit(g: Graph) -> None:
    g.remove((URIRef(ID + "complaint/CMP-2025-0042"), Q.concernsUnit, None))


def _break_cas(g: Graph) -> None:
    g.add((URIRef(ID + "substance/bad"), RDF.type, Q.Substance))
    g.add((URIRef(ID + "substance/bad"), Q.casNumber, Literal("7439921")))


def _break_bom_quantity(g: Graph) -> None:
    line = next(g.subjects(RDF.type, Q.BOMLine))
    g.remove((line, Q.quantity, None))
    g.add((line, Q.quantity, Literal("0", datatype=URIRef("http://www.w3.org/2001/XMLSchema#decimal"))))


@pytest.mark.parametrize(
    ("breaker", "path", "focus"),
    [
        (_break_two_equipment, Q.equipment, "run/FM-240802-12"),
        (_break_certificate_dates, Q.validFrom, "calibration/CAL-IMM07-2024"),
        (_break_vin, Q.vin, "unit/X"),
        (_break_run_end_before_start, Q.startedAt, "run/IM-240917-07"),
        (_break_complaint_without_unit, Q.concernsUnit, "complaint/CMP-2025-0042"),
        (_break_cas, Q.casNumber, "substance/bad"),
        (_break_bom_quantity, Q.quantity, None),
    ],
)
def test_model_shapes_fail_on_crafted_bad_data(breaker, path, focus) -> None:  # type: ignore[no-untyped-def]
    graph = demo_graph()
    breaker(graph)
    conforms, report_graph, _ = pyshacl.validate(graph, shacl_graph=load_shapes(), inference="none")
    assert not conforms
    SH = Namespace("http://www.w3.org/ns/shacl#")
    results = list(report_graph.subjects(RDF.type, SH.ValidationResult))
    paths = {report_graph.value(r, SH.resultPath) for r in results}
    assert path in paths
    if focus:
        assert URIRef(ID + focus) in {report_graph.value(r, SH.focusNode) for r in results}
    _ = BNode
