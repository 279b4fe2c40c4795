"""MES runs and process specifications."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ingest_helpers import FIXTURES, refused

from qualitas.ingest import mes, test_reports
from qualitas.store import GraphStore

HEADER = "run_id,step,equipment,start,end,consumed_lots,produced_lots,part,actuals\n"


@pytest.fixture
def supplier_lots(store: GraphStore) -> GraphStore:
    test_reports.execute(store, FIXTURES / "test_reports.csv", agent="pytest")
    return store


def test_runs_csv_link_lots_equipment_and_actuals(supplier_lots: GraphStore) -> None:
    store = supplier_lots
    mes.execute(store, FIXTURES / "mes_runs.csv", agent="pytest")
    rows = store.select(
        """SELECT ?in WHERE { ?r q:runId "MOLD-250110-3" ; q:consumed/q:lotNumber ?in ;
            q:produced/q:lotNumber "ARM-LOT-1" ; q:equipment/q:equipmentId "IMM-3" }"""
    )
    assert {r["in"] for r in rows} == {"NPP-CLIP-01", "RBR-BLD-07"}
    actuals = {
        r["code"]: (str(r["v"]), r["u"].rsplit("/", 1)[-1])
        for r in store.select(
            """SELECT ?code ?v ?u WHERE { ?r q:runId ?id ; q:hasObservation ?o .
           ?o q:parameter/q:code ?code ; q:value ?v ; q:unit ?u }"""
        )
    }
    assert actuals == {"MOLD-TEMP": ("240.5", "DEG_C"), "HOLD-PRESS": ("55", "MegaPA"), "SCREW-TORQUE": ("4.1", "N-M")}
    assert store.ask("ASK { ?u q:serialNumber 'WPR-0002' ; q:ofProduct/q:modelNumber|q:ofProduct ?p }")


def test_runs_json(supplier_lots: GraphStore) -> None:
    mes.execute(supplier_lots, FIXTURES / "mes_runs.json", agent="pytest")
    assert supplier_lots.ask(
        "ASK { ?r q:runId 'MOLD-250112-3' ; q:startedAt ?t ; "
        "q:hasObservation/q:unit <http://qudt.org/vocab/unit/DEG_C> }"
    )


def test_process_specs_versions_and_effective_dates(store: GraphStore) -> None:
    mes.execute_specs(store, FIXTURES / "process_spec.csv", agent="pytest")
    rows = store.select("""SELECT ?param ?nominal ?tol WHERE { ?ps q:forStep/q:code 'ARM-S10' ; q:version 'v1' ;
        q:effectiveFrom ?from ; q:hasSpecification ?s . ?s q:parameter/q:code ?param ; q:nominal ?nominal ;
        q:tolerance ?tol }""")
    assert {r["param"]: (r["nominal"], r["tol"]) for r in rows} == {"MOLD-TEMP": (240, 5), "HOLD-PRESS": (55, 3)}


def test_unknown_lot_reference_is_refused(supplier_lots: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text(
        HEADER + "R1,S,E,2025-01-01T06:00,2025-01-01T07:00,NPP-CLIP-01,OUT-1,P,\n"
        "R2,S,E,2025-01-01T08:00,2025-01-01T09:00,OUT-1;NPP-CLIP-99,OUT-2,P,\n"
    )
    refused(
        supplier_lots,
        lambda: mes.execute(supplier_lots, path, agent="pytest"),
        "runs.csv",
        "row 3",
        "field 'consumed_lots'",
        "unknown lot 'NPP-CLIP-99'",
        "nor in the store",
    )


def test_lot_produced_later_in_the_file_resolves(supplier_lots: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text(
        HEADER + "R2,S,E,2025-01-01T08:00,2025-01-01T09:00,OUT-1,OUT-2,P,\n"
        "R1,S,E,2025-01-01T06:00,2025-01-01T07:00,NPP-CLIP-01,OUT-1,P,\n"
    )
    assert mes.execute(supplier_lots, path, agent="pytest").status == "added"


@pytest.mark.parametrize(
    ("row", "fragments"),
    [
        ("R1,S,E,yesterday,2025-01-01T07:00,,OUT,P,", ("row 2", "field 'start'", "'yesterday'")),
        ("R1,S,E,2025-01-01T08:00,2025-01-01T07:00,,OUT,P,", ("row 2", "field 'end'", "before it starts")),
        ("R1,S,E,2025-01-01T06:00,2025-01-01T07:00,,OUT,P,T=12 parsecs", ("row 2", "field 'actuals'", "parsecs")),
        ("R1,S,E,2025-01-01T06:00,2025-01-01T07:00,,OUT,P,T=hot", ("row 2", "field 'actuals'", "'hot'")),
        (
            "R1,S,E,2025-01-01T06:00,2025-01-01T07:00,,OUT,,",
            (
                "row 2",
                "field 'part'",
            ),
        ),
    ],
)
def test_bad_rows(store: GraphStore, tmp_path: Path, row: str, fragments: tuple[str, ...]) -> None:
    path = tmp_path / "runs.csv"
    path.write_text(HEADER + row + "\n")
    refused(store, lambda: mes.execute(store, path, agent="pytest"), "runs.csv", *fragments)


def test_missing_column_and_duplicate_run(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text("run_id,step,start,end,produced_lots,part\nR1,S,2025-01-01T06:00,2025-01-01T07:00,O,P\n")
    refused(store, lambda: mes.execute(store, path, agent="pytest"), "row 1 (header)", "field 'equipment'")
    path.write_text(
        HEADER + "R1,S,E,2025-01-01T06:00,2025-01-01T07:00,,O1,P,\nR1,S,E,2025-01-02T06:00,2025-01-02T07:00,,O2,P,\n"
    )
    refused(
        store,
        lambda: mes.execute(store, path, agent="pytest"),
        "row 3",
        "field 'run_id'",
        "duplicate run 'R1'",
        "first in row 2",
    )


def test_spec_errors(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "spec.csv"
    head = "step,version,effective_from,effective_until,parameter,nominal,tolerance,unit\n"
    path.write_text(head + "S,v1,2024-06-01T00:00,2024-01-01T00:00,T,240,5,degC\n")
    refused(store, lambda: mes.execute_specs(store, path, agent="pytest"), "row 2", "field 'effective_until'")
    path.write_text(head + "S,v1,2024-06-01T00:00,,T,240,5,wombats\n")
    refused(store, lambda: mes.execute_specs(store, path, agent="pytest"), "row 2", "field 'unit'", "wombats")
    path.write_text(head + "S,v1,2024-06-01T00:00,,T,240,5,degC\nS,v1,2024-06-01T00:00,,T,250,5,degC\n")
    refused(store, lambda: mes.execute_specs(store, path, agent="pytest"), "row 3", "duplicate parameter specification")


def test_reload_and_replace(supplier_lots: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    shutil.copy(FIXTURES / "mes_runs.csv", path)
    mes.execute(supplier_lots, path, agent="pytest")
    before = supplier_lots.snapshot()
    assert mes.execute(supplier_lots, path, agent="pytest").status == "unchanged"
    assert supplier_lots.snapshot() == before
    path.write_text(path.read_text().replace("240.5", "241.5"))
    assert mes.execute(supplier_lots, path, agent="pytest", replace=True).status == "replaced"
    assert supplier_lots.ask("ASK { ?o q:value 241.5 }") and not supplier_lots.ask("ASK { ?o q:value 240.5 }")
