"""NLP for warning letters: FDA CDRH warning letters and NMPA flight-inspection notices
into the defect-mode knowledge graph.

Pipeline: text -> :func:`extract_letter` (English; spaCy blank ``en`` + rules) or
:func:`extract_notice` (Chinese; spaCy blank ``zh`` + jieba) -> :class:`WarningLetter`
(charged violations with normalised citations and subsystems, other references, failure
mode -> mechanism -> design weakness) -> :func:`letter_graph` / :func:`load_letter`
(RDF linked to the regulation catalog) -> queries (:func:`list_letters`,
:func:`failure_modes_like_ours`). :func:`evaluate` scores extraction against an answer key.

Failure modes in a public terminology: :func:`imdrf_codes` maps device problems (letters,
complaints, reviews in English, German, Chinese) to IMDRF Annex A codes
(``data/imdrf.yaml``); :func:`classify` puts complaint texts into the failure-mode library
with a score and evidence words, routing low-confidence cases to review.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

from qualitas.errors import InputError, MissingExtraError
from qualitas.ingest.nlp._citations import Citation, find_citations, normalise_citation, split_paragraphs
from qualitas.ingest.nlp._complaints import Classification, LibraryEntry, TextItem, classify, read_texts_csv
from qualitas.ingest.nlp._graph import (
    FailureModeHit,
    LetterSummary,
    complaint_texts,
    failure_mode_library,
    failure_modes_like_ours,
    letter_graph,
    list_failure_modes,
    list_letters,
    load_letter,
    load_letter_file,
    regulation_for,
)
from qualitas.ingest.nlp._imdrf import ImdrfHit, ImdrfTerm, cause_findings, detect_language, imdrf_codes, imdrf_term
from qualitas.ingest.nlp._letters import CitationHit, Inspection, Violation, WarningLetter, extract_letter
from qualitas.ingest.nlp._nmpa import chinese_number, extract_notice
from qualitas.ingest.nlp._relations import FailureRelation, extract_relations
from qualitas.ingest.nlp._tables import iso13485_clauses, subsystem_for

__all__ = [
    "Citation",
    "CitationHit",
    "Classification",
    "FailureModeHit",
    "FailureRelation",
    "ImdrfHit",
    "ImdrfTerm",
    "Inspection",
    "LetterSummary",
    "LibraryEntry",
    "TextItem",
    "Violation",
    "WarningLetter",
    "cause_findings",
    "chinese_number",
    "classify",
    "complaint_texts",
    "detect_language",
    "extract_file",
    "extract_letter",
    "extract_notice",
    "extract_relations",
    "failure_mode_library",
    "failure_modes_like_ours",
    "find_citations",
    "imdrf_codes",
    "imdrf_term",
    "iso13485_clauses",
    "letter_graph",
    "letter_text",
    "list_failure_modes",
    "list_letters",
    "load_letter",
    "load_letter_file",
    "normalise_citation",
    "read_letter_text",
    "read_texts_csv",
    "regulation_for",
    "split_paragraphs",
    "subsystem_for",
]


class _HtmlText(HTMLParser):
    """Text of an HTML page: block elements end a line, scripts and styles are dropped."""

    _BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "dd", "dt"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "noscript"):
            self._skip += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(self.parts).split("\n"))
        return "\n".join(line for line in lines if line)


def read_letter_text(path: Path, data: bytes | None = None) -> str:
    """The plain text of a letter file: ``.txt`` (UTF-8), ``.html``/``.htm`` (tags stripped,
    one line per block element) or ``.pdf`` (pypdf, page by page)."""
    try:
        raw = path.read_bytes() if data is None else data
        suffix = path.suffix.lower()
        if suffix == ".pdf":
            try:
                from pypdf import PdfReader
                from pypdf.errors import PdfReadError
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise MissingExtraError("pypdf", extra="nlp") from exc
            try:
                reader = PdfReader(io.BytesIO(raw))
                return "\n".join(page.extract_text() or "" for page in reader.pages)
            except (PdfReadError, ValueError) as exc:
                raise InputError(f"{path}: not a readable PDF ({exc})", file=str(path)) from exc
        text = raw.decode("utf-8")
        if suffix in (".html", ".htm"):
            parser = _HtmlText()
            parser.feed(text)
            return parser.text()
        return text
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}", file=str(path)) from exc


def letter_text(path: Path, data: bytes | None = None) -> WarningLetter:
    """Extract a letter file (txt, html or pdf): Chinese text goes to the NMPA pipeline, the
    rest to the FDA one."""
    text = read_letter_text(path, data)
    cjk = sum(1 for ch in text[:2000] if "\u4e00" <= ch <= "\u9fff")
    if cjk > 50:
        return extract_notice(text, source=path.name)
    return extract_letter(text, source=path.name)


def extract_file(path: Path) -> WarningLetter:
    """Extract one letter file (see :func:`letter_text`)."""
    return letter_text(path)
