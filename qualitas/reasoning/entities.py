"""Every business entity of the graph, listed page by page and fetched in batches.

Two kinds of reads back the GraphQL schema:

* ``list_<kind>(store, *, <filters>, limit, after)`` returns one :class:`Page`. Paging
  happens in SPARQL: the entities are ordered by their business key (part number,
  supplier id, lot number ...), ``after`` becomes ``FILTER(STR(?key) > "after")`` and
  the query asks ``LIMIT limit + 1`` to learn whether a next page exists. The store
  never hands back more than one page (keyset pagination; no OFFSET scans).
* ``by_iri``, ``by_key`` and ``related`` answer a whole batch of IRIs, business keys or
  owners with ONE query (a ``VALUES`` clause). They back the per-request DataLoaders,
  so a nested GraphQL list costs one query per level, not one per item (no N+1).

Every value from a caller reaches SPARQL either as an escaped literal
(:func:`qualitas.reasoning._sparql.literal`) or as a validated IRI
(:func:`qualitas.reasoning._sparql.iri`); relation patterns are constants of this module.

Vocabulary: ``qualitas/ontology/qualitas.ttl``. Lineage follows PROV-O
(https://www.w3.org/TR/prov-o/): ``q:consumed`` is ``prov:used``, ``q:produced``
is ``prov:generated``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, Literal, TypeVar

from qualitas.errors import InputError
from qualitas.reasoning._sparql import iri, literal, values
from qualitas.reasoning.products import BOMLineInfo, ComplaintSummary, ProductInfo
from qualitas.reasoning.trace import LocalizedText, _date, _datetime, _decimal, _s
from qualitas.store import GraphStore, Row

T = TypeVar("T")

CalibrationStatus = Literal["valid", "expired", "none"]

_UNIT = "http://qudt.org/vocab/unit/"
_SEP = "\t"  # GROUP_CONCAT separator: no IRI and no code holds a tab


# ---------------------------------------------------------------- pages


@dataclass(frozen=True)
class PageEntry(Generic[T]):
    """One item of a page with the sort key a next page starts ``after``."""

    key: str
    node: T


@dataclass(frozen=True)
class Page(Generic[T]):
    entries: tuple[PageEntry[T], ...]
    has_next: bool
    after: str | None = None

    @property
    def nodes(self) -> tuple[T, ...]:
        return tuple(e.node for e in self.entries)


# ---------------------------------------------------------------- entities


@dataclass(frozen=True)
class Part:
    id: str
    part_number: str
    name: str | None
    is_product: bool


@dataclass(frozen=True)
class Material:
    id: str
    grade: str
    composition: str | None


@dataclass(frozen=True)
class Substance:
    id: str
    cas_number: str
    ec_number: str | None
    name: str | None


@dataclass(frozen=True)
class Supplier:
    id: str
    supplier_id: str
    name: str | None
    country: str | None


@dataclass(frozen=True)
class Declaration:
    """A supplier declaration (IPC-1752A material declaration, RoHS or REACH statement)."""

    id: str
    number: str
    issued: dt.date | None
    declaration_class: str | None
    exemptions: tuple[str, ...]


@dataclass(frozen=True)
class TestReport:
    __test__ = False  # not a pytest test class, despite the name

    id: str
    number: str
    issuer: str | None
    issued: dt.date | None


@dataclass(frozen=True)
class Run:
    """A production run: one process step on one piece of equipment (EPCIS TransformationEvent)."""

    id: str
    run_id: str
    step: str | None
    step_name: str | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    parameter_set_version: str | None


@dataclass(frozen=True)
class Equipment:
    id: str
    equipment_id: str
    name: str | None


@dataclass(frozen=True)
class Calibration:
    id: str
    number: str
    issuer: str | None
    valid_from: dt.date | None
    valid_until: dt.date | None
    result: str | None

    def valid_on(self, day: dt.date) -> bool:
        return (
            self.result != "fail"
            and self.valid_from is not None
            and self.valid_until is not None
            and self.valid_from <= day <= self.valid_until
        )


@dataclass(frozen=True)
class Lot:
    id: str
    lot_number: str
    quantity: Decimal | None


@dataclass(frozen=True)
class SerialUnit:
    id: str
    serial: str
    vin: str | None
    product: str | None


def calibration_status(calibrations: Iterable[Calibration], on: dt.date) -> CalibrationStatus:
    """``valid`` when a passing certificate covers ``on``, ``expired`` when certificates
    exist but none does, ``none`` without any certificate."""
    found = list(calibrations)
    if not found:
        return "none"
    return "valid" if any(c.valid_on(on) for c in found) else "expired"


# ---------------------------------------------------------------- kinds


#: Names and descriptions may carry translations (``"…"@de``, ``"…"@zh``): a field read
#: for the API takes the untagged or English value, never one picked at random.
_DEFAULT_LANGUAGE = 'FILTER(!isLiteral({v}) || lang({v}) = "" || langMatches(lang({v}), "en"))'


@dataclass(frozen=True)
class _Field:
    """A value read from ``?x`` along ``path``: one (``SAMPLE``) or all (``GROUP_CONCAT``)."""

    path: str
    many: bool = False


@dataclass(frozen=True)
class Kind(Generic[T]):
    """How one entity class is read: its class, its business key and its fields."""

    name: str
    cls: str
    key: str
    fields: Mapping[str, _Field]
    build: Callable[[str, str, Row], T]


def _many(row: Row, var: str) -> tuple[str, ...]:
    text = row.get(var)
    return tuple(sorted(v for v in str(text).split(_SEP) if v)) if text else ()


PARTS: Kind[Part] = Kind(
    "part",
    "q:Part",
    "q:partNumber",
    {"name": _Field("q:name"), "model": _Field("q:modelNumber")},
    lambda x, key, r: Part(id=x, part_number=key, name=_s(r, "name"), is_product="model" in r),
)
MATERIALS: Kind[Material] = Kind(
    "material",
    "q:Material",
    "q:grade",
    {"composition": _Field("q:composition")},
    lambda x, key, r: Material(id=x, grade=key, composition=_s(r, "composition")),
)
SUBSTANCES: Kind[Substance] = Kind(
    "substance",
    "q:Substance",
    "q:casNumber",
    {"ec": _Field("q:ecNumber"), "name": _Field("q:name")},
    lambda x, key, r: Substance(id=x, cas_number=key, ec_number=_s(r, "ec"), name=_s(r, "name")),
)
SUPPLIERS: Kind[Supplier] = Kind(
    "supplier",
    "q:Supplier",
    "q:supplierId",
    {"name": _Field("q:name"), "country": _Field("q:country")},
    lambda x, key, r: Supplier(id=x, supplier_id=key, name=_s(r, "name"), country=_s(r, "country")),
)
DECLARATIONS: Kind[Declaration] = Kind(
    "declaration",
    "q:SupplierDeclaration",
    "q:documentNumber",
    {
        "issued": _Field("dcterms:issued"),
        "dclass": _Field("q:declarationClass"),
        "exemptions": _Field("q:claimsExemption/q:code", many=True),
    },
    lambda x, key, r: Declaration(
        id=x,
        number=key,
        issued=_date(r.get("issued")),
        declaration_class=_s(r, "dclass"),
        exemptions=_many(r, "exemptions"),
    ),
)
TEST_REPORTS: Kind[TestReport] = Kind(
    "test report",
    "q:TestReport",
    "q:documentNumber",
    {"issuer": _Field("q:issuer"), "issued": _Field("dcterms:issued")},
    lambda x, key, r: TestReport(id=x, number=key, issuer=_s(r, "issuer"), issued=_date(r.get("issued"))),
)
RUNS: Kind[Run] = Kind(
    "run",
    "q:ProductionRun",
    "q:runId",
    {
        "step": _Field("q:step/q:code"),
        "step_name": _Field("q:step/q:name"),
        "started": _Field("q:startedAt"),
        "ended": _Field("q:endedAt"),
        "pset": _Field("q:usedParameterSet/q:version"),
    },
    lambda x, key, r: Run(
        id=x,
        run_id=key,
        step=_s(r, "step"),
        step_name=_s(r, "step_name"),
        started_at=_datetime(r.get("started")),
        ended_at=_datetime(r.get("ended")),
        parameter_set_version=_s(r, "pset"),
    ),
)
EQUIPMENT: Kind[Equipment] = Kind(
    "equipment",
    "q:Equipment",
    "q:equipmentId",
    {"name": _Field("q:name")},
    lambda x, key, r: Equipment(id=x, equipment_id=key, name=_s(r, "name")),
)
CALIBRATIONS: Kind[Calibration] = Kind(
    "calibration",
    "q:CalibrationCertificate",
    "q:documentNumber",
    {
        "issuer": _Field("q:issuer"),
        "valid_from": _Field("q:validFrom"),
        "valid_until": _Field("q:validUntil"),
        "result": _Field("q:calibrationResult"),
    },
    lambda x, key, r: Calibration(
        id=x,
        number=key,
        issuer=_s(r, "issuer"),
        valid_from=_date(r.get("valid_from")),
        valid_until=_date(r.get("valid_until")),
        result=_s(r, "result"),
    ),
)
LOTS: Kind[Lot] = Kind(
    "lot",
    "q:Lot",
    "q:lotNumber",
    {"quantity": _Field("q:quantity")},
    lambda x, key, r: Lot(id=x, lot_number=key, quantity=_decimal(r.get("quantity"))),
)
UNITS: Kind[SerialUnit] = Kind(
    "unit",
    "q:SerialUnit",
    "q:serialNumber",
    {"vin": _Field("q:vin"), "product": _Field("q:ofProduct/q:modelNumber")},
    lambda x, key, r: SerialUnit(id=x, serial=key, vin=_s(r, "vin"), product=_s(r, "product")),
)


# ---------------------------------------------------------------- relations


@dataclass(frozen=True)
class Relation(Generic[T]):
    """From an owner to entities of ``kind``: ``pattern`` links ``?owner`` to ``?x``.
    Patterns are constants of this module; only ``VALUES ?owner`` varies per call."""

    name: str
    kind: Kind[T]
    pattern: str


_CERTIFICATE = "{ ?owner q:hasCalibration ?x } UNION { ?x q:certificateFor ?owner }"

PART_SUPPLIERS = Relation("part.suppliers", SUPPLIERS, "?owner q:suppliedBy ?x .")
PART_MATERIALS = Relation("part.materials", MATERIALS, "?line q:component ?owner ; q:designedMaterial ?x .")
PART_DECLARATIONS = Relation("part.declarations", DECLARATIONS, "?x q:declarationFor ?owner .")
PART_LOTS = Relation("part.lots", LOTS, "?x q:ofPart ?owner .")
MATERIAL_SUBSTANCES = Relation("material.substances", SUBSTANCES, "?owner q:containsSubstance ?x .")
SUPPLIER_PARTS = Relation("supplier.parts", PARTS, "?x q:suppliedBy ?owner .")
SUPPLIER_DECLARATIONS = Relation("supplier.declarations", DECLARATIONS, "?x q:declaredBy ?owner .")
SUPPLIER_LOTS = Relation("supplier.lots", LOTS, "?x q:suppliedBy ?owner .")
DECLARATION_SUPPLIERS = Relation("declaration.suppliers", SUPPLIERS, "?owner q:declaredBy ?x .")
DECLARATION_PARTS = Relation("declaration.parts", PARTS, "?owner q:declarationFor ?x .")
DECLARATION_MATERIALS = Relation(
    "declaration.materials", MATERIALS, "?owner q:declaresMaterial|q:reportedMaterial ?x ."
)
TEST_REPORT_LOTS = Relation("test_report.lots", LOTS, "?owner q:reportFor ?x .")
TEST_REPORT_SUPPLIERS = Relation("test_report.suppliers", SUPPLIERS, "?owner q:suppliedBy ?x .")
TEST_REPORT_MATERIALS = Relation("test_report.materials", MATERIALS, "?owner q:reportedMaterial ?x .")
RUN_EQUIPMENT = Relation("run.equipment", EQUIPMENT, "?owner q:equipment ?x .")
RUN_CONSUMED_LOTS = Relation("run.consumed_lots", LOTS, "?owner q:consumed ?x .")
RUN_PRODUCED_LOTS = Relation("run.produced_lots", LOTS, "?owner q:produced ?x .")
RUN_CONSUMED_UNITS = Relation("run.consumed_units", UNITS, "?owner q:consumed ?x .")
RUN_PRODUCED_UNITS = Relation("run.produced_units", UNITS, "?owner q:produced ?x .")
EQUIPMENT_CALIBRATIONS = Relation("equipment.calibrations", CALIBRATIONS, _CERTIFICATE)
EQUIPMENT_RUNS = Relation("equipment.runs", RUNS, "?x q:equipment ?owner .")
CALIBRATION_EQUIPMENT = Relation(
    "calibration.equipment", EQUIPMENT, "{ ?owner q:certificateFor ?x } UNION { ?x q:hasCalibration ?owner }"
)
LOT_PARTS = Relation("lot.parts", PARTS, "?owner q:ofPart ?x .")
LOT_SUPPLIERS = Relation("lot.suppliers", SUPPLIERS, "?owner q:suppliedBy ?x .")
LOT_TEST_REPORTS = Relation("lot.test_reports", TEST_REPORTS, "?x q:reportFor ?owner .")
LOT_PRODUCED_BY = Relation("lot.produced_by", RUNS, "?x q:produced ?owner .")
LOT_CONSUMED_BY = Relation("lot.consumed_by", RUNS, "?x q:consumed ?owner .")
#: Every lot upstream of a unit: its producing run's inputs, their producing runs' inputs ...
UNIT_LOTS = Relation("unit.lots", LOTS, "?owner (^q:produced/q:consumed)+ ?x .")
UNIT_PRODUCED_BY = Relation("unit.produced_by", RUNS, "?x q:produced ?owner .")


# ---------------------------------------------------------------- query building


def _select(kind: Kind[T], inner: str, *, owner: bool = False) -> str:
    group = "?x ?key ?owner" if owner else "?x ?key"
    aggregates: list[str] = []
    optionals: list[str] = []
    for var, f in kind.fields.items():
        optionals.append(f"OPTIONAL {{ ?x {f.path} ?f_{var} {_DEFAULT_LANGUAGE.format(v=f'?f_{var}')} }}")
        if f.many:
            aggregates.append(f'(GROUP_CONCAT(DISTINCT STR(?f_{var}); separator="\\t") AS ?{var})')
        else:
            aggregates.append(f"(SAMPLE(?f_{var}) AS ?{var})")
    return (
        f"PREFIX dcterms: <http://purl.org/dc/terms/>\n"
        f"SELECT {group} {' '.join(aggregates)} WHERE {{\n  {inner}\n  {' '.join(optionals)}\n}}"
        f" GROUP BY {group} ORDER BY ?key ?x"
    )


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise InputError(f"a page holds at least one item, not {limit}", argument="limit")


def _page(store: GraphStore, kind: Kind[T], *, filters: Sequence[str], limit: int, after: str | None) -> Page[T]:
    """One page of ``kind``: the entities after ``after`` in business-key order matching ``filters``
    (SPARQL patterns over ``?x`` and ``?key``, built from escaped literals)."""
    _check_limit(limit)
    where = list(filters)
    if after is not None:
        where.append(f"FILTER(STR(?key) > {literal(after)})")
    inner = (
        f"{{ SELECT DISTINCT ?x ?key WHERE {{ ?x a {kind.cls} ; {kind.key} ?key . {' '.join(where)} }}"
        f" ORDER BY ?key ?x LIMIT {limit + 1} }}"
    )
    rows = store.select(_select(kind, inner))
    entries = tuple(PageEntry(str(r["key"]), kind.build(str(r["x"]), str(r["key"]), r)) for r in rows)
    return Page(entries=entries[:limit], has_next=len(entries) > limit, after=after)


def by_iri(store: GraphStore, kind: Kind[T], iris: Iterable[str]) -> dict[str, T]:
    """The entities of ``kind`` with these IRIs, in one query; unknown IRIs are left out."""
    wanted = set(iris)
    if not wanted:
        return {}
    rows = store.select(_select(kind, f"{values('x', wanted)} ?x a {kind.cls} ; {kind.key} ?key ."))
    return {str(r["x"]): kind.build(str(r["x"]), str(r["key"]), r) for r in rows}


def by_key(store: GraphStore, kind: Kind[T], keys: Iterable[str]) -> dict[str, T]:
    """The entities of ``kind`` with these business keys, in one query; unknown keys are left out."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    keyed = f"VALUES ?key {{ {' '.join(literal(k) for k in wanted)} }}"
    rows = store.select(_select(kind, f"{keyed} ?x a {kind.cls} ; {kind.key} ?key ."))
    return {str(r["key"]): kind.build(str(r["x"]), str(r["key"]), r) for r in rows}


