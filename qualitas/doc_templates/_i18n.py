"""Words of a document in its own language: act citations, country names, dates
(units: :mod:`qualitas.ontology.units`).

* EU act citations follow the Interinstitutional Style Guide (section 1.2.1, "Citation
  of acts", https://style-guide.europa.eu/en/content/-/isg/topic?identifier=1.2.1-
  citation-of-acts): "Directive 2014/35/EU", "Regulation (EC) No 1907/2006" before
  2015, "Regulation (EU) 2023/1542" from 2015 (one numbering for all acts); the same
  forms in German ("Richtlinie 2014/35/EU", "Verordnung (EG) Nr. 1907/2006") and
  French ("Directive 2014/35/UE", "Règlement (CE) n° 1907/2006"). The CELEX number
  (sector 3) gives year, kind and number.
* Country names come from the CLDR through Babel, never from a hand-made table.
* Units: QUDT codes as the graph stores them become symbols (°C, MPa, mm).
"""

from __future__ import annotations

import datetime as dt
import re

from babel import Locale
from babel.dates import format_date

_CELEX = re.compile(r"^3(\d{4})([LRD])(\d{4})$")

#: The EU's own name in citations, by period: EEC until the Treaty of Maastricht
#: (1993-11-01), EC until the Treaty of Lisbon (2009-12-01), EU since.
_UNION = {"en": ("EEC", "EC", "EU"), "de": ("EWG", "EG", "EU"), "fr": ("CEE", "CE", "UE")}
_KIND = {
    "en": {"directive": "Directive", "regulation": "Regulation", "decision": "Decision",
           "delegated_regulation": "Commission Delegated Regulation",
           "delegated_directive": "Commission Delegated Directive",
           "implementing_regulation": "Commission Implementing Regulation",
           "implementing_decision": "Commission Implementing Decision", "codified_regulation": "Regulation"},
    "de": {"directive": "Richtlinie", "regulation": "Verordnung", "decision": "Beschluss",
           "delegated_regulation": "Delegierte Verordnung", "delegated_directive": "Delegierte Richtlinie",
           "implementing_regulation": "Durchführungsverordnung", "implementing_decision": "Durchführungsbeschluss",
           "codified_regulation": "Verordnung"},
    "fr": {"directive": "Directive", "regulation": "Règlement", "decision": "Décision",
           "delegated_regulation": "Règlement délégué", "delegated_directive": "Directive déléguée",
           "implementing_regulation": "Règlement d'exécution", "implementing_decision": "Décision d'exécution",
           "codified_regulation": "Règlement"},
}
_NO = {"en": "No ", "de": "Nr. ", "fr": "n° "}
_COMMISSION_SUFFIX = {"de": " der Kommission", "fr": " de la Commission"}


def eu_citation(celex: str, instrument_type: str, lang: str) -> str | None:
    """The citation of an EU act in ``lang`` (en, de, fr) from its CELEX number, or None
    when the identifier is not a CELEX number of legislation or the language is not one
    of the three."""
    m = _CELEX.match(celex)
    if m is None or lang not in _KIND:
        return None
    year, letter, number = int(m.group(1)), m.group(2), int(m.group(3))
    kind = instrument_type if instrument_type in _KIND[lang] else {"L": "directive", "R": "regulation",
                                                                    "D": "decision"}[letter]
    era = 0 if year < 1993 else (1 if year < 2010 else 2)
    union = _UNION[lang][era]
    yr = year % 100 if year < 1999 else year  # two-digit years until 1998
    word = _KIND[lang][kind]
    suffix = _COMMISSION_SUFFIX.get(lang, "") if kind.startswith(("delegated", "implementing")) else ""
    if year >= 2015:
        return f"{word} ({union}) {year}/{number}{suffix}"
    if letter == "L" or kind == "decision":
        return f"{word} {yr}/{number}/{union}{suffix}"
    return f"{word} ({union}) {_NO[lang]}{number}/{yr}{suffix}"


def country_name(code: str, lang: str) -> str | None:
    """The country's name in ``lang`` (ISO 3166-1 alpha-2 code in, CLDR name out)."""
    if not code:
        return None
    try:
        return Locale.parse(lang).territories.get(code.strip().upper())
    except (ValueError, TypeError):
        return None


def long_date(value: dt.date, lang: str) -> str:
    """``value`` written out as the language writes dates (CLDR long format)."""
    return format_date(value, format="long", locale=lang)


__all__ = ["country_name", "eu_citation", "long_date"]
