"""The FMEA worksheet (the handbook's spreadsheet form) as XLSX and CSV, both ways.

One line per failure chain and optimisation action: a chain with two actions takes
two lines with the same ``Row`` and the same chain columns; a chain without actions
leaves the action columns empty. The FMEA's own columns (id, type, title, item) repeat
on every line. Column mapping (header -> field; * = required; for a DFMEA the three
structure columns hold the next higher level, the focus element and the next lower
level, and the DFMEA headers are accepted as aliases):

==================================== ==================== ================================================
header                               field                meaning
==================================== ==================== ================================================
FMEA ID *                            Fmea.id              key of the analysis (the batch is workbench:fmea:ID)
FMEA Type *                          Fmea.kind            PFMEA or DFMEA
FMEA Title *                         Fmea.title
Item                                 Fmea.item            model number of a product or number of a part in the graph
Row *                                FailureChain.row     key of the failure chain within the FMEA
Process Item *                       process_item         1. structure: process item (DFMEA: Next Higher Level)
Process Step *                       process_step         2. structure: process step (DFMEA: Focus Element)
Step Code                            step_code            the graph's process step (q:ProcessStep q:code)
Process Work Element *               work_element         3. structure: work element (DFMEA: Next Lower Level)
4M Type                              category             Man, Machine, Material, EnvMilieu, Method, Measurement
Function of the Process Item         item_function
Function of the Process Step         step_function        ... and product characteristic
Function of the Process Work Element element_function     ... and process characteristic
Failure Effect (FE) *                failure_effect
Severity (S) *                       severity             1-10
Failure Mode (FM) *                  failure_mode
Failure Mode Code                    failure_mode_code    the graph's failure mode library (q:FailureMode q:code)
Failure Cause (FC) *                 failure_cause
Parameter                            parameter            the cause's process parameter (q:ProcessParameter q:code)
Equipment                            equipment            the work element's equipment (q:Equipment q:equipmentId)
Current Prevention Control (PC)      prevention_control
Occurrence (O) *                     occurrence           1-10
Current Detection Control (DC)       detection_control
Detection (D) *                      detection            1-10
AP                                   action_priority      H/M/L; written on export, checked against the table on import
Action                               action.description   optimisation action
Action Type                          action.kind          prevention or detection
Responsible Person                   action.responsible
Target Completion Date               action.due           YYYY-MM-DD
Status                               action.status        open, decision_pending, implementation_pending,
                                                          completed, not_implemented
==================================== ==================== ================================================

Import checks every line before anything is written: a bad line is a
:class:`~qualitas.errors.ValidationError` whose message names the file, the line
(``row 7``: the spreadsheet row, or the CSV line with the header as line 1) and the
column, and the store is left unchanged. An unknown column is refused too, so that no
data is dropped silently.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qualitas.audit import AuditLog
from qualitas.errors import MissingExtraError, NotFoundError, ParseError, ValidationError
from qualitas.store import GraphStore, LoadResult
from qualitas.workbench.ap import action_priority, check_rating
from qualitas.workbench.fmea import (
    ACTION_KINDS,
    ACTION_STATUSES,
    CATEGORIES_4M,
    FMEA_KINDS,
    FailureChain,
    Fmea,
    OptimisationAction,
    load_fmea,
    save_fmea,
)


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    required: bool = False
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("FMEA ID", "fmea_id", True),
    Column("FMEA Type", "fmea_kind", True),
    Column("FMEA Title", "fmea_title", True),
    Column("Item", "item"),
    Column("Row", "row", True),
    Column("Process Item", "process_item", True, ("1. Process Item", "Next Higher Level")),
    Column("Process Step", "process_step", True, ("2. Process Step", "Focus Element")),
    Column("Step Code", "step_code"),
    Column("Process Work Element", "work_element", True, ("3. Process Work Element", "Next Lower Level")),
    Column("4M Type", "category"),
    Column("Function of the Process Item", "item_function", aliases=("Function of the Next Higher Level",)),
    Column("Function of the Process Step", "step_function", aliases=("Function of the Focus Element",)),
    Column("Function of the Process Work Element", "element_function", aliases=("Function of the Next Lower Level",)),
    Column("Failure Effect (FE)", "failure_effect", True),
    Column("Severity (S)", "severity", True),
    Column("Failure Mode (FM)", "failure_mode", True),
    Column("Failure Mode Code", "failure_mode_code"),
    Column("Failure Cause (FC)", "failure_cause", True),
    Column("Parameter", "parameter"),
    Column("Equipment", "equipment"),
    Column("Current Prevention Control (PC)", "prevention_control"),
    Column("Occurrence (O)", "occurrence", True),
    Column("Current Detection Control (DC)", "detection_control"),
    Column("Detection (D)", "detection", True),
    Column("AP", "action_priority"),
    Column("Action", "action"),
    Column("Action Type", "action_type"),
    Column("Responsible Person", "responsible"),
    Column("Target Completion Date", "due"),
    Column("Status", "status"),
)
HEADERS = tuple(c.header for c in COLUMNS)
_BY_NAME = {name.casefold(): c for c in COLUMNS for name in (c.header, *c.aliases)}
_HEAD_FIELDS = ("fmea_id", "fmea_kind", "fmea_title", "item")
_ACTION_FIELDS = ("action", "action_type", "responsible", "due", "status")
_CHAIN_FIELDS = tuple(c.field for c in COLUMNS if c.field not in _HEAD_FIELDS + _ACTION_FIELDS)
FORMATS = ("xlsx", "csv")


@dataclass(frozen=True)
class Imported:
    """An FMEA read from a worksheet, and where each chain came from (for messages)."""

    fmea: Fmea
    lines: dict[str, str]  # chain row key -> "file: row N"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows_csv(data: bytes, where: str) -> Iterator[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=where) from exc
    try:
        for n, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            yield n, [_text(c) for c in row]
    except csv.Error as exc:
        raise ParseError(f"CSV: {exc}", file=where) from exc


def _openpyxl() -> Any:
    try:
        import openpyxl
    except ImportError as exc:
        raise MissingExtraError("openpyxl", extra="ingest") from exc
    return openpyxl


def _rows_xlsx(data: bytes, where: str) -> Iterator[tuple[int, list[str]]]:
    openpyxl = _openpyxl()
    import zipfile

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ParseError(f"not an XLSX workbook: {exc}", file=where) from exc
    try:
        sheet = book["FMEA"] if "FMEA" in book.sheetnames else book.worksheets[0]
        for n, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield n, [_text(c) for c in row]
    finally:
        book.close()


def read_worksheet(data: bytes, *, format: str, where: str = "<worksheet>") -> Imported:
    """Parse and check a worksheet (``format`` xlsx or csv). Nothing touches the store."""
    if format not in FORMATS:
        raise ValidationError(f"worksheet format {format!r} is not one of {', '.join(FORMATS)}", field="format")
    rows = _rows_xlsx(data, where) if format == "xlsx" else _rows_csv(data, where)
    columns: list[Column | None] | None = None
    head: dict[str, tuple[str, int]] = {}
    chains: dict[str, dict[str, str]] = {}
    first_line: dict[str, int] = {}
    actions: dict[str, list[OptimisationAction]] = {}
    for n, cells in rows:
        if not any(cells):
            continue
        if columns is None:
            columns = _header(cells, where, n)
            continue
        record = {c.field: (cells[i] if i < len(cells) else "") for i, c in enumerate(columns) if c is not None}
        at = f"{where}: row {n}"
        for c in COLUMNS:
            if c.required and not record.get(c.field):
                raise ValidationError(f"{at}, field {c.header!r}: empty", where=at, field=c.header)
        for name in _HEAD_FIELDS:
            value = record.get(name, "")
            if name in head and head[name][0] != value:
                raise ValidationError(
                    f"{at}, field {_header_of(name)!r}: {value!r} differs from {head[name][0]!r} "
                    f"on row {head[name][1]} "
                    "(one FMEA per worksheet)",
                    where=at,
                    field=_header_of(name),
                )
            head.setdefault(name, (value, n))
        kind = head["fmea_kind"][0]
        if kind not in FMEA_KINDS:
            raise ValidationError(
                f"{at}, field 'FMEA Type': {kind!r} is not PFMEA or DFMEA", where=at, field="FMEA Type"
            )
        chain = {name: record.get(name, "") for name in _CHAIN_FIELDS}
        _check_chain(chain, kind, at)
        row = chain["row"]
        if row in chains:
            for name in _CHAIN_FIELDS:
                if name != "action_priority" and chains[row][name] != chain[name]:
                    raise ValidationError(
                        f"{at}, field {_header_of(name)!r}: {chain[name]!r} differs from {chains[row][name]!r} on "
                        f"row {first_line[row]} of the same failure chain (Row {row})",
                        where=at,
                        field=_header_of(name),
                    )
        else:
            chains[row], first_line[row] = chain, n
            actions[row] = []
        action = _action(record, at)
        if action is not None:
            actions[row].append(action)
    if columns is None or not chains:
        raise ValidationError(f"{where}: no failure chains (a header row and at least one line are needed)")
    fmea = Fmea(
        id=head["fmea_id"][0],
        kind=head["fmea_kind"][0],
        title=head["fmea_title"][0],
        item=head["item"][0] or None,
        chains=tuple(_chain(chains[row], head["fmea_kind"][0], tuple(actions[row])) for row in chains),
    )
    return Imported(fmea, {row: f"{where}: row {line}" for row, line in first_line.items()})


def _header_of(name: str) -> str:
    return next(c.header for c in COLUMNS if c.field == name)


def _header(cells: list[str], where: str, n: int) -> list[Column | None]:
    out: list[Column | None] = []
    seen: set[str] = set()
    for i, cell in enumerate(cells):
        if not cell:
            out.append(None)
            continue
        column = _BY_NAME.get(cell.casefold())
        if column is None:
            raise ValidationError(
                f"{where}: row {n}, column {i + 1} {cell!r}: not in the FMEA worksheet column mapping "
                f"(expected headers: {', '.join(HEADERS)})",
                where=f"{where}: row {n}",
                field=cell,
            )
        if column.field in seen:
            raise ValidationError(f"{where}: row {n}, column {cell!r}: given twice", field=cell)
        seen.add(column.field)
        out.append(column)
    missing = [c.header for c in COLUMNS if c.required and c.field not in seen]
    if missing:
        raise ValidationError(f"{where}: row {n}: missing column(s) {', '.join(missing)}", field=missing[0])
    return out


def _check_chain(chain: dict[str, str], kind: str, at: str) -> None:
    ratings = {}
    for name in ("severity", "occurrence", "detection"):
        header = _header_of(name)
        try:
            ratings[name] = check_rating(chain[name], header)
        except ValidationError as exc:
            raise ValidationError(f"{at}, field {exc.message}", where=at, field=header) from None
    if chain["category"] and chain["category"] not in CATEGORIES_4M:
        raise ValidationError(
            f"{at}, field '4M Type': {chain['category']!r} is not one of {', '.join(CATEGORIES_4M)}",
            where=at,
            field="4M Type",
        )
    ap = chain.get("action_priority", "")
    expected = action_priority(ratings["severity"], ratings["occurrence"], ratings["detection"], kind=kind)  # type: ignore[arg-type]
    if ap and ap != expected:
        raise ValidationError(
            f"{at}, field 'AP': {ap!r}, but the AIAG & VDA table gives {expected} for S{ratings['severity']} "
            f"O{ratings['occurrence']} D{ratings['detection']}",
            where=at,
            field="AP",
        )


def _action(record: dict[str, str], at: str) -> OptimisationAction | None:
    given = {name: record.get(name, "") for name in _ACTION_FIELDS}
    if not any(given.values()):
        return None
    for name in ("action", "action_type", "responsible", "status"):
        if not given[name]:
            raise ValidationError(
                f"{at}, field {_header_of(name)!r}: empty, but the line has an action", where=at, field=_header_of(name)
            )
    if given["action_type"] not in ACTION_KINDS:
        raise ValidationError(
            f"{at}, field 'Action Type': {given['action_type']!r} is not prevention or detection",
            where=at,
            field="Action Type",
        )
    if given["status"] not in ACTION_STATUSES:
        raise ValidationError(
            f"{at}, field 'Status': {given['status']!r} is not one of {', '.join(ACTION_STATUSES)}",
            where=at,
            field="Status",
        )
    due = None
    if given["due"]:
        try:
            due = dt.date.fromisoformat(given["due"][:10])
        except ValueError:
            raise ValidationError(
                f"{at}, field 'Target Completion Date': {given['due']!r} is not a date (YYYY-MM-DD)",
                where=at,
                field="Target Completion Date",
            ) from None
    return OptimisationAction(given["action"], given["action_type"], given["responsible"], due, given["status"])


def _chain(chain: dict[str, str], kind: str, actions: tuple[OptimisationAction, ...]) -> FailureChain:
    s, o, d = (int(chain[k]) for k in ("severity", "occurrence", "detection"))
    return FailureChain(
        row=chain["row"],
        process_item=chain["process_item"],
        process_step=chain["process_step"],
        work_element=chain["work_element"],
        failure_effect=chain["failure_effect"],
        severity=s,
        failure_mode=chain["failure_mode"],
        failure_cause=chain["failure_cause"],
        prevention_control=chain["prevention_control"],
        occurrence=o,
        detection_control=chain["detection_control"],
        detection=d,
        action_priority=action_priority(s, o, d, kind=kind),  # type: ignore[arg-type]
        step_code=chain["step_code"] or None,
        category=chain["category"] or None,
        item_function=chain["item_function"],
        step_function=chain["step_function"],
        element_function=chain["element_function"],
        failure_mode_code=chain["failure_mode_code"] or None,
        parameter=chain["parameter"] or None,
        equipment=chain["equipment"] or None,
        actions=actions,
    )


# ---------------------------------------------------------------- export


def worksheet_rows(fmea: Fmea) -> list[list[str]]:
    """The worksheet lines (without the header), in row order."""
    out = []
    for chain in fmea.chains:
        base = {
            "fmea_id": fmea.id,
            "fmea_kind": fmea.kind,
            "fmea_title": fmea.title,
            "item": fmea.item or "",
            **{name: _text(getattr(chain, name)) for name in _CHAIN_FIELDS},
        }
        for action in chain.actions or (None,):
            record = dict(base)
            if action is not None:
                record.update(
                    action=action.description,
                    action_type=action.kind,
                    responsible=action.responsible,
                    due=action.due.isoformat() if action.due else "",
                    status=action.status,
                )
            out.append([record.get(c.field, "") for c in COLUMNS])
    return out


def write_worksheet(fmea: Fmea, *, format: str) -> bytes:
    """The FMEA as a worksheet: CSV (UTF-8 with BOM, for spreadsheet programs) or XLSX
    (sheet ``FMEA``, and a sheet ``Column mapping`` describing each column)."""
    rows = worksheet_rows(fmea)
    if format == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(HEADERS)
        writer.writerows(rows)
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")
    if format != "xlsx":
        raise ValidationError(f"worksheet format {format!r} is not one of {', '.join(FORMATS)}", field="format")
    openpyxl = _openpyxl()
    from openpyxl.styles import Alignment, Font, PatternFill

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "FMEA"
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append(row)
    text_only(sheet)
    fills = {"H": "F4B6B6", "M": "FCE4A8", "L": "C9E7C1"}
    ap_col = HEADERS.index("AP") + 1
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r in range(2, sheet.max_row + 1):
        cell = sheet.cell(row=r, column=ap_col)
        if cell.value in fills:
            cell.fill = PatternFill("solid", fgColor=fills[str(cell.value)])
    sheet.freeze_panes = "F2"
    mapping = book.create_sheet("Column mapping")
    mapping.append(["Header", "Field", "Required", "Also accepted"])
    for c in COLUMNS:
        mapping.append([c.header, c.field, "yes" if c.required else "", ", ".join(c.aliases)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def text_only(sheet: Any) -> None:
    """Keep every cell text: openpyxl makes a value starting with ``=`` a formula, which a
    spreadsheet program would run (CSV/formula injection, OWASP); as text it round-trips."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def format_of(path: Path, given: str | None = None) -> str:
    fmt = (given or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValidationError(
            f"{path}: worksheet format {fmt!r} is not one of {', '.join(FORMATS)} "
            "(name the file .xlsx or .csv, or give --format)",
            field="format",
        )
    return fmt


def save_imported(
    store: GraphStore,
    imported: Imported,
    *,
    agent: str,
    audit: AuditLog | None = None,
    role: str | None = None,
    why: str | None = None,
    replace: bool = False,
) -> LoadResult:
    """Write an imported worksheet as the FMEA (one audited batch; an FMEA saved before
    with other content only with ``replace``). The worksheet has no control plan columns,
    so an FMEA saved before keeps its control plan items for the failure chains the
    worksheet still has."""
    fmea = imported.fmea
    try:
        before = load_fmea(store, fmea.id)
    except NotFoundError:
        before = None
    if before is not None:
        rows = {c.row for c in fmea.chains}
        kept = []
        for item in before.control_plan:
            chains = tuple(r for r in item.chains if r in rows)
            if chains or not item.chains:
                kept.append(dataclasses.replace(item, chains=chains))
        fmea = dataclasses.replace(fmea, control_plan=tuple(kept))
    return save_fmea(
        store,
        fmea,
        agent=agent,
        audit=audit,
        role=role,
        why=why,
        where=imported.lines,
        action="workbench.fmea.import",
        replace=replace,
    )


def read_worksheet_file(path: Path, *, format: str | None = None) -> Imported:
    fmt = format_of(path, format)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read: {exc.strerror}", file=path) from exc
    return read_worksheet(data, format=fmt, where=str(path))


__all__ = [
    "COLUMNS",
    "FORMATS",
    "HEADERS",
    "Column",
    "Imported",
    "format_of",
    "read_worksheet",
    "read_worksheet_file",
    "save_imported",
    "text_only",
    "worksheet_rows",
    "write_worksheet",
]
