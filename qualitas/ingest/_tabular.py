"""Rows from CSV (streamed) and XLSX (openpyxl), with configurable column mapping.

A *column mapping* is a dict from our field name to the headers that mean it, e.g.
``{"part": ("part", "part number", "零件号"), ...}``. Headers match ignoring case,
spaces, ``_``, ``-`` and ``.``; the first header that matches wins. Pass your own
mapping (or a YAML file with the same shape, see :func:`load_mapping`) for a PLM or
MES export whose headers differ.

CSV is read row by row (never the whole file). The encoding is UTF-8 (with or
without BOM), or GBK/GB18030 when the start of the file is not UTF-8; pass
``encoding=`` to force one. XLSX formulas are read from the values Excel cached
when it last saved the file; a formula without a cached value is refused. Merged
cells take the value of their top-left cell.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from qualitas.errors import ParseError, ValidationError
from qualitas.ingest._bounds import check_xlsx, load_json
from qualitas.ingest._core import Record, Source

ColumnMap = Mapping[str, Sequence[str]]

_NORMALIZE = re.compile(r"[\s_\-./()（）:：]+")


def normalize_header(text: object) -> str:
    return _NORMALIZE.sub("", str(text or "")).lower()


def load_mapping(path: Path) -> dict[str, tuple[str, ...]]:
    """A column mapping from YAML: ``field: [header, header, ...]`` (a single string is fine)."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParseError(f"not valid YAML: {exc}", file=path) from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: a column mapping is a mapping of field -> headers", file=str(path))
    return {str(k): (v,) if isinstance(v, str) else tuple(str(h) for h in v) for k, v in data.items()}


def merge_mapping(default: ColumnMap, override: ColumnMap | None) -> dict[str, tuple[str, ...]]:
    """``override`` headers come first, so a custom export's names win over the defaults."""
    merged = {k: tuple(v) for k, v in default.items()}
    for key, headers in (override or {}).items():
        headers = (headers,) if isinstance(headers, str) else tuple(headers)
        merged[key] = tuple(headers) + merged.get(key, ())
    return merged


def _resolve_header(
    src: Source, headers: Sequence[object], columns: ColumnMap, required: Sequence[str], row: int
) -> dict[int, str]:
    normalized = [normalize_header(h) for h in headers]
    index: dict[int, str] = {}
    for name, aliases in columns.items():
        for alias in (name, *aliases):
            key = normalize_header(alias)
            if key in normalized:
                position = normalized.index(key)
                if position not in index:
                    index[position] = name
                    break
    present = set(index.values())
    missing = [name for name in required if name not in present]
    if missing:
        found = ", ".join(repr(str(h)) for h in headers if str(h or "").strip()) or "none"
        raise src.invalid(
            f"missing required column(s) {', '.join(missing)}; the header has {found} "
            "(map other header names with a column mapping)",
            where=f"row {row} (header)",
            field=missing[0],
        )
    return index


def header_fields(path: Path, columns: ColumnMap, *, encoding: str | None = None) -> set[str]:
    """Which of ``columns`` the header row of a CSV or XLSX file has (format detection).

    An XLSX that is not a workbook, or is a zip bomb, is refused here (ParseError)."""
    xlsx = path.suffix.lower() in (".xlsx", ".xlsm")
    if xlsx and path.is_file():
        check_xlsx(path)
    try:
        if xlsx:
            headers = _xlsx_header(path)
        else:
            with path.open("rb") as fh:
                head = fh.read(64 * 1024)
            text = head.decode(encoding or _sniff_encoding(head) or "utf-8", errors="replace")
            first = text.splitlines()[0] if text else ""
            headers = next(csv.reader([first], delimiter=_sniff_delimiter(first)))
    except (OSError, StopIteration, ValueError, KeyError):
        return set()
    normalized = {normalize_header(h) for h in headers}
    return {
        name for name, aliases in columns.items() if any(normalize_header(a) in normalized for a in (name, *aliases))
    }


def _xlsx_header(path: Path) -> list[object]:
    import openpyxl

    check_xlsx(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for row in book.worksheets[0].iter_rows(max_row=1, values_only=True):
            return list(row)
        return []
    finally:
        book.close()


# ---------------------------------------------------------------- CSV


def _sniff_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        return None


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_records(
    src: Source,
    columns: ColumnMap,
    *,
    required: Sequence[str],
    encoding: str | None = None,
) -> Iterator[Record]:
    """Stream the rows of a CSV file as Records keyed by field name (header is row 1)."""
    raw = src.open_binary()
    with raw:
        buffered = io.BufferedReader(raw, buffer_size=1 << 16)
        head = buffered.peek(64 * 1024)[: 64 * 1024]
        enc = encoding or _sniff_encoding(head)
        if enc is None:
            raise ParseError(
                "the file is neither UTF-8 nor GBK/GB18030; pass encoding= for another encoding",
                file=src.path,
                line=1,
            )
        text = io.TextIOWrapper(buffered, encoding=enc, newline="")
        reader = csv.reader(text, delimiter=_sniff_delimiter(_first_line(head, enc)))
        row = 0
        try:
            try:
                headers = next(reader)
            except StopIteration:
                raise src.invalid("the file is empty; expected a header row", where="row 1") from None
            row = 1
            index = _resolve_header(src, headers, columns, required, row)
            for cells in reader:
                row += 1
                if not any(cell.strip() for cell in cells):
                    continue
                values = {name: cells[i] for i, name in index.items() if i < len(cells)}
                yield Record(src, f"row {row}", values)
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"row {row + 1}: bytes that are not {enc} ({exc.reason}); pass encoding= to read it",
                file=src.path,
                line=reader.line_num + 1,
            ) from exc
        except csv.Error as exc:
            raise ParseError(f"row {row + 1}: {exc}", file=src.path, line=reader.line_num) from exc


