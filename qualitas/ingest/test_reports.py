"""Supplier test reports (certificates of analysis) and calibration certificates.

**Test reports** (format ``test-report``; CSV, XLSX, or JSON ``{"test_reports": [...]}``):
one row per measured value, ``report_number``, ``issuer`` (the laboratory),
``issued``, ``lot``, ``material`` (the grade the lab found), optionally ``part``,
``supplier``, ``characteristic``, ``value``, ``unit``, ``verdict``. Rows of one
report must agree on lot, issuer, date and material. In JSON a report carries its
measurements in ``results``. The report is a ``q:TestReport`` ``q:reportFor`` the lot
with ``q:reportedMaterial``; each value is a ``q:InspectionResult`` of the lot, so
``trace`` compares the material found with the BOM's as-designed material.

**Calibration certificates** (format ``calibration``; CSV, XLSX, or JSON
``{"calibrations": [...]}``): ``certificate``, ``equipment``, ``issuer``,
``valid_from``, ``valid_until``, ``result`` (default ``pass``).

Use::

    from qualitas.ingest import test_reports
    test_reports.execute(store, Path("coa-npp-2409.csv"), agent="iqc")
    test_reports.execute_calibrations(store, Path("calibration-2024.csv"), agent="metrology")
"""

from __future__ import annotations

from collections.abc import Iterator

from rdflib import RDF, XSD, Literal

from qualitas.ingest._core import Record, Source, TableLoader, Triple
from qualitas.ingest._gs1 import lot_iri
from qualitas.ingest._tabular import ColumnMap, json_document, json_records, merge_mapping, table_records
from qualitas.ingest.mes import _Parts
from qualitas.ontology import UNIT, Q, mint
from qualitas.ontology.builder import Builder

FORMAT = "test-report"
CALIBRATION_FORMAT = "calibration"

REPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "report_number": ("report", "report no", "report id", "coa", "coa number", "document number", "报告编号"),
    "issuer": ("laboratory", "lab", "test lab", "testing laboratory", "检测机构", "实验室"),
    "issued": ("date", "report date", "issue date", "issued on", "报告日期", "签发日期"),
    "lot": ("lot number", "lot no", "batch", "batch number", "批号", "批次"),
    "part": ("part number", "零件号", "物料编码"),
    "material": ("material grade", "grade", "material found", "材料", "材质", "材料牌号"),
    "supplier": ("supplier id", "vendor", "供应商"),
    "characteristic": ("property", "test item", "test", "检测项目", "项目"),
    "value": ("result", "measured value", "measured", "实测值", "结果"),
    "unit": ("uom", "单位"),
    "verdict": ("judgement", "pass fail", "status", "判定"),
}
REPORT_REQUIRED = ("report_number", "issuer", "issued", "lot", "material")

CALIBRATION_COLUMNS: dict[str, tuple[str, ...]] = {
    "certificate": ("certificate number", "certificate no", "cert no", "number", "证书编号"),
    "equipment": ("equipment id", "instrument", "gauge", "asset", "asset id", "设备", "设备编号", "仪器编号"),
    "equipment_name": ("equipment name", "instrument name", "设备名称"),
    "issuer": ("calibrated by", "calibration lab", "laboratory", "lab", "校准机构"),
    "valid_from": ("calibration date", "calibrated on", "date", "校准日期"),
    "valid_until": ("due date", "next calibration", "expiry", "valid to", "有效期至", "下次校准日期"),
    "result": ("verdict", "status", "calibration result", "校准结果"),
}
CALIBRATION_REQUIRED = ("certificate", "equipment", "issuer", "valid_from", "valid_until")


def _report_records(src: Source, columns: ColumnMap) -> Iterator[Record]:
    if src.path.suffix.lower() != ".json":
        yield from table_records(src, columns, required=REPORT_REQUIRED, encoding=src.options.get("encoding"))  # type: ignore[arg-type]
        return
    for report in json_records(src, json_document(src), "test_reports", required=REPORT_REQUIRED, aliases=columns):
        results = report.values.get("results") or []
        if not isinstance(results, list):
            raise report.error("expected an array of measured values", "results")
        header = {k: v for k, v in report.values.items() if k != "results"}
        if not results:
            yield Record(src, report.where, header)
        for i, result in enumerate(results):
            if not isinstance(result, dict):
                raise report.error(f"results[{i}] must be an object", "results")
            yield Record(src, f"{report.where}.results[{i}]", header | result)