def related(store: GraphStore, relation: Relation[T], owners: Iterable[str]) -> dict[str, tuple[T, ...]]:
    """For each owner IRI, the entities ``relation`` leads to (in business-key order),
    all owners in one query."""
    kind = relation.kind
    wanted = set(owners)
    if not wanted:
        return {}
    out: dict[str, list[T]] = {o: [] for o in wanted}
    rows = store.select(
        _select(kind, f"{values('owner', wanted)} {relation.pattern} ?x a {kind.cls} ; {kind.key} ?key .", owner=True)
    )
    for r in rows:
        out[str(r["owner"])].append(kind.build(str(r["x"]), str(r["key"]), r))
    return {o: tuple(items) for o, items in out.items()}


# ---------------------------------------------------------------- list functions


def _contains(var: str, text: str) -> str:
    return f"CONTAINS(LCASE(STR({var})), LCASE({literal(text)}))"


def _text_filter(text: str | None, *paths: str) -> list[str]:
    """Key or any of ``paths`` contains ``text``, case-insensitive."""
    if text is None:
        return []
    alternatives = [_contains("?key", text)]
    optionals = []
    for i, path in enumerate(paths):
        optionals.append(f"OPTIONAL {{ ?x {path} ?t{i} }}")
        alternatives.append(f"(BOUND(?t{i}) && {_contains(f'?t{i}', text)})")
    return [*optionals, f"FILTER({' || '.join(alternatives)})"]


