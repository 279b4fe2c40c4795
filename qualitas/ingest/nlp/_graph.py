"""Warning letters as RDF, their loading into the store, and the queries over them.

IRIs come from business keys (the letter's reference or file name, the firm's name, the
normalised citation), so re-ingesting a letter is idempotent. Citations link to catalog
requirements: ``21 CFR 820.100(a)`` -> ``id/requirement/us-21cfr820-qmsr/820.100(a)``, a
``q:Requirement`` of the catalog regulation ``id/regulation/us-21cfr820-qmsr`` (ELI-aligned,
see ``qualitas.regulations.catalog_graph``), and old Part 820 sections to the ISO 13485:2016
clause in force under the QMSR (``q:inForceAs``).

A stated chain "device problem -> cause -> design or process weakness" is a ``q:FailureMode``
-> ``q:FailureMechanism`` (with the sentence it was read from as ``q:evidence``) ->
``q:DesignWeakness`` (``dcterms:type`` "design" or "process"); the device problem and the
cause carry their IMDRF terms as ``dcterms:subject`` (``skos:Concept`` with
``skos:notation``, ``id/imdrf/A0504``; an Annex C term without a verified code is
``id/imdrf/annex-c/<slug>``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS

from qualitas.ingest.nlp._complaints import LibraryEntry, TextItem
from qualitas.ingest.nlp._imdrf import cause_findings, imdrf_codes, imdrf_term
from qualitas.ingest.nlp._letters import WarningLetter
from qualitas.ingest.nlp._tables import iso13485_clauses, subsystem_labels
from qualitas.ontology import ID, Q, mint, sparql_prefixes
from qualitas.store import GraphStore, LoadResult

__all__ = [
    "FailureModeHit",
    "LetterSummary",
    "complaint_texts",
    "failure_mode_library",
    "failure_modes_like_ours",
    "letter_graph",
    "list_failure_modes",
    "list_letters",
    "load_letter",
    "load_letter_file",
    "regulation_for",
]

#: Catalog regulation id by CFR part (qualitas/regulations/catalog/us.yaml).
_CFR_PARTS = {
    820: "us-21cfr820-qmsr",
    803: "us-21cfr803",
    806: "us-21cfr806",
    807: "us-21cfr807",
    801: "us-21cfr801",
    830: "us-21cfr830",
    812: "us-21cfr812",
    814: "us-21cfr814",
    7: "us-21cfr7",
    11: "us-21cfr11",
}
_ISO13485 = "int-iso-13485-2016"
_NMPA_GMP = "cn-md-gmp-2014"


def _id(kind: str, *keys: str) -> URIRef:
    return ID[kind + "/" + "/".join(quote(k.strip(), safe="-._~") for k in keys)]


def _slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text.lower()).strip("-")[:80] or "x"


def regulation_for(citation: str) -> str | None:
    """The catalog regulation id a normalised citation belongs to."""
    if citation.startswith("GMP "):
        return _NMPA_GMP
    m = re.match(r"21 CFR (?:Part )?(\d+)", citation)
    return _CFR_PARTS.get(int(m.group(1))) if m else None


def letter_key(letter: WarningLetter) -> str:
    if letter.reference:
        return letter.reference
    base = f"{letter.firm or ''}-{letter.date or ''}"
    return _slug(base) if base.strip("-") else hashlib.sha256((letter.source or "").encode()).hexdigest()[:16]


def _requirement(g: Graph, citation: str) -> URIRef | None:
    reg_id = regulation_for(citation)
    if reg_id is None:
        return None
    clause = citation.removeprefix("21 CFR ").removeprefix("GMP ")
    req = mint("requirement", reg_id, clause)
    g.add((req, RDF.type, Q.Requirement))
    g.add((req, Q.clause, Literal(clause)))
    g.add((mint("regulation", reg_id), Q.hasRequirement, req))
    for iso in iso13485_clauses(citation):
        now = mint("requirement", _ISO13485, iso)
        g.add((now, RDF.type, Q.Requirement))
        g.add((now, Q.clause, Literal(iso)))
        g.add((mint("regulation", _ISO13485), Q.hasRequirement, now))
        g.add((req, Q.inForceAs, now))
    return req


def _imdrf_concept(g: Graph, code: str | None, term: str, annex: str) -> URIRef:
    iri = _id("imdrf", code) if code else _id("imdrf", f"annex-{annex.lower()}", _slug(term))
    g.add((iri, RDF.type, SKOS.Concept))
    g.add((iri, SKOS.prefLabel, Literal(term, lang="en")))
    g.add((iri, SKOS.inScheme, _id("imdrf", f"annex-{annex.lower()}")))
    if code:
        g.add((iri, SKOS.notation, Literal(code)))
    return iri


def letter_graph(letter: WarningLetter) -> Graph:
    """The letter's facts as RDF (see the module docstring for the IRIs)."""
    g = Graph()
    lang = letter.language
    key = letter_key(letter)
    s = _id("warningletter", key)
    g.add((s, RDF.type, Q.WarningLetter))
    g.add((s, Q.documentNumber, Literal(key)))
    if letter.date:
        g.add((s, DCTERMS.issued, Literal(letter.date.isoformat(), datatype=XSD.date)))
    if letter.source:
        g.add((s, DCTERMS.source, Literal(letter.source)))
    if letter.firm:
        firm = _id("firm", _slug(letter.firm))
        g.add((firm, RDF.type, Q.Firm))
        g.add((firm, Q.name, Literal(letter.firm)))
        g.add((s, Q.issuedTo, firm))
    for p in letter.products:
        g.add((s, Q.productName, Literal(p)))
    labels = subsystem_labels()
    for i, v in enumerate(letter.violations, 1):
        vi = _id("violation", key, str(i))
        ci = _id("citation", key, v.citation)
        g.add((s, Q.hasViolation, vi))
        g.add((vi, RDF.type, Q.Violation))
        g.add((vi, Q.requirementText, Literal(v.requirement, lang=lang)))
        if v.observation:
            g.add((vi, Q.observation, Literal(v.observation, lang=lang)))
        g.add((vi, Q.hasCitation, ci))
        g.add((ci, RDF.type, Q.Citation))
        g.add((ci, Q.code, Literal(v.citation)))
        g.add((ci, Q.charged, Literal(True)))
        req = _requirement(g, v.citation)
        if req is not None:
            g.add((ci, Q.citesRequirement, req))
        if v.subsystem:
            sub = _id("subsystem", v.subsystem)
            g.add((vi, Q.subsystem, sub))
            g.add((sub, RDF.type, Q.QualitySubsystem))
            g.add((sub, Q.code, Literal(v.subsystem)))
            for lg, text in labels.get(v.subsystem, {}).items():
                g.add((sub, SKOS.prefLabel, Literal(text, lang=lg)))
    for ref in letter.other_references:
        if not ref.startswith("21 CFR"):
            continue
        ci = _id("citation", key, ref)
        g.add((s, Q.hasCitation, ci))
        g.add((ci, RDF.type, Q.Citation))
        g.add((ci, Q.code, Literal(ref)))
        g.add((ci, Q.charged, Literal(False)))
        if not ref.startswith("21 CFR Part"):
            req = _requirement(g, ref)
            if req is not None:
                g.add((ci, Q.citesRequirement, req))
    for r in letter.relations:
        fm = _id("failuremode", "nlp", _slug(r.failure_mode) if lang == "en" else r.failure_mode)
        g.add((fm, RDF.type, Q.FailureMode))
        g.add((fm, RDFS.label, Literal(r.failure_mode, lang=lang)))
        g.add((s, Q.reportsFailureMode, fm))
        mech = _id("mechanism", key, hashlib.sha256(r.mechanism.encode()).hexdigest()[:12])
        g.add((mech, RDF.type, Q.FailureMechanism))
        g.add((mech, Q.text, Literal(r.mechanism, lang=lang)))
        g.add((mech, Q.evidence, Literal(r.sentence)))
        g.add((fm, Q.hasMechanism, mech))
        for code in r.imdrf:
            term = imdrf_term(code)
            if term is not None:
                g.add((fm, DCTERMS.subject, _imdrf_concept(g, code, term.term, "A")))
        for cause in r.causes:
            found = next((t for t in cause_findings(cause) if t.term == cause), None)
            g.add((mech, DCTERMS.subject, _imdrf_concept(g, found.code if found else None, cause, "C")))
        if r.design_weakness or r.weakness_kind:
            name = r.design_weakness or f"{r.weakness_kind} weakness"
            dw = _id("designweakness", _slug(name) if lang == "en" else name)
            g.add((dw, RDF.type, Q.DesignWeakness))
            g.add((dw, RDFS.label, Literal(name, lang=lang)))
            if r.weakness_kind:
                g.add((dw, DCTERMS.type, Literal(r.weakness_kind)))
            g.add((mech, Q.dueToWeakness, dw))
    return g


