"""Control plan items from the graph and the edge configuration, and their JSON, XLSX and
PDF forms.

The columns are those of the AIAG control plan (APQP and Control Plan reference
manual): part/process number, process name / operation description, machine / device /
jig / tools, characteristic (number, product, process), special characteristic class,
product/process specification and tolerance, evaluation / measurement technique,
sample size and frequency, control method, and reaction plan.

Where each column comes from:

* specification / tolerance: the parameter set of the process step in force
  (``q:ParameterSet`` ``q:forStep``, nominal +- tolerance and unit);
* machine: the equipment the edge configuration names for the signal;
* evaluation method, sample size and frequency: the edge source that reads the
  parameter (OPC UA sampling interval, Modbus polling interval, the X-bar/R subgroup);
* control method: the SPC chart and run rules of the signal in the edge config
  (:mod:`qualitas.edge_adapters.spc` gives each rule's text);
* reaction plan: what the edge rules that fire on the signal do (alerts, work orders,
  parameter changes within the safety envelope).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
from dataclasses import asdict, dataclass
from decimal import Decimal

from qualitas.edge_adapters.config import Condition, EdgeConfig, ModbusSource, OpcUaSource, SpcSpec
from qualitas.edge_adapters.spc import RULE_TEXT, expand_rules
from qualitas.errors import MissingExtraError, NotFoundError, ValidationError
from qualitas.ontology import mint
from qualitas.reasoning.i18n import unit_symbol
from qualitas.store import GraphStore
from qualitas.workbench.fmea import ControlPlanItem

#: (field, AIAG control plan column)
CONTROL_PLAN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("key", "Characteristic No."),
    ("step_code", "Part/Process Number"),
    ("process_name", "Process Name / Operation Description"),
    ("machine", "Machine, Device, Jig, Tools for Mfg."),
    ("product_characteristic", "Characteristic: Product"),
    ("process_characteristic", "Characteristic: Process"),
    ("special_class", "Special Char. Class"),
    ("specification", "Product/Process Specification/Tolerance"),
    ("evaluation_method", "Evaluation/Measurement Technique"),
    ("sample_size", "Sample Size"),
    ("sample_frequency", "Sample Frequency"),
    ("control_method", "Control Method"),
    ("reaction_plan", "Reaction Plan"),
)
FORMATS = ("json", "xlsx", "pdf")
_CHART = {"individuals": "individuals (I-MR)", "xbar_r": "X-bar/R"}


@dataclass(frozen=True)
class StepInfo:
    code: str
    name: str
    item: str | None  # part or product number the step's routing makes
    item_name: str | None


@dataclass(frozen=True)
class ParameterSpec:
    code: str
    name: str
    nominal: Decimal
    tolerance: Decimal
    unit: str | None
    parameter_set: str  # version

    @property
    def text(self) -> str:
        unit = f" {unit_symbol(self.unit)}" if self.unit else ""
        return f"{self.nominal} ± {self.tolerance}{unit}"


@dataclass(frozen=True)
class Calibration:
    equipment: str
    equipment_name: str | None
    number: str
    valid_from: dt.date
    valid_until: dt.date


def step_info(store: GraphStore, step: str) -> StepInfo:
    s = mint("step", step)
    rows = store.select(
        f"""SELECT ?name ?item ?itemName WHERE {{ <{s}> a q:ProcessStep ; q:name ?name .
          OPTIONAL {{ ?r q:hasStep <{s}> ; q:routingFor ?it .
                      {{ ?it q:partNumber ?item }} UNION {{ ?it q:modelNumber ?item }}
                      OPTIONAL {{ ?it q:name ?itemName }} }} }} LIMIT 1"""
    )
    if not rows:
        raise NotFoundError(f"no process step {step!r} in the graph", step=step)
    r = rows[0]
    return StepInfo(
        step, str(r["name"]), str(r["item"]) if "item" in r else None, str(r["itemName"]) if "itemName" in r else None
    )


def specs_in_force(store: GraphStore, step: str, *, on: dt.datetime | None = None) -> dict[str, ParameterSpec]:
    """The step's parameter specifications in the parameter set in force ``on`` (default now)."""
    when = (on or dt.datetime.now(dt.UTC)).isoformat()
    rows = store.select(
        f"""SELECT ?version ?from ?code ?name ?nominal ?tol ?unit WHERE {{
          ?ps q:forStep <{mint("step", step)}> ; q:version ?version ; q:effectiveFrom ?from ; q:hasSpecification ?sp .
          OPTIONAL {{ ?ps q:effectiveUntil ?until }}
          FILTER(?from <= "{when}"^^xsd:dateTime && (!BOUND(?until) || ?until > "{when}"^^xsd:dateTime))
          ?sp q:parameter ?p ; q:nominal ?nominal ; q:tolerance ?tol .
          ?p q:code ?code . OPTIONAL {{ ?p q:name ?name }} OPTIONAL {{ ?sp q:unit ?unit }}
        }} ORDER BY DESC(?from) ?code"""
    )
    out: dict[str, ParameterSpec] = {}
    latest = rows[0]["from"] if rows else None
    for r in rows:
        if r["from"] != latest:  # an older set still open-ended: the newest one is in force
            continue
        unit = str(r["unit"]).rsplit("/", 1)[-1] if "unit" in r else None
        out[str(r["code"])] = ParameterSpec(
            code=str(r["code"]),
            name=str(r.get("name", r["code"])),
            nominal=Decimal(str(r["nominal"])),
            tolerance=Decimal(str(r["tol"])),
            unit=unit,
            parameter_set=str(r["version"]),
        )
    return out


