"""Market document packs: the documents a market asks for, with the evidence behind them.

One pack, for one product, market and date::

    gap_report ── facts (focus subgraph + manufacturer and device facts from the store)
        ── DocModel per document and language (wording: templates/pack/strings.yaml)
        ── HTML (Jinja2 sandbox, autoescape) ── PDF (weasyprint)
        ── DOCX (docxtpl, sandbox, autoescape)
        ── ZIP: documents/, gap-report/ (PDF, JSON), validation/ (sh:ValidationReport,
           data graph, shapes graph; Turtle), manifest.json (sha256 of every file,
           store snapshot, catalog version, generation time, Qualitas version)

Documents by market (issue 6):

* EU: EU declaration of conformity (Decision 768/2008/EC Annex III), technical
  documentation index, CE marking and labelling checklist; en, de, fr.
* US: 510(k) summary (21 CFR 807.92), QMS summary against the QMSR (21 CFR 820 as in
  force since 2026-02-02, incorporating ISO 13485:2016), UDI summary (21 CFR 830).
* CN: CCC dossier summary, factory QA capability checklist, SJ/T 11364 table; zh.
* VN: labelling content per Decree 43/2017/ND-CP as amended by Decree 111/2021/ND-CP; vi.

Honesty rule: when the gap report has findings, every document is a watermarked DRAFT
listing the open findings. A final pack despite findings needs an :class:`Override`
(who, why; when is stamped), which is written to the store as PROV-O before the pack is
built, and printed in the documents and the manifest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from rdflib import Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, XSD

from qualitas import __version__
from qualitas.doc_templates._i18n import country_name, long_date
from qualitas.errors import InputError
from qualitas.ontology import Q
from qualitas.ontology.identifiers import gtin_is_valid, k_number_is_valid
from qualitas.reasoning.gap import STANDARD_TYPES, GapReport, gap_report
from qualitas.regulations.applicability import applicable_regulations
from qualitas.regulations.catalog import Catalog, Regulation, default_catalog
from qualitas.regulations.citation import cite
from qualitas.regulations.routes import Based, Route, decide_route, load_routes
from qualitas.store import GraphStore

TEMPLATES = Path(__file__).parent / "templates" / "pack"
PACK_FORMAT = "qualitas-pack/1"
MARKETS = ("EU", "US", "CN", "VN")
DEFAULT_LANGUAGES: dict[str, tuple[str, ...]] = {"EU": ("en", "de", "fr"), "US": ("en",), "CN": ("zh",), "VN": ("vi",)}
#: Documents of each market: (key, file stem).
DOCUMENTS: dict[str, tuple[str, ...]] = {
    "EU": ("eu-declaration-of-conformity", "technical-documentation-index", "ce-marking-checklist"),
    "US": ("fda-510k-summary", "qmsr-qms-summary", "udi-summary"),
    "CN": ("ccc-dossier-summary", "factory-qa-checklist", "sjt-11364-table", "nmpa-registration-checklist"),
    "VN": ("vn-labelling",),
}
_PACK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")
_MEDIA = {".pdf": "application/pdf", ".json": "application/json", ".ttl": "text/turtle",
          ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
_INSTRUCTIONS = ("instructions_and_safety_information", "instructions_for_use", "instructions", "user_manual")


# ---------------------------------------------------------------- public types


@dataclass(frozen=True)
class Override:
    """A decision to issue final documents despite open findings: who, when, why."""

    by: str
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class Block:
    kind: Literal["p", "table"]
    text: str = ""
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Section:
    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class DocModel:
    """One document in one language, before layout (HTML/PDF and DOCX share it)."""

    key: str
    lang: str
    model: str
    title: str
    subtitle: str
    watermark: str
    notice: str
    sections: tuple[Section, ...]
    footer: str
    page_size: str = "A4"  # "A4", or "Letter" for documents read in the US
    lang_tag: str = ""  # BCP 47, e.g. "de-DE"; the DOCX w:lang and the HTML lang

    @property
    def stem(self) -> str:
        return f"{self.key}.{self.lang}"


@dataclass(frozen=True)
class PackFile:
    path: str
    sha256: str
    size: int
    media_type: str


@dataclass(frozen=True)
class Pack:
    pack_id: str
    path: Path
    status: Literal["draft", "final"]
    manifest: dict[str, Any]
    files: tuple[PackFile, ...]
    report: GapReport = dataclasses.field(compare=False, repr=False)


class PackError(InputError):
    """A pack was asked for with wrong options (market, languages, override)."""


# ---------------------------------------------------------------- wording


@lru_cache(maxsize=1)
def _strings() -> dict[str, dict[str, Any]]:
    import yaml

    raw: dict[str, dict[str, Any]] = yaml.safe_load((TEMPLATES / "strings.yaml").read_text(encoding="utf-8"))
    raw["en"] = {**raw["en"], **raw.pop("us")}
    return raw


def _t(lang: str) -> dict[str, Any]:
    strings = _strings()
    return {**strings["en"], **strings.get(lang, {})}


# ---------------------------------------------------------------- facts


@dataclass(frozen=True)
class _Facts:
    product: URIRef
    model: str
    names: dict[str, str]  # by language tag; "" for an untagged name
    descriptions: dict[str, str]  # by language tag; an untagged description counts as English
    literals: dict[str, str]
    manufacturer: dict[str, str]
    importer: dict[str, str]  # the label's publisher: the importer of imported goods
    representative: dict[str, str]  # EU authorised representative
    predicate: dict[str, str]
    markings: tuple[str, ...]
    documents: tuple[dict[str, str], ...]
    declaration: dict[str, str]  # the EU declaration of conformity on file: number, issued
    place_of_issue: dict[str, str]
    signatory_name: str
    signatory_title: dict[str, str]
    notified_body: str
    bom: tuple[tuple[str, ...], ...]
    part_names: dict[str, dict[str, str]]  # part number -> language -> name
    part_names_zh: dict[str, str]
    test_reports: tuple[str, ...]
    declarations: tuple[str, ...]  # supplier material declarations in the BOM closure
    calibrations: tuple[tuple[str, str, str, str], ...]  # equipment, certificate, valid from, valid until
    suppliers: tuple[str, ...]


def _s(value: object) -> str:
    return "" if value is None else str(value)


def _by_lang(rows: Iterable[dict[str, Any]], key: str = "v") -> dict[str, str]:
    """Texts by language tag from rows holding ``key`` and its ``lang(...)`` as ``l``."""
    out: dict[str, str] = {}
    for r in rows:
        v = r.get(key)
        if v is None:
            continue
        out.setdefault(str(r.get("l") or "").lower(), str(v))
    return out


def _facts(store: GraphStore, report: GapReport) -> _Facts:
    g = report.data_graph
    p = URIRef(report.product.iri)
    q = f"PREFIX q: <{Q}> PREFIX dcterms: <{DCTERMS}> "
    lits = {str(pred).rsplit("#", 1)[-1]: str(o) for pred, o in g.predicate_objects(p) if isinstance(o, RdfLiteral)}
    names = _by_lang(store.select(q + f"SELECT ?v (lang(?v) AS ?l) WHERE {{ <{p}> q:name ?v }}"))
    descriptions = _by_lang(store.select(q + f"SELECT ?v (lang(?v) AS ?l) WHERE {{ <{p}> dcterms:description ?v }}"))
    if "" in descriptions:
        descriptions.setdefault("en", descriptions.pop(""))

    def org(link: str, subject: str = f"<{p}>") -> dict[str, str]:
        rows = store.select(q + f"""SELECT ?name ?address ?country ?tel ?contact WHERE {{
            {subject} {link} ?m . OPTIONAL {{ ?m q:name ?name }} OPTIONAL {{ ?m q:address ?address }}
            OPTIONAL {{ ?m q:country ?country }} OPTIONAL {{ ?m q:telephone ?tel }}
            OPTIONAL {{ ?m q:contactPerson ?contact }} }} LIMIT 1""")
        return {k: _s(v) for k, v in rows[0].items()} if rows else {}

    maker = org("q:manufacturedBy")
    representative = org(f"<{Q}authorisedRepresentative>")
    importer: dict[str, str] = {}
    rows = store.select(q + f"""SELECT ?name ?address ?country WHERE {{
        ?d q:about <{p}> ; dcterms:type "label" ; dcterms:publisher ?o . ?o q:name ?name .
        OPTIONAL {{ ?o q:address ?address }} OPTIONAL {{ ?o q:country ?country }} }} LIMIT 1""")
    if rows:
        importer = {k: _s(v) for k, v in rows[0].items()}
    predicate: dict[str, str] = {}
    rows = store.select(q + f"""SELECT ?name ?number ?holder ?decision ?source WHERE {{
        <{p}> q:predicateDevice ?d . OPTIONAL {{ ?d q:name ?name }} OPTIONAL {{ ?d q:clearanceNumber ?number }}
        OPTIONAL {{ ?d q:clearanceHolder ?holder }} OPTIONAL {{ ?d <{Q}decisionDate> ?decision }}
        OPTIONAL {{ ?d dcterms:source ?source }} }} LIMIT 1""")
    if rows:
        predicate = {k: _s(v) for k, v in rows[0].items()}
    docs = []
    for d in set(g.subjects(Q.about, p)):
        docs.append({
            "iri": str(d),
            "number": _s(g.value(d, Q.documentNumber)) or str(d).rsplit("/", 1)[-1],
            "type": _s(g.value(d, DCTERMS.type)), "language": _s(g.value(d, DCTERMS.language)),
            "issued": _s(g.value(d, DCTERMS.issued)), "description": _s(g.value(d, DCTERMS.description)),
            "country": _s(g.value(d, Q.country)), "marking": _s(g.value(d, Q.marking)),
        })
    docs.sort(key=lambda x: (x["type"], x["number"]))
    declaration: dict[str, str] = {}
    place: dict[str, str] = {}
    signer = ""
    signer_title: dict[str, str] = {}
    doc_rows = [d for d in docs if d["type"] == "eu_declaration_of_conformity"
                and not d["description"].startswith("Not applicable")]
    if doc_rows:
        d0 = max(doc_rows, key=lambda d: d["issued"])
        declaration = {"number": d0["number"], "issued": d0["issued"]}
        place = _by_lang(store.select(q + f"SELECT ?v (lang(?v) AS ?l) WHERE {{ <{d0['iri']}> <{Q}placeOfIssue> ?v }}"))
        srows = store.select(q + f"""SELECT ?name ?v (lang(?v) AS ?l) WHERE {{ <{d0['iri']}> <{Q}signatory> ?s .
            OPTIONAL {{ ?s q:name ?name }} OPTIONAL {{ ?s <{Q}jobTitle> ?v }} }}""")
        signer = next((_s(r["name"]) for r in srows if r.get("name")), "")
        signer_title = _by_lang(srows)
    nb_rows = store.select(q + f"""SELECT ?n WHERE {{ ?d q:about <{p}> ;
        dcterms:type "notified_body_certificate" ; q:documentNumber ?n }} LIMIT 1""")
    bom = []
    part_names: dict[str, dict[str, str]] = {}
    for b in g.objects(p, Q.hasBOM):
        for line in g.objects(b, Q.hasLine):
            comp = g.value(line, Q.component)
            mat = g.value(line, Q.designedMaterial)
            sup = g.value(comp, Q.suppliedBy) if comp is not None else None
            number = _s(g.value(comp, Q.partNumber) or g.value(comp, Q.modelNumber))
            bom.append((
                _s(g.value(line, Q.position)), number,
                _s(g.value(comp, Q.name)), _s(g.value(mat, Q.grade)) if mat is not None else "",
                _s(g.value(sup, Q.name)) if sup is not None else "",
            ))
    bom.sort(key=lambda r: int(r[0]) if r[0].isdigit() else 0)
    for r in store.select(q + f"""SELECT ?pn ?v (lang(?v) AS ?l) WHERE {{
            <{p}> (q:hasBOM/q:hasLine/q:component)+ ?c . ?c q:partNumber ?pn ; q:name ?v }}"""):
        lang = str(r.get("l") or "").lower()
        part_names.setdefault(str(r["pn"]), {}).setdefault(str(lang), str(r["v"]))
    tests = sorted({_s(r["n"]) for r in store.select(q + f"""SELECT ?n WHERE {{
        <{p}> (q:hasBOM/q:hasLine/q:component)* ?c . ?lot q:ofPart ?c . ?t q:reportFor ?lot ;
        q:documentNumber ?n }}""")})
    decls = sorted({_s(r["n"]) for r in store.select(q + f"""SELECT ?n WHERE {{
        <{p}> (q:hasBOM/q:hasLine/q:component)* ?c . ?d q:declarationFor ?c ; q:documentNumber ?n }}""")})
    cals = []
    for eq in set(g.subjects(RDF.type, Q.Equipment)):
        for c in g.objects(eq, Q.hasCalibration):
            cals.append((_s(g.value(eq, Q.equipmentId)), _s(g.value(c, Q.documentNumber)),
                         _s(g.value(c, Q.validFrom)), _s(g.value(c, Q.validUntil))))
    suppliers = sorted({_s(g.value(s, Q.name)) for s in g.subjects(RDF.type, Q.Supplier)} - {""})
    return _Facts(
        product=p, model=report.product.model, names=names, descriptions=descriptions,
        literals=lits, manufacturer=maker, importer=importer, representative=representative, predicate=predicate,
        markings=tuple(sorted(str(m) for m in g.objects(p, Q.marking))), documents=tuple(docs),
        declaration=declaration, place_of_issue=place, signatory_name=signer, signatory_title=signer_title,
        notified_body=_s(nb_rows[0]["n"]) if nb_rows else "",
        bom=tuple(bom), part_names=part_names,
        part_names_zh={pn: v["zh"] for pn, v in part_names.items() if v.get("zh")},
        test_reports=tuple(tests), declarations=tuple(decls),
        calibrations=tuple(sorted(cals)), suppliers=tuple(suppliers),
    )


# ---------------------------------------------------------------- document builders


@dataclass(frozen=True)
class _Ctx:
    report: GapReport
    facts: _Facts
    catalog: Catalog
    route: Route
    findings: tuple[PackFinding, ...]
    status: Literal["draft", "final"]
    override: Override | None
    generated: dt.datetime
    snapshot: str
    pack_id: str


def _p(text: str) -> Block:
    return Block("p", text=text)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> Block:
    return Block("table", header=tuple(header), rows=tuple(tuple(r) for r in rows))


def _kv(pairs: Iterable[tuple[str, str]]) -> Block:
    return Block("table", rows=tuple((k, v) for k, v in pairs))


def _finding_rows(ctx: _Ctx, lang: str) -> list[tuple[str, str, str, str]]:
    t = _t(lang)
    rows = []
    by_id = ctx.catalog.by_id
    for f in ctx.report.findings:
        reg = by_id.get(f.regulation_id or "")
        name = (_title(reg, lang) or _cite(reg, lang)) if reg is not None else (f.regulation or "")
        where = " · ".join(x for x in (name, f.clause or "") if x) or t["as_built_where"]
        msg = f.message(lang) if hasattr(f, "message") else (f.message_zh if lang == "zh" else f.message_en)
        rem = f.remediation
        act = rem.action(lang) if hasattr(rem, "action") else (rem.action_zh if lang == "zh" else rem.action_en)
        rows.append((t["severity"].get(f.severity, f.severity), where, msg, act))
    for pf in ctx.findings:
        doc = t["doc_names"].get(pf.document, pf.document)
        rows.append((t["severity"]["major"], doc, pf.message(lang), t["pf_action"]))
    return rows


_LANG_TAGS = {("en", "US"): "en-US", ("en", None): "en-GB", ("de", None): "de-DE", ("fr", None): "fr-FR",
              ("zh", None): "zh-CN", ("vi", None): "vi-VN"}


def _frame(ctx: _Ctx, key: str, lang: str, title: str, subtitle: str, sections: list[Section]) -> DocModel:
    """Wrap a document's sections with the honesty rule: watermark, notice, open findings."""
    t = _t(lang)
    r = ctx.report
    n = len(r.findings) + len(ctx.findings)
    notice = ""
    watermark = ""
    if ctx.status == "draft":
        watermark = t["draft"]
        notice = t["draft_notice"].format(n=n)
    elif ctx.override is not None:
        notice = t["override_notice"].format(by=ctx.override.by, at=ctx.override.at.isoformat(timespec="seconds"),
                                             reason=ctx.override.reason, n=n)
    tail: list[Section] = []
    if n:
        tail.append(Section(t["open_findings"], (_table(t["finding_cols"], _finding_rows(ctx, lang)),)))
    footer = t["generated"].format(version=__version__, at=ctx.generated.isoformat(timespec="seconds"),
                                   snapshot=ctx.snapshot[:16], catalog=r.catalog_version, pack=ctx.pack_id)
    market = r.market
    return DocModel(key=key, lang=lang, model=ctx.facts.model, title=title, subtitle=subtitle, watermark=watermark,
                    notice=notice, sections=tuple(sections + tail), footer=footer,
                    page_size="Letter" if market == "US" else "A4",
                    lang_tag=_LANG_TAGS.get((lang, market if market == "US" else None))
                    or _LANG_TAGS.get((lang, None), lang))


