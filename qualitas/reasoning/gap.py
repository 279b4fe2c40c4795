"""Gap report: can this product go to this market on this date, and what is missing?

The pipeline, for one product, market and date::

    applicable_regulations ── shapes (catalog shapes + required documents/markings)
        ── focus subgraph (CONSTRUCT from the store into memory)
        ── OWL RL on that subgraph (only when the shapes need inferred types)
        ── pySHACL ── sh:ValidationReport (kept as produced) ── findings for people
    + as-designed vs as-built (the trace queries) + substance screening

SHACL validates the *focus subgraph* of the product (its BOM closure, parts,
materials, substances, suppliers, declarations, test reports, lots, runs, equipment,
calibration and documents), not the whole store (DESIGN.md, "Decisions already taken").
W3C SHACL: https://www.w3.org/TR/shacl/ ; validation report: section 3.6.

Required documents and markings of a catalog record that has no hand-written shape of
that kind become generated shapes (``qrs-gen:``), so the catalog's
``required_documents`` and ``markings`` are checked by SHACL too; a record's
hand-written shapes of a kind are its curated statement of that requirement.
"""

from __future__ import annotations

import datetime as dt
import gc
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import pyoxigraph as ox
from rdflib import BNode, Graph, Namespace, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH, XSD
from rdflib.plugins.stores.memory import SimpleMemory
from rdflib.term import Node

from qualitas.errors import QualitasError
from qualitas.ontology import ONTOLOGY_FILE, Q
from qualitas.reasoning import i18n
from qualitas.reasoning import trace as tr
from qualitas.reasoning._sparql import values
from qualitas.reasoning.i18n import LANGUAGES, Localized, Texts, missing_marker
from qualitas.reasoning.repairability import REGULATION_ID as REPAIRABILITY_REGULATION
from qualitas.reasoning.repairability import RepairabilityReport, repairability
from qualitas.reasoning.screening import CHINA_ROHS_TABLE, SVHC_THRESHOLD, ChinaRohsTable, ScreeningReport, screen
from qualitas.regulations.applicability import (
    ApplicabilityReport,
    ApplicableRegulation,
    ProductProfile,
    applicable_regulations,
    check_market,
)
from qualitas.regulations.catalog import Catalog, catalog_graph, default_catalog
from qualitas.regulations.citation import cite
from qualitas.regulations.requirements import load_requirement_shapes, requirement_index, shapes_for
from qualitas.regulations.routes import Exclusion, Route, decide_route, load_routes
from qualitas.store import GraphStore, OxigraphStore

Severity = Literal["critical", "major", "minor", "info"]
Owner = Literal["supplier", "engineering", "compliance"]
Status = Literal["passed", "violated", "not_checkable"]
FindingKind = Literal[
    "missing_document",
    "missing_marking",
    "substance_limit",
    "svhc_communication",
    "material_mismatch",
    "calibration_invalid",
    "calibration_missing",
    "parameter_set_outdated",
    "parameter_out_of_tolerance",
    "requirement_not_met",
    "china_rohs_data",
]

#: Generated shapes (from the catalog's required documents and markings).
GEN = Namespace("https://w3id.org/qualitas/regulations/generated-shapes#")
_REG = "https://w3id.org/qualitas/id/regulation/"
_SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2, "info": 3}


# ---------------------------------------------------------------- result types


@dataclass(frozen=True)
class Evidence:
    id: str
    kind: str
    label: str


@dataclass(frozen=True)
class Remediation:
    """What to do about a finding, and who does it; ``actions`` holds the text in every
    pack language (:data:`LANGUAGES`), ``action_en``/``action_zh`` repeat two of them."""

    owner: Owner
    action_en: str
    action_zh: str
    actions: Texts = field(default_factory=Texts)

    def action(self, lang: str) -> str:
        """The action in ``lang``, or a visible missing-translation marker in ``lang``."""
        return self.actions.get(lang) or missing_marker(lang)


@dataclass(frozen=True)
class GapFinding:
    """One gap, for a person: what, against which clause, on what, and what to do.

    ``messages`` holds the message in every pack language (:data:`LANGUAGES`);
    ``message_en``/``message_zh`` repeat two of them. ``untranslated`` names what could
    not be said in some language (a template or a term missing from the wording data),
    shown there as a visible marker, never as English or as an internal code.
    """

    kind: FindingKind
    severity: Severity
    source: Literal["shacl", "as_built", "screening"]
    regulation_id: str | None
    regulation: str | None  # short name and official identifier
    clause: str | None
    subject: str
    subject_label: str
    offending: str
    expected: str
    message_en: str
    message_zh: str
    evidence: tuple[Evidence, ...]
    remediation: Remediation
    shape: str | None = None
    shape_message_en: str | None = None
    shape_message_zh: str | None = None
    messages: Texts = field(default_factory=Texts)
    untranslated: tuple[str, ...] = ()

    def message(self, lang: str) -> str:
        """The message in ``lang``, or a visible missing-translation marker in ``lang``."""
        return self.messages.get(lang) or missing_marker(lang)


@dataclass(frozen=True)
class RequirementCheck:
    """One machine-checkable requirement and its outcome on the focus subgraph.

    ``messages`` says the requirement *with its outcome* in every pack language: a
    passed document requirement reads "Document on file: ...", a violated one
    "Document missing: ..." (``message_en``/``message_zh`` repeat two of them).
    """

    shape: str
    regulation_id: str
    clause: str
    kind: str
    generated: bool
    status: Status
    focus_nodes: int
    violations: int
    message_en: str
    message_zh: str
    messages: Texts = field(default_factory=Texts)
    untranslated: tuple[str, ...] = ()

    def message(self, lang: str) -> str:
        """The statement in ``lang``, or a visible missing-translation marker in ``lang``."""
        return self.messages.get(lang) or missing_marker(lang)


@dataclass(frozen=True)
class GapSummary:
    checked: int
    passed: int
    violated: int
    not_checkable: int
    not_checkable_items: tuple[str, ...]  # requirement shapes without data, and screening data gaps
    findings_by_severity: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class AsBuilt:
    """As-designed vs as-built, from the trace queries (reused, not duplicated)."""

    lots: tuple[tr.LotTrace, ...]
    runs: tuple[tr.RunTrace, ...]


@dataclass(frozen=True)
class GapReport:
    product: ProductProfile
    market: str
    on: dt.date
    catalog_version: str
    applicable: tuple[ApplicableRegulation, ...]
    conforms: bool
    summary: GapSummary
    findings: tuple[GapFinding, ...]
    requirements: tuple[RequirementCheck, ...]
    screening: ScreeningReport
    as_built: AsBuilt
    inferred: bool  # whether OWL RL ran on the focus subgraph
    focus_triples: int
    validation_conforms: bool
    validation_report_ttl: str
    validation_report_jsonld: str
    timings_ms: tuple[tuple[str, float], ...]
    data_graph: Graph = field(compare=False, repr=False)
    shapes_graph: Graph = field(compare=False, repr=False)
    #: EU repairability class and French index, for products the EU smartphone and
    #: tablet energy label (Regulation (EU) 2023/1669) applies to; None otherwise.
    repairability: RepairabilityReport | None = None
    #: The legal route in the market with its reason (routes.yaml); None for a market
    #: routes.yaml has no routes for.
    route: Route | None = None
    #: Acts that matched the product's profile but that their own scope articles
    #: exclude, each with its article and reason.
    excluded: tuple[Exclusion, ...] = ()


class GapError(QualitasError):
    """The gap analysis could not run (a shapes or validation engine failure)."""


# ---------------------------------------------------------------- focus subgraph

#: Links followed from a node to the nodes that belong to the product's closure.
_FORWARD = (
    Q.hasBOM, Q.hasLine, Q.component, Q.designedMaterial, Q.containsSubstance, Q.suppliedBy, Q.hasCategory,
    Q.hasFeature, Q.market, Q.hasCompositionEntry, Q.material, Q.substance, Q.claimsExemption,
    Q.reportedMaterial, Q.declaresMaterial, Q.declaredBy, Q.equipment, Q.hasCalibration, Q.usedParameterSet,
    Q.step, Q.hasObservation, Q.parameter, Q.hasSpecification, Q.hasResult, Q.ofPart, DCTERMS.references,
    Q.hasPriorityPartRepair, Q.hasRepairCriterionScore,
)
#: Links followed backwards (?s p node): evidence and instances pointing at a node.
_INVERSE = (Q.about, Q.reportFor, Q.declarationFor, Q.ofPart, Q.ofProduct, Q.forStep, Q.certificateFor)


