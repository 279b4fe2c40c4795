"""Repairability of smartphones and slate tablets: the EU repairability class and the
French repairability index, computed from the product's repair data in the graph.

EU: Commission Delegated Regulation (EU) 2023/1669 (energy labelling of smartphones
and slate tablets), Annex IV point 5, applicable from 2025-06-20
(https://eur-lex.europa.eu/eli/reg_del/2023/1669/oj)::

    R = 0,25 x S_DD + 0,15 x S_F + 0,15 x S_T + 0,15 x S_SP + 0,15 x S_SU + 0,15 x S_RI

every parameter scored 1 to 5; S_DD (disassembly depth), S_F (fasteners) and S_T
(tools) are weighted sums over the priority parts (battery 0,30, display assembly
0,30, back cover 0,10, front camera, rear camera, charging port, mechanical button,
microphone and speaker 0,05 each). Class A: R >= 4,00; B: >= 3,35; C: >= 2,55;
D: >= 1,75; E: >= 1,00.

What was checked against which source, and what was not, is in :data:`SOURCES`.
The spare-parts and repair-information rubrics were not found in a source this
module could read, so S_SP and S_RI are the scores the supplier declares
(``q:sparePartsScore``, ``q:repairInformationScore``); foldable products (a hinge
or display folding mechanism) have other part weights, not verified, and are not
scored.

France: indice de réparabilité (Loi n° 2020-105 du 10 février 2020, Art. 16-I;
in force 2021-01-01): five criteria of 20 points each (documentation, disassembly,
spare-part availability, spare-part price, a product-specific criterion), the sum
divided by 10 gives a score out of 10. For smartphones and slate tablets it is
reported for information only: from 2025-06-20 the EU label's repairability class
applies to them, and France left them out of the durability index (indice de
durabilité) that replaced the repairability index for televisions (2025-01-08) and
washing machines (2025-04-08). The text ending the French smartphone index was not
verified (:data:`FRENCH_STATUS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from rdflib import Graph, URIRef
from rdflib import Literal as RdfLiteral

from qualitas.ontology import Q

RepairabilityClass = Literal["A", "B", "C", "D", "E"]

#: The catalog record whose applicability brings the repairability score into a gap report.
REGULATION_ID = "eu-energy-label-smartphones-2023-1669"

#: Priority parts and their weight in S_DD, S_F and S_T (non-foldable products).
PART_WEIGHTS: Mapping[str, Decimal] = {
    "battery": Decimal("0.30"),
    "display_assembly": Decimal("0.30"),
    "back_cover": Decimal("0.10"),
    "front_camera": Decimal("0.05"),
    "rear_camera": Decimal("0.05"),
    "charging_port": Decimal("0.05"),
    "mechanical_button": Decimal("0.05"),
    "microphone": Decimal("0.05"),
    "speaker": Decimal("0.05"),
}
#: Parameter weights in R.
PARAMETER_WEIGHTS: Mapping[str, Decimal] = {
    "S_DD": Decimal("0.25"), "S_F": Decimal("0.15"), "S_T": Decimal("0.15"),
    "S_SP": Decimal("0.15"), "S_SU": Decimal("0.15"), "S_RI": Decimal("0.15"),
}
PARAMETER_NAMES: Mapping[str, tuple[str, str]] = {
    "S_DD": ("Disassembly depth", "拆卸深度"),
    "S_F": ("Fasteners (type)", "紧固件（类型）"),
    "S_T": ("Tools (type)", "工具（类型）"),
    "S_SP": ("Spare parts", "备件"),
    "S_SU": ("Software updates (duration)", "软件更新（年限）"),
    "S_RI": ("Repair information", "维修信息"),
}
#: Lower bounds of the classes, best first.
CLASS_THRESHOLDS: tuple[tuple[RepairabilityClass, Decimal], ...] = (
    ("A", Decimal("4.00")), ("B", Decimal("3.35")), ("C", Decimal("2.55")), ("D", Decimal("1.75")),
    ("E", Decimal("1.00")),
)
FASTENER_SCORES: Mapping[str, int] = {"reusable": 5, "resupplied": 3, "removable": 1}
TOOL_SCORES: Mapping[str, int] = {
    "none": 5, "basic": 4, "supplied_with_spare_part": 3, "supplied_with_product": 2, "commercially_available": 1,
}
FOLDING_PARTS = frozenset({"hinge", "display_folding_mechanism"})

#: French criteria, each out of 20 points.
FRENCH_CRITERIA: Mapping[str, tuple[str, str]] = {
    "documentation": ("Documentation", "Documentation"),
    "disassembly": ("Disassembly, access, tools, fasteners", "Démontabilité, accès, outils, fixations"),
    "spare_parts_availability": ("Availability of spare parts", "Disponibilité des pièces détachées"),
    "spare_parts_price": ("Price of spare parts", "Prix des pièces détachées"),
    "product_specific": ("Product-specific criterion (software updates, ...)", "Critère spécifique"),
}
FRENCH_MAX_POINTS = Decimal(20)
#: Colour bands of the French score (lower bounds).
FRENCH_BANDS: tuple[tuple[str, Decimal], ...] = (
    ("dark_green", Decimal(8)), ("light_green", Decimal(6)), ("yellow", Decimal(4)), ("orange", Decimal(2)),
    ("red", Decimal(0)),
)
FRENCH_STATUS = (
    "Informative for smartphones and slate tablets: from 2025-06-20 the EU energy label repairability class "
    "(Regulation (EU) 2023/1669) applies to them, and France left them out of the durability index that "
    "replaced the repairability index for televisions (2025-01-08) and washing machines (2025-04-08). "
    "Not verified: the legal text ending the French smartphone repairability index, and the sub-criteria grid."
)

#: Where each rule comes from, and how far it was checked (2026-11-26).
SOURCES: Mapping[str, str] = {
    "formula and class thresholds": (
        "product-compliance-services.eu, 'The repairability class' (citing Annex IV point 5); the same formula "
        "and thresholds in dpp-calc 0.14.1 (docs.rs, 'read from the Official Journal text'); EUR-Lex annex "
        "not opened"),
    "part weights": (
        "R. Bjorhovde, 'EU's Reparability Index - how will it work?' (battery 30 %, display 30 %, back cover "
        "10 %, six parts 5 % each); dpp-calc 0.14.1 (two weight sets, each summing to 1; foldable set not "
        "read: foldables are not scored)"),
    "disassembly depth": "R. Bjorhovde (<=2 steps 5, 3-5: 4, 6-10: 3, 11-15: 2, >15: 1); dpp-domain docs (ends)",
    "fasteners": "dpp-domain docs and R. Bjorhovde: reusable 5, resupplied 3, removable 1",
    "tools": "dpp-domain docs only (single secondary source): none 5, basic 4, with spare part 3, "
             "with product 2, commercially available 1",
    "software updates": "dpp-domain docs: >= 7 years 5, 6 years 3, 5 years 1 (intermediate values not verified)",
    "spare parts, repair information": "rubrics not verified: the supplier's declared 1-5 scores are used",
    "absent part, repeated part": "dpp-calc 0.14.1: absent part scores 5; repeated part scores its lowest instance",
    "French index": (
        "document-requirements.json notes (actu-environnement, numerama); heise.de 2021-04; switec FRA/199 "
        "(five criteria of 20 points, sum / 10); status: Que Choisir 2025-01, Le Monde via parisparlez, "
        "phonandroid 2025-04"),
}


@dataclass(frozen=True)
class PartInput:
    """The repair data of one priority part (``q:PriorityPartRepair``)."""

    part: str
    steps: int | None = None
    fastener: str | None = None
    tool: str | None = None
    present: bool = True


@dataclass(frozen=True)
class PartScore:
    part: str
    weight: Decimal
    steps: int | None
    disassembly_score: int | None
    fastener: str | None
    fastener_score: int | None
    tool: str | None
    tool_score: int | None
    present: bool


@dataclass(frozen=True)
class ParameterScore:
    symbol: str
    name_en: str
    name_zh: str
    weight: Decimal
    score: Decimal | None  # 1..5, None when data is missing
    basis: str  # how the score was obtained


@dataclass(frozen=True)
class EuRepairability:
    """Regulation (EU) 2023/1669 Annex IV point 5: index R, class, breakdown."""

    index: Decimal | None  # exact; shown to two decimals
    repairability_class: RepairabilityClass | None
    parameters: tuple[ParameterScore, ...]
    parts: tuple[PartScore, ...]
    missing: tuple[str, ...]

    @property
    def index_display(self) -> str:
        return "-" if self.index is None else str(self.index.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class FrenchCriterion:
    code: str
    name_en: str
    name_fr: str
    points: Decimal | None
    max_points: Decimal


@dataclass(frozen=True)
class FrenchRepairability:
    """The French repairability index (score out of 10) and its five criteria."""

    index: Decimal | None  # exact sum / 10; shown to one decimal
    band: str | None
    criteria: tuple[FrenchCriterion, ...]
    missing: tuple[str, ...]
    applies: bool
    status: str

    @property
    def index_display(self) -> str:
        return "-" if self.index is None else str(self.index.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class RepairabilityReport:
    product: str
    eu: EuRepairability
    french: FrenchRepairability

    @property
    def missing(self) -> tuple[str, ...]:
        return self.eu.missing + tuple(f"French index: {m}" for m in self.french.missing)


# ---------------------------------------------------------------- scoring rules


def disassembly_depth_score(steps: int) -> int:
    """Score of a part's disassembly depth (number of steps to remove it)."""
    if steps <= 2:
        return 5
    if steps <= 5:
        return 4
    if steps <= 10:
        return 3
    if steps <= 15:
        return 2
    return 1