def load_letter(store: GraphStore, letter: WarningLetter, *, agent: str) -> LoadResult:
    """Load one letter as one batch (source ``warning-letter:<key>``); unchanged reloads are no-ops."""
    g = letter_graph(letter)
    data = g.serialize(format="nt", encoding="utf-8")
    digest = hashlib.sha256(b"".join(sorted(data.splitlines()))).hexdigest()
    return store.load_triples(
        iter(g), source=f"warning-letter:{letter_key(letter)}", sha256=digest, agent=agent, format="warning-letter"
    )


def load_letter_file(store: GraphStore, letter: WarningLetter, *, source: str, sha256: str, agent: str) -> LoadResult:
    """Load one letter file as its own batch: ``source`` names the file and ``sha256`` is the
    file's, so an unchanged file is recognised before it is read (``qualitas nlp load``)."""
    triples = iter(letter_graph(letter))
    return store.load_triples(triples, source=source, sha256=sha256, agent=agent, format="warning-letter")


def failure_mode_library(store: GraphStore) -> list[LibraryEntry]:
    """Our failure modes (FMEA and complaint failure modes, not those read from letters) as the
    library complaint texts are classified into."""
    rows = store.select(
        sparql_prefixes()
        + """
        SELECT ?x (SAMPLE(?nm) AS ?name) (SAMPLE(?d) AS ?desc) WHERE {
          ?x a q:FailureMode .
          OPTIONAL { ?x q:name ?n } OPTIONAL { ?x rdfs:label ?lb } OPTIONAL { ?x q:code ?cd }
          OPTIONAL { ?x q:text ?d }
          BIND(COALESCE(?n, ?lb, ?cd) AS ?nm)
          FILTER(BOUND(?nm) && !STRSTARTS(STR(?x), CONCAT(STR(id:), "failuremode/nlp/")))
        } GROUP BY ?x ORDER BY ?x"""
    )
    return [LibraryEntry(str(r["x"]), str(r["name"]), str(r.get("desc") or "")) for r in rows]