def step_equipment(store: GraphStore, step: str) -> dict[str, str]:
    """Equipment that ran the step (id -> name), from its production runs."""
    rows = store.select(
        f"""SELECT DISTINCT ?id ?name WHERE {{ ?run q:step <{mint("step", step)}> ; q:equipment ?e .
          ?e q:equipmentId ?id . OPTIONAL {{ ?e q:name ?name }} }} ORDER BY ?id"""
    )
    return {str(r["id"]): str(r.get("name", "")) for r in rows}


def latest_calibration(store: GraphStore, equipment: str) -> Calibration | None:
    rows = store.select(
        f"""SELECT ?number ?from ?until ?name WHERE {{ <{mint("equipment", equipment)}> q:hasCalibration ?c .
          ?c q:documentNumber ?number ; q:validFrom ?from ; q:validUntil ?until .
          OPTIONAL {{ <{mint("equipment", equipment)}> q:name ?name }} }} ORDER BY DESC(?until) LIMIT 1"""
    )
    if not rows:
        return None
    r = rows[0]
    return Calibration(equipment, str(r["name"]) if "name" in r else None, str(r["number"]), r["from"], r["until"])  # type: ignore[arg-type]


# ---------------------------------------------------------------- from the edge configuration


@dataclass(frozen=True)
class EdgeControl:
    """What the edge configuration does about one parameter."""

    signal: str
    equipment: str | None
    evaluation_method: str
    sample_size: str
    sample_frequency: str
    control_method: str
    reaction_plan: str


def _seconds(ms: float) -> str:
    return f"{ms / 1000:g} s"


def _mentions(condition: Condition, signal: str) -> bool:
    if condition.signal == signal or condition.alarm == signal:
        return True
    return any(_mentions(c, signal) for c in (condition.all or []) + (condition.any or []))


def reaction_from_rules(config: EdgeConfig, signal: str) -> str:
    parts: list[str] = []
    for rule in config.rules:
        if not rule.enabled or not _mentions(rule.when, signal) or not rule.then:
            continue
        for action in rule.then:
            if action.alert is not None:
                parts.append(f"{action.alert.get('severity', 'warning')} alert: {action.alert.get('message', '')}")
            elif action.work_order is not None:
                who = action.work_order.get("assignee")
                parts.append(
                    f"work order to {who}: {action.work_order.get('title', '')}"
                    if who
                    else f"work order: {action.work_order.get('title', '')}"
                )
            elif action.change is not None:
                parts.append(f"change {action.change['target']} by {action.change['by']} within its safety envelope")
            elif action.set is not None:
                parts.append(f"set {action.set['target']} to {action.set['value']} within its safety envelope")
        if rule.cooldown_s:
            parts[-1] += f" (once per {rule.cooldown_s:g} s excursion)"
        parts[-1] = f"{parts[-1]} [rule {rule.id}]"
    return "; ".join(parts)


def edge_control(config: EdgeConfig, parameter: str, *, equipment: str | None = None) -> EdgeControl | None:
    """The SPC chart, run rules, source and reactions of ``parameter`` in ``config``, or None."""
    found: tuple[str, SpcSpec] | None = None
    for signal, spec in config.spc.items():
        if spec.parameter == parameter and (equipment is None or spec.equipment in (None, equipment)):
            found = (signal, spec)
            break
    if found is None:
        return None
    signal, spec = found
    evaluation, every = f"signal {signal}", None
    for source in config.sources:
        if isinstance(source, OpcUaSource):
            for node in source.nodes:
                if node.signal == signal:
                    evaluation = f"OPC UA node {node.node} at {source.endpoint} (source {source.name})"
                    every = _seconds(source.sampling_ms)
        elif isinstance(source, ModbusSource):
            for reg in source.registers:
                if reg.signal == signal:
                    evaluation = (
                        f"Modbus {source.transport.upper()} {reg.function} register {reg.address} "
                        f"(source {source.name})"
                    )
                    every = _seconds(source.poll_ms)
    rules = expand_rules(spec.rules)
    rule_text = "; ".join(f"{r} ({RULE_TEXT[r]})" for r in rules)
    if spec.chart == "xbar_r":
        size, frequency = (
            f"{spec.subgroup} consecutive readings",
            f"one subgroup every {spec.subgroup} readings" + (f" ({every} apart)" if every else ""),
        )
    else:
        size, frequency = "1 reading", f"every {every}" if every else "every reading"
    method = f"SPC {_CHART.get(spec.chart, spec.chart)} chart of {signal}, limits from the first {spec.baseline} "
    method += f"{'subgroups' if spec.chart == 'xbar_r' else 'readings'} of each run; run rules: {rule_text}"
    if spec.ewma:
        method += f"; EWMA lambda {spec.ewma.get('lambda', 0.2):g}, L {spec.ewma.get('L', 3):g}"
    if spec.cusum:
        method += f"; CUSUM k {spec.cusum.get('k', 0.5):g}, h {spec.cusum.get('h', 5):g}"
    if spec.lsl is not None or spec.usl is not None:
        low = f"{spec.lsl:g}" if spec.lsl is not None else "-"
        high = f"{spec.usl:g}" if spec.usl is not None else "-"
        method += f"; specification limits {low} to {high}"
    method += (
        f"; alarms corroborated by {spec.corroborate.consecutive or spec.corroborate.sources} "
        f"{'consecutive samples' if spec.corroborate.consecutive else 'sources'}"
    )
    return EdgeControl(
        signal=signal,
        equipment=spec.equipment,
        evaluation_method=evaluation,
        sample_size=size,
        sample_frequency=frequency,
        control_method=method,
        reaction_plan=reaction_from_rules(config, signal),
    )