def _product_block(ctx: _Ctx, t: dict[str, Any], lang: str) -> Block:
    f, r = ctx.facts, ctx.report
    return _kv([
        (t["lbl_model"], f.model), (t["lbl_name"], _name(ctx, lang)),
        (t["lbl_description"], _description(ctx, lang)),
        (t["lbl_market"], _market_name(r.market, lang, t)), (t["lbl_date"], long_date(r.on, lang)),
    ])


def _name(ctx: _Ctx, lang: str) -> str:
    return ctx.facts.names.get(lang) or ctx.facts.names.get("") or ctx.facts.model


def _description(ctx: _Ctx, lang: str) -> str:
    return ctx.facts.descriptions.get(lang) or _t(lang)["not_recorded"]


def _market_name(market: str, lang: str, t: dict[str, Any]) -> str:
    if market == "EU":
        return str(t["eu_name"])
    return country_name(market, lang) or market


def _org(org: dict[str, str], lang: str, t: dict[str, Any]) -> str:
    if not org.get("name"):
        return str(t["not_recorded"])
    country = country_name(org.get("country", ""), lang)
    return ", ".join(x for x in (org.get("name", ""), org.get("address", ""), country or "") if x)


def _maker(ctx: _Ctx, t: dict[str, Any], lang: str = "en") -> str:
    return _org(ctx.facts.manufacturer, lang, t)