def _prefix(prefix: str | None) -> list[str]:
    return [] if prefix is None else [f"FILTER(STRSTARTS(STR(?key), {literal(prefix)}))"]


def list_parts(
    store: GraphStore,
    *,
    number_prefix: str | None = None,
    text: str | None = None,
    supplier: str | None = None,
    supplier_country: str | None = None,
    limit: int = 20,
    after: str | None = None,
) -> Page[Part]:
    """Parts by part number; ``text`` matches number or name, ``supplier`` is a supplier id."""
    filters = _prefix(number_prefix) + _text_filter(text, "q:name")
    if supplier is not None:
        filters.append(f"?x q:suppliedBy/q:supplierId {literal(supplier)} .")
    if supplier_country is not None:
        filters.append(f"?x q:suppliedBy/q:country {literal(supplier_country)} .")
    return _page(store, PARTS, filters=filters, limit=limit, after=after)


def list_materials(
    store: GraphStore,
    *,
    text: str | None = None,
    substance: str | None = None,
    limit: int = 20,
    after: str | None = None,
) -> Page[Material]:
    """Materials by grade; ``substance`` is a CAS number the material contains."""
    filters = _text_filter(text, "q:composition")
    if substance is not None:
        filters.append(f"?x q:containsSubstance/q:casNumber {literal(substance)} .")
    return _page(store, MATERIALS, filters=filters, limit=limit, after=after)


