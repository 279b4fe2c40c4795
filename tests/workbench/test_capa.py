"""CAPA: an 8D opened from complaint CMP-2025-0057 carries the trace's finding (FC-12 out
of calibration during formation run FM-240802-12) into D4 and refuses D8 and closure
until D6 is verified; every change is one audited batch; 5-Why and PDCA keep their rules."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qualitas.audit import AuditLog
from qualitas.errors import ValidationError
from qualitas.store import GraphStore
from qualitas.workbench.capa import (
    Capa,
    capa_from_complaint,
    close_capa,
    effectiveness,
    list_capas,
    load_capa,
    new_capa,
    record_step,
    save_capa,
    verify_step,
)
from tests.workbench.stores import REPO, demo_store


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T09:00:00+00:00")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GraphStore, AuditLog]]:
    store, trail, _ = demo_store(tmp_path_factory.mktemp("capa"))
    try:
        yield store, trail
    finally:
        store.close()


def _through_d7(capa: Capa) -> Capa:
    for i, key in enumerate(("D0", "D1", "D2", "D3")):
        capa = record_step(capa, key, text=f"{key} recorded", by="zhang.min", at=at(f"2025-04-0{4 + i}"))
    capa = record_step(
        capa,
        "D4",
        text="FC-12 ran formation with an expired calibration; chamber 0.8 °C high",
        by="li.wei",
        at=at("2025-04-10"),
        confirm=["1"],
        evidence=["recalibration report RC-FC12-0412"],
    )
    capa = record_step(capa, "D5", text="MES interlock on calibration status", by="li.wei", at=at("2025-04-11"))
    capa = record_step(
        capa,
        "D6",
        text="interlock live on all formation cabinets",
        by="li.wei",
        at=at("2025-04-20"),
        evidence=["MES change CR-2291"],
    )
    return record_step(capa, "D7", text="calibration procedure QP-07 rev C", by="li.wei", at=at("2025-04-21"))


def test_8d_from_the_complaint_carries_the_trace_finding_into_d4(demo: tuple[GraphStore, AuditLog]) -> None:
    store, trail = demo
    capa = capa_from_complaint(store, "CMP-2025-0057", by="zhang.min", at=at("2025-04-03"), capa_id="CAPA-T-0057")
    assert capa.method == "8D" and capa.status == "open"
    assert capa.complaints == ("CMP-2025-0057",) and capa.failure_modes == ("FM-ODOUR",)
    assert "FM-240802-12" in capa.runs and "CL-240802-A" in capa.lots
    [candidate] = capa.candidates
    assert candidate.kind == "calibration_invalid" and not candidate.confirmed
    assert candidate.subject == "https://w3id.org/qualitas/id/equipment/FC-12"
    assert candidate.message.startswith("Equipment FC-12 was not in calibration during run FM-240802-12")
    assert "https://w3id.org/qualitas/id/calibration/CAL-FC12-2023" in candidate.evidence
    assert capa.next_steps == ("D0", "D1", "D2", "D3", "D4")
    save_capa(store, capa, agent="zhang.min", change="open", audit=trail, expect_new=True)
    assert load_capa(store, "CAPA-T-0057") == capa
    assert store.ask("""ASK { ?c q:code "CAPA-T-0057" ; q:rootCauseCandidate ?k ; q:addresses ?cmp .
                              ?k q:findingKind "calibration_invalid" ; q:candidateSubject ?eq .
                              ?eq q:equipmentId "FC-12" . ?cmp q:complaintId "CMP-2025-0057" }""")


def test_no_d8_and_no_closure_before_d6_is_verified(demo: tuple[GraphStore, AuditLog]) -> None:
    store, trail = demo
    capa = _through_d7(load_capa(store, "CAPA-T-0057"))
    assert capa.candidates[0].confirmed
    with pytest.raises(ValidationError, match="D8 cannot be recorded before D6 verified"):
        record_step(capa, "D8", text="team thanked", by="zhang.min", at=at("2025-04-22"))
    with pytest.raises(ValidationError, match="cannot be closed: missing D8 recorded, D6 verified"):
        close_capa(capa, by="zhang.min", at=at("2025-04-22"))
    save_capa(store, capa, agent="li.wei", change="step", audit=trail)

    capa = verify_step(capa, "D6", by="wang.fang", at=at("2025-05-20"), evidence=["no FM-ODOUR complaint since"])
    capa = record_step(capa, "D8", text="team thanked; lessons in the FMEA", by="zhang.min", at=at("2025-05-21"))
    capa = close_capa(capa, by="zhang.min", at=at("2025-05-22"))
    save_capa(store, capa, agent="zhang.min", change="close", audit=trail)
    stored = load_capa(store, "CAPA-T-0057")
    assert stored == capa and stored.status == "closed"
    d6 = stored.step("D6")
    assert d6 is not None and (d6.by, d6.verified_by) == ("li.wei", "wang.fang")
    assert d6.evidence == ("MES change CR-2291", "no FM-ODOUR complaint since")
    with pytest.raises(ValidationError, match="is closed"):
        record_step(stored, "D7", text="again", by="x")
    actions = [r.action for r in trail.records() if r.action.startswith("workbench.capa.")]
    assert actions[-3:] == ["workbench.capa.open", "workbench.capa.step", "workbench.capa.close"]


def test_effectiveness_counts_complaints_of_the_mode_before_and_after_d6(demo: tuple[GraphStore, AuditLog]) -> None:
    store, _ = demo
    capa = load_capa(store, "CAPA-T-0057")
    early = effectiveness(store, capa, window_days=90, today=dt.date(2025, 6, 1))
    assert (early.before, early.after, early.judged, early.effective) == (("CMP-2025-0057",), (), False, None)
    late = effectiveness(store, capa, window_days=90, today=dt.date(2025, 9, 1))
    assert (late.since, late.judged, late.effective) == (dt.date(2025, 5, 20), True, True)


def test_the_capa_is_reachable_from_complaint_step_product_and_failure_mode(demo: tuple[GraphStore, AuditLog]) -> None:
    store, _ = demo
    for kwargs in (
        {"complaint": "CMP-2025-0057"},
        {"step": "CELL-S30"},
        {"product": "BP-75"},
        {"failure_mode": "FM-ODOUR"},
    ):
        assert "CAPA-T-0057" in [c.id for c in list_capas(store, **kwargs)], kwargs
    assert "CAPA-T-0057" not in [c.id for c in list_capas(store, complaint="CMP-2025-0042")]


def test_d4_needs_a_confirmed_root_cause_and_rules_hold_for_5why_and_pdca() -> None:
    capa = new_capa("C-1", method="8D", title="t", by="a", at=at("2025-01-01"))
    with pytest.raises(ValidationError, match="D4 needs at least one confirmed root cause"):
        record_step(capa, "D4", text="?", by="a", at=at("2025-01-02"))
    capa = record_step(capa, "D4", text="own cause", by="a", at=at("2025-01-02"), causes=["worn fixture"])
    assert capa.candidates[0].kind == "own" and capa.candidates[0].confirmed
    with pytest.raises(ValidationError, match="cannot be verified before it was recorded"):
        verify_step(capa, "D4", by="b", at=at("2025-01-01"))

    why = new_capa("C-2", method="5-Why", title="t", by="a", at=at("2025-01-01"))
    with pytest.raises(ValidationError, match="why2 cannot be recorded before why1 recorded"):
        record_step(why, "why2", text="x", by="a", at=at("2025-01-02"))
    for key in ("problem", "why1", "why2", "root_cause", "countermeasure"):
        why = record_step(why, key, text=key, by="a", at=at("2025-01-02"))
    with pytest.raises(ValidationError, match="missing countermeasure verified"):
        close_capa(why, by="a", at=at("2025-01-03"))
    assert close_capa(verify_step(why, "countermeasure", by="b", at=at("2025-01-03")), by="b").status == "closed"

    pdca = new_capa("C-3", method="PDCA", title="t", by="a", at=at("2025-01-01"))
    for key in ("plan", "do", "check"):
        pdca = record_step(pdca, key, text=key, by="a", at=at("2025-01-02"))
    with pytest.raises(ValidationError, match="act cannot be recorded before check verified"):
        record_step(pdca, "act", text="x", by="a", at=at("2025-01-02"))
    with pytest.raises(ValidationError, match="is not one of 8D, 5-Why, PDCA"):
        new_capa("C-4", method="6S", title="t", by="a")


def test_a_capa_links_only_what_is_in_the_graph(demo: tuple[GraphStore, AuditLog]) -> None:
    store, trail = demo
    capa = new_capa(
        "CAPA-T-LOT",
        method="PDCA",
        title="Formation lot check",
        by="a",
        at=at("2025-02-01"),
        runs=["FM-240802-12"],
        lots=["CL-240802-A"],
        failure_modes=["FM-ODOUR"],
    )
    save_capa(store, capa, agent="a", change="open", audit=trail, expect_new=True)
    assert "CAPA-T-LOT" in [c.id for c in list_capas(store, step="CELL-S30")]
    before = store.snapshot()
    for field, value in (
        ("runs", ["FM-NOPE"]),
        ("lots", ["LOT-NOPE"]),
        ("failure_modes", ["FM-NOPE"]),
        ("complaints", ["CMP-NOPE"]),
    ):
        bad = new_capa("CAPA-T-BAD", method="8D", title="t", by="a", at=at("2025-02-01"), **{field: value})
        with pytest.raises(ValidationError, match=rf"CAPA CAPA-T-BAD, field {field}: unknown .*'{value[0]}'"):
            save_capa(store, bad, agent="a", change="open", audit=trail, expect_new=True)
    assert store.snapshot() == before
    with pytest.raises(ValidationError, match="CAPA CAPA-T-LOT exists already"):
        save_capa(store, capa, agent="a", change="open", audit=trail, expect_new=True)


def test_cli_opens_an_8d_from_the_complaint_and_refuses_d8(tmp_path: Path) -> None:
    env = {**os.environ, "QUALITAS_STORE": str(tmp_path / "store")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "qualitas.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            check=False,
            timeout=120,
        )

    assert cli("demo", "load").returncode == 0
    opened = cli("capa", "new", "--complaint", "CMP-2025-0057", "--at", "2025-04-03T09:00:00Z")
    assert opened.returncode == 0, opened.stderr
    assert "D4 candidate 1 [calibration_invalid]: Equipment FC-12 was not in calibration" in " ".join(
        opened.stdout.split()
    )
    capa_id = opened.stdout.split()[0]
    assert capa_id == "CAPA-2025-012"  # the demo data holds CAPA-2025-011
    refused = cli("capa", "step", capa_id, "D8", "--text", "close it")
    assert refused.returncode == 65
    assert "D8 cannot be recorded before D6 verified" in refused.stderr
    assert cli("capa", "close", capa_id).returncode == 65
