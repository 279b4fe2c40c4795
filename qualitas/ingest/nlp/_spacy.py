"""spaCy pipelines built from blank languages and rules shipped here (no model download).

English: ``spacy.blank("en")`` + sentencizer + an EntityRuler of failure-mode and design
terms (``data/terms.yaml``). Chinese: ``spacy.blank("zh")`` segmented by jieba.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from qualitas.errors import MissingExtraError
from qualitas.ingest.nlp._tables import _yaml


def _spacy() -> Any:
    try:
        import spacy
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingExtraError("spacy", extra="nlp") from exc
    return spacy


@lru_cache(maxsize=1)
def english() -> Any:
    """The English pipeline: sentences and FAILURE_MODE / DESIGN_ELEMENT entities."""
    nlp = _spacy().blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    terms = _yaml("terms.yaml")
    patterns = [{"label": "FAILURE_MODE", "pattern": t} for t in terms["failure_modes"]]
    patterns += [{"label": "DESIGN_ELEMENT", "pattern": t} for t in terms["design_elements"]]
    ruler.add_patterns(patterns)
    return nlp


@lru_cache(maxsize=1)
def chinese() -> Any:
    """The Chinese pipeline: blank ``zh`` with the jieba segmenter and a sentencizer."""
    try:
        import jieba
    except ImportError as exc:  # pragma: no cover
        raise MissingExtraError("jieba", extra="nlp") from exc
    jieba.setLogLevel(logging.WARNING)
    nlp = _spacy().blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    nlp.add_pipe("sentencizer", config={"punct_chars": ["。", "；", "！", "？"]})
    return nlp