def _cite(reg: Regulation, lang: str) -> str:
    """How the document cites an act (:func:`qualitas.regulations.citation.cite`)."""
    return cite(reg, lang)


def _title(reg: Regulation, lang: str) -> str:
    """The act's title in ``lang`` when the catalog holds it, else ''."""
    return next((x.text for x in reg.titles if x.lang == lang), "")


def _term(code: str, lang: str) -> str:
    """A document or marking code as words in ``lang`` (qualitas/reasoning/terms.yaml,
    shared with the gap report's messages); an unknown code is shown as untranslated,
    never as the raw code."""
    entry = _terms().get(code)
    if entry and entry.get(lang):
        return entry[lang]
    return str(_t(lang)["untranslated"]).format(term=code.replace("_", " "))


@lru_cache(maxsize=1)
def _terms() -> dict[str, dict[str, str]]:
    import yaml

    from qualitas.reasoning import gap

    raw = yaml.safe_load((Path(gap.__file__).parent / "terms.yaml").read_text(encoding="utf-8")) or {}
    out: dict[str, dict[str, str]] = {}
    for section in ("documents", "markings"):
        for code, words in (raw.get(section) or {}).items():
            out.setdefault(str(code), {str(k): str(v) for k, v in (words or {}).items()})
    return out


def _doc_status(ctx: _Ctx, doc_type: str, t: dict[str, Any]) -> tuple[str, str]:
    hits = [d for d in ctx.facts.documents if d["type"] == doc_type]
    if not hits:
        return t["missing"], ""
    if all(d["description"].startswith("Not applicable") for d in hits):
        return t["waived"], ", ".join(d["number"] for d in hits)
    return t["present"], ", ".join(d["number"] for d in hits)


def _acts(ctx: _Ctx, ids: Iterable[str]) -> list[Regulation]:
    by_id = ctx.catalog.by_id
    return [by_id[i] for i in ids if i in by_id]


def _standards(ctx: _Ctx) -> list[Regulation]:
    """The harmonised standards to cite: applicable to the product's category, cited in
    the OJ under an act the declaration names, and still giving presumption of
    conformity on the date (Regulation (EU) No 1025/2012, Art. 10(6))."""
    declared = set(ctx.route.declared)
    on = ctx.report.on
    out = []
    for a in ctx.report.applicable:
        reg = ctx.catalog.by_id.get(a.id)
        if reg is None or reg.instrument_type != "harmonised_standard":
            continue
        std = reg.standard or {}
        under = set(std.get("harmonised_under") or ())
        if under and not under & declared:
            continue
        published = std.get("oj_published")
        ends = std.get("presumption_ends")
        if published and _as_date(published) > on:
            continue
        if ends and _as_date(ends) <= on:
            continue
        out.append(reg)
    return sorted(out, key=lambda r: r.identifier)


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _edition(reg: Regulation) -> str:
    """The standard's edition as cited (with its amendments), without the catalog's notes."""
    std = reg.standard or {}
    return re.sub(r"\s*\(.*\)\s*$", "", str(std.get("edition") or reg.identifier))


def _columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Block:
    """A table without its last column when no row fills it (titles the catalog does not
    hold in the document's language are left out, not shown as empty cells)."""
    if rows and not any(r[-1] for r in rows):
        return _table(header[:-1], [r[:-1] for r in rows])
    return _table(header, rows)


# ---------------------------------------------------------------- pack findings


@dataclass(frozen=True)
class PackFinding:
    """Something a document needs that the data does not give: it keeps the pack DRAFT.
    Worded per language in strings.yaml under ``pf_<code>``."""

    code: str
    document: str
    params: tuple[tuple[str, str], ...] = ()

    def message(self, lang: str) -> str:
        t = _t(lang)
        params = dict(self.params)
        if "document_type" in params:
            params["document_type"] = _term(params["document_type"], lang)
        if "item" in params:
            params["item"] = str(t["k_items"].get(params["item"], params["item"]))
        if "field" in params:
            params["field"] = str(t.get(params["field"], params["field"]))
        if "lang" in params:
            params["lang"] = _language_name(params["lang"], lang)
        return str(t["pf_" + self.code]).format(**params)


