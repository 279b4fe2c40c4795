"""MES exports: production runs, and process specifications (parameter sets).

**Runs** (format ``mes``; CSV, XLSX or JSON ``{"runs": [...]}``), one record per run:
``run_id``, ``step``, ``equipment``, ``start``, ``end``, ``consumed_lots``,
``consumed_units``, ``produced_lots`` (with ``part``, the part number they are of),
``produced_units`` (with ``product``), ``parameter_set`` (the version used) and
``actuals``: ``MELT-TEMP=284.2 degC; HOLD-PRESS=60.4 MPa`` in CSV, or
``[{"parameter": "MELT-TEMP", "value": 284.2, "unit": "degC"}]`` /
``{"MELT-TEMP": "284.2 degC"}`` in JSON. Lists in CSV cells are separated by ``;``,
``,`` or spaces. Each run becomes a ``q:ProductionRun`` with ``q:consumed`` /
``q:produced`` (PROV-O ``used`` / ``generated``), so ``qualitas.reasoning.trace``
follows it.

A run may consume only what exists: a lot or unit produced by a run in the same file,
or already in the store. Anything else is refused with the row and field, so a typo
in a lot number cannot cut a trace in two.

**Process specifications** (format ``process-spec``; CSV, XLSX or JSON
``{"parameter_sets": [...]}``), one row per parameter: ``step``, ``version``,
``effective_from``, ``effective_until`` (empty: open-ended), ``parameter``,
``nominal``, ``tolerance``, ``unit``. Rows of one (step, version) form one
``q:ParameterSet``.

Use::

    from qualitas.ingest import mes
    mes.execute(store, Path("runs-2024-09.csv"), agent="mes-bridge")
    mes.execute_specs(store, Path("cpc-s10-v2.csv"), agent="process-engineering")
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from rdflib import RDF, Literal, URIRef

from qualitas.ingest._bounds import number_problem
from qualitas.ingest._core import Record, Source, TableLoader, Triple
from qualitas.ingest._gs1 import lot_iri, parse, unit_iri
from qualitas.ingest._tabular import ColumnMap, json_document, json_records, merge_mapping, table_records
from qualitas.ingest._units import UnknownUnitError, qudt_unit, split_quantity
from qualitas.ontology import Q, mint
from qualitas.ontology.builder import Builder, Spec
from qualitas.store import GraphStore

FORMAT = "mes"
SPEC_FORMAT = "process-spec"

RUN_COLUMNS: dict[str, tuple[str, ...]] = {
    "run_id": ("run", "run id", "run number", "order", "work order", "job", "运行号", "工单号", "生产批号"),
    "step": ("operation", "process step", "op", "工序", "工步"),
    "step_name": ("operation name", "step description", "工序名称"),
    "equipment": ("machine", "resource", "equipment id", "work center", "设备", "设备号", "机台"),
    "equipment_name": ("machine name", "设备名称"),
    "start": ("start time", "started at", "started", "begin", "开始时间"),
    "end": ("end time", "ended at", "ended", "finish", "结束时间"),
    "consumed_lots": ("consumed", "input lots", "inputs", "components", "投入批次", "消耗批次"),
    "consumed_units": ("input units", "input serials", "consumed serials", "投入序列号"),
    "produced_lots": ("output lots", "outputs", "produced", "output lot", "产出批次"),
    "produced_units": ("output units", "output serials", "serials", "produced serials", "产出序列号"),
    "part": ("output part", "produced part", "part number", "产出零件", "零件号"),
    "product": ("model", "output product", "产品型号"),
    "parameter_set": ("parameter set", "parameter set version", "recipe version", "recipe", "参数版本"),
    "actuals": ("actual parameters", "parameters", "actual values", "实际参数"),
}
RUN_REQUIRED = ("run_id", "step", "equipment", "start", "end")

SPEC_COLUMNS: dict[str, tuple[str, ...]] = {
    "step": ("operation", "process step", "工序"),
    "version": ("parameter set version", "revision", "版本"),
    "effective_from": ("valid from", "effective", "from", "生效日期", "生效时间"),
    "effective_until": ("valid until", "until", "to", "失效日期", "失效时间"),
    "parameter": ("parameter code", "characteristic", "参数", "参数代码"),
    "parameter_name": ("parameter description", "参数名称"),
    "nominal": ("target", "setpoint", "名义值", "目标值"),
    "tolerance": ("tol", "plus minus", "公差"),
    "unit": ("uom", "单位"),
}
SPEC_REQUIRED = ("step", "version", "effective_from", "parameter", "nominal", "tolerance", "unit")


def _records(src: Source, columns: ColumnMap, required: tuple[str, ...], key: str) -> Iterator[Record]:
    if src.path.suffix.lower() == ".json":
        return json_records(src, json_document(src), key, required=required, aliases=columns)
    return table_records(src, columns, required=required, encoding=src.options.get("encoding"))  # type: ignore[arg-type]


# ---------------------------------------------------------------- runs


class _Parts:
    """Part IRIs as the store knows them (a part sold as a product has the product IRI)."""

    def __init__(self, store: GraphStore) -> None:
        self._store, self._cache = store, {}  # type: ignore[var-annotated]

    def iri(self, number: str) -> URIRef:
        if number not in self._cache:
            rows = self._store.select(f"SELECT ?p WHERE {{ ?p q:partNumber {Literal(number).n3()} }} ORDER BY ?p")
            found = [str(r["p"]) for r in rows]
            products = [p for p in found if "/id/product/" in p]
            self._cache[number] = URIRef((products or found or [str(mint("part", number))])[0])
        return self._cache[number]  # type: ignore[no-any-return]


def _actuals(rec: Record) -> list[tuple[str, Decimal, str]]:
    value = rec.values.get("actuals")
    if value in (None, ""):
        return []
    pairs: list[tuple[str, object, object]] = []
    if isinstance(value, dict):
        pairs = [(str(k), v, None) for k, v in value.items()]
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, dict) or "parameter" not in item or "value" not in item:
                raise rec.error(f"item {i} must be an object with parameter, value and unit", "actuals")
            pairs.append((str(item["parameter"]), item["value"], item.get("unit")))
    else:
        for part in str(value).replace("；", ";").split(";"):
            if not part.strip():
                continue
            if "=" not in part:
                raise rec.error(f"expected PARAMETER=value unit, got {part.strip()!r}", "actuals")
            code, _, rest = part.partition("=")
            pairs.append((code.strip(), rest.strip(), None))
    out = []
    for code, raw, unit_text in pairs:
        if not code:
            raise rec.error("a parameter code is empty", "actuals")
        try:
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                number, inline = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw), ""
            else:
                number, inline = split_quantity(str(raw))
        except ValueError:
            raise rec.error(f"{code}: expected a number with a unit, got {raw!r}", "actuals") from None
        problem = number_problem(number)
        if problem:
            raise rec.error(f"{code}: {problem}", "actuals")
        text = inline or (str(unit_text) if unit_text else "")
        if not text:
            raise rec.error(f"{code}: the value {raw!r} has no unit", "actuals")
        try:
            unit = qudt_unit(text)
        except UnknownUnitError as exc:
            raise rec.error(f"{code}: {exc}", "actuals") from None
        if unit is None:
            raise rec.error(f"{code}: {text!r} is not a physical unit", "actuals")
        out.append((code, number, unit))
    return out


def run_triples(src: Source) -> Iterator[Triple]:
    """The triples of an MES run export, row by row."""
    columns = merge_mapping(RUN_COLUMNS, src.options.get("columns"))  # type: ignore[arg-type]
    buf: list[Triple] = []
    b = Builder(buf.append)
    parts = _Parts(src.store)
    src.rescan_keys(
        lambda: (("run", r.text("run_id") or "", r.where) for r in _records(src, columns, RUN_REQUIRED, "runs"))
    )
    for rec in _records(src, columns, RUN_REQUIRED, "runs"):
        run_id = rec.need("run_id")
        src.unique("run", run_id, where=rec.where, field="run_id")
        step, equipment = rec.need("step"), rec.need("equipment")
        start, end = rec.datetime("start"), rec.datetime("end")
        assert start is not None and end is not None
        if _aware(start) != _aware(end):
            raise rec.error("start and end must both have a time zone, or neither", "end")
        if end < start:
            raise rec.error(f"the run ends ({end.isoformat()}) before it starts ({start.isoformat()})", "end")

        consumed: list[URIRef] = []
        for field, kind, to_iri in (("consumed_lots", "lot", lot_iri), ("consumed_units", "unit", unit_iri)):
            for key in rec.items(field):
                with rec.identifiers(field, key):
                    iri = to_iri(key)
                src.require(iri, label=f"{kind} {key!r}", where=rec.where, field=field)
                consumed.append(iri)
        produced: list[URIRef] = []
        part = rec.text("part", required=False)
        lots = rec.items("produced_lots")
        if lots and not part:
            raise rec.error("produced lots need the part number they are of", "part")
        for number in lots:
            with rec.identifiers("produced_lots", number):
                iri, gs1 = lot_iri(number), parse(number)
            buf.append((iri, RDF.type, Q.Lot))
            buf.append((iri, Q.lotNumber, Literal(gs1.lot if gs1 and gs1.lot else number)))
            part_node = parts.iri(part or "")
            buf.extend(
                [(iri, Q.ofPart, part_node), (part_node, RDF.type, Q.Part), (part_node, Q.partNumber, Literal(part))]
            )
            src.define(iri)
            produced.append(iri)
        product = rec.text("product", required=False)
        for serial in rec.items("produced_units"):
            with rec.identifiers("produced_units", serial):
                iri = unit_iri(serial)
            buf.append((iri, RDF.type, Q.SerialUnit))
            buf.append((iri, Q.serialNumber, Literal(serial)))
            if product:
                buf.append((iri, Q.ofProduct, mint("product", product)))
            src.define(iri)
            produced.append(iri)
        if not produced:
            raise rec.error("a run must produce at least one lot or unit", "produced_lots")

        step_iri, eq_iri = mint("step", step), mint("equipment", equipment)
        buf.extend([(step_iri, RDF.type, Q.ProcessStep), (step_iri, Q.code, Literal(step))])
        if name := rec.text("step_name", required=False):
            buf.append((step_iri, Q.name, Literal(name)))
        buf.extend([(eq_iri, RDF.type, Q.Equipment), (eq_iri, Q.equipmentId, Literal(equipment))])
        if name := rec.text("equipment_name", required=False):
            buf.append((eq_iri, Q.name, Literal(name)))
        actuals = _actuals(rec)
        for code, _, _ in actuals:
            param = mint("parameter", code)
            buf.extend([(param, RDF.type, Q.ProcessParameter), (param, Q.code, Literal(code))])
        version = rec.text("parameter_set", required=False)
        b.run(
            run_id,
            step=step,
            equipment=equipment,
            start=start,
            end=end,
            consumed=consumed,
            produced=produced,
            parameter_set=(step, version) if version else None,
            actuals=[(code, str(value), unit) for code, value, unit in actuals],
        )
        yield from buf
        buf.clear()


def _aware(value: dt.datetime) -> bool:
    return value.tzinfo is not None


# ---------------------------------------------------------------- specifications


def spec_triples(src: Source) -> Iterator[Triple]:
    """The triples of a process-specification export (parameter sets), row by row."""
    columns = merge_mapping(SPEC_COLUMNS, src.options.get("columns"))  # type: ignore[arg-type]
    buf: list[Triple] = []
    b = Builder(buf.append)
    sets: dict[tuple[str, str], tuple[dt.datetime, dt.datetime | None, str]] = {}
    src.rescan_keys(
        lambda: (
            ("parameter specification", f"{r.text('step')} {r.text('version')} {r.text('parameter')}", r.where)
            for r in _spec_records(src, columns)
        )
    )
    for rec in _spec_records(src, columns):
        step, version, parameter = rec.need("step"), rec.need("version"), rec.need("parameter")
        src.unique("parameter specification", f"{step} {version} {parameter}", where=rec.where, field="parameter")
        start = rec.datetime("effective_from")
        until = rec.datetime("effective_until", required=False)
        assert start is not None
        if until is not None and until <= start:
            raise rec.error(f"effective_until {until.isoformat()} is not after effective_from", "effective_until")
        known = sets.get((step, version))
        if known is None:
            sets[(step, version)] = (start, until, rec.where)
            stp = mint("step", step)
            buf.extend([(stp, RDF.type, Q.ProcessStep), (stp, Q.code, Literal(step))])
        elif known[:2] != (start, until):
            raise rec.error(f"effective dates of {step} {version} disagree with {known[2]}", "effective_from")
        nominal, tolerance = rec.decimal("nominal"), rec.decimal("tolerance")
        assert nominal is not None and tolerance is not None
        if tolerance < 0:
            raise rec.error(f"a tolerance cannot be negative ({tolerance})", "tolerance")
        unit = rec.unit("unit")
        assert unit is not None
        b.parameter(parameter, rec.text("parameter_name", required=False) or parameter)
        b.parameter_set(
            step,
            version,
            effective_from=start,
            effective_until=until,
            specs=[Spec(parameter, str(nominal), str(tolerance), unit)],
        )
        yield from buf
        buf.clear()


def _spec_records(src: Source, columns: ColumnMap) -> Iterator[Record]:
    if src.path.suffix.lower() != ".json":
        yield from table_records(src, columns, required=SPEC_REQUIRED, encoding=src.options.get("encoding"))  # type: ignore[arg-type]
        return
    document = json_document(src)
    for header in json_records(
        src, document, "parameter_sets", required=("step", "version", "effective_from", "specs"), aliases=columns
    ):
        specs = header.values.get("specs")
        if not isinstance(specs, list):
            raise header.error("expected an array of specifications", "specs")
        for i, spec in enumerate(specs):
            if not isinstance(spec, dict):
                raise header.error(f"specs[{i}] must be an object", "specs")
            values = {k: v for k, v in header.values.items() if k != "specs"} | spec
            rec = Record(src, f"{header.where}.specs[{i}]", values)
            for name in SPEC_REQUIRED:
                if values.get(name) in (None, ""):
                    raise rec.error("missing required field", name)
            yield rec


# ---------------------------------------------------------------- API

_RUNS = TableLoader(FORMAT, run_triples)
simulate = _RUNS.simulate
execute = _RUNS.execute


_SPECS = TableLoader(SPEC_FORMAT, spec_triples)
simulate_specs = _SPECS.simulate
execute_specs = _SPECS.execute
