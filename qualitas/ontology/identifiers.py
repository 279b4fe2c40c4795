"""Check digits and formats of the identifiers the data model keys on.

Each identifier has a predicate (``*_is_valid``: True or False, never raises) and a
check (``check_*``: returns the value, stripped, or raises :class:`ValidationError`
whose message names the identifier, the value and the rule it breaks, and whose
context holds ``identifier`` and ``value``). Adapters (the ingest parsers) catch the
error of a check and re-raise it with the file, line and field it came from.

=====================  ================================================  =============
identifier             rule                                              spec
=====================  ================================================  =============
GTIN-8/12/13/14        mod 10, weights 3, 1, 3, ... from the right        GS1 GenSpecs §7.9
UDI-DI                 a GTIN when issued by GS1; HIBCC / ICCBBA format   21 CFR 830.20
CAS Registry Number    sum of digits x position from the right, mod 10    CAS
EC number              sum of first six digits x 1..6, mod 11 (never 10)  ECHA EC inventory
510(k) / De Novo / PMA K, DEN or P and six digits                        FDA databases
=====================  ================================================  =============

The module is pure (standard library only), so reasoning and document code can use
it as well as ingest.
"""

from __future__ import annotations

import re

from qualitas.errors import ValidationError

__all__ = [
    "GS1_CHECK_DIGIT_URL",
    "cas_is_valid",
    "check_cas",
    "check_ec",
    "check_gtin",
    "check_k_number",
    "check_udi_di",
    "ec_is_valid",
    "gs1_check_digit",
    "gtin14",
    "gtin_is_valid",
    "k_number_is_valid",
    "premarket_kind",
    "udi_di_is_valid",
]

GS1_CHECK_DIGIT_URL = "https://ref.gs1.org/standards/genspecs/"  # §7.9 Check digit calculation
CAS_CHECK_DIGIT_URL = "https://www.cas.org/support/documentation/chemical-substances/checkdig"
EC_NUMBER_URL = "https://echa.europa.eu/information-on-chemicals/ec-inventory"
FDA_510K_URL = "https://www.accessdata.fda.gov/scripts/cdrh/cfdocs/cfpmn/pmn.cfm"
FDA_UDI_URL = "https://www.ecfr.gov/current/title-21/part-830#p-830.20"

_GTIN_LENGTHS = (8, 12, 13, 14)
_DIGITS = re.compile(r"^[0-9]+$")
_CAS = re.compile(r"^([0-9]{2,7})-([0-9]{2})-([0-9])$")
_EC = re.compile(r"^([0-9]{3})-([0-9]{3})-([0-9])$")
_PREMARKET = re.compile(
    r"^(?:(K)([0-9]{2})([0-9]{4})|(DEN)([0-9]{2})([0-9]{4})|(P)([0-9]{2})([0-9]{4})(?:/S[0-9]{3})?)$"
)
# HIBCC: '+', a labeler identification code (letter, then 3 alphanumerics), the product
# or catalogue number and a unit-of-measure digit. ICCBBA: '=/' and the product code.
_HIBCC_DI = re.compile(r"^\+[A-Z][A-Z0-9]{3}[A-Z0-9]{1,18}[0-9]$")
_ICCBBA_DI = re.compile(r"^=/[A-Z0-9]{6,}$")


def _error(identifier: str, value: str, rule: str, url: str) -> ValidationError:
    return ValidationError(
        f"{value!r} is not a valid {identifier}: {rule} (see {url})", identifier=identifier, value=value, url=url
    )


# ---------------------------------------------------------------- GS1


