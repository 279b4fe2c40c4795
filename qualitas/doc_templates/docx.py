"""DOCX rendering of pack documents through docxtpl (https://docxtpl.readthedocs.io/).

``templates/pack/document.docx`` is an ordinary Word file with Jinja tags; the
compliance team may restyle it in Word (fonts, logo, header, margins) as long as the
tags stay. :func:`write_template` (``python -m qualitas.doc_templates.docx``) writes
the initial version. Rendering runs in a Jinja ``SandboxedEnvironment`` with
autoescape on, so text from users or suppliers (``&``, ``<``, quotes, template syntax)
is printed, never executed or injected into the document XML; tables are built with
python-docx inside docxtpl subdocuments, which sets cell text through the API.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualitas.errors import MissingExtraError

if TYPE_CHECKING:
    from qualitas.doc_templates.pack import DocModel

TEMPLATE = Path(__file__).parent / "templates" / "pack" / "document.docx"
_LATIN_FONT = "DejaVu Sans"
_CJK_FONT = "WenQuanYi Zen Hei"


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
    doc.add_paragraph("{{ subtitle }}", style="Subtitle")
    doc.add_paragraph("{%p if notice %}")
    notice = doc.add_paragraph().add_run("{{ notice }}")
    notice.bold = True
    notice.font.color.rgb = RGBColor(0xB0, 0x00, 0x00)
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p for s in sections %}")
    doc.add_paragraph("{{ s.heading }}", style="Heading 1")
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
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def render_docx(model: DocModel) -> bytes:
    """``model`` as a DOCX document (bytes)."""
    _, docxtpl = _docx()
    from jinja2.sandbox import SandboxedEnvironment

    tpl = docxtpl.DocxTemplate(str(TEMPLATE))
    sections = []
    for section in model.sections:
        blocks = []
        for block in section.blocks:
            if block.kind == "p":
                blocks.append({"kind": "p", "text": block.text})
                continue
            sub = tpl.new_subdoc()
            rows = [block.header, *block.rows] if block.header else list(block.rows)
            width = max((len(r) for r in rows), default=1)
            table = sub.add_table(rows=len(rows), cols=width)
            table.style = "Table Grid"
            for i, row in enumerate(rows):
                for j, cell in enumerate(row):
                    table.cell(i, j).text = cell
                    if i == 0 and block.header:
                        for run in table.cell(i, j).paragraphs[0].runs:
                            run.bold = True
            blocks.append({"kind": "table", "sub": sub})
        sections.append({"heading": section.heading, "blocks": blocks})
    context = {
        "header": model.watermark, "title": model.title, "subtitle": model.subtitle, "notice": model.notice,
        "sections": sections, "footer": model.footer,
    }
    tpl.render(context, jinja_env=SandboxedEnvironment(), autoescape=True)
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()


if __name__ == "__main__":  # pragma: no cover
    print(write_template())
