"""What a supplier may see of our graph: its own records and aggregated figures about them.

The view is built for one supplier id and nothing else can reach it: every query
below is anchored on ``?sup q:supplierId <id>``. It holds the supplier's parts, lots,
declarations and test reports (only the fields listed in the dataclasses, never a
relation to another party's record), and two aggregated quality figures:

* **PPM**: parts per million, ``defective / delivered x 10^6``, where *delivered* is
  the sum of the quantities of the supplier's lots and *defective* the distinct serial
  units with a complaint whose build traces back (``(^q:produced/q:consumed)+``) to
  one of those lots. (The usual supplier PPM, as in VDA 6.3 / IATF 16949 scorecards,
  counts rejected parts over received parts; field complaints traced through the
  genealogy are the part of it the graph can show.)
* **complaint counts by failure mode** over the same complaints.

No production run, process parameter, equipment, complaint text, serial number or
customer appears in the view: those stay ours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from qualitas.errors import NotFoundError
from qualitas.reasoning._sparql import literal
from qualitas.store import GraphStore, Row


@dataclass(frozen=True)
class SupplierPart:
    part_number: str
    name: str | None


@dataclass(frozen=True)
class SupplierLot:
    lot_number: str
    part_number: str | None
    quantity: Decimal | None


@dataclass(frozen=True)
class SupplierDocument:
    """A declaration (``about`` a part number) or a test report (``about`` a lot number)."""

    number: str
    about: str | None
    issued: dt.date | None
    kind: str | None  # declaration class, or the material grade a test report found


@dataclass(frozen=True)
class FailureModeCount:
    code: str | None
    name: str | None
    complaints: int


@dataclass(frozen=True)
class SupplierFigures:
    delivered_parts: int
    defective_parts: int
    ppm: float | None
    complaints_by_failure_mode: tuple[FailureModeCount, ...]


@dataclass(frozen=True)
class SupplierView:
    supplier_id: str
    name: str | None
    parts: tuple[SupplierPart, ...]
    lots: tuple[SupplierLot, ...]
    declarations: tuple[SupplierDocument, ...]
    test_reports: tuple[SupplierDocument, ...]
    figures: SupplierFigures


def _s(row: Row, key: str) -> str | None:
    value = row.get(key)
    return None if value is None else str(value)


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def supplier_view(store: GraphStore, supplier_id: str) -> SupplierView:
    """The view of ``supplier_id`` (:class:`NotFoundError` if no such supplier)."""
    sup = f"?sup q:supplierId {literal(supplier_id)} ."
    rows = store.select(f"SELECT ?name WHERE {{ ?sup a q:Supplier . {sup} OPTIONAL {{ ?sup q:name ?name }} }}")
    if not rows:
        raise NotFoundError(f"no supplier {supplier_id!r}", supplier=supplier_id)
    name = _s(rows[0], "name")
    parts = tuple(
        SupplierPart(str(r["pn"]), _s(r, "name"))
        for r in store.select(
            f"""SELECT ?pn (SAMPLE(?name0) AS ?name) WHERE {{ {sup} ?p q:suppliedBy ?sup ; a q:Part ; q:partNumber ?pn .
                OPTIONAL {{ ?p q:name ?name0 FILTER(LANG(?name0) IN ("en", "")) }} }} GROUP BY ?pn ORDER BY ?pn"""
        )
    )
    lots = tuple(
        SupplierLot(str(r["ln"]), _s(r, "pn"), _decimal(r.get("qty")))
        for r in store.select(
            f"""SELECT ?ln (SAMPLE(?pn0) AS ?pn) (SAMPLE(?qty0) AS ?qty) WHERE {{
                {sup} ?l q:suppliedBy ?sup ; a q:Lot ; q:lotNumber ?ln .
                OPTIONAL {{ ?l q:ofPart/q:partNumber ?pn0 }} OPTIONAL {{ ?l q:quantity ?qty0 }}
            }} GROUP BY ?ln ORDER BY ?ln"""
        )
    )
    declarations = tuple(
        SupplierDocument(str(r["num"]), _s(r, "about"), _date(r.get("issued")), _s(r, "kind"))
        for r in store.select(
            f"""SELECT ?num (SAMPLE(?a) AS ?about) (SAMPLE(?i) AS ?issued) (SAMPLE(?k) AS ?kind) WHERE {{
                {sup} ?d q:declaredBy ?sup ; a q:SupplierDeclaration ; q:documentNumber ?num .
                OPTIONAL {{ ?d q:declarationFor/q:partNumber ?a }} OPTIONAL {{ ?d dcterms:issued ?i }}
                OPTIONAL {{ ?d q:declarationClass ?k }}
            }} GROUP BY ?num ORDER BY ?num"""
        )
    )
    test_reports = tuple(
        SupplierDocument(str(r["num"]), _s(r, "about"), _date(r.get("issued")), _s(r, "kind"))
        for r in store.select(
            f"""SELECT ?num (SAMPLE(?a) AS ?about) (SAMPLE(?i) AS ?issued) (SAMPLE(?k) AS ?kind) WHERE {{
                {sup} ?t q:suppliedBy ?sup ; a q:TestReport ; q:documentNumber ?num .
                OPTIONAL {{ ?t q:reportFor/q:lotNumber ?a }} OPTIONAL {{ ?t dcterms:issued ?i }}
                OPTIONAL {{ ?t q:reportedMaterial/q:grade ?k }}
            }} GROUP BY ?num ORDER BY ?num"""
        )
    )
    return SupplierView(supplier_id, name, parts, lots, declarations, test_reports, _figures(store, sup, lots))


def _figures(store: GraphStore, sup: str, lots: tuple[SupplierLot, ...]) -> SupplierFigures:
    delivered = int(sum((lot.quantity or Decimal(0)) for lot in lots))
    traced = f"""{sup} ?lot q:suppliedBy ?sup ; a q:Lot .
        ?c a q:Complaint ; q:concernsUnit ?unit .
        ?unit (^q:produced/q:consumed)+ ?lot ."""
    rows = store.select(f"SELECT (COUNT(DISTINCT ?unit) AS ?n) WHERE {{ {traced} }}")
    defective = int(str(rows[0]["n"])) if rows and rows[0].get("n") is not None else 0
    by_mode = tuple(
        FailureModeCount(_s(r, "code"), _s(r, "name"), int(str(r["n"])))
        for r in store.select(
            f"""SELECT ?code (SAMPLE(?name0) AS ?name) (COUNT(DISTINCT ?c) AS ?n) WHERE {{
                {traced}
                OPTIONAL {{ ?c q:failureMode ?fm . OPTIONAL {{ ?fm q:code ?code }}
                            OPTIONAL {{ ?fm q:name ?name0 FILTER(LANG(?name0) IN ("en", "")) }} }}
            }} GROUP BY ?code ORDER BY DESC(?n) ?code"""
        )
    )
    ppm = defective / delivered * 1_000_000 if delivered else None
    return SupplierFigures(delivered, defective, ppm, by_mode)
