"""Answers a user can trust (issue 14, items 19 and 20), through the `qualitas`
command as typed: no empty list, made-up market or double count with exit 0, and the
identifiers the CLI itself prints are accepted back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED

REPO = Path(__file__).resolve().parents[1]
TRANSFORMATION = SHARED / "fixtures" / "epcis" / "Example_9.6.4-TransformationEvent.jsonld"


def _cli(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(store), *args],
        capture_output=True, text=True, check=False, cwd=REPO, timeout=600,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("answers") / "store"
    done = _cli("demo", "load", store=path)
    assert done.returncode == 0, done.stderr
    loaded = _cli("load", str(TRANSFORMATION), store=path)
    assert loaded.returncode == 0, loaded.stderr
    return path


def test_products_json_has_each_products_bom(store: Path) -> None:
    done = _cli("products", "--json", store=store)
    assert done.returncode == 0, done.stderr
    products = {p["modelNumber"]: p for p in json.loads(done.stdout)}
    cpc = products["CPC-200"]["bom"]
    assert cpc, "products --json lists CPC-200 with an empty BOM"
    assert {"level", "partNumber", "material"} <= set(cpc[0])
    empty = [m for m, p in products.items() if p["bomRevision"] and not p["bom"]]
    assert empty == []


@pytest.mark.parametrize("market", ["DE", "XX", "GLOBAL"])
def test_gap_refuses_an_unknown_market(store: Path, market: str) -> None:
    done = _cli("gap", "CPC-200", "--market", market, "--date", "2026-11-26", store=store)
    assert done.returncode == 64, (done.returncode, done.stdout[:300], done.stderr)
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: unknown market '{market}'") and "EU" in line


def test_gap_still_answers_a_known_market_in_any_case(store: Path) -> None:
    done = _cli("gap", "CPC-200", "--market", "eu", "--date", "2026-11-26", store=store)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["market"] == "EU"


def test_demo_generate_prints_the_distinct_triple_count(tmp_path: Path, store: Path) -> None:
    out = tmp_path / "gen.nt"
    done = _cli("demo", "generate", "--units", "600", "--out", str(out), store=store)
    assert done.returncode == 0, done.stderr
    lines = [line for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    distinct = len(set(lines))
    assert f": {distinct} triples," in " ".join(done.stdout.split()), (distinct, len(lines), done.stdout)
    assert len(lines) == distinct  # nothing written twice, so a bulk load counts the same


def test_trace_complaint_accepts_the_id_complaints_json_prints(store: Path) -> None:
    listed = {c["complaintId"]: c["id"] for c in json.loads(_cli("complaints", "--json", store=store).stdout)}
    done = _cli("trace", "complaint", listed["CMP-2025-0057"], "--json", store=store)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["complaint"]["complaintId"] == "CMP-2025-0057"


@pytest.mark.parametrize(
    "lot_id", ["urn:epc:class:lgtin:4012345.011111.4444", "https://id.gs1.org/01/04012345111118/10/4444"]
)
def test_trace_lot_accepts_the_epc_class_and_digital_link(store: Path, lot_id: str) -> None:
    done = _cli("trace", "lot", lot_id, "--json", store=store)
    assert done.returncode == 0, done.stderr
    scope = json.loads(done.stdout)
    assert scope["lot"]["id"] == "https://id.gs1.org/01/04012345111118/10/4444"
    assert sorted(u["serial"] for u in scope["units"]) == ["25", "26", "27", "28"]


def _evaluate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/evaluate_nlp.py", *args],
        capture_output=True, text=True, check=False, cwd=REPO, timeout=600,
    )


def test_evaluate_nlp_says_nothing_to_score_for_an_unknown_set() -> None:
    done = _evaluate("--only", "no-such-set")
    assert "nothing to score" in done.stdout
    assert "F1" not in done.stdout
    assert done.returncode == 1


def test_evaluate_nlp_says_nothing_to_score_for_a_split_without_charges(tmp_path: Path) -> None:
    letters = REPO / "tests" / "fixtures" / "warning_letters"
    name = "amco-international-manufacturing-design-inc-681557-06252024.txt"  # charges no CFR provision
    (tmp_path / name).write_bytes((letters / name).read_bytes())
    (tmp_path / "answer_key.yaml").write_text(
        f"letters:\n  - file: {name}\n    set: empty\n    charged: []\n    other: [21 CFR 870.5310]\n",
        encoding="utf-8",
    )
    done = _evaluate(str(tmp_path), "--split")
    assert done.stdout.count("nothing to score") == 2, done.stdout  # overall and the 'empty' split
    assert "F1 1.000" not in done.stdout
    assert done.returncode == 1