# ---------------------------------------------------------------- rendering


def _cell(item: ControlPlanItem, name: str) -> str:
    if name in ("product_characteristic", "process_characteristic"):  # the form's two characteristic columns
        return item.characteristic if name == f"{item.characteristic_kind}_characteristic" else ""
    return str(getattr(item, name) or "")


def as_rows(items: list[ControlPlanItem]) -> list[dict[str, str]]:
    return [{header: _cell(i, f) for f, header in CONTROL_PLAN_COLUMNS} for i in items]


def control_plan_json(items: list[ControlPlanItem], *, step: str) -> bytes:
    data = {
        "step": step,
        "columns": [header for _, header in CONTROL_PLAN_COLUMNS],
        "items": [
            {**{_camel(k): v for k, v in asdict(i).items() if k != "chains"}, "chains": list(i.chains)} for i in items
        ],
    }
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def control_plan_xlsx(items: list[ControlPlanItem], *, step: str, title: str) -> bytes:
    try:
        import openpyxl
        from openpyxl.styles import Alignment, Font
    except ImportError as exc:
        raise MissingExtraError("openpyxl", extra="ingest") from exc
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Control plan"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([f"Process step {step}"])
    sheet.append([header for _, header in CONTROL_PLAN_COLUMNS])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in as_rows(items):
        sheet.append(list(row.values()))
    from qualitas.workbench.worksheet import text_only

    text_only(sheet)
    for r in sheet.iter_rows(min_row=4):
        for cell in r:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = (8, 12, 20, 22, 22, 10, 8, 22, 30, 14, 20, 50, 50)
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(i)].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def control_plan_html(items: list[ControlPlanItem], *, step: str, title: str) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for _, h in CONTROL_PLAN_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in row.values()) + "</tr>" for row in as_rows(items))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title><style>
  @page {{ size: A3 landscape; margin: 12mm; @bottom-right {{ content: counter(page) " / " counter(pages);
           font-size: 7pt; }} }}
  body {{ font-family: "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Source Han Sans SC", sans-serif; font-size: 8pt; }}
  h1 {{ font-size: 15pt; margin: 0 0 2mm; }} table {{ border-collapse: collapse; width: 100%; }}
  th, td {{ border: 0.5pt solid #777; padding: 1.5mm; vertical-align: top; text-align: left; }}
  th {{ background: #eee; }} thead {{ display: table-header-group; }}
</style></head><body><h1>{e(title)}</h1><p>Process step {e(step)} · {len(items)} items</p>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>"""


def control_plan_pdf(items: list[ControlPlanItem], *, step: str, title: str) -> bytes:
    from qualitas.doc_templates._render import html_to_pdf

    return html_to_pdf(control_plan_html(items, step=step, title=title), "")


def render_control_plan(items: list[ControlPlanItem], *, step: str, format: str, title: str | None = None) -> bytes:
    if format not in FORMATS:
        raise ValidationError(f"control plan format {format!r} is not one of {', '.join(FORMATS)}", field="format")
    title = title or f"Control plan — process step {step}"
    if format == "json":
        return control_plan_json(items, step=step)
    if format == "xlsx":
        return control_plan_xlsx(items, step=step, title=title)
    return control_plan_pdf(items, step=step, title=title)


__all__ = [
    "CONTROL_PLAN_COLUMNS",
    "FORMATS",
    "EdgeControl",
    "ParameterSpec",
    "StepInfo",
    "edge_control",
    "latest_calibration",
    "reaction_from_rules",
    "render_control_plan",
    "specs_in_force",
    "step_equipment",
    "step_info",
]
