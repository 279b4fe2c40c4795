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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from rdflib import Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, XSD

from qualitas import __version__
from qualitas.errors import InputError, MissingExtraError
from qualitas.ontology import Q
from qualitas.reasoning.gap import GapFinding, GapReport, gap_report
from qualitas.regulations.catalog import Catalog, default_catalog
from qualitas.store import GraphStore

TEMPLATES = Path(__file__).parent / "templates" / "pack"
PACK_FORMAT = "qualitas-pack/1"
MARKETS = ("EU", "US", "CN", "VN")
DEFAULT_LANGUAGES: dict[str, tuple[str, ...]] = {"EU": ("en", "de", "fr"), "US": ("en",), "CN": ("zh",), "VN": ("vi",)}
#: Documents of each market: (key, file stem).
DOCUMENTS: dict[str, tuple[str, ...]] = {
    "EU": ("eu-declaration-of-conformity", "technical-documentation-index", "ce-marking-checklist"),
    "US": ("fda-510k-summary", "qmsr-qms-summary", "udi-summary"),
    "CN": ("ccc-dossier-summary", "factory-qa-checklist", "sjt-11364-table"),
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
    name: str
    description: str
    literals: dict[str, str]
    manufacturer: dict[str, str]
    importer: dict[str, str]  # the label's publisher: the importer of imported goods
    predicate: dict[str, str]
    markings: tuple[str, ...]
    documents: tuple[dict[str, str], ...]
    bom: tuple[tuple[str, ...], ...]
    calibrations: tuple[tuple[str, str, str, str], ...]  # equipment, certificate, valid from, valid until
    suppliers: tuple[str, ...]


def _s(value: object) -> str:
    return "" if value is None else str(value)


def _facts(store: GraphStore, report: GapReport) -> _Facts:
    g = report.data_graph
    p = URIRef(report.product.iri)
    lits = {str(pred).rsplit("#", 1)[-1]: str(o) for pred, o in g.predicate_objects(p) if isinstance(o, RdfLiteral)}
    desc = _s(g.value(p, DCTERMS.description))
    maker: dict[str, str] = {}
    rows = store.select(f"""PREFIX q: <{Q}> SELECT ?name ?address ?country ?tel ?contact WHERE {{
        <{p}> q:manufacturedBy ?m . OPTIONAL {{ ?m q:name ?name }} OPTIONAL {{ ?m q:address ?address }}
        OPTIONAL {{ ?m q:country ?country }} OPTIONAL {{ ?m q:telephone ?tel }}
        OPTIONAL {{ ?m q:contactPerson ?contact }} }} LIMIT 1""")
    if rows:
        maker = {k: _s(v) for k, v in rows[0].items()}
    importer: dict[str, str] = {}
    rows = store.select(f"""PREFIX q: <{Q}> PREFIX dcterms: <{DCTERMS}> SELECT ?name ?address WHERE {{
        ?d q:about <{p}> ; dcterms:type "label" ; dcterms:publisher ?o . ?o q:name ?name .
        OPTIONAL {{ ?o q:address ?address }} }} LIMIT 1""")
    if rows:
        importer = {k: _s(v) for k, v in rows[0].items()}
    predicate: dict[str, str] = {}
    rows = store.select(f"""PREFIX q: <{Q}> SELECT ?name ?number ?holder WHERE {{
        <{p}> q:predicateDevice ?d . OPTIONAL {{ ?d q:name ?name }} OPTIONAL {{ ?d q:clearanceNumber ?number }}
        OPTIONAL {{ ?d q:clearanceHolder ?holder }} }} LIMIT 1""")
    if rows:
        predicate = {k: _s(v) for k, v in rows[0].items()}
    docs = []
    for d in set(g.subjects(Q.about, p)):
        docs.append({
            "number": _s(g.value(d, Q.documentNumber)) or str(d).rsplit("/", 1)[-1],
            "type": _s(g.value(d, DCTERMS.type)), "language": _s(g.value(d, DCTERMS.language)),
            "issued": _s(g.value(d, DCTERMS.issued)), "description": _s(g.value(d, DCTERMS.description)),
            "country": _s(g.value(d, Q.country)), "marking": _s(g.value(d, Q.marking)),
        })
    docs.sort(key=lambda x: (x["type"], x["number"]))
    bom = []
    for b in g.objects(p, Q.hasBOM):
        for line in g.objects(b, Q.hasLine):
            comp = g.value(line, Q.component)
            mat = g.value(line, Q.designedMaterial)
            sup = g.value(comp, Q.suppliedBy) if comp is not None else None
            bom.append((
                _s(g.value(line, Q.position)),
                _s(g.value(comp, Q.partNumber) or g.value(comp, Q.modelNumber)),
                _s(g.value(comp, Q.name)), _s(g.value(mat, Q.grade)) if mat is not None else "",
                _s(g.value(sup, Q.name)) if sup is not None else "",
            ))
    bom.sort(key=lambda r: int(r[0]) if r[0].isdigit() else 0)
    cals = []
    for eq in set(g.subjects(RDF.type, Q.Equipment)):
        for c in g.objects(eq, Q.hasCalibration):
            cals.append((_s(g.value(eq, Q.equipmentId)), _s(g.value(c, Q.documentNumber)),
                         _s(g.value(c, Q.validFrom)), _s(g.value(c, Q.validUntil))))
    suppliers = sorted({_s(g.value(s, Q.name)) for s in g.subjects(RDF.type, Q.Supplier)} - {""})
    return _Facts(
        product=p, model=report.product.model, name=report.product.name or report.product.model, description=desc,
        literals=lits, manufacturer=maker, importer=importer, predicate=predicate,
        markings=tuple(sorted(str(m) for m in g.objects(p, Q.marking))), documents=tuple(docs), bom=tuple(bom),
        calibrations=tuple(sorted(cals)), suppliers=tuple(suppliers),
    )


# ---------------------------------------------------------------- document builders


@dataclass(frozen=True)
class _Ctx:
    report: GapReport
    facts: _Facts
    catalog: Catalog
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


def _finding_rows(findings: Iterable[GapFinding], lang: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for f in findings:
        where = " · ".join(x for x in (f.regulation or "", f.clause or "") if x) or "as designed vs as built"
        msg = f.message_zh if lang == "zh" else f.message_en
        act = f.remediation.action_zh if lang == "zh" else f.remediation.action_en
        rows.append((f.severity, where, msg, f"({f.remediation.owner}) {act}"))
    return rows


def _frame(ctx: _Ctx, key: str, lang: str, title: str, subtitle: str, sections: list[Section]) -> DocModel:
    """Wrap a document's sections with the honesty rule: watermark, notice, open findings."""
    t = _t(lang)
    r = ctx.report
    n = len(r.findings)
    notice = ""
    watermark = ""
    if ctx.status == "draft":
        watermark = t["draft"]
        notice = t["draft_notice"].format(n=n)
    elif ctx.override is not None:
        notice = t["override_notice"].format(by=ctx.override.by, at=ctx.override.at.isoformat(timespec="seconds"),
                                             reason=ctx.override.reason, n=n)
    tail: list[Section] = []
    if r.findings:
        tail.append(Section(t["open_findings"], (_table(t["finding_cols"], _finding_rows(r.findings, lang)),)))
    if r.summary.not_checkable_items:
        tail.append(Section(t["not_checkable"], (_table((), ((x,) for x in r.summary.not_checkable_items)),)))
    footer = t["generated"].format(version=__version__, at=ctx.generated.isoformat(timespec="seconds"),
                                   snapshot=ctx.snapshot[:16], catalog=r.catalog_version, pack=ctx.pack_id)
    return DocModel(key=key, lang=lang, model=ctx.facts.model, title=title, subtitle=subtitle, watermark=watermark,
                    notice=notice, sections=tuple(sections + tail), footer=footer)


def _product_block(ctx: _Ctx, t: dict[str, Any]) -> Block:
    f, r = ctx.facts, ctx.report
    return _kv([
        (t["lbl_model"], f.model), (t["lbl_name"], f.name), (t["lbl_description"], f.description or t["not_recorded"]),
        (t["lbl_categories"], ", ".join((*r.product.categories, *r.product.features)) or t["none"]),
        (t["lbl_market"], r.market), (t["lbl_date"], r.on.isoformat()),
    ])


def _maker(ctx: _Ctx, t: dict[str, Any]) -> str:
    m = ctx.facts.manufacturer
    if not m.get("name"):
        return t["not_recorded"]
    return ", ".join(x for x in (m.get("name", ""), m.get("address", "")) if x)


def _regs(ctx: _Ctx, *, standards: bool) -> list[Any]:
    by_id = ctx.catalog.by_id
    out = []
    for a in ctx.report.applicable:
        reg = by_id.get(a.id)
        if reg is None:
            continue
        is_std = a.instrument_type in ("harmonised_standard", "national_standard", "international_standard",
                                       "industry_standard")
        if is_std == standards:
            out.append(reg)
    return out


def _doc_status(ctx: _Ctx, doc_type: str, t: dict[str, Any]) -> tuple[str, str]:
    hits = [d for d in ctx.facts.documents if d["type"] == doc_type]
    if not hits:
        return t["missing"], ""
    if all(d["description"].startswith("Not applicable") for d in hits):
        return t["waived"], ", ".join(d["number"] for d in hits)
    return t["present"], ", ".join(d["number"] for d in hits)


def _required_rows(ctx: _Ctx, t: dict[str, Any], regs: Iterable[Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for reg in regs:
        for doc in reg.required_documents:
            status, record = _doc_status(ctx, doc, t)
            rows.append((reg.short_name or reg.identifier, doc, status, record))
    return rows


def _eu_doc(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f = ctx.facts
    legislation = [r for r in _regs(ctx, standards=False) if r.jurisdiction == "EU"]
    standards = [r for r in _regs(ctx, standards=True) if r.instrument_type == "harmonised_standard"]
    routes = sorted({route for r in legislation for route in r.conformity_route}) or [t["none"]]
    m = f.manufacturer
    sections = [
        Section(t["doc_no"], (_kv([(t["doc_product"], f"{f.model} — {f.name}")]),)),
        Section(t["doc_manufacturer"], (_p(_maker(ctx, t)),)),
        Section("", (_p(t["doc_sole"]),)),
        Section(t["doc_object"], (_product_block(ctx, t),)),
        Section("", (_p(t["doc_conformity"]), _table(t["col_legislation"], [
            (r.short_name or r.id, r.identifier, r.title(lang)) for r in legislation]))),
        Section("", (_p(t["doc_standards"]), _table(t["col_standard"], [
            (r.identifier, r.title(lang)) for r in standards]) if standards else _p(t["doc_standards_none"]))),
        Section(t["doc_nb"], (_p(t["doc_nb_text"].format(routes=", ".join(routes))),)),
        Section(t["doc_additional"], (_p(f"Qualitas gap report {f.model} / {ctx.report.market} "
                                         f"({ctx.report.on.isoformat()}): {len(ctx.report.findings)} findings; "
                                         f"SHACL conforms: {ctx.report.validation_conforms}."),)),
        Section(t["doc_signed"], (_kv([
            (t["doc_signed"], m.get("name") or t["not_recorded"]),
            (t["doc_place_date"], ""), (t["doc_name_function"], m.get("contact") or ""), (t["doc_signature"], ""),
        ]),)),
    ]
    return _frame(ctx, "eu-declaration-of-conformity", lang, t["eu_doc_title"], t["eu_doc_subtitle"], sections)


def _eu_tdi(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f = ctx.facts
    legislation = _regs(ctx, standards=False)
    standards = _regs(ctx, standards=True)
    sections = [
        Section(t["tdi_general"], (_product_block(ctx, t), _kv([(t["doc_manufacturer"], _maker(ctx, t))]))),
        Section(t["tdi_bom"], (_table(t["tdi_bom_cols"], f.bom) if f.bom else _p(t["none"]),)),
        Section(t["tdi_legislation"], (_table(t["col_legislation"], [
            (r.short_name or r.id, r.identifier, r.title(lang)) for r in legislation + standards]),)),
        Section(t["tdi_required"], (_table(t["tdi_required_cols"], _required_rows(ctx, t, legislation + standards)),)),
        Section(t["tdi_records"], (_table(t["tdi_records_cols"], [
            (d["number"], d["type"], d["language"], d["issued"]) for d in f.documents]) if f.documents
            else _p(t["none"]),)),
    ]
    return _frame(ctx, "technical-documentation-index", lang, t["tdi_title"], t["tdi_subtitle"], sections)


def _eu_ce(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f = ctx.facts
    marks: dict[str, list[str]] = {}
    for reg in _regs(ctx, standards=False):
        for mark in reg.markings:
            marks.setdefault(mark, []).append(reg.short_name or reg.identifier)
    waived = {d["marking"] for d in f.documents if d["type"] == "marking_not_applicable"}
    mark_rows = [(mark, ", ".join(sorted(set(by))),
                  t["present"] if mark in f.markings else (t["waived"] if mark in waived else t["missing"]))
                 for mark, by in sorted(marks.items())]
    ifu = sorted({d["language"] for d in f.documents if d["type"] in _INSTRUCTIONS})
    doc_s, doc_r = _doc_status(ctx, "eu_declaration_of_conformity", t)
    tf_s, tf_r = _doc_status(ctx, "technical_documentation", t)
    labelling = [
        (t["ce_item_name"], t["present"] if f.manufacturer.get("address") else t["missing"], _maker(ctx, t)),
        (t["ce_item_type"], t["present"], f.model),
        (t["ce_item_ifu"], t["present"] if ifu else t["missing"], ", ".join(ifu)),
        (t["ce_item_doc"], doc_s, doc_r),
        (t["ce_item_tf"], tf_s, tf_r),
    ]
    sections = [
        Section("", (_product_block(ctx, t),)),
        Section(t["ce_markings"], (_table(t["ce_markings_cols"], mark_rows),)),
        Section(t["ce_labelling"], (_table(t["ce_labelling_cols"], labelling),)),
    ]
    return _frame(ctx, "ce-marking-checklist", lang, t["ce_title"], t["ce_subtitle"], sections)


def _us_510k(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f = ctx.facts
    lit = f.literals
    nr = t["not_recorded"]
    m = f.manufacturer
    perf = [d["description"] for d in f.documents if d["type"] == "premarket_notification_510k" and d["description"]]
    perf += [f"{d['number']} ({d['type']})" for d in f.documents
             if d["type"] in ("type_test_report", "test_report", "biological_evaluation_report")]
    sections = []
    if "us-21cfr807" not in {a.id for a in ctx.report.applicable}:
        sections.append(Section("", (_p(t["k_not_device"]),)))
    sections += [
        Section(t["k_submitter"], (_kv(zip(t["k_submitter_rows"], (
            m.get("name") or nr, m.get("address") or nr, m.get("tel") or nr, m.get("contact") or nr,
            ctx.generated.date().isoformat()), strict=True)),)),
        Section(t["k_device"], (_kv(zip(t["k_device_rows"], (
            f"{f.name} ({f.model})", lit.get("commonName", nr), lit.get("classificationName", nr),
            lit.get("regulationNumber", nr), lit.get("deviceClass", nr), lit.get("productCode", nr)), strict=True)),)),
        Section(t["k_predicate"], (_table(t["k_predicate_cols"], [(
            f.predicate.get("name") or nr, f.predicate.get("number") or nr, f.predicate.get("holder") or nr)]),)),
        Section(t["k_description"], (_p(f.description or nr),)),
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
    rows = [(req, doc, *_doc_status(ctx, doc, t)) for req, doc in _QMSR_ROWS]
    checks = [(c.regulation_id, c.message_en, c.status) for c in ctx.report.requirements
              if c.regulation_id in ("us-21cfr820-qmsr", "int-iso-13485-2016", "us-21cfr803", "us-21cfr806")]
    sections = []
    if ctx.report.on < dt.date(2026, 2, 2):
        sections.append(Section("", (_p(t["q_before"].format(date=ctx.report.on.isoformat())),)))
    sections += [
        Section(t["q_manufacturer"], (_kv([(t["q_manufacturer"], _maker(ctx, t))]), _product_block(ctx, t))),
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
        " ".join(_doc_status(ctx, "gudid_submission", t)), " ".join(_doc_status(ctx, "label", t)),
    )
    sections = [Section("", (_product_block(ctx, t),)),
                Section(t["u_title"], (_kv(zip(t["u_rows"], values, strict=True)),))]
    return _frame(ctx, "udi-summary", lang, t["u_title"], t["u_subtitle"], sections)


def _cn_ccc(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f = ctx.facts
    regs = _regs(ctx, standards=False) + _regs(ctx, standards=True)
    reg_rows = [(r.instrument_type, r.identifier, r.title("zh")) for r in regs]
    sections = [
        Section(t["ccc_applicant"], (_kv([(t["ccc_applicant"], _maker(ctx, t)),
                                          (t["ccc_factory"], _maker(ctx, t))]), _product_block(ctx, t))),
        Section(t["ccc_regulations"], (_table(t["ccc_regulations_cols"], reg_rows),)),
        Section(t["ccc_required"], (_table(t["ccc_required_cols"], _required_rows(ctx, t, regs)),)),
        Section(t["ccc_mark"], (_kv([(t["ccc_mark_carried"],
                                      t["word_yes"] if "ccc_mark" in f.markings else t["word_no"])]),)),
    ]
    return _frame(ctx, "ccc-dossier-summary", lang, t["ccc_title"], t["ccc_subtitle"], sections)


def _cn_fqa(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f = ctx.facts
    r = ctx.report
    kinds = {x.kind for x in r.findings}
    day = r.on.isoformat()
    cal_rows = [f"{eq} {cert} {frm}..{until}" for eq, cert, frm, until in f.calibrations]
    cal_ok = all(frm <= day <= until for _, _, frm, until in f.calibrations) and "calibration_invalid" not in kinds
    decls = sorted(_s(report_number) for report_number in (d["number"] for d in f.documents))
    evidence = [
        (", ".join(x for x in (f.manufacturer.get("name", ""), f.manufacturer.get("contact", "")) if x), None),
        (", ".join(decls[:8]) or t["none"], "missing_document" not in kinds),
        (", ".join(f.suppliers) or t["none"], "material_mismatch" not in kinds),
        (f"{len(r.as_built.runs)} runs", not kinds & {"parameter_set_outdated", "parameter_out_of_tolerance"}),
        (f"{len(r.as_built.lots)} lots", None),
        ("; ".join(cal_rows) or t["none"], cal_ok if cal_rows else None),
        (", ".join(sorted({x.subject_label for x in r.findings if x.source == 'as_built'})) or t["none"], None),
        (t["not_recorded"], None),
        (f"{len(r.findings)} findings", not r.findings),
        (t["not_recorded"], None),
    ]
    rows = []
    for i, (item, (ev, ok)) in enumerate(zip(t["fqa_items"], evidence, strict=True), start=1):
        verdict = t["fqa_review"] if ok is None else (t["fqa_ok"] if ok else t["fqa_gap"])
        rows.append((str(i), item, ev, verdict))
    sections = [Section("", (_product_block(ctx, t),)), Section(t["fqa_title"], (_table(t["fqa_cols"], rows),))]
    return _frame(ctx, "factory-qa-checklist", lang, t["fqa_title"], t["fqa_subtitle"], sections)


_ZH_SUBSTANCE = {"Pb": "铅", "Hg": "汞", "Cd": "镉", "Cr(VI)": "六价铬", "PBB": "多溴联苯", "PBDE": "多溴二苯醚"}


def _cn_sjt(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    table = ctx.report.screening.china_rohs
    blocks: list[Block] = []
    if table is None or not table.rows:
        blocks.append(_p(t["sjt_none"]))
    else:
        if not table.required:
            blocks.append(_p(t["sjt_not_required"]))
        header = [t["sjt_part"]] + [f"{_ZH_SUBSTANCE.get(c.symbol, c.substance)} ({c.symbol})" for c in table.columns]
        blocks.append(_table(header, [(f"{row.part_number} {row.part_name or ''}".strip(), *row.marks)
                                      for row in table.rows]))
    blocks += [_p(t["sjt_note_o"]), _p(t["sjt_note_x"]), _p(t["sjt_note_q"])]
    sections = [Section("", (_product_block(ctx, t),)), Section(t["sjt_title"], tuple(blocks))]
    return _frame(ctx, "sjt-11364-table", lang, t["sjt_title"], t["sjt_subtitle"], sections)


def _vn_label(ctx: _Ctx, lang: str) -> DocModel:
    t = _t(lang)
    f = ctx.facts
    labels = [d for d in f.documents if d["type"] == "label" and d["language"] == "vi"]
    manuals = [d for d in f.documents if d["type"] in _INSTRUCTIONS and d["language"] == "vi"]
    origin = next((d["country"] for d in labels if d["country"]), "") or f.manufacturer.get("country", "")
    ok, ko = t["present"], t["missing"]
    rows = [
        (t["vn_item_name"], f"{f.name} ({f.model})", ok),
        (t["vn_item_manufacturer"], _maker(ctx, t), ok if f.manufacturer.get("address") else ko),
        (t["vn_item_responsible"], ", ".join(x for x in (f.importer.get("name", ""), f.importer.get("address", ""))
                                             if x) or t["not_recorded"], ok if f.importer.get("address") else ko),
        (t["vn_item_origin"], t["vn_origin_text"].format(country=origin) if origin else t["not_recorded"],
         ok if origin else ko),
        (t["vn_item_date"], t["vn_date_text"], ok),
        (t["vn_item_specs"], f.description or t["not_recorded"], ok if f.description else ko),
        (t["vn_item_safety"], t["vn_safety_text"], ok if manuals else ko),
        (t["vn_item_label"], ", ".join(d["number"] for d in labels) or t["not_recorded"], ok if labels else ko),
        (t["vn_item_manual"], ", ".join(d["number"] for d in manuals) or t["not_recorded"], ok if manuals else ko),
    ]
    regs = [r for r in _regs(ctx, standards=False) + _regs(ctx, standards=True) if r.jurisdiction == "VN"]
    sections = [
        Section("", (_product_block(ctx, t),)),
        Section(t["vn_mandatory"], (_table(t["vn_mandatory_cols"], rows),)),
        Section(t["vn_documents"], (_table(t["vn_documents_cols"], [
            (d["number"], d["type"], d["language"], d["issued"]) for d in f.documents]) if f.documents
            else _p(t["none"]),)),
        Section(t["vn_regulations"], (_table(t["vn_regulations_cols"], [
            (r.short_name or r.id, r.identifier, r.title("vi")) for r in regs]),)),
    ]
    return _frame(ctx, "vn-labelling", lang, t["vn_title"], t["vn_subtitle"], sections)


_BUILDERS = {
    "eu-declaration-of-conformity": _eu_doc, "technical-documentation-index": _eu_tdi,
    "ce-marking-checklist": _eu_ce, "fda-510k-summary": _us_510k, "qmsr-qms-summary": _us_qms,
    "udi-summary": _us_udi, "ccc-dossier-summary": _cn_ccc, "factory-qa-checklist": _cn_fqa,
    "sjt-11364-table": _cn_sjt, "vn-labelling": _vn_label,
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
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: weasyprint without its Pango libraries
        raise MissingExtraError("weasyprint", extra="docs") from exc
    pdf = HTML(string=render_html(model), base_url=str(TEMPLATES)).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


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
) -> Pack:
    """Build the ``market`` pack of ``product_id`` into ``out_dir/<pack id>.zip``.

    ``final`` with open findings needs ``override_by`` and ``override_reason``; the
    override is then recorded in ``store`` (which must be writable)."""
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
    report = report or gap_report(store, product_id, market, on=on, catalog=catalog)
    snapshot, batches = snapshot_id(store)
    pack_id = _pack_id(report.product.model, market, generated, snapshot)
    override: Override | None = None
    override_iri: str | None = None
    if final and report.findings:
        if not (override_by and override_by.strip() and override_reason and override_reason.strip()):
            raise PackError(f"{len(report.findings)} open findings: a final pack needs --override-by and "
                            f"--override-reason (who decided, and why)", findings=len(report.findings))
        override = Override(by=override_by.strip(), reason=override_reason.strip(), at=generated)
        override_iri = record_override(store, override, pack_id=pack_id, product=report.product.iri, market=market,
                                       open_findings=len(report.findings))
    status: Literal["draft", "final"] = "final" if (not report.findings or override is not None) else "draft"
    ctx = _Ctx(report=report, facts=_facts(store, report), catalog=catalog, status=status, override=override,
               generated=generated, snapshot=snapshot, pack_id=pack_id)

    from qualitas.doc_templates.docx import render_docx
    from qualitas.doc_templates.gap import gap_jsonable, render_gap_pdf

    files: dict[str, bytes] = {}
    documents = []
    for key in DOCUMENTS[market]:
        for lang in langs:
            model = _BUILDERS[key](ctx, lang)
            files[f"documents/{model.stem}.pdf"] = render_pdf(model)
            files[f"documents/{model.stem}.docx"] = render_docx(model)
            documents.append({"key": key, "language": lang, "title": model.title, "status": status,
                              "files": [f"documents/{model.stem}.pdf", f"documents/{model.stem}.docx"]})
    files["gap-report/gap-report.pdf"] = render_gap_pdf(report)
    files["gap-report/gap-report.json"] = (json.dumps(gap_jsonable(report), ensure_ascii=False, indent=2)
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
        "findings": {"open": len(report.findings),
                     "bySeverity": dict(report.summary.findings_by_severity),
                     "items": [{"severity": f.severity, "kind": f.kind, "regulation": f.regulation_id,
                                "clause": f.clause, "message": f.message_en} for f in report.findings]},
        "override": None if override is None else {
            "by": override.by, "at": override.at.isoformat(), "reason": override.reason, "prov": override_iri},
        "documents": documents,
        "files": [{"path": e.path, "sha256": e.sha256, "bytes": e.size, "mediaType": e.media_type} for e in entries],
    }
    manifest["packDigest"] = pack_digest(manifest)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{pack_id}.zip"
    tmp = path.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    tmp.replace(path)
    return Pack(pack_id=pack_id, path=path, status=status, manifest=manifest, files=entries, report=report)


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