def focus_subgraph(store: GraphStore, product: str, *, on: dt.date, catalog: Catalog | None = None) -> Graph:
    """The product's closure as an in-memory graph, extracted with one query per hop.

    Only the root keeps ``rdf:type q:Product``: components that are products of their
    own are parts here, so product-level shapes judge the product asked about.
    Production runs that started after ``on`` are left out.

    The closure is walked breadth first, each hop one query for the frontier's triples
    and one for the nodes pointing at it; the triples stay store terms until the walk
    ends and are then put once into an rdflib graph for pySHACL (``_FocusMemory``).
    """
    end = f'"{on.isoformat()}T23:59:59Z"^^xsd:dateTime'
    rows: list[tuple[object, object, object]] = []
    seen: set[str] = set()
    frontier = {product}
    forward = {ox.NamedNode(str(p)) for p in _FORWARD}
    inverse = " UNION ".join(f"{{ ?s <{p}> ?x }}" for p in _INVERSE)
    while frontier:
        seen |= frontier
        nxt: set[str] = set()
        for s, p, o in _rows(store, f"SELECT ?s ?p ?o WHERE {{ {values('s', frontier)} ?s ?p ?o }}"):
            rows.append((s, p, o))
            if p in forward and isinstance(o, ox.NamedNode):
                nxt.add(o.value)
        for row in store.select(
            f"""SELECT DISTINCT ?s WHERE {{ {values('x', frontier)}
                {{ {inverse} }} UNION {{ ?s q:produced ?x ; q:startedAt ?t FILTER(?t <= {end}) }} }}"""
        ):
            found = row["s"]
            if isinstance(found, str) and found.startswith(("http://", "https://", "urn:")):
                nxt.add(found)
        frontier = {n for n in nxt if n not in seen and not n.startswith("http://qudt.org/")}
    # Runs after the date stay out even when reached through another link.
    rdf_type, started_at = ox.NamedNode(str(RDF.type)), ox.NamedNode(str(Q.startedAt))
    run_class, product_class = ox.NamedNode(str(Q.ProductionRun)), ox.NamedNode(str(Q.Product))
    started = {s: o for s, p, o in rows if p == started_at}
    day = on.isoformat()
    late = {s for s, p, o in rows if p == rdf_type and o == run_class and s in started
            and getattr(started[s], "value", "")[:10] > day}
    root = ox.NamedNode(product)
    terms = _Terms()
    graph = Graph(store=_FocusMemory())
    add = graph.store.add  # the terms are rdflib nodes already: skip Graph.add's checks
    for s, p, o in rows:
        if s in late or (p == rdf_type and o == product_class and s != root):
            continue
        add((terms(s), terms(p), terms(o)), graph)
    # Regulations documents refer to, as the catalog describes them (the store may not hold it).
    refs = {o for o in graph.objects(None, DCTERMS.references) if str(o).startswith(_REG)}
    if refs:
        cat = _catalog_rdf(catalog or default_catalog())
        for ref in refs:
            for t in cat.triples((ref, None, None)):
                graph.add(t)
    return graph


class _FocusMemory(SimpleMemory):
    """rdflib's ``SimpleMemory`` store for the focus subgraph, which is one graph.

    The default ``Memory`` store keeps, per triple, the contexts it is in and raises an
    add event: on a 50,000-triple focus subgraph that costs more than walking the
    closure in the store, and every later read pays for the context lookups too.
    pySHACL wraps its data graph in an ``rdflib.Dataset`` and so asks for a context-
    and graph-aware store, but reads only through the graph it was given; here every
    context is that one graph. ``SimpleMemory`` counts its triples by walking them, and
    pySHACL takes the length of the data graph once per shape: the count is kept.
    """

    context_aware = True
    graph_aware = True

    def __init__(self) -> None:
        super().__init__()
        self._length: int | None = None

    def add(self, triple: Any, context: Any, quoted: bool = False) -> None:
        self._length = None
        super().add(triple, context, quoted)

    def remove(self, triple_pattern: Any, context: Any = None) -> None:
        self._length = None
        super().remove(triple_pattern, context)

    def __len__(self, context: Any = None) -> int:
        if self._length is None:
            self._length = super().__len__(context)
        return self._length


class _Terms:
    """Store terms as rdflib terms, each distinct term converted once (a focus subgraph
    names the same classes, predicates and values thousands of times)."""

    def __init__(self) -> None:
        self._cache: dict[object, Node] = {}

    def __call__(self, term: object) -> Node:
        try:
            return self._cache[term]
        except KeyError:
            pass
        out: Node
        if isinstance(term, ox.NamedNode):
            out = URIRef(term.value)
        elif isinstance(term, ox.BlankNode):
            out = BNode(term.value)
        elif isinstance(term, ox.Literal):
            if term.language:
                out = RdfLiteral(term.value, lang=term.language)
            elif term.datatype.value == _XSD_STRING:
                # RDF 1.1: "x"^^xsd:string and "x" are one literal; rdflib keeps them
                # apart and shapes write the plain form.
                out = RdfLiteral(term.value)
            else:
                out = RdfLiteral(term.value, datatype=URIRef(term.datatype.value))
        else:
            raise GapError(f"unsupported RDF term in the focus subgraph: {term!r}")
        self._cache[term] = out
        return out


_XSD_STRING = str(XSD.string)


def _rows(store: GraphStore, query: str) -> Iterable[tuple[object, object, object]]:
    """The ``?s ?p ?o`` solutions of ``query`` as store terms (``_Terms`` turns them
    into rdflib terms).

    On Oxigraph the solutions are read as they come; ``construct()`` would build an
    rdflib graph per query first. Other backends go through ``construct()``.
    """
    if isinstance(store, OxigraphStore):
        solutions = store._query(query)
        assert isinstance(solutions, ox.QuerySolutions)
        for row in solutions:
            yield row[0], row[1], row[2]
        return
    construct = "CONSTRUCT { ?s ?p ?o } WHERE" + query[query.index("WHERE") + len("WHERE"):]
    for s, p, o in store.construct(construct):
        yield _to_ox(s), _to_ox(p), _to_ox(o)


def _to_ox(term: Node) -> object:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, RdfLiteral):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or XSD.string)))
    raise GapError(f"unsupported RDF term in the focus subgraph: {term!r}")


_CATALOG_RDF: dict[tuple[str, str], Graph] = {}


def _catalog_rdf(catalog: Catalog) -> Graph:
    key = (catalog.version, catalog.root)
    if key not in _CATALOG_RDF:
        _CATALOG_RDF[key] = catalog_graph(catalog)
    return _CATALOG_RDF[key]


# ---------------------------------------------------------------- shapes


def _path_literal_values(shapes: Graph, shape: Node, path: URIRef) -> list[str]:
    """Literal values a shape pins on ``path`` (sh:hasValue, or sh:in), anywhere below it."""
    out: list[str] = []
    for node in _below(shapes, shape):
        if shapes.value(node, SH.path) == path:
            hv = shapes.value(node, SH.hasValue)
            if isinstance(hv, RdfLiteral):
                out.append(str(hv))
        if (node, SH.path, Q.marking) in shapes and path == Q.marking:
            for qv in shapes.objects(node, SH.qualifiedValueShape):
                hv = shapes.value(qv, SH.hasValue)
                if isinstance(hv, RdfLiteral):
                    out.append(str(hv))
                lst = shapes.value(qv, SH["in"])
                if lst is not None:
                    out.extend(str(x) for x in Collection(shapes, lst))
    return sorted(set(out))


def _below(shapes: Graph, shape: Node) -> list[Node]:
    out: list[Node] = []
    todo: list[Node] = [shape]
    seen: set[Node] = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        out.append(node)
        for _, o in shapes.predicate_objects(node):
            if isinstance(o, BNode):
                todo.append(o)
    return out