def list_substances(
    store: GraphStore, *, text: str | None = None, limit: int = 20, after: str | None = None
) -> Page[Substance]:
    """Substances by CAS number; ``text`` matches CAS number, EC number or name."""
    filters = _text_filter(text, "q:name", "q:ecNumber")
    return _page(store, SUBSTANCES, filters=filters, limit=limit, after=after)


def list_suppliers(
    store: GraphStore,
    *,
    country: str | None = None,
    text: str | None = None,
    limit: int = 20,
    after: str | None = None,
) -> Page[Supplier]:
    """Suppliers by supplier id; ``country`` is an ISO 3166-1 alpha-2 code."""
    filters = _text_filter(text, "q:name")
    if country is not None:
        filters.append(f"?x q:country {literal(country.upper())} .")
    return _page(store, SUPPLIERS, filters=filters, limit=limit, after=after)


def list_declarations(
    store: GraphStore,
    *,
    supplier: str | None = None,
    part_number: str | None = None,
    declaration_class: str | None = None,
    text: str | None = None,
    limit: int = 20,
    after: str | None = None,
) -> Page[Declaration]:
    """Supplier declarations by document number."""
    filters = _text_filter(text)
    if supplier is not None:
        filters.append(f"?x q:declaredBy/q:supplierId {literal(supplier)} .")
    if part_number is not None:
        filters.append(f"?x q:declarationFor/q:partNumber {literal(part_number)} .")
    if declaration_class is not None:
        filters.append(f"?x q:declarationClass {literal(declaration_class)} .")
    return _page(store, DECLARATIONS, filters=filters, limit=limit, after=after)


