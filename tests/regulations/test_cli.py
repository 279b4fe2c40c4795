from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from qualitas.regulations import cli
from qualitas.regulations.catalog import default_catalog
from qualitas.settings import get_settings
from qualitas.store import open_store

runner = CliRunner()


def test_list_json_returns_every_record_with_fields() -> None:
    result = runner.invoke(cli.app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["count"] == len(default_catalog())
    rec = data["regulations"][0]
    for key in ("id", "identifier", "identifier_type", "title", "jurisdiction", "markets", "instrument_type",
                "status", "dates", "amends", "repeals", "superseded_by", "categories", "features",
                "conformity_route", "required_documents", "markings", "manual_languages", "source_url",
                "verified", "verified_fields", "article_dates", "date_sources"):
        assert key in rec


def test_show_and_validate() -> None:
    result = runner.invoke(cli.app, ["show", "eu-rohs-2011-65", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["identifier"] == "32011L0065"
    assert runner.invoke(cli.app, ["show", "nope"]).exit_code == 66
    result = runner.invoke(cli.app, ["validate", "--json"])
    issues = json.loads(result.stdout)["issues"]
    # only the two standards files (kept by another owner) may still hold issues
    assert [i for i in issues if not i["file"].endswith(("eu-harmonised-standards.yaml",
                                                          "international-standards.yaml"))] == []
    assert result.exit_code == (65 if issues else 0)


def test_impact_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qualitas.demo.scenario import demo_graph

    store_dir = tmp_path / "store"
    store = open_store(store_dir)
    store.load_triples(iter(demo_graph()), source="demo", sha256="demo", agent="test", format="nt")
    store.close()
    monkeypatch.setenv("QUALITAS_STORE", str(store_dir))
    get_settings.cache_clear()
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "catalog.yaml").write_text(
        yaml.safe_dump({"version": "2026.10", "base": "2026.11", "changes": {"remove": ["eu-reach-1907-2006"]}}),
        encoding="utf-8")
    app = typer.Typer()
    app.command("impact")(cli.impact)
    app.command("noop")(lambda: None)
    result = runner.invoke(app, ["impact", "--from", "2026.10", "--to", "2026.11", "--json",
                                 "--versions-dir", str(tmp_path)])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [c["id"] for c in data["diff"]["records"]] == ["eu-reach-1907-2006"]
    assert "CBL-5G6" in [p["part_number"] for p in data["parts"]]
    # the whole REACH record is new: UV-328 (cable jacket) and lead (brass contacts) both count
    assert [r["supplier_id"] for r in data["declaration_requests"]] == ["SUP-RKB", "SUP-VNC"]
