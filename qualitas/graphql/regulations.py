"""GraphQL pieces of the regulation catalog: merge ``RegulationQuery`` into the root Query.

Resolvers translate only: they call the catalog, applicability and impact cores and
map their frozen dataclasses to strawberry types. The store comes from
``info.context["store"]`` (a GraphStore).
"""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from qualitas.graphql.schema import _core_errors
from qualitas.regulations import applicability as appl
from qualitas.regulations import impact as imp
from qualitas.regulations.catalog import Dates, default_catalog
from qualitas.regulations.catalog import Regulation as RegulationRecord


@strawberry.type
class LocalizedTitle:
    lang: str
    text: str


@strawberry.type
class RegulationDates:
    adopted: dt.date | None
    entry_into_force: dt.date | None
    application: dt.date | None
    end_of_transition: dt.date | None
    repealed: dt.date | None


@strawberry.type
class ArticleDates:
    articles: str
    dates: RegulationDates
    source: str | None
    note: str | None


@strawberry.type
class DateSource:
    date: str
    url: str


def _dates(d: Dates) -> RegulationDates:
    return RegulationDates(
        adopted=d.adopted,
        entry_into_force=d.entry_into_force,
        application=d.application,
        end_of_transition=d.end_of_transition,
        repealed=d.repealed,
    )


@strawberry.type
class Regulation:
    id: str
    identifier: str
    identifier_type: str
    short_name: str | None
    title: str
    titles: list[LocalizedTitle]
    jurisdiction: str
    markets: list[str]
    instrument_type: str
    status: str = strawberry.field(description="Status on the date asked (default today), derived from the dates.")
    dates: RegulationDates
    article_dates: list[ArticleDates]
    date_sources: list[DateSource]
    amends: list[str]
    repeals: list[str]
    superseded_by: str | None
    categories: list[str]
    features: list[str]
    conformity_route: list[str]
    required_documents: list[str]
    markings: list[str]
    manual_languages: list[str]
    source_url: str
    verified: bool

    @staticmethod
    def of(r: RegulationRecord, on: dt.date | None = None) -> Regulation:
        return Regulation(
            id=r.id,
            identifier=r.identifier,
            identifier_type=r.identifier_type,
            short_name=r.short_name,
            title=r.title("en"),
            titles=[LocalizedTitle(lang=t.lang, text=t.text) for t in r.titles],
            jurisdiction=r.jurisdiction,
            markets=list(r.markets),
            instrument_type=r.instrument_type,
            status=r.status_on(on or dt.date.today()),
            dates=_dates(r.dates),
            article_dates=[
                ArticleDates(articles=a.articles, dates=_dates(a.dates), source=a.source, note=a.note)
                for a in r.article_dates
            ],
            date_sources=[DateSource(date=k, url=r.date_source(k)) for k, _ in r.dates.items()],
            amends=list(r.amends),
            repeals=list(r.repeals),
            superseded_by=r.superseded_by,
            categories=list(r.categories),
            features=list(r.features),
            conformity_route=list(r.conformity_route),
            required_documents=list(r.required_documents),
            markings=list(r.markings),
            manual_languages=list(r.manual_languages),
            source_url=r.source_url,
            verified=r.verified,
        )


@strawberry.type
class ApplicableRegulation:
    regulation: Regulation
    obligation: str
    reason: str
    categories: list[str]
    features: list[str]
    implied: list[str]
    applies_from: dt.date | None
    replaces: list[str]


@strawberry.type
class Applicability:
    product_id: str
    market: str
    date: dt.date
    catalog_version: str
    categories: list[str]
    features: list[str]
    applicable: list[ApplicableRegulation]
    upcoming: list[ApplicableRegulation]


@strawberry.type
class BomPosition:
    bom_owner: str
    revision: str | None
    position: int
    part_number: str
    material: str
    products: list[str]


@strawberry.type
class ImpactPart:
    part_number: str
    name: str | None
    materials: list[str]
    substances: list[str]
    suppliers: list[str]


@strawberry.type
class ImpactSubstance:
    cas: str
    name: str | None
    changes: list[str]


@strawberry.type
class ImpactProduct:
    model: str
    positions: list[str]
    markets: list[str]


@strawberry.type
class DeclarationRequest:
    supplier_id: str
    supplier_name: str | None
    parts: list[str]
    substances: list[str]
    regulations: list[str]
    text: str


