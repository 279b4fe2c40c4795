"""Units of measure: free-text units (pint) and UN/CEFACT codes (GS1 EPCIS) to QUDT.

Spreadsheets write units every way there is (``kg``, ``KG``, ``千克``, ``N·m``, ``°C``);
pint parses them into one canonical unit, which maps to a QUDT unit IRI
(http://qudt.org/vocab/unit/). GS1 EPCIS uses UN/CEFACT Recommendation 20 codes
(``KGM``, ``CEL``), mapped by table. A unit we cannot map is refused, never guessed.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

from qualitas.ontology.units import QUDT_BY_PINT, registry

#: Units meaning "pieces": a BOM quantity without a physical unit (QUDT: none).
PIECES = frozenset(
    {
        "",
        "pc",
        "pcs",
        "piece",
        "pieces",
        "ea",
        "each",
        "st",
        "stk",
        "stück",
        "pce",
        "unit",
        "units",
        "个",
        "件",
        "只",
        "套",
        "片",
        "颗",
        "pcs.",
        "h87",
        "c62",
    }
)

#: Spellings pint does not know, rewritten before parsing.
_ALIASES = {
    "千克": "kg",
    "公斤": "kg",
    "克": "g",
    "毫克": "mg",
    "吨": "t",
    "米": "m",
    "毫米": "mm",
    "厘米": "cm",
    "升": "L",
    "毫升": "mL",
    "°c": "degC",
    "℃": "degC",
    "degc": "degC",
    "deg c": "degC",
    "celsius": "degC",
    "n·m": "N*m",
    "nm": "N*m",
    "n-m": "N*m",
    "n.m": "N*m",
    "牛": "N",
    "牛·米": "N*m",
    "秒": "s",
    "分钟": "min",
    "小时": "h",
    "安": "A",
    "伏": "V",
    "%": "percent",
    "mpa": "MPa",
    "kpa": "kPa",
    "pa": "Pa",
    "kn": "kN",
    "n": "N",
    "a": "A",
    "ma": "mA",
    "v": "V",
    "kv": "kV",
    "mv": "mV",
    "w": "W",
    "kw": "kW",
    "hz": "Hz",
    "sec": "s",
    "hr": "h",
    "hrs": "h",
    "kgs": "kg",
    "ltr": "L",
    "l": "L",
    "ml": "mL",
    "m2": "m**2",
    "m²": "m**2",
    "mm2": "mm**2",
    "mm²": "mm**2",
    "m3": "m**3",
    "m³": "m**3",
}


#: UN/CEFACT Recommendation 20 code (GS1 EPCIS ``uom``) -> QUDT unit local name;
#: None means pieces.
UNECE: dict[str, str | None] = {
    "KGM": "KiloGM",
    "GRM": "GM",
    "MGM": "MilliGM",
    "TNE": "TONNE",
    "MTR": "M",
    "MMT": "MilliM",
    "CMT": "CentiM",
    "KMT": "KiloM",
    "LTR": "L",
    "MLT": "MilliL",
    "MTK": "M2",
    "MTQ": "M3",
    "CEL": "DEG_C",
    "KEL": "K",
    "SEC": "SEC",
    "MIN": "MIN",
    "HUR": "HR",
    "KMH": "KiloM-PER-HR",
    "MTS": "M-PER-SEC",
    "LUX": "LUX",
    "A93": "GM-PER-M3",
    "P1": "PERCENT",
    "59": "PPM",
    "NEW": "N",
    "NU": "N-M",
    "PAL": "PA",
    "KPA": "KiloPA",
    "MPA": "MegaPA",
    "BAR": "BAR",
    "AMP": "A",
    "VLT": "V",
    "WTT": "W",
    "KWT": "KiloW",
    "HTZ": "HZ",
    "H87": None,
    "C62": None,
    "EA": None,
}


class UnknownUnitError(ValueError):
    """A unit that maps to no QUDT unit; callers name the file, row and field."""


@functools.cache
def _qudt_by_canonical() -> dict[str, str]:
    ureg = registry()
    return {str(ureg.parse_units(expr)): qudt for expr, qudt in QUDT_BY_PINT.items()}


@functools.cache
def qudt_unit(text: str) -> str | None:
    """The QUDT local name for a unit as a person wrote it; None for pieces.

    >>> qudt_unit("kg"), qudt_unit("千克"), qudt_unit("N·m"), qudt_unit("pcs")
    ('KiloGM', 'KiloGM', 'N-M', None)
    """
    raw = text.strip()
    key = raw.lower()
    if key in PIECES:
        return None
    expr = _ALIASES.get(key, _ALIASES.get(raw, raw))
    if expr in QUDT_BY_PINT:
        return QUDT_BY_PINT[expr]
    try:
        canonical = str(registry().parse_units(expr.replace("·", "*")))
    except Exception as exc:  # pint's parser raises TokenError, AssertionError, ZeroDivisionError ... on odd text
        raise UnknownUnitError(f"unknown unit {text!r}") from exc
    try:
        return _qudt_by_canonical()[canonical]
    except KeyError:
        raise UnknownUnitError(f"unit {text!r} ({canonical}) has no QUDT mapping") from None


def unece_unit(code: str) -> str | None:
    """The QUDT local name for a UN/CEFACT unit code (as GS1 EPCIS ``uom`` uses)."""
    try:
        return UNECE[code.strip().upper()]
    except KeyError:
        raise UnknownUnitError(f"unknown UN/CEFACT unit code {code!r}") from None


_QUANTITY = re.compile(r"^\s*([-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def split_quantity(text: str) -> tuple[Decimal, str]:
    """``"0.042 kg"`` -> (Decimal("0.042"), "kg"); a bare number gives an empty unit."""
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"not a quantity: {text!r}")
    number = match.group(1)
    if "," in number:
        thousands = re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?", number)
        number = number.replace(",", "") if thousands else number.replace(",", ".")
    try:
        return Decimal(number), match.group(2)
    except InvalidOperation:
        raise ValueError(f"not a quantity: {text!r}") from None
