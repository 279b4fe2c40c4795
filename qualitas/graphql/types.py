"""GraphQL object types: thin mirrors of the frozen dataclasses in ``reasoning``.

``convert`` turns a reasoning dataclass into its GraphQL type by name, so a new
field in the core shows up here by adding one line, and nothing else translates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info

from qualitas.reasoning import i18n
from qualitas.reasoning import trace as trace_queries


@strawberry.type(description="A text with its language tag (BCP 47).")
class LocalizedText:
    lang: str
    text: str


@strawberry.type
class BOMLineInfo:
    position: int
    part_number: str
    part_name: str | None
    quantity: Decimal
    unit: str | None = strawberry.field(description="QUDT unit local name; null means pieces")
    material: str | None = strawberry.field(description="As-designed material grade")
    designators: list[str]
    level: int = strawberry.field(description="1 for the product's own BOM, 2 for a sub-assembly's ...")
    parent: str = strawberry.field(description="Part or model number whose BOM holds this line")


@strawberry.type
class Product:
    id: str
    model_number: str
    name: str | None
    categories: list[str]
    features: list[str]
    bom_revision: str | None
    bom: list[BOMLineInfo]


@strawberry.type
class Complaint:
    id: str
    complaint_id: str
    received_on: dt.date | None
    channel: str | None
    market: str | None
    serial: str
    product: str | None
    failure_mode: str | None
    texts: list[LocalizedText]


@strawberry.type
class ComplaintInfo:
    id: str
    complaint_id: str
    received_on: dt.date | None
    channel: str | None
    market: str | None
    failure_mode: str | None
    texts: list[LocalizedText]
    unit_serial: str


@strawberry.type
class SupplierRef:
    id: str
    supplier_id: str
    name: str | None
    country: str | None


@strawberry.type
class EvidenceDocument:
    id: str
    kind: str
    number: str
    issuer: str | None
    issued: dt.date | None
    material: str | None


@strawberry.type(description="As-designed (BOM) versus as-built (test report) material of a lot.")
class MaterialCheck:
    test_report: str
    reported: str
    designed: list[str]
    matches: bool


@strawberry.type
class LotTrace:
    id: str
    lot_number: str
    part_number: str | None
    part_name: str | None
    supplier: SupplierRef | None
    declarations: list[EvidenceDocument]
    test_reports: list[EvidenceDocument]
    designed_materials: list[str]
    material_checks: list[MaterialCheck]


@strawberry.type
class UnitTrace:
    id: str
    serial: str
    product: str | None
    part_number: str | None


@strawberry.type
class CalibrationCheck:
    id: str
    number: str
    issuer: str | None
    valid_from: dt.date
    valid_until: dt.date
    valid_at_run: bool


@strawberry.type
class EquipmentTrace:
    id: str
    equipment_id: str
    name: str | None
    calibrations: list[CalibrationCheck]
    calibrated_at_run: bool


@strawberry.type
class ParameterCheck:
    parameter: str
    name: str | None
    actual: Decimal
    unit: str | None
    nominal: Decimal | None = strawberry.field(description="From the parameter set in force at run time")
    tolerance: Decimal | None
    within_tolerance: bool | None

    @strawberry.field(description="The unit's symbol for display (°C, MPa, s); `unit` is the QUDT code")
    def unit_symbol(self) -> str | None:
        return i18n.unit_symbol(self.unit) if self.unit else None


@strawberry.type
class RunTrace:
    id: str
    run_id: str
    step: str | None
    step_name: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    equipment: EquipmentTrace | None
    parameter_set_used: str | None
    parameter_set_in_force: str | None
    parameters: list[ParameterCheck]
    consumed: list[str]
    produced: list[str]


@strawberry.type
class TraceNode:
    id: str
    kind: str
    label: str


@strawberry.type
class TraceEdge:
    source: str
    target: str
    relation: str


@strawberry.type
class Finding:
    kind: str
    severity: str
    subject: str
    message_en: str
    message_zh: str
    expected: str
    actual: str
    evidence: list[str]


@strawberry.type(description="Everything upstream of one complaint, with the findings on the way.")
class Trace:
    complaint: ComplaintInfo
    unit: UnitTrace
    units: list[UnitTrace]
    lots: list[LotTrace]
    runs: list[RunTrace]
    nodes: list[TraceNode]
    edges: list[TraceEdge]
    findings: list[Finding]


@strawberry.type
class ComplaintRef:
    complaint_id: str
    received_on: dt.date | None
    text: str | None


@strawberry.type
class AffectedUnit:
    id: str
    serial: str
    product: str | None
    complaints: list[ComplaintRef]


@strawberry.type
class AffectedLot:
    id: str
    lot_number: str
    part_number: str | None

    @strawberry.field(
        description="The runs that made the lot, with the reverse trace's checks: the equipment's "
        "calibration at run time and the parameters against the set in force."
    )
    def produced_by(self, info: Info) -> list[RunTrace]:
        return convert(trace_queries.producing_runs(info.context["store"], self.id))  # type: ignore[no-any-return]

    @strawberry.field(
        description="Failed checks on the lot and on the runs that made it (expired calibration, "
        "material mismatch, parameters out of tolerance, parameter set not in force)."
    )
    def findings(self, info: Info) -> list[Finding]:
        store = info.context["store"]
        runs = trace_queries.producing_runs(store, self.id)
        return convert(trace_queries.lot_findings(store, self.id, runs))  # type: ignore[no-any-return]


@strawberry.type(description="Every lot and unit made from one lot, directly or through sub-assemblies.")
class RecallScope:
    lot: AffectedLot
    lots: list[AffectedLot]
    units: list[AffectedUnit]


_BY_NAME: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        LocalizedText,
        BOMLineInfo,
        Product,
        ComplaintInfo,
        SupplierRef,
        EvidenceDocument,
        MaterialCheck,
        LotTrace,
        UnitTrace,
        CalibrationCheck,
        EquipmentTrace,
        ParameterCheck,
        RunTrace,
        TraceNode,
        TraceEdge,
        Finding,
        Trace,
        ComplaintRef,
        AffectedUnit,
        AffectedLot,
        RecallScope,
    )
}
_BY_NAME["ProductInfo"] = Product
_BY_NAME["ComplaintSummary"] = Complaint


def convert(value: Any) -> Any:
    """A reasoning dataclass (or a tuple of them) as its GraphQL type."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        target = _BY_NAME[type(value).__name__]
        return target(**{f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, tuple | list):
        return [convert(v) for v in value]
    return value
