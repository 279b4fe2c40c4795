"""Substance screening from material declarations (IPC-1752A composition entries).

Four screens over the composition entries of a product's focus subgraph, all limits
and lists read from the regulation catalog (never from code):

* **EU RoHS** (Directive 2011/65/EU Annex II, https://eur-lex.europa.eu/eli/dir/2011/65/oj):
  maximum concentration per homogeneous material; a claimed Annex III exemption known
  to the catalog record turns an exceedance into ``exempt``.
* **REACH SVHC** (Regulation 1907/2006 Art. 33(1), https://eur-lex.europa.eu/eli/reg/2006/1907/oj):
  Candidate List substances above 0.1 % w/w *per article* (CJEU C-106/14: each article
  of a complex object); the article mass is the sum of the declared homogeneous materials.
* **China RoHS** (GB/T 26572-2011 limits) and the **SJ/T 11364-2014** hazardous
  substance table: parts x (Pb, Hg, Cd, Cr(VI), PBB, PBDE), ``O`` below the limit in
  every homogeneous material, ``X`` above it in at least one (no exemptions in China).
  The standard allows only these two marks, so ``O`` needs evidence: a part whose
  material no declaration covers, or whose lot test report found another material
  than the one declared, is marked ``X`` and listed in the table's ``gaps`` (the gap
  report turns each into a finding, which keeps the document a draft).
* **California Proposition 65** (Cal. Health & Safety Code 25249.6): presence of a
  listed substance, from the list the catalog record carries.

What cannot be decided for lack of data (a part without a composition declaration, an
article without masses) is listed in ``not_checkable``, never silently passed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from rdflib import Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.term import Node

from qualitas.ontology import Q
from qualitas.regulations.catalog import Catalog, Limit, Regulation

#: Catalog records each screen reads (their limits, exemptions and lists are data).
ROHS = "eu-rohs-2011-65"
REACH = "eu-reach-1907-2006"
CHINA_ROHS_LIMITS = "cn-gb-t-26572-2011"
CHINA_ROHS_TABLE = ("cn-sj-t-11364-2014", "cn-miit-order-32")
PROP65 = "us-ca-prop65"
SVHC_THRESHOLD = Decimal("0.001")  # 0.1 % w/w, Art. 33(1)

Verdict = Literal["pass", "exempt", "fail", "unknown"]
#: SJ/T 11364-2014 clause 5.2: O or X, nothing else.
Mark = Literal["O", "X"]
#: Units of a BOM line (QUDT local names) that make its component a raw material
#: consumed by mass or volume into the parent part (a moulding compound), not a
#: component of its own. Length is left out: a cable by the metre is a component.
_BULK_UNITS = frozenset({"KiloGM", "GM", "MilliGM", "TONNE", "LB", "L", "MilliL", "M3"})


@dataclass(frozen=True)
class CompositionLine:
    """One composition entry of a declaration, about one part of the product."""

    entry: str
    part: str
    part_number: str
    declaration: str
    declaration_number: str
    material: str | None
    material_mass_g: Decimal | None
    substance_cas: str | None
    substance_name: str | None
    category: str | None
    mass_fraction: Decimal | None
    above_threshold: bool | None
    exemptions: tuple[str, ...]


@dataclass(frozen=True)
class PartMaterial:
    """A part of the BOM closure and its as-designed material."""

    part: str
    part_number: str
    part_name: str | None
    material: str | None
    #: The part is consumed by mass, length or volume into ``parent`` (a raw material
    #: such as a moulding compound): its material is one of the parent's, not a component.
    bulk: bool = False
    parent: str | None = None


@dataclass(frozen=True)
class SubstanceHit:
    regulation_id: str
    part_number: str
    material: str | None
    substance: str
    cas: str | None
    mass_fraction: Decimal | None
    limit_fraction: Decimal
    exemption: str | None
    verdict: Verdict
    entry: str
    declaration_number: str


@dataclass(frozen=True)
class SvhcHit:
    part_number: str
    substance: str
    cas: str | None
    material: str | None
    material_fraction: Decimal | None
    article_fraction: Decimal | None
    above_threshold: bool | None  # None: not decidable from the data
    entry: str
    declaration_number: str


@dataclass(frozen=True)
class Prop65Hit:
    part_number: str
    substance: str
    cas: str
    material: str | None
    entry: str


@dataclass(frozen=True)
class ChinaRohsColumn:
    symbol: str  # Pb, Hg, Cd, Cr(VI), PBB, PBDE
    substance: str
    cas: str | None
    limit_fraction: Decimal


@dataclass(frozen=True)
class ChinaRohsRow:
    """One component of the table. ``part_name`` is the component's Chinese name (a
    ``q:name`` literal tagged ``zh``), None where the graph has none: the row then shows
    the part number and a ``no_chinese_name`` gap is raised."""

    part_number: str
    part_name: str | None
    marks: tuple[Mark, ...]  # one per column
    part: str = ""
    #: Symbols marked X for lack of evidence (not for a measured exceedance).
    unverified: tuple[str, ...] = ()
    #: Numbers of the declarations and test reports the marks rest on.
    evidence: tuple[str, ...] = ()


ChinaRohsGapKind = Literal["no_evidence", "contradicted", "no_content", "no_chinese_name"]


@dataclass(frozen=True)
class ChinaRohsGap:
    """Why a row of the table is not stated from evidence, or not in Chinese."""

    kind: ChinaRohsGapKind
    part: str
    part_number: str
    offending: str
    expected: str
    material: str | None = None  # the declared (or, for no_evidence, designed) material
    declaration: str | None = None
    report: str | None = None
    lot: str | None = None
    tested: str | None = None  # the material the lot's test report found
    symbols: tuple[str, ...] = ()  # no_content: the substances without content
    evidence: tuple[str, ...] = ()  # IRIs


@dataclass(frozen=True)
class ChinaRohsTable:
    """The SJ/T 11364-2014 table: O = below the GB/T 26572 limit in all homogeneous
    materials of the part (shown by evidence), X = above it in at least one, or not
    shown to be below (then listed in ``gaps``)."""

    standard: str
    limits_standard: str
    required: bool  # SJ/T 11364 applies to the product in the market asked
    columns: tuple[ChinaRohsColumn, ...]
    rows: tuple[ChinaRohsRow, ...]
    gaps: tuple[ChinaRohsGap, ...] = ()


@dataclass(frozen=True)
class DataGap:
    screen: str
    subject: str
    reason: str


@dataclass(frozen=True)
class ScreeningReport:
    rohs: tuple[SubstanceHit, ...]
    svhc: tuple[SvhcHit, ...]
    prop65: tuple[Prop65Hit, ...]
    china_rohs: ChinaRohsTable | None
    not_checkable: tuple[DataGap, ...]

    @property
    def failures(self) -> tuple[SubstanceHit, ...]:
        return tuple(h for h in self.rohs if h.verdict == "fail")


# ---------------------------------------------------------------- reading the focus graph


def _str(graph: Graph, s: Node, p: URIRef) -> str | None:
    value = graph.value(s, p)
    return None if value is None else str(value)


def _dec(graph: Graph, s: Node, p: URIRef) -> Decimal | None:
    value = graph.value(s, p)
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


_GRAMS = {"GM": Decimal(1), "MilliGM": Decimal("0.001"), "KiloGM": Decimal(1000)}


def name_in(graph: Graph, node: Node, lang: str) -> str | None:
    """``node``'s ``q:name`` in ``lang`` (a literal tagged ``lang`` or ``lang-*``); for
    ``en`` an untagged name counts too."""
    names = [o for o in graph.objects(node, Q.name) if isinstance(o, RdfLiteral)]
    for o in sorted(names, key=str):
        tag = (o.language or "").lower()
        if tag == lang or tag.startswith(f"{lang}-"):
            return str(o)
    if lang == "en":
        return next((str(o) for o in sorted(names, key=str) if not o.language), None)
    return None


def bom_parts(graph: Graph, product: URIRef) -> tuple[PartMaterial, ...]:
    """Every part of the BOM closure of ``product`` with its as-designed material."""
    out: dict[tuple[str, str | None], PartMaterial] = {}
    todo, seen = [product], {product}
    while todo:
        owner = todo.pop()
        for bom in graph.objects(owner, Q.hasBOM):
            for line in graph.objects(bom, Q.hasLine):
                part = graph.value(line, Q.component)
                if not isinstance(part, URIRef):
                    continue
                material = graph.value(line, Q.designedMaterial)
                grade = _str(graph, material, Q.grade) if material is not None else None
                number = _str(graph, part, Q.partNumber) or str(part)
                unit = _str(graph, line, Q.unit)
                bulk = unit is not None and unit.rsplit("/", 1)[-1] in _BULK_UNITS and owner != product
                out[(str(part), grade)] = PartMaterial(
                    str(part), number, name_in(graph, part, "en") or _str(graph, part, Q.name), grade,
                    bulk=bulk, parent=str(owner) if bulk else None,
                )
                if part not in seen:
                    seen.add(part)
                    todo.append(part)
    return tuple(sorted(out.values(), key=lambda p: (p.part_number, p.material or "")))


def composition_lines(graph: Graph, parts: tuple[PartMaterial, ...]) -> tuple[CompositionLine, ...]:
    """The composition entries of the declarations about ``parts``."""
    lines: list[CompositionLine] = []
    for part in {p.part: p for p in parts}.values():
        for decl in graph.subjects(Q.declarationFor, URIRef(part.part)):
            number = _str(graph, decl, Q.documentNumber) or str(decl)
            masses: dict[str, Decimal] = {}
            entries = list(graph.objects(decl, Q.hasCompositionEntry))
            for entry in entries:
                if graph.value(entry, Q.substance) is None and graph.value(entry, Q.substanceCategory) is None:
                    qty, unit = _dec(graph, entry, Q.quantity), _str(graph, entry, Q.unit)
                    material = graph.value(entry, Q.material)
                    if qty is not None and unit and material is not None:
                        factor = _GRAMS.get(unit.rsplit("/", 1)[-1])
                        if factor is not None:
                            masses[str(material)] = qty * factor
            for entry in entries:
                material = graph.value(entry, Q.material)
                substance = graph.value(entry, Q.substance)
                above = graph.value(entry, Q.aboveThreshold)
                lines.append(
                    CompositionLine(
                        entry=str(entry),
                        part=part.part,
                        part_number=part.part_number,
                        declaration=str(decl),
                        declaration_number=number,
                        material=_str(graph, material, Q.grade) if material is not None else None,
                        material_mass_g=masses.get(str(material)) if material is not None else None,
                        substance_cas=_str(graph, substance, Q.casNumber) if substance is not None else None,
                        substance_name=_str(graph, substance, Q.name) if substance is not None else None,
                        category=_str(graph, entry, Q.substanceCategory),
                        mass_fraction=_dec(graph, entry, Q.massFraction),
                        above_threshold=None if above is None else str(above).lower() in ("true", "1"),
                        exemptions=tuple(
                            sorted(
                                str(c)
                                for ex in graph.objects(entry, Q.claimsExemption)
                                for c in graph.objects(ex, Q.code)
                            )
                        ),
                    )
                )
    return tuple(sorted(lines, key=lambda c: (c.part_number, c.material or "", c.entry)))


# ---------------------------------------------------------------- matching limits


def _keyword(name: str) -> str:
    """The leading words of a limit's substance name, to match IPC-1752A categories
    ("Lead (Pb)" -> "lead", "Hexavalent chromium (Cr VI)" -> "hexavalent chromium")."""
    return re.split(r"[(/,]", name, maxsplit=1)[0].strip().lower()


def _symbol(name: str) -> str:
    match = re.search(r"\(([^)]+)\)", name)
    if not match:
        return name
    sym = match.group(1).replace("Cr VI", "Cr(VI)")
    return sym


def _matches(limit: Limit, line: CompositionLine) -> bool:
    if line.substance_cas is not None:
        return limit.cas is not None and limit.cas == line.substance_cas
    if line.category is not None:
        key = _keyword(limit.substance)
        category = line.category.lower()
        if category.startswith(key):
            return True
        # IPC-1752A spells the brominated groups in the plural ("Polybrominated Biphenyls (PBBs)").
        sym = _symbol(limit.substance).lower()
        return f"({sym}s)" in category or f"({sym})" in category
    return False


def _over(limit: Limit, line: CompositionLine) -> bool | None:
    fraction = limit.max_percent_w_w / 100
    if line.mass_fraction is not None:
        return line.mass_fraction > fraction
    return line.above_threshold


def _limit_hits(record: Regulation, lines: tuple[CompositionLine, ...]) -> list[SubstanceHit]:
    known = {e.id for e in record.exemptions}
    hits: list[SubstanceHit] = []
    for limit in record.limits:
        for line in lines:
            if not _matches(limit, line):
                continue
            over = _over(limit, line)
            claimed = next((e for e in line.exemptions if e in known), None)
            verdict: Verdict
            if over is None:
                verdict = "unknown"
            elif not over:
                verdict = "pass"
            else:
                verdict = "exempt" if claimed else "fail"
            hits.append(
                SubstanceHit(
                    regulation_id=record.id,
                    part_number=line.part_number,
                    material=line.material,
                    substance=limit.substance,
                    cas=limit.cas,
                    mass_fraction=line.mass_fraction,
                    limit_fraction=limit.max_percent_w_w / 100,
                    exemption=claimed if over else None,
                    verdict=verdict,
                    entry=line.entry,
                    declaration_number=line.declaration_number,
                )
            )
    return hits


def _declared(parts: tuple[PartMaterial, ...], lines: tuple[CompositionLine, ...]) -> list[PartMaterial]:
    """Parts (with a designed material) that no composition entry covers."""
    covered = {(c.part, c.material) for c in lines} | {(c.part, None) for c in lines}
    return [p for p in parts if p.material is not None and (p.part, p.material) not in covered]


# ---------------------------------------------------------------- the screens


def screen(
    graph: Graph,
    product: URIRef,
    catalog: Catalog,
    *,
    regulation_ids: frozenset[str],
    market: str,
    on: dt.date,
) -> ScreeningReport:
    """Screen the product's declared compositions against the catalog's limits and lists."""
    parts = bom_parts(graph, product)
    lines = composition_lines(graph, parts)
    by_id = catalog.by_id
    gaps: list[DataGap] = []
    missing = _declared(parts, lines)

    def no_data(screen_name: str) -> None:
        for p in missing:
            gaps.append(
                DataGap(
                    screen_name,
                    p.part_number,
                    f"no composition declaration for material {p.material} of part {p.part_number}",
                )
            )

    rohs: list[SubstanceHit] = []
    if ROHS in regulation_ids and ROHS in by_id:
        rohs = _limit_hits(by_id[ROHS], lines)
        no_data("EU RoHS")
        for hit in rohs:
            if hit.verdict == "unknown":
                gaps.append(DataGap("EU RoHS", hit.part_number, f"{hit.substance}: no mass fraction or threshold"))

    svhc: list[SvhcHit] = []
    if REACH in regulation_ids and REACH in by_id:
        svhc, svhc_gaps = _svhc(by_id[REACH], lines, on)
        gaps.extend(svhc_gaps)
        no_data("REACH SVHC")

    prop65: list[Prop65Hit] = []
    if PROP65 in regulation_ids and PROP65 in by_id:
        listed = {cas for s in by_id[PROP65].substances for cas in s.cas}
        if not listed:
            gaps.append(
                DataGap(
                    "Proposition 65",
                    PROP65,
                    "the catalog record carries no Proposition 65 list; presence not checkable",
                )
            )
        # A class C declaration names a category ("Lead and its compounds") instead of a CAS
        # number; it counts when declared above threshold and its leading words name a
        # listed substance.
        keywords = {_keyword(listed_substance.name): listed_substance for listed_substance in by_id[PROP65].substances}
        for c in lines:
            if c.substance_cas is not None:
                if c.substance_cas in listed:
                    prop65.append(
                        Prop65Hit(
                            c.part_number, c.substance_name or c.substance_cas, c.substance_cas, c.material, c.entry
                        )
                    )
            elif c.category is not None and c.above_threshold is not False:
                category = c.category.lower()
                match = next((ls for key, ls in keywords.items() if key and category.startswith(key)), None)
                if match is not None and match.cas:
                    prop65.append(Prop65Hit(c.part_number, c.category, match.cas[0], c.material, c.entry))
        no_data("Proposition 65")

    table = None
    if market.upper() == "CN" or CHINA_ROHS_LIMITS in regulation_ids:
        required = any(r in regulation_ids for r in CHINA_ROHS_TABLE)
        table = _china_table(by_id.get(CHINA_ROHS_LIMITS), graph, parts, lines, required=required)
        if table is not None:
            no_data("China RoHS")
    return ScreeningReport(
        rohs=tuple(rohs),
        svhc=tuple(svhc),
        prop65=tuple(prop65),
        china_rohs=table,
        not_checkable=tuple(sorted(set(gaps), key=lambda g: (g.screen, g.subject, g.reason))),
    )


def _svhc(record: Regulation, lines: tuple[CompositionLine, ...], on: dt.date) -> tuple[list[SvhcHit], list[DataGap]]:
    listed = {
        cas: s.name for s in record.substances for cas in s.cas if s.date_included is None or s.date_included <= on
    }
    names = {_keyword(n): n for n in listed.values()}
    article_mass: dict[str, Decimal] = defaultdict(Decimal)
    complete: dict[str, bool] = defaultdict(lambda: True)
    for c in lines:
        if c.substance_cas is None and c.category is None:
            if c.material_mass_g is None:
                complete[c.declaration] = False
            else:
                article_mass[c.declaration] += c.material_mass_g
    hits: list[SvhcHit] = []
    gaps: list[DataGap] = []
    for c in lines:
        if c.substance_cas in listed and c.substance_cas is not None:
            name = listed[c.substance_cas]
        elif c.category is not None and _keyword(c.category) in names:
            name = names[_keyword(c.category)]
        else:
            continue
        total = article_mass.get(c.declaration)
        article: Decimal | None = None
        if c.mass_fraction is not None and c.material_mass_g is not None and total and complete[c.declaration]:
            article = c.mass_fraction * c.material_mass_g / total
        above: bool | None
        if article is not None:
            above = article > SVHC_THRESHOLD
        elif c.mass_fraction is not None and c.mass_fraction <= SVHC_THRESHOLD:
            above = False  # the share in one material bounds the share in the article
        elif c.above_threshold is not None and c.category is not None:
            above = c.above_threshold or None
        else:
            above = None
        if above is None:
            gaps.append(
                DataGap(
                    "REACH SVHC",
                    c.part_number,
                    f"{name}: share in the article not computable (masses or fraction missing)",
                )
            )
        hits.append(
            SvhcHit(
                c.part_number,
                name,
                c.substance_cas,
                c.material,
                c.mass_fraction,
                article,
                above,
                c.entry,
                c.declaration_number,
            )
        )
    return hits, gaps


def _report_lines(graph: Graph, part: PartMaterial, report: Node, material: str) -> list[CompositionLine]:
    """Composition entries a test report carries for the material it tested (an as-built
    analysis), read like a declaration's."""
    number = _str(graph, report, Q.documentNumber) or str(report)
    out = []
    for entry in graph.objects(report, Q.hasCompositionEntry):
        substance = graph.value(entry, Q.substance)
        above = graph.value(entry, Q.aboveThreshold)
        out.append(CompositionLine(
            entry=str(entry), part=part.part, part_number=part.part_number, declaration=str(report),
            declaration_number=number, material=material, material_mass_g=None,
            substance_cas=_str(graph, substance, Q.casNumber) if substance is not None else None,
            substance_name=_str(graph, substance, Q.name) if substance is not None else None,
            category=_str(graph, entry, Q.substanceCategory), mass_fraction=_dec(graph, entry, Q.massFraction),
            above_threshold=None if above is None else str(above).lower() in ("true", "1"), exemptions=(),
        ))
    return out


