"""Which regulations apply to a product in a market on a date, and why.

The rule (data in ``catalog.yaml`` under ``applicability:``, records in ``catalog/``):

1. **Product profile.** The product's ``q:hasCategory`` / ``q:hasFeature`` codes, widened
   by ``implied_categories`` (every product is an ``article``; a smartphone is radio
   equipment ...) and ``implied_features`` (a battery, or a product with a traction
   battery, ``contains_battery``). ``contains_svhc`` is derived: set when a substance
   of the product's BOM closure is on a list a record carries under ``substances:``
   (the REACH Candidate List) with an inclusion date on or before the date asked.
2. **Market.** A record applies in the markets it lists; ``GLOBAL`` means anywhere.
3. **Scope.** A record matches when the product has *one* of its categories and *all*
   of its features (features narrow a category: LVD is electrical equipment *with* a
   50-1000 V AC rating). Records of the ``quality_management_system`` category bind
   the *manufacturer*, not the product: the QMS category itself never matches; such a
   record is listed (``obligation="manufacturer"``) when another of its categories
   matches (ISO 13485 for a medical device) or when all of its features do (IATF 16949
   through ``automotive_supply_chain``). A QMS record with neither (ISO 9001) is a
   voluntary certification and is not listed.
4. **Date.** A matching record whose date of application is after the date asked is
   *upcoming*. A repealed record (status ``repealed``, or a repeal date on or before
   the date) is not listed; its successor chain (``superseded_by``) is, with the
   repealed record named in ``replaces``. A repealed record whose repeal date is still
   ahead of the date asked applies (history queries).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from qualitas.errors import InputError, NotFoundError
from qualitas.reasoning._sparql import iri, literal
from qualitas.regulations.catalog import Catalog, Regulation, default_catalog
from qualitas.regulations.routes import Exclusion, exclusions
from qualitas.store import GraphStore

Obligation = Literal["product", "manufacturer"]

_PREFIX = "PREFIX q: <https://w3id.org/qualitas/ontology#>\n"


@dataclass(frozen=True)
class ProductProfile:
    """What a product is and has, as regulations see it."""

    iri: str
    model: str
    name: str | None
    categories: tuple[str, ...]
    features: tuple[str, ...]
    substances: tuple[str, ...]  # CAS numbers in the BOM closure
    markets: tuple[str, ...]  # markets the product is placed on (q:market), if recorded


@dataclass(frozen=True)
class Reason:
    """Why a record applies: the categories and features that triggered it."""

    categories: tuple[str, ...]
    features: tuple[str, ...]
    implied: tuple[str, ...]  # of those, the ones implied or derived, not stated
    market: str  # the record's market that matched (a market code or GLOBAL)

    def __str__(self) -> str:
        parts = [f"category {c}" for c in self.categories] + [f"feature {f}" for f in self.features]
        text = " + ".join(parts)
        if self.implied:
            text += f" (implied: {', '.join(self.implied)})"
        return f"{text}; market {self.market}"


@dataclass(frozen=True)
class ApplicableRegulation:
    id: str
    identifier: str
    short_name: str | None
    title: str
    instrument_type: str
    status: str
    obligation: Obligation
    reason: Reason
    applies_from: dt.date | None
    replaces: tuple[str, ...] = ()  # repealed records this one stands in for
    superseded_by: str | None = None


@dataclass(frozen=True)
class ApplicabilityReport:
    product: ProductProfile
    market: str
    on: dt.date
    catalog_version: str
    applicable: tuple[ApplicableRegulation, ...]
    upcoming: tuple[ApplicableRegulation, ...]
    #: Records that matched the profile but that their own scope articles exclude
    #: (routes.yaml ``not_when``), each with its legal basis.
    excluded: tuple[Exclusion, ...] = ()
    #: The product's categories and features after widening (implied and derived ones).
    categories: tuple[str, ...] = ()
    features: tuple[str, ...] = ()

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(a.id for a in self.applicable)

    @property
    def upcoming_ids(self) -> frozenset[str]:
        return frozenset(a.id for a in self.upcoming)


# ---------------------------------------------------------------- the product


def product_profile(store: GraphStore, product_id: str) -> ProductProfile:
    """Read the product with model number ``product_id`` (or IRI) from the store."""
    key = (
        f"BIND({iri(product_id)} AS ?p) ?p a q:Product ."
        if product_id.startswith(("http://", "https://"))
        else f"?p a q:Product ; q:modelNumber {literal(product_id)} ."
    )
    rows = store.select(
        _PREFIX + "SELECT ?p ?model ?name WHERE { " + key
        + " ?p q:modelNumber ?model . OPTIONAL { ?p q:name ?name FILTER(lang(?name) = '') } } LIMIT 1"
    )
    if not rows:
        raise NotFoundError(f"no product with model number {product_id!r}", product=product_id)
    p = str(rows[0]["p"])
    facts = store.select(
        _PREFIX + f"""SELECT ?kind ?code WHERE {{
          {{ {iri(p)} q:hasCategory/q:code ?code . BIND("category" AS ?kind) }}
          UNION {{ {iri(p)} q:hasFeature/q:code ?code . BIND("feature" AS ?kind) }}
          UNION {{ {iri(p)} q:market/q:code ?code . BIND("market" AS ?kind) }}
          UNION {{ {iri(p)} (q:hasBOM/q:hasLine/q:component)* ?x .
                   ?x q:hasBOM/q:hasLine/q:designedMaterial/q:containsSubstance/q:casNumber ?code .
                   BIND("substance" AS ?kind) }}
        }}"""
    )

    def of(kind: str) -> tuple[str, ...]:
        return tuple(sorted({str(r["code"]) for r in facts if r["kind"] == kind}))

    return ProductProfile(
        iri=p, model=str(rows[0]["model"]), name=rows[0].get("name") and str(rows[0]["name"]),  # type: ignore[arg-type]
        categories=of("category"), features=of("feature"), substances=of("substance"), markets=of("market"),
    )


def _widen(catalog: Catalog, profile: ProductProfile, on: dt.date) -> tuple[set[str], set[str], set[str]]:
    rules = catalog.rules
    cats, feats = set(profile.categories), set(profile.features)
    implied: set[str] = set()
    changed = True
    while changed:
        changed = False
        for key in ["*", *sorted(cats | feats)]:
            for c in rules.implied_categories.get(key, ()) if key == "*" or key in cats else ():
                if c not in cats:
                    cats.add(c)
                    implied.add(c)
                    changed = True
            for f in rules.implied_features.get(key, ()):
                if f not in feats:
                    feats.add(f)
                    implied.add(f)
                    changed = True
    if rules.substance_list_feature and rules.substance_list_feature not in feats:
        listed = {
            cas for r in catalog.records for s in r.substances for cas in s.cas
            if (not rules.substance_list_records or r.id in rules.substance_list_records)
            and (s.date_included is None or s.date_included <= on)
        }
        if listed & set(profile.substances):
            feats.add(rules.substance_list_feature)
            implied.add(rules.substance_list_feature)
    return cats, feats, implied


# ---------------------------------------------------------------- matching


def _match(
    r: Regulation, cats: set[str], feats: set[str], implied: set[str], market: str, qms: str
) -> tuple[Reason, Obligation] | None:
    if market in r.markets:
        matched_market = market
    elif "GLOBAL" in r.markets:
        matched_market = "GLOBAL"
    else:
        return None
    if not set(r.features) <= feats:
        return None
    hit_cats = tuple(c for c in r.categories if c in cats and c != qms)
    obligation: Obligation = "manufacturer" if qms in r.categories else "product"
    if not hit_cats and not (obligation == "manufacturer" and r.features):
        return None
    reason = Reason(
        categories=hit_cats, features=tuple(r.features),
        implied=tuple(x for x in (*hit_cats, *r.features) if x in implied), market=matched_market,
    )
    return reason, obligation


def _repealed_on(r: Regulation, on: dt.date) -> bool:
    return r.status_on(on) == "repealed"


def _entry(r: Regulation, reason: Reason, obligation: Obligation, replaces: tuple[str, ...]) -> ApplicableRegulation:
    return ApplicableRegulation(
        id=r.id, identifier=r.identifier, short_name=r.short_name, title=r.title("en"),
        instrument_type=r.instrument_type, status=r.status, obligation=obligation, reason=reason,
        applies_from=r.dates.applies_from, replaces=replaces, superseded_by=r.superseded_by,
    )


def evaluate(
    catalog: Catalog, profile: ProductProfile, market: str, on: dt.date
) -> ApplicabilityReport:
    """Pure core of :func:`applicable_regulations`: match ``profile`` against ``catalog``."""
    market = market.upper()
    cats, feats, implied = _widen(catalog, profile, on)
    qms = catalog.rules.manufacturer_category
    by_id = catalog.by_id
    matched: dict[str, tuple[Reason, Obligation]] = {}
    replaces: dict[str, list[str]] = {}
    for r in catalog.records:
        m = _match(r, cats, feats, implied, market, qms)
        if m is None:
            continue
        if _repealed_on(r, on):
            # Replaced: walk to the live successor; it is listed on its own scope, or, if
            # its scope does not reach this product, on the repealed record's reason.
            cur, seen = r, {r.id}
            while _repealed_on(cur, on) and cur.superseded_by and cur.superseded_by not in seen:
                seen.add(cur.superseded_by)
                cur = by_id[cur.superseded_by]
            if _repealed_on(cur, on):
                continue
            replaces.setdefault(cur.id, []).append(r.id)
            if cur.id not in matched:
                own = _match(cur, cats, feats, implied, market, qms)
                matched[cur.id] = own or m
            continue
        matched[r.id] = m
    applicable: list[ApplicableRegulation] = []
    upcoming: list[ApplicableRegulation] = []
    for rid in sorted(matched):
        r = by_id[rid]
        reason, obligation = matched[rid]
        entry = _entry(r, reason, obligation, tuple(sorted(replaces.get(rid, ()))))
        start = r.dates.applies_from
        if r.status_on(on) == "adopted_not_yet_applicable" or (start and start > on):
            upcoming.append(entry)
        else:
            applicable.append(entry)
    # An act's own scope articles can take it off a product its profile matches (EMC
    # Art. 2(2)(a) for radio equipment ...): exclusions among the acts that apply now,
    # then among those that will apply, judged with everything applying by then.
    out_now = exclusions((a.id for a in applicable), cats, feats)
    out_later = exclusions((a.id for a in (*applicable, *upcoming)), cats, feats)
    out = {**{k: v for k, v in out_later.items() if k in {u.id for u in upcoming}}, **out_now}
    return ApplicabilityReport(
        product=profile, market=market, on=on, catalog_version=catalog.version,
        applicable=tuple(a for a in applicable if a.id not in out),
        upcoming=tuple(u for u in upcoming if u.id not in out),
        excluded=tuple(out[k] for k in sorted(out)),
        categories=tuple(sorted(cats)), features=tuple(sorted(feats)),
    )


def applicable_regulations(
    store: GraphStore, product_id: str, market: str, *, on: dt.date | None = None,
    catalog: Catalog | None = None,
) -> ApplicabilityReport:
    """Regulations that apply to ``product_id`` in ``market`` on ``on`` (default today),
    each with its reason; not-yet-applicable ones in ``upcoming``. An unknown market is
    refused (:func:`check_market`)."""
    catalog = catalog or default_catalog()
    check_market(market, catalog)
    return evaluate(catalog, product_profile(store, product_id), market, on or dt.date.today())


def check_market(market: str, catalog: Catalog) -> None:
    """Refuse a market the catalog does not know (``DE``, ``XX``): judged against no
    market's law, the answer would list only the global records and look complete."""
    known = sorted(catalog.vocabulary.markets - {"GLOBAL"})
    if market.upper() not in known:
        raise InputError(
            f"unknown market {market!r}; markets are {', '.join(known)} (an EU member state is 'EU')",
            market=market,
        )
