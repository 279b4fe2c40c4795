"""Extract a warning letter's facts: firm, address, date, reference, issuing office, products
and product codes, inspection dates, response deadline, QMSR era; charged violations
(citation, subsystem, requirement quoted, observation); the other CFR references; and the
failure-mode -> mechanism -> design-weakness relations the text states. Every citation,
charged or not, carries the sentence it was read from and its character offsets.

A citation is *charged* when the letter names it as the requirement violated:

- in a violation's charge sentence (``1. Failure to ... as required by 21 CFR 820.100(a).``),
  including a further charge sentence inside the same item (``Your firm also failed to
  submit ..., as required by 21 CFR 803.50(a)(2).``);
- in an adulteration or misbranding paragraph (FD&C Act 501(f)(1)(B), 501(h), 502(o),
  502(t)(2)): the sections named after "as required by" in the sentence that charges under
  the statute (``... misbranded under section 502(o) ..., as required by section 510(k) ...
  and 21 CFR 807.81(a)(3).``), the regulation a sentence says "constitutes misbranding"
  (21 CFR 807.97), and the regulation an "In particular, 21 CFR 801.20(a) ... requires"
  sentence names.

Everything else (definitions such as 803.3, classification regulations, ``See 21 CFR
807.81(b)`` support, advisories, closing boilerplate, part-level mentions) is a reference.
See https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass, field

from qualitas.ingest.nlp._citations import find_citations
from qualitas.ingest.nlp._relations import FailureRelation, extract_relations
from qualitas.ingest.nlp._tables import iso13485_clauses, subsystem_for

__all__ = ["QMSR_EFFECTIVE", "CitationHit", "Inspection", "Violation", "WarningLetter", "extract_letter"]

#: The Quality Management System Regulation (21 CFR 820 incorporating ISO 13485:2016 by
#: reference, 89 FR 7496, 2024-02-02) took effect on this date.
QMSR_EFFECTIVE = dt.date(2026, 2, 2)


@dataclass(frozen=True)
class CitationHit:
    """One citation where it was read: the normalised citation, the sentence around it and
    the character offsets of both in the letter's text."""

    citation: str
    sentence: str
    start: int
    end: int
    sentence_start: int
    sentence_end: int


@dataclass(frozen=True)
class Violation:
    """One charged violation: a normalised citation, its subsystem, the requirement as the
    letter states it, the observation that follows, the ISO 13485 clauses in force, and
    where it was read (``kind``: ``item`` for a violation item, ``statute`` for an
    adulteration or misbranding paragraph)."""

    citation: str
    subsystem: str | None
    requirement: str
    observation: str
    iso13485: tuple[str, ...] = ()
    sentence: str = ""
    start: int = -1
    end: int = -1
    kind: str = "item"


@dataclass(frozen=True)
class Inspection:
    """An inspection period the letter names (``end`` equals ``start`` for one day)."""

    start: dt.date
    end: dt.date


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
    references: tuple[CitationHit, ...] = ()
    issuing_office: str | None = None
    address: str | None = None
    inspections: tuple[Inspection, ...] = ()
    product_codes: tuple[str, ...] = ()
    response_business_days: int | None = None
    iso13485_cited: tuple[str, ...] = ()

    @property
    def charged(self) -> tuple[str, ...]:
        """Distinct charged citations, in order of first charge."""
        return tuple(dict.fromkeys(v.citation for v in self.violations))

    @property
    def qmsr_era(self) -> bool | None:
        """Whether the letter dates from the QMSR (on or after 2026-02-02); None without a date."""
        return None if self.date is None else self.date >= QMSR_EFFECTIVE

    @property
    def response_due(self) -> dt.date | None:
        """The response deadline: the letter date plus the business days it grants."""
        if self.date is None or self.response_business_days is None:
            return None
        day, left = self.date, self.response_business_days
        while left:
            day += dt.timedelta(days=1)
            if day.weekday() < 5:
                left -= 1
        return day