def _china_table(
    record: Regulation | None,
    graph: Graph,
    parts: tuple[PartMaterial, ...],
    lines: tuple[CompositionLine, ...],
    *,
    required: bool,
) -> ChinaRohsTable | None:
    """Rows from the BOM (raw materials consumed by mass are part of their parent, not
    rows), marks from evidence: the declarations about the part and its raw materials,
    overridden by the lot test reports where those found another material than the one
    declared (the as-built evidence wins; a declaration for another material proves
    nothing about the part as built)."""
    if record is None:
        return None
    columns = tuple(
        ChinaRohsColumn(_symbol(lim.substance), lim.substance, lim.cas, lim.max_percent_w_w / 100)
        for lim in record.limits
    )
    by_part: dict[str, list[CompositionLine]] = defaultdict(list)
    for c in lines:
        by_part[c.part].append(c)
    for p in parts:
        if p.bulk and p.parent is not None:
            by_part[p.parent].extend(c for c in lines if c.part == p.part)
    rows: list[ChinaRohsRow] = []
    gaps: list[ChinaRohsGap] = []
    seen: set[str] = set()
    for p in parts:
        if p.part in seen or p.bulk:
            continue
        seen.add(p.part)
        materials = {q.material for q in parts if q.part == p.part and q.material is not None}
        own = list(by_part.get(p.part, []))
        if not materials and not own:
            continue  # an assembly: its components have rows of their own
        declared = {c.material for c in own if c.material is not None}
        decl_numbers = sorted({c.declaration_number for c in own})
        decl_iris = sorted({c.declaration for c in own})
        uncovered = set(materials - declared) if own else set(materials)
        # As built: what the lots' test reports found.
        for lot in sorted(graph.subjects(Q.ofPart, URIRef(p.part)), key=str):
            for report in sorted(graph.subjects(Q.reportFor, lot), key=str):
                found = graph.value(report, Q.reportedMaterial)
                tested = _str(graph, found, Q.grade) if found is not None else None
                if tested is None or tested in declared:
                    continue
                measured = _report_lines(graph, p, report, tested)
                if measured:
                    own.extend(measured)
                    continue
                uncovered.add(tested)
                if own:
                    gaps.append(ChinaRohsGap(
                        "contradicted", p.part, p.part_number,
                        offending=f"lot {_str(graph, lot, Q.lotNumber) or lot} tested {tested}",
                        expected=f"composition evidence for {tested}",
                        material=" / ".join(sorted(declared)) or None, declaration=", ".join(decl_numbers) or None,
                        report=_str(graph, report, Q.documentNumber) or str(report),
                        lot=_str(graph, lot, Q.lotNumber) or str(lot), tested=tested,
                        evidence=(*decl_iris, str(report), str(lot)),
                    ))
        if not own:
            for m in sorted(materials):
                gaps.append(ChinaRohsGap(
                    "no_evidence", p.part, p.part_number, offending="no declaration or test result",
                    expected=f"composition evidence for {m}", material=m,
                ))
        else:
            for m in sorted(materials - declared):
                gaps.append(ChinaRohsGap(
                    "no_evidence", p.part, p.part_number, offending="no declaration or test result",
                    expected=f"composition evidence for {m}", material=m, evidence=tuple(decl_iris),
                ))
        marks: list[Mark] = []
        unverified: list[str] = []
        no_content: list[str] = []
        for lim, col in zip(record.limits, columns, strict=True):
            hit = [c for c in own if _matches(lim, c)]
            if any(_over(lim, c) for c in hit):
                marks.append("X")
            elif uncovered or any(_over(lim, c) is None for c in hit):
                marks.append("X")
                unverified.append(col.symbol)
                if not uncovered:
                    no_content.append(col.symbol)
            else:
                marks.append("O")
        if no_content:
            gaps.append(ChinaRohsGap(
                "no_content", p.part, p.part_number, offending="no content declared",
                expected="content of each listed substance", symbols=tuple(no_content), evidence=tuple(decl_iris),
            ))
        zh = name_in(graph, URIRef(p.part), "zh")
        if zh is None:
            gaps.append(ChinaRohsGap(
                "no_chinese_name", p.part, p.part_number, offending="no Chinese name",
                expected="q:name with a zh language tag",
            ))
        evidence = sorted({c.declaration_number for c in own})
        rows.append(ChinaRohsRow(p.part_number, zh, tuple(marks), part=p.part, unverified=tuple(unverified),
                                 evidence=tuple(evidence)))
    return ChinaRohsTable(
        standard="SJ/T 11364-2014",
        limits_standard=record.identifier,
        required=required,
        columns=columns,
        rows=tuple(rows),
        gaps=tuple(gaps),
    )


__all__ = [
    "CHINA_ROHS_TABLE",
    "SVHC_THRESHOLD",
    "ChinaRohsColumn",
    "ChinaRohsGap",
    "ChinaRohsRow",
    "ChinaRohsTable",
    "CompositionLine",
    "DataGap",
    "PartMaterial",
    "Prop65Hit",
    "ScreeningReport",
    "SubstanceHit",
    "SvhcHit",
    "bom_parts",
    "composition_lines",
    "name_in",
    "screen",
]
