"""A batch is known by the file's absolute path (or an explicit ``--source``), a replace is
deliberate and shows its triple counts, an empty file is refused, and ``qualitas retract``
removes a source on the record (issue 14, items 1 and 2). Run as a user runs them: the
``qualitas`` command against a store on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qualitas.audit import AuditLog
from qualitas.errors import ERROR_TABLE, InputError, NotFoundError
from qualitas.ingest import load_paths
from qualitas.store import GraphStore, open_store

REPO = Path(__file__).resolve().parents[2]
SECRET = "batch-identity-tests-secret-0123456789"
BOM_A = "Level,Part,Qty\n0,ASSY-A,\n1,PART-A1,1\n1,PART-A2,2\n"
BOM_B = "Level,Part,Qty\n0,ASSY-B,\n1,PART-B1,4\n"
INPUT_EXIT = ERROR_TABLE[InputError].exit_code
NOT_FOUND_EXIT = ERROR_TABLE[NotFoundError].exit_code


def _cli(tmp_path: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(tmp_path / "store"), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd or REPO,
        env={**os.environ, "QUALITAS_SECRET_KEY": SECRET, "QUALITAS_AGENT": "ines", "COLUMNS": "200"},
    )


def _parts(tmp_path: Path) -> set[str]:
    with open_store(tmp_path / "store", read_only=True) as store:
        rows = store.select("SELECT ?n WHERE { ?p q:partNumber ?n }")
    return {str(r["n"]) for r in rows}


def _triples(tmp_path: Path, source: Path) -> int:
    listed = json.loads(_cli(tmp_path, "batches", "--json").stdout)
    [batch] = [b for b in listed if b["source"] == str(source)]
    return int(batch["triples"])


def _trail(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit" / "audit.jsonl", secret=SECRET)


@pytest.fixture
def plants(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "plantA").mkdir()
    (tmp_path / "plantB").mkdir()
    a, b = tmp_path / "plantA" / "bom.csv", tmp_path / "plantB" / "bom.csv"
    a.write_text(BOM_A)
    b.write_text(BOM_B)
    return a, b


def test_two_files_with_one_base_name_are_two_sources(tmp_path: Path, plants: tuple[Path, Path]) -> None:
    a, b = plants
    first = _cli(tmp_path, "load", "plantA/bom.csv", cwd=tmp_path)
    second = _cli(tmp_path, "load", "plantB/bom.csv", cwd=tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert f"{a}: added" in first.stdout and f"{b}: added" in second.stdout
    # plantB's bom.csv did not replace plantA's: both plants' parts are there
    assert {"PART-A1", "PART-A2", "PART-B1"} <= _parts(tmp_path)
    listed = json.loads(_cli(tmp_path, "batches", "--json").stdout)
    assert {str(a), str(b)} <= {batch["source"] for batch in listed}


def test_a_changed_file_is_replaced_only_when_asked_with_counts(tmp_path: Path, plants: tuple[Path, Path]) -> None:
    a, _ = plants
    assert _cli(tmp_path, "load", str(a)).returncode == 0
    old_count = _triples(tmp_path, a)
    a.write_text(BOM_A.replace("1,PART-A2,2\n", "1,PART-A3,5\n1,PART-A4,1\n"))
    before = _parts(tmp_path)
    refused = _cli(tmp_path, "load", str(a))
    assert refused.returncode == INPUT_EXIT
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith(f"error: {a}: source '{a}' is already loaded with other content (")
    assert "pass --replace" in line and "graph <https://w3id.org/qualitas/graph/batch/" in line
    assert _parts(tmp_path) == before  # nothing changed
    dry = _cli(tmp_path, "load", str(a), "--dry-run")
    assert f"{a}: refused" in dry.stdout and "--replace" in dry.stdout
    dry = _cli(tmp_path, "load", str(a), "--dry-run", "--replace")
    assert f"{a}: replace (" in dry.stdout

    replaced = _cli(tmp_path, "load", str(a), "--replace")
    assert replaced.returncode == 0, replaced.stderr
    new_count = _triples(tmp_path, a)
    assert f"{a}: replaced ({old_count} triples -> {new_count} triples)" in replaced.stdout
    assert new_count > old_count
    assert {"PART-A3", "PART-A4"} <= _parts(tmp_path) and "PART-A2" not in _parts(tmp_path)
    [record] = [r for r in _trail(tmp_path).records(action="load") if r.what["files"][0]["status"] == "replaced"]
    assert record.what["files"][0]["previousTriples"] == old_count


def test_an_explicit_source_names_the_batch(tmp_path: Path, plants: tuple[Path, Path]) -> None:
    a, b = plants
    named = _cli(tmp_path, "load", str(a), "--source", "erp:plant-bom")
    assert named.returncode == 0 and "erp:plant-bom: added" in named.stdout
    # another file under the same source name is a replace, so it must be asked for
    assert _cli(tmp_path, "load", str(b), "--source", "erp:plant-bom").returncode == INPUT_EXIT
    assert "PART-B1" not in _parts(tmp_path)
    assert _cli(tmp_path, "load", str(b), "--source", "erp:plant-bom", "--replace").returncode == 0
    assert "PART-B1" in _parts(tmp_path) and "PART-A1" not in _parts(tmp_path)
    two = _cli(tmp_path, "load", str(a), str(b), "--source", "x")
    assert two.returncode == INPUT_EXIT and "--source names one file's batch" in two.stderr


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bom.csv", ""),  # 0 bytes
        ("bom.csv", " \n\n\t\n"),  # white space only
        ("bom.csv", "Level,Part,Qty\n"),  # a header and no rows
        ("data.ttl", "@prefix q: <https://w3id.org/qualitas/ontology#> .\n"),  # prefixes and no triples
    ],
)
def test_an_empty_file_is_refused_and_leaves_the_batch(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(BOM_A if name.endswith(".csv") else '<urn:x:a> <urn:x:b> "c" .\n')
    assert _cli(tmp_path, "load", str(path)).returncode == 0
    with open_store(tmp_path / "store", read_only=True) as store:
        before = store.snapshot()
    path.write_text(content)
    for flags in ((), ("--format", "bom" if name.endswith(".csv") else "turtle", "--replace")):
        refused = _cli(tmp_path, "load", str(path), *flags)
        assert refused.returncode == INPUT_EXIT, refused.stdout + refused.stderr
        [line] = refused.stderr.strip().splitlines()
        assert line.startswith(f"error: {path}: ") and ("empty" in line or "0 triples" in line)
        assert "qualitas retract" in line
    with open_store(tmp_path / "store", read_only=True) as store:
        assert store.snapshot() == before
    dry = _cli(tmp_path, "load", str(path), "--dry-run", "--replace")
    assert f"{path}: refused" in dry.stdout


def test_retract_removes_a_source_on_the_record(tmp_path: Path, plants: tuple[Path, Path]) -> None:
    a, b = plants
    assert _cli(tmp_path, "load", str(a), str(b)).returncode == 0
    count = _triples(tmp_path, a)
    gone = _cli(tmp_path, "retract", "plantA/bom.csv", "--reason", "plant A closed", cwd=tmp_path)
    assert gone.returncode == 0, gone.stderr
    assert f"{a}: retracted ({count} triples -> 0 triples)" in gone.stdout
    assert "PART-A1" not in _parts(tmp_path) and "PART-B1" in _parts(tmp_path)
    [record] = _trail(tmp_path).records(action="retract")
    assert (record.actor, record.why, record.what["ok"]) == ("ines", "plant A closed", True)
    assert record.what["files"][0]["source"] == str(a) and record.before != record.after
    again = _cli(tmp_path, "retract", str(a))
    assert again.returncode == NOT_FOUND_EXIT and f"no loaded source '{a}'" in again.stderr
    assert _cli(tmp_path, "audit", "verify").returncode == 0


def test_load_paths_names_sources_by_absolute_path(store: GraphStore, tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    for folder, bom in (("x", BOM_A), ("y", BOM_B)):
        (tmp_path / folder / "bom.csv").write_text(bom)
    results = load_paths(store, [tmp_path / "x" / "bom.csv", tmp_path / "y" / "bom.csv"], agent="pytest")
    assert [r.status for r in results] == ["added", "added"]
    assert {b.source for b in store.batches()} == {str(tmp_path / f / "bom.csv") for f in ("x", "y")}
