"""FMEA worksheet: XLSX and CSV round trips through the store lose nothing; a bad line
names its row and column, and the store is left as it was."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from qualitas.audit import AuditLog
from qualitas.errors import ValidationError
from qualitas.store import GraphStore
from qualitas.workbench.fmea import Fmea, load_fmea
from qualitas.workbench.worksheet import HEADERS, read_worksheet, save_imported, write_worksheet
from tests.workbench.stores import REPO, demo_store

HEAD = [
    "FMEA ID",
    "FMEA Type",
    "FMEA Title",
    "Item",
    "Row",
    "Process Item",
    "Process Step",
    "Step Code",
    "Process Work Element",
    "4M Type",
    "Failure Effect (FE)",
    "Severity (S)",
    "Failure Mode (FM)",
    "Failure Mode Code",
    "Failure Cause (FC)",
    "Parameter",
    "Equipment",
    "Current Prevention Control (PC)",
    "Occurrence (O)",
    "Current Detection Control (DC)",
    "Detection (D)",
    "AP",
    "Action",
    "Action Type",
    "Responsible Person",
    "Target Completion Date",
    "Status",
]
BASE = ["PFMEA-BP-S10", "PFMEA", "Pack assembly PFMEA", "BP-75"]
LINES = [
    # row 2: a chain with two actions (two lines), row 3 and 4: one chain each
    [
        *BASE,
        "10",
        "BP-75 pack",
        "BP-S10 Pack assembly",
        "BP-S10",
        "Nutrunner PA-LINE-2",
        "Machine",
        "Loose busbar joint; local heating, odour in the cabin",
        "8",
        "Odour in cabin",
        "FM-ODOUR",
        "Bolt torque below 8.5 N·m",
        "BOLT-TORQUE",
        "PA-LINE-2",
        "Torque program v2 locked",
        "4",
        "Nutrunner torque/angle monitoring, 100 %",
        "3",
        "M",
        "Add angle window to the torque program",
        "prevention",
        "Chen Jie",
        "2025-07-15",
        "open",
    ],
    [
        *BASE,
        "10",
        "BP-75 pack",
        "BP-S10 Pack assembly",
        "BP-S10",
        "Nutrunner PA-LINE-2",
        "Machine",
        "Loose busbar joint; local heating, odour in the cabin",
        "8",
        "Odour in cabin",
        "FM-ODOUR",
        "Bolt torque below 8.5 N·m",
        "BOLT-TORQUE",
        "PA-LINE-2",
        "Torque program v2 locked",
        "4",
        "Nutrunner torque/angle monitoring, 100 %",
        "3",
        "M",
        "Audit 5 joints per shift with a calibrated wrench",
        "detection",
        "王芳",
        "",
        "decision_pending",
    ],
    [
        *BASE,
        "20",
        "BP-75 pack",
        "BP-S10 Pack assembly",
        "BP-S10",
        "Operator",
        "Man",
        "Cover rattles",
        "4",
        "Rattle / loose part",
        "FM-RATTLE",
        "Housing clip not seated",
        "",
        "",
        "Work instruction WI-BP-12",
        "5",
        "Visual check",
        "7",
        "M",
        "",
        "",
        "",
        "",
        "",
    ],
    [
        *BASE,
        "30",
        "BP-75 pack",
        "BP-S10 Pack assembly",
        "BP-S10",
        "Assembly line",
        "EnvMilieu",
        "Short circuit",
        "10",
        "Metal chips between cells",
        "",
        "Drilling chips from housing",
        "",
        "",
        "",
        "2",
        "",
        "10",
        "H",
        "",
        "",
        "",
        "",
        "",
    ],
]


def _csv(rows: list[list[str]], header: list[str] = HEAD) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GraphStore, AuditLog]]:
    store, trail, _ = demo_store(tmp_path_factory.mktemp("worksheet"))
    try:
        yield store, trail
    finally:
        store.close()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_round_trip_import_export_import_loses_nothing(demo: tuple[GraphStore, AuditLog], fmt: str) -> None:
    store, trail = demo
    lines = [[f"PFMEA-BP-S10-{fmt}", *r[1:]] for r in LINES]
    first = read_worksheet(_csv(lines), format="csv", where="pack.csv")
    fmea = first.fmea
    assert [c.row for c in fmea.chains] == ["10", "20", "30"]
    assert [len(c.actions) for c in fmea.chains] == [2, 0, 0]
    assert fmea.chains[0].actions[1].responsible == "王芳" and fmea.chains[0].actions[1].due is None
    assert fmea.chains[1].failure_mode_code == "FM-RATTLE" and fmea.chains[2].failure_mode_code is None
    assert save_imported(store, first, agent="tests", audit=trail).status == "added"

    stored = load_fmea(store, f"PFMEA-BP-S10-{fmt}")
    assert stored == fmea  # what went in comes out of the graph
    sheet = write_worksheet(stored, format=fmt)
    again = read_worksheet(sheet, format=fmt, where=f"export.{fmt}")
    assert again.fmea == stored
    assert save_imported(store, again, agent="tests", audit=trail).status == "unchanged"
    if fmt == "csv":  # the same lines (AP filled in by the table), in the same column order
        rows = list(csv.reader(io.StringIO(sheet.decode("utf-8-sig"))))
        assert rows[0] == list(HEADERS) and len(rows) == 1 + len(LINES)
        assert [r[HEADERS.index("AP")] for r in rows[1:]] == ["M", "M", "M", "H"]


def test_the_graph_links_chains_to_steps_parameters_equipment_and_failure_modes(
    demo: tuple[GraphStore, AuditLog],
) -> None:
    store, trail = demo
    lines = [["PFMEA-LINKS", *r[1:]] for r in LINES]
    save_imported(store, read_worksheet(_csv(lines), format="csv"), agent="tests", audit=trail)
    rows = store.select(
        """SELECT ?row ?cid WHERE { ?f q:code "PFMEA-LINKS" ; q:hasFailureChain ?c ; q:analysesStep ?s .
             ?s q:code "BP-S10" . ?c q:rowKey ?row ; q:failureMode ?m . ?cmp q:failureMode ?m ; q:complaintId ?cid }"""
    )
    assert {(r["row"], r["cid"]) for r in rows} == {("10", "CMP-2025-0057"), ("20", "CMP-2025-0042")}
    assert store.ask(
        """ASK { ?f q:code "PFMEA-LINKS" ; q:hasFailureChain ?c . ?c q:rowKey "10" ; q:failureCause ?fc .
                 ?fc q:parameter/q:code "BOLT-TORQUE" ;
                 q:onEquipment/q:equipmentId "PA-LINE-2" }"""
    )
    assert [r.action for r in trail.records()][-1] == "workbench.fmea.import"


def _line(row: int, column: str, value: str) -> list[list[str]]:
    rows = [list(r) for r in LINES]
    rows[row - 2][HEAD.index(column)] = value
    return rows


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        (_line(4, "Severity (S)", "11"), HEAD, r"bad\.csv: row 4, field Severity \(S\): 11 is not a rating"),
        (_line(3, "Occurrence (O)", "four"), HEAD, r"row 3, field Occurrence \(O\): 'four'"),
        (_line(5, "Failure Mode (FM)", ""), HEAD, r"row 5, field 'Failure Mode \(FM\)': empty"),
        (_line(2, "AP", "L"), HEAD, r"row 2, field 'AP': 'L', but the AIAG & VDA table gives M for S8 O4 D3"),
        (_line(3, "Status", "done"), HEAD, r"row 3, field 'Status': 'done' is not one of"),
        (_line(2, "Target Completion Date", "15.07.2025"), HEAD, r"row 2, field 'Target Completion Date'"),
        (_line(3, "Detection (D)", "4"), HEAD, r"row 3, field 'Detection \(D\)': '4' differs from '3' on row 2"),
        (_line(4, "FMEA ID", "OTHER"), HEAD, r"row 4, field 'FMEA ID'"),
        (_line(5, "4M Type", "Robot"), HEAD, r"row 5, field '4M Type': 'Robot'"),
        (LINES, [*HEAD[:-1], "Remarks"], r"row 1, column 27 'Remarks': not in the FMEA worksheet column mapping"),
        (LINES, HEAD[:11] + HEAD[12:], r"row 1: missing column\(s\) Severity \(S\)"),
    ],
    ids=[
        "severity",
        "occurrence",
        "empty-mode",
        "ap",
        "status",
        "date",
        "chain-differs",
        "two-fmeas",
        "4m",
        "unknown-column",
        "missing-column",
    ],
)
def test_a_bad_line_names_row_and_field_and_stores_nothing(
    demo: tuple[GraphStore, AuditLog], rows: list[list[str]], header: list[str], message: str
) -> None:
    store, trail = demo
    before = store.snapshot()
    data = _csv(rows if len(header) == len(HEAD) else [r[:11] + r[12:] for r in rows], header)
    with pytest.raises(ValidationError, match=message):
        save_imported(store, read_worksheet(data, format="csv", where="bad.csv"), agent="tests", audit=trail)
    assert store.snapshot() == before


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("Step Code", "BP-S99", "step_code"),
        ("Parameter", "TORQUE-X", "parameter"),
        ("Equipment", "PA-LINE-9", "equipment"),
        ("Failure Mode Code", "FM-NOPE", "failure_mode_code"),
    ],
)
def test_unknown_graph_keys_name_the_line_and_nothing_is_stored(
    demo: tuple[GraphStore, AuditLog], column: str, value: str, field: str
) -> None:
    store, trail = demo
    before, records = store.snapshot(), len(list(trail.records()))
    imported = read_worksheet(
        _csv(_line(4, column, value) if column != "Step Code" else _step(value)), format="csv", where="pack.csv"
    )
    with pytest.raises(
        ValidationError,
        match=rf"pack\.csv: row {2 if column == 'Step Code' else 4}, field {field}: unknown .*'{value}'",
    ):
        save_imported(store, imported, agent="tests", audit=trail)
    assert store.snapshot() == before
    assert len(list(trail.records())) == records  # checked before the write: no attempt to record


def _step(value: str) -> list[list[str]]:
    rows = [list(r) for r in LINES]
    for r in rows:
        r[HEAD.index("Step Code")] = value
    return rows


def test_an_xlsx_worksheet_from_a_spreadsheet_program_reads_numbers_and_dates(tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "FMEA"
    sheet.append(HEAD)
    for line in LINES:
        cells: list[object] = list(line)
        for name in ("Row", "Severity (S)", "Occurrence (O)", "Detection (D)"):
            cells[HEAD.index(name)] = int(line[HEAD.index(name)])  # numbers, as a person types them
        due = line[HEAD.index("Target Completion Date")]
        cells[HEAD.index("Target Completion Date")] = dt.datetime.fromisoformat(due) if due else None
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    from_xlsx = read_worksheet(out.getvalue(), format="xlsx").fmea
    assert from_xlsx == read_worksheet(_csv(LINES), format="csv").fmea
    assert isinstance(from_xlsx, Fmea)


def test_a_dfmea_worksheet_with_the_dfmea_headers(demo: tuple[GraphStore, AuditLog]) -> None:
    store, trail = demo
    header = [
        {
            "Process Item": "Next Higher Level",
            "Process Step": "Focus Element",
            "Process Work Element": "Next Lower Level",
        }.get(h, h)
        for h in HEAD
    ]
    line = [
        "DFMEA-CPC-200",
        "DFMEA",
        "Charging port cover DFMEA",
        "CPC-200",
        "10",
        "Charging port",
        "Cover latch",
        "",
        "Latch clip",
        "",
        "Cover rattles",
        "5",
        "Clip loses preload",
        "FM-RATTLE",
        "Clip material creeps",
        "",
        "",
        "PBT+GF30 specified",
        "4",
        "Creep test 1000 h at 85 °C",
        "3",
        "",
        "",
        "",
        "",
        "",
        "",
    ]
    imported = read_worksheet(_csv([line], header), format="csv", where="dfmea.csv")
    [chain] = imported.fmea.chains
    assert (imported.fmea.kind, chain.process_step, chain.work_element) == ("DFMEA", "Cover latch", "Latch clip")
    assert chain.action_priority == "L"  # S5 O4 D3, the table's row S 4-6 / O 4-5
    assert save_imported(store, imported, agent="tests", audit=trail).status == "added"
    assert load_fmea(store, "DFMEA-CPC-200") == imported.fmea


def test_a_changed_worksheet_replaces_an_fmea_only_when_asked(demo: tuple[GraphStore, AuditLog]) -> None:
    store, trail = demo
    lines = [["PFMEA-REPLACE", *r[1:]] for r in LINES]
    assert save_imported(store, read_worksheet(_csv(lines), format="csv"), agent="tests", audit=trail).status == "added"
    lines[3][HEAD.index("Occurrence (O)")] = "3"  # row 30, S10 O3 D10 (still H)
    changed = read_worksheet(_csv(lines), format="csv")
    before = store.snapshot()
    with pytest.raises(ValidationError, match="FMEA PFMEA-REPLACE exists with other content"):
        save_imported(store, changed, agent="tests", audit=trail)
    assert store.snapshot() == before
    assert save_imported(store, changed, agent="tests", audit=trail, replace=True).status == "replaced"
    assert load_fmea(store, "PFMEA-REPLACE").chains[2].occurrence == 3


def test_failure_modes_read_from_warning_letters_are_in_the_library_and_linkable(
    demo: tuple[GraphStore, AuditLog],
) -> None:
    from qualitas.ingest.nlp import extract_file
    from qualitas.ingest.nlp._graph import load_letter
    from qualitas.workbench.fmea import list_fmeas
    from qualitas.workbench.wizard import failure_library

    store, trail = demo
    letter = extract_file(REPO / "tests" / "fixtures" / "warning_letters" / "acrostak-schweiz-ag-668948-10312023.txt")
    load_letter(store, letter, agent="tests")
    library = {f.code: f for f in failure_library(store)}
    assert library["nlp/vessel-damage"].name == "vessel damage"
    assert library["FM-ODOUR"].complaints == ("CMP-2025-0057",)
    line = [
        "DFMEA-CATH",
        "DFMEA",
        "Catheter DFMEA",
        "",
        "10",
        "Catheter",
        "Balloon",
        "",
        "Tip",
        "",
        "Vessel wall injured",
        "9",
        "vessel damage",
        "nlp/vessel-damage",
        "Tip edge too sharp",
        "",
        "",
        "Edge radius drawing tolerance",
        "3",
        "Tip radius inspection",
        "4",
        "",
        "",
        "",
        "",
        "",
        "",
    ]
    imported = read_worksheet(_csv([line]), format="csv")
    save_imported(store, imported, agent="tests", audit=trail)
    assert load_fmea(store, "DFMEA-CATH") == imported.fmea
    assert [f.id for f in list_fmeas(store, failure_mode="nlp/vessel-damage")] == ["DFMEA-CATH"]
    assert store.ask(
        """ASK { ?f q:code "DFMEA-CATH" ; q:hasFailureChain/q:failureMode ?m . ?letter q:reportsFailureMode ?m }"""
    )


def test_a_cell_that_looks_like_a_formula_stays_text_in_xlsx() -> None:
    import openpyxl

    lines = [list(r) for r in LINES]
    lines[2][HEAD.index("Failure Effect (FE)")] = '=HYPERLINK("http://evil.example","click")'
    fmea = read_worksheet(_csv(lines), format="csv").fmea
    data = write_worksheet(fmea, format="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cell = sheet.cell(row=4, column=HEADERS.index("Failure Effect (FE)") + 1)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    assert read_worksheet(data, format="xlsx").fmea == fmea
