"""Warning letters as RDF, their loading into the store, and the queries over them.

IRIs come from business keys (the letter's reference or file name, the firm's name, the
normalised citation), so re-ingesting a letter is idempotent. Citations link to catalog
requirements: ``21 CFR 820.100(a)`` -> ``id/requirement/us-21cfr820-qmsr/820.100(a)``, a
``q:Requirement`` of the catalog regulation ``id/regulation/us-21cfr820-qmsr`` (ELI-aligned,
see ``qualitas.regulations.catalog_graph``), and old Part 820 sections to the ISO 13485:2016
clause in force under the QMSR (``q:inForceAs``).
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

from qualitas.ingest.nlp._letters import WarningLetter
from qualitas.ingest.nlp._tables import iso13485_clauses, subsystem_labels
from qualitas.ontology import ID, Q, mint, sparql_prefixes
from qualitas.store import GraphStore, LoadResult

__all__ = [
    "FailureModeHit",
    "LetterSummary",
    "failure_modes_like_ours",
    "letter_graph",
    "list_failure_modes",
    "list_letters",
    "load_letter",
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
        g.add((fm, Q.hasMechanism, mech))
        if r.design_weakness:
            dw = _id("designweakness", _slug(r.design_weakness) if lang == "en" else r.design_weakness)
            g.add((dw, RDF.type, Q.DesignWeakness))
            g.add((dw, RDFS.label, Literal(r.design_weakness, lang=lang)))
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


@dataclass(frozen=True)
class FailureModeHit:
    """A failure mode in a warning letter that concerns one of our process steps or failure modes."""

    letter: str
    firm: str | None
    failure_mode: str
    mechanism: str
    design_weakness: str | None
    ours: str  # our failure mode or process step (its name)
    ours_kind: str  # "failure_mode" or "process_step"
    shared_terms: tuple[str, ...]


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
        SELECT ?fm ?mech ?dw ?ref WHERE {
          ?l a q:WarningLetter ; q:documentNumber ?ref ; q:reportsFailureMode ?f .
          ?f rdfs:label ?fm ; q:hasMechanism ?m .
          ?m q:text ?mech .
          FILTER(STRSTARTS(STR(?m), CONCAT(STR(id:), "mechanism/", ENCODE_FOR_URI(?ref), "/")))
          OPTIONAL { ?m q:dueToWeakness/rdfs:label ?dw }
        } ORDER BY ?ref ?fm"""
    )
    return [
        FailureModeRow(str(r["fm"]), str(r["mech"]), str(r["dw"]) if "dw" in r else None, str(r["ref"])) for r in rows
    ]


_STOP = frozenset(
    {
        "with",
        "from",
        "that",
        "this",
        "have",
        "were",
        "been",
        "into",
        "which",
        "their",
        "there",
        "than",
        "more",
        "other",
        "your",
        "firm",
        "device",
        "devices",
        "could",
        "would",
        "after",
        "before",
        "during",
        "these",
        "those",
        "the",
        "and",
        "for",
        "not",
    }
)


def _terms(text: str) -> set[str]:
    words = {w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _STOP}
    return words | {w[:-1] for w in words if w.endswith("s")} | {w[:-3] for w in words if w.endswith("ing")}


def failure_modes_like_ours(store: GraphStore, *, limit: int = 50) -> list[FailureModeHit]:
    """Failure modes in warning letters whose mode, mechanism or design weakness shares terms
    with the names of our own failure modes or process steps (any language-neutral word of
    four letters or more), best overlap first."""
    ours = store.select(
        sparql_prefixes()
        + """
        SELECT ?x ?name ?kind WHERE {
          { ?x a q:FailureMode ; q:name ?name . BIND("failure_mode" AS ?kind) }
          UNION { ?x a q:ProcessStep ; q:name ?name . BIND("process_step" AS ?kind) }
          FILTER(!STRSTARTS(STR(?x), CONCAT(STR(id:), "failuremode/nlp/")))
        }"""
    )
    letters = {s.reference: s.firm for s in list_letters(store)}
    hits: list[FailureModeHit] = []
    for row in list_failure_modes(store):
        theirs = _terms(f"{row.failure_mode} {row.mechanism} {row.design_weakness or ''}")
        for o in ours:
            shared = tuple(sorted(theirs & _terms(str(o["name"]))))
            if shared:
                hits.append(
                    FailureModeHit(
                        row.letter,
                        letters.get(row.letter),
                        row.failure_mode,
                        row.mechanism,
                        row.design_weakness,
                        str(o["name"]),
                        str(o["kind"]),
                        shared,
                    )
                )
    hits.sort(key=lambda h: (-len(h.shared_terms), h.letter, h.failure_mode))
    return hits[:limit]


def letters_graph(letters: Iterable[WarningLetter]) -> Graph:
    g = Graph()
    for letter in letters:
        g += letter_graph(letter)
    return g
