"""Multi-level bills of materials from CSV or XLSX (PLM exports).

Two layouts are understood:

* **indented level**: a ``level`` column (``0``, ``1``, ``2`` or ``.1``, ``..2``); a
  row's parent is the nearest row above it with a level one less. Level 0 rows are
  the top assemblies (products).
* **parent/child**: a ``parent`` column naming each line's assembly; assemblies that
  never appear as a child are the top assemblies.

Per line: part number, quantity with its unit (``2``, ``0.042 kg``, or a separate
unit column; pieces when empty), reference designators (``R1, R2`` or ``R1-R4``),
the as-designed material grade, optionally name, position (find number; 10, 20, ...
when empty), supplier, revision and GTIN (refused when its GS1 check digit is wrong,
stored as GTIN-14 in ``q:gtin``). Each assembly becomes a ``q:BillOfMaterials``
with ``q:BOMLine`` s, exactly as ``qualitas.ontology.builder.Builder.bom`` writes
them. Units map to QUDT (unknown units are refused). Refused as well: a part that
contains itself through other rows (a cycle A → B → A), a part number given two
different names, and a quantity that is not a finite number within 1e±300.

Column mapping: :data:`DEFAULT_COLUMNS` lists the headers understood out of the box
(English and Chinese). For other exports pass ``columns={"part": ["Item ID"], ...}``
(or a YAML file with that shape, loaded with ``qualitas.ingest.load_mapping``):
the given headers are tried before the defaults.

Use::

    from qualitas.ingest import bom
    plan = bom.simulate(Path("cpc-200.xlsx"), store)           # dry run
    result = bom.execute(store, Path("cpc-200.xlsx"), agent="alice")
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from rdflib import RDF, Literal

from qualitas.ingest._core import PlannedLoad, Record, Source, Triple
from qualitas.ingest._core import execute as _execute
from qualitas.ingest._core import simulate as _simulate
from qualitas.ingest._tabular import ColumnMap, merge_mapping, table_records
from qualitas.ontology import Q, mint
from qualitas.ontology.builder import Builder, Line
from qualitas.ontology.identifiers import gtin14
from qualitas.store import GraphStore, LoadResult, Progress

FORMAT = "bom"

#: field -> headers accepted for it (matched ignoring case, spaces, ``_``, ``-``, ``.``).
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "level": ("level", "lvl", "bom level", "indent", "层级", "层次", "级别", "阶层"),
    "parent": ("parent", "parent part", "parent item", "parent number", "assembly", "父项", "父件", "上级物料"),
    "part": (
        "part",
        "part number",
        "part no",
        "pn",
        "item",
        "item number",
        "component",
        "child",
        "component number",
        "物料编码",
        "零件号",
        "料号",
        "子件",
        "物料号",
    ),
    "name": ("name", "description", "part name", "item name", "名称", "描述", "物料名称", "零件名称"),
    "position": ("position", "pos", "find number", "find no", "item no", "line", "序号", "行号", "位置号"),
    "quantity": ("quantity", "qty", "quantity per", "数量", "用量"),
    "unit": ("unit", "uom", "unit of measure", "单位", "计量单位"),
    "designators": ("designators", "designator", "ref des", "refdes", "reference designators", "reference", "位号"),
    "material": ("material", "material grade", "as designed material", "grade", "材料", "材质", "材料牌号"),
    "supplier": ("supplier", "supplier id", "vendor", "供应商", "供应商代码"),
    "revision": ("revision", "rev", "版本", "版次"),
    "gtin": ("gtin", "gtin-14", "gtin-13", "ean", "ean-13", "upc", "global trade item number", "商品条码", "条码"),
}

_RANGE = re.compile(r"^([A-Za-z]+)(\d+)\s*[-–~]\s*(?:[A-Za-z]+)?(\d+)$")


def designators(items: list[str]) -> list[str]:
    """``["R1-R3", "C5"]`` -> ``["R1", "R2", "R3", "C5"]``."""
    out: list[str] = []
    for item in items:
        match = _RANGE.match(item)
        if match and int(match.group(3)) >= int(match.group(2)) and int(match.group(3)) - int(match.group(2)) < 10000:
            prefix = match.group(1)
            out.extend(f"{prefix}{n}" for n in range(int(match.group(2)), int(match.group(3)) + 1))
        else:
            out.append(item)
    return out


@dataclass(frozen=True)
class BomRow:
    record: Record
    parent: str | None  # None: a top assembly
    part: str
    revision: str
    position: int | None = None


def _level(record: Record) -> int:
    value = record.raw("level")
    if value is None:
        raise record.error("is empty; every row needs a level (0 = top assembly)", "level")
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        level = int(value)
    else:
        text = str(value).strip()
        dots = len(text) - len(text.lstrip("."))
        rest = text[dots:]
        if rest.isdigit():
            level = int(rest)
        elif not rest and dots:
            level = dots
        else:
            raise record.error(f"expected a level number such as 0, 1, 2 or ..2, got {value!r}", "level")
    if level < 0:
        raise record.error(f"a level cannot be negative ({level})", "level")
    return level


def _rows(src: Source) -> Iterator[BomRow]:
    """The structure of the BOM (parent and position per row); no triples yet."""
    columns = merge_mapping(DEFAULT_COLUMNS, src.options.get("columns"))  # type: ignore[arg-type]
    layout_fields = _layout(src, columns)
    required = ["part", "quantity", layout_fields] if layout_fields else ["part", "quantity", "level"]
    records = table_records(
        src,
        columns,
        required=required,
        encoding=src.options.get("encoding"),  # type: ignore[arg-type]
        sheet=src.options.get("sheet"),  # type: ignore[arg-type]
    )
    default_rev = str(src.options.get("revision") or "A")
    root = src.options.get("root")
    counters: dict[str, int] = {}

    def position(rec: Record, parent: str) -> int:
        given = rec.integer("position", required=False)
        counters[parent] = counters.get(parent, 0) + 1
        if given is not None:
            if given <= 0:
                raise rec.error(f"a position must be positive, got {given}", "position")
            return given
        return counters[parent] * 10

    if layout_fields == "parent":
        for rec in records:
            parent = rec.need("parent")
            part = rec.need("part")
            if part == parent:
                raise rec.error(f"part {part!r} lists itself as its parent", "part")
            rev = rec.text("revision", required=False) or default_rev
            yield BomRow(rec, parent, part, rev, position(rec, parent))
        return

    stack: list[tuple[str, str]] = []  # (part, revision) by level
    if root:
        stack.append((str(root), default_rev))
    offset = 0
    first = True
    for rec in records:
        level = _level(rec) + offset
        part = rec.need("part")
        rev = rec.text("revision", required=False) or default_rev
        if first and level > 0 and not root:
            raise rec.error(
                f"the first row has level {level - offset}; it must be the top assembly (level 0), "
                "or name the top assembly with root=",
                "level",
            )
        if first and root and level == 0:
            offset = 1  # the file has its own level 0 below the given root
            level = 1
        first = False
        if level > len(stack):
            raise rec.error(
                f"level {level - offset} jumps more than one level below the row above "
                f"(level {len(stack) - 1 - offset})",
                "level",
            )
        del stack[level:]
        if level == 0:
            stack.append((part, rev))
            yield BomRow(rec, None, part, rev)
            continue
        parent, parent_rev = stack[level - 1]
        stack.append((part, rev))
        yield BomRow(rec, parent, part, parent_rev, position(rec, parent))


def _layout(src: Source, columns: ColumnMap) -> str | None:
    from qualitas.ingest._tabular import header_fields

    fields = header_fields(src.path, {k: columns[k] for k in ("level", "parent")}, encoding=src.options.get("encoding"))  # type: ignore[arg-type]
    if "level" in fields:
        return "level"
    if "parent" in fields:
        return "parent"
    return None


def triples(src: Source) -> Iterator[Triple]:
    """The triples of one BOM file, row by row."""
    buf: list[Triple] = []
    b = Builder(buf.append)
    headers: set[tuple[str, str]] = set()
    src.rescan_keys(
        lambda: (
            ("BOM position", f"{r.parent} rev {r.revision} position {r.position}", r.record.where)
            for r in _rows(src)
            if r.parent is not None
        )
    )
    if _layout(src, merge_mapping(DEFAULT_COLUMNS, src.options.get("columns"))) == "parent":  # type: ignore[arg-type]
        # The top assemblies are the parents that are nobody's child: one pass to find them.
        parents: set[str] = set()
        children: set[str] = set()
        for row in _rows(src):
            parents.add(row.parent or row.part)
            children.add(row.part)
        for top in sorted(parents - children):
            b.product(top, top, is_part=True)
    names: dict[str, tuple[str, str]] = {}  # part -> (name, row) of the first row naming it
    edges: dict[str, dict[str, str]] = {}  # assembly -> component -> first row listing it
    for row in _rows(src):
        rec = row.record
        name = rec.text("name", required=False)
        supplier = rec.text("supplier", required=False)
        if name:
            first_name, first_row = names.setdefault(row.part, (name, rec.where))
            if first_name != name:
                raise rec.error(
                    f"part {row.part!r} is named {name!r} here but {first_name!r} in {first_row}; "
                    "a part number has one name",
                    "name",
                )
        if row.parent is not None:
            edges.setdefault(row.parent, {}).setdefault(row.part, rec.where)
        gtin = rec.identifier("gtin", gtin14)
        if row.parent is None:
            product = b.product(row.part, name or row.part, is_part=True)
            if gtin:
                buf.append((product, Q.gtin, Literal(gtin)))
            yield from buf
            buf.clear()
            continue
        src.unique(
            "BOM position",
            f"{row.parent} rev {row.revision} position {row.position}",
            where=rec.where,
            field="position",
        )
        quantity, unit = rec.quantity("quantity", "unit")
        if quantity <= 0:
            raise rec.error(f"a quantity must be positive, got {quantity}", "quantity")
        material = rec.text("material", required=False)
        if (row.parent, row.revision) not in headers:
            headers.add((row.parent, row.revision))
            owner = b.part_iri(row.parent)
            b.bom(owner, row.parent, row.revision, [])
            buf.append((owner, RDF.type, Q.Part))
            buf.append((owner, Q.partNumber, Literal(row.parent)))
        _part(b, buf, row.part, name, supplier)
        if gtin:
            buf.append((b.part_iri(row.part), Q.gtin, Literal(gtin)))
        if material:
            iri = mint("material", material)
            buf.append((iri, RDF.type, Q.Material))
            buf.append((iri, Q.grade, Literal(material)))
        b.bom_line(
            row.parent,
            row.revision,
            Line(
                position=row.position or 0,
                part=row.part,
                quantity=_plain(quantity),
                unit=unit,
                material=material,
                designators=designators(rec.items("designators")),
            ),
        )
        yield from buf
        buf.clear()
    _refuse_cycles(src, edges)
    yield from buf


def _refuse_cycles(src: Source, edges: dict[str, dict[str, str]]) -> None:
    """Refuse an assembly that contains itself through its components (A → B → A):
    every explosion of it would be infinite. Depth-first, without recursion; the error
    names the row that closes the cycle."""
    state: dict[str, int] = {}  # 1: on the current path, 2: explored
    for top in edges:
        if top in state:
            continue
        path, pending = [top], [iter(edges[top])]
        state[top] = 1
        while pending:
            child = next(pending[-1], None)
            if child is None:
                state[path.pop()] = 2
                pending.pop()
                continue
            seen = state.get(child)
            if seen == 1:
                cycle = " → ".join([*path[path.index(child) :], child])
                raise src.invalid(
                    f"BOM cycle {cycle}: part {child!r} would contain itself",
                    where=edges[path[-1]][child],
                    field="part",
                )
            if seen is None:
                state[child] = 1
                path.append(child)
                pending.append(iter(edges.get(child, {})))


def _part(b: Builder, buf: list[Triple], number: str, name: str | None, supplier: str | None) -> None:
    if name:
        b.part(number, name, supplier=supplier)
        return
    iri = b.part_iri(number)
    buf.append((iri, RDF.type, Q.Part))
    buf.append((iri, Q.partNumber, Literal(number)))
    if supplier:
        buf.append((iri, Q.suppliedBy, mint("supplier", supplier)))


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)


def _options(
    columns: ColumnMap | None, encoding: str | None, sheet: str | None, revision: str, root: str | None
) -> dict[str, object]:
    return {"columns": columns, "encoding": encoding, "sheet": sheet, "revision": revision, "root": root}


def simulate(
    path: Path,
    store: GraphStore,
    *,
    columns: ColumnMap | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    revision: str = "A",
    root: str | None = None,
    source: str | None = None,
    replace: bool = False,
) -> PlannedLoad:
    """Dry run: validate the BOM and say what loading it would add, replace or refuse."""
    return _simulate(
        path,
        store,
        format=FORMAT,
        triples=triples,
        options=_options(columns, encoding, sheet, revision, root),
        source=source,
        replace=replace,
    )


def execute(
    store: GraphStore,
    path: Path,
    *,
    agent: str,
    progress: Progress | None = None,
    columns: ColumnMap | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    revision: str = "A",
    root: str | None = None,
    source: str | None = None,
    replace: bool = False,
) -> LoadResult:
    """Load the BOM as one batch.

    ``columns`` maps fields to your headers; ``encoding`` forces a CSV encoding;
    ``sheet`` picks an XLSX worksheet; ``revision`` is used where a row gives none;
    ``root`` names the top assembly when the file lists only its components.
    """
    return _execute(
        store,
        path,
        format=FORMAT,
        triples=triples,
        agent=agent,
        progress=progress,
        options=_options(columns, encoding, sheet, revision, root),
        source=source,
        replace=replace,
    )
