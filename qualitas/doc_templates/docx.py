"""DOCX rendering of pack documents through docxtpl (https://docxtpl.readthedocs.io/).

``templates/pack/document.docx`` is an ordinary Word file with Jinja tags; the
compliance team may restyle it in Word (fonts, logo, header, margins) as long as the
tags stay. :func:`write_template` (``python -m qualitas.doc_templates.docx``) writes
the initial version. Rendering runs in a Jinja ``SandboxedEnvironment`` with
autoescape on, so text from users or suppliers (``&``, ``<``, quotes, template syntax)
is printed, never executed or injected into the document XML; tables are built with
python-docx inside docxtpl subdocuments, which sets cell text through the API.

Layout follows the reader's market, not the template: the page size (ISO 216 A4 for
EU/CN/VN, US Letter for US documents) and the language tag (``w:lang``, ECMA-376
Part 1 §17.3.2.20, a BCP 47 tag) are set on every render from the model. Table rows
never break across pages (``w:cantSplit``, §17.4.6) and header rows repeat on every
page (``w:tblHeader``, §17.4.49); a section without a heading gets no Heading 1.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualitas.errors import InputError, MissingExtraError

if TYPE_CHECKING:
    from qualitas.doc_templates.pack import DocModel

TEMPLATE = Path(__file__).parent / "templates" / "pack" / "document.docx"
_LATIN_FONT = "DejaVu Sans"
_CJK_FONT = "WenQuanYi Zen Hei"
# Page sizes in twentieths of a point: A4 is 210 x 297 mm (ISO 216), Letter 8.5 x 11 in.
PAGE_SIZES: dict[str, tuple[int, int]] = {"A4": (11906, 16838), "Letter": (12240, 15840)}
# The region a bare language code stands for when a model carries no full tag.
_DEFAULT_REGION = {"de": "de-DE", "fr": "fr-FR", "zh": "zh-CN", "vi": "vi-VN"}


def page_size(model: DocModel) -> str:
    """The model's page size, ``"A4"`` or ``"Letter"`` (A4 when the model does not say)."""
    size = getattr(model, "page_size", "A4") or "A4"
    if size not in PAGE_SIZES:
        raise InputError(f"unknown page size {size!r}; expected one of {', '.join(PAGE_SIZES)}", page_size=size)
    return size


def lang_tag(model: DocModel) -> str:
    """The model's BCP 47 language tag (https://www.rfc-editor.org/rfc/rfc5646).

    A bare language code gets its usual region; English follows the page size, so a
    Letter document is en-US and an A4 one en-GB.
    """
    tag = getattr(model, "lang_tag", model.lang) or model.lang
    if "-" in tag:
        return tag
    if tag == "en":
        return "en-US" if page_size(model) == "Letter" else "en-GB"
    return _DEFAULT_REGION.get(tag, tag)


def _docx() -> Any:
    try:
        import docx
        import docxtpl
    except ImportError as exc:
        raise MissingExtraError("docxtpl", extra="docs") from exc
    return docx, docxtpl


def _set_fonts(style: Any) -> None:
    from docx.oxml.ns import qn

    style.font.name = _LATIN_FONT
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), _CJK_FONT)


def write_template(path: Path = TEMPLATE) -> Path:
    """Write the initial docxtpl template (tags only; styling is the team's to change)."""
    docx, _ = _docx()
    from docx.shared import Pt, RGBColor

    doc = docx.Document()
    _set_fonts(doc.styles["Normal"])
    doc.styles["Normal"].font.size = Pt(10)
    header = doc.sections[0].header.paragraphs[0]
    run = header.add_run("{{ header }}")
    run.bold = True
    run.font.color.rgb = RGBColor(0xB0, 0x00, 0x00)
    run.font.size = Pt(16)
    doc.add_paragraph("{{ title }}", style="Title")
    doc.add_paragraph("{%p if subtitle %}")
    doc.add_paragraph("{{ subtitle }}", style="Subtitle")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p if notice %}")
    notice = doc.add_paragraph().add_run("{{ notice }}")
    notice.bold = True
    notice.font.color.rgb = RGBColor(0xB0, 0x00, 0x00)
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p for s in sections %}")
    doc.add_paragraph("{%p if s.heading %}")
    doc.add_paragraph("{{ s.heading }}", style="Heading 1")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p for b in s.blocks %}")
    doc.add_paragraph("{%p if b.kind == 'p' %}")
    doc.add_paragraph("{{ b.text }}")
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("{{p b.sub }}")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endfor %}")
    footer = doc.sections[0].footer.paragraphs[0].add_run("{{ footer }}")
    footer.font.size = Pt(7)
    _set_page_size(doc, "A4")
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def _set_page_size(doc: Any, size: str) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.shared import Twips

    width, height = PAGE_SIZES[size]
    for section in doc.sections:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Twips(width), Twips(height)


def _lang_element(rpr: Any) -> Any:
    from docx.oxml.ns import qn

    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = rpr.makeelement(qn("w:lang"), {})
        rpr.insert_element_before(lang, "w:eastAsianLayout", "w:specVanish", "w:oMath")
    return lang


