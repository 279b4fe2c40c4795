"""Reverse and forward trace over the demo data, as an engineer would read them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from qualitas.demo import CELL_LOT, CLIP_LOT, COMPLAINT_A, COMPLAINT_B, COMPLAINT_C, VIN_A, VIN_B
from qualitas.demo.scale import generate
from qualitas.errors import NotFoundError
from qualitas.reasoning.trace import recall_scope, reverse_trace
from qualitas.store import GraphStore, open_store


def test_complaint_b_reaches_the_formation_cabinet_with_expired_calibration(demo_store: GraphStore) -> None:
    trace = reverse_trace(demo_store, COMPLAINT_B)
    assert trace.unit.serial == VIN_B
    assert {u.serial for u in trace.units} == {VIN_B, "BP75-24-001337"}
    assert CELL_LOT in {lot.lot_number for lot in trace.lots}
    [formation] = [r for r in trace.runs if r.run_id == "FM-240802-12"]
    assert formation.equipment is not None
    assert formation.equipment.equipment_id == "FC-12"
    assert formation.equipment.calibrated_at_run is False
    [cert] = formation.equipment.calibrations
    assert (cert.number, cert.valid_until, cert.valid_at_run) == ("CAL-FC12-2023", dt.date(2024, 6, 30), False)
    temps = {p.parameter: p for p in formation.parameters}
    assert temps["FORM-TEMP"].actual == Decimal("45.3")
    assert temps["FORM-TEMP"].within_tolerance is True
    [finding] = trace.findings
    assert finding.kind == "calibration_invalid"
    assert "2024-06-30" in finding.message_en and "FC-12" in finding.message_zh
    assert cert.id in finding.evidence


def test_complaint_a_shows_material_and_parameter_set_mismatch(demo_store: GraphStore) -> None:
    trace = reverse_trace(demo_store, COMPLAINT_A)
    assert trace.unit.serial == VIN_A
    [clip] = [lot for lot in trace.lots if lot.lot_number == CLIP_LOT]
    assert clip.supplier is not None and clip.supplier.supplier_id == "SUP-NPP"
    assert clip.designed_materials == ("PBT+GF30",)
    [check] = clip.material_checks
    assert (check.reported, check.matches) == ("PBT+GF25", False)
    assert [d.number for d in clip.declarations] == ["NPP-IPC1752-7731"]
    [moulding] = [r for r in trace.runs if r.run_id == "IM-240917-07"]
    assert (moulding.parameter_set_used, moulding.parameter_set_in_force) == ("v1", "v2")
    melt = {p.parameter: p for p in moulding.parameters}["MELT-TEMP"]
    assert (melt.nominal, melt.tolerance, melt.within_tolerance) == (Decimal("275"), Decimal("5"), False)
    kinds = {f.kind for f in trace.findings}
    assert {"material_mismatch", "parameter_set_outdated", "parameter_out_of_tolerance"} <= kinds
    assert "calibration_invalid" not in kinds  # the June formation was inside the calibration
    mismatch = next(f for f in trace.findings if f.kind == "material_mismatch")
    assert (mismatch.expected, mismatch.actual) == ("PBT+GF30", "PBT+GF25")
    assert mismatch.evidence == ("https://w3id.org/qualitas/id/testreport/CTI-NB-NPP-24-0913",)


def test_healthy_product_trace_has_no_findings(demo_store: GraphStore) -> None:
    trace = reverse_trace(demo_store, COMPLAINT_C)
    assert trace.findings == ()
    assert len(trace.runs) == 1 and trace.runs[0].equipment is not None
    assert trace.runs[0].equipment.calibrated_at_run is True
    assert all(check.matches for lot in trace.lots for check in lot.material_checks)


def test_trace_graph_connects_complaint_to_certificate(demo_store: GraphStore) -> None:
    trace = reverse_trace(demo_store, COMPLAINT_B)
    kinds = {n.kind for n in trace.nodes}
    assert {
        "Complaint",
        "SerialUnit",
        "Lot",
        "ProductionRun",
        "Equipment",
        "CalibrationCertificate",
        "Supplier",
    } <= kinds
    edges = {(e.source, e.relation, e.target) for e in trace.edges}
    ids = {n.id for n in trace.nodes}
    assert all(s in ids and t in ids for s, _, t in edges)
    # Walk complaint -> ... -> certificate along the edges.
    adjacent: dict[str, set[str]] = {}
    for s, _, t in edges:
        adjacent.setdefault(s, set()).add(t)
        adjacent.setdefault(t, set()).add(s)
    start = trace.complaint.id
    seen, todo = {start}, [start]
    while todo:
        for nxt in adjacent.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert "https://w3id.org/qualitas/id/calibration/CAL-FC12-2023" in seen


def test_unknown_complaint_is_not_found(demo_store: GraphStore) -> None:
    with pytest.raises(NotFoundError, match="CMP-0000"):
        reverse_trace(demo_store, "CMP-0000")


def test_recall_scope_of_the_cell_lot_reaches_the_vehicle_through_the_pack(demo_store: GraphStore) -> None:
    scope = recall_scope(demo_store, CELL_LOT)
    assert scope.lot.part_number == "CELL-LFP-280"
    assert [u.serial for u in scope.units] == ["BP75-24-001337", VIN_B]
    vehicle = scope.units[1]
    assert [c.complaint_id for c in vehicle.complaints] == [COMPLAINT_B]


def test_recall_scope_of_the_clip_lot_goes_through_the_cover_lot(demo_store: GraphStore) -> None:
    scope = recall_scope(demo_store, CLIP_LOT)
    assert [lot.lot_number for lot in scope.lots] == ["CPC-240918"]
    assert [u.serial for u in scope.units] == [VIN_A]
    # Also by IRI.
    assert recall_scope(demo_store, scope.lot.id).units == scope.units


def test_recall_scope_of_unknown_lot_is_not_found(demo_store: GraphStore) -> None:
    with pytest.raises(NotFoundError):
        recall_scope(demo_store, "NO-SUCH-LOT")


def test_trace_on_a_generated_data_set(tmp_path: Path) -> None:
    data = tmp_path / "gen.nt"
    generate(units=1200, out=data, seed=7)
    store = open_store(None)
    store.load_file(data, agent="pytest")
    complaint = store.select("SELECT ?id WHERE { ?c q:complaintId ?id } ORDER BY ?id LIMIT 1")[0]["id"]
    trace = reverse_trace(store, str(complaint))
    # final run + 6 assembly runs; 6 assembly lots + 48 component lots
    assert len(trace.runs) == 7
    assert len(trace.lots) == 6 * 8 + 6
    assert all(r.equipment is not None and r.equipment.calibrations for r in trace.runs)
    first_lot = next(lot for lot in trace.lots if lot.lot_number.startswith("GL-"))
    scope = recall_scope(store, first_lot.lot_number)
    assert trace.unit.serial in {u.serial for u in scope.units}