def _pack_findings(ctx: _Ctx, langs: Sequence[str]) -> list[PackFinding]:
    f, route = ctx.facts, ctx.route
    out: list[PackFinding] = []

    def add(code: str, document: str, **params: str) -> None:
        out.append(PackFinding(code, document, tuple(sorted(params.items()))))

    docs = set(route.documents)
    for lang in langs:
        if _untranslated_legal_text(route, lang):
            add("missing_translation", "compliance-matrix", field="lbl_legal_basis", lang=lang)
        if not f.names.get(lang) and not (lang == "en" and f.names.get("")):
            add("missing_translation", "all", field="lbl_name", lang=lang)
        if not f.descriptions.get(lang):
            add("missing_translation", "all", field="lbl_description", lang=lang)
    if "eu-declaration-of-conformity" in docs:
        doc = f.declaration
        if not doc.get("number"):
            add("no_doc_number", "eu-declaration-of-conformity")
        if not doc.get("issued"):
            add("no_doc_date", "eu-declaration-of-conformity")
        for lang in langs:
            if not f.place_of_issue.get(lang):
                add("no_place_of_issue", "eu-declaration-of-conformity", lang=lang)
            if not f.signatory_title.get(lang):
                add("no_signatory", "eu-declaration-of-conformity", lang=lang)
        if not f.signatory_name:
            add("no_signatory_name", "eu-declaration-of-conformity")
        if not f.manufacturer.get("address"):
            add("no_manufacturer_address", "eu-declaration-of-conformity")
        if route.form is not None and route.form.id == "eu_machinery_annex_ii_1a" and not (
                f.representative.get("name") or f.manufacturer.get("country") in _EEA):
            add("no_technical_file_person", "eu-declaration-of-conformity")
        if _notified_body_needed(ctx) and not f.notified_body:
            add("no_notified_body", "eu-declaration-of-conformity")
        for i in route.unclassified:
            add("act_without_role", "compliance-matrix", act=i)
    if "vehicle-part-evidence" in docs:
        for code in _VEHICLE_PART_EVIDENCE:
            if not any(d["type"] == code for d in f.documents):
                add("missing_evidence", "vehicle-part-evidence", document_type=code)
    if "type-approval-evidence" in docs:
        for reg in _acts(ctx, route.type_approval):
            for code in reg.required_documents:
                if not any(d["type"] == code for d in f.documents):
                    add("missing_evidence", "type-approval-evidence", document_type=code)
    if "fda-510k-summary" in docs:
        for key in ("commonName", "classificationName", "regulationNumber", "deviceClass", "productCode",
                    "intendedUse", "technologicalCharacteristics"):
            if not f.literals.get(key):
                add("missing_510k_item", "fda-510k-summary", item=key)
        number = f.predicate.get("number", "")
        if not number:
            add("no_predicate", "fda-510k-summary")
        elif not k_number_is_valid(number):
            add("bad_k_number", "fda-510k-summary", number=number)
        if not (f.manufacturer.get("name") and f.manufacturer.get("address") and f.manufacturer.get("tel")
                and f.manufacturer.get("contact")):
            add("missing_510k_item", "fda-510k-summary", item="submitter")
    if "udi-summary" in docs:
        for key in ("udiDi", "gtin"):
            value = f.literals.get(key, "")
            if not value:
                add("missing_510k_item", "udi-summary", item=key)
            elif not gtin_is_valid(value):
                add("bad_gtin", "udi-summary", number=value)
    if "nmpa-registration-checklist" in docs:
        for item in range(len(_NMPA_ITEMS)):
            if not _nmpa_evidence(ctx, item):
                add("missing_nmpa_item", "nmpa-registration-checklist", number=str(item + 1))
    if "sjt-11364-table" in docs:
        table = ctx.report.screening.china_rohs
        if table is None or not table.rows:
            add("no_substance_data", "sjt-11364-table")
        else:
            for row in table.rows:
                if any(mark not in ("O", "X") for mark in row.marks):
                    add("sjt_undetermined", "sjt-11364-table", part=row.part_number)
                if not f.part_names_zh.get(row.part_number):
                    add("no_chinese_part_name", "sjt-11364-table", part=row.part_number)
    if "vn-labelling" in docs:
        label = [d for d in f.documents if d["type"] == "label" and d["language"] == "vi"]
        if not label:
            add("no_vn_label", "vn-labelling")
        origin = next((d["country"] for d in label if d["country"]), "") or f.manufacturer.get("country", "")
        if not origin:
            add("no_origin", "vn-labelling")
        if not f.importer.get("address") and f.manufacturer.get("country") != "VN":
            add("no_responsible_vn", "vn-labelling")
    return out


#: EEA states: a machinery manufacturer established here compiles its technical file itself.
_EEA = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
    "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
})
_VEHICLE_PART_EVIDENCE = ("imds_material_data", "reach_article_33_information", "elv_annex_ii_statement",
                          "ppap_part_submission_warrant")
_INTERNAL_CONTROL = frozenset({"module_a_internal_production_control", "internal_control", "self_declaration"})


def _notified_body_needed(ctx: _Ctx) -> bool:
    """Whether some declared act offers no procedure without a notified body (its
    conformity routes hold no internal production control)."""
    return any(not (set(r.conformity_route) & _INTERNAL_CONTROL)
               for r in _acts(ctx, ctx.route.declared) if _role(r.id) == "declaration")


# ---------------------------------------------------------------- documents


