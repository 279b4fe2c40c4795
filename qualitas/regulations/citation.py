"""How a document cites an act, in the document's language.

EU act citations follow the Interinstitutional Style Guide (section 1.2.1, "Citation of
acts", https://style-guide.europa.eu/en/content/-/isg/topic?identifier=1.2.1-citation-of-acts):
"Directive 2014/35/EU", "Regulation (EC) No 1907/2006" before 2015, "Regulation (EU)
2023/1542" from 2015 (one numbering for all acts); the same forms in German ("Richtlinie
2014/35/EU", "Verordnung (EG) Nr. 1907/2006") and French ("Directive 2014/35/UE",
"Règlement (CE) n° 1907/2006"). Chinese and Vietnamese texts name the kind of act in
their language and keep the official number as the Official Journal prints it ("指令
2014/35/EU", "Chỉ thị 2014/35/EU"). The CELEX number (sector 3) gives year, kind and number.
Acts of other jurisdictions are cited as the catalog records them (``citation:`` per
language, else the official identifier).
"""

from __future__ import annotations

import re

from qualitas.regulations.catalog import Regulation

_CELEX = re.compile(r"^3(\d{4})([LRD])(\d{4})$")

#: The EU's own name in citations, by period: EEC until the Treaty of Maastricht
#: (1993-11-01), EC until the Treaty of Lisbon (2009-12-01), EU since.
_UNION = {"en": ("EEC", "EC", "EU"), "de": ("EWG", "EG", "EU"), "fr": ("CEE", "CE", "UE"),
          "zh": ("EEC", "EC", "EU"), "vi": ("EEC", "EC", "EU")}
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
    "zh": {"directive": "指令", "regulation": "条例", "decision": "决定",
           "delegated_regulation": "委员会授权条例", "delegated_directive": "委员会授权指令",
           "implementing_regulation": "委员会实施条例", "implementing_decision": "委员会实施决定",
           "codified_regulation": "条例"},
    "vi": {"directive": "Chỉ thị", "regulation": "Quy định", "decision": "Quyết định",
           "delegated_regulation": "Quy định ủy quyền của Ủy ban", "delegated_directive": "Chỉ thị ủy quyền của Ủy ban",
           "implementing_regulation": "Quy định thi hành của Ủy ban",
           "implementing_decision": "Quyết định thi hành của Ủy ban", "codified_regulation": "Quy định"},
}
_NO = {"en": "No ", "de": "Nr. ", "fr": "n° ", "zh": "No ", "vi": "số "}
_COMMISSION_SUFFIX = {"de": " der Kommission", "fr": " de la Commission"}


def eu_citation(celex: str, instrument_type: str, lang: str) -> str | None:
    """The citation of an EU act in ``lang`` (en, de, fr, zh, vi) from its CELEX number, or
    None when the identifier is not a CELEX number of legislation or the language is not
    one of these."""
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


def cite(reg: Regulation, lang: str) -> str:
    """How a document in ``lang`` cites ``reg``: the catalog's ``citation:`` in that
    language (a Chinese order in Chinese, a text with the amendment giving its current
    wording), the EU citation from the CELEX number, else the official identifier."""
    if reg.citations.get(lang):
        return reg.citations[lang]
    if reg.identifier_type == "celex":
        return eu_citation(reg.identifier, reg.instrument_type, lang) or reg.identifier
    return reg.identifier


__all__ = ["cite", "eu_citation"]
