"""Catalog versions: diff two versions, and trace a change into the product data.

``diff_catalogs`` compares two :class:`Catalog` objects record by record: added,
removed and changed instruments, and within them added, removed and changed limits
(e.g. RoHS Annex II) and listed substances (e.g. new REACH Candidate List entries).

``change_impact`` follows every substance a change touches through the graph with
SPARQL, never a Python scan of the store:
substance -> material (``q:containsSubstance``, or a declaration's composition entry)
-> BOM line (``q:designedMaterial``) -> part (``q:component``) -> supplier
(``q:suppliedBy``) -> BOM and its owner -> every product model whose BOM closure holds
that owner -> markets; and it drafts one declaration request per supplier, listing
that supplier's parts and the substances to declare.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from qualitas.reasoning._sparql import literal, values
from qualitas.regulations.catalog import Catalog, Regulation, load_version
from qualitas.store import GraphStore

ChangeKind = Literal["added", "removed", "changed"]

_PREFIX = "PREFIX q: <https://w3id.org/qualitas/ontology#>\n"
_COMPARED = (
    "identifier", "identifier_type", "short_name", "titles", "jurisdiction", "markets",
    "instrument_type", "status", "dates", "amends", "repeals", "superseded_by", "categories",
    "features", "conformity_route", "required_documents", "markings", "manual_languages",
    "source_url", "limits", "exemptions", "substances",
)


# ---------------------------------------------------------------- diff


@dataclass(frozen=True)
class RecordChange:
    id: str
    kind: ChangeKind
    fields: tuple[str, ...] = ()  # for "changed": the fields that differ
    markets: tuple[str, ...] = ()


@dataclass(frozen=True)
class LimitChange:
    regulation_id: str
    kind: ChangeKind
    substance: str
    cas: str | None
    old_max_percent_w_w: Decimal | None
    new_max_percent_w_w: Decimal | None


@dataclass(frozen=True)
class SubstanceListChange:
    """A substance added to or removed from a list a record carries (e.g. SVHC)."""

    regulation_id: str
    kind: Literal["added", "removed"]
    name: str
    cas: tuple[str, ...]
    date_included: dt.date | None


@dataclass(frozen=True)
class CatalogDiff:
    from_version: str
    to_version: str
    records: tuple[RecordChange, ...]
    limits: tuple[LimitChange, ...]
    substances: tuple[SubstanceListChange, ...]

    def of_kind(self, kind: ChangeKind) -> tuple[RecordChange, ...]:
        return tuple(r for r in self.records if r.kind == kind)

    @property
    def added(self) -> tuple[RecordChange, ...]:
        return self.of_kind("added")

    @property
    def removed(self) -> tuple[RecordChange, ...]:
        return self.of_kind("removed")

    @property
    def changed(self) -> tuple[RecordChange, ...]:
        return self.of_kind("changed")


#: A name read for the report: the untagged or English one, never a translation picked
#: at random (names may carry ``@de``, ``@zh`` … variants).
_ENGLISH = 'FILTER(lang({v}) = "" || langMatches(lang({v}), "en"))'


def _limit_key(r: Regulation, i: int) -> str:
    lim = r.limits[i]
    return lim.cas or lim.substance


def _diff_limits(old: Regulation | None, new: Regulation | None) -> list[LimitChange]:
    rid = (new or old).id  # type: ignore[union-attr]
    before = {_limit_key(old, i): lim for i, lim in enumerate(old.limits)} if old else {}
    after = {_limit_key(new, i): lim for i, lim in enumerate(new.limits)} if new else {}
    out: list[LimitChange] = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a is None and b is not None:
            out.append(LimitChange(rid, "added", b.substance, b.cas, None, b.max_percent_w_w))
        elif b is None and a is not None:
            out.append(LimitChange(rid, "removed", a.substance, a.cas, a.max_percent_w_w, None))
        elif a is not None and b is not None and (a.max_percent_w_w != b.max_percent_w_w or a.basis != b.basis):
            out.append(LimitChange(rid, "changed", b.substance, b.cas, a.max_percent_w_w, b.max_percent_w_w))
    return out


def _diff_substances(old: Regulation | None, new: Regulation | None) -> list[SubstanceListChange]:
    rid = (new or old).id  # type: ignore[union-attr]
    before = {s.cas or (s.name,): s for s in old.substances} if old else {}
    after = {s.cas or (s.name,): s for s in new.substances} if new else {}
    out = [
        SubstanceListChange(rid, "added", s.name, s.cas, s.date_included)
        for k, s in after.items() if k not in before
    ]
    out += [
        SubstanceListChange(rid, "removed", s.name, s.cas, s.date_included)
        for k, s in before.items() if k not in after
    ]
    return sorted(out, key=lambda c: (c.kind, c.cas, c.name))


def diff_catalogs(old: Catalog, new: Catalog) -> CatalogDiff:
    """Added, removed and changed instruments, limits and listed substances."""
    a, b = old.by_id, new.by_id
    records: list[RecordChange] = []
    limits: list[LimitChange] = []
    subs: list[SubstanceListChange] = []
    for rid in sorted(a.keys() | b.keys()):
        o, n = a.get(rid), b.get(rid)
        if o is None and n is not None:
            records.append(RecordChange(rid, "added", markets=n.markets))
        elif n is None and o is not None:
            records.append(RecordChange(rid, "removed", markets=o.markets))
        elif o is not None and n is not None:
            fields = tuple(f for f in _COMPARED if getattr(o, f) != getattr(n, f))
            if fields:
                records.append(RecordChange(rid, "changed", fields, markets=n.markets))
        limits += _diff_limits(o, n)
        subs += _diff_substances(o, n)
    return CatalogDiff(old.version, new.version, tuple(records), tuple(limits), tuple(subs))


# ---------------------------------------------------------------- impact


@dataclass(frozen=True)
class SubstanceTrigger:
    """Why a substance is in the impact: which record's change, and how."""

    regulation_id: str
    change: str  # e.g. "added to substances list", "limit tightened 0.1 -> 0.05 %"
    markets: tuple[str, ...]