def gs1_check_digit(digits: str) -> str:
    """The GS1 check digit of ``digits`` (a GTIN, SSCC or GLN without its check digit).

    GS1 General Specifications §7.9.1, "Standard check digit calculations for GS1 data
    structures": from the right, the digits are multiplied by 3, 1, 3, 1, ...; the check
    digit is the number that brings the sum up to the next multiple of ten.
    """
    if not _DIGITS.match(digits):
        raise ValueError(f"digits only, got {digits!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def _gtin_problem(text: str) -> str | None:
    if not _DIGITS.match(text):
        return "a GTIN has digits only"
    if len(text) not in _GTIN_LENGTHS:
        return f"a GTIN has 8, 12, 13 or 14 digits, this has {len(text)}"
    expected = gs1_check_digit(text[:-1])
    if text[-1] != expected:
        return f"check digit {text[-1]}, expected {expected} (GS1 mod-10 check digit, General Specifications §7.9.1)"
    return None


def gtin_is_valid(s: str) -> bool:
    """True when ``s`` is a GTIN-8, -12, -13 or -14 with a correct check digit.

    GS1 General Specifications §7.9.1 (check digit) and §4.2 (GTIN formats); leading
    zeros count, so ``00860012345679`` and ``860012345679`` are the same GTIN.
    """
    return _gtin_problem(s.strip()) is None


def check_gtin(s: str) -> str:
    """``s`` (stripped) if it is a valid GTIN, else a ValidationError naming the rule broken.

    GS1 General Specifications §7.9.1: the last digit is the mod-10 check digit of the
    others with weights 3, 1, 3, ... from the right.
    """
    text = s.strip()
    problem = _gtin_problem(text)
    if problem is not None:
        raise _error("GTIN", text, problem, GS1_CHECK_DIGIT_URL)
    return text


def gtin14(s: str) -> str:
    """The GTIN-14 form of a valid GTIN (left-padded with zeros, GS1 General Specifications §4.2)."""
    return check_gtin(s).zfill(14)


def udi_di_is_valid(s: str) -> bool:
    """True when ``s`` is a well-formed UDI device identifier.

    21 CFR 830.20 and MDR Art. 27: the DI is issued by an accredited agency. A GS1 DI
    is a GTIN, so its check digit is verified (GS1 General Specifications §7.9.1); an
    HIBCC (``+LIC...``) or ICCBBA (``=/...``) DI is checked for its format only.
    """
    text = s.strip()
    if text[:1].isdigit():
        return _gtin_problem(text) is None
    return bool(_HIBCC_DI.match(text) or _ICCBBA_DI.match(text))


def check_udi_di(s: str) -> str:
    """``s`` (stripped) if it is a valid UDI-DI (see :func:`udi_di_is_valid`), else a ValidationError."""
    text = s.strip()
    if text[:1].isdigit():
        problem = _gtin_problem(text)
        if problem is not None:
            raise _error("UDI-DI (GS1 GTIN)", text, problem, GS1_CHECK_DIGIT_URL)
        return text
    if not udi_di_is_valid(text):
        raise _error(
            "UDI-DI",
            text,
            "expected a GS1 GTIN, an HIBCC DI (+ and a labeler code) or an ICCBBA DI (=/ and a product code)",
            FDA_UDI_URL,
        )
    return text


# ---------------------------------------------------------------- CAS


def _cas_problem(text: str) -> str | None:
    match = _CAS.match(text)
    if not match:
        return "a CAS Registry Number has the form N(2-7)-NN-R, e.g. 7440-43-9"
    digits = (match.group(1) + match.group(2))[::-1]
    expected = sum((i + 1) * int(d) for i, d in enumerate(digits)) % 10
    if int(match.group(3)) != expected:
        return f"check digit {match.group(3)}, expected {expected} (CAS Registry Number check digit rule)"
    return None


def cas_is_valid(s: str) -> bool:
    """True when ``s`` is a CAS Registry Number with a correct check digit.

    CAS, "Check Digit Verification of CAS Registry Numbers": "The check digit is derived
    from the following formula: the last digit times 1 plus the previous digit times 2
    plus the previous digit times 3 etc., the sum divided by 10; the remainder is the
    check digit." Example: 7440-43-9 (cadmium): 3x1 + 4x2 + 0x3 + 4x4 + 4x5 + 7x6 = 89.
    """
    return _cas_problem(s.strip()) is None


def check_cas(s: str) -> str:
    """``s`` (stripped) if it is a valid CAS Registry Number (see :func:`cas_is_valid`), else a ValidationError."""
    text = s.strip()
    problem = _cas_problem(text)
    if problem is not None:
        raise _error("CAS number", text, problem, CAS_CHECK_DIGIT_URL)
    return text


# ---------------------------------------------------------------- EC


def _ec_problem(text: str) -> str | None:
    match = _EC.match(text)
    if not match:
        return "an EC number has the form NNN-NNN-R, e.g. 231-152-8"
    digits = match.group(1) + match.group(2)
    remainder = sum((i + 1) * int(d) for i, d in enumerate(digits)) % 11
    if remainder == 10:
        return "its first six digits give remainder 10, which the EC inventory never issues"
    if int(match.group(3)) != remainder:
        return f"check digit {match.group(3)}, expected {remainder} (EC number check digit, mod 11)"
    return None


def ec_is_valid(s: str) -> bool:
    """True when ``s`` is an EC number (EINECS, ELINCS, NLP or ECHA list number) with a correct check digit.

    ECHA, EC inventory: the EC number has the form N1N2N3-N4N5N6-R, where
    R = (1xN1 + 2xN2 + 3xN3 + 4xN4 + 5xN5 + 6xN6) mod 11; numbers whose remainder would
    be 10 are not issued. Example: 231-152-8 (cadmium): 2 + 6 + 3 + 4 + 25 + 12 = 52,
    52 mod 11 = 8.
    """
    return _ec_problem(s.strip()) is None


def check_ec(s: str) -> str:
    """``s`` (stripped) if it is a valid EC number (see :func:`ec_is_valid`), else a ValidationError."""
    text = s.strip()
    problem = _ec_problem(text)
    if problem is not None:
        raise _error("EC number", text, problem, EC_NUMBER_URL)
    return text


# ---------------------------------------------------------------- FDA premarket numbers


def premarket_kind(s: str) -> str | None:
    """``"510(k)"``, ``"De Novo"`` or ``"PMA"`` for a well-formed FDA premarket number, else None.

    FDA numbers its submissions by type, the two-digit fiscal year and a four-digit
    sequence starting at 0001: premarket notifications K (e.g. K213456, 21 CFR 807
    subpart E), De Novo requests DEN (e.g. DEN200056, 21 CFR 860 subpart D), premarket
    approvals P (e.g. P170019, a supplement P170019/S001; 21 CFR 814). A sequence of
    0000 is never issued, so K000000 is a placeholder, not a clearance.
    See the FDA 510(k), De Novo and PMA databases (https://www.accessdata.fda.gov/).
    """
    match = _PREMARKET.match(s.strip())
    if not match:
        return None
    groups = [g for g in match.groups() if g is not None]
    prefix, sequence = groups[0], groups[2]
    if sequence == "0000":
        return None
    return {"K": "510(k)", "DEN": "De Novo", "P": "PMA"}[prefix]


def k_number_is_valid(s: str) -> bool:
    """True when ``s`` is a well-formed FDA premarket number: K + 6 digits (510(k)),
    DEN + 6 digits (De Novo) or P + 6 digits (PMA, optionally /Snnn); see :func:`premarket_kind`."""
    return premarket_kind(s) is not None


def check_k_number(s: str) -> str:
    """``s`` (stripped) if it is a well-formed FDA premarket number (:func:`premarket_kind`), else a ValidationError."""
    text = s.strip()
    if premarket_kind(text) is None:
        rule = (
            "its sequence is 0000, which FDA never issues (a placeholder)"
            if _PREMARKET.match(text)
            else "expected K and six digits (510(k)), DEN and six digits (De Novo) or P and six digits (PMA)"
        )
        raise _error("FDA 510(k)/De Novo/PMA number", text, rule, FDA_510K_URL)
    return text