def _kind_of(shapes: Graph, shape: URIRef) -> str:
    targets = set(shapes.objects(shape, SH.targetClass))
    nodes = _below(shapes, shape)
    if Q.CompositionEntry in targets:
        texts = " ".join(str(m) for m in shapes.objects(shape, SH.message))
        return "svhc_communication" if "Art. 33" in texts or "第 33 条" in texts else "substance_limit"
    if any(shapes.value(n, SH.path) == Q.marking for n in nodes):
        return "missing_marking"
    if any((n, SH.inversePath, Q.about) in shapes for n in nodes) and Q.Product in targets:
        return "missing_document"
    if (shape, SH.sparql, None) in shapes:
        if Q.ProductionRun in targets:
            return "calibration_invalid"
        if Q.TestReport in targets:
            return "material_mismatch"
    return "requirement_not_met"


def _add_messages(g: Graph, shape: URIRef, text: Localized) -> None:
    for lang in LANGUAGES:
        g.add((shape, SH.message, RdfLiteral(text.texts.text(lang), lang=lang)))


def _generated_shapes(catalog: Catalog, regulation_ids: Iterable[str], curated: Graph) -> Graph:
    """Shapes for the required documents and markings of records without curated ones."""
    by_reg: dict[str, set[str]] = defaultdict(set)
    for req in requirement_index(curated):
        by_reg[req.regulation_id].add(_kind_of(curated, URIRef(req.iri)))
    g = Graph()
    by_id = catalog.by_id
    for rid in sorted(regulation_ids):
        r = by_id.get(rid)
        if r is None:
            continue
        ref = i18n.reference(i18n.regulation_name(r))
        if "missing_document" not in by_reg[rid]:
            for doc in r.required_documents:
                shape = GEN[f"{rid}--document--{doc}"]
                prop, qual = BNode(), BNode()
                g.add((shape, RDF.type, SH.NodeShape))
                g.add((shape, RDF.type, Q.Requirement))
                g.add((shape, Q.clause, RdfLiteral("required documents")))
                g.add((shape, SH.targetClass, Q.Product))
                g.add((shape, SH.property, prop))
                inv = BNode()
                g.add((prop, SH.path, inv))
                g.add((inv, SH.inversePath, Q.about))
                g.add((prop, SH.qualifiedValueShape, qual))
                g.add((qual, SH.path, DCTERMS.type))
                g.add((qual, SH.hasValue, RdfLiteral(doc)))
                g.add((prop, SH.qualifiedMinCount, RdfLiteral(1)))
                _add_messages(g, shape, i18n.render(
                    "requirements.document", "violated", document=i18n.term("documents", doc), ref=ref))
                g.add((URIRef(_REG + rid), Q.hasRequirement, shape))
        if "missing_marking" not in by_reg[rid]:
            for mark in r.markings:
                shape = GEN[f"{rid}--marking--{mark}"]
                g.add((shape, RDF.type, SH.NodeShape))
                g.add((shape, RDF.type, Q.Requirement))
                g.add((shape, Q.clause, RdfLiteral("markings")))
                g.add((shape, SH.targetClass, Q.Product))
                # The marking, or a recorded statement that it does not apply (a
                # document of type marking_not_applicable naming the marking).
                carries, qual = BNode(), BNode()
                g.add((carries, SH.path, Q.marking))
                g.add((carries, SH.qualifiedValueShape, qual))
                g.add((qual, SH.hasValue, RdfLiteral(mark)))
                g.add((carries, SH.qualifiedMinCount, RdfLiteral(1)))
                waived, inv, stmt, is_na, names = BNode(), BNode(), BNode(), BNode(), BNode()
                g.add((waived, SH.path, inv))
                g.add((inv, SH.inversePath, Q.about))
                g.add((waived, SH.qualifiedValueShape, stmt))
                g.add((is_na, SH.path, DCTERMS.type))
                g.add((is_na, SH.hasValue, RdfLiteral("marking_not_applicable")))
                g.add((names, SH.path, Q.marking))
                g.add((names, SH.hasValue, RdfLiteral(mark)))
                g.add((stmt, SH["and"], Collection(g, BNode(), [is_na, names]).uri))
                g.add((waived, SH.qualifiedMinCount, RdfLiteral(1)))
                g.add((shape, SH["or"], Collection(g, BNode(), [carries, waived]).uri))
                _add_messages(g, shape, i18n.render(
                    "requirements.marking", "violated", marking=i18n.term("markings", mark), ref=ref))
                g.add((URIRef(_REG + rid), Q.hasRequirement, shape))
    return g


_CURATED: list[Graph] = []


def _curated() -> Graph:
    if not _CURATED:
        _CURATED.append(load_requirement_shapes())
    return _CURATED[0]


def shapes_graph_for(regulation_ids: frozenset[str], catalog: Catalog) -> Graph:
    """The curated shapes of ``regulation_ids`` plus the generated document/marking shapes."""
    curated = shapes_for(regulation_ids, _curated())
    for s, p, o in _curated().triples((None, Q.hasRequirement, None)):
        if str(s)[len(_REG):] in regulation_ids:
            curated.add((s, p, o))
    shapes = Graph()
    shapes.bind("sh", SH)
    shapes.bind("q", Q)
    shapes += curated
    shapes += _generated_shapes(catalog, regulation_ids, curated)
    return shapes


#: Shapes graphs by (catalog version, catalog root, regulation ids), with whether they
#: need OWL RL; the least recently used goes first when full.
_COMPILED: dict[tuple[str, str, frozenset[str]], tuple[Graph, bool]] = {}
_COMPILED_MAX = 64


def _compiled_shapes(regulation_ids: frozenset[str], catalog: Catalog) -> tuple[Graph, bool]:
    """``shapes_graph_for`` and ``inference_terms`` once per catalog version and set of
    regulations (a catalog version fixes its records and shapes); each report gets its
    own copy, so nothing a caller does to a report's shapes graph reaches another."""
    key = (catalog.version, catalog.root, regulation_ids)
    hit = _COMPILED.pop(key, None)
    if hit is None:
        built = shapes_graph_for(regulation_ids, catalog)
        hit = (built, bool(inference_terms(built)))
        while len(_COMPILED) >= _COMPILED_MAX:
            del _COMPILED[next(iter(_COMPILED))]
    _COMPILED[key] = hit
    shapes = Graph()
    shapes.bind("sh", SH)
    shapes.bind("q", Q)
    shapes += hit[0]
    return shapes, hit[1]


# ---------------------------------------------------------------- OWL RL where needed

_TBOX_PREDICATES = (RDFS.subClassOf, RDFS.subPropertyOf, OWL.inverseOf, OWL.equivalentClass, OWL.equivalentProperty)
_TBOX: list[Graph] = []
_IRI_IN_TEXT = re.compile(r"<(https?://[^>\s]+)>")


def _tbox() -> Graph:
    if not _TBOX:
        onto = Graph().parse(ONTOLOGY_FILE, format="turtle")
        tbox = Graph()
        for p in _TBOX_PREDICATES:
            for s, o in onto.subject_objects(p):
                if isinstance(s, URIRef) and isinstance(o, URIRef):
                    tbox.add((s, p, o))
        _TBOX.append(tbox)
    return _TBOX[0]


def inference_terms(shapes: Graph) -> frozenset[URIRef]:
    """Classes and properties the shapes use whose instances OWL RL can add: target
    classes with subclasses, and properties with sub-properties or inverses."""
    tbox = _tbox()
    used: set[URIRef] = {o for o in shapes.objects(None, SH.targetClass) if isinstance(o, URIRef)}
    used |= {o for o in shapes.objects(None, SH.path) if isinstance(o, URIRef)}
    used |= {o for o in shapes.objects(None, SH.inversePath) if isinstance(o, URIRef)}
    for text in shapes.objects(None, SH.select):
        used |= {URIRef(m) for m in _IRI_IN_TEXT.findall(str(text))}
    need: set[URIRef] = set()
    for term in used:
        if (
            any(True for _ in tbox.subjects(RDFS.subClassOf, term))
            or any(True for _ in tbox.subjects(RDFS.subPropertyOf, term))
            or (term, OWL.inverseOf, None) in tbox
            or (None, OWL.inverseOf, term) in tbox
        ):
            need.add(term)
    return frozenset(need)


