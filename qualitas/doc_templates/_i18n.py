"""Words of a document in its own language: country names, dates (act citations:
:mod:`qualitas.regulations.citation`; units: :mod:`qualitas.ontology.units`).

* Act citations: :mod:`qualitas.regulations.citation` (re-exported here).
* Country names come from the CLDR through Babel, never from a hand-made table.
"""

from __future__ import annotations

import datetime as dt

from babel import Locale
from babel.dates import format_date

from qualitas.regulations.citation import eu_citation


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
