"""Find and normalise CFR citations in warning-letter text.

Real letters are messy: ``21CFR 820.90(a)``, ``820.100 (a)``, ``21 CFR § 820.30(h)``,
``§ 803.12(a)``, ``21 CR 820.250(a)`` (a typo in a real letter), sections without the
``21 CFR`` prefix (``803.20(c)(1)``) and part-level mentions (``21 CFR Part 803``).
Every form normalises to ``21 CFR 820.100(a)`` / ``21 CFR Part 820``; statute references
(``21 U.S.C. § 360(k)``) are not CFR citations and are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Citation", "find_citations", "normalise_citation"]

#: Title 21 parts of device law. A bare ``803.20(c)(1)`` with no ``21 CFR`` prefix counts as a
#: citation only when its part is one of these, so ``2.25 mm`` or ``4.0`` never do.
DEVICE_PARTS = frozenset({7, 11, 50, 56, 801, 803, 806, 807, 809, 810, 812, 814, 820, 821, 822, 830, *range(860, 900)})

_PARA = r"(?:\s?\((?:[a-z]{1,4}|\d{1,2})\))*"
_PREFIX = r"(?P<prefix>21\s*C\.?\s*F?\.?\s*R\.?\s*(?:§+\s*|[Pp]art\s+|[Ss]ec(?:tion)?\.?\s*)?|§+\s*)"
_SECTION = rf"(?P<part>\d{{1,3}})\.(?P<section>\d{{1,4}}[a-z]?)(?P<paras>{_PARA})"
_RE = re.compile(
    rf"(?<![\w.§])(?:{_PREFIX})?{_SECTION}(?![\w.]*\d)"
    rf"|(?P<pprefix>21\s*C\.?\s*F\.?\s*R\.?\s*|Code of Federal Regulations\s*\(CFR\),?\s*)"
    rf"(?:[Pp]arts?\s+)?(?P<partonly>\d{{1,4}})(?!\d|\.\d|\()"
)
_USC = re.compile(r"U\.\s?S\.\s?C\.\s*§*\s*$")
#: Words before a bare number that make it a clause, section or version of something other
#: than the CFR: "ISO 13485:2016 Clause 7.1", "Section 7.2 of SOP-0060", "version 7.0".
_NOT_CFR_BEFORE = re.compile(r"(?:\b[Cc]lauses?|\b[Ss]ections?|\b[Vv]ersions?|\bv|\b[Rr]ev(?:ision)?\.?|\bISO)\s*$")
#: An elided sibling paragraph after a citation: "21 CFR 807.81(a)(1), (2)" also cites
#: 807.81(a)(2). Not when another paragraph follows ("(b)(4)" is a redaction mark).
_SIBLING = re.compile(r"(?:,\s*|\s+(?:and|or)\s+)\((?P<p>[a-z]{1,4}|\d{1,2})\)(?!\s?\()")


@dataclass(frozen=True)
class Citation:
    """One CFR reference found in text: its normal form and where it was."""

    text: str  # normalised, e.g. "21 CFR 820.100(a)" or "21 CFR Part 820"
    start: int
    end: int
    part: int
    section: str | None  # "820.100" or None for a part-level reference

    @property
    def part_level(self) -> bool:
        return self.section is None


def _norm_paras(paras: str) -> str:
    return re.sub(r"\s+", "", paras or "")


def find_citations(text: str) -> list[Citation]:
    """Every CFR citation in ``text``, in order, normalised."""
    out: list[Citation] = []
    for m in _RE.finditer(text):
        if _USC.search(text[max(0, m.start() - 12) : m.start()]):
            continue  # 21 U.S.C. § 360(k) is the statute, not the CFR
        if m.group("partonly"):
            part = int(m.group("partonly"))
            if part < 1500:
                out.append(Citation(f"21 CFR Part {part}", m.start(), m.end(), part, None))
            continue
        part = int(m.group("part"))
        prefix = m.group("prefix") or ""
        if not prefix.strip() and (
            part not in DEVICE_PARTS or _NOT_CFR_BEFORE.search(text[max(0, m.start() - 20) : m.start()])
        ):
            continue
        section = f"{part}.{m.group('section')}"
        paras = _norm_paras(m.group("paras"))
        end = m.end()
        out.append(Citation(f"21 CFR {section}{paras}", m.start(), end, part, section))
        last = re.search(r"\(([a-z]{1,4}|\d{1,2})\)$", paras)
        while last:
            sib = _SIBLING.match(text, end)
            if not sib or sib.group("p").isdigit() != last.group(1).isdigit():
                break
            paras = paras[: last.start()] + f"({sib.group('p')})"
            end = sib.end()
            out.append(Citation(f"21 CFR {section}{paras}", sib.start(), end, part, section))
            last = re.search(r"\(([a-z]{1,4}|\d{1,2})\)$", paras)
    return out


def normalise_citation(raw: str) -> str:
    """The normal form of one citation string; raises ``ValueError`` when there is none.

    >>> normalise_citation("21CFR 820.90(a)")
    '21 CFR 820.90(a)'
    >>> normalise_citation("§ 803.12(a)")
    '21 CFR 803.12(a)'
    """
    found = find_citations(raw)
    if not found:
        raise ValueError(f"no CFR citation in {raw!r}")
    return found[0].text
