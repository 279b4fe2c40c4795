"""NLP for warning letters: FDA CDRH warning letters and NMPA flight-inspection notices
into the defect-mode knowledge graph.

Pipeline: text -> :func:`extract_letter` (English; spaCy blank ``en`` + rules) or
:func:`extract_notice` (Chinese; spaCy blank ``zh`` + jieba) -> :class:`WarningLetter`
(charged violations with normalised citations and subsystems, other references, failure
mode -> mechanism -> design weakness) -> :func:`letter_graph` / :func:`load_letter`
(RDF linked to the regulation catalog) -> queries (:func:`list_letters`,
:func:`failure_modes_like_ours`). :func:`evaluate` scores extraction against an answer key.
"""

from __future__ import annotations

from pathlib import Path

from qualitas.errors import InputError
from qualitas.ingest.nlp._citations import Citation, find_citations, normalise_citation
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
from qualitas.ingest.nlp._letters import Violation, WarningLetter, extract_letter
from qualitas.ingest.nlp._nmpa import chinese_number, extract_notice
from qualitas.ingest.nlp._relations import FailureRelation, extract_relations
from qualitas.ingest.nlp._tables import iso13485_clauses, subsystem_for

__all__ = [
    "Citation",
    "FailureModeHit",
    "FailureRelation",
    "LetterSummary",
    "Violation",
    "WarningLetter",
    "chinese_number",
    "extract_file",
    "extract_letter",
    "extract_notice",
    "extract_relations",
    "failure_modes_like_ours",
    "find_citations",
    "iso13485_clauses",
    "letter_graph",
    "list_failure_modes",
    "list_letters",
    "load_letter",
    "normalise_citation",
    "regulation_for",
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
