"""Helpers for the ingest tests: fixture paths, a refusal check, and an XLSX writer that
can store cached formula values (as Excel does) and merge cells."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import openpyxl
import pytest

from qualitas.errors import InputError
from qualitas.store import GraphStore

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
#: The four real GS1 examples, in ../shared next to the repository checkout.
EPCIS_DIR = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "epcis"


def refused(store: GraphStore, action: Callable[[], object], *fragments: str) -> str:
    """Run ``action``, expect an InputError whose message has every fragment, and
    check the store did not change; returns the message."""
    before = store.snapshot()
    with pytest.raises(InputError) as info:
        action()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert store.snapshot() == before
    return message


def write_xlsx(
    path: Path,
    rows: Sequence[Sequence[object]],
    *,
    merged: Sequence[str] = (),
    cached: dict[str, object] | None = None,
) -> Path:
    """Write ``rows``; ``"=..."`` cells are formulas. ``cached`` gives formula cells a
    cached value (cell -> value), written into the sheet XML as Excel would."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "BOM"
    for row in rows:
        sheet.append(list(row))
    for rng in merged:
        sheet.merge_cells(rng)
    book.save(path)
    if cached:
        with zipfile.ZipFile(path) as zin:
            items = {name: zin.read(name) for name in zin.namelist()}
        xml = items["xl/worksheets/sheet1.xml"].decode()
        for cell, value in cached.items():
            xml, n = re.subn(
                rf'(<c r="{cell}"[^>]*>)(<f>[^<]*</f>)(<v\s*/>|<v></v>)?',
                lambda m, value=value: f"{m.group(1)}{m.group(2)}<v>{value}</v>",
                xml,
            )
            assert n == 1, f"no formula cell {cell}"
        items["xl/worksheets/sheet1.xml"] = xml.encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
            for name, data in items.items():
                zout.writestr(name, data)
    return path


#: The three-level BOM of the WPR-500 wiper module. Row 5 has a formula quantity;
#: the supplier cells of rows 3-4 are merged.
WIPER_BOM = [
    ["Level", "Part Number", "Description", "Qty", "Unit", "Ref Des", "Material", "Supplier"],
    [0, "WPR-500", "Wiper module", None, None, None, None, None],
    [1, "ARM-510", "Wiper arm", 1, "pcs", None, None, None],
    [2, "BLD-511", "Blade rubber", 0.12, "kg", None, "EPDM-60", "SUP-RBR"],
    [2, "CLP-512", "Arm clip", "=1+1", None, None, "PBT+GF30", None],
    [1, "MOT-520", "Wiper motor", 1, None, "M1", None, "SUP-MTR"],
    [2, "MAG-521", "Motor magnet", 2, None, None, "NdFeB", "SUP-MAG"],
]