def list_test_reports(
    store: GraphStore,
    *,
    supplier: str | None = None,
    lot_number: str | None = None,
    material: str | None = None,
    limit: int = 20,
    after: str | None = None,
) -> Page[TestReport]:
    """Test reports by document number; ``material`` is the grade the report found."""
    filters: list[str] = []
    if supplier is not None:
        filters.append(f"?x q:suppliedBy/q:supplierId {literal(supplier)} .")
    if lot_number is not None:
        filters.append(f"?x q:reportFor/q:lotNumber {literal(lot_number)} .")
    if material is not None:
        filters.append(f"?x q:reportedMaterial/q:grade {literal(material)} .")
    return _page(store, TEST_REPORTS, filters=filters, limit=limit, after=after)


def list_runs(
    store: GraphStore,
    *,
    equipment: str | None = None,
    step: str | None = None,
    started_from: dt.datetime | None = None,
    started_before: dt.datetime | None = None,
    limit: int = 20,
    after: str | None = None,
) -> Page[Run]:
    """Production runs by run id; ``equipment`` is an equipment id, ``step`` a step code."""
    filters: list[str] = []
    if equipment is not None:
        filters.append(f"?x q:equipment/q:equipmentId {literal(equipment)} .")
    if step is not None:
        filters.append(f"?x q:step/q:code {literal(step)} .")
    if started_from is not None or started_before is not None:
        filters.append("?x q:startedAt ?started .")
        if started_from is not None:
            filters.append(f"FILTER(?started >= {_datetime_literal(started_from)})")
        if started_before is not None:
            filters.append(f"FILTER(?started < {_datetime_literal(started_before)})")
    return _page(store, RUNS, filters=filters, limit=limit, after=after)