@dataclass(frozen=True)
class _Entailment:
    """The ontology's class and property axioms, closed once: what each class and
    property entails (OWL 2 RL rules cax-sco, cax-eqc, prp-spo1, prp-eqp, prp-inv)."""

    supers: dict[Node, frozenset[Node]]  # class -> its superclasses (transitive, without itself)
    super_props: dict[Node, frozenset[Node]]  # property -> its super-properties (transitive)
    inverses: dict[Node, frozenset[Node]]  # property -> its inverse properties


_ENTAILMENT: list[_Entailment] = []


def _reach(edges: dict[Node, set[Node]]) -> dict[Node, frozenset[Node]]:
    out: dict[Node, frozenset[Node]] = {}
    for start in edges:
        seen: set[Node] = set()
        todo = list(edges[start])
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(edges.get(n, ()))
        seen.discard(start)
        out[start] = frozenset(seen)
    return out


def _entailment() -> _Entailment:
    if not _ENTAILMENT:
        tbox = _tbox()
        cls: dict[Node, set[Node]] = defaultdict(set)
        prop: dict[Node, set[Node]] = defaultdict(set)
        inv: dict[Node, set[Node]] = defaultdict(set)
        for s, o in tbox.subject_objects(RDFS.subClassOf):
            cls[s].add(o)
        for s, o in tbox.subject_objects(OWL.equivalentClass):
            cls[s].add(o)
            cls[o].add(s)
        for s, o in tbox.subject_objects(RDFS.subPropertyOf):
            prop[s].add(o)
        for s, o in tbox.subject_objects(OWL.equivalentProperty):
            prop[s].add(o)
            prop[o].add(s)
        for s, o in tbox.subject_objects(OWL.inverseOf):
            inv[s].add(o)
            inv[o].add(s)
        _ENTAILMENT.append(_Entailment(
            supers=_reach(cls), super_props=_reach(prop), inverses={k: frozenset(v) for k, v in inv.items()},
        ))
    return _ENTAILMENT[0]


_NOT_INFERRED_TYPES = frozenset({OWL.Thing, RDFS.Resource, OWL.Class, RDFS.Class})


def infer(graph: Graph, *, inplace: bool = False) -> Graph:
    """The OWL 2 RL consequences of ``graph`` under the ontology's class and property
    axioms (subclass, equivalent class, sub-property, equivalent property, inverse):
    returns the data with the inferred assertions, without the axioms and without
    OWL RL's bookkeeping triples (reflexive owl:sameAs, owl:Thing).

    Only those axioms are in the ontology's T-box used here, so their closure is
    computed once (``_entailment``) and applied in one pass over the types and the
    properties the axioms name, instead of running a general OWL RL engine to a
    fixpoint over the subgraph: the same triples, in time linear in the subgraph.
    https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules
    (tables 5 and 9). ``inplace`` adds the inferred triples to ``graph`` itself.
    """
    ent = _entailment()
    if inplace:
        out = graph
    else:
        out = Graph()
        out += graph
    q_ns = str(Q)
    owl_ns = str(OWL)
    add = out.store.add  # Graph.add without its per-call term checks: these are graph terms
    rdf_type = RDF.type
    types: dict[Node, tuple[Node, ...]] = {}  # class -> the superclasses it adds
    for s, c in list(graph.subject_objects(rdf_type)):
        if isinstance(s, RdfLiteral) or str(s).startswith(q_ns):
            continue
        sups = types.get(c)
        if sups is None:
            sups = types[c] = tuple(sup for sup in ent.supers.get(c, ())
                                    if sup not in _NOT_INFERRED_TYPES and not str(sup).startswith(owl_ns))
        for sup in sups:
            add((s, rdf_type, sup), out)
    props = set(ent.super_props) | set(ent.inverses)
    todo: list[tuple[Node, Node, Node]] = [t for p in props for t in list(graph.triples((None, p, None)))]
    seen: set[tuple[Node, Node, Node]] = set(todo)
    while todo:
        s, p, o = todo.pop()
        derived = [(s, sup, o) for sup in ent.super_props.get(p, ())]
        derived += [(o, i, s) for i in ent.inverses.get(p, ())]
        for t in derived:
            if t not in seen:
                seen.add(t)
                todo.append(t)
                if not isinstance(t[0], RdfLiteral) and t[1] not in _TBOX_PREDICATES and t[1] != OWL.sameAs:
                    add(t, out)
    return out


# ---------------------------------------------------------------- pySHACL


def _guard(shapes: Graph, shape: Node) -> tuple[URIRef, frozenset[Node]] | None:
    """The guard of a shape written ``sh:or ( [ sh:not GUARD ] ... )`` where GUARD is
    a property shape on a plain predicate with ``sh:hasValue`` (or ``sh:in`` with
    ``sh:minCount`` >= 1): ``(predicate, values)``. A focus node with no value of the
    predicate among ``values`` fails GUARD, so ``sh:not GUARD`` and the whole
    ``sh:or`` conform for it (SHACL 4.6.2, 4.6.3)."""
    members = list(shapes.objects(shape, SH["or"]))
    if len(members) != 1:
        return None
    items = list(Collection(shapes, members[0]))
    if not items:
        return None
    guard = shapes.value(items[0], SH["not"])
    if guard is None or len(set(shapes.predicate_objects(items[0]))) != 1:
        return None
    path = shapes.value(guard, SH.path)
    if not isinstance(path, URIRef):
        return None
    has = list(shapes.objects(guard, SH.hasValue))
    if has:
        return path, frozenset(has)
    listed = shapes.value(guard, SH["in"])
    min_count = shapes.value(guard, SH.minCount)
    if listed is not None and isinstance(min_count, RdfLiteral) and int(str(min_count)) >= 1:
        return path, frozenset(Collection(shapes, listed))
    return None


def _narrowed(data: Graph, shapes: Graph) -> Graph:
    """``shapes`` with the class target of every guarded shape (see ``_guard``) replaced
    by the focus nodes its guard selects, which are the only ones it can report on.

    Same results as the original shapes, on the same data: a focus node the guard does
    not select conforms. pySHACL builds a full result for every inner failure of a
    ``sh:or`` member, so a substance-limit shape over thousands of composition entries
    costs seconds; narrowed, it costs the entries that contain the substance.
    """
    out: Graph | None = None
    sub_classes: dict[Node, set[Node]] = {}
    for shape in set(shapes.subjects(RDF.type, SH.NodeShape)):
        targets = list(shapes.objects(shape, SH.targetClass))
        if len(targets) != 1 or any(True for _ in shapes.objects(shape, SH.targetNode)) or any(
            (shape, p, None) in shapes for p in (SH.targetSubjectsOf, SH.targetObjectsOf)
        ):
            continue
        guard = _guard(shapes, shape)
        if guard is None:
            continue
        cls = targets[0]
        if cls not in sub_classes:  # SHACL instances: rdf:type/rdfs:subClassOf* in the data graph
            seen, todo = {cls}, [cls]
            while todo:
                for sub in data.subjects(RDFS.subClassOf, todo.pop()):
                    if sub not in seen:
                        seen.add(sub)
                        todo.append(sub)
            sub_classes[cls] = seen
        path, wanted = guard
        nodes = {s for v in wanted for s in data.subjects(path, v)
                 if any((s, RDF.type, c) in data for c in sub_classes[cls])}
        if out is None:
            out = Graph()
            out += shapes
        out.remove((shape, SH.targetClass, cls))
        for n in nodes:
            out.add((shape, SH.targetNode, n))
    return out if out is not None else shapes


def validate(data: Graph, shapes: Graph) -> tuple[bool, Graph]:
    """pySHACL on ``data`` with ``shapes``, no further inference (it already ran).

    The report is pySHACL's own for ``data`` and ``shapes``; guarded shapes are run on
    the focus nodes their guard selects (``_narrowed``), which yields the same report.
    """
    from pyshacl import validate as shacl_validate

    try:
        conforms, report, _ = shacl_validate(
            data, shacl_graph=_narrowed(data, shapes), inference="none", abort_on_first=False,
            allow_warnings=True, meta_shacl=False, advanced=False, debug=False,
        )
    except Exception as exc:  # pySHACL raises its own and plain errors on broken shapes
        raise GapError(f"SHACL validation failed: {exc}") from exc
    assert isinstance(report, Graph)
    return bool(conforms), report


# ---------------------------------------------------------------- findings


