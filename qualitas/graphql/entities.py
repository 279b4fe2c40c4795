"""GraphQL over every business entity: Relay connections, filters and DataLoaders.

Each connection field calls one ``list_*`` function of
:mod:`qualitas.reasoning.entities`, which pages in SPARQL (one query per page).
Each relation field (``Part.suppliers``, ``Supplier.declarations`` ...) goes
through a DataLoader made once per request and kept in ``info.context["loaders"]``:
all the owners asking for one relation at one depth are answered by one
``entities.related`` query, so a nested list costs one query per level, not one
per item (https://github.com/graphql/dataloader#batching).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from qualitas.graphql.pagination import Connection, bad_input, connection, decode_cursor, page_size
from qualitas.graphql.schema import _core_errors
from qualitas.graphql.security import run_blocking
from qualitas.graphql.types import Complaint, Product, convert
from qualitas.reasoning import entities as core
from qualitas.store import GraphStore

T = TypeVar("T")
X = TypeVar("X")


def _store(info: Info) -> GraphStore:
    return info.context["store"]  # type: ignore[no-any-return]


def _loader(info: Info, name: str, batch: Callable[[GraphStore, list[str]], dict[str, Any]]) -> DataLoader[str, Any]:
    """The request's DataLoader ``name``, made on first use; ``batch`` answers many keys in one query."""
    loaders: dict[str, DataLoader[str, Any]] = info.context.setdefault("loaders", {})
    if name not in loaders:
        store = _store(info)
        context = info.context

        async def load(keys: list[str]) -> list[Any]:
            found = await run_blocking(context, lambda: batch(store, keys))  # a store query: off the event loop
            return [found.get(key, ()) for key in keys]

        loaders[name] = DataLoader(load_fn=load)
    return loaders[name]


async def _related(info: Info, relation: core.Relation[X], owner: str, to: Callable[[X], T]) -> list[T]:
    items: tuple[X, ...] = await _loader(
        info, relation.name, lambda store, keys: core.related(store, relation, keys)
    ).load(owner)
    return [to(item) for item in items]


async def _one(info: Info, relation: core.Relation[X], owner: str, to: Callable[[X], T]) -> T | None:
    items = await _related(info, relation, owner, to)
    return items[0] if items else None


def _mirror(cls: type[T]) -> Callable[[Any], T]:
    """Core dataclass -> GraphQL type with the same field names."""

    def to(value: Any) -> T:
        return cls(**{f.name: getattr(value, f.name) for f in dataclasses.fields(value)})

    return to


# ---------------------------------------------------------------- types