def complaint_texts(store: GraphStore) -> list[TextItem]:
    """Our complaints' texts (each language version its own item)."""
    rows = store.select(
        sparql_prefixes()
        + """
        SELECT ?id ?text WHERE { ?c a q:Complaint ; q:complaintId ?id ; q:text ?text } ORDER BY ?id"""
    )
    out = []
    for r in rows:
        lang = getattr(r["text"], "language", None)
        known = lang[:2] if lang and lang[:2] in ("en", "de", "zh") else None
        out.append(TextItem(str(r["id"]), str(r["text"]), known))
    return out


# ---------------------------------------------------------------- queries


@dataclass(frozen=True)
class LetterSummary:
    reference: str
    firm: str | None
    issued: dt.date | None
    charged: tuple[str, ...]
    subsystems: tuple[str, ...]
    requirements: tuple[str, ...]


@dataclass(frozen=True)
class FailureModeRow:
    failure_mode: str
    mechanism: str
    design_weakness: str | None
    letter: str
    evidence: str | None = None
    imdrf: tuple[str, ...] = ()
    weakness_kind: str | None = None


@dataclass(frozen=True)
class FailureModeHit:
    """A letter finding like one of ours (failure mode, process step or complaint), with the
    score (0-1), the way it matched (``codes``, ``text`` or both) and the reason."""

    letter: str
    firm: str | None
    failure_mode: str
    mechanism: str
    design_weakness: str | None
    ours: str  # our failure mode, process step or complaint (its name or text)
    ours_kind: str  # "failure_mode", "process_step" or "complaint"
    shared_terms: tuple[str, ...]
    score: float = 0.0
    via: str = "text"
    reason: str = ""
    imdrf: tuple[str, ...] = ()
    evidence: str | None = None


