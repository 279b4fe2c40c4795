"""Generate ``shapes/substance-limits.ttl`` from the catalog: ``python -m qualitas.regulations._shapegen``.

Every catalog limit with a CAS number (RoHS Annex II, China RoHS, ELV Annex II, REACH
Annex XVII entries, Batteries Regulation Annex I ...) becomes one SHACL Core shape on
``q:CompositionEntry``: an entry for that substance must have a ``q:massFraction`` at or
below the limit, unless it claims one of the record's exemptions naming the substance.
The REACH Candidate List (a record's ``substances:``) becomes the Article 33 shape: an
entry for a listed substance above 0.1 % needs a communication record about the part.
The limits stay data (YAML); this file only restates them as shapes.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from qualitas.regulations.catalog import Catalog, Limit, LimitScope, Regulation, load_catalog

HERE = Path(__file__).parent
OUT = HERE / "shapes" / "substance-limits.ttl"

HEADER = """\
# DO NOT EDIT: generated from the catalog's limits by `python -m qualitas.regulations._shapegen`.
@prefix sh:      <http://www.w3.org/ns/shacl#> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix q:       <https://w3id.org/qualitas/ontology#> .
@prefix qrs:     <https://w3id.org/qualitas/regulations/shapes#> .
@prefix reg:     <https://w3id.org/qualitas/id/regulation/> .
@prefix sub:     <https://w3id.org/qualitas/id/substance/> .
@prefix cat:     <https://w3id.org/qualitas/id/category/> .
@prefix feat:    <https://w3id.org/qualitas/id/category/feature/> .
"""

#: From a composition entry to the products whose BOM contains the declared part, at
#: any depth (entry <- declaration -> part <- BOM line <- BOM <- product, repeated).
_TO_PRODUCTS = (
    "[ sh:inversePath q:hasCompositionEntry ] q:declarationFor "
    "[ sh:zeroOrMorePath ( [ sh:inversePath q:component ] [ sh:inversePath q:hasLine ] "
    "[ sh:inversePath q:hasBOM ] ) ]"
)


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _clause(basis: str, default: str) -> str:
    m = re.search(r"(Annex [IVX]+( entry \d+)?|Art\. \d+(\(\d+\))?)", basis)
    return m.group(1) if m else default


def _implying(categories: tuple[str, ...], implied: Mapping[str, tuple[str, ...]]) -> list[str]:
    """``categories`` and every category that implies one of them (the catalog's
    ``implied_categories``: a product of category ev_charging_equipment is electrical
    equipment), as a product records only its own categories."""
    out = set(categories)
    grew = True
    while grew:
        grew = False
        for cat, implies in implied.items():
            if cat != "*" and cat not in out and out & set(implies):
                out.add(cat)
                grew = True
    return sorted(out)


def _out_of_scope(scope: LimitScope | None, implied: Mapping[str, tuple[str, ...]]) -> str:
    """``sh:or`` members that hold when the entry is outside the limit's own scope:
    a required product feature missing, an excluded product category, or a material
    whose grade does not match the pattern."""
    if scope is None:
        return ""
    out = ""
    for f in scope.features:
        out += f"\n        [ sh:not [ sh:path ( {_TO_PRODUCTS} q:hasFeature ) ; sh:hasValue feat:{f} ] ]"
    if scope.excluded_categories:
        cats = " ".join(f"cat:{c}" for c in _implying(scope.excluded_categories, implied))
        out += (f"\n        [ sh:path ( {_TO_PRODUCTS} q:hasCategory ) ;\n"
                f"          sh:qualifiedValueShape [ sh:in ( {cats} ) ] ; sh:qualifiedMinCount 1 ]")
    if scope.material_pattern:
        out += (f"\n        [ sh:not [ sh:path ( q:material q:grade ) ; sh:minCount 1 ; "
                f'sh:pattern "{_esc(scope.material_pattern)}" ; sh:flags "i" ] ]')
    return out


def _limit_shape(r: Regulation, lim: Limit, implied: Mapping[str, tuple[str, ...]]) -> str:
    assert lim.cas
    name = f"{r.id}--limit-{lim.cas}"
    fraction = (lim.max_percent_w_w / Decimal(100)).normalize()
    word = lim.substance.split()[0].lower()
    exemptions = [e.id for e in r.exemptions if word in e.description.lower()]
    exempt = ""
    if exemptions:
        codes = " ".join(f'"{_esc(e)}"' for e in exemptions)
        exempt = f"\n        [ sh:path ( q:claimsExemption q:code ) ; sh:minCount 1 ; sh:in ( {codes} ) ]"
    pct = format(lim.max_percent_w_w.normalize(), "f")
    clause = _clause(lim.basis, lim.basis or "limits")
    return f"""
