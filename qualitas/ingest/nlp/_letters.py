"""Extract a warning letter's facts: firm, date, reference, products, charged violations
(citation, subsystem, requirement quoted, observation), other CFR references, and the
failure-mode -> mechanism -> design-weakness relations the text states.

A citation is *charged* when the letter names it as the requirement violated: in a
violation's charge sentence (``1. Failure to ... as required by 21 CFR 820.100(a).``) or
in a misbranding/adulteration sentence (``... as required by section 510(k) ..., and
21 CFR 807.81(a)(3).``). Everything else (definitions, classification regulations,
``See ...`` support, advisories, part-level mentions) is an *other* reference.
See https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from qualitas.ingest.nlp._citations import find_citations
from qualitas.ingest.nlp._relations import FailureRelation, extract_relations
from qualitas.ingest.nlp._tables import iso13485_clauses, subsystem_for

__all__ = ["Violation", "WarningLetter", "extract_letter"]


@dataclass(frozen=True)
class Violation:
    """One charged violation: a normalised citation, its subsystem, the requirement as the
    letter states it, the observation that follows, and the ISO 13485 clauses in force."""

    citation: str
    subsystem: str | None
    requirement: str
    observation: str
    iso13485: tuple[str, ...] = ()


@dataclass(frozen=True)
class WarningLetter:
    """What one letter says, as extracted."""

    reference: str | None
    firm: str | None
    date: dt.date | None
    products: tuple[str, ...]
    violations: tuple[Violation, ...]
    other_references: tuple[str, ...]
    relations: tuple[FailureRelation, ...] = ()
    source: str | None = None
    language: str = "en"
    charged_parts: tuple[int, ...] = field(default=())

    @property
    def charged(self) -> tuple[str, ...]:
        """Distinct charged citations, in order of first charge."""
        return tuple(dict.fromkeys(v.citation for v in self.violations))


_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE = re.compile(rf"\b({_MONTHS})\s+(\d{{1,2}}),\s+(\d{{4}})")
_REF = re.compile(r"(?:CMS\s*(?:case\s*)?#?\s*|Warning Letter\s*#?\s*|Reference number:\s*)(\d[\d-]{4,})", re.I)
_FIRM = re.compile(r"^(?:Recipient|Firm):\s*(.+)$", re.M)
_FIRM_SUFFIX = re.compile(
    r"\b([A-Z][\w&.,'()-]*(?:\s+[A-Z(][\w&.,'()-]*){0,6}\s+"
    r"(?:Inc\.|LLC|Ltd\.|Limited|AG|GmbH|Corporation|Co\.,? Ltd\.|Pte\.? Ltd\.))"
)
_PRODUCTS = re.compile(
    r"(?:manufactures(?:\s+and/or\s+markets)?|manufacturer of|is a medical device manufacturer of)\s+(?:the\s+)?"
    r"(.+?)(?:\.\s|,?\s+which|\s+intended|\s+for use|\s+\()",
    re.S,
)
#: Start of a charged violation paragraph.
_CHARGE_START = re.compile(r"^[ \t]*(?:\d{1,2}[.)]\s+)?(?:Failure (?:to|or refusal)|Your firm failed to)\b", re.M)
#: End of a charge statement inside its paragraph.
_CHARGE_END = re.compile(r"\n|\bFor example\b|\bMore specifically\b|\bSpecifically\b|\bFor instance\b")
_NEXT_VIOLATION = re.compile(r"^[ \t]*\d{1,2}[.)]\s+\S", re.M)
_STATUTE_CHARGE = re.compile(r"\b(?:misbranded|adulterated) (?:under|within the meaning of) section", re.I)
_AS_REQUIRED = re.compile(r"\b(?:as required by|required by|per|in violation of)\b", re.I)
#: The strict form: when a charge sentence has it, the citations after it are the charge and
#: earlier ones ("the information required by § 803.52 in accordance with § 803.12(a), ...
#: as required by 21 CFR 803.50(a)(1)") only describe the requirement.
_STRICT_REQUIRED = re.compile(r"\bas required (?:by|under)\b", re.I)
#: "In particular, 21 CFR 801.20(a), which ..., requires ...": after a misbranding charge, the
#: sentence that names the violated regulation as its subject.
_IN_PARTICULAR = re.compile(r"^\s*In particular,", re.I)
_REQUIRES = re.compile(r"\brequires?\b")


def _sentences(paragraph: str) -> list[tuple[int, int]]:
    """Sentence spans of one paragraph (a period followed by space and a capital)."""
    spans, start = [], 0
    for m in re.finditer(r"(?<!\b[A-Z])(?<!U\.S)(?<!\bNo)(?<!\bRev)\.\s+(?=[A-Z\[(])", paragraph):
        spans.append((start, m.start() + 1))
        start = m.end()
    spans.append((start, len(paragraph)))
    return spans


def _date(text: str) -> dt.date | None:
    m = _DATE.search(text)
    if not m:
        return None
    return dt.datetime.strptime(f"{m.group(1)} {m.group(2)} {m.group(3)}", "%B %d %Y").date()


def _firm(text: str) -> str | None:
    m = _FIRM.search(text)
    if m:
        return m.group(1).strip()
    m = _FIRM_SUFFIX.search(text[:3000])
    return m.group(1).strip() if m else None


def _products(text: str) -> tuple[str, ...]:
    m = _PRODUCTS.search(text[:4000])
    if not m:
        return ()
    phrase = re.sub(r"\s+", " ", m.group(1))
    parts = re.split(r",\s*(?:and\s+)?|\s+and\s+(?:the\s+)?", phrase)
    return tuple(p.strip().removeprefix("the ").strip() for p in parts if p.strip())


def _statute_charges(text: str) -> list[tuple[str, str, int]]:
    """(citation, sentence, offset) charged in misbranding/adulteration sentences: the CFR
    sections named after "as required by" in a sentence that charges under a statute."""
    out = []
    for para_m in re.finditer(r"[^\n]+", text):
        para = para_m.group(0)
        if not _STATUTE_CHARGE.search(para):
            continue
        for s, e in _sentences(para):
            sentence = para[s:e]
            if not _STATUTE_CHARGE.search(sentence):
                continue
            req = _AS_REQUIRED.search(sentence)
            if not req:
                continue
            for c in find_citations(sentence[req.end() :]):
                if not c.part_level:
                    out.append((c.text, sentence.strip(), para_m.start() + s))
        for s, e in _sentences(para):
            sentence = para[s:e]
            if not _IN_PARTICULAR.match(sentence):
                continue
            verb = _REQUIRES.search(sentence)
            if not verb:
                continue
            for c in find_citations(sentence[: verb.start()]):
                if not c.part_level:
                    out.append((c.text, sentence.strip(), para_m.start() + s))
    return out


def _violation_charges(text: str) -> list[tuple[str, str, str, int]]:
    """(citation, requirement, observation, offset) of each "Failure to ..." paragraph."""
    out = []
    starts = [m.start() for m in _CHARGE_START.finditer(text)]
    for i, start in enumerate(starts):
        line_end = text.find("\n", start)
        line_end = len(text) if line_end < 0 else line_end
        end_m = _CHARGE_END.search(text, start + 1, line_end)
        charge_end = end_m.start() if end_m else line_end
        requirement = text[start:charge_end].strip()
        nxt = _NEXT_VIOLATION.search(text, line_end)
        block_end = min(x for x in (nxt.start() if nxt else len(text), *(s for s in starts[i + 1 :]), len(text)))
        observation = re.sub(r"\s+", " ", text[charge_end:block_end]).strip()
        strict = _STRICT_REQUIRED.search(requirement)
        for c in find_citations(requirement):
            if not c.part_level and (strict is None or c.start >= strict.end()):
                out.append((c.text, requirement, observation[:2000], start))
    return out


def extract_letter(text: str, *, source: str | None = None) -> WarningLetter:
    """Extract a :class:`WarningLetter` from a letter's plain text."""
    charges: list[tuple[int, Violation]] = []
    for citation, requirement, observation, at in _violation_charges(text):
        charges.append(
            (at, Violation(citation, subsystem_for(citation), requirement, observation, iso13485_clauses(citation)))
        )
    for citation, sentence, at in _statute_charges(text):
        charges.append((at, Violation(citation, subsystem_for(citation), sentence, "", iso13485_clauses(citation))))
    charges.sort(key=lambda x: x[0])
    seen: set[str] = set()
    violations = []
    for _, v in charges:
        if v.citation not in seen:
            seen.add(v.citation)
            violations.append(v)
    other = tuple(dict.fromkeys(c.text for c in find_citations(text) if c.text not in seen))
    ref = _REF.search(text)
    return WarningLetter(
        reference=ref.group(1) if ref else None,
        firm=_firm(text),
        date=_date(text),
        products=_products(text),
        violations=tuple(violations),
        other_references=other,
        relations=tuple(extract_relations(text)),
        source=source,
        charged_parts=tuple(sorted({int(v.citation.split()[2].split(".")[0]) for v in violations})),
    )