def software_update_score(years: Decimal) -> int:
    """Score of the guaranteed duration of operating-system updates."""
    if years >= 7:
        return 5
    if years >= 6:
        return 3
    return 1


def repairability_class(index: Decimal) -> RepairabilityClass | None:
    for cls, bound in CLASS_THRESHOLDS:
        if index >= bound:
            return cls
    return None


def _weighted(parts: list[PartScore], attr: str) -> Decimal | None:
    total = Decimal(0)
    for p in parts:
        score = getattr(p, attr)
        if score is None:
            return None
        total += p.weight * score
    return total


def eu_repairability(
    parts: Mapping[str, list[PartInput]],
    *,
    software_update_years: Decimal | None,
    spare_parts_score: int | None,
    repair_information_score: int | None,
) -> EuRepairability:
    """Index R and class from the priority-part data and the product-level data.

    A part recorded more than once counts with its lowest score; a part recorded as
    absent (``present=False``) scores 5 on the three part parameters; a part with no
    record at all, or a value missing, is listed in ``missing`` and leaves its
    parameter (and so R and the class) undecided, never silently scored.
    """
    missing: list[str] = []
    scored: list[PartScore] = []
    for code, weight in PART_WEIGHTS.items():
        records = parts.get(code, [])
        if not records:
            missing.append(f"{code}: no repair data")
            scored.append(PartScore(code, weight, None, None, None, None, None, None, True))
            continue
        if all(not r.present for r in records):
            scored.append(PartScore(code, weight, None, 5, None, 5, None, 5, False))
            continue
        present = [r for r in records if r.present]
        dd: int | None = None
        fs: int | None = None
        ts: int | None = None
        worst_steps: int | None = None
        worst_fastener: str | None = None
        worst_tool: str | None = None
        for r in present:
            if r.steps is None:
                missing.append(f"{code}: disassembly steps")
            else:
                s = disassembly_depth_score(r.steps)
                if dd is None or s < dd:
                    dd, worst_steps = s, r.steps
            if r.fastener is None or r.fastener not in FASTENER_SCORES:
                missing.append(f"{code}: fastener type" + (f" ({r.fastener!r} unknown)" if r.fastener else ""))
            else:
                s = FASTENER_SCORES[r.fastener]
                if fs is None or s < fs:
                    fs, worst_fastener = s, r.fastener
            if r.tool is None or r.tool not in TOOL_SCORES:
                missing.append(f"{code}: tool type" + (f" ({r.tool!r} unknown)" if r.tool else ""))
            else:
                s = TOOL_SCORES[r.tool]
                if ts is None or s < ts:
                    ts, worst_tool = s, r.tool
        if any(r.steps is None for r in present):
            dd = None
        if any(r.fastener not in FASTENER_SCORES for r in present):
            fs = None
        if any(r.tool not in TOOL_SCORES for r in present):
            ts = None
        scored.append(PartScore(code, weight, worst_steps, dd, worst_fastener, fs, worst_tool, ts, True))
    folding = sorted(FOLDING_PARTS & set(parts))
    if folding:
        missing.append(f"{', '.join(folding)}: foldable products have other part weights (not verified); not scored")
    s_dd, s_f, s_t = (_weighted(scored, a) for a in ("disassembly_score", "fastener_score", "tool_score"))
    if software_update_years is None:
        missing.append("software update years")
    s_su = Decimal(software_update_score(software_update_years)) if software_update_years is not None else None
    s_sp = _declared(spare_parts_score, "spare parts score", missing)
    s_ri = _declared(repair_information_score, "repair information score", missing)
    bases = {
        "S_DD": "sum over priority parts of weight x score(steps)",
        "S_F": "sum over priority parts of weight x score(fastener type)",
        "S_T": "sum over priority parts of weight x score(tool type)",
        "S_SP": "declared by the supplier (rubric not verified)",
        "S_SU": f"{software_update_years} years of updates" if software_update_years is not None else "no data",
        "S_RI": "declared by the supplier (rubric not verified)",
    }
    values = {"S_DD": s_dd, "S_F": s_f, "S_T": s_t, "S_SP": s_sp, "S_SU": s_su, "S_RI": s_ri}
    params = tuple(
        ParameterScore(sym, PARAMETER_NAMES[sym][0], PARAMETER_NAMES[sym][1], PARAMETER_WEIGHTS[sym], values[sym],
                       bases[sym])
        for sym in PARAMETER_WEIGHTS
    )
    index: Decimal | None = None
    if not folding and all(v is not None for v in values.values()):
        index = sum((PARAMETER_WEIGHTS[k] * v for k, v in values.items() if v is not None), Decimal(0))
    return EuRepairability(
        index=index, repairability_class=repairability_class(index) if index is not None else None,
        parameters=params, parts=tuple(scored), missing=tuple(missing),
    )


