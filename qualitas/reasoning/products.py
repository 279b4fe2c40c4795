"""Products, their bills of materials, and complaints, as store queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from qualitas.errors import NotFoundError
from qualitas.reasoning._sparql import literal, values
from qualitas.reasoning.trace import LocalizedText, _date, _decimal, _s, find_complaint
from qualitas.store import GraphStore

_UNIT = "http://qudt.org/vocab/unit/"


@dataclass(frozen=True)
class BOMLineInfo:
    position: int
    part_number: str
    part_name: str | None
    quantity: Decimal
    unit: str | None
    material: str | None
    designators: tuple[str, ...]
    level: int
    parent: str


@dataclass(frozen=True)
class ProductInfo:
    id: str
    model_number: str
    name: str | None
    categories: tuple[str, ...]
    features: tuple[str, ...]
    bom_revision: str | None
    bom: tuple[BOMLineInfo, ...]


@dataclass(frozen=True)
class ComplaintSummary:
    id: str
    complaint_id: str
    received_on: dt.date | None
    channel: str | None
    market: str | None
    serial: str
    product: str | None
    failure_mode: str | None
    texts: tuple[LocalizedText, ...]


def list_products(store: GraphStore, *, with_bom: bool = True) -> list[ProductInfo]:
    """Every product model, each with its multi-level BOM as :func:`get_product` gives it
    (``with_bom=False`` leaves ``bom`` empty, for listings that do not show it)."""
    rows = store.select("SELECT DISTINCT ?m WHERE { ?p a q:Product ; q:modelNumber ?m } ORDER BY ?m")
    return [get_product(store, str(r["m"]), with_bom=with_bom) for r in rows]


def get_product(store: GraphStore, model_number: str, *, with_bom: bool = True) -> ProductInfo:
    rows = store.select(
        f"""SELECT ?p ?name ?cat ?feat ?rev WHERE {{
            ?p a q:Product ; q:modelNumber {literal(model_number)} .
            OPTIONAL {{ ?p q:name ?name FILTER(lang(?name) = "") }}
            OPTIONAL {{ ?p q:hasCategory/q:code ?cat }}
            OPTIONAL {{ ?p q:hasFeature/q:code ?feat }}
            OPTIONAL {{ ?p q:hasBOM/q:revision ?rev }}
        }}"""
    )
    if not rows:
        raise NotFoundError(f"no product with model number {model_number!r}", product=model_number)
    product = str(rows[0]["p"])
    bom: tuple[BOMLineInfo, ...] = ()
    if with_bom:
        bom = _bom(store, product)
    return ProductInfo(
        id=product,
        model_number=model_number,
        name=_s(rows[0], "name"),
        categories=tuple(sorted({str(r["cat"]) for r in rows if "cat" in r})),
        features=tuple(sorted({str(r["feat"]) for r in rows if "feat" in r})),
        bom_revision=_s(rows[0], "rev"),
        bom=bom,
    )


def _bom(store: GraphStore, product: str) -> tuple[BOMLineInfo, ...]:
    """The multi-level BOM, depth first, each line with its level (1 = top)."""
    rows = store.select(
        f"""SELECT DISTINCT ?owner ?line ?pos ?part ?pn ?pname ?qty ?unit ?grade ?des WHERE {{
            {values("root", [product])}
            ?root (q:hasBOM/q:hasLine/q:component)* ?owner .
            ?owner q:hasBOM/q:hasLine ?line .
            ?line q:position ?pos ; q:quantity ?qty ; q:component ?part .
            ?part q:partNumber ?pn . OPTIONAL {{ ?part q:name ?pname FILTER(lang(?pname) = "") }}
            OPTIONAL {{ ?line q:unit ?unit }}
            OPTIONAL {{ ?line q:designedMaterial/q:grade ?grade }}
            OPTIONAL {{ ?line q:designator ?des }}
        }}"""
    )
    by_owner: dict[str, dict[str, dict[str, object]]] = defaultdict(dict)
    designators: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        line = str(r["line"])
        by_owner[str(r["owner"])][line] = r
        if "des" in r:
            designators[line].add(str(r["des"]))
    out: list[BOMLineInfo] = []

    def walk(owner: str, parent_number: str, level: int, seen: frozenset[str]) -> None:
        lines = sorted(by_owner.get(owner, {}).items(), key=lambda kv: int(kv[1]["pos"]))  # type: ignore[call-overload]
        for line, r in lines:
            part = str(r["part"])
            unit = _s(r, "unit")
            out.append(
                BOMLineInfo(
                    position=int(r["pos"]),  # type: ignore[call-overload]
                    part_number=str(r["pn"]),
                    part_name=_s(r, "pname"),
                    quantity=_decimal(r["qty"]) or Decimal(0),
                    unit=unit[len(_UNIT) :] if unit and unit.startswith(_UNIT) else unit,
                    material=_s(r, "grade"),
                    designators=tuple(sorted(designators[line])),
                    level=level,
                    parent=parent_number,
                )
            )
            if part not in seen:
                walk(part, str(r["pn"]), level + 1, seen | {part})

    root_number = store.select(f"SELECT ?m WHERE {{ <{product}> q:modelNumber ?m }}")
    walk(product, str(root_number[0]["m"]) if root_number else product, 1, frozenset({product}))
    return tuple(out)


def get_complaint(store: GraphStore, complaint_id: str) -> ComplaintSummary:
    """A complaint by its id or by its IRI (the ``id`` that listings print)."""
    node = find_complaint(store, complaint_id)  # NotFoundError if neither
    return next(c for c in list_complaints(store, complaint_id=node.complaint_id) if c.id == node.id)


def list_complaints(
    store: GraphStore, *, market: str | None = None, complaint_id: str | None = None
) -> list[ComplaintSummary]:
    """Complaints, all or those from one market, or the one with ``complaint_id``."""
    by_id = f"BIND({literal(complaint_id)} AS ?cid)" if complaint_id is not None else ""
    by_market = f"?c q:market/q:code {literal(market)} ." if market is not None else ""
    rows = store.select(
        f"""SELECT ?c ?cid ?received ?channel ?market ?serial ?product ?fm WHERE {{
            {by_id}
            ?c a q:Complaint ; q:complaintId ?cid ; q:concernsUnit ?u .
            {by_market}
            ?u q:serialNumber ?serial .
            OPTIONAL {{ ?c q:receivedOn ?received }}
            OPTIONAL {{ ?c q:channel ?channel }}
            OPTIONAL {{ ?c q:market/q:code ?market }}
            OPTIONAL {{ ?u q:ofProduct/q:modelNumber ?product }}
            OPTIONAL {{ ?c q:failureMode/q:code ?fm }}
        }} ORDER BY ?cid"""
    )
    texts: dict[str, list[LocalizedText]] = defaultdict(list)
    if rows:
        for r in store.select(
            f"""SELECT DISTINCT ?c ?t (LANG(?t) AS ?lang) WHERE {{
                {values("c", {str(r["c"]) for r in rows})} ?c q:text ?t }} ORDER BY ?lang"""
        ):
            texts[str(r["c"])].append(LocalizedText(str(r.get("lang", "")), str(r["t"])))
    seen: dict[str, ComplaintSummary] = {}
    for r in rows:
        c = str(r["c"])
        if c in seen:
            continue
        seen[c] = ComplaintSummary(
            id=c,
            complaint_id=str(r["cid"]),
            received_on=_date(r.get("received")),
            channel=_s(r, "channel"),
            market=_s(r, "market"),
            serial=str(r["serial"]),
            product=_s(r, "product"),
            failure_mode=_s(r, "fm"),
            texts=tuple(texts[c]),
        )
    return list(seen.values())