@dataclass(frozen=True)
class AffectedSubstance:
    cas: str
    name: str | None
    triggers: tuple[SubstanceTrigger, ...]
    in_store: bool


@dataclass(frozen=True)
class AffectedMaterial:
    grade: str
    substances: tuple[str, ...]  # CAS


@dataclass(frozen=True)
class AffectedPart:
    part_number: str
    name: str | None
    materials: tuple[str, ...]
    substances: tuple[str, ...]
    suppliers: tuple[str, ...]  # supplier ids


@dataclass(frozen=True)
class AffectedSupplier:
    supplier_id: str
    name: str | None


@dataclass(frozen=True)
class BomPosition:
    """One BOM line that uses an affected material, and the model numbers it rolls up to."""

    bom_owner: str  # model or part number of the assembly whose BOM this is
    revision: str | None
    position: int
    part_number: str
    material: str
    products: tuple[str, ...]


@dataclass(frozen=True)
class AffectedProduct:
    model: str
    positions: tuple[str, ...]  # "<bom owner>/<revision> pos <n> (<part>)"
    markets: tuple[str, ...]


@dataclass(frozen=True)
class DeclarationRequest:
    """Ask a supplier for an updated material declaration covering these parts."""

    supplier_id: str
    supplier_name: str | None
    parts: tuple[str, ...]
    substances: tuple[str, ...]  # CAS numbers to declare
    regulations: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class ImpactReport:
    diff: CatalogDiff
    substances: tuple[AffectedSubstance, ...]
    materials: tuple[AffectedMaterial, ...]
    parts: tuple[AffectedPart, ...]
    suppliers: tuple[AffectedSupplier, ...]
    bom_positions: tuple[BomPosition, ...]
    products: tuple[AffectedProduct, ...]
    markets: tuple[str, ...]
    declaration_requests: tuple[DeclarationRequest, ...]


def _fmt(value: Decimal | None) -> str:
    return "-" if value is None else format(value.normalize(), "f")