def _datetime_literal(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return f"{literal(value.isoformat())}^^xsd:dateTime"


def list_equipment(
    store: GraphStore,
    *,
    calibration: CalibrationStatus | None = None,
    on: dt.date | None = None,
    text: str | None = None,
    limit: int = 20,
    after: str | None = None,
) -> Page[Equipment]:
    """Equipment by equipment id; ``calibration`` keeps only the equipment whose
    calibration status on ``on`` (default today) is that one (see :func:`calibration_status`)."""
    filters = _text_filter(text, "q:name")
    if calibration is not None:
        day = f"{literal((on or dt.date.today()).isoformat())}^^xsd:date"
        certificate = "{ ?x q:hasCalibration ?c } UNION { ?c q:certificateFor ?x }"
        valid = (
            f"{certificate} ?c q:validFrom ?from ; q:validUntil ?until ."
            f' FILTER(?from <= {day} && {day} <= ?until) FILTER NOT EXISTS {{ ?c q:calibrationResult "fail" }}'
        )
        if calibration == "valid":
            filters.append(f"FILTER EXISTS {{ {valid} }}")
        elif calibration == "expired":
            filters.append(f"FILTER EXISTS {{ {certificate} }} FILTER NOT EXISTS {{ {valid} }}")
        else:
            filters.append(f"FILTER NOT EXISTS {{ {certificate} }}")
    return _page(store, EQUIPMENT, filters=filters, limit=limit, after=after)


def list_calibrations(
    store: GraphStore, *, equipment: str | None = None, limit: int = 20, after: str | None = None
) -> Page[Calibration]:
    """Calibration certificates by certificate number; ``equipment`` is an equipment id."""
    filters: list[str] = []
    if equipment is not None:
        filters.append(
            f"{{ ?x q:certificateFor ?e }} UNION {{ ?e q:hasCalibration ?x }} ?e q:equipmentId {literal(equipment)} ."
        )
    return _page(store, CALIBRATIONS, filters=filters, limit=limit, after=after)


def list_lots(
    store: GraphStore,
    *,
    part_number: str | None = None,
    supplier: str | None = None,
    limit: int = 20,
    after: str | None = None,
) -> Page[Lot]:
    """Lots by lot number; ``part_number`` is the part the lot is of, ``supplier`` a supplier id."""
    filters: list[str] = []
    if part_number is not None:
        filters.append(f"?x q:ofPart/q:partNumber {literal(part_number)} .")
    if supplier is not None:
        filters.append(f"?x q:suppliedBy/q:supplierId {literal(supplier)} .")
    return _page(store, LOTS, filters=filters, limit=limit, after=after)


def list_units(
    store: GraphStore,
    *,
    product: str | None = None,
    serial_prefix: str | None = None,
    limit: int = 20,
    after: str | None = None,
) -> Page[SerialUnit]:
    """Serial units by serial number (or VIN); ``product`` is a model number."""
    filters = _prefix(serial_prefix)
    if product is not None:
        filters.append(f"?x q:ofProduct/q:modelNumber {literal(product)} .")
    return _page(store, UNITS, filters=filters, limit=limit, after=after)


# ---------------------------------------------------------------- products and complaints


def list_product_page(
    store: GraphStore, *, category: str | None = None, limit: int = 20, after: str | None = None
) -> Page[ProductInfo]:
    """Product models by model number, each with its multi-level BOM: two queries per page."""
    _check_limit(limit)
    where = []
    if category is not None:
        where.append(f"?x q:hasCategory/q:code {literal(category)} .")
    if after is not None:
        where.append(f"FILTER(STR(?key) > {literal(after)})")
    rows = store.select(
        f"""SELECT ?x ?key (SAMPLE(?n) AS ?name) (SAMPLE(?r) AS ?rev)
            (GROUP_CONCAT(DISTINCT STR(?c); separator="\\t") AS ?cats)
            (GROUP_CONCAT(DISTINCT STR(?f); separator="\\t") AS ?feats) WHERE {{
            {{ SELECT DISTINCT ?x ?key WHERE {{ ?x a q:Product ; q:modelNumber ?key . {" ".join(where)} }}
               ORDER BY ?key ?x LIMIT {limit + 1} }}
            OPTIONAL {{ ?x q:name ?n {_DEFAULT_LANGUAGE.format(v="?n")} }} OPTIONAL {{ ?x q:hasBOM/q:revision ?r }}
            OPTIONAL {{ ?x q:hasCategory/q:code ?c }} OPTIONAL {{ ?x q:hasFeature/q:code ?f }}
        }} GROUP BY ?x ?key ORDER BY ?key ?x"""
    )
    rows = rows[: limit + 1]
    boms = _boms(store, {str(r["x"]): str(r["key"]) for r in rows[:limit]})
    entries = tuple(
        PageEntry(
            str(r["key"]),
            ProductInfo(
                id=str(r["x"]),
                model_number=str(r["key"]),
                name=_s(r, "name"),
                categories=_many(r, "cats"),
                features=_many(r, "feats"),
                bom_revision=_s(r, "rev"),
                bom=boms.get(str(r["x"]), ()),
            ),
        )
        for r in rows
    )
    return Page(entries=entries[:limit], has_next=len(entries) > limit, after=after)


def _boms(store: GraphStore, roots: Mapping[str, str]) -> dict[str, tuple[BOMLineInfo, ...]]:
    """Multi-level BOMs of several products (IRI -> model number) in one query, depth first,
    as :func:`qualitas.reasoning.products.get_product` walks one."""
    if not roots:
        return {}
    rows = store.select(
        f"""SELECT DISTINCT ?root ?owner ?line ?pos ?part ?pn ?pname ?qty ?unit ?grade ?des WHERE {{
            {values("root", roots)}
            ?root (q:hasBOM/q:hasLine/q:component)* ?owner .
            ?owner q:hasBOM/q:hasLine ?line .
            ?line q:position ?pos ; q:quantity ?qty ; q:component ?part .
            ?part q:partNumber ?pn . OPTIONAL {{ ?part q:name ?pname {_DEFAULT_LANGUAGE.format(v="?pname")} }}
            OPTIONAL {{ ?line q:unit ?unit }}
            OPTIONAL {{ ?line q:designedMaterial/q:grade ?grade }}
            OPTIONAL {{ ?line q:designator ?des }}
        }}"""
    )
    by_owner: dict[str, dict[str, Row]] = defaultdict(dict)
    designators: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        line = str(r["line"])
        by_owner[str(r["owner"])][line] = r
        if "des" in r:
            designators[line].add(str(r["des"]))

    def walk(owner: str, parent: str, level: int, seen: frozenset[str], out: list[BOMLineInfo]) -> None:
        for line, r in sorted(by_owner.get(owner, {}).items(), key=lambda kv: _int(kv[1]["pos"])):
            unit = _s(r, "unit")
            out.append(
                BOMLineInfo(
                    position=_int(r["pos"]),
                    part_number=str(r["pn"]),
                    part_name=_s(r, "pname"),
                    quantity=_decimal(r["qty"]) or Decimal(0),
                    unit=unit[len(_UNIT) :] if unit and unit.startswith(_UNIT) else unit,
                    material=_s(r, "grade"),
                    designators=tuple(sorted(designators[line])),
                    level=level,
                    parent=parent,
                )
            )
            part = str(r["part"])
            if part not in seen:
                walk(part, str(r["pn"]), level + 1, seen | {part}, out)

    result: dict[str, tuple[BOMLineInfo, ...]] = {}
    for root, model in roots.items():
        out: list[BOMLineInfo] = []
        walk(root, model, 1, frozenset({root}), out)
        result[root] = tuple(out)
    return result


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | str | Decimal) else 0


