"""The FMEA wizard: answers for the battery pack's cell formation step (CELL-S30) give the
expected failure chains and control plan, from the CLI as from the core; the
interactive wizard asks the same questions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qualitas.audit import AuditLog
from qualitas.errors import ValidationError
from qualitas.store import GraphStore
from qualitas.workbench.fmea import load_fmea, save_fmea
from qualitas.workbench.wizard import build_fmea, parse_answers, propose, read_answers
from tests.workbench.stores import ANSWERS, REPO, demo_store

NELSON = [f"nelson{i}" for i in range(1, 9)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GraphStore, AuditLog]]:
    store, trail, _ = demo_store(tmp_path_factory.mktemp("wizard"))
    try:
        yield store, trail
    finally:
        store.close()


def test_proposals_come_from_the_spec_the_runs_the_calibration_and_the_complaint_trace(
    demo: tuple[GraphStore, AuditLog],
) -> None:
    store, _ = demo
    proposals = {p.id: p for p in propose(store, "CELL-S30", failure_mode="FM-ODOUR")}
    assert set(proposals) == {"parameter:FORM-TEMP", "parameter:FORM-CURR", "parameter:FORM-VMAX", "calibration:FC-12"}
    temp = proposals["parameter:FORM-TEMP"]
    assert temp.cause == "Formation temperature outside 45 ± 2 °C"
    assert temp.prevention_control.startswith("parameter set CELL-S30 v3 in force")
    assert "FM-240802-12 45.3 °C" in temp.evidence[0] and "all within 45 ± 2 °C" in temp.evidence[0]
    cal = proposals["calibration:FC-12"]
    assert cal.prevention_control == "calibration certificate CAL-FC12-2023 valid 2023-07-01 to 2024-06-30"
    assert "run(s) after the certificate expired: FM-240802-12" in cal.evidence
    assert any(
        e.startswith("CMP-2025-0057: Equipment FC-12 was not in calibration during run FM-240802-12")
        for e in cal.evidence
    )


def _expected_items() -> list[dict[str, object]]:
    """The control plan of CELL-S30 as the process spec (parameter set v3), the equipment
    record and examples/edge/cell-formation.yaml define it."""
    fc12 = "FC-12 Cell formation cabinet, 512 channels"
    opc = "at opc.tcp://127.0.0.1:4841/fc12/ (source fc12)"
    return [
        {
            "key": "1",
            "characteristic": "Formation charge current (FORM-CURR)",
            "specification": "28 ± 1 A (parameter set v3)",
            "machine": fc12,
            "evaluation_method": f"OPC UA node ns=2;s=FC12.ChargeCurrent {opc}",
            "sample_size": "5 consecutive readings",
            "sample_frequency": "one subgroup every 5 readings (1 s apart)",
            "special_class": "",
            "chains": ("20",),
            "chart": "SPC X-bar/R chart of formation.current",
            "rules": ["we1", "we2", "we3", "we4"],
            "limits": "specification limits 27 to 29",
            "reaction": "work order to maintenance: check the channel calibration of the current source",
        },
        {
            "key": "2",
            "characteristic": "Formation temperature (FORM-TEMP)",
            "specification": "45 ± 2 °C (parameter set v3)",
            "machine": fc12,
            "evaluation_method": f"OPC UA node ns=2;s=FC12.ChamberTemperature {opc}",
            "sample_size": "1 reading",
            "sample_frequency": "every 1 s",
            "special_class": "",
            "chains": ("10",),
            "chart": "SPC individuals (I-MR) chart of formation.temperature",
            "rules": NELSON,
            "limits": "specification limits 43 to 47",
            "reaction": "work order to formation engineering: hold the cabinet's cells and check thermocouples",
        },
        {
            "key": "3",
            "characteristic": "Formation end-of-charge voltage (FORM-VMAX)",
            "specification": "3.65 ± 0.02 V (parameter set v3)",
            "machine": fc12,
            "evaluation_method": f"OPC UA node ns=2;s=FC12.CutoffVoltage {opc}",
            "sample_size": "1 reading",
            "sample_frequency": "every 1 s",
            "special_class": "SC",
            "chains": ("30",),
            "chart": "SPC individuals (I-MR) chart of formation.vmax",
            "rules": NELSON[:3],
            "limits": "specification limits 3.63 to 3.67",
            "reaction": "critical alert: cut-off voltage above 3.67 V on FC-12; work order to quality: quarantine",
        },
    ]


def _check_control_plan(items: list[dict[str, object]]) -> None:
    expected = _expected_items()
    assert [i["key"] for i in items] == ["1", "2", "3", "4"]
    for item, want in zip(items, expected, strict=False):
        for name in (
            "characteristic",
            "specification",
            "machine",
            "evaluation_method",
            "sample_size",
            "sample_frequency",
            "special_class",
        ):
            assert item[name] == want[name], (want["key"], name)
        assert tuple(item["chains"]) == want["chains"]  # type: ignore[arg-type]
        assert item["step_code"] == "CELL-S30" and item["process_name"] == "Cell formation"
        method = str(item["control_method"])
        assert method.startswith(str(want["chart"]))
        assert [r for r in [*NELSON, "we1", "we2", "we3", "we4"] if f"{r} (" in method] == want["rules"]
        assert str(want["limits"]) in method
        assert str(want["reaction"]) in str(item["reaction_plan"])
    cal = items[3]
    assert cal["characteristic"] == "Calibration status of FC-12" and tuple(cal["chains"]) == ("40",)  # type: ignore[arg-type]
    assert cal["specification"] == (
        "calibration certificate valid on the run date; last certificate CAL-FC12-2023, valid 2023-07-01 to 2024-06-30"
    )


def test_answers_give_the_expected_chains_and_control_plan(demo: tuple[GraphStore, AuditLog]) -> None:
    store, trail = demo
    fmea = build_fmea(store, read_answers(ANSWERS)).fmea
    assert (fmea.id, fmea.kind, fmea.item) == ("PFMEA-CELL-S30", "PFMEA", "CELL-LFP-280")
    got = [
        (c.row, c.parameter, c.equipment, c.severity, c.occurrence, c.detection, c.action_priority) for c in fmea.chains
    ]
    assert got == [
        ("10", "FORM-TEMP", "FC-12", 8, 3, 4, "L"),
        ("20", "FORM-CURR", "FC-12", 8, 3, 4, "L"),
        ("30", "FORM-VMAX", "FC-12", 8, 2, 4, "L"),
        ("40", None, "FC-12", 8, 6, 7, "H"),
    ]
    assert {c.failure_mode_code for c in fmea.chains} == {"FM-ODOUR"}
    assert [a.status for a in fmea.chains[3].actions] == ["implementation_pending", "completed"]
    _check_control_plan([i.__dict__ for i in fmea.control_plan])
    save_fmea(store, fmea, agent="tests", audit=trail)
    assert load_fmea(store, "PFMEA-CELL-S30") == fmea


def test_answers_that_do_not_fit_the_graph_are_refused(demo: tuple[GraphStore, AuditLog]) -> None:
    store, _ = demo
    raw = {
        "fmea": {"id": "X", "title": "X"},
        "step": "CELL-S30",
        "failure_types": [
            {
                "mode": "FM-ODOUR",
                "effect": "e",
                "severity": 8,
                "causes": [{"proposal": "parameter:FORM-NOPE", "occurrence": 2, "detection": 2}],
            }
        ],
    }
    with pytest.raises(ValidationError, match=r"failure_types\[0\]\.causes\[0\]\.proposal: 'parameter:FORM-NOPE'"):
        build_fmea(store, parse_answers(raw))
    raw["failure_types"][0]["causes"] = [{"proposal": "parameter:FORM-TEMP", "occurrence": 2, "detection": 2}]  # type: ignore[index]
    with pytest.raises(ValidationError, match=r"control_plan\.FORM-TEMP: evaluation_method.*not known"):
        build_fmea(store, parse_answers(raw))  # no edge config, no columns given
    raw["failure_types"][0]["severity"] = 11  # type: ignore[index]
    with pytest.raises(ValidationError, match=r"failure_types\.0\.severity"):
        parse_answers(raw)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qualitas.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=120,
    )


def test_cli_wizard_and_control_plan_as_json_xlsx_and_pdf(tmp_path: Path) -> None:
    import openpyxl

    env = {**os.environ, "QUALITAS_STORE": str(tmp_path / "store")}
    assert _cli("demo", "load", env=env).returncode == 0
    made = _cli("fmea", "new", "--from", str(ANSWERS), "--reason", "odour complaints", env=env)
    assert made.returncode == 0, made.stderr
    assert "FMEA PFMEA-CELL-S30: added, 4 failure chains (1 with AP H), 4 control plan items" in " ".join(
        made.stdout.split()
    )
    shown = _cli("fmea", "control-plan", "CELL-S30", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    plan = json.loads(shown.stdout)
    assert plan["columns"][:2] == ["Characteristic No.", "Part/Process Number"] and len(plan["columns"]) == 13
    _check_control_plan([{_snake(k): v for k, v in i.items()} for i in plan["items"]])

    xlsx, pdf = tmp_path / "cp.xlsx", tmp_path / "cp.pdf"
    assert _cli("fmea", "control-plan", "CELL-S30", "--xlsx", "--out", str(xlsx), env=env).returncode == 0
    sheet = openpyxl.load_workbook(xlsx).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[2][11] == "Control Method" and rows[4][7] == "45 ± 2 °C (parameter set v3)"
    done = _cli("fmea", "control-plan", "CELL-S30", "--pdf", "--out", str(pdf), env=env)
    assert done.returncode == 0, done.stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=False).stdout
    # poppler-utils (pdftotext) is installed by .ci/run, as for the gap report tests
    assert "FORM-TEMP" in text and "Reaction Plan" in text and "45 ± 2 °C" in text
    trail = (tmp_path / "audit" / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(trail[-1])
    assert record["action"] == "workbench.fmea.new" and record["why"] == "odour complaints"
    refused = _cli("fmea", "control-plan", "BP-S10", "--json", env=env)
    assert refused.returncode == 65 and "no control plan items yet" in refused.stderr


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def test_interactive_wizard_asks_and_writes_the_same_fmea(tmp_path: Path) -> None:
    from qualitas.workbench.wizard import failure_library, process_steps

    store, _, settings = demo_store(tmp_path)
    steps = [code for code, _ in process_steps(store)]
    modes = [f.code for f in failure_library(store)]
    offered = [p.id for p in propose(store, "CELL-S30", failure_mode="FM-ODOUR", edge=None)]
    store.close()
    answers = [
        str(steps.index("CELL-S30") + 1),
        "",
        "",  # step; default id and title
        str(REPO / "examples" / "edge" / "cell-formation.yaml"),
        str(modes.index("FM-ODOUR") + 1),
        "Cabin odour",
        "8",
        f"{offered.index('parameter:FORM-TEMP') + 1},{offered.index('calibration:FC-12') + 1}",
        "3",
        "4",  # FORM-TEMP: O, D
        "6",
        "7",  # FC-12 calibration: O, D
        "",  # no cause of our own
    ]
    result = subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(settings.store), "fmea", "new"],
        input="\n".join(answers) + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )  # a person at the terminal: the prompts read standard input
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Failure types (numbers, comma-separated)" in result.stdout
    assert "evidence: CMP-2025-0057: Equipment FC-12 was not in calibration" in result.stdout
    assert "FMEA PFMEA-CELL-S30: added, 2 failure chains (1 with AP H), 2 control plan items" in " ".join(
        result.stdout.split()
    )
    from qualitas.store import open_store

    again = open_store(settings.store, read_only=True)
    try:
        fmea = load_fmea(again, "PFMEA-CELL-S30")
    finally:
        again.close()
    assert fmea.title == "Cell formation PFMEA"
    assert [(c.parameter, c.action_priority) for c in fmea.chains] == [("FORM-TEMP", "L"), (None, "H")]
    assert [i.characteristic for i in fmea.control_plan] == [
        "Formation temperature (FORM-TEMP)",
        "Calibration status of FC-12",
    ]