def substance_triggers(diff: CatalogDiff, new: Catalog, old: Catalog) -> dict[str, list[SubstanceTrigger]]:
    """CAS number -> the changes that make it relevant: new listed substances, new or
    tightened limits, and the limits and lists of newly added records."""
    markets = {r.id: r.markets for r in (*old.records, *new.records)}
    out: dict[str, list[SubstanceTrigger]] = defaultdict(list)
    for s in diff.substances:
        if s.kind == "added":
            for cas in s.cas:
                out[cas].append(SubstanceTrigger(s.regulation_id, "added to substances list", markets[s.regulation_id]))
    for lim in diff.limits:
        if lim.cas is None:
            continue
        if lim.kind == "added":
            what = f"limit added: {_fmt(lim.new_max_percent_w_w)} % w/w"
        elif lim.kind == "changed" and (lim.new_max_percent_w_w or 0) < (lim.old_max_percent_w_w or 0):
            what = f"limit tightened: {_fmt(lim.old_max_percent_w_w)} -> {_fmt(lim.new_max_percent_w_w)} % w/w"
        elif lim.kind == "changed":
            what = f"limit changed: {_fmt(lim.old_max_percent_w_w)} -> {_fmt(lim.new_max_percent_w_w)} % w/w"
        else:
            continue
        out[lim.cas].append(SubstanceTrigger(lim.regulation_id, what, markets[lim.regulation_id]))
    return dict(out)