def _declared(value: int | None, name: str, missing: list[str]) -> Decimal | None:
    if value is None:
        missing.append(name)
        return None
    if not 1 <= value <= 5:
        missing.append(f"{name} ({value} is outside 1-5)")
        return None
    return Decimal(value)


def french_repairability(points: Mapping[str, Decimal], *, applies: bool = False) -> FrenchRepairability:
    """The French score out of 10: the five criteria's points (each out of 20) summed
    and divided by 10; a criterion without points leaves the score undecided."""
    missing: list[str] = []
    criteria = []
    for code, (en, fr) in FRENCH_CRITERIA.items():
        value = points.get(code)
        if value is None:
            missing.append(f"{code} points")
        elif not Decimal(0) <= value <= FRENCH_MAX_POINTS:
            missing.append(f"{code} points ({value} is outside 0-20)")
            value = None
        criteria.append(FrenchCriterion(code, en, fr, value, FRENCH_MAX_POINTS))
    index: Decimal | None = None
    band: str | None = None
    if not missing:
        index = sum((c.points for c in criteria if c.points is not None), Decimal(0)) / 10
        band = next(name for name, bound in FRENCH_BANDS if index >= bound)
    return FrenchRepairability(index=index, band=band, criteria=tuple(criteria), missing=tuple(missing),
                               applies=applies, status=FRENCH_STATUS)