def _set_language(doc: Any, tag: str) -> None:
    """Tag the document defaults, the Normal style and every explicit ``w:lang`` with ``tag``.

    ``w:val`` covers Latin text and ``w:eastAsia`` East Asian text, so a zh-CN document
    is spell-checked and laid out as Simplified Chinese whatever the script of a run.
    """
    from docx.oxml.ns import qn

    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = styles.makeelement(qn("w:docDefaults"), {})
        styles.insert(0, defaults)
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = defaults.makeelement(qn("w:rPrDefault"), {})
        defaults.insert(0, rpr_default)
    if rpr_default.find(qn("w:rPr")) is None:
        rpr_default.append(rpr_default.makeelement(qn("w:rPr"), {}))
    langs = [_lang_element(rpr_default.find(qn("w:rPr"))), _lang_element(doc.styles["Normal"].element.get_or_add_rPr())]
    for part in doc.part.package.iter_parts():
        element = getattr(part, "element", None)
        if element is not None:
            langs.extend(element.iter(qn("w:lang")))
    for lang in langs:
        lang.set(qn("w:val"), tag)
        lang.set(qn("w:eastAsia"), tag)
    theme = doc.settings.element.find(qn("w:themeFontLang"))
    if theme is not None:
        theme.set(qn("w:val"), tag)
        theme.set(qn("w:eastAsia"), tag)


def _keep_rows_whole(table: Any, *, header: bool) -> None:
    """No row breaks across a page; the header row repeats at the top of each page."""
    from docx.oxml.ns import qn

    for i, row in enumerate(table.rows):
        trpr = row._tr.get_or_add_trPr()
        if trpr.find(qn("w:cantSplit")) is None:
            trpr.insert_element_before(trpr.makeelement(qn("w:cantSplit"), {}), "w:trHeight", "w:tblHeader",
                                       "w:tblCellSpacing", "w:jc", "w:hidden", "w:ins", "w:del", "w:trPrChange")
        if header and i == 0 and trpr.find(qn("w:tblHeader")) is None:
            trpr.insert_element_before(trpr.makeelement(qn("w:tblHeader"), {}), "w:tblCellSpacing", "w:jc",
                                       "w:hidden", "w:ins", "w:del", "w:trPrChange")


class _BodyXml:
    """WordprocessingML that docxtpl's ``{{p ...}}`` tag puts in place of its paragraph,
    as it does a subdocument's (``__html__``: markup, not text to escape)."""

    def __init__(self, xml: str) -> None:
        self.xml = xml

    def __html__(self) -> str:
        return self.xml

    __str__ = __html__


def _take_body(document: Any) -> _BodyXml:
    """The body of ``document`` without its section properties as XML (what
    ``docxtpl.Subdoc`` inserts), emptied afterwards for the next table."""
    from lxml import etree

    body = document.element.body
    sect = body.sectPr
    if sect is not None:
        body.remove(sect)
    xml = re.sub(r"</?w:body[^>]*>", "", etree.tostring(body, encoding="unicode", pretty_print=False))
    for child in list(body):
        body.remove(child)
    if sect is not None:
        body.append(sect)
    return _BodyXml(xml)


_TABLE_GRID: list[str] = []


def _table_grid_id(document: Any) -> str:
    """The style id of "Table Grid" in python-docx's default template (looked up once)."""
    if not _TABLE_GRID:
        _TABLE_GRID.append(document.styles["Table Grid"].style_id)
    return _TABLE_GRID[0]


def render_docx(model: DocModel) -> bytes:
    """``model`` as a DOCX document (bytes)."""
    _, docxtpl = _docx()
    from jinja2.sandbox import SandboxedEnvironment

    size = page_size(model)
    tpl = docxtpl.DocxTemplate(str(TEMPLATE))
    tpl.init_docx()
    _set_page_size(tpl.docx, size)
    body = tpl.docx.sections[0]
    sections = []
    # One subdocument for every table of the document (opening one is most of a small
    # table's cost): each table is built in it, taken out as XML, and removed.
    sub = tpl.new_subdoc()
    # the subdocument lays its tables out for its own page: give it the pack's text width
    page = sub.subdocx.sections[0]
    page.page_width, page.page_height = body.page_width, body.page_height
    page.left_margin, page.right_margin = body.left_margin, body.right_margin
    for section in model.sections:
        blocks: list[dict[str, Any]] = []
        for block in section.blocks:
            if block.kind == "p":
                blocks.append({"kind": "p", "text": block.text})
                continue
            rows = [block.header, *block.rows] if block.header else list(block.rows)
            width = max((len(r) for r in rows), default=1)
            table = sub.add_table(rows=len(rows), cols=width)
            # the style by its id: naming it makes python-docx search every style twice per table
            table._tbl.tblStyle_val = _table_grid_id(sub.subdocx)
            cells = table._cells  # row by row; table.cell(i, j) would rebuild this list on every call
            for i, row in enumerate(rows):
                for j, text in enumerate(row):
                    cell = cells[i * width + j]
                    cell.text = text
                    if i == 0 and block.header:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
            _keep_rows_whole(table, header=bool(block.header))
            blocks.append({"kind": "table", "sub": _take_body(sub.subdocx)})
        sections.append({"heading": section.heading.strip(), "blocks": blocks})
    context = {
        "header": model.watermark, "title": model.title, "subtitle": model.subtitle, "notice": model.notice,
        "sections": sections, "footer": model.footer,
    }
    tpl.render(context, jinja_env=SandboxedEnvironment(), autoescape=True)  # keeps the sectPr set above
    _set_language(tpl.docx, lang_tag(model))
    out = io.BytesIO()
    tpl.save(out)
    return _reproducible(out.getvalue())


def _reproducible(data: bytes) -> bytes:
    """The same parts with every ZIP entry dated 1980-01-01 00:00 (the ZIP epoch):
    python-docx dates them with the clock, so the same document had other bytes (and
    another sha256 in the pack manifest) a second later."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, src.read(info))
    return out.getvalue()


if __name__ == "__main__":  # pragma: no cover
    print(write_template())
