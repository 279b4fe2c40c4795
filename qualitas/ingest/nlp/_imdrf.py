"""The IMDRF adverse event terminology this project ships, and the mapping of free text
(complaints, reviews, warning-letter findings) to its codes.

The terminology is data (``data/imdrf.yaml``: Annex A medical device problems, levels 1-2;
Annex C investigation findings; the Annex D and G records a public copy shows), with its
release, sources and coverage. What a text says is mapped to codes by the project's own
multilingual keyword table (``data/imdrf_keywords.yaml``, English, German, Chinese); every
hit names the words that produced it, so a reviewer sees why.
See https://www.imdrf.org/working-groups/adverse-event-terminology (IMDRF/AE WG/N43).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from qualitas.ingest.nlp._tables import _yaml

__all__ = ["ImdrfHit", "ImdrfTerm", "cause_findings", "detect_language", "imdrf_codes", "imdrf_term", "terminology"]


@dataclass(frozen=True)
class ImdrfTerm:
    """One shipped IMDRF term: annex letter, code (None where only the term is verified),
    term, and for Annex A the FDA device problem code and NCIt concept of the same term."""

    annex: str
    code: str | None
    term: str
    fda_code: str | None = None
    ncit: str | None = None

    @property
    def level(self) -> int:
        return 0 if self.code is None else (len(self.code) - 1) // 2

    @property
    def family(self) -> str | None:
        """The level-1 code this term belongs to (``A0504`` -> ``A05``)."""
        return self.code[:3] if self.code else None


@dataclass(frozen=True)
class ImdrfHit:
    """A code a text points to, with the words that point to it."""

    code: str | None
    term: str
    annex: str
    evidence: tuple[str, ...]


@cache
def terminology() -> dict[str, Any]:
    """The shipped terminology: ``version``, ``sources`` and the terms by annex."""
    return dict(_yaml("imdrf.yaml"))


@cache
def _terms() -> dict[str, ImdrfTerm]:
    data = terminology()
    out: dict[str, ImdrfTerm] = {}
    for annex in ("a", "c", "d", "g"):
        for row in data[f"annex_{annex}"]:
            t = ImdrfTerm(annex.upper(), row.get("code"), row["term"], row.get("fda"), row.get("ncit"))
            out[t.code or f"{annex.upper()}:{t.term}"] = t
    return out


def imdrf_term(code: str) -> ImdrfTerm | None:
    """The shipped term of ``code`` (``A0504`` -> Leak/Splash), or None."""
    return _terms().get(code)


_CJK = re.compile(r"[\u4e00-\u9fff]")
_GERMAN = re.compile(r"\b(?:der|die|das|und|nicht|ist|mit|nach|ein|eine|sich|auf|beim|wurde|war|hat)\b|[äöüß]", re.I)


def detect_language(text: str) -> str:
    """``zh`` when the text is mostly Han characters, ``de`` when German function words or
    umlauts dominate, else ``en`` (a rule, not a model: it only has to pick among three)."""
    if len(_CJK.findall(text)) >= max(2, len(text) // 10):
        return "zh"
    return "de" if len(_GERMAN.findall(text)) >= 2 else "en"


@cache
def _patterns() -> tuple[list[tuple[str, str, re.Pattern[str]]], list[tuple[str, str, re.Pattern[str]]]]:
    table = _yaml("imdrf_keywords.yaml")
    a: list[tuple[str, str, re.Pattern[str]]] = []
    for code, langs in table["annex_a"].items():
        for lang, words in langs.items():
            for w in words:
                if lang == "zh":
                    a.append((code, lang, re.compile(re.escape(w))))
                else:
                    a.append((code, lang, re.compile(r"(?<![\w])" + re.escape(w.lower()), re.I)))
    c: list[tuple[str, str, re.Pattern[str]]] = []
    for term, langs in table["annex_c"].items():
        for lang, words in langs.items():
            for w in words:
                c.append((term, lang, re.compile(r"(?<![\w])" + re.escape(w.lower()), re.I)))
    return a, c


def imdrf_codes(text: str, *, language: str | None = None) -> list[ImdrfHit]:
    """The Annex A codes ``text`` points to, most evidence first; words of every language
    are tried when ``language`` is None (a German review may quote an English part name)."""
    found: dict[str, list[str]] = {}
    for code, lang, pattern in _patterns()[0]:
        if language is not None and lang != language:
            continue
        for m in pattern.finditer(text):
            found.setdefault(code, []).append(m.group(0).lower())
    terms = _terms()
    hits = [
        ImdrfHit(code, terms[code].term, "A", tuple(dict.fromkeys(words)))
        for code, words in found.items()
        if code in terms
    ]
    hits.sort(key=lambda h: (-len(h.evidence), h.code or ""))
    return hits


def cause_findings(text: str) -> list[ImdrfHit]:
    """The Annex C investigation findings a cause sentence points to (term; code where verified)."""
    found: dict[str, list[str]] = {}
    for term, _lang, pattern in _patterns()[1]:
        for m in pattern.finditer(text):
            found.setdefault(term, []).append(m.group(0).lower())
    by_term = {t.term: t for t in _terms().values() if t.annex == "C"}
    hits = [
        ImdrfHit(by_term[term].code, term, "C", tuple(dict.fromkeys(words)))
        for term, words in found.items()
        if term in by_term
    ]
    hits.sort(key=lambda h: (-len(h.evidence), h.term))
    return hits