def report_triples(src: Source) -> Iterator[Triple]:
    """The triples of a test-report export, row by row."""
    columns = merge_mapping(REPORT_COLUMNS, src.options.get("columns"))  # type: ignore[arg-type]
    buf: list[Triple] = []
    b = Builder(buf.append)
    parts = _Parts(src.store)
    reports: dict[str, tuple[object, ...]] = {}
    src.rescan_keys(
        lambda: (
            ("measurement", f"{r.text('report_number')} / {r.text('characteristic')}", r.where)
            for r in _report_records(src, columns)
            if r.raw("characteristic") is not None
        )
    )
    for rec in _report_records(src, columns):
        number, lot = rec.need("report_number"), rec.need("lot")
        issuer, material = rec.need("issuer"), rec.need("material")
        issued = rec.date("issued")
        assert issued is not None
        supplier = rec.text("supplier", required=False)
        part = rec.text("part", required=False)
        header = (lot, issuer, issued, material, supplier, part)
        with rec.identifiers("lot", lot):
            lot_node = lot_iri(lot)
        if number not in reports:
            reports[number] = (*header, rec.where)
            if part:
                part_node = parts.iri(part)
                buf.extend(
                    [
                        (lot_node, RDF.type, Q.Lot),
                        (lot_node, Q.lotNumber, Literal(lot)),
                        (lot_node, Q.ofPart, part_node),
                        (part_node, RDF.type, Q.Part),
                        (part_node, Q.partNumber, Literal(part)),
                    ]
                )
                if supplier:
                    buf.append((lot_node, Q.suppliedBy, mint("supplier", supplier)))
            grade = mint("material", material)
            buf.extend([(grade, RDF.type, Q.Material), (grade, Q.grade, Literal(material))])
            report = b.test_report(number, lot=lot, issuer=issuer, issued=issued, material=material, supplier=supplier)
            if lot_node != mint("lot", lot):  # a GS1 lot: point at its canonical node
                buf.remove((report, Q.reportFor, mint("lot", lot)))
                buf.append((report, Q.reportFor, lot_node))
        else:
            known = reports[number]
            for i, name in enumerate(("lot", "issuer", "issued", "material", "supplier", "part")):
                if header[i] is not None and known[i] is not None and header[i] != known[i]:
                    raise rec.error(f"report {number} says {known[i]!s} in {known[-1]}, here {header[i]!s}", name)
        characteristic = rec.text("characteristic", required=False)
        if characteristic is not None:
            src.unique("measurement", f"{number} / {characteristic}", where=rec.where, field="characteristic")
            value = rec.decimal("value")
            unit = rec.unit("unit", required=False)
            result = mint("inspection", number, characteristic)
            buf.extend(
                [
                    (mint("testreport", number), Q.hasResult, result),
                    (result, RDF.type, Q.InspectionResult),
                    (result, Q.inspects, lot_node),
                    (result, Q.characteristic, Literal(characteristic)),
                    (result, Q.value, Literal(value, datatype=XSD.decimal)),
                ]
            )
            if unit:
                buf.append((result, Q.unit, UNIT[unit]))
            if verdict := rec.text("verdict", required=False):
                buf.append((result, Q.verdict, Literal(verdict)))
        yield from buf
        buf.clear()


def _calibration_records(src: Source, columns: ColumnMap) -> Iterator[Record]:
    if src.path.suffix.lower() == ".json":
        return json_records(src, json_document(src), "calibrations", required=CALIBRATION_REQUIRED, aliases=columns)
    return table_records(src, columns, required=CALIBRATION_REQUIRED, encoding=src.options.get("encoding"))  # type: ignore[arg-type]


def calibration_triples(src: Source) -> Iterator[Triple]:
    """The triples of a calibration-certificate export, row by row."""
    columns = merge_mapping(CALIBRATION_COLUMNS, src.options.get("columns"))  # type: ignore[arg-type]
    buf: list[Triple] = []
    b = Builder(buf.append)
    src.rescan_keys(
        lambda: (("certificate", r.text("certificate") or "", r.where) for r in _calibration_records(src, columns))
    )
    for rec in _calibration_records(src, columns):
        number, equipment = rec.need("certificate"), rec.need("equipment")
        src.unique("certificate", number, where=rec.where, field="certificate")
        valid_from, valid_until = rec.date("valid_from"), rec.date("valid_until")
        assert valid_from is not None and valid_until is not None
        if valid_until < valid_from:
            raise rec.error(f"valid_until {valid_until} is before valid_from {valid_from}", "valid_until")
        eq = mint("equipment", equipment)
        buf.extend([(eq, RDF.type, Q.Equipment), (eq, Q.equipmentId, Literal(equipment))])
        if name := rec.text("equipment_name", required=False):
            buf.append((eq, Q.name, Literal(name)))
        b.calibration(
            number,
            equipment,
            issuer=rec.need("issuer"),
            valid_from=valid_from,
            valid_until=valid_until,
            result=rec.text("result", required=False) or "pass",
        )
        yield from buf
        buf.clear()


_REPORTS = TableLoader(FORMAT, report_triples)
simulate = _REPORTS.simulate
execute = _REPORTS.execute


_CALIBRATIONS = TableLoader(CALIBRATION_FORMAT, calibration_triples)
simulate_calibrations = _CALIBRATIONS.simulate
execute_calibrations = _CALIBRATIONS.execute
