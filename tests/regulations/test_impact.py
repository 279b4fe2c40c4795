"""Scenario 4: a new catalog version adds UV-328 to the SVHC list; the impact names the
cable, its supplier, the BOM position and the product (UV-328 is in the TPE-V0 jacket)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from qualitas.regulations.catalog import default_catalog, list_versions
from qualitas.regulations.impact import catalog_impact, diff_catalogs
from qualitas.store import GraphStore

UV328 = "25973-55-1"


def _reach_raw() -> dict:  # type: ignore[type-arg]
    path = Path(default_catalog().get("eu-reach-1907-2006").file)
    return next(r for r in yaml.safe_load(path.read_text(encoding="utf-8"))["regulations"]
                if r["id"] == "eu-reach-1907-2006")


@pytest.fixture
def versions(tmp_path: Path) -> Path:
    """v2026.10 = the current catalog without UV-328; v2026.12 = with UV-328 and a tighter
    RoHS cadmium limit; both are overlays on the shipped 2026.11."""
    base = _reach_raw()
    old = copy.deepcopy(base)
    old["substances"] = [s for s in old["substances"] if s["cas"] != UV328]
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "catalog.yaml").write_text(yaml.safe_dump(
        {"version": "2026.10", "base": "2026.11", "changes": {"upsert": [old]}}), encoding="utf-8")
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "catalog.yaml").write_text(yaml.safe_dump(
        {"version": "2026.12", "base": "2026.11"}), encoding="utf-8")
    return tmp_path


def test_versions_are_found(versions: Path) -> None:
    assert {"2026.10", "2026.11", "2026.12"} <= set(list_versions(search=[versions]))


def test_impact_lists_substance_material_part_supplier_bom_position_product_market(
    demo_store: GraphStore, versions: Path
) -> None:
    rep = catalog_impact(demo_store, "2026.10", "2026.12", search=[versions])
    assert [c.id for c in rep.diff.changed] == ["eu-reach-1907-2006"]
    assert [(s.kind, s.cas) for s in rep.diff.substances] == [("added", (UV328,))]
    assert [s.cas for s in rep.substances] == [UV328]
    assert [m.grade for m in rep.materials] == ["TPE-V0"]
    assert [(p.part_number, p.suppliers) for p in rep.parts] == [("CBL-5G6", ("SUP-RKB",))]
    assert [s.supplier_id for s in rep.suppliers] == ["SUP-RKB"]
    assert [(b.bom_owner, b.revision, b.position, b.part_number, b.products) for b in rep.bom_positions] == [
        ("CC-T2-32A", "B", 10, "CBL-5G6", ("CC-T2-32A",))
    ]
    assert [(p.model, p.markets) for p in rep.products] == [("CC-T2-32A", ("EU",))]
    assert rep.markets == ("EU",)
    (req,) = rep.declaration_requests
    assert (req.supplier_id, req.parts, req.substances) == ("SUP-RKB", ("CBL-5G6",), (UV328,))
    assert "eu-reach-1907-2006" in req.regulations


def test_diff_reports_limit_changes() -> None:
    cat = default_catalog()
    rohs = cat.get("eu-rohs-2011-65")
    from dataclasses import replace
    from decimal import Decimal

    tighter = replace(rohs, limits=tuple(
        replace(lim, max_percent_w_w=Decimal("0.005")) if lim.cas == "7440-43-9" else lim for lim in rohs.limits
    ))
    new = replace(cat, version="x", records=tuple(tighter if r.id == rohs.id else r for r in cat.records))
    diff = diff_catalogs(cat, new)
    (change,) = diff.limits
    assert (change.kind, change.cas, change.new_max_percent_w_w) == ("changed", "7440-43-9", Decimal("0.005"))
    assert diff.changed[0].fields == ("limits",)


def test_no_change_no_impact(demo_store: GraphStore) -> None:
    rep = catalog_impact(demo_store, "2026.11", "2026.11")
    assert rep.diff.records == () and rep.parts == () and rep.declaration_requests == ()


def test_shipped_previous_version_impact(demo_store: GraphStore) -> None:
    """``versions/2026.10`` ships with the package: the catalog before the REACH Candidate
    List entries of 17 December 2014 were added; the impact runs as the README types it."""
    rep = catalog_impact(demo_store, "2026.10", "2026.11")
    assert [c.id for c in rep.diff.changed] == ["eu-reach-1907-2006"]
    added = {s.cas: s.date_included for s in rep.diff.substances if s.kind == "added"}
    assert set(added.values()) == {__import__("datetime").date(2014, 12, 17)}
    assert (UV328,) in added
    assert [(p.part_number, p.suppliers) for p in rep.parts] == [("CBL-5G6", ("SUP-RKB",))]