_COMPLAINT_FIELDS = """
    ?u q:serialNumber ?serial .
    OPTIONAL { ?x q:receivedOn ?received } OPTIONAL { ?x q:channel ?channel }
    OPTIONAL { ?x q:market/q:code ?market } OPTIONAL { ?u q:ofProduct/q:modelNumber ?product }
    OPTIONAL { ?x q:failureMode/q:code ?fm }"""


def _complaints(store: GraphStore, inner: str, *, owner: bool = False) -> list[tuple[str | None, ComplaintSummary]]:
    """Complaints matched by ``inner`` (binding ``?x``, ``?key`` and ``?u``), with their texts:
    two queries however many complaints."""
    group = "?x ?key ?owner" if owner else "?x ?key"
    rows = store.select(
        f"""SELECT {group} (SAMPLE(?serial) AS ?s) (SAMPLE(?received) AS ?r) (SAMPLE(?channel) AS ?ch)
            (SAMPLE(?market) AS ?m) (SAMPLE(?product) AS ?p) (SAMPLE(?fm) AS ?f) WHERE {{
            {inner} {_COMPLAINT_FIELDS}
        }} GROUP BY {group} ORDER BY ?key ?x"""
    )
    texts: dict[str, list[LocalizedText]] = defaultdict(list)
    if rows:
        for r in store.select(
            f"""SELECT DISTINCT ?c ?t (LANG(?t) AS ?lang) WHERE {{
                {values("c", {str(r["x"]) for r in rows})} ?c q:text ?t }} ORDER BY ?lang ?t"""
        ):
            texts[str(r["c"])].append(LocalizedText(str(r.get("lang", "")), str(r["t"])))
    return [
        (
            _s(r, "owner"),
            ComplaintSummary(
                id=str(r["x"]),
                complaint_id=str(r["key"]),
                received_on=_date(r.get("r")),
                channel=_s(r, "ch"),
                market=_s(r, "m"),
                serial=str(r.get("s", "")),
                product=_s(r, "p"),
                failure_mode=_s(r, "f"),
                texts=tuple(texts[str(r["x"])]),
            ),
        )
        for r in rows
    ]