def _first_line(head: bytes, enc: str) -> str:
    text = head.decode(enc, errors="replace")
    return text.splitlines()[0] if text else ""


# ---------------------------------------------------------------- XLSX


def xlsx_records(
    src: Source,
    columns: ColumnMap,
    *,
    required: Sequence[str],
    sheet: str | None = None,
    header_row: int | None = None,
) -> Iterator[Record]:
    """The rows of one worksheet (the first, or ``sheet``) as Records.

    Cells show their cached values (``data_only``); a formula cell without one is
    refused, since we would otherwise read an empty cell. Merged ranges repeat their
    top-left value in every cell they cover, so a merged "assembly" cell applies to
    all the rows it spans.
    """
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    check_xlsx(src.path)  # not a ZIP, a zip bomb, a DTD in a part: refused before openpyxl reads it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles, not about data
            values_book = openpyxl.load_workbook(src.path, data_only=True)
            formula_book = openpyxl.load_workbook(src.path, data_only=False)
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise ParseError(f"not a readable XLSX workbook: {exc}", file=src.path) from exc
    except Exception as exc:  # zipfile.BadZipFile and friends
        raise ParseError(f"not a readable XLSX workbook: {exc}", file=src.path) from exc
    if sheet is not None and sheet not in values_book.sheetnames:
        raise src.invalid(f"no worksheet {sheet!r}; the workbook has {values_book.sheetnames}")
    ws = values_book[sheet] if sheet else values_book.worksheets[0]
    fws = formula_book[ws.title]
    if src.progress is not None:
        src.progress(0, src.size)

    merged: dict[tuple[int, int], object] = {}
    for rng in ws.merged_cells.ranges:
        top_left = ws.cell(rng.min_row, rng.min_col).value
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                merged[(r, c)] = top_left

    def value(r: int, c: int) -> object:
        if (r, c) in merged:
            return merged[(r, c)]
        return ws.cell(r, c).value

    # Only the cells the file holds are visited: one far cell (XFD1048576) stretches the
    # sheet's extent to 1,048,576 x 16,384, and walking that rectangle would create a
    # cell object per position (a 5 KB file took 1.9 GB and a minute). openpyxl keeps
    # the parsed cells in ``_cells``, keyed by (row, column).
    present: dict[int, set[int]] = {}
    for r, c in [*ws._cells, *fws._cells, *merged]:
        present.setdefault(r, set()).add(c)
    rows = sorted(present)
    first = header_row or next(
        (r for r in rows if any(value(r, c) not in (None, "") for c in present[r])),
        1,
    )
    headers = [value(first, c) for c in range(1, max(present.get(first, {0})) + 1)]
    index = _resolve_header(src, headers, columns, required, first)
    where_sheet = f"sheet {ws.title!r}"
    for r in rows:
        if r <= first:
            continue
        values: dict[str, object] = {}
        for i, name in index.items():
            c = i + 1
            cell_value = value(r, c)
            formula = fws.cell(r, c).value
            if cell_value is None and isinstance(formula, str) and formula.startswith("="):
                coordinate = fws.cell(r, c).coordinate
                raise src.invalid(
                    f"cell {coordinate} holds the formula {formula!r} with no cached value; "
                    "open and save the workbook in Excel or LibreOffice (which store the "
                    "computed values), or export the sheet as values",
                    where=f"{where_sheet}, row {r}",
                    field=name,
                )
            values[name] = cell_value
        if all(v in (None, "") for v in values.values()):
            continue
        yield Record(src, f"{where_sheet}, row {r}", values)


def table_records(
    src: Source,
    columns: ColumnMap,
    *,
    required: Sequence[str],
    encoding: str | None = None,
    sheet: str | None = None,
) -> Iterator[Record]:
    """CSV or XLSX rows, by the file's suffix."""
    if src.path.suffix.lower() in (".xlsx", ".xlsm"):
        return xlsx_records(src, columns, required=required, sheet=sheet)
    return csv_records(src, columns, required=required, encoding=encoding)


# ---------------------------------------------------------------- JSON


def json_document(src: Source) -> object:
    """The parsed JSON file; a syntax error names the line and column, and nesting too
    deep, a number too long or a control character in a string are refused
    (:func:`qualitas.ingest._bounds.load_json`)."""
    with src.open_binary() as raw:
        data = raw.read()
    return load_json(data, file=src.path)


def json_records(
    src: Source, document: object, key: str, *, required: Sequence[str], aliases: ColumnMap | None = None
) -> Iterator[Record]:
    """The objects of the array ``document[key]`` (or ``document`` itself when it is an
    array) as Records; ``aliases`` maps our field names to other JSON keys."""
    items = document.get(key, []) if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise src.invalid(f"expected an array of objects under {key!r}", where=key)
    lookup = {normalize_header(a): name for name, names in (aliases or {}).items() for a in (name, *names)}
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise src.invalid(f"expected an object, got {type(item).__name__}", where=where)
        values = {lookup.get(normalize_header(k), k): v for k, v in item.items()}
        for name in required:
            if values.get(name) in (None, "", []):
                raise src.invalid("missing required field", where=where, field=name)
        yield Record(src, where, values)