@strawberry.enum(description="Calibration status of a piece of equipment on a day.")
class CalibrationStatus(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    NONE = "none"


@strawberry.type(description="A part number: a component of bills of materials, or an assembly.")
class Part:
    id: str
    part_number: str
    name: str | None
    is_product: bool = strawberry.field(description="True when the part is also sold as a product model.")

    @strawberry.field(description="The supplier that delivers the part (the first, by supplier id).")
    async def supplier(self, info: Info) -> Supplier | None:
        return await _one(info, core.PART_SUPPLIERS, self.id, _mirror(Supplier))

    @strawberry.field(description="Every supplier that delivers the part.")
    async def suppliers(self, info: Info) -> list[Supplier]:
        return await _related(info, core.PART_SUPPLIERS, self.id, _mirror(Supplier))

    @strawberry.field(description="As-designed materials: those of the BOM lines calling for the part.")
    async def materials(self, info: Info) -> list[Material]:
        return await _related(info, core.PART_MATERIALS, self.id, _mirror(Material))

    @strawberry.field(description="Supplier declarations about the part.")
    async def declarations(self, info: Info) -> list[SupplierDeclaration]:
        return await _related(info, core.PART_DECLARATIONS, self.id, _mirror(SupplierDeclaration))

    @strawberry.field(description="Lots of the part.")
    async def lots(self, info: Info) -> list[Lot]:
        return await _related(info, core.PART_LOTS, self.id, _mirror(Lot))


@strawberry.type(description="A homogeneous material identified by its grade.")
class Material:
    id: str
    grade: str
    composition: str | None

    @strawberry.field(description="Substances the material contains.")
    async def substances(self, info: Info) -> list[Substance]:
        return await _related(info, core.MATERIAL_SUBSTANCES, self.id, _mirror(Substance))


@strawberry.type(description="A chemical substance identified by CAS and EC numbers.")
class Substance:
    id: str
    cas_number: str
    ec_number: str | None
    name: str | None


@strawberry.type(description="An organization that delivers parts, materials or lots.")
class Supplier:
    id: str
    supplier_id: str
    name: str | None
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2")

    @strawberry.field(description="Declarations the supplier issued.")
    async def declarations(self, info: Info) -> list[SupplierDeclaration]:
        return await _related(info, core.SUPPLIER_DECLARATIONS, self.id, _mirror(SupplierDeclaration))

    @strawberry.field(description="Parts the supplier delivers.")
    async def parts(self, info: Info) -> list[Part]:
        return await _related(info, core.SUPPLIER_PARTS, self.id, _mirror(Part))

    @strawberry.field(description="Lots the supplier delivered.")
    async def lots(self, info: Info) -> list[Lot]:
        return await _related(info, core.SUPPLIER_LOTS, self.id, _mirror(Lot))


@strawberry.type(description="A supplier's declaration about a part: IPC-1752A, RoHS or REACH.")
class SupplierDeclaration:
    id: str
    number: str
    issued: dt.date | None
    declaration_class: str | None = strawberry.field(description="IPC-1752A class: C or D")
    exemptions: list[str] = strawberry.field(description="Exemption codes claimed, e.g. 6(c)")

    @strawberry.field
    async def supplier(self, info: Info) -> Supplier | None:
        return await _one(info, core.DECLARATION_SUPPLIERS, self.id, _mirror(Supplier))

    @strawberry.field
    async def part(self, info: Info) -> Part | None:
        return await _one(info, core.DECLARATION_PARTS, self.id, _mirror(Part))

    @strawberry.field(description="Materials the declaration states.")
    async def materials(self, info: Info) -> list[Material]:
        return await _related(info, core.DECLARATION_MATERIALS, self.id, _mirror(Material))


@strawberry.type(description="A laboratory report on a delivered lot.")
class TestReport:
    id: str
    number: str
    issuer: str | None
    issued: dt.date | None

    @strawberry.field
    async def lot(self, info: Info) -> Lot | None:
        return await _one(info, core.TEST_REPORT_LOTS, self.id, _mirror(Lot))

    @strawberry.field
    async def supplier(self, info: Info) -> Supplier | None:
        return await _one(info, core.TEST_REPORT_SUPPLIERS, self.id, _mirror(Supplier))

    @strawberry.field(description="The material the report found (as built).")
    async def material(self, info: Info) -> Material | None:
        return await _one(info, core.TEST_REPORT_MATERIALS, self.id, _mirror(Material))


@strawberry.type(description="One execution of a process step on one piece of equipment.")
class ProductionRun:
    id: str
    run_id: str
    step: str | None
    step_name: str | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    parameter_set_version: str | None = strawberry.field(description="Version of the parameter set the run used")

    @strawberry.field
    async def equipment(self, info: Info) -> Equipment | None:
        return await _one(info, core.RUN_EQUIPMENT, self.id, _mirror(Equipment))

    @strawberry.field
    async def consumed_lots(self, info: Info) -> list[Lot]:
        return await _related(info, core.RUN_CONSUMED_LOTS, self.id, _mirror(Lot))

    @strawberry.field
    async def produced_lots(self, info: Info) -> list[Lot]:
        return await _related(info, core.RUN_PRODUCED_LOTS, self.id, _mirror(Lot))

    @strawberry.field
    async def consumed_units(self, info: Info) -> list[SerialUnit]:
        return await _related(info, core.RUN_CONSUMED_UNITS, self.id, _mirror(SerialUnit))

    @strawberry.field
    async def produced_units(self, info: Info) -> list[SerialUnit]:
        return await _related(info, core.RUN_PRODUCED_UNITS, self.id, _mirror(SerialUnit))


@strawberry.type(description="A machine, tool or measuring device used in production runs.")
class Equipment:
    id: str
    equipment_id: str
    name: str | None

    @strawberry.field(description="Calibration certificates, by certificate number.")
    async def calibrations(self, info: Info) -> list[CalibrationCertificate]:
        return await _related(info, core.EQUIPMENT_CALIBRATIONS, self.id, _mirror(CalibrationCertificate))

    @strawberry.field(description="VALID when a passing certificate covers `on` (default today).")
    async def calibration_status(self, info: Info, on: dt.date | None = None) -> CalibrationStatus:
        found = await _related(info, core.EQUIPMENT_CALIBRATIONS, self.id, lambda c: c)
        return CalibrationStatus(core.calibration_status(found, on or dt.date.today()))

    @strawberry.field(description="Production runs on this equipment.")
    async def runs(self, info: Info) -> list[ProductionRun]:
        return await _related(info, core.EQUIPMENT_RUNS, self.id, _mirror(ProductionRun))


@strawberry.type(description="A certificate that a piece of equipment was calibrated, valid from/until.")
class CalibrationCertificate:
    id: str
    number: str
    issuer: str | None
    valid_from: dt.date | None
    valid_until: dt.date | None
    result: str | None

    @strawberry.field
    async def equipment(self, info: Info) -> Equipment | None:
        return await _one(info, core.CALIBRATION_EQUIPMENT, self.id, _mirror(Equipment))


@strawberry.type(description="A quantity of one part made or delivered together under one lot number.")
class Lot:
    id: str
    lot_number: str
    quantity: Decimal | None

    @strawberry.field
    async def part(self, info: Info) -> Part | None:
        return await _one(info, core.LOT_PARTS, self.id, _mirror(Part))

    @strawberry.field
    async def supplier(self, info: Info) -> Supplier | None:
        return await _one(info, core.LOT_SUPPLIERS, self.id, _mirror(Supplier))

    @strawberry.field(description="Laboratory reports on the lot.")
    async def test_reports(self, info: Info) -> list[TestReport]:
        return await _related(info, core.LOT_TEST_REPORTS, self.id, _mirror(TestReport))

    @strawberry.field(description="The runs that produced the lot.")
    async def produced_by(self, info: Info) -> list[ProductionRun]:
        return await _related(info, core.LOT_PRODUCED_BY, self.id, _mirror(ProductionRun))

    @strawberry.field(description="The runs that consumed the lot.")
    async def consumed_by(self, info: Info) -> list[ProductionRun]:
        return await _related(info, core.LOT_CONSUMED_BY, self.id, _mirror(ProductionRun))


@strawberry.type(description="One unit identified by its serial number or VIN.")
class SerialUnit:
    id: str
    serial: str
    vin: str | None
    product: str | None = strawberry.field(description="Model number of the product the unit is")

    @strawberry.field(description="Every lot upstream of the unit, through the runs that made it and its inputs.")
    async def lots(self, info: Info) -> list[Lot]:
        return await _related(info, core.UNIT_LOTS, self.id, _mirror(Lot))

    @strawberry.field(description="The run that produced the unit.")
    async def produced_by(self, info: Info) -> list[ProductionRun]:
        return await _related(info, core.UNIT_PRODUCED_BY, self.id, _mirror(ProductionRun))

    @strawberry.field(description="Complaints about the unit.")
    async def complaints(self, info: Info) -> list[Complaint]:
        items = await _loader(info, "unit.complaints", core.complaints_by_unit).load(self.id)
        return [convert(c) for c in items]


# ---------------------------------------------------------------- query


def _lookup(info: Info, kind: core.Kind[X], key: str, to: Callable[[X], T]) -> T | None:
    found = core.by_key(_store(info), kind, [key]).get(key)
    return None if found is None else to(found)


def _paged(
    info: Info,
    first: int | None,
    after: str | None,
    fetch: Callable[[int, str | None], core.Page[X]],
    to: Callable[[X], T],
) -> Connection[T]:
    return connection(fetch(page_size(info, first), decode_cursor(after)), to)


def _upper(value: str | None) -> str | None:
    return None if value is None else value.upper()


First = Annotated[
    int | None,
    strawberry.argument(description="Page size, 1 to the server's limit (100 unless configured); default 20"),
]
After = Annotated[str | None, strawberry.argument(description="The `endCursor` of the previous page.")]


def _date_filter(value: dt.date | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        raise bad_input(f"`{name}` is a date", argument=name)
    return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)


@strawberry.type
class EntityQuery:
    @strawberry.field(description="Parts by part number; `text` matches part number or name.")
    @_core_errors
    def parts(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        number_prefix: str | None = None,
        text: str | None = None,
        supplier: Annotated[str | None, strawberry.argument(description="Supplier id")] = None,
        supplier_country: str | None = None,
    ) -> Connection[Part]:
        return _paged(
            info,
            first,
            after,
            lambda n, a: core.list_parts(
                _store(info),
                number_prefix=number_prefix,
                text=text,
                supplier=supplier,
                supplier_country=_upper(supplier_country),
                limit=n,
                after=a,
            ),
            _mirror(Part),
        )

    @strawberry.field(description="One part by part number; null when unknown.")
    def part(self, info: Info, part_number: str) -> Part | None:
        return _lookup(info, core.PARTS, part_number, _mirror(Part))

    @strawberry.field(description="Materials by grade; `substance` is a CAS number the material contains.")
    @_core_errors
    def materials(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        text: str | None = None,
        substance: str | None = None,
    ) -> Connection[Material]:
        return _paged(
            info,
            first,
            after,
            lambda n, a: core.list_materials(_store(info), text=text, substance=substance, limit=n, after=a),
            _mirror(Material),
        )

    @strawberry.field(description="One material by grade; null when unknown.")
    def material(self, info: Info, grade: str) -> Material | None:
        return _lookup(info, core.MATERIALS, grade, _mirror(Material))

    @strawberry.field(description="Substances by CAS number; `text` matches CAS, EC number or name.")
    @_core_errors
    def substances(
        self, info: Info, first: First = None, after: After = None, text: str | None = None
    ) -> Connection[Substance]:
        return _paged(
            info,
            first,
            after,
            lambda n, a: core.list_substances(_store(info), text=text, limit=n, after=a),
            _mirror(Substance),
        )

    @strawberry.field(description="Suppliers by supplier id; `country` is ISO 3166-1 alpha-2.")
    @_core_errors
    def suppliers(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        country: str | None = None,
        text: str | None = None,
    ) -> Connection[Supplier]:
        return _paged(
            info,
            first,
            after,
            lambda n, a: core.list_suppliers(_store(info), country=country, text=text, limit=n, after=a),
            _mirror(Supplier),
        )

    @strawberry.field(description="One supplier by supplier id; null when unknown.")
    def supplier(self, info: Info, supplier_id: str) -> Supplier | None:
        return _lookup(info, core.SUPPLIERS, supplier_id, _mirror(Supplier))

    @strawberry.field(description="Supplier declarations by document number.")
    @_core_errors
    def declarations(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        supplier: str | None = None,
        part_number: str | None = None,
        declaration_class: str | None = None,
        text: str | None = None,
    ) -> Connection[SupplierDeclaration]:
        return _paged(
            info,
            first,
            after,
            lambda n, a: core.list_declarations(
                _store(info),
                supplier=supplier,
                part_number=part_number,
                declaration_class=declaration_class,
                text=text,
                limit=n,
                after=a,
            ),
            _mirror(SupplierDeclaration),
        )

    @strawberry.field(description="Test reports by document number; `material` is the grade found.")
    @_core_errors
    def test_reports(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        supplier: str | None = None,
        lot_number: str | None = None,
        material: str | None = None,
    ) -> Connection[TestReport]:
        return _paged(
            info,
            first,
            after,
            lambda n, a: core.list_test_reports(
                _store(info), supplier=supplier, lot_number=lot_number, material=material, limit=n, after=a
            ),
            _mirror(TestReport),
        )

    @strawberry.field(description="Production runs by run id.")
    @_core_errors
    def runs(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        equipment: Annotated[str | None, strawberry.argument(description="Equipment id")] = None,
        step: Annotated[str | None, strawberry.argument(description="Process step code")] = None,
        started_from: dt.date | None = None,
        started_before: dt.date | None = None,
    ) -> Connection[ProductionRun]:
        begin = _date_filter(started_from, "startedFrom")
        end = _date_filter(started_before, "startedBefore")
        return _paged(
            info,
            first,
            after,
            lambda n, a: core.list_runs(
                _store(info), equipment=equipment, step=step, started_from=begin, started_before=end, limit=n, after=a
            ),
            _mirror(ProductionRun),
        )

    @strawberry.field(description="One production run by run id; null when unknown.")
    def run(self, info: Info, run_id: str) -> ProductionRun | None:
        return _lookup(info, core.RUNS, run_id, _mirror(ProductionRun))

    @strawberry.field(description="Equipment by equipment id, optionally by calibration status on a day.")
    @_core_errors
    def equipment(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        calibration: CalibrationStatus | None = None,
        on: Annotated[dt.date | None, strawberry.argument(description="Day the calibration status is for")] = None,
        text: str | None = None,
    ) -> Connection[Equipment]:
        status: core.CalibrationStatus | None = None if calibration is None else calibration.value
        return _paged(
            info,
            first,
            after,
            lambda n, a: core.list_equipment(_store(info), calibration=status, on=on, text=text, limit=n, after=a),
            _mirror(Equipment),
        )

    @strawberry.field(description="One piece of equipment by equipment id; null when unknown.")
    def equipment_by_id(self, info: Info, equipment_id: str) -> Equipment | None:
        return _lookup(info, core.EQUIPMENT, equipment_id, _mirror(Equipment))

    @strawberry.field(description="Calibration certificates by certificate number.")
    @_core_errors
    def calibrations(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        equipment: Annotated[str | None, strawberry.argument(description="Equipment id")] = None,
    ) -> Connection[CalibrationCertificate]:
        return _paged(
            info,
            first,
            after,
            lambda n, a: core.list_calibrations(_store(info), equipment=equipment, limit=n, after=a),
            _mirror(CalibrationCertificate),
        )

    @strawberry.field(description="Lots by lot number.")
    @_core_errors
    def lots(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        part_number: str | None = None,
        supplier: Annotated[str | None, strawberry.argument(description="Supplier id")] = None,
    ) -> Connection[Lot]:
        return _paged(
            info,
            first,
            after,
            lambda n, a: core.list_lots(_store(info), part_number=part_number, supplier=supplier, limit=n, after=a),
            _mirror(Lot),
        )

    @strawberry.field(description="One lot by lot number; null when unknown.")
    def lot(self, info: Info, lot_number: str) -> Lot | None:
        return _lookup(info, core.LOTS, lot_number, _mirror(Lot))

    @strawberry.field(description="Serial units by serial number or VIN.")
    @_core_errors
    def units(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        product: Annotated[str | None, strawberry.argument(description="Model number")] = None,
        serial_prefix: str | None = None,
    ) -> Connection[SerialUnit]:
        return _paged(
            info,
            first,
            after,
            lambda n, a: core.list_units(_store(info), product=product, serial_prefix=serial_prefix, limit=n, after=a),
            _mirror(SerialUnit),
        )

    @strawberry.field(description="One serial unit by serial number or VIN; null when unknown.")
    def unit(self, info: Info, serial: str) -> SerialUnit | None:
        return _lookup(info, core.UNITS, serial, _mirror(SerialUnit))

    @strawberry.field(description="Product models by model number, a page at a time, with their BOMs.")
    @_core_errors
    def products_page(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        category: Annotated[str | None, strawberry.argument(description="Product category code")] = None,
    ) -> Connection[Product]:
        return _paged(
            info,
            first,
            after,
            lambda n, a: core.list_product_page(_store(info), category=category, limit=n, after=a),
            convert,
        )

    @strawberry.field(description="Complaints by complaint id, a page at a time.")
    @_core_errors
    def complaints_page(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        market: Annotated[str | None, strawberry.argument(description="Market code, e.g. EU")] = None,
        failure_mode: Annotated[str | None, strawberry.argument(description="Failure mode code")] = None,
    ) -> Connection[Complaint]:
        return _paged(
            info,
            first,
            after,
            lambda n, a: core.list_complaint_page(
                _store(info), market=market, failure_mode=failure_mode, limit=n, after=a
            ),
            convert,
        )


__all__ = ["EntityQuery"]