def _label(g: Graph, node: Node) -> str:
    for p in (Q.modelNumber, Q.partNumber, Q.lotNumber, Q.documentNumber, Q.runId, Q.equipmentId, Q.grade,
              Q.serialNumber, Q.supplierId, Q.casNumber):
        v = g.value(node, p)
        if v is not None:
            return str(v)
    if (node, RDF.type, Q.CompositionEntry) in g:
        decl = g.value(None, Q.hasCompositionEntry, node)
        part = g.value(decl, Q.declarationFor) if decl is not None else None
        mat = g.value(node, Q.material)
        sub = g.value(node, Q.substance)
        bits = [_label(g, x) for x in (part, mat, sub) if x is not None]
        cat = g.value(node, Q.substanceCategory)
        if cat is not None:
            bits.append(str(cat))
        return " / ".join(bits)
    text = str(node)
    return text.rsplit("/", 1)[-1]


def _kind_label(g: Graph, node: Node) -> str:
    for cls in (Q.Product, Q.CompositionEntry, Q.TestReport, Q.SupplierDeclaration, Q.CalibrationCertificate,
                Q.ProductionRun, Q.Equipment, Q.Lot, Q.Part, Q.Document, Q.Material, Q.Substance, Q.Supplier):
        if (node, RDF.type, cls) in g:
            return str(cls).rsplit("#", 1)[-1]
    return "Resource"


def _evidence(g: Graph, nodes: Iterable[Node]) -> tuple[Evidence, ...]:
    out: dict[str, Evidence] = {}
    for n in nodes:
        if isinstance(n, URIRef):
            out.setdefault(str(n), Evidence(str(n), _kind_label(g, n), _label(g, n)))
    return tuple(out.values())


def _pct(value: Decimal) -> str:
    text = format((value * 100).normalize(), "f")
    return f"{text} % w/w"


@dataclass(frozen=True)
class _Result:
    focus: Node
    shape: URIRef
    path: Node | None
    value: Node | None
    messages: dict[str, str]
    severity: URIRef


def _results(report: Graph, shapes: Graph) -> list[_Result]:
    parent: dict[Node, URIRef] = {}
    for n in shapes.subjects(RDF.type, SH.NodeShape):
        if isinstance(n, URIRef):
            for b in _below(shapes, n):
                parent.setdefault(b, n)
    out = []
    for r in report.subjects(RDF.type, SH.ValidationResult):
        src = report.value(r, SH.sourceShape)
        root = parent.get(src) if src is not None else None
        if root is None and isinstance(src, URIRef):
            root = src
        if root is None:
            # pySHACL copies blank source shapes into the report; find the owner by content.
            root = _owner_by_content(report, shapes, src)
        msgs: dict[str, str] = {}
        for m in report.objects(r, SH.resultMessage):
            lang = getattr(m, "language", None) or "en"
            msgs.setdefault(lang, str(m))
        sev = report.value(r, SH.resultSeverity)
        out.append(_Result(
            focus=report.value(r, SH.focusNode) or BNode(), shape=root or URIRef("urn:unknown"),
            path=report.value(r, SH.resultPath), value=report.value(r, SH.value), messages=msgs,
            severity=sev if isinstance(sev, URIRef) else SH.Violation,
        ))
    return out


def _owner_by_content(report: Graph, shapes: Graph, src: Node | None) -> URIRef | None:
    if src is None:
        return None
    path = report.value(src, SH.path)
    for prop in shapes.subjects(SH.path, path) if path is not None else ():
        for owner in shapes.subjects(SH.property, prop):
            if isinstance(owner, URIRef):
                return owner
    return None


def _regulation_name(catalog: Catalog, rid: str | None) -> str | None:
    if not rid:
        return None
    r = catalog.by_id.get(rid)
    if r is None:
        return rid
    return f"{r.short_name} ({r.identifier})" if r.short_name and r.short_name != r.identifier else r.identifier


def _shape_facts(shapes: Graph, shape: URIRef) -> tuple[str | None, str, dict[str, str]]:
    regs = [str(s)[len(_REG):] for s in shapes.subjects(Q.hasRequirement, shape) if str(s).startswith(_REG)]
    clause = str(shapes.value(shape, Q.clause) or "")
    msgs = {getattr(m, "language", None) or "en": str(m) for m in shapes.objects(shape, SH.message)}
    return (regs[0] if regs else None), clause, msgs


def _max_limit(shapes: Graph, shape: URIRef) -> Decimal | None:
    for n in _below(shapes, shape):
        v = shapes.value(n, SH.maxInclusive)
        if v is not None:
            return Decimal(str(v))
    return None


def _shape_local(shape: Node) -> str:
    return str(shape).rsplit("#", 1)[-1]


def _limit_substance(shapes: Graph, shape: URIRef, catalog: Catalog, rid: str | None) -> Localized:
    """The substance a substance-limit shape is about, named from the catalog's limit."""
    cas = None
    for n in _below(shapes, shape):
        if shapes.value(n, SH.path) == Q.substance:
            hv = shapes.value(n, SH.hasValue)
            if isinstance(hv, URIRef):
                cas = str(hv).rsplit("/", 1)[-1]
    record = catalog.by_id.get(rid) if rid else None
    lim = next((x for x in record.limits if x.cas == cas), None) if record is not None and cas else None
    return i18n.substance(name=lim.substance if lim else None, cas=cas, symbol=_symbol_of(lim.substance) if lim
                          else None)


def _symbol_of(name: str) -> str | None:
    m = re.search(r"\(([^()]*(?:\([^()]*\))?)\)\s*$", name)
    return m.group(1).replace("Cr VI", "Cr(VI)") if m else None


def _statement(shapes: Graph, shape: URIRef, kind: str, catalog: Catalog, rid: str | None) -> Localized | None:
    """What a shape requires, in every language, when it is not a plain document or
    marking requirement: the curated statement (messages.yaml ``shapes``), or the
    substance-limit and Art. 33 statements."""
    local = _shape_local(shape)
    if not str(shape).startswith(str(GEN)) and i18n.has("shapes", local):
        return i18n.render("shapes", local)
    if kind == "substance_limit":
        limit = _max_limit(shapes, shape)
        return i18n.render("statements", "substance_limit", substance=_limit_substance(shapes, shape, catalog, rid),
                           limit=i18n.mass_fraction(limit) if limit is not None else "?")
    if kind == "svhc_communication":
        return i18n.render("statements", "svhc_communication", threshold=i18n.mass_fraction(SVHC_THRESHOLD))
    return None


def _fallback(msgs: dict[str, str], where: str) -> Localized:
    """A curated shape's own sh:message where no statement is in the wording data: the
    languages it has; the others get the missing-translation marker and a flag."""
    texts = {lang: msgs[lang] for lang in LANGUAGES if msgs.get(lang)}
    missing = tuple(f"shape:{where}@{lang}" for lang in LANGUAGES if lang not in texts)
    texts.update({lang: missing_marker(lang) for lang in LANGUAGES if lang not in texts})
    return Localized(Texts(texts), missing)


def _requirement_text(
    shapes: Graph, shape: URIRef, kind: str, status: Status, catalog: Catalog, rid: str | None, clause: str,
    msgs: dict[str, str],
) -> Localized:
    """The requirement with its outcome, in every language ("Document on file: ...")."""
    ref = i18n.reference(i18n.regulation_name(catalog.by_id.get(rid) if rid else None, rid) if rid else None,
                         clause)
    statement = _statement(shapes, shape, kind, catalog, rid)
    if statement is None and kind == "missing_document":
        docs = _path_literal_values(shapes, shape, DCTERMS.type)
        return i18n.render("requirements.document", status,
                           document=i18n.join([i18n.term("documents", d) for d in docs], word="and"), ref=ref)
    if statement is None and kind == "missing_marking":
        marks = _path_literal_values(shapes, shape, Q.marking)
        return i18n.render("requirements.marking", status,
                           marking=i18n.join([i18n.term("markings", m) for m in marks], word="or"), ref=ref)
    if statement is None:
        statement = _fallback(msgs, _shape_local(shape))
    return i18n.render("requirements.statement", status, requirement=statement, ref=ref)