@strawberry.type
class CatalogChange:
    id: str
    kind: str
    fields: list[str]


@strawberry.type
class CatalogImpact:
    from_version: str
    to_version: str
    changes: list[CatalogChange]
    substances: list[ImpactSubstance]
    materials: list[str]
    parts: list[ImpactPart]
    suppliers: list[str]
    bom_positions: list[BomPosition]
    products: list[ImpactProduct]
    markets: list[str]
    declaration_requests: list[DeclarationRequest]


def _applicable(a: appl.ApplicableRegulation, on: dt.date) -> ApplicableRegulation:
    return ApplicableRegulation(
        regulation=Regulation.of(default_catalog().get(a.id), on),
        obligation=a.obligation,
        reason=str(a.reason),
        categories=list(a.reason.categories),
        features=list(a.reason.features),
        implied=list(a.reason.implied),
        applies_from=a.applies_from,
        replaces=list(a.replaces),
    )


def _impact(rep: imp.ImpactReport) -> CatalogImpact:
    return CatalogImpact(
        from_version=rep.diff.from_version,
        to_version=rep.diff.to_version,
        changes=[CatalogChange(id=c.id, kind=c.kind, fields=list(c.fields)) for c in rep.diff.records],
        substances=[
            ImpactSubstance(cas=s.cas, name=s.name, changes=[f"{t.regulation_id}: {t.change}" for t in s.triggers])
            for s in rep.substances
        ],
        materials=[m.grade for m in rep.materials],
        parts=[
            ImpactPart(
                part_number=p.part_number,
                name=p.name,
                materials=list(p.materials),
                substances=list(p.substances),
                suppliers=list(p.suppliers),
            )
            for p in rep.parts
        ],
        suppliers=[s.supplier_id for s in rep.suppliers],
        bom_positions=[
            BomPosition(
                bom_owner=b.bom_owner,
                revision=b.revision,
                position=b.position,
                part_number=b.part_number,
                material=b.material,
                products=list(b.products),
            )
            for b in rep.bom_positions
        ],
        products=[
            ImpactProduct(model=p.model, positions=list(p.positions), markets=list(p.markets)) for p in rep.products
        ],
        markets=list(rep.markets),
        declaration_requests=[
            DeclarationRequest(
                supplier_id=r.supplier_id,
                supplier_name=r.supplier_name,
                parts=list(r.parts),
                substances=list(r.substances),
                regulations=list(r.regulations),
                text=r.text,
            )
            for r in rep.declaration_requests
        ],
    )


@strawberry.type
class RegulationQuery:
    @strawberry.field(
        description="Catalog records, filtered by market (GLOBAL records included), category and status; "
        "status is judged on `on` (default today)."
    )
    def regulations(
        self,
        market: str | None = None,
        category: str | None = None,
        status: str | None = None,
        on: dt.date | None = None,
    ) -> list[Regulation]:
        day = on or dt.date.today()
        return [
            Regulation.of(r, day)
            for r in default_catalog()
            if (market is None or market.upper() in r.markets or "GLOBAL" in r.markets)
            and (category is None or category in r.categories)
            and (status is None or r.status_on(day) == status)
        ]

    @strawberry.field(description="One catalog record by id, status judged on `on` (default today); null if unknown.")
    def regulation(self, id: str, on: dt.date | None = None) -> Regulation | None:
        r = default_catalog().by_id.get(id)
        return Regulation.of(r, on) if r else None

    @strawberry.field(description="Regulations that apply to a product in a market on a date, with reasons.")
    @_core_errors
    def applicable_regulations(
        self, info: Info, product_id: str, market: str, date: dt.date | None = None
    ) -> Applicability:
        rep = appl.applicable_regulations(info.context["store"], product_id, market, on=date)
        return Applicability(
            product_id=rep.product.model,
            market=rep.market,
            date=rep.on,
            catalog_version=rep.catalog_version,
            categories=list(rep.product.categories),
            features=list(rep.product.features),
            applicable=[_applicable(a, rep.on) for a in rep.applicable],
            upcoming=[_applicable(a, rep.on) for a in rep.upcoming],
        )

    @strawberry.field(description="What changed between two catalog versions and what it touches.")
    @_core_errors
    def catalog_impact(self, info: Info, from_version: str, to_version: str) -> CatalogImpact:
        search = info.context.get("catalog_versions", ())
        return _impact(imp.catalog_impact(info.context["store"], from_version, to_version, search=search))