def _date(value: object) -> dt.date | None:
    return value if isinstance(value, dt.date) else None


def list_letters(store: GraphStore) -> list[LetterSummary]:
    rows = store.select(
        sparql_prefixes()
        + """
        SELECT ?ref ?firm ?issued ?code ?sub ?req WHERE {
          ?l a q:WarningLetter ; q:documentNumber ?ref .
          OPTIONAL { ?l q:issuedTo/q:name ?firm }
          OPTIONAL { ?l dcterms:issued ?issued }
          OPTIONAL { ?l q:hasViolation ?v . ?v q:hasCitation/q:code ?code .
                     OPTIONAL { ?v q:subsystem/q:code ?sub }
                     OPTIONAL { ?v q:hasCitation/q:citesRequirement ?req } }
        } ORDER BY ?ref ?code"""
    )
    by: dict[str, dict[str, object]] = {}
    for r in rows:
        e = by.setdefault(str(r["ref"]), {"firm": r.get("firm"), "issued": r.get("issued"), "c": {}, "s": {}, "q": {}})
        for k, col in (("c", "code"), ("s", "sub"), ("q", "req")):
            if col in r:
                e[k][str(r[col])] = None  # type: ignore[index]
    return [
        LetterSummary(
            ref,
            e["firm"] and str(e["firm"]),
            _date(e["issued"]),
            tuple(e["c"]),  # type: ignore[arg-type]
            tuple(e["s"]),
            tuple(e["q"]),
        )
        for ref, e in sorted(by.items())
    ]


def list_failure_modes(store: GraphStore) -> list[FailureModeRow]:
    rows = store.select(
        sparql_prefixes()
        + """
        SELECT ?fm ?mech ?dw ?kind ?ref ?ev (GROUP_CONCAT(DISTINCT ?code; separator=" ") AS ?codes) WHERE {
          ?l a q:WarningLetter ; q:documentNumber ?ref ; q:reportsFailureMode ?f .
          ?f rdfs:label ?fm ; q:hasMechanism ?m .
          ?m q:text ?mech .
          FILTER(STRSTARTS(STR(?m), CONCAT(STR(id:), "mechanism/", ENCODE_FOR_URI(?ref), "/")))
          OPTIONAL { ?m q:evidence ?ev }
          OPTIONAL { ?m q:dueToWeakness ?w . ?w rdfs:label ?dw . OPTIONAL { ?w dcterms:type ?kind } }
          OPTIONAL { ?f dcterms:subject/skos:notation ?code }
        } GROUP BY ?fm ?mech ?dw ?kind ?ref ?ev ORDER BY ?ref ?fm"""
    )
    return [
        FailureModeRow(
            str(r["fm"]),
            str(r["mech"]),
            str(r["dw"]) if "dw" in r else None,
            str(r["ref"]),
            str(r["ev"]) if "ev" in r else None,
            tuple(sorted(str(r.get("codes") or "").split())),
            str(r["kind"]) if "kind" in r else None,
        )
        for r in rows
    ]