_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_MONTH_NO = {m: i for i, m in enumerate(_MONTHS.split("|"), 1)}
_DATE = re.compile(rf"\b({_MONTHS})\s+(\d{{1,2}}),\s+(\d{{4}})")
_REF = re.compile(
    r"(?:MARCS-CMS\s*|CMS\s*(?:case\s*)?#?\s*\(?|Warning Letter\s*#?\s*|Reference number:\s*)(\d[\d-]{4,})", re.I
)
_FIRM = re.compile(r"^(?:Recipient|Firm):[ \t]*(\S.+)$", re.M)
#: The fda.gov page title line: "<firm> MARCS-CMS 669904 —".
_PAGE_TITLE = re.compile(r"^[ \t]*(\S[^\n]*?)[ \t]+MARCS-CMS[ \t]+\d+", re.M)
#: The recipient block of an fda.gov page: "Recipient Title\n<title>\n<firm>" (or the list
#: layout "Recipient Title<title>\n- <firm>").
_RECIPIENT_BLOCK = re.compile(r"Recipient Title\s*\n?[^\n]*\n(?:-\s*)?(?P<firm>[^\n]+)\n(?P<addr>(?:[^\n]*\n){1,8})")
_FIRM_SUFFIX = re.compile(
    r"\b([A-Z][\w&.,'()-]*(?:\s+[A-Z(][\w&.,'()-]*){0,6}\s+"
    r"(?:Inc\.|LLC|Ltd\.|Limited|AG|GmbH|Corporation|Co\.,? Ltd\.|Pte\.? Ltd\.))"
)
_OFFICE = re.compile(r"Issuing Office:\s*\n(?:-\s*)?(?P<office>[^\n]+)")
_SALUTATION = re.compile(r"^\s*Dear\b", re.M)
_BREADCRUMB_DATE = re.compile(r" - \d{5,7} - (\d{2})/(\d{2})/(\d{4})\s*$", re.M)
_PRODUCTS = re.compile(
    r"(?:manufactures(?:\s+and/or\s+markets)?|manufacturer of|is a medical device manufacturer of)\s+(?:the\s+)?"
    r"(.+?)(?:\.\s|,?\s+which|\s+intended|\s+for use|\s+\()",
    re.S,
)
_PRODUCT_CODE = re.compile(r"\b[Pp]roduct [Cc]odes?:?\s*(?P<codes>[A-Z]{3}(?:(?:,\s*|\s+and\s+|/)[A-Z]{3})*)\b")
_RESPONSE = re.compile(r"within\s+(?P<n>\d{1,2}|fifteen|ten|thirty|five)\s+(?:\(\d{1,2}\)\s+)?business\s+days", re.I)
_WORD_NUMBERS = {"five": 5, "ten": 10, "fifteen": 15, "thirty": 30}
_ISO_CLAUSE = re.compile(r"ISO\s*13485(?::2016)?,?\s*(?:[Cc]lauses?|section)\s*(\d{1,2}(?:\.\d{1,2}){0,3})")
#: Start of a charged violation paragraph.
_CHARGE_START = re.compile(r"^[ \t]*(?:\d{1,2}[.)]\s+)?(?:Failure (?:to|or refusal)|Your firm failed to)\b", re.M)
#: End of a charge statement inside its paragraph.
_CHARGE_END = re.compile(r"\n\s*\n|\bFor example\b|\bMore specifically\b|\bSpecifically\b|\bFor instance\b")
_NEXT_VIOLATION = re.compile(r"^[ \t]*\d{1,2}[.)]\s+\S", re.M)
#: A later charge sentence inside an item: the firm failed / did not ..., as required by <CFR>.
_INNER_CHARGE = re.compile(
    r"\b(?:[Yy]our firm (?:also )?(?:failed|did not|has not)|[Ff]ailed to|[Ff]ailure to)\b[^.]*?"
    r"\bas required (?:by|under)\s+(?P<cite>(?:21\s*CFR|§)[^;\n]*?)(?=\.(?:\s|$)|;|\n|$)"
)
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
#: "... 21 CFR 807.97 ... is misleading and constitutes misbranding."
_CONSTITUTES = re.compile(r"\bconstitutes? misbranding\b", re.I)
_SENTENCE_END = re.compile(r"(?<!\b[A-Z])(?<!U\.S)(?<!\bNo)(?<!\bRev)(?<!\bInc)(?<!\bCo)\.\s+(?=[A-Z\[(])")


