"""Write business objects as triples with IRIs minted from their business keys.

One builder feeds either an rdflib graph (the small scenario) or an N-Triples
file (the scaled benchmark set), so both data sets have the same shape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TextIO

from rdflib import RDF, XSD, Literal, URIRef
from rdflib.term import Node

from qualitas.ontology import UNIT, Q, mint

Triple = tuple[Node, Node, Node]
Sink = Callable[[Triple], None]


def nt_sink(out: TextIO) -> Sink:
    """A sink writing N-Triples lines to ``out``."""

    def write(triple: Triple) -> None:
        s, p, o = triple
        out.write(f"{s.n3()} {p.n3()} {o.n3()} .\n")

    return write


def _dec(value: float | str | Decimal) -> Literal:
    return Literal(Decimal(str(value)), datatype=XSD.decimal)


def _when(value: dt.datetime) -> Literal:
    return Literal(value.isoformat(), datatype=XSD.dateTime)


def _day(value: dt.date) -> Literal:
    return Literal(value.isoformat(), datatype=XSD.date)


@dataclass(frozen=True)
class Line:
    position: int
    part: str
    quantity: float | str
    unit: str | None = None  # QUDT unit local name; None = pieces
    material: str | None = None  # material grade
    designators: Sequence[str] = ()


@dataclass(frozen=True)
class Spec:
    parameter: str
    nominal: float | str
    tolerance: float | str
    unit: str  # QUDT unit local name, e.g. DEG_C


@dataclass
class Builder:
    sink: Sink
    _seen: set[URIRef] = field(default_factory=set)
    _product_parts: set[str] = field(default_factory=set)

    def _add(self, s: Node, p: Node, o: Node) -> None:
        self.sink((s, p, o))

    def _once(self, iri: URIRef) -> bool:
        if iri in self._seen:
            return False
        self._seen.add(iri)
        return True

    # -------------------------------------------------------------- master data

    def market(self, code: str, name: str) -> URIRef:
        iri = mint("market", code)
        if self._once(iri):
            self._add(iri, RDF.type, Q.Market)
            self._add(iri, Q.code, Literal(code))
            self._add(iri, Q.name, Literal(name))
        return iri

    def category(self, code: str) -> URIRef:
        iri = mint("category", code)
        if self._once(iri):
            self._add(iri, RDF.type, Q.ProductCategory)
            self._add(iri, Q.code, Literal(code))
        return iri

    def feature(self, code: str) -> URIRef:
        iri = mint("category", "feature", code)
        if self._once(iri):
            self._add(iri, RDF.type, Q.ProductFeature)
            self._add(iri, Q.code, Literal(code))
        return iri

    def product(
        self,
        model: str,
        name: str,
        *,
        categories: Iterable[str] = (),
        features: Iterable[str] = (),
        is_part: bool = False,
    ) -> URIRef:
        iri = mint("product", model)
        self._add(iri, RDF.type, Q.Product)
        self._add(iri, Q.modelNumber, Literal(model))
        self._add(iri, Q.name, Literal(name))
        for code in categories:
            self._add(iri, Q.hasCategory, self.category(code))
        for code in features:
            self._add(iri, Q.hasFeature, self.feature(code))
        if is_part:
            self._product_parts.add(model)
            self._add(iri, RDF.type, Q.Part)
            self._add(iri, Q.partNumber, Literal(model))
        return iri

    def part(self, number: str, name: str, *, supplier: str | None = None) -> URIRef:
        iri = self.part_iri(number)
        self._add(iri, RDF.type, Q.Part)
        self._add(iri, Q.partNumber, Literal(number))
        self._add(iri, Q.name, Literal(name))
        if supplier:
            self._add(iri, Q.suppliedBy, mint("supplier", supplier))
        return iri

    def part_iri(self, number: str) -> URIRef:
        """Parts that are also products (sold on their own) share the product's IRI."""
        if number in self._product_parts:
            return mint("product", number)
        return mint("part", number)

    def material(self, grade: str, composition: str, *, substances: Iterable[str] = ()) -> URIRef:
        iri = mint("material", grade)
        if self._once(iri):
            self._add(iri, RDF.type, Q.Material)
            self._add(iri, Q.grade, Literal(grade))
            self._add(iri, Q.composition, Literal(composition))
            for cas in substances:
                self._add(iri, Q.containsSubstance, mint("substance", cas))
        return iri

    def substance(self, cas: str, name: str, *, ec: str | None = None) -> URIRef:
        iri = mint("substance", cas)
        if self._once(iri):
            self._add(iri, RDF.type, Q.Substance)
            self._add(iri, Q.casNumber, Literal(cas))
            self._add(iri, Q.name, Literal(name))
            if ec:
                self._add(iri, Q.ecNumber, Literal(ec))
        return iri

    def supplier(self, sid: str, name: str, country: str) -> URIRef:
        iri = mint("supplier", sid)
        self._add(iri, RDF.type, Q.Supplier)
        self._add(iri, Q.supplierId, Literal(sid))
        self._add(iri, Q.name, Literal(name))
        self._add(iri, Q.country, Literal(country))
        return iri

    def bom(self, owner: URIRef, key: str, revision: str, lines: Iterable[Line]) -> URIRef:
        bom = mint("bom", key, revision)
        self._add(bom, RDF.type, Q.BillOfMaterials)
        self._add(bom, Q.revision, Literal(revision))
        self._add(owner, Q.hasBOM, bom)
        for line in lines:
            self.bom_line(key, revision, line)
        return bom

    def bom_line(self, key: str, revision: str, line: Line) -> URIRef:
        """One line of the BOM ``bom(owner, key, revision, ...)`` made (streamed ingest
        writes the header once, then its lines one by one)."""
        bom = mint("bom", key, revision)
        iri = mint("bomline", key, revision, str(line.position))
        self._add(bom, Q.hasLine, iri)
        self._add(iri, RDF.type, Q.BOMLine)
        self._add(iri, Q.position, Literal(line.position))
        self._add(iri, Q.quantity, _dec(line.quantity))
        if line.unit:
            self._add(iri, Q.unit, UNIT[line.unit])
        self._add(iri, Q.component, self.part_iri(line.part))
        if line.material:
            self._add(iri, Q.designedMaterial, mint("material", line.material))
        for designator in line.designators:
            self._add(iri, Q.designator, Literal(designator))
        return iri

    # -------------------------------------------------------------- process

    def parameter(self, code: str, name: str) -> URIRef:
        iri = mint("parameter", code)
        if self._once(iri):
            self._add(iri, RDF.type, Q.ProcessParameter)
            self._add(iri, Q.code, Literal(code))
            self._add(iri, Q.name, Literal(name))
        return iri

    def step(self, code: str, name: str, *, routing_for: URIRef | None = None) -> URIRef:
        iri = mint("step", code)
        self._add(iri, RDF.type, Q.ProcessStep)
        self._add(iri, Q.code, Literal(code))
        self._add(iri, Q.name, Literal(name))
        if routing_for is not None:
            routing = mint("routing", str(routing_for).rsplit("/", 1)[-1])
            self._add(routing, RDF.type, Q.Routing)
            self._add(routing, Q.routingFor, routing_for)
            self._add(routing, Q.hasStep, iri)
        return iri

    def parameter_set(
        self,
        step: str,
        version: str,
        *,
        effective_from: dt.datetime,
        effective_until: dt.datetime | None,
        specs: Iterable[Spec],
    ) -> URIRef:
        iri = mint("paramset", step, version)
        self._add(iri, RDF.type, Q.ParameterSet)
        self._add(iri, Q.version, Literal(version))
        self._add(iri, Q.forStep, mint("step", step))
        self._add(iri, Q.effectiveFrom, _when(effective_from))
        if effective_until is not None:
            self._add(iri, Q.effectiveUntil, _when(effective_until))
        for spec in specs:
            sp = mint("paramspec", step, version, spec.parameter)
            self._add(iri, Q.hasSpecification, sp)
            self._add(sp, RDF.type, Q.ParameterSpecification)
            self._add(sp, Q.parameter, mint("parameter", spec.parameter))
            self._add(sp, Q.nominal, _dec(spec.nominal))
            self._add(sp, Q.tolerance, _dec(spec.tolerance))
            self._add(sp, Q.unit, UNIT[spec.unit])
        return iri

    def equipment(self, eid: str, name: str) -> URIRef:
        iri = mint("equipment", eid)
        self._add(iri, RDF.type, Q.Equipment)
        self._add(iri, Q.equipmentId, Literal(eid))
        self._add(iri, Q.name, Literal(name))
        return iri

    def calibration(
        self,
        number: str,
        equipment: str,
        *,
        issuer: str,
        valid_from: dt.date,
        valid_until: dt.date,
        result: str = "pass",
    ) -> URIRef:
        iri = mint("calibration", number)
        eq = mint("equipment", equipment)
        self._add(iri, RDF.type, Q.CalibrationCertificate)
        self._add(iri, Q.documentNumber, Literal(number))
        self._add(iri, Q.certificateFor, eq)
        self._add(eq, Q.hasCalibration, iri)
        self._add(iri, Q.issuer, Literal(issuer))
        self._add(iri, Q.validFrom, _day(valid_from))
        self._add(iri, Q.validUntil, _day(valid_until))
        self._add(iri, Q.calibrationResult, Literal(result))
        return iri

    # -------------------------------------------------------------- instances

    def lot(self, number: str, part: str, *, supplier: str | None = None, quantity: float | None = None) -> URIRef:
        iri = mint("lot", number)
        self._add(iri, RDF.type, Q.Lot)
        self._add(iri, Q.lotNumber, Literal(number))
        self._add(iri, Q.ofPart, self.part_iri(part))
        if supplier:
            self._add(iri, Q.suppliedBy, mint("supplier", supplier))
        if quantity is not None:
            self._add(iri, Q.quantity, _dec(quantity))
        return iri

    def unit(self, serial: str, *, product: str | None = None, part: str | None = None, vin: bool = False) -> URIRef:
        iri = mint("unit", serial)
        self._add(iri, RDF.type, Q.SerialUnit)
        self._add(iri, Q.vin if vin else Q.serialNumber, Literal(serial))
        if vin:
            self._add(iri, Q.serialNumber, Literal(serial))
        if product:
            self._add(iri, Q.ofProduct, mint("product", product))
        if part:
            self._add(iri, Q.ofPart, self.part_iri(part))
        return iri

    def run(
        self,
        run_id: str,
        *,
        step: str,
        equipment: str,
        start: dt.datetime,
        end: dt.datetime,
        consumed: Iterable[URIRef],
        produced: Iterable[URIRef],
        parameter_set: tuple[str, str] | None = None,
        actuals: Iterable[tuple[str, float | str, str]] = (),
    ) -> URIRef:
        iri = mint("run", run_id)
        self._add(iri, RDF.type, Q.ProductionRun)
        self._add(iri, Q.runId, Literal(run_id))
        self._add(iri, Q.step, mint("step", step))
        self._add(iri, Q.equipment, mint("equipment", equipment))
        self._add(iri, Q.startedAt, _when(start))
        self._add(iri, Q.endedAt, _when(end))
        for item in consumed:
            self._add(iri, Q.consumed, item)
        for item in produced:
            self._add(iri, Q.produced, item)
        if parameter_set is not None:
            self._add(iri, Q.usedParameterSet, mint("paramset", *parameter_set))
        for parameter, value, unit in actuals:
            obs = mint("observation", run_id, parameter)
            self._add(iri, Q.hasObservation, obs)
            self._add(obs, RDF.type, Q.ParameterObservation)
            self._add(obs, Q.parameter, mint("parameter", parameter))
            self._add(obs, Q.value, _dec(value))
            self._add(obs, Q.unit, UNIT[unit])
        return iri

    def test_report(
        self,
        number: str,
        *,
        lot: str,
        issuer: str,
        issued: dt.date,
        material: str,
        supplier: str | None = None,
    ) -> URIRef:
        iri = mint("testreport", number)
        self._add(iri, RDF.type, Q.TestReport)
        self._add(iri, Q.documentNumber, Literal(number))
        self._add(iri, Q.reportFor, mint("lot", lot))
        self._add(iri, Q.issuer, Literal(issuer))
        self._add(iri, URIRef("http://purl.org/dc/terms/issued"), _day(issued))
        self._add(iri, Q.reportedMaterial, mint("material", material))
        if supplier:
            self._add(iri, Q.suppliedBy, mint("supplier", supplier))
        return iri

    def declaration(
        self, number: str, *, supplier: str, part: str, issued: dt.date, material: str | None = None
    ) -> URIRef:
        iri = mint("declaration", number)
        self._add(iri, RDF.type, Q.SupplierDeclaration)
        self._add(iri, Q.documentNumber, Literal(number))
        self._add(iri, Q.declaredBy, mint("supplier", supplier))
        self._add(iri, Q.declarationFor, self.part_iri(part))
        self._add(iri, URIRef("http://purl.org/dc/terms/issued"), _day(issued))
        if material:
            self._add(iri, Q.reportedMaterial, mint("material", material))
        return iri

    def inspection(
        self, iid: str, *, subject: URIRef, characteristic: str, value: float, unit: str, verdict: str
    ) -> URIRef:
        iri = mint("inspection", iid)
        self._add(iri, RDF.type, Q.InspectionResult)
        self._add(iri, Q.inspects, subject)
        self._add(iri, Q.characteristic, Literal(characteristic))
        self._add(iri, Q.value, _dec(value))
        self._add(iri, Q.unit, UNIT[unit])
        self._add(iri, Q.verdict, Literal(verdict))
        return iri

    def failure_mode(self, code: str, name: str, name_zh: str) -> URIRef:
        iri = mint("failuremode", code)
        if self._once(iri):
            self._add(iri, RDF.type, Q.FailureMode)
            self._add(iri, Q.code, Literal(code))
            self._add(iri, Q.name, Literal(name))
            self._add(iri, Q.text, Literal(name_zh, lang="zh"))
        return iri

    def complaint(
        self,
        cid: str,
        *,
        serial: str,
        received: dt.date,
        channel: str,
        market: str,
        texts: dict[str, str],
        failure_mode: str | None = None,
    ) -> URIRef:
        iri = mint("complaint", cid)
        self._add(iri, RDF.type, Q.Complaint)
        self._add(iri, Q.complaintId, Literal(cid))
        self._add(iri, Q.concernsUnit, mint("unit", serial))
        self._add(iri, Q.receivedOn, _day(received))
        self._add(iri, Q.channel, Literal(channel))
        self._add(iri, Q.market, mint("market", market))
        for lang, text in texts.items():
            self._add(iri, Q.text, Literal(text, lang=lang))
        if failure_mode:
            self._add(iri, Q.failureMode, mint("failuremode", failure_mode))
        return iri

    def capa(self, cid: str, *, complaint: str, title: str, opened: dt.date) -> URIRef:
        iri = mint("capa", cid)
        self._add(iri, RDF.type, Q.CAPA)
        self._add(iri, Q.code, Literal(cid))
        self._add(iri, Q.name, Literal(title))
        self._add(iri, Q.addresses, mint("complaint", complaint))
        self._add(iri, URIRef("http://purl.org/dc/terms/created"), _day(opened))
        return iri