def list_complaint_page(
    store: GraphStore,
    *,
    market: str | None = None,
    failure_mode: str | None = None,
    limit: int = 20,
    after: str | None = None,
) -> Page[ComplaintSummary]:
    """Complaints by complaint id; ``market`` and ``failure_mode`` are codes (EU, FM-RATTLE)."""
    _check_limit(limit)
    where = []
    if market is not None:
        where.append(f"?x q:market/q:code {literal(market)} .")
    if failure_mode is not None:
        where.append(f"?x q:failureMode/q:code {literal(failure_mode)} .")
    if after is not None:
        where.append(f"FILTER(STR(?key) > {literal(after)})")
    inner = (
        "{ SELECT DISTINCT ?x ?key ?u WHERE { ?x a q:Complaint ; q:complaintId ?key ; q:concernsUnit ?u . "
        f"{' '.join(where)} }} ORDER BY ?key ?x LIMIT {limit + 1} }}"
    )
    found = _complaints(store, inner)
    entries = tuple(PageEntry(c.complaint_id, c) for _, c in found)
    return Page(entries=entries[:limit], has_next=len(entries) > limit, after=after)


def complaints_by_unit(store: GraphStore, units: Iterable[str]) -> dict[str, tuple[ComplaintSummary, ...]]:
    """The complaints about each serial unit (IRI), all units in one batch."""
    wanted = set(units)
    if not wanted:
        return {}
    out: dict[str, list[ComplaintSummary]] = {u: [] for u in wanted}
    inner = (
        f"{values('owner', wanted)} ?x a q:Complaint ; q:complaintId ?key ; q:concernsUnit ?owner . BIND(?owner AS ?u)"
    )
    for owner, complaint in _complaints(store, inner, owner=True):
        if owner is not None:
            out[owner].append(complaint)
    return {u: tuple(items) for u, items in out.items()}


def check_iri(value: str) -> str:
    """``value`` if it is safe to put in SPARQL as an IRI; :class:`InputError` otherwise."""
    try:
        iri(value)
    except ValueError as exc:
        raise InputError(f"not a valid IRI: {value!r}", argument="id") from exc
    return value
