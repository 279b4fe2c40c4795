"""Units: the QUDT unit codes the graph stores, and the symbols people read.

The graph stores QUDT unit local names (``DEG_C``, ``MegaPA``, http://qudt.org/vocab/unit/);
people write and read symbols (``°C``, ``MPa``). pint holds the unit algebra and formats
the symbols (SI Brochure, 9th edition: ``N·m``, ``µm``, ``°C``); this module holds only
the correspondence between QUDT names and pint expressions, used both ways: ingest
parses what a person wrote into a QUDT name, documents and the API print its symbol.
"""

from __future__ import annotations

import functools
from typing import Any

#: pint expression -> QUDT unit local name.
QUDT_BY_PINT: dict[str, str] = {
    "m": "M",
    "mm": "MilliM",
    "cm": "CentiM",
    "km": "KiloM",
    "um": "MicroM",
    "kg": "KiloGM",
    "g": "GM",
    "mg": "MilliGM",
    "t": "TONNE",
    "L": "L",
    "mL": "MilliL",
    "m**2": "M2",
    "mm**2": "MilliM2",
    "m**3": "M3",
    "cm**3": "CentiM3",
    "degC": "DEG_C",
    "K": "K",
    "s": "SEC",
    "ms": "MilliSEC",
    "min": "MIN",
    "h": "HR",
    "N": "N",
    "kN": "KiloN",
    "N*m": "N-M",
    "Pa": "PA",
    "kPa": "KiloPA",
    "MPa": "MegaPA",
    "bar": "BAR",
    "A": "A",
    "mA": "MilliA",
    "V": "V",
    "mV": "MilliV",
    "kV": "KiloV",
    "W": "W",
    "kW": "KiloW",
    "ohm": "OHM",
    "mohm": "MilliOHM",
    "Hz": "HZ",
    "rpm": "REV-PER-MIN",
    "percent": "PERCENT",
    "ppm": "PPM",
    "km/h": "KiloM-PER-HR",
    "m/s": "M-PER-SEC",
    "mm/s": "MilliM-PER-SEC",
    "lx": "LUX",
    "g/m**3": "GM-PER-M3",
    "A*h": "A-HR",
    "kW*h": "KiloW-HR",
}

#: QUDT unit local name -> pint expression.
PINT_BY_QUDT: dict[str, str] = {qudt: expr for expr, qudt in QUDT_BY_PINT.items()}


@functools.cache
def registry() -> Any:
    """The shared pint registry (built on first use: it takes a moment). Products of
    units keep the order they are written in (``N·m``, ``kW·h``), as the SI writes them."""
    import pint

    ureg: Any = pint.UnitRegistry()
    ureg.formatter.default_sort_func = None
    return ureg


@functools.cache
def unit_symbol(code: str) -> str | None:
    """The symbol of a QUDT unit local name, as pint formats it (``DEG_C`` -> ``°C``,
    ``N-M`` -> ``N·m``); None for a code with no pint expression here.

    >>> unit_symbol("MegaPA"), unit_symbol("DEG_C"), unit_symbol("SEC")
    ('MPa', '°C', 's')
    """
    expr = PINT_BY_QUDT.get(code)
    if expr is None:
        return None
    return format(registry().Unit(expr), "~P")


__all__ = ["PINT_BY_QUDT", "QUDT_BY_PINT", "registry", "unit_symbol"]
