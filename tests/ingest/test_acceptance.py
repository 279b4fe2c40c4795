"""Acceptance: a three-level BOM from XLSX, a CSV of MES runs, supplier evidence and a
complaint load through ``load_paths`` and show up in ``trace``."""

from __future__ import annotations

from pathlib import Path

from ingest_helpers import FIXTURES

from qualitas.ingest import detect_format, load_paths
from qualitas.reasoning.trace import recall_scope, reverse_trace
from qualitas.store import GraphStore


def test_xlsx_bom_and_mes_runs_show_up_in_trace(store: GraphStore, wiper_xlsx: Path) -> None:
    files = [
        wiper_xlsx,
        FIXTURES / "process_spec.csv",
        FIXTURES / "calibrations.csv",
        FIXTURES / "test_reports.csv",
        FIXTURES / "ipc1752_class_d.xml",
        FIXTURES / "mes_runs.csv",
        FIXTURES / "complaints.csv",
    ]
    assert [detect_format(f) for f in files] == [
        "bom",
        "process-spec",
        "calibration",
        "test-report",
        "ipc1752",
        "mes",
        "complaint",
    ]
    plans = load_paths(store, files, agent="pytest", dry_run=True)
    assert [p.status for p in plans][:5] == ["add"] * 5  # nothing written by the dry run
    assert store.batches() == []
    results = load_paths(store, files, agent="pytest")
    assert [r.status for r in results] == ["added"] * len(files)

    trace = reverse_trace(store, "C-WPR-1")
    assert trace.unit.serial == "WPR-0001"
    assert {lot.lot_number for lot in trace.lots} >= {"ARM-LOT-1", "NPP-CLIP-01", "RBR-BLD-07", "MTR-LOT-3"}
    assert {run.run_id for run in trace.runs} == {"MOLD-250110-3", "ASM-250111-5"}
    mold = next(run for run in trace.runs if run.run_id == "MOLD-250110-3")
    assert mold.equipment is not None and mold.equipment.calibrated_at_run
    assert {p.parameter: p.within_tolerance for p in mold.parameters} == {"MOLD-TEMP": True, "HOLD-PRESS": True}
    clip = next(lot for lot in trace.lots if lot.lot_number == "NPP-CLIP-01")
    assert clip.designed_materials == ("PBT+GF30",)  # from the XLSX BOM
    assert [d.number for d in clip.declarations] == ["IPC1752/SUP-NPP/CLP-512/B"]
    kinds = {(f.kind, f.subject.rsplit("/", 1)[-1]) for f in trace.findings}
    assert ("material_mismatch", "NPP-CLIP-01") in kinds  # BOM says GF30, the lab found GF25
    assert ("calibration_invalid", "ASM-5") in kinds  # its certificate ran out on 2024-12-31

    scope = recall_scope(store, "NPP-CLIP-01")
    assert {u.serial for u in scope.units} == {"WPR-0001", "WPR-0002"}
    assert {lot.lot_number for lot in scope.lots} == {"ARM-LOT-1"}
    assert {c.complaint_id for u in scope.units for c in u.complaints} == {"C-WPR-1", "C-WPR-2"}

    before = store.snapshot()
    assert {r.status for r in load_paths(store, files, agent="pytest")} == {"unchanged"}
    assert store.snapshot() == before
    provenance = store.select(
        """SELECT ?source ?sha ?agent WHERE { GRAPH ?meta { ?g q:source ?source ; q:sha256 ?sha ;
            prov:wasAttributedTo/prov:label ?agent ; prov:generatedAtTime ?t } }"""
    )
    assert {r["source"] for r in provenance} == {str(f.resolve()) for f in files}
