"""Market document packs: built through the CLI on a real on-disk store, opened the way a
compliance team and an auditor would (python-docx, pdftotext, pdffonts, verify-pack)."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest
from typer.testing import CliRunner

from qualitas.cli import app
from qualitas.doc_templates.docx import render_docx
from qualitas.doc_templates.pack import (
    Block,
    DocModel,
    PackError,
    Section,
    _html_env,
    build_pack,
    pack_path,
    render_html,
    render_pdf,
)
from qualitas.regulations.catalog import default_catalog
from qualitas.regulations.citation import eu_citation
from qualitas.store import open_store

runner = CliRunner()
DATE = "2026-03-01"
PACKS = {
    ("CPC-200", "EU"): "draft",
    ("CC-T2-32A", "EU"): "final",
    ("OX-50", "US"): "final",
    ("BP-75", "CN"): "draft",
    ("AG-125", "VN"): "draft",
}
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None or shutil.which("pdffonts") is None,
                                   reason="needs poppler-utils (pdftotext, pdffonts)")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pack") / "store"
    result = runner.invoke(app, ["--store", str(path), "demo", "load"])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def packs(store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    out = tmp_path_factory.mktemp("packs")
    made = {}
    for product, market in PACKS:
        result = runner.invoke(app, ["--store", str(store), "pack", product, "--market", market, "--out", str(out),
                                     "--date", DATE])
        assert result.exit_code == 0, result.output
        made[(product, market)] = Path(result.stdout.strip().splitlines()[-1])
    return made


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _pdf_text(data: bytes, tmp: Path) -> str:
    f = tmp / "doc.pdf"
    f.write_bytes(data)
    out = subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", " ", out)


def _docx_text(data: bytes) -> str:
    d = docx.Document(io.BytesIO(data))
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            parts += [c.text for c in row.cells]
    parts += [p.text for s in d.sections for p in s.header.paragraphs]
    return re.sub(r"\s+", " ", " ".join(parts))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_every_pack_has_its_files_and_matching_hashes(packs: dict[tuple[str, str], Path]) -> None:
    for (product, market), path in packs.items():
        files = _members(path)
        manifest = json.loads(files.pop("manifest.json"))
        assert manifest["status"] == PACKS[(product, market)], (product, market)
        assert manifest["product"]["model"] == product and manifest["market"] == market
        assert manifest["catalogVersion"] and manifest["qualitasVersion"] and manifest["generatedAt"]
        assert len(manifest["storeSnapshot"]["id"]) == 64
        listed = {f["path"]: f["sha256"] for f in manifest["files"]}
        assert set(listed) == set(files)
        import hashlib

        assert all(hashlib.sha256(files[p]).hexdigest() == sha for p, sha in listed.items())
        assert {"gap-report/gap-report.pdf", "gap-report/gap-report.json", "validation/validation-report.ttl",
                "validation/data-graph.ttl", "validation/shapes-graph.ttl"} <= set(files)
        assert any(p.endswith(".docx") for p in files) and any(p.startswith("documents/") and p.endswith(".pdf")
                                                              for p in files)


@needs_poppler
def test_documents_carry_product_facts_regulations_and_findings(packs: dict[tuple[str, str], Path],
                                                                tmp_path: Path) -> None:
    catalog = default_catalog().by_id
    for (product, _market), path in packs.items():
        files = _members(path)
        manifest = json.loads(files["manifest.json"])
        gap = json.loads(files["gap-report/gap-report.json"])
        route = manifest["route"]
        for doc in manifest["documents"]:
            pdf, docx_path = doc["files"]
            texts = (_pdf_text(files[pdf], tmp_path), _docx_text(files[docx_path]))
            for text in texts:
                assert product in text, (pdf, product)
            if doc["key"] == "compliance-matrix" and doc["language"] == "en":
                # every act of the route, by its official citation (EU) or identifier
                flat = re.sub(r"[\s-]+", "", texts[0])
                for rid in (*route["declared"], *route["obligations"], *route["typeApproval"]):
                    reg = catalog[rid]
                    cite = eu_citation(reg.identifier, reg.instrument_type, "en") or reg.identifier
                    assert re.sub(r"[\s-]+", "", cite) in flat, (pdf, rid)
            if doc["language"] in ("en", "zh"):
                for f in gap["findings"][:3]:  # open findings are listed in every draft document
                    message = f["messageEn"] if doc["language"] == "en" else f["messageZh"]
                    assert re.sub(r"\s+", "", message)[:40] in re.sub(r"\s+", "", texts[0]), pdf


@needs_poppler
def test_cover_is_a_vehicle_part_with_draft_evidence_and_its_findings(packs: dict[tuple[str, str], Path],
                                                                     tmp_path: Path) -> None:
    files = _members(packs[("CPC-200", "EU")])
    assert not any("declaration-of-conformity" in name for name in files)
    words = {"en": "DRAFT", "de": "ENTWURF", "fr": "PROJET"}
    for lang, word in words.items():
        pdf = _pdf_text(files[f"documents/vehicle-part-evidence.{lang}.pdf"], tmp_path)
        doc = _docx_text(files[f"documents/vehicle-part-evidence.{lang}.docx"])
        for text in (pdf, doc):
            assert word in text
            assert "PBT+GF25" in text  # the material mismatch finding
    en = _pdf_text(files["documents/compliance-matrix.en.pdf"], tmp_path)
    assert "neither type-approved nor covered by CE-marking legislation" in _norm(en)
    assert "Regulation (EU) 2018/858, Art. 2(1) and Annex II" in _norm(en)  # the exclusion, with its basis


@needs_poppler
def test_cable_declaration_is_final_with_its_own_standards(packs: dict[tuple[str, str], Path],
                                                           tmp_path: Path) -> None:
    files = _members(packs[("CC-T2-32A", "EU")])
    for lang, lvd in (("en", "Directive 2014/35/EU"), ("de", "Richtlinie 2014/35/EU"), ("fr", "Directive 2014/35/UE")):
        pdf = _pdf_text(files[f"documents/eu-declaration-of-conformity.{lang}.pdf"], tmp_path)
        doc = _docx_text(files[f"documents/eu-declaration-of-conformity.{lang}.docx"])
        for text in (pdf, doc):
            assert "DRAFT" not in text and "ENTWURF" not in text and "PROJET" not in text
            assert lvd in text and "2011/65/" in text
            assert "2014/30/" not in text  # EMC Directive Art. 2(2)(d): a passive cable is excluded
            assert "EN 62196-2:2017" in text and "EN 50620:2017" in text
            assert "EN 55032" not in text and "EN 60335-1" not in text and "62368-1" not in text
            assert "DoC-CC-T2-32A-2024-01" in text
    assert "EU-Konformitätserklärung" in _pdf_text(files["documents/eu-declaration-of-conformity.de.pdf"], tmp_path)


@needs_poppler
def test_fda_documents_of_the_oximeter(packs: dict[tuple[str, str], Path], tmp_path: Path) -> None:
    files = _members(packs[("OX-50", "US")])
    k = _pdf_text(files["documents/fda-510k-summary.en.pdf"], tmp_path)
    for fact in ("510(k) Summary", "807.92(a)(3)", "K131021", "Nonin", "DQA", "21 CFR 870.2700",
                 "spot-checking", "Qualitas Demo Medical Inc.", "ISO 80601-2-61"):
        assert fact in k, fact
    assert "09520012345674" in _docx_text(files["documents/udi-summary.en.docx"])
    qms = _pdf_text(files["documents/qmsr-qms-summary.en.pdf"], tmp_path)
    assert "ISO 13485:2016" in qms and "QM-QDMED-07" in qms and "2026-02-02" in qms


def _font_coverage(pdf: Path) -> tuple[list[str], set[str]]:
    """Names of the fonts a PDF uses (with their 'emb' column) and the characters the
    system files of those fonts cover (fontTools cmap)."""
    from fontTools.ttLib import TTCollection, TTFont

    lines = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    listing = subprocess.run(["fc-list", "-f", "%{postscriptname}\t%{file}\n"], capture_output=True, text=True,
                             check=True).stdout
    files = {re.sub(r"[^a-z]", "", k.lower()): v for k, v in (
        line.split("\t", 1) for line in listing.splitlines() if "\t" in line)}
    covered: set[str] = set()
    names = []
    for line in lines:
        name = line.split()[0]
        emb = line.split()[-5]
        names.append(f"{name} {emb}")
        family = name.split("+", 1)[-1]
        key = re.sub(r"[^a-z]", "", family.lower())
        # weasyprint names synthetic bold or medium faces after the regular file they come from
        file = files.get(key) or files[re.sub(r"(bold|oblique|italic|medium|regular)+$", "", key)]
        fonts = TTCollection(file).fonts if file.endswith(".ttc") else [TTFont(file)]
        for font in fonts:
            covered |= {chr(c) for c in font.getBestCmap()}
    return names, covered


@needs_poppler
@pytest.mark.parametrize(("key", "doc", "words"), [
    (("BP-75", "CN"), "compliance-matrix.zh", ("合规矩阵", "法律路径", "义务", "草稿")),
    (("BP-75", "CN"), "compliance-matrix.zh", ("合规矩阵", "草稿")),
    (("AG-125", "VN"), "vn-labelling.vi", ("Nội dung ghi nhãn hàng hóa", "Hướng dẫn sử dụng bằng tiếng Việt",
                                           "THIẾU", "Sản xuất tại Trung Quốc", "BẢN NHÁP",
                                           "Công ty TNHH Dụng cụ Qualitas Việt Nam")),
])
def test_chinese_and_vietnamese_pdfs_embed_fonts_covering_their_text(
    packs: dict[tuple[str, str], Path], tmp_path: Path, key: tuple[str, str], doc: str, words: tuple[str, ...]
) -> None:
    files = _members(packs[key])
    pdf = tmp_path / f"{doc}.pdf"
    pdf.write_bytes(files[f"documents/{doc}.pdf"])
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for word in words:
        assert word in _norm(text) or word in _docx_text(files[f"documents/{doc}.docx"]), word
    fonts, covered = _font_coverage(pdf)
    assert fonts and all(f.endswith(" yes") for f in fonts), fonts  # every font embedded
    missing = {c for c in text if not c.isspace() and c not in covered}
    assert not missing, sorted(missing)


@needs_poppler
def test_vietnam_pack_catches_the_missing_vietnamese_manual(packs: dict[tuple[str, str], Path],
                                                            tmp_path: Path) -> None:
    files = _members(packs[("AG-125", "VN")])
    gap = json.loads(files["gap-report/gap-report.json"])
    assert [(f["regulationId"], f["kind"]) for f in gap["findings"]] == [("vn-decree-43-2017", "missing_document")]
    text = _pdf_text(files["documents/vn-labelling.vi.pdf"], tmp_path)
    assert re.search(r"Hướng dẫn sử dụng bằng tiếng Việt \[chưa có dữ liệu trong Qualitas\] THIẾU", text), text


def test_verify_pack_passes_fresh_and_fails_on_one_changed_byte(packs: dict[tuple[str, str], Path],
                                                               tmp_path: Path) -> None:
    fresh = packs[("AG-125", "VN")]
    ok = runner.invoke(app, ["verify-pack", str(fresh)])
    assert ok.exit_code == 0, ok.output
    assert "verifies" in ok.stdout
    for member in ("documents/vn-labelling.vi.docx", "validation/data-graph.ttl", "manifest.json"):
        files = _members(fresh)
        data = bytearray(files[member])
        i = data.index(b"AG-125") if member != "documents/vn-labelling.vi.docx" else len(data) // 2
        data[i] ^= 0x01
        bad = tmp_path / f"bad-{member.replace('/', '_')}.zip"
        with zipfile.ZipFile(bad, "w") as zf:
            for name, blob in files.items():
                zf.writestr(name, bytes(data) if name == member else blob)
        failed = runner.invoke(app, ["verify-pack", str(bad)])
        assert failed.exit_code == 65, (member, failed.output)
        assert "FAIL" in failed.output


def test_final_needs_a_recorded_override(store: Path, tmp_path: Path) -> None:
    refused = runner.invoke(app, ["--store", str(store), "pack", "CPC-200", "--market", "EU", "--out", str(tmp_path),
                                  "--final", "--date", DATE])
    assert refused.exit_code == 64 and "override" in refused.output
    handle = open_store(None)
    try:
        from tests.conftest import load_demo

        load_demo(handle)
        result = build_pack(handle, "CPC-200", "EU", out_dir=tmp_path, languages=["en"], final=True,
                            override_by="Dr. Anna Keller", override_reason="Containment & 8D <open>; customer waiver",
                            on=__import__("datetime").date(2026, 3, 1))
        assert result.status == "final" and result.manifest["override"]["by"] == "Dr. Anna Keller"
        rows = handle.select("""PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
            SELECT ?who ?why ?at WHERE { ?a a prov:Activity ; prov:wasAssociatedWith ?g ; rdfs:comment ?why ;
            prov:startedAtTime ?at . ?g rdfs:label ?who }""")
        assert [(r["who"], r["why"]) for r in rows] == [("Dr. Anna Keller", "Containment & 8D <open>; customer waiver")]
        text = _docx_text(_members(result.path)["documents/compliance-matrix.en.docx"])
        assert "DRAFT" not in text and "Containment & 8D <open>; customer waiver" in text and "PBT+GF25" in text
    finally:
        handle.close()


NASTY = 'Tom & Jerry <script>alert("x")</script> \'quoted\' {{ 7*7 }} {% raw %} 中文字符 Tiếng Việt có dấu ỗ ữ'


@needs_poppler
def test_untrusted_text_renders_literally_in_html_pdf_and_docx(tmp_path: Path) -> None:
    model = DocModel(key="t", lang="vi", model="M-1", title=NASTY, subtitle="s", watermark="", notice="",
                     sections=(Section(NASTY, (Block("p", text=NASTY), Block("table", header=("a", "b"),
                                                                                rows=((NASTY, "x"),)))),),
                     footer="f")
    html = render_html(model)
    assert "<script>" not in html and "&lt;script&gt;" in html and "{{ 7*7 }}" in html and "49" not in html
    assert "Tom &amp; Jerry" in html
    pdf_text = _pdf_text(render_pdf(model), tmp_path)
    assert _norm(NASTY) in pdf_text
    docx_text = _docx_text(render_docx(model))
    assert docx_text.count(NASTY) >= 3


def test_templates_run_in_a_sandbox() -> None:
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment

    env = _html_env()
    assert isinstance(env, SandboxedEnvironment)
    with pytest.raises(SecurityError):
        env.from_string("{{ d.__class__.__mro__[1].__subclasses__() }}").render(d=object())


def test_pack_ids_cannot_leave_the_directory(tmp_path: Path) -> None:
    assert pack_path(tmp_path, "CPC-200-EU-20260301T000000Z-abcdef12") == tmp_path.resolve() / (
        "CPC-200-EU-20260301T000000Z-abcdef12.zip")
    for bad in ("../etc/passwd", "..", "a/b", "/abs", "a\\b", ".hidden", "x..y"):
        with pytest.raises(PackError):
            pack_path(tmp_path, bad)
