"""The gap report as a document: JSON, the SHACL report (Turtle, JSON-LD), HTML and PDF.

HTML comes from ``templates/gap_report.html`` (Jinja2); the PDF is that HTML through
weasyprint (https://doc.courtbouillon.org/weasyprint/). Chinese text needs a CJK
font installed (Debian: ``fonts-wqy-zenhei``); the stylesheet names it first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from qualitas.errors import InputError, MissingExtraError
from qualitas.reasoning.gap import GapReport
from qualitas.reasoning.i18n import missing_marker

TEMPLATES = Path(__file__).parent / "templates"
FORMATS = ("json", "ttl", "jsonld", "html", "pdf")

#: Chinese names of the SJ/T 11364 table's substances, by the symbol the catalog gives.
_ZH = {"Pb": "铅", "Hg": "汞", "Cd": "镉", "Cr(VI)": "六价铬", "PBB": "多溴联苯", "PBDE": "多溴二苯醚"}
_SKIP = {"data_graph", "shapes_graph", "validation_report_ttl", "validation_report_jsonld"}
#: Requirement outcomes and finding kinds as words (the HTML never shows a code).
_STATUS = {"passed": "Passed / 通过", "violated": "Violated / 违反", "not_checkable": "Not checkable / 无法检查"}
_KINDS = {
    "missing_document": "Missing document / 缺少文件",
    "missing_marking": "Missing marking / 缺少标志",
    "substance_limit": "Substance limit / 物质限值",
    "svhc_communication": "SVHC communication / 高度关注物质信息传递",
    "material_mismatch": "Material mismatch / 材料不符",
    "calibration_invalid": "Calibration invalid / 校准失效",
    "calibration_missing": "Calibration missing / 缺少校准",
    "parameter_set_outdated": "Parameter set outdated / 参数集过期",
    "parameter_out_of_tolerance": "Parameter out of tolerance / 参数超差",
    "requirement_not_met": "Requirement not met / 未满足要求",
    "china_rohs_data": "Hazardous substance table data / 有害物质表数据",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [f for f in dataclasses.fields(value) if f.name not in _SKIP]
        return {_camel(f.name): _plain(getattr(value, f.name)) for f in fields}
    if isinstance(value, list | tuple | frozenset | set):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):  # dicts and the per-language Texts of findings
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def gap_jsonable(report: GapReport) -> dict[str, Any]:
    """The report as JSON-ready data (camelCase keys, like the GraphQL API); the SHACL
    report itself is under ``validationReport`` as JSON-LD."""
    data: dict[str, Any] = _plain(report)
    data["validationReport"] = json.loads(report.validation_report_jsonld)
    return data


def _env() -> Any:
    try:
        import jinja2
    except ImportError as exc:
        raise MissingExtraError("jinja2", extra="docs") from exc
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True, lstrip_blocks=True,
    )
    return env


def render_gap_html(report: GapReport, *, generated: dt.datetime | None = None) -> str:
    """The report as a standalone HTML page (cover, summary, findings by regulation,
    China RoHS table where relevant, evidence appendix)."""
    by_reg: dict[str, list[Any]] = {}
    for f in report.findings:
        key = f.regulation or "As designed vs as built (no regulation clause)"
        by_reg.setdefault(key, []).append(f)
    evidence: dict[str, Any] = {}
    for f in report.findings:
        for e in f.evidence:
            evidence.setdefault(e.id, e)
    table = report.screening.china_rohs
    return str(_env().get_template("gap_report.html").render(
        r=report, groups=sorted(by_reg.items()), evidence=sorted(evidence.values(), key=lambda e: (e.kind, e.label)),
        table=table, zh=_ZH, status=_STATUS, kinds=_KINDS, missing_zh=missing_marker("zh"),
        generated=(generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC"),
    ))


def render_gap_pdf(report: GapReport) -> bytes:
    """The HTML report as PDF (weasyprint, the ``docs`` extra)."""
    from qualitas.doc_templates._render import html_to_pdf

    return html_to_pdf(render_gap_html(report), str(TEMPLATES))


def render_gap(report: GapReport, fmt: str) -> bytes:
    """The report in one of :data:`FORMATS`."""
    if fmt == "json":
        return (json.dumps(gap_jsonable(report), ensure_ascii=False, indent=2) + "\n").encode()
    if fmt == "ttl":
        return report.validation_report_ttl.encode()
    if fmt == "jsonld":
        return report.validation_report_jsonld.encode()
    if fmt == "html":
        return render_gap_html(report).encode()
    if fmt == "pdf":
        return render_gap_pdf(report)
    raise InputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", format=fmt)
