"""GraphQL ``gapReport(productId, market, date)``: merged into the root Query as ``GapQuery``.

The resolver calls :func:`qualitas.reasoning.gap.gap_report` and maps its frozen
dataclasses to strawberry types; the SHACL report is returned as Turtle and JSON-LD.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from qualitas.errors import QualitasError, mapping_for
from qualitas.reasoning import gap as core
from qualitas.reasoning.i18n import LANGUAGES, missing_marker
from qualitas.reasoning.repairability import RepairabilityReport


def _lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise GraphQLError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}",
                           extensions={"code": "BAD_USER_INPUT", "field": "lang"})
    return lang


def _text(texts: Mapping[str, str], lang: str) -> str:
    """``texts`` in ``lang``, or the visible missing-translation marker in ``lang``."""
    return texts.get(_lang(lang)) or missing_marker(lang)


LangArg = Annotated[str, strawberry.argument(description=f"One of {', '.join(LANGUAGES)}.")]


@strawberry.type
class GapEvidence:
    id: str
    kind: str
    label: str


@strawberry.type
class GapRemediation:
    owner: str
    action_en: str
    action_zh: str
    actions: strawberry.Private[Mapping[str, str]]

    @strawberry.field(description="The action in a pack language (a visible marker where untranslated).")
    def action(self, lang: LangArg = "en") -> str:
        return _text(self.actions, lang)


@strawberry.type
class GapFinding:
    kind: str
    severity: str
    source: str
    regulation_id: str | None
    regulation: str | None
    clause: str | None
    subject: str
    subject_label: str
    offending: str
    expected: str
    message_en: str
    message_zh: str
    evidence: list[GapEvidence]
    remediation: GapRemediation
    untranslated: list[str] = strawberry.field(
        description="What could not be said in some language (shown there as a visible marker).")
    messages: strawberry.Private[Mapping[str, str]]

    @strawberry.field(description="The message in a pack language (a visible marker where untranslated).")
    def message(self, lang: LangArg = "en") -> str:
        return _text(self.messages, lang)


@strawberry.type
class GapRequirement:
    shape: str
    regulation_id: str
    clause: str
    kind: str
    generated: bool
    status: str
    focus_nodes: int
    violations: int
    messages: strawberry.Private[Mapping[str, str]]

    @strawberry.field(description="The requirement with its outcome in a pack language.")
    def message(self, lang: LangArg = "en") -> str:
        return _text(self.messages, lang)


@strawberry.type(description="An act that matched the product but that its own scope article excludes.")
class GapExclusion:
    regulation_id: str
    basis: str
    reasons: strawberry.Private[Mapping[str, str]]

    @strawberry.field
    def reason(self, lang: LangArg = "en") -> str:
        return _text(self.reasons, lang)


@strawberry.type(description="The product's legal route in the market (qualitas/regulations/routes.yaml).")
class GapRoute:
    code: str
    basis: str
    documents: list[str]
    declared: list[str] = strawberry.field(description="Acts the EU declaration of conformity names.")
    obligations: list[str]
    type_approval: list[str]
    ccc_item: str | None
    reasons: strawberry.Private[Mapping[str, str]]

    @strawberry.field(description="Why this route, in a pack language.")
    def reason(self, lang: LangArg = "en") -> str:
        return _text(self.reasons, lang)


@strawberry.type
class GapSummary:
    checked: int
    passed: int
    violated: int
    not_checkable: int
    not_checkable_items: list[str]


@strawberry.type
class ChinaRohsRow:
    part_number: str
    part_name: str | None
    marks: list[str]


@strawberry.type
class ChinaRohsTable:
    standard: str
    required: bool
    columns: list[str]
    rows: list[ChinaRohsRow]


@strawberry.type(description="One weighted parameter of the EU repairability index (Regulation 2023/1669).")
class RepairParameter:
    symbol: str
    name_en: str
    name_zh: str
    weight: Decimal
    score: Decimal | None
    basis: str


@strawberry.type
class RepairCriterion:
    code: str
    name_en: str
    name_fr: str
    points: Decimal | None
    max_points: Decimal


@strawberry.type(description="EU repairability class (2023/1669 Annex IV) and the French index, with what was missing.")
class Repairability:
    eu_index: Decimal | None
    eu_class: str | None
    eu_parameters: list[RepairParameter]
    eu_missing: list[str]
    french_index: Decimal | None
    french_applies: bool
    french_status: str
    french_criteria: list[RepairCriterion]
    french_missing: list[str]


@strawberry.type
class GapReport:
    product_id: str
    model: str
    market: str
    date: dt.date
    catalog_version: str
    conforms: bool
    applicable: list[str]
    summary: GapSummary
    findings: list[GapFinding]
    requirements: list[GapRequirement]
    china_rohs: ChinaRohsTable | None
    repairability: Repairability | None
    route: GapRoute | None
    excluded: list[GapExclusion]
    validation_report_turtle: str
    validation_report_jsonld: str


def _convert(r: core.GapReport) -> GapReport:
    table = r.screening.china_rohs
    return GapReport(
        product_id=r.product.iri,
        model=r.product.model,
        market=r.market,
        date=r.on,
        catalog_version=r.catalog_version,
        conforms=r.conforms,
        applicable=[a.id for a in r.applicable],
        summary=GapSummary(
            checked=r.summary.checked,
            passed=r.summary.passed,
            violated=r.summary.violated,
            not_checkable=r.summary.not_checkable,
            not_checkable_items=list(r.summary.not_checkable_items),
        ),
        findings=[
            GapFinding(
                kind=f.kind,
                severity=f.severity,
                source=f.source,
                regulation_id=f.regulation_id,
                regulation=f.regulation,
                clause=f.clause,
                subject=f.subject,
                subject_label=f.subject_label,
                offending=f.offending,
                expected=f.expected,
                message_en=f.message_en,
                message_zh=f.message_zh,
                evidence=[GapEvidence(id=e.id, kind=e.kind, label=e.label) for e in f.evidence],
                remediation=GapRemediation(
                    owner=f.remediation.owner, action_en=f.remediation.action_en, action_zh=f.remediation.action_zh,
                    actions=dict(f.remediation.actions),
                ),
                untranslated=list(f.untranslated),
                messages=dict(f.messages),
            )
            for f in r.findings
        ],
        requirements=[
            GapRequirement(
                shape=c.shape,
                regulation_id=c.regulation_id,
                clause=c.clause,
                kind=c.kind,
                generated=c.generated,
                status=c.status,
                focus_nodes=c.focus_nodes,
                violations=c.violations,
                messages=dict(c.messages),
            )
            for c in r.requirements
        ],
        route=None if r.route is None else GapRoute(
            code=r.route.code, basis=r.route.basis, documents=list(r.route.documents),
            declared=list(r.route.declared), obligations=list(r.route.obligations),
            type_approval=list(r.route.type_approval), ccc_item=r.route.ccc_item, reasons=dict(r.route.reason),
        ),
        excluded=[GapExclusion(regulation_id=e.regulation_id, basis=e.basis, reasons=dict(e.reason))
                  for e in r.excluded],
        china_rohs=None
        if table is None
        else ChinaRohsTable(
            standard=table.standard,
            required=table.required,
            columns=[c.symbol for c in table.columns],
            rows=[
                ChinaRohsRow(part_number=x.part_number, part_name=x.part_name, marks=list(x.marks)) for x in table.rows
            ],
        ),
        repairability=_repairability(r.repairability),
        validation_report_turtle=r.validation_report_ttl,
        validation_report_jsonld=r.validation_report_jsonld,
    )


def _repairability(r: RepairabilityReport | None) -> Repairability | None:
    if r is None:
        return None
    return Repairability(
        eu_index=r.eu.index,
        eu_class=r.eu.repairability_class,
        eu_parameters=[
            RepairParameter(
                symbol=p.symbol, name_en=p.name_en, name_zh=p.name_zh, weight=p.weight, score=p.score, basis=p.basis
            )
            for p in r.eu.parameters
        ],
        eu_missing=list(r.eu.missing),
        french_index=r.french.index,
        french_applies=r.french.applies,
        french_status=r.french.status,
        french_criteria=[
            RepairCriterion(code=c.code, name_en=c.name_en, name_fr=c.name_fr, points=c.points, max_points=c.max_points)
            for c in r.french.criteria
        ],
        french_missing=list(r.french.missing),
    )


@strawberry.type
class GapQuery:
    @strawberry.field(description="Compliance gap report of a product for a market on a date (default today).")
    def gap_report(self, info: Info, product_id: str, market: str, date: dt.date | None = None) -> GapReport:
        try:
            return _convert(core.gap_report(info.context["store"], product_id, market, on=date))
        except QualitasError as exc:
            raise GraphQLError(
                exc.message,
                extensions={"code": mapping_for(exc).graphql_code, **{k: str(v) for k, v in exc.context.items()}},
            ) from exc