def _shacl_finding(
    res: _Result, g: Graph, shapes: Graph, catalog: Catalog, product_label: str
) -> GapFinding:
    rid, clause, shape_msgs = _shape_facts(shapes, res.shape)
    kind: FindingKind = _kind_of(shapes, res.shape)  # type: ignore[assignment]
    reg = _regulation_name(catalog, rid) or "?"
    record = catalog.by_id.get(rid) if rid else None
    ref = i18n.reference(i18n.regulation_name(record, rid) if rid else None, clause)
    focus = res.focus
    subject = _label(g, focus)
    evidence_nodes: list[Node] = [focus]
    owner: Owner = "compliance"
    severity: Severity = (
        "major" if res.severity == SH.Violation else ("minor" if res.severity == SH.Warning else "info")
    )
    statement = _statement(shapes, res.shape, kind, catalog, rid)
    msg: Localized
    act: Localized
    if kind == "missing_document":
        wanted = _path_literal_values(shapes, res.shape, DCTERMS.type)
        expected = " + ".join(wanted) if wanted else shape_msgs.get("en", "")
        offending = "none on file"
        evidence_nodes += list(g.subjects(Q.about, focus))
        document = i18n.join([i18n.term("documents", d) for d in wanted], word="and")
        if statement is not None:
            msg = i18n.render("findings", "requirement_not_met", subject=subject, requirement=statement, ref=ref)
        else:
            msg = i18n.render("findings", "missing_document", subject=subject, document=document, ref=ref)
        act = i18n.render("actions", "missing_document", subject=subject, document=document)
    elif kind == "missing_marking":
        wanted = _path_literal_values(shapes, res.shape, Q.marking)
        expected = " or ".join(wanted)
        have = sorted(str(m) for m in g.objects(focus, Q.marking))
        offending = ", ".join(have) if have else "none"
        owner = "engineering"
        marking = i18n.join([i18n.term("markings", m) for m in wanted], word="or")
        if statement is not None:
            msg = i18n.render("findings", "requirement_not_met", subject=subject, requirement=statement, ref=ref)
        else:
            msg = i18n.render("findings", "missing_marking", subject=subject, marking=marking, ref=ref,
                              carries=i18n.join([i18n.term("markings", m) for m in have]) if have else i18n.none())
        act = i18n.render("actions", "missing_marking", subject=subject, marking=marking)
    elif kind in ("substance_limit", "svhc_communication"):
        decl = g.value(None, Q.hasCompositionEntry, focus)
        supplier = g.value(decl, Q.declaredBy) if decl is not None else None
        sub = g.value(focus, Q.substance)
        frac = g.value(focus, Q.massFraction)
        limit = _max_limit(shapes, res.shape)
        offending = _pct(Decimal(str(frac))) if frac is not None else "no mass fraction"
        expected = f"≤ {_pct(limit)}" if limit is not None else "within the limit"
        sub_cas = _label(g, sub) if sub is not None else None
        sub_name = g.value(sub, Q.name) if sub is not None else None
        substance = i18n.substance(name=str(sub_name) if sub_name is not None else None, cas=sub_cas)
        fraction: i18n.Param = i18n.mass_fraction(Decimal(str(frac))) if frac is not None else "?"
        evidence_nodes += [x for x in (decl, sub) if x is not None]
        sup = i18n.named(_label(g, supplier) if supplier is not None else None)
        if kind == "svhc_communication":
            owner = "compliance"
            expected = "REACH Art. 33 communication for the article"
            msg = i18n.render("findings", "svhc_communication", subject=subject, substance=substance,
                              fraction=fraction, threshold=i18n.mass_fraction(SVHC_THRESHOLD), ref=ref)
            act = i18n.render("actions", "svhc_communication", subject=subject)
        else:
            owner = "supplier"
            severity = "critical" if severity == "major" else severity
            msg = i18n.render("findings", "substance_limit", subject=subject, substance=substance, fraction=fraction,
                              limit=i18n.mass_fraction(limit) if limit is not None else "?", ref=ref)
            act = i18n.render("actions", "substance_limit", supplier=sup)
    elif kind == "material_mismatch":
        owner = "supplier"
        lot = g.value(focus, Q.reportFor)
        part = g.value(lot, Q.ofPart) if lot is not None else None
        reported = res.value if res.value is not None and (res.value, Q.grade, None) in g else g.value(
            focus, Q.reportedMaterial)
        designed = sorted({_label(g, m) for line in g.subjects(Q.component, part) for m in
                           g.objects(line, Q.designedMaterial)}) if part is not None else []
        offending = _label(g, reported) if reported is not None else "?"
        expected = " / ".join(designed) or "the designed material"
        lot_label = _label(g, lot) if lot is not None else "?"
        part_label = _label(g, part) if part is not None else "?"
        supplier = g.value(lot, Q.suppliedBy) if lot is not None else None
        evidence_nodes += [x for x in (lot, part, reported) if x is not None]
        designed_text = " / ".join(designed) or "?"
        msg = i18n.render("findings", "material_mismatch", lot=lot_label, part=part_label, report=subject,
                          reported=offending, designed=designed_text, ref=ref)
        act = i18n.render("actions", "material_mismatch", lot=lot_label, designed=designed_text,
                          supplier=i18n.named(_label(g, supplier) if supplier is not None else None))
    elif kind == "calibration_invalid":
        owner = "engineering"
        severity = "critical" if severity == "major" else severity
        eq = res.value if (res.value, RDF.type, Q.Equipment) in g else g.value(focus, Q.equipment)
        start = g.value(focus, Q.startedAt)
        certs = sorted(g.objects(eq, Q.hasCalibration), key=lambda c: str(g.value(c, Q.validUntil))) if eq else []
        eq_label = _label(g, eq) if eq is not None else "?"
        when = str(start)[:10] if start is not None else "?"
        if certs:
            last = certs[-1]
            offending = f"{_label(g, last)} valid {g.value(last, Q.validFrom)} to {g.value(last, Q.validUntil)}"
            msg = i18n.render("findings", "calibration_invalid", equipment=eq_label, run=subject, date=when,
                              certificate=_label(g, last), valid_from=str(g.value(last, Q.validFrom))[:10],
                              valid_until=str(g.value(last, Q.validUntil))[:10], ref=ref)
        else:
            offending = "no calibration certificate"
            msg = i18n.render("findings", "calibration_missing", equipment=eq_label, run=subject, ref=ref)
        expected = f"calibration valid on {when}"
        evidence_nodes += [x for x in (eq, *certs) if x is not None]
        act = i18n.render("actions", "calibration_invalid", equipment=eq_label, run=subject)
    else:
        cls = _kind_label(g, focus)
        owner = "supplier" if cls in ("TestReport", "SupplierDeclaration", "CompositionEntry") else (
            "engineering" if cls in ("ProductionRun", "Lot", "Equipment", "CalibrationCertificate") else "compliance")
        offending = _label(g, res.value) if res.value is not None else "missing or invalid"
        path = res.path
        expected = f"a valid {str(path).rsplit('#', 1)[-1].rsplit('/', 1)[-1]}" if isinstance(path, URIRef) else (
            "the requirement met")
        if statement is None:
            statement = _fallback({**shape_msgs, **res.messages}, _shape_local(res.shape))
        msg = i18n.render("findings", "requirement_not_met", subject=subject, requirement=statement, ref=ref)
        act = i18n.render("actions", "requirement_not_met", subject=subject, ref=ref)
    if res.value is not None:
        evidence_nodes.append(res.value)
    return GapFinding(
        kind=kind, severity=severity, source="shacl", regulation_id=rid, regulation=reg, clause=clause or None,
        subject=str(focus), subject_label=subject, offending=offending, expected=expected,
        message_en=msg.texts.text("en"), message_zh=msg.texts.text("zh"), evidence=_evidence(g, evidence_nodes),
        remediation=_remediation(owner, act), shape=str(res.shape),
        shape_message_en=res.messages.get("en") or shape_msgs.get("en"),
        shape_message_zh=res.messages.get("zh") or shape_msgs.get("zh"),
        messages=msg.texts, untranslated=tuple(dict.fromkeys(msg.untranslated + act.untranslated)),
    )


def _remediation(owner: Owner, act: Localized) -> Remediation:
    return Remediation(owner, act.texts.text("en"), act.texts.text("zh"), act.texts)



# ---------------------------------------------------------------- as designed vs as built


