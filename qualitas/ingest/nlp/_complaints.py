"""Classify complaint texts and customer reviews (English, German, Chinese) into the
failure-mode library, each with a score, the evidence words and the IMDRF codes it points
to; low-confidence cases go to a review list instead of a guess.

Two signals, both explained in the result:

- **codes**: the IMDRF Annex A codes the text points to (:func:`imdrf_codes`, words in
  three languages) against the codes of each library entry (its own, or read from its name
  and description): the same code scores 1, the same level-1 family 0.5;
- **text**: BM25 (``rank-bm25``) of the text's words, plus its codes as tokens, against
  each entry's name, description and codes; Chinese is segmented with jieba. The IDF is
  BM25+'s log((N + 1) / n), positive even in a library of one or two entries (Okapi's goes
  negative there), with Okapi's term-frequency part (BM25+'s delta is taken out again, so
  a word the entry lacks adds nothing). The raw score s is squashed to s / (s + 2) so that
  it reads as a 0-1 strength.

``score = 0.6 * codes + 0.4 * text``. Below ``threshold`` (0.5 by default: a text must at
least share a code family and some words, or a code exactly), or with two entries tied,
the case is routed to review with the reason.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from qualitas.errors import InputError, MissingExtraError
from qualitas.ingest.nlp._imdrf import detect_language, imdrf_codes

__all__ = ["Bm25", "Classification", "LibraryEntry", "TextItem", "classify", "read_texts_csv", "tokens"]

_STOP = frozenset(
    {
        "the",
        "and",
        "for",
        "with",
        "was",
        "were",
        "has",
        "had",
        "have",
        "this",
        "that",
        "from",
        "not",
        "but",
        "are",
        "its",
        "into",
        "when",
        "after",
        "der",
        "die",
        "das",
        "und",
        "ist",
        "mit",
        "nach",
        "ein",
        "eine",
        "sich",
        "auf",
        "beim",
        "wurde",
        "war",
        "hat",
        "nicht",
        "von",
        "den",
        "dem",
        "zu",
        "im",
        "es",
    }
)


@dataclass(frozen=True)
class LibraryEntry:
    """One failure mode of the library: a key, its name, an optional description and IMDRF codes."""

    key: str
    name: str
    description: str = ""
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TextItem:
    """One text to classify: an identifier, the text and its language (None: detect)."""

    id: str
    text: str
    language: str | None = None


@dataclass(frozen=True)
class Classification:
    """Where one text went: the failure mode (None when routed to review), the score, the
    evidence words, the IMDRF codes of the text, and why."""

    id: str
    text: str
    language: str
    failure_mode: str | None
    name: str | None
    score: float
    evidence: tuple[str, ...]
    imdrf: tuple[str, ...]
    review: bool
    reason: str


@cache
def _jieba() -> Any:
    try:
        import jieba
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingExtraError("jieba", extra="nlp") from exc
    jieba.setLogLevel(logging.WARNING)
    return jieba


def tokens(text: str, language: str) -> list[str]:
    """Words of ``text`` for BM25: jieba words for Chinese, lower-case words of three letters
    or more (stop words dropped) for English and German."""
    if language == "zh":
        return [w for w in (t.strip().lower() for t in _jieba().lcut(text)) if w and not re.fullmatch(r"\W+", w)]
    return [w for w in re.findall(r"[a-zäöüß]{3,}", text.lower()) if w not in _STOP]


class Bm25:
    """BM25 over ``docs`` (see the module docstring): rank-bm25's BM25Plus with its delta
    removed from the score of each query word."""

    def __init__(self, docs: list[list[str]]) -> None:
        from rank_bm25 import BM25Plus

        self._bm25 = BM25Plus(docs)

    def scores(self, query: list[str]) -> list[float]:
        if not query:
            return [0.0] * self._bm25.corpus_size
        raw = self._bm25.get_scores(query)
        floor = self._bm25.delta * sum(self._bm25.idf.get(q) or 0.0 for q in query)
        return [max(float(x) - floor, 0.0) for x in raw]


def _code_tokens(codes: Iterable[str]) -> list[str]:
    out = []
    for c in codes:
        out += [f"imdrf:{c}", f"imdrf:{c[:3]}"]
    return out


def _entry_codes(entry: LibraryEntry) -> tuple[str, ...]:
    if entry.codes:
        return entry.codes
    return tuple(h.code for h in imdrf_codes(f"{entry.name} {entry.description}") if h.code)


def classify(
    items: Iterable[TextItem], library: Sequence[LibraryEntry], *, threshold: float = 0.5
) -> list[Classification]:
    """Classify each item into ``library`` (see the module docstring)."""
    if not library:
        raise InputError("the failure-mode library is empty: load FMEA failure modes or pass --library")
    entry_codes = [_entry_codes(e) for e in library]
    docs = []
    for e, codes in zip(library, entry_codes, strict=True):
        text = f"{e.name} {e.description}"
        docs.append(tokens(text, detect_language(text)) + _code_tokens(codes) or ["_"])
    bm25 = Bm25(docs)
    out: list[Classification] = []
    for item in items:
        lang = item.language or detect_language(item.text)
        hits = imdrf_codes(item.text)
        codes = tuple(h.code for h in hits if h.code)
        words = {w for h in hits for w in h.evidence}
        query = tokens(item.text, lang) + _code_tokens(codes)
        raw = bm25.scores(query)
        scored = []
        for i in range(len(library)):
            exact = set(codes) & set(entry_codes[i])
            family = {c[:3] for c in codes} & {c[:3] for c in entry_codes[i]}
            code_score = 1.0 if exact else 0.5 if family else 0.0
            s = max(float(raw[i]), 0.0)
            text_score = s / (s + 2.0)
            shared = sorted((set(query) & set(docs[i])) - {t for t in query if t.startswith("imdrf:")})
            evidence = tuple(sorted(words & {w for c in exact for h in hits if h.code == c for w in h.evidence}))
            evidence = evidence + tuple(w for w in shared if w not in evidence)
            scored.append((0.6 * code_score + 0.4 * text_score, i, exact, family, evidence))
        scored.sort(key=lambda x: (-x[0], x[1]))
        best = scored[0]
        tie = len(scored) > 1 and abs(scored[1][0] - best[0]) < 1e-9 and best[0] > 0
        score = round(best[0], 3)
        entry = library[best[1]]
        if best[0] < threshold or tie:
            why = (
                f"tied with {library[scored[1][1]].name!r}"
                if tie
                else f"score {score} below {threshold}" + ("" if codes else "; no IMDRF code recognised")
            )
            out.append(Classification(item.id, item.text, lang, None, None, score, best[4], codes, True, why))
            continue
        parts = []
        if best[2]:
            parts.append("IMDRF " + ", ".join(sorted(best[2])))
        elif best[3]:
            parts.append("IMDRF family " + ", ".join(sorted(best[3])))
        if best[4]:
            parts.append("words " + ", ".join(best[4][:6]))
        out.append(
            Classification(
                item.id, item.text, lang, entry.key, entry.name, score, best[4], codes, False, "; ".join(parts)
            )
        )
    return out


def read_texts_csv(path: Path) -> list[TextItem]:
    """Texts from a CSV with a header: ``id`` (or ``review_id``), ``text`` (or ``review``,
    ``comment``) and optionally ``lang``. Bad input names the file, row and column."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}", file=str(path)) from exc
    with handle:
        reader = csv.DictReader(handle)
        fields = {f.strip().lower(): f for f in reader.fieldnames or ()}
        text_col = next((fields[k] for k in ("text", "review", "comment") if k in fields), None)
        id_col = next((fields[k] for k in ("id", "review_id", "complaint_id") if k in fields), None)
        if text_col is None:
            raise InputError(f"{path}: no text column (text, review or comment)", file=str(path))
        items = []
        for n, row in enumerate(reader, start=2):
            text = (row.get(text_col) or "").strip()
            if not text:
                raise InputError(f"{path}:{n}: column {text_col!r} is empty", file=str(path))
            lang = (row.get(fields.get("lang", ""), "") or "").strip().lower()[:2] or None
            if lang is not None and lang not in ("en", "de", "zh"):
                raise InputError(f"{path}:{n}: column 'lang' is {lang!r}; expected en, de or zh", file=str(path))
            items.append(TextItem((row.get(id_col) or "").strip() if id_col else str(n - 1), text, lang))
    return items
