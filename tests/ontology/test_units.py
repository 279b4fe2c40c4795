"""Unit symbols come from pint, from the same QUDT correspondence ingest parses with."""

from __future__ import annotations

import pytest

from qualitas.ingest._units import qudt_unit
from qualitas.ontology.units import QUDT_BY_PINT, unit_symbol
from qualitas.reasoning import i18n


@pytest.mark.parametrize(("code", "symbol"), [
    ("DEG_C", "°C"), ("MegaPA", "MPa"), ("SEC", "s"), ("N-M", "N·m"), ("MicroM", "µm"),
    ("KiloW-HR", "kW·h"), ("OHM", "Ω"), ("PERCENT", "%"), ("M3", "m³"),
])
def test_si_symbols(code: str, symbol: str) -> None:
    # SI Brochure, 9th edition, 5.4.3: a product of units is written with a half-high dot,
    # in the order the unit is defined (N·m, kW·h).
    assert unit_symbol(code) == symbol
    assert i18n.unit_symbol(code) == symbol


def test_every_code_ingest_produces_has_a_symbol_that_parses_back() -> None:
    for code in QUDT_BY_PINT.values():
        symbol = unit_symbol(code)
        assert symbol and "_" not in symbol, code
    for written in ("°C", "MPa", "N·m", "kg", "mm", "s"):
        assert qudt_unit(written) is not None
        assert unit_symbol(qudt_unit(written) or "") == written


def test_unknown_code_is_never_printed_as_a_code() -> None:
    assert unit_symbol("FURLONG_PER_FORTNIGHT") is None
    assert i18n.unit_symbol("FURLONG_PER_FORTNIGHT") == "FURLONG PER FORTNIGHT"
