"""Documents rendered from reasoning results: the gap report as JSON, Turtle, JSON-LD, HTML and PDF."""

from qualitas.doc_templates.gap import FORMATS, gap_jsonable, render_gap, render_gap_html, render_gap_pdf

__all__ = ["FORMATS", "gap_jsonable", "render_gap", "render_gap_html", "render_gap_pdf"]