def _eu_doc(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f, route = ctx.facts, ctx.route
    form = route.form
    title = (form.title.get(lang) if form else None) or t["eu_doc_title"]
    acts = _acts(ctx, route.declared)
    standards = _standards(ctx)
    doc = f.declaration
    signed = [
        (t["doc_signed"], f.manufacturer.get("name") or t["not_recorded"]),
        (t["doc_place_date"], ", ".join(x for x in (f.place_of_issue.get(lang, ""),
                                                    long_date(_as_date(doc["issued"]), lang) if doc.get("issued")
                                                    else "") if x) or t["not_recorded"]),
        (t["doc_name_function"], ", ".join(x for x in (f.signatory_name, f.signatory_title.get(lang, "")) if x)
         or t["not_recorded"]),
        (t["doc_signature"], " "),
    ]
    nb = (t["doc_nb_none"] if not _notified_body_needed(ctx) else
          (f.notified_body or t["not_recorded"]))
    rows = []
    for r in acts:
        role = _role(r.id)
        cite = _cite(r, lang)
        rows.append(((t["doc_supplement"] if role == "supplement" else "") + cite, _title(r, lang)))
    sections = [
        Section(t["doc_no"], (_kv([(t["doc_no_label"], doc.get("number") or t["not_recorded"]),
                                   (t["doc_product"], f"{f.model} — {_name(ctx, lang)}")]),)),
        Section(t["doc_manufacturer"], (_p(_maker(ctx, t, lang)),)),
    ]
    if f.representative.get("name"):
        sections.append(Section(t["doc_representative"], (_p(_org(f.representative, lang, t)),)))
    sections += [
        Section(t["doc_sole_heading"], (_p(t["doc_sole"]),)),
        Section(t["doc_object"], (_product_block(ctx, t, lang),)),
        Section(t["doc_conformity_heading"], (_p(t["doc_conformity"]), _columns(t["col_legislation"], rows))),
        Section(t["doc_standards_heading"], (_p(t["doc_standards"]), _columns(t["col_standard"], [
            (_edition(r), _title(r, lang)) for r in standards]) if standards
            else _p(t["doc_standards_none"]))),
        Section(t["doc_nb"], (_p(nb),)),
        Section(t["doc_additional"], (_p(t["doc_basis"].format(basis=form.basis_in(lang) if form
                                                               else _said(route, lang))),)),
        Section(t["doc_signed_heading"], (_kv(signed),)),
    ]
    return _frame(ctx, "eu-declaration-of-conformity", lang, title, t["doc_subtitle"].format(
        basis=form.basis_in(lang) if form else ""), sections)


def _eu_tdi(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f = ctx.facts
    acts = [r for r in _acts(ctx, ctx.route.declared) if _role(r.id) == "declaration"]
    standards = _standards(ctx)
    tests = [d for d in f.documents if d["type"] in _TEST_TYPES]
    items = [
        (t["tdi_item_description"], t["present"] if f.descriptions.get(lang) else t["missing"],
         _description(ctx, lang)),
        (t["tdi_item_bom"], t["present"] if f.bom else t["missing"],
         ", ".join(f"{b[1]}" for b in f.bom) or t["none"]),
        (t["tdi_item_drawings"], *_doc_status(ctx, "drawing", t)),
        (t["tdi_item_risk"], *_doc_status(ctx, "risk_assessment", t)),
        (t["tdi_item_standards"], t["present"] if standards else t["missing"],
         ", ".join(_edition(r) for r in standards) or t["none"]),
        (t["tdi_item_tests"], t["present"] if tests or f.test_reports else t["missing"],
         ", ".join([d["number"] for d in tests] + list(f.test_reports)) or t["none"]),
        (t["tdi_item_declarations"], t["present"] if f.declarations else t["missing"],
         ", ".join(f.declarations) or t["none"]),
        (t["tdi_item_doc"], *_doc_status(ctx, "eu_declaration_of_conformity", t)),
    ]
    sections = [
        Section(t["tdi_general"], (_product_block(ctx, t, lang), _kv([(t["doc_manufacturer"], _maker(ctx, t, lang))]))),
        Section(t["tdi_annexes"], (_columns(t["col_legislation_basis"], [
            (_cite(r, lang), _title(r, lang), _basis(r.id, lang)) for r in acts]),)),
        Section(t["tdi_contents"], (_table(t["tdi_contents_cols"], items),)),
        Section(t["tdi_bom"], (_table(t["tdi_bom_cols"], [
            (b[0], b[1], f.part_names.get(b[1], {}).get(lang) or b[2], b[3], b[4]) for b in f.bom])
            if f.bom else _p(t["none"]),)),
        Section(t["tdi_records"], (_table(t["tdi_records_cols"], [
            (d["number"], _term(d["type"], lang), d["language"], d["issued"]) for d in f.documents]) if f.documents
            else _p(t["none"]),)),
    ]
    return _frame(ctx, "technical-documentation-index", lang, t["tdi_title"], t["tdi_subtitle"], sections)


_TEST_TYPES = ("type_test_report", "test_report", "biological_evaluation_report")


def _eu_ce(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f = ctx.facts
    marks: dict[str, list[str]] = {}
    for reg in _acts(ctx, ctx.route.declared):
        for mark in reg.markings:
            marks.setdefault(mark, []).append(_cite(reg, lang))
    waived = {d["marking"] for d in f.documents if d["type"] == "marking_not_applicable"}
    mark_rows = [(_term(mark, lang), ", ".join(sorted(set(by))),
                  t["present"] if mark in f.markings else (t["waived"] if mark in waived else t["missing"]))
                 for mark, by in sorted(marks.items())]
    ifu = sorted({d["language"] for d in f.documents if d["type"] in _INSTRUCTIONS})
    doc_s, doc_r = _doc_status(ctx, "eu_declaration_of_conformity", t)
    labelling = [
        (t["ce_item_name"], t["present"] if f.manufacturer.get("address") else t["missing"], _maker(ctx, t, lang)),
        (t["ce_item_type"], t["present"], f.model),
        (t["ce_item_ifu"], t["present"] if ifu else t["missing"],
         ", ".join(_language_name(x, lang) for x in ifu) or t["none"]),
        (t["ce_item_doc"], doc_s, doc_r or t["none"]),
    ]
    sections = [
        Section(t["ce_product"], (_product_block(ctx, t, lang),)),
        Section(t["ce_markings"], (_table(t["ce_markings_cols"], mark_rows),)),
        Section(t["ce_labelling"], (_table(t["ce_labelling_cols"], labelling),)),
    ]
    return _frame(ctx, "ce-marking-checklist", lang, t["ce_title"], t["ce_subtitle"], sections)


def _language_name(code: str, lang: str) -> str:
    from babel import Locale

    try:
        return str(Locale.parse(lang).languages.get(code) or code)
    except (ValueError, TypeError):
        return code


def _matrix(ctx: _Ctx, lang: str) -> DocModel:
    """The compliance matrix: the route and its legal reason, the acts declared, the
    obligations with their evidence, type-approval law, and what is excluded and why."""
    t = _t(lang)
    route = ctx.route
    reason = _reason(route.reason, lang)

    def obligation_rows(ids: Iterable[str]) -> list[tuple[str, str, str, str]]:
        rows = []
        for r in _acts(ctx, ids):
            docs = [f"{_term(d, lang)}: {_doc_status(ctx, d, t)[0]}" for d in r.required_documents]
            rows.append((_cite(r, lang), _title(r, lang), _basis(r.id, lang) or "—", "; ".join(docs) or "—"))
        return rows

    sections = [
        Section(t["m_route"], (_product_block(ctx, t, lang), _kv([
            (t["m_route_label"], str(t["routes"].get(route.code, route.code))),
            (t["m_reason"], reason), (t["m_basis"], _said(route, lang))]))),
    ]
    if route.declared:
        sections.append(Section(t["m_declared"], (_table(t["m_cols"], obligation_rows(route.declared)),)))
    if route.type_approval:
        sections.append(Section(t["m_type_approval"], (_table(t["m_cols"], obligation_rows(route.type_approval)),)))
    sections.append(Section(t["m_obligations"], (_table(t["m_cols"], obligation_rows(route.obligations))
                                                 if route.obligations else _p(t["none"]),)))
    if route.excluded:
        sections.append(Section(t["m_excluded"], (_table(t["m_excluded_cols"], [
            (_cite(ctx.catalog.by_id[e.regulation_id], lang) if e.regulation_id in ctx.catalog.by_id
             else e.regulation_id, _said(e, lang), _reason(e.reason, lang))
            for e in route.excluded]),)))
    return _frame(ctx, "compliance-matrix", lang, t["m_title"], t["m_subtitle"], sections)


def _evidence_doc(ctx: _Ctx, lang: str, key: str, codes: Iterable[str]) -> DocModel:
    t = _t(lang)
    rows = [(_term(code, lang), *_doc_status(ctx, code, t)) for code in codes]
    sections = [
        Section(t["ev_product"], (_product_block(ctx, t, lang),)),
        Section(t["ev_route"], (_p(ctx.route.reason_in(lang) or ctx.route.reason_in("en")),)),
        Section(t["ev_items"], (_table(t["ev_cols"], rows),)),
    ]
    return _frame(ctx, key, lang, t[f"{key}-title"], t[f"{key}-subtitle"], sections)


def _vehicle_part(ctx: _Ctx, lang: str) -> DocModel:
    return _evidence_doc(ctx, lang, "vehicle-part-evidence", _VEHICLE_PART_EVIDENCE)


def _type_approval(ctx: _Ctx, lang: str) -> DocModel:
    codes = sorted({c for r in _acts(ctx, ctx.route.type_approval) for c in r.required_documents})
    return _evidence_doc(ctx, lang, "type-approval-evidence", codes)


def _role(regulation_id: str) -> str | None:
    act = load_routes().role(regulation_id)
    return act.role if act else None


def _basis(regulation_id: str, lang: str) -> str:
    """The legal basis routes.yaml gives an act, in ``lang``."""
    return _said(load_routes().role(regulation_id), lang)


def _said(based: Based | None, lang: str) -> str:
    """A legal basis in ``lang``; where routes.yaml states it in English only, the
    visible untranslated marker (:func:`_untranslated_legal_text` keeps the pack DRAFT)."""
    if based is None or not based.basis:
        return ""
    return based.basis_in(lang) or str(_t(lang)["untranslated"]).format(term=based.basis)


def _reason(reason: Mapping[str, str], lang: str) -> str:
    """A legal reason in ``lang``, or the visible untranslated marker."""
    if not reason:
        return ""
    return reason.get(lang) or str(_t(lang)["untranslated"]).format(term=reason.get("en", ""))


def _untranslated_legal_text(route: Route, lang: str) -> bool:
    """Whether the route, an act it names or an exclusion lacks its basis or reason in ``lang``."""
    routes = load_routes()
    based: list[Based | None] = [route, *route.excluded,
                                  *(routes.role(i) for i in (*route.declared, *route.type_approval,
                                                              *route.obligations))]
    reasons = [route.reason, *(e.reason for e in route.excluded)]
    return (any(b is not None and b.basis and not b.basis_in(lang) for b in based)
            or any(r and not r.get(lang) for r in reasons))


def _us_510k(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f = ctx.facts
    lit = f.literals
    nr = t["not_recorded"]
    m = f.manufacturer
    perf = [d["description"] for d in f.documents if d["type"] == "premarket_notification_510k" and d["description"]]
    perf += [f"{d['number']} ({_term(d['type'], lang)})" for d in f.documents if d["type"] in _TEST_TYPES]
    pred = f.predicate
    pred_row = (pred.get("name") or nr, pred.get("number") or nr, pred.get("holder") or nr,
                pred.get("decision") or nr, pred.get("source") or nr)
    sections = [
        Section(t["k_submitter"], (_kv(zip(t["k_submitter_rows"], (
            m.get("name") or nr, _org({"address": m.get("address", ""), "country": m.get("country", ""),
                                       "name": " "}, lang, t).strip(", ") or nr,
            m.get("tel") or nr, m.get("contact") or nr,
            long_date(ctx.generated.date(), lang)), strict=True)),)),
        Section(t["k_device"], (_kv(zip(t["k_device_rows"], (
            f"{_name(ctx, lang)} ({f.model})", lit.get("commonName", nr), lit.get("classificationName", nr),
            lit.get("regulationNumber", nr), lit.get("deviceClass", nr), lit.get("productCode", nr)), strict=True)),)),
        Section(t["k_predicate"], (_table(t["k_predicate_cols"], [pred_row]),)),
        Section(t["k_description"], (_p(_description(ctx, lang)),)),
        Section(t["k_intended"], (_p(lit.get("intendedUse", nr)),)),
        Section(t["k_tech"], (_p(lit.get("technologicalCharacteristics", nr)),)),
        Section(t["k_performance"], tuple(_p(x) for x in perf) or (_p(t["k_performance_none"]),)),
    ]
    return _frame(ctx, "fda-510k-summary", lang, t["k_title"], t["k_subtitle"], sections)


#: QMSR (21 CFR 820 since 2026-02-02): ISO 13485:2016 by reference (820.7) and FDA clauses.
_QMSR_ROWS = (
    ("ISO 13485:2016 4.2.2 Quality manual", "quality_manual"),
    ("ISO 13485:2016 4.2.3 Medical device file", "medical_device_file"),
    ("ISO 13485:2016 7.3 Design and development (design history)", "design_history"),
    ("ISO 13485:2016 7.1 / ISO 14971 Risk management", "risk_management_file"),
    ("ISO 13485:2016 8.2.2 Complaint handling; 21 CFR 820.35(a) complaint records", "complaint_files"),
    ("ISO 13485:2016 8.5.2 / 8.5.3 Corrective and preventive action", "capa_records"),
    ("21 CFR 820.45 Device labeling and packaging controls", "labeling"),
    ("21 CFR 820.35(c) UDI records; 21 CFR 830 GUDID", "gudid_submission"),
    ("21 CFR Part 803 MDR procedures (820.10(a))", "mdr_procedures"),
)


def _us_qms(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    rows = [(req, _term(doc, lang), *_doc_status(ctx, doc, t)) for req, doc in _QMSR_ROWS]
    checks = [(c.regulation_id, c.message_en, t["status_words"].get(c.status, c.status))
              for c in ctx.report.requirements
              if c.regulation_id in ("us-21cfr820-qmsr", "int-iso-13485-2016", "us-21cfr803", "us-21cfr806")]
    sections = []
    if ctx.report.on < dt.date(2026, 2, 2):
        sections.append(Section(t["q_note"], (_p(t["q_before"].format(date=ctx.report.on.isoformat())),)))
    sections += [
        Section(t["q_manufacturer"], (_kv([(t["q_manufacturer"], _maker(ctx, t, lang))]),
                                      _product_block(ctx, t, lang))),
        Section(t["q_clauses"], (_table(t["q_clauses_cols"], rows),)),
        Section(t["q_checks"], (_table(t["q_checks_cols"], checks) if checks else _p(t["none"]),)),
    ]
    return _frame(ctx, "qmsr-qms-summary", lang, t["q_title"], t["q_subtitle"], sections)


def _us_udi(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f = ctx.facts
    nr = t["not_recorded"]
    values = (
        f.literals.get("udiDi", nr), f.literals.get("issuingAgency", nr), f.literals.get("udiProductionIdentifier", nr),
        f.literals.get("gtin", nr), t["present"] if "udi" in f.markings else t["missing"],
        " ".join(x for x in _doc_status(ctx, "gudid_submission", t) if x),
        " ".join(x for x in _doc_status(ctx, "label", t) if x),
    )
    sections = [Section(t["u_product"], (_product_block(ctx, t, lang),)),
                Section(t["u_title"], (_kv(zip(t["u_rows"], values, strict=True)),))]
    return _frame(ctx, "udi-summary", lang, t["u_title"], t["u_subtitle"], sections)


def _cn_acts(ctx: _Ctx) -> list[Regulation]:
    ids = [a.id for a in ctx.report.applicable]
    return [r for r in _acts(ctx, ids) if r.jurisdiction == "CN"]


def _cn_ccc(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f = ctx.facts
    regs = _cn_acts(ctx)
    reg_rows = [(_cite(r, lang), _title(r, lang) or r.identifier) for r in regs]
    codes = sorted({d for r in regs for d in r.required_documents})
    sections = [
        Section(t["ccc_applicant"], (_kv([(t["ccc_applicant"], _maker(ctx, t, lang)),
                                          (t["ccc_factory"], _maker(ctx, t, lang)),
                                          (t["ccc_item"], ctx.route.ccc_item or t["none"])]),
                                     _product_block(ctx, t, lang))),
        Section(t["ccc_regulations"], (_table(t["ccc_regulations_cols"], reg_rows),)),
        Section(t["ccc_required"], (_table(t["ccc_required_cols"], [
            (_term(c, lang), *_doc_status(ctx, c, t)) for c in codes]),)),
        Section(t["ccc_mark"], (_kv([(t["ccc_mark_carried"],
                                      t["word_yes"] if "ccc_mark" in f.markings else t["word_no"])]),)),
    ]
    return _frame(ctx, "ccc-dossier-summary", lang, t["ccc_title"], t["ccc_subtitle"], sections)


#: The documents of Order No. 739 Art. 14 (1)-(6) for filing or registration, as the
#: document types the graph records them under; (5) wants the Chinese instructions
#: and label.
_NMPA_ITEMS: tuple[tuple[str, ...], ...] = (
    ("risk_management_file", "risk_management_report", "risk_assessment"),
    ("product_technical_requirements",),
    ("test_report", "cb_test_report", "inspection_report"),
    ("clinical_evaluation", "clinical_evaluation_report"),
    ("instructions_for_use", "label"),
    ("quality_manual", "qms_certificate"),
)
_NMPA_CERTIFICATES = ("nmpa_registration_certificate", "nmpa_filing_certificate")


def _nmpa_evidence(ctx: _Ctx, item: int) -> list[str]:
    """The document numbers on file for Art. 14 item ``item`` (0-based); for the
    instructions and label, only Chinese ones, and only when both are there."""
    types = _NMPA_ITEMS[item]
    docs = [d for d in ctx.facts.documents if d["type"] in types
            and not d["description"].startswith("Not applicable")]
    if types == ("instructions_for_use", "label"):
        docs = [d for d in docs if d["language"] == "zh"]
        if {d["type"] for d in docs} != set(types):
            return []
    return sorted(d["number"] for d in docs)


def _cn_nmpa(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    rows = []
    for i, item in enumerate(t["nmpa_items"]):
        found = _nmpa_evidence(ctx, i)
        rows.append((str(i + 1), item, t["present"] if found else t["missing"], ", ".join(found) or t["none"]))
    certs = [d["number"] for d in ctx.facts.documents if d["type"] in _NMPA_CERTIFICATES]
    sections = [
        Section(t["nmpa_registrant"], (_kv([(t["nmpa_registrant"], _maker(ctx, t, lang))]),
                                       _product_block(ctx, t, lang))),
        Section(t["nmpa_documents"], (_table(t["nmpa_cols"], rows),)),
        Section(t["nmpa_certificate"], (_kv([(t["nmpa_certificate"], ", ".join(certs) or t["missing"])]),)),
    ]
    return _frame(ctx, "nmpa-registration-checklist", lang, t["nmpa_title"], t["nmpa_subtitle"], sections)


def _cn_fqa(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f = ctx.facts
    r = ctx.report
    kinds = {x.kind for x in r.findings}
    day = r.on.isoformat()
    cal_rows = [t["fqa_cal"].format(equipment=eq, certificate=cert, start=frm, end=until)
                for eq, cert, frm, until in f.calibrations]
    cal_ok = all(frm <= day <= until for _, _, frm, until in f.calibrations) and "calibration_invalid" not in kinds
    decls = sorted(d["number"] for d in f.documents)
    evidence = [
        (", ".join(x for x in (f.manufacturer.get("name", ""), f.manufacturer.get("contact", "")) if x)
         or t["fqa_onsite"], None),
        (", ".join(decls[:8]) or t["none"], "missing_document" not in kinds),
        (", ".join(f.suppliers) or t["none"], "material_mismatch" not in kinds),
        (t["fqa_runs"].format(n=len(r.as_built.runs)),
         not kinds & {"parameter_set_outdated", "parameter_out_of_tolerance"}),
        (t["fqa_lots"].format(n=len(r.as_built.lots)), None),
        ("；".join(cal_rows) or t["none"], cal_ok if cal_rows else None),
        (", ".join(sorted({x.subject_label for x in r.findings if x.source == 'as_built'})) or t["none"], None),
        (t["fqa_onsite"], None),
        (t["fqa_findings"].format(n=len(r.findings)), not r.findings),
        (t["fqa_onsite"], None),
    ]
    rows = []
    for i, (item, (ev, ok)) in enumerate(zip(t["fqa_items"], evidence, strict=True), start=1):
        verdict = t["fqa_review"] if ok is None else (t["fqa_ok"] if ok else t["fqa_gap"])
        rows.append((str(i), item, ev, verdict))
    sections = [Section(t["fqa_product"], (_product_block(ctx, t, lang),)),
                Section(t["fqa_title"], (_table(t["fqa_cols"], rows),))]
    return _frame(ctx, "factory-qa-checklist", lang, t["fqa_title"], t["fqa_subtitle"], sections)


_ZH_SUBSTANCE = {"Pb": "铅", "Hg": "汞", "Cd": "镉", "Cr(VI)": "六价铬", "PBB": "多溴联苯", "PBDE": "多溴二苯醚"}


def _cn_sjt(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    table = ctx.report.screening.china_rohs
    blocks: list[Block] = []
    if table is None or not table.rows:
        blocks.append(_p(t["sjt_none"]))
    else:
        header = [t["sjt_part"]] + [f"{_ZH_SUBSTANCE.get(c.symbol, c.substance)} ({c.symbol})" for c in table.columns]
        blocks.append(_table(header, [(ctx.facts.part_names_zh.get(row.part_number) or row.part_number, *row.marks)
                                      for row in table.rows]))
    blocks += [_p(t["sjt_note_o"]), _p(t["sjt_note_x"])]
    sections = [Section(t["sjt_product"], (_product_block(ctx, t, lang),)), Section(t["sjt_title"], tuple(blocks))]
    return _frame(ctx, "sjt-11364-table", lang, t["sjt_title"], t["sjt_subtitle"], sections)


def _vn_label(ctx: _Ctx, lang: str) -> DocModel:
    """Decree 43/2017/ND-CP Art. 10 (mandatory label content) and Art. 15 (origin: "Sản
    xuất tại" or "Xuất xứ" with the country's name, not abbreviated); each row's status
    comes from evidence in the graph, never from the template."""
    t = _t(lang)
    f = ctx.facts
    labels = [d for d in f.documents if d["type"] == "label" and d["language"] == "vi"]
    manuals = [d for d in f.documents if d["type"] in _INSTRUCTIONS and d["language"] == "vi"]
    origin = next((d["country"] for d in labels if d["country"]), "") or f.manufacturer.get("country", "")
    ok, ko = t["present"], t["missing"]
    responsible = f.importer if f.importer.get("name") else (f.manufacturer if f.manufacturer.get("country") == "VN"
                                                             else {})
    rows = [
        (t["vn_item_name"], f"{_name(ctx, lang)} ({f.model})", ok if f.names.get(lang) and labels else ko),
        (t["vn_item_responsible"], _org(responsible, lang, t) if responsible else t["not_recorded"],
         ok if responsible.get("address") else ko),
        (t["vn_item_manufacturer"], _maker(ctx, t, lang), ok if f.manufacturer.get("address") else ko),
        (t["vn_item_origin"], t["vn_origin_text"].format(country=country_name(origin, lang) or origin)
         if origin else t["not_recorded"], ok if origin and country_name(origin, lang) else ko),
        (t["vn_item_specs"], _description(ctx, lang), ok if f.descriptions.get(lang) else ko),
        (t["vn_item_manual"], ", ".join(d["number"] for d in manuals) or t["not_recorded"], ok if manuals else ko),
        (t["vn_item_label"], ", ".join(d["number"] for d in labels) or t["not_recorded"], ok if labels else ko),
    ]
    regs = [r for r in _acts(ctx, [a.id for a in ctx.report.applicable]) if r.jurisdiction == "VN"]
    sections = [
        Section(t["vn_product"], (_product_block(ctx, t, lang),)),
        Section(t["vn_mandatory"], (_table(t["vn_mandatory_cols"], rows),)),
        Section(t["vn_documents"], (_table(t["vn_documents_cols"], [
            (d["number"], _term(d["type"], lang), _language_name(d["language"], lang), d["issued"])
            for d in f.documents]) if f.documents else _p(t["none"]),)),
        Section(t["vn_regulations"], (_table(t["vn_regulations_cols"], [
            (r.identifier, _title(r, lang) or r.short_name or r.identifier) for r in regs]),)),
    ]
    return _frame(ctx, "vn-labelling", lang, t["vn_title"], t["vn_subtitle"], sections)


_BUILDERS = {
    "eu-declaration-of-conformity": _eu_doc, "technical-documentation-index": _eu_tdi,
    "ce-marking-checklist": _eu_ce, "compliance-matrix": _matrix, "vehicle-part-evidence": _vehicle_part,
    "type-approval-evidence": _type_approval, "fda-510k-summary": _us_510k, "qmsr-qms-summary": _us_qms,
    "udi-summary": _us_udi, "ccc-dossier-summary": _cn_ccc, "factory-qa-checklist": _cn_fqa,
    "sjt-11364-table": _cn_sjt, "vn-labelling": _vn_label, "nmpa-registration-checklist": _cn_nmpa,
}


# ---------------------------------------------------------------- rendering


@lru_cache(maxsize=1)
def _html_env() -> Any:
    from jinja2 import FileSystemLoader
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, trim_blocks=True,
                                lstrip_blocks=True)


def render_html(model: DocModel) -> str:
    """``model`` as a standalone HTML page (sandboxed Jinja2, autoescaped)."""
    return str(_html_env().get_template("document.html").render(d=model))


def render_pdf(model: DocModel) -> bytes:
    """``model`` as PDF (weasyprint, the ``docs`` extra; fonts kept for the next document)."""
    from qualitas.doc_templates._render import html_to_pdf

    return html_to_pdf(render_html(model), str(TEMPLATES))


# ---------------------------------------------------------------- store: snapshot and override


def snapshot_id(store: GraphStore) -> tuple[str, list[dict[str, str]]]:
    """An id of the store's state: sha256 over the (source, sha256) of every batch."""
    batches = sorted((b.source, b.sha256, b.graph) for b in store.batches())
    digest = hashlib.sha256("\n".join(f"{s} {h}" for s, h, _ in batches).encode()).hexdigest()
    return digest, [{"source": s, "sha256": h, "graph": g} for s, h, g in batches]


_PACK_NS = "https://w3id.org/qualitas/id/pack/"


def record_override(store: GraphStore, override: Override, *, pack_id: str, product: str, market: str,
                    open_findings: int) -> str:
    """Write the override to the store as PROV-O (an activity associated with the person
    who decided, with its time and reason); returns the activity's IRI."""
    activity = URIRef(f"{_PACK_NS}{pack_id}/override")
    agent = URIRef(f"{_PACK_NS}{pack_id}/override/agent")
    pack = URIRef(f"{_PACK_NS}{pack_id}")
    when = RdfLiteral(override.at.isoformat(), datatype=XSD.dateTime)
    triples = [
        (activity, RDF.type, PROV.Activity), (activity, PROV.wasAssociatedWith, agent),
        (activity, PROV.startedAtTime, when), (activity, PROV.endedAtTime, when),
        (activity, RDFS.comment, RdfLiteral(override.reason)), (activity, PROV.used, URIRef(product)),
        (activity, RDFS.label, RdfLiteral(f"Final {market} pack issued despite {open_findings} open findings")),
        (agent, RDF.type, PROV.Agent), (agent, RDFS.label, RdfLiteral(override.by)),
        (pack, RDF.type, PROV.Entity), (pack, DCTERMS.identifier, RdfLiteral(pack_id)),
        (pack, PROV.wasGeneratedBy, activity),
    ]
    text = "\n".join(sorted(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in triples))
    store.load_triples(triples, source=f"pack-override/{pack_id}", sha256=hashlib.sha256(text.encode()).hexdigest(),
                       agent=override.by, format="generated")
    return str(activity)


# ---------------------------------------------------------------- the pack


def _pack_id(model: str, market: str, generated: dt.datetime, snapshot: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("._-") or "product"
    return f"{safe}-{market}-{generated.strftime('%Y%m%dT%H%M%SZ')}-{snapshot[:8]}"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack_digest(manifest: dict[str, Any]) -> str:
    """sha256 of the manifest's canonical JSON without its own ``packDigest``: a changed
    byte anywhere in the manifest is caught, like one in any listed file."""
    body = {k: v for k, v in manifest.items() if k != "packDigest"}
    return _sha(json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())


def route_of(store: GraphStore, report: GapReport, catalog: Catalog) -> Route:
    """The legal route of the report's product in its market on its date (routes.py),
    the acts in its reason cited as documents cite them: the gap report's own route."""
    if report.route is not None:
        return report.route
    app = applicable_regulations(store, report.product.iri, report.market, on=report.on, catalog=catalog)
    acts = [a.id for a in app.applicable if a.instrument_type not in STANDARD_TYPES]
    by_id = catalog.by_id
    return decide_route(report.market, report.on, acts, app.categories, app.features, app.excluded,
                        act_names=lambda rid, lang: cite(by_id[rid], lang) if rid in by_id else rid)


def _acts_by_id(catalog: Catalog, ids: Iterable[str]) -> list[Regulation]:
    by_id = catalog.by_id
    return [by_id[i] for i in ids if i in by_id]


def build_pack(
    store: GraphStore,
    product_id: str,
    market: str,
    *,
    out_dir: Path,
    languages: Sequence[str] | None = None,
    on: dt.date | None = None,
    catalog: Catalog | None = None,
    final: bool = False,
    override_by: str | None = None,
    override_reason: str | None = None,
    now: dt.datetime | None = None,
    report: GapReport | None = None,
    workers: int | None = None,
) -> Pack:
    """Build the ``market`` pack of ``product_id`` into ``out_dir/<pack id>.zip``.

    ``final`` with open findings needs ``override_by`` and ``override_reason``; the
    override is then recorded in ``store`` (which must be writable). Documents render
    on ``workers`` processes (default: one per core, see ``_render.py``; 1: in this
    process); the bytes are the same whatever the number."""
    market = market.upper()
    if market not in MARKETS:
        raise PackError(f"unknown market {market!r}; packs exist for {', '.join(MARKETS)}", market=market)
    langs = tuple(languages) if languages else DEFAULT_LANGUAGES[market]
    allowed = set(DEFAULT_LANGUAGES[market])
    if not set(langs) <= allowed:
        raise PackError(f"languages {sorted(set(langs) - allowed)} not offered for {market}; "
                        f"choose from {sorted(allowed)}", market=market)
    catalog = catalog or default_catalog()
    generated = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    from qualitas.doc_templates._render import RenderJob, prepare, render_all

    workers = prepare(workers)  # workers start while the gap report is computed
    report = report or gap_report(store, product_id, market, on=on, catalog=catalog)
    snapshot, batches = snapshot_id(store)
    pack_id = _pack_id(report.product.model, market, generated, snapshot)
    override: Override | None = None
    override_iri: str | None = None
    route = route_of(store, report, catalog)
    facts = _facts(store, report)
    ctx = _Ctx(report=report, facts=facts, catalog=catalog, route=route, findings=(), status="draft",
               override=None, generated=generated, snapshot=snapshot, pack_id=pack_id)
    pack_findings = tuple(_pack_findings(ctx, langs))
    open_count = len(report.findings) + len(pack_findings)
    if final and open_count:
        if not (override_by and override_by.strip() and override_reason and override_reason.strip()):
            raise PackError(f"{open_count} open findings: a final pack needs --override-by and "
                            f"--override-reason (who decided, and why)", findings=open_count)
        override = Override(by=override_by.strip(), reason=override_reason.strip(), at=generated)
        override_iri = record_override(store, override, pack_id=pack_id, product=report.product.iri, market=market,
                                       open_findings=open_count)
    status: Literal["draft", "final"] = "final" if (not open_count or override is not None) else "draft"
    ctx = dataclasses.replace(ctx, findings=pack_findings, status=status, override=override)

    from qualitas.doc_templates.gap import TEMPLATES as GAP_TEMPLATES
    from qualitas.doc_templates.gap import gap_jsonable, render_gap_html

    files: dict[str, bytes] = {}
    documents = []
    jobs = [RenderJob("gap-report/gap-report", html=render_gap_html(report, generated=generated),
                      base_url=str(GAP_TEMPLATES))]
    for key in route.documents:
        for lang in langs:
            model = _BUILDERS[key](ctx, lang)
            jobs.append(RenderJob(f"documents/{model.stem}", model=model))
            documents.append({"key": key, "language": lang, "title": model.title, "status": status,
                              "files": [f"documents/{model.stem}.pdf", f"documents/{model.stem}.docx"]})
    for done in render_all(jobs, workers=workers):
        files[f"{done.name}.pdf"] = done.pdf
        if done.docx is not None:
            files[f"{done.name}.docx"] = done.docx
    files["gap-report/gap-report.json"] = (json.dumps(gap_jsonable(report), ensure_ascii=False, indent=2,
                                                      default=_jsonable)
                                           + "\n").encode()
    files["validation/validation-report.ttl"] = report.validation_report_ttl.encode()
    files["validation/data-graph.ttl"] = _turtle(report.data_graph)
    files["validation/shapes-graph.ttl"] = _turtle(report.shapes_graph)

    entries = tuple(PackFile(path=p, sha256=_sha(b), size=len(b), media_type=_MEDIA[Path(p).suffix])
                    for p, b in sorted(files.items()))
    import pyshacl

    manifest: dict[str, Any] = {
        "format": PACK_FORMAT,
        "packId": pack_id,
        "status": status,
        "product": {"iri": report.product.iri, "model": report.product.model, "name": report.product.name},
        "market": market,
        "date": report.on.isoformat(),
        "languages": list(langs),
        "generatedAt": generated.isoformat(),
        "qualitasVersion": __version__,
        "catalogVersion": report.catalog_version,
        "storeSnapshot": {"id": snapshot, "batches": batches},
        "validation": {
            "engine": f"pySHACL {pyshacl.__version__}",
            "inference": "none (the data graph already holds the OWL RL closure where the shapes needed it)",
            "conforms": report.validation_conforms,
            "dataGraph": "validation/data-graph.ttl",
            "shapesGraph": "validation/shapes-graph.ttl",
            "report": "validation/validation-report.ttl",
        },
        "route": {"code": route.code, "basis": route.basis, "reason": route.reason_in("en") or dict(route.reason),
                  "declared": list(route.declared), "obligations": list(route.obligations),
                  "typeApproval": list(route.type_approval),
                  "excluded": [{"regulation": e.regulation_id, "basis": e.basis} for e in route.excluded]},
        "findings": {"open": open_count,
                     "bySeverity": dict(report.summary.findings_by_severity),
                     "items": [{"severity": f.severity, "kind": f.kind, "regulation": f.regulation_id,
                                "clause": f.clause, "message": f.message_en} for f in report.findings]
                     + [{"severity": "major", "kind": "pack_" + pf.code, "regulation": None, "clause": pf.document,
                         "message": pf.message("en")} for pf in pack_findings]},
        "override": None if override is None else {
            "by": override.by, "at": override.at.isoformat(), "reason": override.reason, "prov": override_iri},
        "documents": documents,
        "files": [{"path": e.path, "sha256": e.sha256, "bytes": e.size, "mediaType": e.media_type} for e in entries],
    }
    manifest["packDigest"] = pack_digest(manifest)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{pack_id}.zip"
    tmp = path.with_suffix(".zip.part")
    def entry(name: str) -> zipfile.ZipInfo:  # dated by the pack, not the clock: same inputs, same bytes
        info = zipfile.ZipInfo(name, date_time=generated.timetuple()[:6])
        info.external_attr = 0o600 << 16
        return info

    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(entry("manifest.json"), json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                    compress_type=zipfile.ZIP_DEFLATED)
        for name, data in sorted(files.items()):
            zf.writestr(entry(name), data, compress_type=zipfile.ZIP_DEFLATED)
    tmp.replace(path)
    return Pack(pack_id=pack_id, path=path, status=status, manifest=manifest, files=entries, report=report)


def _jsonable(value: object) -> object:
    """JSON for the frozen mappings of the gap report (messages by language)."""
    from collections.abc import Mapping

    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _turtle(graph: Graph) -> bytes:
    out = graph.serialize(format="turtle")
    return out.encode() if isinstance(out, str) else bytes(out)


def pack_path(directory: Path, pack_id: str) -> Path:
    """The file of ``pack_id`` inside ``directory``; refuses ids that are not plain names
    (no separators, no ``..``), so an id from a URL cannot leave the directory."""
    if not _PACK_ID.fullmatch(pack_id) or ".." in pack_id:
        raise PackError(f"not a pack id: {pack_id!r}")
    root = directory.resolve()
    path = (root / f"{pack_id}.zip").resolve()
    if path.parent != root:
        raise PackError(f"not a pack id: {pack_id!r}")
    return path


__all__ = [
    "DEFAULT_LANGUAGES",
    "DOCUMENTS",
    "MARKETS",
    "PACK_FORMAT",
    "Block",
    "DocModel",
    "Override",
    "Pack",
    "PackError",
    "PackFile",
    "Section",
    "build_pack",
    "pack_digest",
    "pack_path",
    "record_override",
    "render_html",
    "render_pdf",
    "snapshot_id",
]