def change_impact(store: GraphStore, diff: CatalogDiff, triggers: dict[str, list[SubstanceTrigger]]) -> ImpactReport:
    """Trace the substances in ``triggers`` through the product data in ``store``."""
    cas_list = sorted(triggers)
    if not cas_list:
        return ImpactReport(diff, (), (), (), (), (), (), (), ())
    cas_values = "VALUES ?cas { " + " ".join(literal(c) for c in cas_list) + " }"
    known = store.select(_PREFIX + f"SELECT ?cas ?name WHERE {{ {cas_values} "
                         "?s q:casNumber ?cas . OPTIONAL { ?s q:name ?name " + _ENGLISH.format(v="?name") + " } }")
    names = {str(r["cas"]): (str(r["name"]) if "name" in r else None) for r in known}
    rows = store.select(_PREFIX + f"""
        SELECT DISTINCT ?cas ?grade ?pos ?rev ?owner ?ownerKey ?part ?pn ?pname ?sid ?sname WHERE {{
          {cas_values}
          ?s q:casNumber ?cas .
          {{ ?m q:containsSubstance ?s }} UNION {{ ?e q:material ?m ; q:substance ?s }}
          ?m q:grade ?grade .
          ?line q:designedMaterial ?m ; q:position ?pos ; q:component ?part .
          ?bom q:hasLine ?line . ?owner q:hasBOM ?bom .
          OPTIONAL {{ ?bom q:revision ?rev }}
          OPTIONAL {{ ?owner q:modelNumber ?om }} OPTIONAL {{ ?owner q:partNumber ?opn }}
          BIND(COALESCE(?om, ?opn, STR(?owner)) AS ?ownerKey)
          OPTIONAL {{ ?part q:partNumber ?pn }} OPTIONAL {{ ?part q:name ?pname {_ENGLISH.format(v="?pname")} }}
          OPTIONAL {{ ?part q:suppliedBy ?sup . ?sup q:supplierId ?sid .
                      OPTIONAL {{ ?sup q:name ?sname {_ENGLISH.format(v="?sname")} }} }}
        }}""")
    owners = sorted({str(r["owner"]) for r in rows})
    rollup: dict[str, set[str]] = defaultdict(set)
    product_markets: dict[str, set[str]] = defaultdict(set)
    if owners:
        for r in store.select(_PREFIX + f"""
            SELECT DISTINCT ?owner ?model ?mk WHERE {{
              {values("owner", owners)}
              ?product a q:Product ; q:modelNumber ?model ; (q:hasBOM/q:hasLine/q:component)* ?owner .
              OPTIONAL {{ ?product q:market/q:code ?mk }}
            }}"""):
            rollup[str(r["owner"])].add(str(r["model"]))
            if "mk" in r:
                product_markets[str(r["model"])].add(str(r["mk"]))

    materials: dict[str, set[str]] = defaultdict(set)
    parts: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    part_names: dict[str, str | None] = {}
    supplier_names: dict[str, str | None] = {}
    positions: dict[tuple[str, str | None, int, str, str], set[str]] = {}
    for r in rows:
        cas, grade = str(r["cas"]), str(r["grade"])
        pn = str(r.get("pn") or r["part"])
        materials[grade].add(cas)
        parts[pn]["materials"].add(grade)
        parts[pn]["substances"].add(cas)
        part_names[pn] = str(r["pname"]) if "pname" in r else None
        if "sid" in r:
            parts[pn]["suppliers"].add(str(r["sid"]))
            supplier_names[str(r["sid"])] = str(r["sname"]) if "sname" in r else None
        key = (str(r["ownerKey"]), str(r["rev"]) if "rev" in r else None, int(r["pos"]), pn, grade)  # type: ignore[call-overload]
        positions.setdefault(key, set()).update(rollup.get(str(r["owner"]), ()))

    cas_markets = {cas: {m for t in ts for m in t.markets} for cas, ts in triggers.items()}
    product_positions: dict[str, list[str]] = defaultdict(list)
    product_cas: dict[str, set[str]] = defaultdict(set)
    for (owner, rev, pos, pn, grade), models in positions.items():
        for model in models:
            product_positions[model].append(f"{owner}/{rev or '-'} pos {pos} ({pn})")
            product_cas[model] |= materials[grade]
    products = []
    for model in sorted(product_positions):
        reg_markets = set().union(*(cas_markets[c] for c in product_cas[model]))
        sold = product_markets.get(model)
        mk = reg_markets if not sold or "GLOBAL" in reg_markets else reg_markets & sold
        products.append(AffectedProduct(model, tuple(sorted(product_positions[model])), tuple(sorted(mk))))

    by_supplier: dict[str, set[str]] = defaultdict(set)
    for pn, info in parts.items():
        for sid in info["suppliers"]:
            by_supplier[sid].add(pn)
    requests = []
    for sid in sorted(by_supplier):
        pns = tuple(sorted(by_supplier[sid]))
        subs = tuple(sorted({c for pn in pns for c in parts[pn]["substances"]}))
        regs = tuple(sorted({t.regulation_id for c in subs for t in triggers[c]}))
        text = (
            f"Please send an updated material declaration (IPC-1752A class D) for part(s) "
            f"{', '.join(pns)} stating the content of substance(s) {', '.join(subs)} "
            f"per homogeneous material and per article, following catalog change "
            f"{diff.from_version} -> {diff.to_version} ({', '.join(regs)})."
        )
        requests.append(DeclarationRequest(sid, supplier_names.get(sid), pns, subs, regs, text))

    return ImpactReport(
        diff=diff,
        substances=tuple(
            AffectedSubstance(c, names.get(c), tuple(triggers[c]), c in names) for c in cas_list
        ),
        materials=tuple(AffectedMaterial(g, tuple(sorted(s))) for g, s in sorted(materials.items())),
        parts=tuple(
            AffectedPart(pn, part_names.get(pn), tuple(sorted(i["materials"])), tuple(sorted(i["substances"])),
                         tuple(sorted(i["suppliers"])))
            for pn, i in sorted(parts.items())
        ),
        suppliers=tuple(AffectedSupplier(s, supplier_names.get(s)) for s in sorted(by_supplier)),
        bom_positions=tuple(
            BomPosition(o, rev, pos, pn, grade, tuple(sorted(models)))
            for (o, rev, pos, pn, grade), models in sorted(positions.items(), key=lambda kv: (kv[0][0], kv[0][2]))
        ),
        products=tuple(products),
        markets=tuple(sorted({m for p in products for m in p.markets})),
        declaration_requests=tuple(requests),
    )


def catalog_impact(
    store: GraphStore, from_version: str, to_version: str, *, search: Iterable[Path] = ()
) -> ImpactReport:
    """Diff catalog ``from_version`` against ``to_version`` and trace it into ``store``."""
    search = tuple(search)
    old = load_version(from_version, search=search)
    new = load_version(to_version, search=search)
    diff = diff_catalogs(old, new)
    return change_impact(store, diff, substance_triggers(diff, new, old))