def _ours(store: GraphStore) -> list[tuple[str, str]]:
    """Our failure modes and process steps (name) and complaints (text), with their kind."""
    rows = store.select(
        sparql_prefixes()
        + """
        SELECT ?x ?name ?kind WHERE {
          { ?x a q:FailureMode . OPTIONAL { ?x q:name ?n } OPTIONAL { ?x rdfs:label ?lb } OPTIONAL { ?x q:code ?cd }
            BIND(COALESCE(?n, ?lb, ?cd) AS ?name) BIND("failure_mode" AS ?kind)
            FILTER(!STRSTARTS(STR(?x), CONCAT(STR(id:), "failuremode/nlp/"))) }
          UNION { ?x a q:ProcessStep ; q:name ?name . BIND("process_step" AS ?kind) }
          UNION { ?x a q:Complaint ; q:text ?name . BIND("complaint" AS ?kind) }
          FILTER(BOUND(?name))
        }"""
    )
    return sorted({(str(r["name"]), str(r["kind"])) for r in rows})


def failure_modes_like_ours(store: GraphStore, *, limit: int = 50, min_score: float = 0.2) -> list[FailureModeHit]:
    """Letter findings like our failure modes, process steps and complaints, best first.

    Two ways, as in :mod:`qualitas.ingest.nlp._complaints`: through the IMDRF Annex A codes
    (the finding's, stored with it; ours, read from the name or text in English, German or
    Chinese): the same code scores 1, the same family 0.5; and through BM25 (``rank-bm25``)
    of our name or text against each finding's mode, mechanism, weakness and evidence
    sentence (:class:`~qualitas.ingest.nlp._complaints.Bm25`), squashed to s / (s + 2).
    ``score = 0.6 * codes + 0.4 * text``; hits below
    ``min_score`` are dropped. Each hit says why it matched."""
    from qualitas.ingest.nlp._complaints import Bm25, tokens
    from qualitas.ingest.nlp._imdrf import detect_language

    findings = list_failure_modes(store)
    if not findings:
        return []
    letters = {s.reference: s.firm for s in list_letters(store)}
    docs = []
    for row in findings:
        text = f"{row.failure_mode} {row.mechanism} {row.design_weakness or ''} {row.evidence or ''}"
        docs.append(tokens(text, "en") + [f"imdrf:{c}" for c in row.imdrf] or ["_"])
    bm25 = Bm25(docs)
    hits: list[FailureModeHit] = []
    for name, kind in _ours(store):
        lang = detect_language(name)
        codes = {h.code for h in imdrf_codes(name) if h.code}
        query = tokens(name, lang) + [f"imdrf:{c}" for c in codes]
        raw = bm25.scores(query)
        for i, row in enumerate(findings):
            exact = codes & set(row.imdrf)
            family = {c[:3] for c in codes} & {c[:3] for c in row.imdrf}
            code_score = 1.0 if exact else 0.5 if family else 0.0
            s = max(float(raw[i]), 0.0)
            text_score = s / (s + 2.0)
            score = round(0.6 * code_score + 0.4 * text_score, 3)
            if score < min_score:
                continue
            shared = tuple(sorted((set(query) & set(docs[i])) - {t for t in query if t.startswith("imdrf:")}))
            via = "+".join(w for w, on in (("codes", code_score > 0), ("text", text_score > 0)) if on)
            parts = []
            if exact:
                parts.append("same IMDRF code " + ", ".join(f"{c} {imdrf_term(c).term}" for c in sorted(exact)))  # type: ignore[union-attr]
            elif family:
                parts.append("same IMDRF family " + ", ".join(sorted(family)))
            if shared:
                parts.append(f"BM25 {s:.2f} on " + ", ".join(shared[:6]))
            hits.append(
                FailureModeHit(
                    row.letter,
                    letters.get(row.letter),
                    row.failure_mode,
                    row.mechanism,
                    row.design_weakness,
                    name,
                    kind,
                    shared,
                    score,
                    via,
                    "; ".join(parts),
                    tuple(sorted(exact or codes & set(row.imdrf))),
                    row.evidence,
                )
            )
    hits.sort(key=lambda h: (-h.score, h.letter, h.failure_mode, h.ours))
    return hits[:limit]


def letters_graph(letters: Iterable[WarningLetter]) -> Graph:
    g = Graph()
    for letter in letters:
        g += letter_graph(letter)
    return g