def as_built(store: GraphStore, graph: Graph) -> AsBuilt:
    """The trace checks (material, parameter set in force, calibration at run time) for
    the lots and runs of the focus subgraph."""
    runs = {str(r) for r in graph.subjects(RDF.type, Q.ProductionRun)}
    lots = {str(x) for x in graph.subjects(RDF.type, Q.Lot)}
    consumed: dict[str, set[str]] = defaultdict(set)
    produced: dict[str, set[str]] = defaultdict(set)
    for run in runs:
        consumed[run] = {str(o) for o in graph.objects(URIRef(run), Q.consumed)}
        produced[run] = {str(o) for o in graph.objects(URIRef(run), Q.produced)}
    _, lot_traces = tr.item_traces(store, lots) if lots else ([], [])
    run_traces = tr.run_traces(store, runs, consumed, produced)
    return AsBuilt(
        lots=tuple(sorted(lot_traces, key=lambda x: x.lot_number)),
        runs=tuple(sorted(run_traces, key=lambda r: (r.started_at, r.run_id))),
    )


_AS_BUILT_OWNER: dict[str, Owner] = {
    "material_mismatch": "supplier",
    "parameter_set_outdated": "engineering",
    "parameter_out_of_tolerance": "engineering",
    "calibration_invalid": "engineering",
    "calibration_missing": "engineering",
}


def _as_built_texts(f: tr.Finding, built: AsBuilt) -> tuple[Localized, Localized]:
    """The message and action of an as-built finding in every language, from the traces
    the finding was drawn from (the trace module's own texts are English and Chinese)."""
    lots = {x.id: x for x in built.lots}
    runs = {x.id: x for x in built.runs}
    if f.kind == "material_mismatch":
        lot = lots[f.subject]
        check = next(c for c in lot.material_checks if not c.matches and c.reported == f.actual)
        supplier = i18n.named(lot.supplier.supplier_id if lot.supplier is not None else None)
        return (
            i18n.render("findings", "material_mismatch", lot=lot.lot_number, part=lot.part_number or "?",
                        report=check.test_report, reported=check.reported, designed=f.expected, ref=""),
            i18n.render("actions", "material_mismatch", lot=lot.lot_number, designed=f.expected, supplier=supplier),
        )
    if f.kind == "parameter_set_outdated":
        run = runs[f.subject]
        return (
            i18n.render("findings", "parameter_set_outdated", run=run.run_id, date=run.started_at.date().isoformat(),
                        used=f.actual, in_force=f.expected),
            i18n.render("actions", "parameter_set_outdated", run=run.run_id),
        )
    if f.kind == "parameter_out_of_tolerance":
        run = runs[f.subject]
        p = next(p for p in run.parameters if p.within_tolerance is False
                 and f"{p.actual}{f' {i18n.unit_symbol(p.unit)}' if p.unit else ''}" == f.actual)
        unit = i18n.unit_symbol(p.unit)
        return (
            i18n.render("findings", "parameter_out_of_tolerance", run=run.run_id, parameter=p.parameter,
                        actual=i18n.quantity(p.actual, unit),
                        spec=i18n.quantity(p.nominal, unit, tolerance=p.tolerance),
                        in_force=run.parameter_set_in_force or "?"),
            i18n.render("actions", "parameter_out_of_tolerance", run=run.run_id),
        )
    run = next(runs[e] for e in f.evidence if e in runs)
    eq = run.equipment
    eq_label = eq.equipment_id if eq is not None else "?"
    if f.kind == "calibration_missing" or eq is None or not eq.calibrations:
        return (
            i18n.render("findings", "calibration_missing", equipment=eq_label, run=run.run_id, ref=""),
            i18n.render("actions", "calibration_missing", equipment=eq_label, run=run.run_id),
        )
    latest = max(eq.calibrations, key=lambda c: c.valid_until)
    return (
        i18n.render("findings", "calibration_invalid", equipment=eq_label, run=run.run_id,
                    date=run.started_at.date().isoformat(), certificate=latest.number,
                    valid_from=latest.valid_from.isoformat(), valid_until=latest.valid_until.isoformat(), ref=""),
        i18n.render("actions", "calibration_invalid", equipment=eq_label, run=run.run_id),
    )


def _as_built_findings(built: AsBuilt, g: Graph) -> list[GapFinding]:
    out = []
    for f in tr.findings_for(list(built.lots), list(built.runs)):
        msg, act = _as_built_texts(f, built)
        sev: Severity = f.severity
        out.append(GapFinding(
            kind=f.kind, severity=sev, source="as_built", regulation_id=None, regulation=None, clause=None,
            subject=f.subject, subject_label=_label(g, URIRef(f.subject)), offending=f.actual, expected=f.expected,
            message_en=msg.texts.text("en"), message_zh=msg.texts.text("zh"),
            evidence=_evidence(g, [URIRef(e) for e in f.evidence]),
            remediation=_remediation(_AS_BUILT_OWNER[f.kind], act),
            messages=msg.texts, untranslated=tuple(dict.fromkeys(msg.untranslated + act.untranslated)),
        ))
    return out


def _merge(shacl: list[GapFinding], built: list[GapFinding]) -> list[GapFinding]:
    """An as-built finding that a SHACL finding of the same kind already names (same
    evidence) is dropped: the SHACL one carries the clause; its expected value wins."""
    out = list(shacl)
    for b in built:
        ids = {e.id for e in b.evidence} | {b.subject}
        twin = any(s.kind == b.kind and ids & ({e.id for e in s.evidence} | {s.subject}) for s in shacl)
        if not twin:
            out.append(b)
    return out


def _screening_findings(report: ScreeningReport, catalog: Catalog, g: Graph) -> list[GapFinding]:
    """Class C declarations (category above threshold, no exemption) that SHACL cannot see."""
    out = []
    for hit in report.failures:
        if hit.mass_fraction is not None:
            continue  # a mass fraction is checked by the substance-limit shapes
        reg = _regulation_name(catalog, hit.regulation_id)
        ref = i18n.reference(i18n.regulation_name(catalog.by_id.get(hit.regulation_id), hit.regulation_id),
                             "Annex II")
        substance = i18n.substance(name=hit.substance, cas=hit.cas, symbol=_symbol_of(hit.substance))
        msg = i18n.render("findings", "declared_above_threshold", part=hit.part_number, material=hit.material or "?",
                          declaration=hit.declaration_number, substance=substance,
                          limit=i18n.mass_fraction(hit.limit_fraction), ref=ref)
        act = i18n.render("actions", "declared_above_threshold", supplier=i18n.named(None))
        out.append(GapFinding(
            kind="substance_limit", severity="critical", source="screening", regulation_id=hit.regulation_id,
            regulation=reg, clause="Annex II", subject=hit.entry, subject_label=f"{hit.part_number} / {hit.material}",
            offending="declared above threshold", expected=f"≤ {_pct(hit.limit_fraction)} or a valid exemption",
            message_en=msg.texts.text("en"), message_zh=msg.texts.text("zh"),
            evidence=_evidence(g, [URIRef(hit.entry)]),
            remediation=_remediation("supplier", act),
            messages=msg.texts, untranslated=tuple(dict.fromkeys(msg.untranslated + act.untranslated)),
        ))
    return out


_CHINA_ROHS_OWNER: dict[str, Owner] = {
    "no_evidence": "supplier", "contradicted": "supplier", "no_content": "supplier", "no_chinese_name": "engineering",
}


