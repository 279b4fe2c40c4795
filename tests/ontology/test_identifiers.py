"""Identifier check digits, against published numbers and their one-digit corruptions.

GTIN: GS1 General Specifications §7.9.1. CAS: CAS Registry Number check digit rule.
EC: ECHA EC inventory (mod 11, weights 1..6). FDA: 510(k) (K), De Novo (DEN), PMA (P).
"""

from __future__ import annotations

import pytest

from qualitas.errors import ValidationError
from qualitas.ontology.identifiers import (
    cas_is_valid,
    check_cas,
    check_ec,
    check_gtin,
    check_k_number,
    check_udi_di,
    ec_is_valid,
    gs1_check_digit,
    gtin14,
    gtin_is_valid,
    k_number_is_valid,
    premarket_kind,
    udi_di_is_valid,
)

#: GTINs printed in GS1 documents: the Digital Link standard's 09506000134352, the GS1
#: check digit calculator's 6291041500213, the EPC Tag Data Standard's SGTIN example
#: 80614141123458 (urn:epc:id:sgtin:0614141.112345.400) and the GTIN of the EPCIS 2.0
#: examples 10614141073464; GTIN-12 and GTIN-8 as printed on UPC-A / EAN-8 examples.
GTINS = ["09506000134352", "6291041500213", "80614141123458", "10614141073464", "036000291452", "96385074"]
#: CAS Registry Numbers: cadmium, DEHP, formaldehyde, lead, copper, glass fibre.
CAS = ["7440-43-9", "117-81-7", "50-00-0", "7439-92-1", "7440-50-8", "65997-17-3"]
#: EC numbers: cadmium, DEHP, formaldehyde, lead, copper.
EC = ["231-152-8", "204-211-0", "200-001-8", "231-100-4", "231-159-6"]


def _substitutions(number: str) -> list[str]:
    """Every string that differs from ``number`` in exactly one digit."""
    out = []
    for i, ch in enumerate(number):
        if ch.isdigit():
            out.extend(number[:i] + d + number[i + 1 :] for d in "0123456789" if d != ch)
    return out


@pytest.mark.parametrize("gtin", GTINS)
def test_published_gtins_pass_and_every_one_digit_corruption_fails(gtin: str) -> None:
    assert gtin_is_valid(gtin)
    assert check_gtin(f" {gtin} ") == gtin
    # weights 3 and 1 are coprime to 10: the GS1 check digit catches every single-digit error
    for bad in _substitutions(gtin):
        assert not gtin_is_valid(bad), bad
        with pytest.raises(ValidationError):
            check_gtin(bad)


def test_gtin_check_digit_and_forms() -> None:
    assert gs1_check_digit("0950600013435") == "2"
    assert gtin14("6291041500213") == "06291041500213"
    assert gtin14("96385074") == "00000096385074"
    for bad in ("", "0950600013435X", "095060001343521", "12345", "0950-6000-1343-52"):
        assert not gtin_is_valid(bad), bad


def test_gtin_error_names_the_rule_and_expected_digit() -> None:
    with pytest.raises(ValidationError) as info:
        check_gtin("00860012345672")
    message = str(info.value)
    assert "'00860012345672' is not a valid GTIN" in message
    assert "check digit 2, expected 0" in message and "§7.9.1" in message
    assert info.value.context["identifier"] == "GTIN" and info.value.context["value"] == "00860012345672"


def test_udi_di() -> None:
    assert udi_di_is_valid("09506000134352") and check_udi_di("09506000134352") == "09506000134352"
    assert not udi_di_is_valid("09506000134353")
    assert udi_di_is_valid("+H123ABC1230")  # HIBCC: +, labeler code, product number, unit of measure
    assert udi_di_is_valid("=/A9999XYZ100T0944")  # ICCBBA
    assert not udi_di_is_valid("ABC")
    with pytest.raises(ValidationError, match="UDI-DI"):
        check_udi_di("09506000134353")
    with pytest.raises(ValidationError, match="HIBCC"):
        check_udi_di("not-a-di")


@pytest.mark.parametrize("cas", CAS)
def test_published_cas_numbers_pass_and_a_wrong_check_digit_fails(cas: str) -> None:
    assert cas_is_valid(cas) and check_cas(cas) == cas
    body, check = cas[:-1], cas[-1]
    for d in "0123456789":
        if d != check:
            assert not cas_is_valid(body + d)
    # the last digit before the check digit has weight 1: any change there is caught
    i = len(cas) - 3
    for d in "0123456789":
        if d != cas[i]:
            assert not cas_is_valid(cas[:i] + d + cas[i + 1 :])


def test_cas_worked_example_and_format() -> None:
    # 7440-43-9: 3x1 + 4x2 + 0x3 + 4x4 + 4x5 + 7x6 = 89 -> 9
    assert cas_is_valid("7440-43-9") and not cas_is_valid("7440-43-8")
    assert not cas_is_valid("7440439") and not cas_is_valid("1-00-0") and not cas_is_valid("12345678-00-0")
    with pytest.raises(ValidationError, match=r"'117-81-6' is not a valid CAS number: check digit 6, expected 7"):
        check_cas("117-81-6")


@pytest.mark.parametrize("ec", EC)
def test_published_ec_numbers_pass_and_every_one_digit_corruption_fails(ec: str) -> None:
    assert ec_is_valid(ec) and check_ec(ec) == ec
    # weights 1..6 are coprime to 11: every single-digit error changes the remainder
    for bad in _substitutions(ec):
        assert not ec_is_valid(bad), bad


def test_ec_worked_example_remainder_ten_and_format() -> None:
    # 231-152-8: 2x1 + 3x2 + 1x3 + 1x4 + 5x5 + 2x6 = 52, 52 mod 11 = 8
    assert ec_is_valid("231-152-8")
    # 200-005-?: 2 + 0 + 0 + 0 + 0 + 30 = 32 -> 10: never issued, whatever the last digit
    assert not any(ec_is_valid(f"200-005-{d}") for d in "0123456789")
    with pytest.raises(ValidationError, match="remainder 10"):
        check_ec("200-005-0")
    assert not ec_is_valid("231152-8") and not ec_is_valid("2311-52-8")
    with pytest.raises(ValidationError, match=r"'204-211-1' is not a valid EC number: check digit 1, expected 0"):
        check_ec("204-211-1")


def test_fda_premarket_numbers() -> None:
    assert premarket_kind("K131021") == "510(k)"
    assert premarket_kind("DEN180044") == "De Novo"
    assert premarket_kind("P170019") == "PMA" and premarket_kind("P170019/S001") == "PMA"
    assert k_number_is_valid(" K131021 ") and check_k_number(" K131021 ") == "K131021"
    for bad in ("K13102", "K1310211", "k131021", "510(k) K131021", "DEN18004", "X131021", "P170019/S1", ""):
        assert not k_number_is_valid(bad), bad
    # a sequence of 0000 is never issued: K000000 is the placeholder the review found
    assert not k_number_is_valid("K000000")
    with pytest.raises(ValidationError, match="placeholder"):
        check_k_number("K000000")
    with pytest.raises(ValidationError, match="K and six digits"):
        check_k_number("K12345")
