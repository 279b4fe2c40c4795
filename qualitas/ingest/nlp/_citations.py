"""Find and normalise CFR citations in warning-letter text.

Real letters are messy: ``21CFR 820.90(a)``, ``820.100 (a)``, ``21 CFR § 820.30(h)``,
``§ 803.12(a)``, ``21 CR 820.250(a)`` (a typo in a real letter), sections without the
``21 CFR`` prefix (``803.20(c)(1)``) and part-level mentions (``21 CFR Part 803``).
Every form normalises to ``21 CFR 820.100(a)`` / ``21 CFR Part 820``; statute references
(``21 U.S.C. § 360(k)``) are not CFR citations and are skipped.

Combined and ranged forms come out as one citation each, every one with the span of the text
it was read from: ``820.198(a)(b)`` (two sibling paragraphs run together, which the CFR's
paragraph hierarchy (a) > (1) > (i) > (A) never nests) is ``820.198(a)`` and ``820.198(b)``;
``820.30(i) and (j)`` and ``807.81(a)(1), (2)`` elide the section; ``807.81(a)(3) and
(a)(3)(i)`` elides it with a deeper paragraph; ``§§ 803.50 and 803.52`` names two sections.
See https://www.ecfr.gov/reader-aids/using-ecfr/ecfr-paragraph-structure for the hierarchy.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

__all__ = ["Citation", "find_citations", "normalise_citation", "split_paragraphs"]

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
#: An elided deeper paragraph: "807.81(a)(3) and (a)(3)(i)" also cites 807.81(a)(3)(i). The
#: FOIA redaction marks "(b)(4)", "(b)(6)", "(b)(7)(C)" are never paragraphs.
_ELIDED = re.compile(r"(?:,\s*|\s+(?:and|or)\s+)(?P<g>(?:\((?:[a-z]{1,4}|\d{1,2})\)){2,4})(?![\w(])")
#: A paragraph range: "820.100(a)(1)-(7)", "820.30(c) through (e)".
_RANGE = re.compile(r"\s*(?:-|–|through|to)\s*\((?P<p>[a-z]|\d{1,2})\)(?![\w(])")
_REDACTION = re.compile(r"^\(b\)\((?:4|5|6|7)\)")
_GROUP = re.compile(r"\(([a-z]{1,4}|\d{1,2}|[A-Z])\)")
_ROMAN = frozenset({"i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"})


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


def _kind(group: str, prev: str | None) -> str:
    """The level kind of one paragraph designator: "alpha", "digit" or "roman" (a roman
    numeral only directly under a digit, as in 807.81(a)(3)(i))."""
    if group.isdigit():
        return "digit"
    if group in _ROMAN and prev is not None and prev.isdigit():
        return "roman"
    return "alpha"


def split_paragraphs(paras: str) -> list[str]:
    """The single paragraphs a run of designators stands for: ``(a)(b)`` -> ``(a)``, ``(b)``
    (siblings run together); ``(a)(3)(i)`` stays one (a proper nesting).

    >>> split_paragraphs("(a)(b)")
    ['(a)', '(b)']
    >>> split_paragraphs("(a)(3)(i)")
    ['(a)(3)(i)']
    """
    groups = _GROUP.findall(paras)
    if len(groups) < 2:
        return [paras] if paras else [""]
    out: list[str] = []
    stem: list[str] = [groups[0]]
    for prev, g in itertools.pairwise(groups):
        if _kind(g, prev) == _kind(prev, stem[-2] if len(stem) > 1 else None) and (not g.isalpha() or g > prev):
            out.append("".join(f"({x})" for x in stem))
            stem = [*stem[:-1], g]
        else:
            stem.append(g)
    out.append("".join(f"({x})" for x in stem))
    return out


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
        pieces = split_paragraphs(paras)
        for piece in pieces:
            out.append(Citation(f"21 CFR {section}{piece}", m.start(), end, part, section))
        paras = pieces[-1]
        deeper = _ELIDED.match(text, end)
        if deeper and paras and not _REDACTION.match(deeper.group("g")):
            groups = _GROUP.findall(deeper.group("g"))
            mine = _GROUP.findall(paras)
            if groups and mine and _kind(groups[0], None) == _kind(mine[0], None):
                cite = f"21 CFR {section}{deeper.group('g')}"
                out.append(Citation(cite, deeper.start("g"), deeper.end(), part, section))
                continue
        last = re.search(r"\(([a-z]{1,4}|\d{1,2})\)$", paras)
        rng = _RANGE.match(text, end)
        lo, hi = (last.group(1), rng.group("p")) if last and rng else ("", "")
        if lo and lo.isdigit() == hi.isdigit() and (int(lo) < int(hi) if lo.isdigit() else len(lo) == 1 and lo < hi):
            seq = (
                [str(i) for i in range(int(lo) + 1, int(hi) + 1)]
                if lo.isdigit()
                else [chr(c) for c in range(ord(lo) + 1, ord(hi) + 1)]
            )
            for x in seq[:26]:
                cite = f"21 CFR {section}{paras[: last.start()]}({x})"
                out.append(Citation(cite, rng.start(), rng.end(), part, section))
            continue
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
