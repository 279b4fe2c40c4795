"""Pack layout as a reviewer sees it: the page size of the reader's market (ISO 216 A4 for
EU/CN/VN, US Letter for the US), the document's language tag, table rows that never
break across a page, and no empty headings. DOCX is read as XML (ECMA-376 Part 1:
``w:pgSz`` §17.6.13, ``w:lang`` §17.3.2.20, ``w:cantSplit`` §17.4.6, ``w:tblHeader``
§17.4.49); PDF through poppler (pdfinfo, pdftotext)."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import docx
import pytest
from lxml import etree

from qualitas.doc_templates.docx import render_docx
from qualitas.doc_templates.pack import Block, DocModel, Section, render_html, render_pdf
from qualitas.errors import InputError

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W}
A4_TWIPS, LETTER_TWIPS = ("11906", "16838"), ("12240", "15840")
A4_PTS, LETTER_PTS = (595.28, 841.89), (612.0, 792.0)
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None,
                                   reason="needs poppler-utils (pdftotext, pdfinfo)")

# (lang, page size, BCP 47 tag): what each market's reader gets
MARKETS = [
    ("de", "A4", "de-DE"),
    ("fr", "A4", "fr-FR"),
    ("en", "A4", "en-GB"),
    ("zh", "A4", "zh-CN"),
    ("vi", "A4", "vi-VN"),
    ("en", "Letter", "en-US"),
]
FILLER = {
    "de": "Prüfbericht nach EN 62196-2 mit Angaben zur Temperaturerhöhung der Kontakte und zum Isolationswiderstand",
    "zh": "依据GB/T 20234.2的检测报告，包含触头温升和绝缘电阻的测量数据以及样品描述",
}


def _model(lang: str, *, page_size: str = "A4", lang_tag: str = "", sections: tuple[Section, ...] = ()) -> Any:
    """A DocModel with ``page_size`` and ``lang_tag``, whether or not DocModel declares them yet."""
    base: dict[str, Any] = {"key": "layout", "lang": lang, "model": "CC-T2-32A", "title": "Layout", "subtitle": "s",
                            "watermark": "", "notice": "", "sections": sections, "footer": "f"}
    extra = {"page_size": page_size, "lang_tag": lang_tag or lang}
    missing = [name for name in extra if name not in {f.name for f in dataclasses.fields(DocModel)}]
    cls = dataclasses.make_dataclass("LaidOutDocModel", [(n, str) for n in missing], bases=(DocModel,),
                                     frozen=True) if missing else DocModel
    return cls(**base, **extra)


def _long_table(lang: str, rows: int = 150) -> Section:
    """``rows`` rows several lines tall; a row's first cell starts and its last cell ends with a marker."""
    text = FILLER[lang]
    body = tuple((f"R{i:03d}A\n{text[:12]}", f"{text} {text}", f"{text[:10]}\n{text[10:20]}\n{text[20:30]}\nR{i:03d}Z")
                 for i in range(rows))
    return Section("Tabelle" if lang == "de" else "表格", (Block("table", header=("HDRFIRST", "HDRMID", "HDRLAST"),
                                                                   rows=body),))


def _xml(data: bytes, member: str) -> Any:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return etree.fromstring(zf.read(member))


def _pdf_pages(data: bytes, tmp: Path) -> list[str]:
    pdf = tmp / "doc.pdf"
    pdf.write_bytes(data)
    count = int(re.search(r"^Pages:\s+(\d+)", _pdfinfo(pdf), re.M).group(1))  # type: ignore[union-attr]
    return [re.sub(r"\s+", "", subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"],
                                              capture_output=True, text=True, check=True).stdout)
            for n in range(1, count + 1)]


def _pdfinfo(pdf: Path, *extra: str) -> str:
    return subprocess.run(["pdfinfo", *extra, str(pdf)], capture_output=True, text=True, check=True).stdout


# ---------------------------------------------------------------- DOCX


@pytest.mark.parametrize(("lang", "size", "tag"), MARKETS)
def test_docx_has_the_markets_page_size_and_language_tag(lang: str, size: str, tag: str) -> None:
    data = render_docx(_model(lang, page_size=size, lang_tag=tag, sections=(Section("H", (Block("p", text="x"),)),)))
    doc = _xml(data, "word/document.xml")
    sizes = [(s.get(f"{{{W}}}w"), s.get(f"{{{W}}}h")) for s in doc.iterfind(".//w:sectPr/w:pgSz", NS)]
    assert sizes == [A4_TWIPS if size == "A4" else LETTER_TWIPS]

    styles = _xml(data, "word/styles.xml")
    default = styles.find("w:docDefaults/w:rPrDefault/w:rPr/w:lang", NS)
    assert default is not None and default.get(f"{{{W}}}val") == tag
    if lang == "zh":
        assert default.get(f"{{{W}}}eastAsia") == "zh-CN"
    for part in (styles, doc):
        assert {el.get(f"{{{W}}}val") for el in part.iter(f"{{{W}}}lang")} <= {tag}