qrs:{name} a sh:NodeShape , q:Requirement ;
    rdfs:label "{_esc(r.short_name or r.id)}: {_esc(lim.substance)} at most {pct} % w/w"@en ;
    q:clause "{_esc(clause)}" ;
    sh:targetClass q:CompositionEntry ;
    sh:or (
        [ sh:not [ sh:path q:substance ; sh:hasValue sub:{lim.cas} ] ]{_out_of_scope(lim.scope, implied)}
        [ sh:path q:massFraction ; sh:minCount 1 ; sh:maxInclusive "{fraction}"^^xsd:decimal ]{exempt}
    ) ;
    sh:message "{_esc(lim.substance)} exceeds {pct} % w/w ({_esc(r.short_name or r.id)}, {_esc(clause)})"@en ,
        "{_esc(lim.substance)} 超过 {pct} %（质量分数）限值（{_esc(r.short_name or r.id)}，{_esc(clause)}）"@zh .
reg:{r.id} q:hasRequirement qrs:{name} .
"""


def _svhc_shape(r: Regulation) -> str:
    cas = sorted({c for s in r.substances for c in s.cas})
    items = " ".join(f"sub:{c}" for c in cas)
    name = f"{r.id}--art33-communication"
    return f"""
qrs:{name} a sh:NodeShape , q:Requirement ;
    rdfs:label "{_esc(r.short_name or r.id)}: SVHC above 0.1 % w/w needs an Art. 33 communication"@en ;
    q:clause "Art. 33(1)" ;
    sh:targetClass q:CompositionEntry ;
    sh:or (
        [ sh:not [ sh:path q:substance ; sh:minCount 1 ; sh:in ( {items} ) ] ]
        [ sh:path q:massFraction ; sh:maxInclusive "0.001"^^xsd:decimal ]
        [ sh:path ( [ sh:inversePath q:hasCompositionEntry ] q:declarationFor
                    [ sh:inversePath q:about ] ) ;
          sh:qualifiedValueShape [ sh:path dcterms:type ; sh:hasValue "reach_art33_communication" ] ;
          sh:qualifiedMinCount 1 ]
    ) ;
    sh:message "A Candidate List substance above 0.1 % w/w has no REACH Art. 33 \
communication record for the article"@en ,
        "候选清单物质含量超过 0.1 %（质量分数），但该物品没有 REACH 第 33 条信息传递记录"@zh .
reg:{r.id} q:hasRequirement qrs:{name} .
"""


def render(catalog: Catalog | None = None) -> str:
    catalog = catalog or load_catalog(strict=False)
    parts = [HEADER]
    for r in sorted(catalog.records, key=lambda r: r.id):
        seen: set[str] = set()
        for lim in r.limits:
            if lim.cas and lim.cas not in seen:
                seen.add(lim.cas)
                parts.append(_limit_shape(r, lim, catalog.rules.implied_categories))
        # Only the Candidate List carries the Art. 33 duty; other lists (Proposition 65)
        # are screened for presence, not turned into this shape.
        svhc_lists = catalog.rules.substance_list_records
        if r.substances and (not svhc_lists or r.id in svhc_lists):
            parts.append(_svhc_shape(r))
    return "".join(parts)


def main() -> int:
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
