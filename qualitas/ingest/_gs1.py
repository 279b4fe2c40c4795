"""GS1 identifiers: EPC URIs and GS1 Digital Link URIs to one business key.

The same serialised item can arrive as ``urn:epc:id:sgtin:0614141.107346.2017``
(EPC Tag Data Standard, pure identity) or as
``https://id.gs1.org/01/10614141073464/21/2017`` (GS1 Digital Link). Both become
the canonical Digital Link, which is the business key of the unit's IRI, so an EPCIS
event, an MES run and a complaint that name the item either way meet on one node.

References: GS1 EPC Tag Data Standard 2.0 (section 6.3, EPC URI schemes) and GS1
Digital Link standard 1.2 (https://ref.gs1.org/standards/digital-link/).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from rdflib import URIRef

from qualitas.ontology import mint

DIGITAL_LINK = "https://id.gs1.org/"


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of ``digits`` (weights 3, 1, 3, ... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _gtin(company: str, item: str) -> str:
    """GTIN-14 from an EPC company prefix and item reference (indicator digit first)."""
    body = item[:1] + company + item[1:]
    return body + check_digit(body)


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
        if self.kind in ("unit", "logistic"):
            return mint("unit", self.digital_link)
        if self.kind == "lot":
            return mint("lot", self.digital_link)
        return URIRef(self.epc or self.digital_link)


_SGTIN = re.compile(r"^urn:epc:id:sgtin:(\d+)\.(\d+)\.(.+)$")
_LGTIN = re.compile(r"^urn:epc:class:lgtin:(\d+)\.(\d+)\.(.+)$")
_SSCC = re.compile(r"^urn:epc:id:sscc:(\d+)\.(\d+)$")
_IDPAT = re.compile(r"^urn:epc:idpat:sgtin:(\d+)\.(\d+)\.\*$")
_SGLN = re.compile(r"^urn:epc:id:sgln:(\d+)\.(\d*)\.(.+)$")
_DL = re.compile(r"^https?://[^/]+/(?:.*/)?(01|00)/(\d{8,18})(?:/(21|10)/([^/?#]+))?/?(?:[?#].*)?$")


def parse(text: str) -> Gs1Id | None:
    """A GS1 identifier from an EPC URI or a Digital Link URI; None if it is neither."""
    value = text.strip()
    if m := _SGTIN.match(value):
        gtin = _gtin(m.group(1), m.group(2))
        serial = unquote(m.group(3))
        return Gs1Id("unit", f"{DIGITAL_LINK}01/{gtin}/21/{quote(serial, safe='')}", value, gtin, serial=serial)
    if m := _LGTIN.match(value):
        gtin = _gtin(m.group(1), m.group(2))
        lot = unquote(m.group(3))
        return Gs1Id("lot", f"{DIGITAL_LINK}01/{gtin}/10/{quote(lot, safe='')}", value, gtin, lot=lot)
    if m := _SSCC.match(value):
        body = m.group(2)[:1] + m.group(1) + m.group(2)[1:]
        sscc = body + check_digit(body)
        return Gs1Id("logistic", f"{DIGITAL_LINK}00/{sscc}", value, serial=sscc)
    if m := _IDPAT.match(value):
        gtin = _gtin(m.group(1), m.group(2))
        return Gs1Id("class", f"{DIGITAL_LINK}01/{gtin}", value, gtin)
    if m := _SGLN.match(value):
        return Gs1Id("location", value, value)
    if m := _DL.match(value):
        ai, number, qualifier, key = m.groups()
        if ai == "00":
            sscc = number.zfill(18)
            return Gs1Id("logistic", f"{DIGITAL_LINK}00/{sscc}", None, serial=sscc)
        gtin = number.zfill(14)
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
