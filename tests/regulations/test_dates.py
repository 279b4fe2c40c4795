"""Catalog truth over time (issue 20): status derived from dates, per-article dates,
``upcoming``, ``validate`` on verified records, and one home per limit."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from rdflib import Graph
from typer.testing import CliRunner

from qualitas.demo import demo_graph
from qualitas.ontology import ONTOLOGY_FILE, Q
from qualitas.reasoning.gap import gap_report
from qualitas.regulations import cli
from qualitas.regulations.catalog import CATALOG_ROOT, date_changes, default_catalog, validate_catalog
from qualitas.settings import get_settings
from qualitas.store import open_store

runner = CliRunner()
D = dt.date


@pytest.mark.parametrize(
    ("rid", "before", "after", "was", "becomes"),
    [
        ("eu-pld-85-374", D(2026, 12, 8), D(2026, 12, 10), "in_force", "repealed"),
        ("eu-pld-2024-2853", D(2026, 12, 8), D(2026, 12, 10), "adopted_not_yet_applicable", "in_force"),
        ("eu-machinery-directive-2006-42", D(2027, 1, 19), D(2027, 1, 20), "in_force", "repealed"),
        ("eu-machinery-regulation-2023-1230", D(2027, 1, 19), D(2027, 1, 20), "adopted_not_yet_applicable",
         "in_force"),
        ("cn-gb-26572-2025", D(2027, 7, 31), D(2027, 8, 1), "adopted_not_yet_applicable", "in_force"),
        ("cn-gb-t-26572-2011", D(2027, 7, 31), D(2027, 8, 1), "in_force", "repealed"),
        ("eu-cpr-305-2011", D(2026, 1, 7), D(2026, 1, 8), "in_force", "repealed"),
        ("eu-red-da-2022-30", D(2025, 7, 31), D(2025, 8, 1), "adopted_not_yet_applicable", "in_force"),
    ],
)
def test_status_either_side_of_each_change(rid: str, before: dt.date, after: dt.date, was: str, becomes: str) -> None:
    r = default_catalog().get(rid)
    assert (r.status_on(before), r.status_on(after)) == (was, becomes)


def test_mdr_transition_and_cpr_articles_are_dated_per_article() -> None:
    cat = default_catalog()
    mdr = [c for c in date_changes(cat, D(2027, 12, 30), D(2029, 1, 1)) if c.regulation_id == "eu-mdr-2017-745"]
    assert [(c.on, c.kind) for c in mdr] == [
        (D(2027, 12, 31), "end_of_transition"), (D(2028, 12, 31), "end_of_transition"),
        (D(2028, 12, 31), "end_of_transition"),
    ]
    assert "class III" in (mdr[0].articles or "")
    assert mdr[0].source == "https://eur-lex.europa.eu/eli/reg/2023/607/oj"
    assert cat.get("eu-mdr-2017-745").status_on(D(2028, 12, 31)) == "in_force"
    (kept,) = cat.get("eu-cpr-305-2011").article_dates
    assert kept.dates.repealed == D(2040, 1, 8) and "Art. 94" in kept.articles


def test_no_record_stores_a_status_and_every_repeal_is_dated() -> None:
    mine = ("eu-nlf-product-safety", "eu-substances-environment", "us", "cn", "asia-uk")
    for name in mine:
        data = yaml.safe_load((CATALOG_ROOT / "catalog" / f"{name}.yaml").read_text(encoding="utf-8"))
        assert not [r["id"] for r in data["regulations"] if "status" in r], name
    for r in default_catalog():
        if r.superseded_by and Path(r.file).stem in mine:
            assert r.dates.repealed is not None, r.id


def test_list_json_judges_status_on_the_date_asked() -> None:
    rows = {}
    for on in ("2026-12-08", "2026-12-10"):
        result = runner.invoke(cli.app, ["list", "--market", "EU", "--json", "--on", on])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["on"] == on
        rows[on] = {r["id"]: r for r in data["regulations"]}
    assert rows["2026-12-08"]["eu-pld-85-374"]["status"] == "in_force"
    assert rows["2026-12-10"]["eu-pld-85-374"]["status"] == "repealed"
    assert rows["2026-12-10"]["eu-pld-85-374"]["date_sources"] == {
        "repealed": "https://eur-lex.europa.eu/eli/dir/2024/2853/oj"}
    assert rows["2026-12-10"]["eu-mdr-2017-745"]["article_dates"][0]["dates"]["end_of_transition"] == "2027-12-31"
    result = runner.invoke(cli.app, ["list", "--status", "repealed", "--on", "2026-12-10", "--json"])
    assert "eu-pld-85-374" in {r["id"] for r in json.loads(result.stdout)["regulations"]}


def _store_with_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, demo: bool) -> None:
    store_dir = tmp_path / "store"
    store = open_store(store_dir)
    if demo:
        store.load_triples(iter(demo_graph()), source="demo", sha256="demo", agent="test", format="nt")
    store.close()
    monkeypatch.setenv("QUALITAS_STORE", str(store_dir))
    get_settings.cache_clear()


def test_upcoming_lists_pld_and_machinery_with_the_products_they_touch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_with_demo(tmp_path, monkeypatch, demo=True)
    try:
        result = runner.invoke(cli.app, ["upcoming", "--within", "60d", "--on", "2026-12-01", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["from"], data["to"]) == ("2026-12-01", "2027-01-30")
    got = {(c["regulation_id"], c["kind"], c["on"]): c for c in data["changes"]}
    assert ("eu-pld-85-374", "repealed", "2026-12-09") in got
    assert ("eu-pld-2024-2853", "application", "2026-12-09") in got
    assert ("eu-machinery-directive-2006-42", "repealed", "2027-01-20") in got
    assert ("eu-machinery-regulation-2023-1230", "application", "2027-01-20") in got
    assert all("2026-12-01" <= c["on"] <= "2027-01-30" for c in data["changes"])
    assert data["products_in_store"] > 0
    pld = got[("eu-pld-85-374", "repealed", "2026-12-09")]
    assert (pld["status_before"], pld["status_after"]) == ("in_force", "repealed")
    assert {p["market"] for p in pld["products"]} >= {"EU"}


def test_upcoming_says_when_the_store_has_no_products(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _store_with_demo(tmp_path, monkeypatch, demo=False)
    try:
        result = runner.invoke(cli.app, ["upcoming", "--within", "180d", "--on", "2026-12-01"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "no products" in result.stdout
    assert "eu-pld-85-374" in result.stdout


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "cat"
    shutil.copytree(CATALOG_ROOT / "catalog", root / "catalog")
    shutil.copy(CATALOG_ROOT / "catalog.yaml", root / "catalog.yaml")
    return root


def _set(root: Path, file: str, rid: str, **values: object) -> None:
    path = root / "catalog" / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for r in data["regulations"]:
        if r["id"] == rid:
            r.update(values)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"source_url": "https://www.cnca.gov.cn/"}, "source_url"),
        ({"source_url": "https://eur-lex.europa.eu/homepage.html"}, "source_url"),
        ({"source_url": "https://eur-lex.europa.eu/en/"}, "source_url"),
        ({"verification_note": None}, "verification_note"),
        ({"verified_fields": []}, "verified_fields"),
        ({"verified_fields": ["identifier", "dates.repealed"]}, "verified_fields"),
        ({"verification_note": "application date from memory"}, "verification_note"),
    ],
)
def test_validate_fails_on_a_verified_record_without_its_page(
    tmp_path: Path, values: dict[str, object], field: str
) -> None:
    root = _copy(tmp_path)
    _set(root, "eu-nlf-product-safety.yaml", "eu-lvd-2014-35", **values)
    hits = [i for i in validate_catalog(root).issues if i.record == "eu-lvd-2014-35" and i.field == field]
    assert hits
    result = runner.invoke(cli.app, ["validate", "--path", str(root)])
    assert result.exit_code == 65
    line = next(ln for ln in result.stdout.splitlines() if "[eu-lvd-2014-35]" in ln and field in ln)
    assert "eu-nlf-product-safety.yaml" in line


def test_validate_accepts_the_same_record_when_unverified(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _set(root, "eu-nlf-product-safety.yaml", "eu-lvd-2014-35", source_url="https://www.cnca.gov.cn/",
         verified=False)
    assert not [i for i in validate_catalog(root).issues if i.record == "eu-lvd-2014-35"]


def test_a_stored_status_contradicting_the_dates_is_reported(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _set(root, "eu-nlf-product-safety.yaml", "eu-lvd-2006-95", status="in_force")
    _set(root, "eu-nlf-product-safety.yaml", "eu-lvd-2014-35", status="repealed")
    issues = {(i.record, i.field) for i in validate_catalog(root).issues}
    assert ("eu-lvd-2006-95", "status") in issues
    assert ("eu-lvd-2014-35", "dates.repealed") in issues


def test_each_limit_has_one_home() -> None:
    cat = default_catalog()

    def cas(rid: str) -> set[str]:
        return {lim.cas or lim.substance for lim in cat.get(rid).limits}

    assert not cas("eu-rohs-2011-65") & cas("eu-rohs-da-2015-863")
    assert cas("eu-rohs-da-2015-863") == {"117-81-7", "85-68-7", "84-74-2", "84-69-5"}
    annex_xvii = cas("eu-reach-annex-xvii-2018-2005") | cas("eu-reach-annex-xvii-2015-628") | cas(
        "eu-reach-annex-xvii-1272-2013")
    assert not cas("eu-reach-1907-2006") & annex_xvii


def test_a_substance_over_one_limit_yields_exactly_one_finding() -> None:
    """The charging cable's brass contact holds lead above RoHS's 0.1 %; without its
    exemption claim it breaks one limit, and the report says so once."""
    graph: Graph = demo_graph()
    graph.remove((None, Q.claimsExemption, None))
    store = open_store(None)
    try:
        store.load_file(ONTOLOGY_FILE, format="turtle", source="ontology", agent="pytest")
        sha = hashlib.sha256(graph.serialize(format="nt").encode()).hexdigest()
        store.load_triples(graph, source="demo", sha256=sha, agent="pytest", format="generated")
        report = gap_report(store, "CC-T2-32A", "EU", on=D(2025, 6, 1))
    finally:
        store.close()
    limits = [f for f in report.findings if f.kind == "substance_limit"]
    assert len(limits) == 1, [(f.regulation_id, f.message_en) for f in limits]
    assert limits[0].regulation_id == "eu-rohs-2011-65"
