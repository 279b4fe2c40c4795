"""Supplier test reports and calibration certificates."""

from __future__ import annotations

from pathlib import Path

from ingest_helpers import FIXTURES, refused

from qualitas.ingest import test_reports
from qualitas.store import GraphStore


def test_reports_lots_materials_and_measured_values(store: GraphStore) -> None:
    test_reports.execute(store, FIXTURES / "test_reports.csv", agent="pytest")
    assert store.ask("""ASK { ?r a q:TestReport ; q:documentNumber 'CTI-25-0107' ; q:issuer ?lab ;
        q:reportFor/q:lotNumber 'NPP-CLIP-01' ; q:reportedMaterial/q:grade 'PBT+GF25' ;
        q:hasResult ?v . ?v q:characteristic 'Glass fibre content' ; q:value 25.2 ;
        q:unit <http://qudt.org/vocab/unit/PERCENT> ; q:verdict 'fail' }""")
    assert store.ask(
        "ASK { ?l q:lotNumber 'NPP-CLIP-01' ; q:ofPart/q:partNumber 'CLP-512' ; "
        "q:suppliedBy/q:supplierId|q:suppliedBy ?s }"
    )


def test_report_rows_must_agree(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "tr.csv"
    path.write_text(
        "report_number,lab,issued,lot,material,characteristic,value,unit\n"
        "R1,Lab,2025-01-01,L1,PBT,A,1,MPa\nR1,Lab,2025-01-01,L1,PA6,B,2,MPa\n"
    )
    refused(
        store,
        lambda: test_reports.execute(store, path, agent="pytest"),
        "tr.csv",
        "row 3",
        "field 'material'",
        "report R1 says PBT in row 2",
    )


def test_report_bad_inputs(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "tr.csv"
    head = "report_number,lab,issued,lot,material,characteristic,value,unit\n"
    path.write_text(head + "R1,Lab,01/02/2025x,L1,PBT,A,1,MPa\n")
    refused(store, lambda: test_reports.execute(store, path, agent="pytest"), "row 2", "field 'issued'")
    path.write_text(head + "R1,Lab,2025-01-01,L1,PBT,A,1,furlong\n")
    refused(store, lambda: test_reports.execute(store, path, agent="pytest"), "row 2", "field 'unit'", "furlong")
    path.write_text(head + "R1,Lab,2025-01-01,L1,PBT,A,1,MPa\nR1,Lab,2025-01-01,L1,PBT,A,2,MPa\n")
    refused(store, lambda: test_reports.execute(store, path, agent="pytest"), "row 3", "duplicate measurement 'R1 / A'")
    path.write_text("report_number,lab,issued,material\nR1,Lab,2025-01-01,PBT\n")
    refused(store, lambda: test_reports.execute(store, path, agent="pytest"), "row 1 (header)", "field 'lot'")


def test_calibration_certificates(store: GraphStore) -> None:
    test_reports.execute_calibrations(store, FIXTURES / "calibrations.csv", agent="pytest")
    assert store.ask("""ASK { ?e q:equipmentId 'IMM-3' ; q:name ?n ; q:hasCalibration ?c .
        ?c q:documentNumber 'CAL-IMM3-2024' ; q:validFrom '2024-03-01'^^xsd:date ;
        q:validUntil '2025-02-28'^^xsd:date ; q:calibrationResult 'pass' }""")


def test_calibration_bad_inputs(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "cal.csv"
    head = "certificate,equipment,issuer,valid_from,valid_until\n"
    path.write_text(head + "C1,E1,Lab,2025-01-01,2024-01-01\n")
    refused(
        store,
        lambda: test_reports.execute_calibrations(store, path, agent="pytest"),
        "cal.csv",
        "row 2",
        "field 'valid_until'",
    )
    path.write_text(head + "C1,E1,Lab,2024-01-01,2025-01-01\nC1,E2,Lab,2024-01-01,2025-01-01\n")
    refused(
        store,
        lambda: test_reports.execute_calibrations(store, path, agent="pytest"),
        "row 3",
        "field 'certificate'",
        "duplicate certificate 'C1'",
    )


def test_calibration_json(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "cal.json"
    path.write_text(
        '{"calibrations": [{"certificate": "C9", "equipment": "E9", "issuer": "Lab", '
        '"valid_from": "2024-01-01", "valid_until": "2025-01-01", "result": "pass"}]}'
    )
    test_reports.execute_calibrations(store, path, agent="pytest")
    assert store.ask("ASK { ?c q:documentNumber 'C9' ; q:certificateFor/q:equipmentId 'E9' }")
    path.write_text(
        '{"calibrations": [{"certificate": "C9", "equipment": "E9", "issuer": "Lab", "valid_from": "2024-01-01"}]}'
    )
    refused(
        store,
        lambda: test_reports.execute_calibrations(store, path, agent="pytest"),
        "cal.json",
        "calibrations[0]",
        "field 'valid_until'",
    )
