"""The `qualitas` command as a user runs it: a subprocess against an on-disk store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(store), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "store"
    first = _cli("demo", "load", store=path)
    assert first.returncode == 0, first.stderr
    assert "added" in first.stdout
    return path


def test_demo_load_twice_changes_nothing(store: Path) -> None:
    again = _cli("demo", "load", "--json", store=store)
    assert again.returncode == 0
    assert json.loads(again.stdout)["status"] == "unchanged"


def test_products_json_lists_demo_products(store: Path) -> None:
    done = _cli("products", "--json", store=store)
    assert done.returncode == 0, done.stderr
    models = {p["modelNumber"]: p for p in json.loads(done.stdout)}
    assert set(models) == {"AG-125", "BP-75", "CC-T2-32A", "CPC-200", "OX-50", "QP-6", "QX-EV5"}
    assert models["BP-75"]["features"] == ["automotive_supply_chain", "electronic_control", "ev_traction_battery"]


def test_complaints_json_lists_demo_complaints(store: Path) -> None:
    done = _cli("complaints", "--json", store=store)
    items = {c["complaintId"]: c for c in json.loads(done.stdout)}
    assert set(items) == {"CMP-2025-0042", "CMP-2025-0057", "CMP-2025-0061"}
    assert {"lang": "zh", "text": "车内空气有异味，充电后更明显"} in items["CMP-2025-0057"]["texts"]


def test_trace_complaint_json(store: Path) -> None:
    done = _cli("trace", "complaint", "CMP-2025-0057", "--json", store=store)
    trace = json.loads(done.stdout)
    [finding] = trace["findings"]
    assert finding["kind"] == "calibration_invalid"
    assert finding["actual"] == "CAL-FC12-2023 valid until 2024-06-30"


def test_trace_lot_json(store: Path) -> None:
    done = _cli("trace", "lot", "NPP-24-0913", "--json", store=store)
    scope = json.loads(done.stdout)
    assert [u["serial"] for u in scope["units"]] == ["LFVEV5A28R0004711"]


def test_human_trace_names_the_finding(store: Path) -> None:
    done = _cli("trace", "complaint", "CMP-2025-0042", store=store)
    assert done.returncode == 0
    assert "PBT+GF25" in done.stdout and "v1" in done.stdout


def test_errors_are_one_line_with_exit_code(store: Path, tmp_path: Path) -> None:
    missing = _cli("trace", "complaint", "CMP-NOPE", store=store)
    assert missing.returncode == 66
    assert missing.stderr.strip() == "error: no complaint with id 'CMP-NOPE'"
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://e/> .\nex:a ex:b "unterminated .\n', encoding="utf-8")
    refused = _cli("load", str(bad), store=store)
    assert refused.returncode == 65
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}:2: ")
    assert "Traceback" not in refused.stderr
    debug = _cli("--debug", "load", str(bad), store=store)
    assert "Traceback" in debug.stderr


def test_load_reports_added_then_unchanged(store: Path, tmp_path: Path) -> None:
    data = tmp_path / "extra.ttl"
    data.write_text('<http://e/a> <http://e/b> "c" .\n', encoding="utf-8")
    first = _cli("load", str(data), store=store)
    assert "extra.ttl: added (1 triples)" in first.stdout
    second = _cli("load", str(data), store=store)
    assert "extra.ttl: unchanged" in second.stdout


def test_demo_generate_writes_a_scaled_set(tmp_path: Path, store: Path) -> None:
    out = tmp_path / "gen.nt"
    done = _cli("demo", "generate", "--units", "300", "--out", str(out), store=store)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 0
    assert "300 units" in done.stdout


def test_load_with_a_column_mapping_and_dry_run(store: Path) -> None:
    fixtures = REPO / "tests" / "ingest" / "fixtures"
    bom = fixtures / "bom_plm_de.csv"
    mapping = fixtures / "mapping_plm.yaml"
    dry = _cli("load", str(bom), "--format", "bom", "--columns", str(mapping), "--dry-run", store=store)
    assert dry.returncode == 0, dry.stderr
    assert "bom_plm_de.csv: add" in dry.stdout
    done = _cli("load", str(bom), "--format", "bom", "--columns", str(mapping), store=store)
    assert done.returncode == 0, done.stderr
    assert "bom_plm_de.csv: added" in done.stdout
    # An option the format does not take is refused, not ignored.
    wrong = _cli("load", str(bom), "--format", "turtle", "--sheet", "BOM", store=store)
    assert wrong.returncode == 64
    assert "takes no option sheet" in wrong.stderr


def test_users_keys_and_demo_key(tmp_path: Path) -> None:
    from qualitas.auth import Authenticator
    from qualitas.errors import AuthenticationError
    from qualitas.settings import Settings

    store = tmp_path / "store"
    assert _cli("users", "add", "ana", "--role", "compliance", store=store).returncode == 0
    refused = _cli("users", "add", "bob", "--role", "wizard", store=store)
    assert refused.returncode == 64 and "role 'wizard' is not one of" in refused.stderr
    created = _cli("keys", "create", "ana", "--label", "laptop", store=store)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    listed = _cli("keys", "list", "--json", store=store)
    assert key not in listed.stdout and '"label": "laptop"' in listed.stdout

    first = _cli("demo", "key", store=store).stdout.strip()
    second = _cli("demo", "key", store=store).stdout.strip()
    auth = Authenticator(Settings(store=store))
    try:
        assert auth.from_credential(key).role == "compliance"
        assert auth.from_credential(second).name == "demo"
        try:
            auth.from_credential(first)
        except AuthenticationError as exc:
            assert "revoked" in exc.message
        else:
            raise AssertionError("the earlier demo key should be revoked")
    finally:
        auth.close()