def _china_rohs_findings(
    report: ScreeningReport, catalog: Catalog, g: Graph, regulation_ids: frozenset[str]
) -> list[GapFinding]:
    """What keeps the SJ/T 11364 table from being stated from evidence: a part whose
    material no declaration or test covers, a declaration the as-built test report
    contradicts, a substance without content, a part without a Chinese name. Raised
    only where the table is required (SJ/T 11364 / MIIT Order 32 applies)."""
    table = report.china_rohs
    if table is None or not table.required:
        return []
    rid = next(r for r in CHINA_ROHS_TABLE if r in regulation_ids)
    record = catalog.by_id.get(rid)
    ref = i18n.reference(i18n.regulation_name(record, rid))
    out = []
    for gap in table.gaps:
        params: dict[str, i18n.Param] = {"part": gap.part_number, "ref": ref}
        if gap.kind == "no_evidence":
            params["material"] = gap.material or "?"
        elif gap.kind == "contradicted":
            params.update(declaration=gap.declaration or "?", declared=gap.material or "?", report=gap.report or "?",
                          lot=gap.lot or "?", tested=gap.tested or "?")
        elif gap.kind == "no_content":
            params["substances"] = i18n.join([_table_substance(table, s) for s in gap.symbols], word="and")
        msg = i18n.render("findings", f"china_rohs_{gap.kind}", **params)
        act = i18n.render("actions", f"china_rohs_{gap.kind}", **{k: v for k, v in params.items() if k != "ref"})
        evidence = [URIRef(x) for x in (gap.part, *gap.evidence)]
        out.append(GapFinding(
            kind="china_rohs_data", severity="major", source="screening", regulation_id=rid,
            regulation=_regulation_name(catalog, rid), clause=None, subject=gap.part, subject_label=gap.part_number,
            offending=gap.offending, expected=gap.expected,
            message_en=msg.texts.text("en"), message_zh=msg.texts.text("zh"), evidence=_evidence(g, evidence),
            remediation=_remediation(_CHINA_ROHS_OWNER[gap.kind], act),
            messages=msg.texts, untranslated=tuple(dict.fromkeys(msg.untranslated + act.untranslated)),
        ))
    return out


def _table_substance(table: ChinaRohsTable, symbol: str) -> Localized:
    col = next((c for c in table.columns if c.symbol == symbol), None)
    return i18n.substance(name=col.substance if col else symbol, cas=col.cas if col else None, symbol=symbol)



# ---------------------------------------------------------------- the report


def _focus_count(g: Graph, shapes: Graph, shape: URIRef) -> int:
    n = 0
    for cls in shapes.objects(shape, SH.targetClass):
        n += len(set(g.subjects(RDF.type, cls)))
    for node in shapes.objects(shape, SH.targetNode):
        n += 1 if (node, None, None) in g else 0
    return n


def gap_report(
    store: GraphStore,
    product_id: str,
    market: str,
    *,
    on: dt.date | None = None,
    catalog: Catalog | None = None,
) -> GapReport:
    """The gap report of ``product_id`` (model number or IRI) for ``market`` on ``on``.

    CPython's cyclic garbage collector is paused while the report is made: the report
    allocates some 10^5 short-lived objects (terms, triples, index entries, pySHACL
    results) that reference counting frees, and the collector, triggered by allocation
    counts, would walk the whole heap (earlier reports' graphs included) again and
    again: half the time of a 1,000-line BOM's report. It resumes afterwards and then
    collects whatever cycles were made meanwhile.
    """
    with _gc_paused():
        return _gap_report(store, product_id, market, on=on, catalog=catalog)


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _gap_report(
    store: GraphStore,
    product_id: str,
    market: str,
    *,
    on: dt.date | None,
    catalog: Catalog | None,
) -> GapReport:
    timings: list[tuple[str, float]] = []
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings.append((name, round((now - clock) * 1000, 1)))
        clock = now

    on = on or dt.date.today()
    catalog = catalog or default_catalog()
    check_market(market, catalog)
    applicability = applicable_regulations(store, product_id, market, on=on, catalog=catalog)
    ids = applicability.ids
    route = _route(applicability, catalog)
    lap("applicability")
    shapes, inferred = _compiled_shapes(ids, catalog)
    lap("shapes")
    product = URIRef(applicability.product.iri)
    data = focus_subgraph(store, str(product), on=on, catalog=catalog)
    lap("focus_subgraph")
    if inferred:
        data = infer(data, inplace=True)
    lap("owl_rl")
    conforms, report = validate(data, shapes)
    lap("pyshacl")
    results = _results(report, shapes)
    label = applicability.product.model
    shacl = [_shacl_finding(r, data, shapes, catalog, label) for r in results]
    lap("shacl_findings")
    built = as_built(store, data)
    lap("as_built")
    screening = screen(data, product, catalog, regulation_ids=ids, market=market, on=on)
    lap("screening")
    repair = repairability(data, product) if REPAIRABILITY_REGULATION in ids else None
    lap("repairability")
    findings = (_merge(shacl, _as_built_findings(built, data)) + _screening_findings(screening, catalog, data)
                + _china_rohs_findings(screening, catalog, data, ids))
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], f.regulation_id or "~", f.kind, f.subject_label,
                                 f.expected))
    violated_shapes: dict[URIRef, int] = defaultdict(int)
    for r in results:
        violated_shapes[r.shape] += 1
    checks = []
    for shape in sorted({s for s in shapes.subjects(RDF.type, SH.NodeShape) if isinstance(s, URIRef)}, key=str):
        rid, clause, msgs = _shape_facts(shapes, shape)
        count = _focus_count(data, shapes, shape)
        violations = violated_shapes.get(shape, 0)
        status: Status = "violated" if violations else ("not_checkable" if count == 0 else "passed")
        kind = _kind_of(shapes, shape)
        text = _requirement_text(shapes, shape, kind, status, catalog, rid, clause, msgs)
        checks.append(RequirementCheck(
            shape=str(shape), regulation_id=rid or "", clause=clause, kind=kind,
            generated=str(shape).startswith(str(GEN)), status=status, focus_nodes=count, violations=violations,
            message_en=text.texts.text("en"), message_zh=text.texts.text("zh"), messages=text.texts,
            untranslated=text.untranslated,
        ))
    not_checkable = [f"{c.regulation_id}: {c.message_en}" for c in checks if c.status == "not_checkable"]
    not_checkable += [f"{g.screen}: {g.subject}: {g.reason}" for g in screening.not_checkable]
    if repair is not None:
        not_checkable += [f"{REPAIRABILITY_REGULATION}: repairability data missing: {m}" for m in repair.missing]
    severities: dict[str, int] = defaultdict(int)
    for f in findings:
        severities[f.severity] += 1
    summary = GapSummary(
        checked=len(checks), passed=sum(c.status == "passed" for c in checks),
        violated=sum(c.status == "violated" for c in checks),
        not_checkable=len(not_checkable), not_checkable_items=tuple(not_checkable),
        findings_by_severity=tuple(sorted(severities.items(), key=lambda kv: _SEVERITY_ORDER[kv[0]])),
    )
    report.bind("sh", SH)
    report.bind("q", Q)
    ttl = report.serialize(format="turtle")
    jsonld = report.serialize(format="json-ld")
    lap("report")
    return GapReport(
        product=applicability.product, market=applicability.market, on=on, catalog_version=catalog.version,
        applicable=applicability.applicable, conforms=not findings, summary=summary, findings=tuple(findings),
        requirements=tuple(checks), screening=screening, as_built=built, inferred=inferred,
        focus_triples=len(data), validation_conforms=conforms, validation_report_ttl=ttl,
        validation_report_jsonld=jsonld, timings_ms=tuple(timings), data_graph=data, shapes_graph=shapes,
        repairability=repair, route=route, excluded=applicability.excluded,
    )


#: Catalog instrument types that are standards: they give presumption of conformity,
#: they are not acts with a route of their own.
STANDARD_TYPES = frozenset({"harmonised_standard", "national_standard", "international_standard",
                            "industry_standard"})


def _route(applicability: ApplicabilityReport, catalog: Catalog) -> Route | None:
    """The product's legal route in the report's market (routes.yaml), acts cited in each
    language of its reason; None where routes.yaml has no route for that market."""
    routes = load_routes()
    if applicability.market.upper() not in routes.markets:
        return None
    acts = [a.id for a in applicability.applicable if a.instrument_type not in STANDARD_TYPES]
    by_id = catalog.by_id
    return decide_route(applicability.market, applicability.on, acts, applicability.categories,
                        applicability.features, applicability.excluded, routes=routes,
                        act_names=lambda rid, lang: cite(by_id[rid], lang) if rid in by_id else rid)


__all__ = [
    "GEN",
    "LANGUAGES",
    "STANDARD_TYPES",
    "AsBuilt",
    "Evidence",
    "GapError",
    "GapFinding",
    "GapReport",
    "GapSummary",
    "Remediation",
    "RequirementCheck",
    "Texts",
    "as_built",
    "focus_subgraph",
    "gap_report",
    "infer",
    "inference_terms",
    "shapes_graph_for",
    "validate",
]
