"""GS1 identifiers: EPC URIs and GS1 Digital Link URIs to one business key.

The same serialised item can arrive as ``urn:epc:id:sgtin:0614141.107346.2017``
(EPC Tag Data Standard, pure identity) or as
``https://id.gs1.org/01/10614141073464/21/2017`` (GS1 Digital Link). Both become
the canonical Digital Link, which is the unit's IRI, so an EPCIS event, an MES run
and a complaint that name the item either way meet on one node.

Identifiers are checked on the way in: a GTIN or SSCC in a Digital Link must carry
its GS1 check digit (General Specifications §7.9.1), and the company prefix and
item (or serial) reference of an EPC URI must make the 13 (GTIN) or 17 (SSCC) digits
the Tag Data Standard requires. A bad one raises :class:`ValidationError`; parsers
re-raise it naming the file, the record and the field.

References: GS1 EPC Tag Data Standard 2.0 (section 6.3, EPC URI schemes) and GS1
Digital Link standard 1.2 (https://ref.gs1.org/standards/digital-link/).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from rdflib import URIRef

from qualitas.errors import ValidationError
from qualitas.ontology import mint
from qualitas.ontology.identifiers import GS1_CHECK_DIGIT_URL, check_gtin
from qualitas.ontology.identifiers import gs1_check_digit as check_digit

DIGITAL_LINK = "https://id.gs1.org/"
_TDS_URL = "https://ref.gs1.org/standards/tds/"


def _epc_digits(epc: str, company: str, reference: str, length: int, key: str) -> str:
    """The key body from an EPC URI (company prefix and reference), ``length`` digits long
    (EPC Tag Data Standard §6.3: 13 for an SGTIN/LGTIN, 17 for an SSCC)."""
    if len(company) + len(reference) != length or not 6 <= len(company) <= 12:
        raise ValidationError(
            f"{epc!r} is not a valid EPC URI: the company prefix ({len(company)} digits, 6 to 12) and the "
            f"reference must make {length} digits of the {key}, they make {len(company) + len(reference)} "
            f"(see {_TDS_URL})",
            identifier=key,
            value=epc,
            url=_TDS_URL,
        )
    return reference[:1] + company + reference[1:]


def _gtin(epc: str, company: str, item: str) -> str:
    """GTIN-14 from an EPC company prefix and item reference (indicator digit first)."""
    body = _epc_digits(epc, company, item, 13, "GTIN")
    return body + check_digit(body)


def _digital_link_key(link: str, ai: str, number: str) -> str:
    """The GTIN-14 (AI 01) or SSCC (AI 00) of a Digital Link, with its check digit verified."""
    if ai == "01":
        try:
            return check_gtin(number).zfill(14)
        except ValidationError as exc:
            raise ValidationError(
                f"the GS1 Digital Link {link!r} carries an invalid GTIN: {exc.message}", **exc.context
            ) from None
    if len(number) != 18 or number[-1] != check_digit(number[:-1]):
        raise ValidationError(
            f"the GS1 Digital Link {link!r} carries an invalid SSCC {number!r}: an SSCC has 18 digits, the last "
            f"the GS1 mod-10 check digit (General Specifications §7.9.1, see {GS1_CHECK_DIGIT_URL})",
            identifier="SSCC",
            value=number,
            url=GS1_CHECK_DIGIT_URL,
        )
    return number


@dataclass(frozen=True)
class Gs1Id:
    """One GS1 identifier, normalised."""

    kind: str  # "unit" (SGTIN), "lot" (LGTIN), "logistic" (SSCC), "class" (GTIN pattern), "location", "other"
    digital_link: str
    epc: str | None = None
    gtin: str | None = None
    serial: str | None = None
    lot: str | None = None

    @property
    def iri(self) -> URIRef:
        """The node's IRI: for a unit, logistic unit or lot the canonical GS1 Digital Link
        itself (a web URI made to name the thing), so a user can paste the link they
        scanned; otherwise the EPC (pattern, location) as given."""
        if self.kind in ("unit", "logistic", "lot"):
            return URIRef(self.digital_link)
        return URIRef(self.epc or self.digital_link)


_SGTIN = re.compile(r"^urn:epc:id:sgtin:(\d+)\.(\d+)\.(.+)$")
_LGTIN = re.compile(r"^urn:epc:class:lgtin:(\d+)\.(\d+)\.(.+)$")
_SSCC = re.compile(r"^urn:epc:id:sscc:(\d+)\.(\d+)$")
_IDPAT = re.compile(r"^urn:epc:idpat:sgtin:(\d+)\.(\d+)\.\*$")
_SGLN = re.compile(r"^urn:epc:id:sgln:(\d+)\.(\d*)\.(.+)$")
_DL = re.compile(r"^https?://[^/]+/(?:.*/)?(01|00)/(\d{8,18})(?:/(21|10)/([^/?#]+))?/?(?:[?#].*)?$")


def parse(text: str) -> Gs1Id | None:
    """A GS1 identifier from an EPC URI or a Digital Link URI; None if it is neither.

    Raises ValidationError when it is one of them but its GTIN or SSCC is not valid
    (a wrong check digit or length).
    """
    value = text.strip()
    if m := _SGTIN.match(value):
        gtin = _gtin(value, m.group(1), m.group(2))
        serial = unquote(m.group(3))
        return Gs1Id("unit", f"{DIGITAL_LINK}01/{gtin}/21/{quote(serial, safe='')}", value, gtin, serial=serial)
    if m := _LGTIN.match(value):
        gtin = _gtin(value, m.group(1), m.group(2))
        lot = unquote(m.group(3))
        return Gs1Id("lot", f"{DIGITAL_LINK}01/{gtin}/10/{quote(lot, safe='')}", value, gtin, lot=lot)
    if m := _SSCC.match(value):
        body = _epc_digits(value, m.group(1), m.group(2), 17, "SSCC")
        sscc = body + check_digit(body)
        return Gs1Id("logistic", f"{DIGITAL_LINK}00/{sscc}", value, serial=sscc)
    if m := _IDPAT.match(value):
        gtin = _gtin(value, m.group(1), m.group(2))
        return Gs1Id("class", f"{DIGITAL_LINK}01/{gtin}", value, gtin)
    if m := _SGLN.match(value):
        return Gs1Id("location", value, value)
    if m := _DL.match(value):
        ai, number, qualifier, key = m.groups()
        checked = _digital_link_key(value, ai, number)
        if ai == "00":
            sscc = checked
            return Gs1Id("logistic", f"{DIGITAL_LINK}00/{sscc}", None, serial=sscc)
        gtin = checked
        if qualifier == "21":
            serial = unquote(key)
            return Gs1Id("unit", f"{DIGITAL_LINK}01/{gtin}/21/{quote(serial, safe='')}", None, gtin, serial=serial)
        if qualifier == "10":
            lot = unquote(key)
            return Gs1Id("lot", f"{DIGITAL_LINK}01/{gtin}/10/{quote(lot, safe='')}", None, gtin, lot=lot)
        return Gs1Id("class", f"{DIGITAL_LINK}01/{gtin}", None, gtin)
    return None


def unit_iri(serial: str) -> URIRef:
    """The IRI of a serial unit named by a plain serial/VIN, an SGTIN or a Digital Link."""
    gs1 = parse(serial)
    if gs1 is not None and gs1.kind in ("unit", "logistic"):
        return gs1.iri
    return mint("unit", serial)


def lot_iri(number: str) -> URIRef:
    """The IRI of a lot named by a plain lot number, an LGTIN or a Digital Link."""
    gs1 = parse(number)
    if gs1 is not None and gs1.kind == "lot":
        return gs1.iri
    return mint("lot", number)