# ---------------------------------------------------------------- from the graph


def _int(node: object) -> int | None:
    if isinstance(node, RdfLiteral):
        try:
            return int(str(node))
        except ValueError:
            return None
    return None


def _dec(node: object) -> Decimal | None:
    if isinstance(node, RdfLiteral):
        try:
            return Decimal(str(node))
        except ArithmeticError:
            return None
    return None


def repairability(graph: Graph, product: URIRef | str) -> RepairabilityReport:
    """The EU class and the French index of ``product`` from its repair data in
    ``graph`` (``q:hasPriorityPartRepair``, ``q:softwareUpdateYears``,
    ``q:sparePartsScore``, ``q:repairInformationScore``, ``q:hasRepairCriterionScore``)."""
    p = URIRef(str(product))
    parts: dict[str, list[PartInput]] = {}
    for node in graph.objects(p, Q.hasPriorityPartRepair):
        code = graph.value(node, Q.priorityPart)
        if code is None:
            continue
        present = graph.value(node, Q.partPresent)
        steps = graph.value(node, Q.disassemblySteps)
        fastener = graph.value(node, Q.fastenerType)
        tool = graph.value(node, Q.toolType)
        parts.setdefault(str(code), []).append(PartInput(
            part=str(code), steps=_int(steps), fastener=None if fastener is None else str(fastener),
            tool=None if tool is None else str(tool),
            present=not (isinstance(present, RdfLiteral) and present.toPython() is False),
        ))
    eu = eu_repairability(
        parts, software_update_years=_dec(graph.value(p, Q.softwareUpdateYears)),
        spare_parts_score=_int(graph.value(p, Q.sparePartsScore)),
        repair_information_score=_int(graph.value(p, Q.repairInformationScore)),
    )
    points: dict[str, Decimal] = {}
    for node in graph.objects(p, Q.hasRepairCriterionScore):
        code = graph.value(node, Q.criterion)
        value = _dec(graph.value(node, Q.points))
        if code is not None and value is not None:
            points[str(code)] = value
    return RepairabilityReport(product=str(p), eu=eu, french=french_repairability(points))


__all__ = [
    "CLASS_THRESHOLDS",
    "FASTENER_SCORES",
    "FRENCH_CRITERIA",
    "FRENCH_STATUS",
    "PARAMETER_WEIGHTS",
    "PART_WEIGHTS",
    "REGULATION_ID",
    "SOURCES",
    "TOOL_SCORES",
    "EuRepairability",
    "FrenchCriterion",
    "FrenchRepairability",
    "ParameterScore",
    "PartInput",
    "PartScore",
    "RepairabilityReport",
    "disassembly_depth_score",
    "eu_repairability",
    "french_repairability",
    "repairability",
    "repairability_class",
    "software_update_score",
]