def test_docx_language_and_page_size_fall_back_for_models_without_layout_fields() -> None:
    bare = SimpleNamespace(key="k", lang="de", model="M", title="T", subtitle="s", watermark="", notice="",
                           sections=(Section("H", (Block("p", text="x"),)),), footer="f")
    data = render_docx(cast(DocModel, bare))
    pgsz = _xml(data, "word/document.xml").find(".//w:sectPr/w:pgSz", NS)
    assert (pgsz.get(f"{{{W}}}w"), pgsz.get(f"{{{W}}}h")) == A4_TWIPS
    lang = _xml(data, "word/styles.xml").find("w:docDefaults/w:rPrDefault/w:rPr/w:lang", NS)
    assert lang.get(f"{{{W}}}val") == "de-DE"


def test_unknown_page_size_is_refused() -> None:
    with pytest.raises(InputError, match="page size"):
        render_docx(_model("de", page_size="B5", sections=(Section("H", (Block("p", text="x"),)),)))


@pytest.mark.parametrize("lang", ["de", "zh"])
def test_docx_table_rows_never_split_and_header_repeats(lang: str) -> None:
    data = render_docx(_model(lang, sections=(_long_table(lang),)))
    rows = _xml(data, "word/document.xml").findall(".//w:tbl/w:tr", NS)
    assert len(rows) == 151
    assert all(row.find("w:trPr/w:cantSplit", NS) is not None for row in rows)
    assert rows[0].find("w:trPr/w:tblHeader", NS) is not None
    assert all(row.find("w:trPr/w:tblHeader", NS) is None for row in rows[1:])
    # the table fits the A4 text width (page width less margins)
    sect = _xml(data, "word/document.xml").find(".//w:sectPr", NS)
    text_width = int(sect.find("w:pgSz", NS).get(f"{{{W}}}w")) - sum(
        int(sect.find("w:pgMar", NS).get(f"{{{W}}}{side}")) for side in ("left", "right"))
    grid = _xml(data, "word/document.xml").findall(".//w:tbl/w:tblGrid/w:gridCol", NS)
    assert sum(int(col.get(f"{{{W}}}w")) for col in grid) <= text_width + len(grid)  # EMU-to-twip rounding


def test_section_without_heading_has_no_empty_heading_paragraph() -> None:
    sections = (Section("", (Block("p", text="first"),)), Section("  ", (Block("p", text="second"),)),
                Section("Kapitel", (Block("p", text="third"),)))
    document = docx.Document(io.BytesIO(render_docx(_model("de", sections=sections))))
    headings = [p.text for p in document.paragraphs if p.style is not None and p.style.name == "Heading 1"]
    assert headings == ["Kapitel"]
    assert [p.text for p in document.paragraphs if p.text in {"first", "second", "third"}] == [
        "first", "second", "third"]
    html = render_html(_model("de", sections=sections))
    assert re.findall(r"<h2>(.*?)</h2>", html) == ["Kapitel"]


# ---------------------------------------------------------------- HTML / PDF


@pytest.mark.parametrize(("lang", "size", "tag"), MARKETS)
def test_html_carries_the_language_tag(lang: str, size: str, tag: str) -> None:
    assert f'<html lang="{tag}">' in render_html(_model(lang, page_size=size, lang_tag=tag))


@needs_poppler
@pytest.mark.parametrize(("size", "points"), [("A4", A4_PTS), ("Letter", LETTER_PTS)])
def test_pdf_page_size_follows_the_model(size: str, points: tuple[float, float], tmp_path: Path) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(render_pdf(_model("en", page_size=size, sections=(Section("H", (Block("p", text="x"),)),))))
    found = re.findall(r"size:\s+([\d.]+) x ([\d.]+) pts", _pdfinfo(pdf, "-f", "1", "-l", "99"))
    assert found and all((float(w), float(h)) == pytest.approx(points, abs=0.5) for w, h in found)


@needs_poppler
@pytest.mark.parametrize("lang", ["de", "zh"])
def test_pdf_table_rows_stay_on_one_page_with_the_header_repeated(lang: str, tmp_path: Path) -> None:
    data = render_pdf(_model(lang, sections=(_long_table(lang),)))
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(data)
    sizes = re.findall(r"size:\s+([\d.]+) x ([\d.]+) pts", _pdfinfo(pdf, "-f", "1", "-l", "99"))
    assert all((float(w), float(h)) == pytest.approx(A4_PTS, abs=0.5) for w, h in sizes)
    pages = _pdf_pages(data, tmp_path)
    assert len(pages) > 3
    for i in range(150):
        first = [n for n, text in enumerate(pages) if f"R{i:03d}A" in text]
        last = [n for n, text in enumerate(pages) if f"R{i:03d}Z" in text]
        assert len(first) == 1 and first == last, f"row {i} split across pages {first} / {last}"
    for n, text in enumerate(pages):
        if re.search(r"R\d{3}A", text):
            assert "HDRFIRST" in text and "HDRLAST" in text, f"no header row on page {n + 1}"
