"""The workbench over GraphQL against a real server: the wizard and CAPA mutations by role,
each recorded once in the audit trail, and FMEA, control plan and CAPA reachable from a
product, a process step and a complaint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from qualitas.audit import open_audit_log
from qualitas.graphql.app import create_app
from qualitas.settings import Settings
from tests.graphql.serving import gql, issue_keys, load_demo_store
from tests.workbench.stores import ANSWERS, REPO, serve_http

WORKBENCH = """query W($product: String, $step: String, $complaint: String) {
  qualityWorkbench(product: $product, step: $step, complaint: $complaint) {
    fmeas { id high chains steps }
    controlPlan { key characteristic specification controlMethod reactionPlan }
    capas { id status complaints }
  }
}"""
CREATE = """mutation C($answers: JSON!) {
  createFmea(answers: $answers, reason: "odour") { id chains { row actionPriority } controlPlan { key } }
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Settings]]:
    settings = Settings(store=load_demo_store(tmp_path_factory.mktemp("wb-api") / "store"))
    keys = issue_keys(settings)
    with serve_http(create_app(settings)) as base:
        yield base, keys, settings


def _answers() -> dict[str, object]:
    raw = yaml.safe_load(ANSWERS.read_text(encoding="utf-8"))
    raw["edge_config"] = str(REPO / "examples" / "edge" / "cell-formation.yaml")  # a file on the server
    return json.loads(json.dumps(raw, default=str))  # dates as text, as a client sends them


def test_roles_decide_who_may_edit(server: tuple[str, dict[str, str], Settings]) -> None:
    base, keys, _ = server
    for role in ("auditor", "compliance", "edge"):
        refused = gql(base, CREATE, key=keys[role], answers=_answers())
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", role
    refused = gql(base, 'mutation { openCapa(complaintId: "CMP-2025-0057") { id } }', key=keys["auditor"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_wizard_and_capa_over_graphql_reachable_from_product_step_and_complaint(
    server: tuple[str, dict[str, str], Settings],
) -> None:
    base, keys, settings = server
    made = gql(base, CREATE, key=keys["engineer"], answers=_answers())
    assert "errors" not in made, made
    fmea = made["data"]["createFmea"]
    assert fmea["id"] == "PFMEA-CELL-S30"
    assert [c["actionPriority"] for c in fmea["chains"]] == ["L", "L", "L", "H"]
    assert len(fmea["controlPlan"]) == 4

    opened = gql(
        base,
        """mutation { openCapa(complaintId: "CMP-2025-0057") {
        id method nextSteps candidates { kind subject confirmed } complaints failureModes } }""",
        key=keys["compliance"],
    )
    assert "errors" not in opened, opened
    capa = opened["data"]["openCapa"]
    assert capa["method"] == "8D" and capa["nextSteps"] == ["D0", "D1", "D2", "D3", "D4"]
    assert capa["candidates"] == [
        {"kind": "calibration_invalid", "subject": "https://w3id.org/qualitas/id/equipment/FC-12", "confirmed": False}
    ]
    early = gql(
        base,
        'mutation($id: String!) { recordCapaStep(id: $id, step: "D8", text: "done") { id } }',
        key=keys["engineer"],
        id=capa["id"],
    )
    assert early["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert "D8 cannot be recorded before D6 verified" in early["errors"][0]["message"]

    for variables in ({"product": "CELL-LFP-280"}, {"step": "CELL-S30"}, {"complaint": "CMP-2025-0057"}):
        answer = gql(base, WORKBENCH, key=keys["auditor"], **variables)
        assert "errors" not in answer, (variables, answer)
        wb = answer["data"]["qualityWorkbench"]
        assert [f["id"] for f in wb["fmeas"]] == ["PFMEA-CELL-S30"], variables
        assert [i["characteristic"] for i in wb["controlPlan"]][:1] == ["Formation charge current (FORM-CURR)"]
        assert "SPC X-bar/R chart of formation.current" in wb["controlPlan"][0]["controlMethod"]
        if "product" not in variables:
            assert [c["id"] for c in wb["capas"]] == [capa["id"]], variables
    by_pack = gql(base, WORKBENCH, key=keys["auditor"], product="BP-75")["data"]["qualityWorkbench"]
    assert [c["id"] for c in by_pack["capas"]] == [capa["id"]]  # its runs made BP-75 units

    bad = gql(base, WORKBENCH, key=keys["auditor"], product="BP-75", step="CELL-S30")
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    ap = gql(
        base,
        "{ actionPriority(severity: 9, occurrence: 4, detection: 1) { priority verified source } }",
        key=keys["auditor"],
    )["data"]["actionPriority"]
    assert ap["priority"] == "M" and ap["source"]["edition"] == "1st edition, 2019"

    records = list(open_audit_log(settings).records())
    actions = [r.action for r in records]
    assert actions.count("workbench.fmea.new") == 1 and actions.count("workbench.capa.open") == 1
    # recorded once, with the batch; what the extension records are the refused attempts
    assert all(r.what["ok"] is False for r in records if r.action == "graphql.mutation.createFmea")


def test_a_worksheet_over_graphql_with_a_bad_line_stores_nothing(
    server: tuple[str, dict[str, str], Settings], tmp_path: Path
) -> None:
    base, keys, _ = server
    from qualitas.workbench.worksheet import HEADERS

    line = dict.fromkeys(HEADERS, "")
    line.update(
        {
            "FMEA ID": "PFMEA-X",
            "FMEA Type": "PFMEA",
            "FMEA Title": "x",
            "Row": "1",
            "Process Item": "i",
            "Process Step": "s",
            "Process Work Element": "w",
            "Failure Effect (FE)": "e",
            "Severity (S)": "12",
            "Failure Mode (FM)": "m",
            "Failure Cause (FC)": "c",
            "Occurrence (O)": "2",
            "Detection (D)": "2",
        }
    )
    text = ",".join(HEADERS) + "\n" + ",".join(line[h] for h in HEADERS) + "\n"
    answer = gql(
        base, "mutation($csv: String!) { importFmeaWorksheet(csv: $csv) { id status } }", key=keys["engineer"], csv=text
    )
    assert answer["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert "csv: row 2, field Severity (S): 12 is not a rating from 1 to 10" in answer["errors"][0]["message"]
    assert gql(base, '{ fmeas(item: "PFMEA-X") { id } }', key=keys["auditor"])["data"]["fmeas"] == []
