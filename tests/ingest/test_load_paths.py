"""load_paths: detection, dry runs, RDF as it is, refusals leave the store unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_helpers import EPCIS_DIR, FIXTURES, refused

from qualitas.errors import InputError
from qualitas.ingest import PlannedLoad, detect_format, load_paths, rdf
from qualitas.store import GraphStore

TURTLE = '@prefix q: <https://w3id.org/qualitas/ontology#> .\n<urn:x:a> q:name "A" .\n<urn:x:b> q:name "B" .\n'


def test_detection(tmp_path: Path) -> None:
    assert detect_format(EPCIS_DIR / "SensorDataExample1.jsonld") == "epcis"
    assert detect_format(FIXTURES / "bom_parent_child.csv") == "bom"
    assert detect_format(FIXTURES / "ipc1752_class_c.xml") == "ipc1752"
    assert detect_format(FIXTURES / "complaints.json") == "complaint"
    assert detect_format(FIXTURES / "mes_runs.json") == "mes"
    ttl = tmp_path / "x.ttl"
    ttl.write_text(TURTLE)
    assert detect_format(ttl) == "turtle"
    odd = tmp_path / "x.csv"
    odd.write_text("foo,bar\n1,2\n")
    with pytest.raises(InputError, match="pass --format"):
        detect_format(odd)


def test_rdf_as_it_is_with_dry_run_and_syntax_error(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "data.ttl"
    path.write_text(TURTLE)
    empty = store.snapshot()  # an empty store (its metadata counters only)
    [plan] = load_paths(store, [path], agent="pytest", dry_run=True)
    assert plan == PlannedLoad(str(path.resolve()), "turtle", "add", 2)  # the source is the absolute path
    assert store.snapshot() == empty
    [result] = load_paths(store, [path], agent="pytest")
    assert (result.status, result.triples) == ("added", 2)
    bad = tmp_path / "bad.ttl"
    bad.write_text(TURTLE + "<urn:x:c> q:name .\n")
    assert rdf.simulate(bad, store).status == "refused"
    refused(store, lambda: load_paths(store, [bad], agent="pytest"), "bad.ttl:4")


def test_dry_run_reports_refusals_and_writes_nothing(store: GraphStore, tmp_path: Path) -> None:
    bad = tmp_path / "bom.csv"
    bad.write_text("Level,Part,Qty,Unit\n0,A,,\n1,B,2,zorks\n")
    empty = store.snapshot()
    plans = load_paths(store, [FIXTURES / "complaints.csv", bad], agent="pytest", dry_run=True)
    assert [p.status for p in plans] == ["add", "refused"]
    assert isinstance(plans[1], PlannedLoad) and "row 3" in (plans[1].message or "")
    assert store.snapshot() == empty


def test_progress_is_reported(store: GraphStore) -> None:
    seen: list[tuple[int, int]] = []
    load_paths(
        store,
        [FIXTURES / "complaints.csv"],
        agent="pytest",
        progress=lambda path: lambda done, total: seen.append((done, total)),
    )
    assert seen and seen[-1][0] == seen[-1][1] == (FIXTURES / "complaints.csv").stat().st_size
