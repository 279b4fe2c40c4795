"""``qualitas gap``: the CLI on a real on-disk store, the PDF read back with pdftotext."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from rdflib import Graph
from typer.testing import CliRunner

from qualitas.cli import app
from qualitas.doc_templates.gap import gap_jsonable, render_gap_html
from qualitas.reasoning.gap import gap_report
from qualitas.store import GraphStore

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gap") / "store"
    result = runner.invoke(app, ["--store", str(path), "demo", "load"])
    assert result.exit_code == 0, result.output
    return path


def test_gap_json_names_the_mismatch(store: Path) -> None:
    result = runner.invoke(app, ["--store", str(store), "gap", "CPC-200", "--market", "EU", "--date", "2025-06-01"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["conforms"] is False
    kinds = {f["kind"] for f in data["findings"]}
    assert {"material_mismatch", "parameter_set_outdated", "missing_document"} <= kinds
    assert data["validationReport"]


def test_gap_ttl_parses(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.ttl"
    result = runner.invoke(app, ["--store", str(store), "gap", "CC-T2-32A", "--market", "EU", "--date", "2025-06-01",
                                 "--format", "ttl", "--out", str(out)])
    assert result.exit_code == 0, result.output
    graph = Graph().parse(out, format="turtle")
    assert "conforms" in out.read_text() and len(graph) > 0


def test_gap_unknown_product_exit_code(store: Path) -> None:
    result = runner.invoke(app, ["--store", str(store), "gap", "NOPE", "--market", "EU"])
    assert result.exit_code == 66


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)")
def test_pdf_has_findings_and_chinese(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "bp75.pdf"
    result = runner.invoke(app, ["--store", str(store), "gap", "BP-75", "--market", "CN", "--date", "2025-06-01",
                                 "--format", "pdf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "FM-240802-12" in text and "CAL-FC12-2023" in text  # the expired calibration finding
    assert "合规差距报告" in text and "校准" in text  # Chinese rendered with a CJK font, not tofu
    assert "六价铬" in text and "Cr(VI)" in text  # the China RoHS table
    assert "Evidence appendix" in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)")
def test_pdf_has_the_repairability_class_of_a_smartphone(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "qp6.pdf"
    result = runner.invoke(app, ["--store", str(store), "gap", "QP-6", "--market", "EU", "--date", "2026-11-26",
                                 "--format", "pdf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "Repairability" in text and "可维修性" in text
    assert "3.64" in text and "Class / 等级: B" in text  # R = 3.6425, class B (Regulation (EU) 2023/1669)
    assert "6.8" in text and "indice de réparabilité" in text


def test_html_reads_passed_requirements_as_met_and_shows_no_codes(demo_store: GraphStore) -> None:
    """Issue 13: "The gap report phrases passed requirements as failures"; the SJ/T 11364
    table allows O or X only."""
    healthy = render_gap_html(gap_report(demo_store, "CC-T2-32A", "EU", on=dt.date(2025, 6, 1)))
    assert "Document on file: EU declaration of conformity" in healthy
    assert "No eu_declaration_of_conformity" not in healthy and "not_checkable" not in healthy
    cn = gap_report(demo_store, "CPC-200", "CN", on=dt.date(2025, 6, 1))
    html = render_gap_html(cn)
    table = html.split("China RoHS hazardous substance table", 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<td class="center">([^<]*)</td>', table) and "?" not in re.sub(r"<[^>]+>", "", table)
    assert "锁扣" in table or "CLIP-7731" in table
    data = gap_jsonable(cn)
    assert {"en", "de", "fr", "zh", "vi"} <= set(data["findings"][0]["messages"])