def _sentences(paragraph: str) -> list[tuple[int, int]]:
    """Sentence spans of one paragraph (a period followed by space and a capital)."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(paragraph):
        spans.append((start, m.start() + 1))
        start = m.end()
    spans.append((start, len(paragraph)))
    return spans


class _Sentences:
    """Sentence spans of a whole text (paragraph = line), for evidence lookups by offset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spans: list[tuple[int, int]] = []
        for para in re.finditer(r"[^\n]+", text):
            for s, e in _sentences(para.group(0)):
                if para.group(0)[s:e].strip():
                    self.spans.append((para.start() + s, para.start() + e))
        self.starts = [s for s, _ in self.spans]

    def around(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.starts, offset) - 1
        if i < 0:
            return (0, 0)
        return self.spans[i]

    def hit(self, citation: str, start: int, end: int) -> CitationHit:
        s, e = self.around(start)
        return CitationHit(citation, self.text[s:e].strip(), start, end, s, e)


def _date_from(m: re.Match[str]) -> dt.date:
    return dt.date(int(m.group(3)), _MONTH_NO[m.group(1)], int(m.group(2)))


def _date(text: str) -> dt.date | None:
    """The letter's date: the first full date before the salutation; without one, the date in
    the fda.gov page breadcrumb ("<firm> - 669904 - 01/19/2024"); else None (a date after the
    salutation is an inspection or response date, not the letter's)."""
    dear = _SALUTATION.search(text)
    head = text[: dear.start()] if dear else text[:3000]
    m = _DATE.search(head)
    if m:
        return _date_from(m)
    b = _BREADCRUMB_DATE.search(head)
    if b:
        return dt.date(int(b.group(3)), int(b.group(1)), int(b.group(2)))
    if dear is None:
        m = _DATE.search(text)
        return _date_from(m) if m else None
    return None


