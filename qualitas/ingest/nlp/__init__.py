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

from pathlib import Path

from qualitas.errors import InputError
from qualitas.ingest.nlp._citations import Citation, find_citations, normalise_citation, split_paragraphs
from qualitas.ingest.nlp._complaints import Classification, LibraryEntry, TextItem, classify, read_texts_csv
from qualitas.ingest.nlp._graph import (
    FailureModeHit,
    LetterSummary,
    failure_modes_like_ours,
    letter_graph,
    list_failure_modes,
    list_letters,
    load_letter,
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
    "detect_language",
    "extract_file",
    "extract_letter",
    "extract_notice",
    "extract_relations",
    "failure_modes_like_ours",
    "find_citations",
    "imdrf_codes",
    "imdrf_term",
    "iso13485_clauses",
    "letter_graph",
    "list_failure_modes",
    "list_letters",
    "load_letter",
    "normalise_citation",
    "read_texts_csv",
    "regulation_for",
    "split_paragraphs",
    "subsystem_for",
]


def extract_file(path: Path) -> WarningLetter:
    """Extract a letter file: Chinese text goes to the NMPA pipeline, the rest to the FDA one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}", file=str(path)) from exc
    cjk = sum(1 for ch in text[:2000] if "\u4e00" <= ch <= "\u9fff")
    if cjk > 50:
        return extract_notice(text, source=path.name)
    return extract_letter(text, source=path.name)