def _clean_firm(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip(" -—,")


def _firm(text: str) -> str | None:
    m = _FIRM.search(text)
    if m:
        return _clean_firm(m.group(1))
    head = text[:4000]
    m = _PAGE_TITLE.search(head)
    if m and not m.group(1).upper().startswith("WARNING LETTER"):
        return _clean_firm(m.group(1))
    r = _RECIPIENT_BLOCK.search(head)
    if r:
        return _clean_firm(r.group("firm"))
    m = _FIRM_SUFFIX.search(text[:3000])
    return m.group(1).strip() if m else None


def _address(text: str) -> str | None:
    """The recipient's address from the fda.gov page header (the lines after the firm)."""
    r = _RECIPIENT_BLOCK.search(text[:4000])
    if not r:
        return None
    lines = []
    for raw in r.group("addr").splitlines():
        line = raw.strip().strip("-").strip()
        if not line:
            if lines:
                break
            continue
        if re.search(r"Issuing Office|@|\[email|\(b\)\(\d\)|^Recipient", line):
            break
        lines.append(line)
    return ", ".join(lines) or None


def _office(text: str) -> str | None:
    m = _OFFICE.search(text[:4000])
    return m.group("office").strip().strip("-").strip() if m else None


_RANGE_PATTERNS = (
    # "June 7, 2021 through July 7, 2021", "October 29, 2024, through December 20, 2024",
    # "between October 17, 2023 and November 3, 2023"
    re.compile(
        rf"(?P<m1>{_MONTHS})\s+(?P<d1>\d{{1,2}}),?\s*(?P<y1>\d{{4}})?,?\s*(?:through|to|until|and|-|–)\s*"
        rf"(?P<m2>{_MONTHS})\s+(?P<d2>\d{{1,2}}),\s*(?P<y2>\d{{4}})"
    ),
    # "August 5 through 20, 2019", "December 11-20, 2023", "August 15–19, 2022"
    re.compile(rf"(?P<m1>{_MONTHS})\s+(?P<d1>\d{{1,2}})\s*(?:through|to|-|–)\s*(?P<d2>\d{{1,2}}),\s*(?P<y2>\d{{4}})"),
    # "9/18/2023 through 9/26/2023", "08/22/2022 through 09/08/2022", "7/28/21 – 8/25/21"
    re.compile(
        r"(?P<n1>\d{1,2})/(?P<d1>\d{1,2})/(?P<y1>\d{2}(?:\d{2})?)\s*(?:through|to|-|–)\s*"
        r"(?P<n2>\d{1,2})/(?P<d2>\d{1,2})/(?P<y2>\d{2}(?:\d{2})?)"
    ),
)
_ONE_DAY = re.compile(rf"\bon\s+({_MONTHS})\s+(\d{{1,2}}),\s+(\d{{4}})")


def _year(y: str) -> int:
    return int(y) + 2000 if len(y) == 2 else int(y)


def _inspections(text: str) -> tuple[Inspection, ...]:
    """Inspection periods in the first sentence of the body that mentions an inspection."""
    dear = _SALUTATION.search(text)
    body = text[dear.end() :] if dear else text
    sent = re.search(r"[^.\n]*\binspect(?:ion|ions|ed)\b[^\n]*?(?:\.\s|\n|$)", body[:6000])
    if not sent:
        return ()
    s = sent.group(0)
    found: list[tuple[int, Inspection]] = []
    taken: list[tuple[int, int]] = []
    for pattern in _RANGE_PATTERNS:
        for m in pattern.finditer(s):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            g = m.groupdict()
            try:
                if "n1" in g:
                    a = dt.date(_year(g["y1"]), int(g["n1"]), int(g["d1"]))
                    b = dt.date(_year(g["y2"]), int(g["n2"]), int(g["d2"]))
                else:
                    y2 = int(g["y2"])
                    m2 = _MONTH_NO[g.get("m2") or g["m1"]]
                    b = dt.date(y2, m2, int(g["d2"]))
                    y1 = int(g["y1"]) if g.get("y1") else (y2 if _MONTH_NO[g["m1"]] <= m2 else y2 - 1)
                    a = dt.date(y1, _MONTH_NO[g["m1"]], int(g["d1"]))
            except ValueError:
                continue
            if a <= b:
                taken.append((m.start(), m.end()))
                found.append((m.start(), Inspection(a, b)))
    if not found:
        one = _ONE_DAY.search(s)
        if one:
            d = _date_from(one)
            found.append((one.start(), Inspection(d, d)))
    return tuple(i for _, i in sorted(found, key=lambda x: x[0]))


def _products(text: str) -> tuple[str, ...]:
    m = _PRODUCTS.search(text[:4000])
    if not m:
        return ()
    phrase = re.sub(r"\s+", " ", m.group(1))
    parts = re.split(r",\s*(?:and\s+)?|\s+and\s+(?:the\s+)?", phrase)
    return tuple(p.strip().removeprefix("the ").strip() for p in parts if p.strip())


def _product_codes(text: str) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for m in _PRODUCT_CODE.finditer(text):
        for code in re.findall(r"[A-Z]{3}", m.group("codes")):
            out[code] = None
    return tuple(out)


def _response_days(text: str) -> int | None:
    m = _RESPONSE.search(text)
    if not m:
        return None
    n = m.group("n").lower()
    return int(n) if n.isdigit() else _WORD_NUMBERS[n]


def _statute_charges(text: str) -> list[tuple[str, str, int, int, int]]:
    """(citation, sentence, sentence offset, start, end) charged in adulteration and
    misbranding paragraphs (see the module docstring)."""
    out = []
    for para_m in re.finditer(r"[^\n]+", text):
        para = para_m.group(0)
        base = para_m.start()
        statute = bool(_STATUTE_CHARGE.search(para))
        for s, e in _sentences(para):
            sentence = para[s:e]
            cut: int | None = None
            if statute and _STATUTE_CHARGE.search(sentence):
                req = _AS_REQUIRED.search(sentence)
                if req:
                    cut = req.end()
            if cut is None and _CONSTITUTES.search(sentence):
                cut = 0
            if cut is not None:
                for c in find_citations(sentence[cut:]):
                    if not c.part_level:
                        at = base + s + cut
                        out.append((c.text, sentence.strip(), base + s, at + c.start, at + c.end))
            if statute and _IN_PARTICULAR.match(sentence):
                verb = _REQUIRES.search(sentence)
                if verb:
                    for c in find_citations(sentence[: verb.start()]):
                        if not c.part_level:
                            at = base + s
                            out.append((c.text, sentence.strip(), base + s, at + c.start, at + c.end))
    return out


#: Where a charge statement ends when its line does not: a line that ends a sentence or a
#: list lead-in, or a blank line (text from PDFs wraps a sentence over several lines).
_LINE_STOP = re.compile(r"[.:]\s*\n|\n\s*\n")


def _statement_end(text: str, start: int, limit: int) -> int:
    """The end of the charge statement that starts at ``start``: the end of its line when
    the line ends a sentence, else the end of the first sentence of the wrapped lines."""
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    if text[start:line_end].rstrip().endswith((".", ":")) or line_end >= limit:
        return line_end
    number = re.match(r"[ \t]*\d{1,2}[.)]\s+", text[start:])
    begin = start + (number.end() if number else 0)
    stop = _LINE_STOP.search(text, begin, min(limit, start + 1500))
    sentence = _SENTENCE_END.search(text, begin, min(limit, start + 1500))
    ends = [m.start() + 1 for m in (stop, sentence) if m]
    return min(ends) if ends else line_end


def _violation_charges(text: str) -> list[tuple[str, str, str, int, int, int]]:
    """(citation, requirement, observation, item offset, start, end) of each violation item:
    its "Failure to ..." charge and any later charge sentence inside the item."""
    out = []
    starts = [m.start() for m in _CHARGE_START.finditer(text)]
    for i, start in enumerate(starts):
        line_end = _statement_end(text, start, starts[i + 1] if i + 1 < len(starts) else len(text))
        end_m = _CHARGE_END.search(text, start + 1, line_end)
        charge_end = end_m.start() if end_m else line_end
        requirement = text[start:charge_end].strip()
        lead = len(text[start:charge_end]) - len(text[start:charge_end].lstrip())
        nxt = _NEXT_VIOLATION.search(text, line_end)
        block_end = min(x for x in (nxt.start() if nxt else len(text), *(s for s in starts[i + 1 :]), len(text)))
        observation = re.sub(r"\s+", " ", text[charge_end:block_end]).strip()
        strict = _STRICT_REQUIRED.search(requirement)
        parts: set[int] = set()
        for c in find_citations(requirement):
            if not c.part_level and (strict is None or c.start >= strict.end()):
                at = start + lead
                parts.add(c.part)
                out.append((c.text, requirement, observation[:2000], start, at + c.start, at + c.end))
        for inner in _INNER_CHARGE.finditer(text, charge_end, block_end):
            cite_at = inner.start("cite")
            for c in find_citations(inner.group("cite")):
                # a further charge of the item's own part (803.50(a)(2) in an 803.50(a)(1) MDR
                # item); a classification regulation named beside it is not a new charge
                if not c.part_level and c.part in parts:
                    sentence = inner.group(0).strip()
                    out.append((c.text, sentence, observation[:2000], start, cite_at + c.start, cite_at + c.end))
    return out


def extract_letter(text: str, *, source: str | None = None) -> WarningLetter:
    """Extract a :class:`WarningLetter` from a letter's plain text."""
    sentences = _Sentences(text)
    charges: list[tuple[int, Violation]] = []
    for citation, requirement, observation, at, c_start, c_end in _violation_charges(text):
        s, e = sentences.around(c_start)
        v = Violation(
            citation,
            subsystem_for(citation),
            requirement,
            observation,
            iso13485_clauses(citation),
            text[s:e].strip(),
            c_start,
            c_end,
            "item",
        )
        charges.append((at, v))
    for citation, sentence, at, c_start, c_end in _statute_charges(text):
        v = Violation(
            citation,
            subsystem_for(citation),
            sentence,
            "",
            iso13485_clauses(citation),
            sentence,
            c_start,
            c_end,
            "statute",
        )
        charges.append((at, v))
    charges.sort(key=lambda x: x[0])
    seen: set[str] = set()
    violations = []
    for _, v in charges:
        if v.citation not in seen:
            seen.add(v.citation)
            violations.append(v)
    all_cites = find_citations(text)
    other = tuple(dict.fromkeys(c.text for c in all_cites if c.text not in seen))
    references = tuple(sentences.hit(c.text, c.start, c.end) for c in all_cites if c.text not in seen)
    ref = _REF.search(text)
    date = _date(text)
    return WarningLetter(
        reference=ref.group(1) if ref else None,
        firm=_firm(text),
        date=date,
        products=_products(text),
        violations=tuple(violations),
        other_references=other,
        relations=tuple(extract_relations(text)),
        source=source,
        charged_parts=tuple(sorted({int(v.citation.split()[2].split(".")[0]) for v in violations})),
        references=references,
        issuing_office=_office(text),
        address=_address(text),
        inspections=_inspections(text),
        product_codes=_product_codes(text),
        response_business_days=_response_days(text),
        iso13485_cited=tuple(dict.fromkeys(_ISO_CLAUSE.findall(text))),
    )
