"""Failure mode -> failure mechanism -> design weakness, where a sentence states them.

Rules over the English pipeline: a sentence with a FAILURE_MODE entity and a causal cue
("caused by", "due to", "attributed to", "resulting from", "could cause", "could result
in") yields a relation; the mechanism is the clause after (or before) the cue, the design
weakness the DESIGN_ELEMENT entity nearest the mechanism. Sentences with a failure mode and
no causal cue are not guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qualitas.ingest.nlp._spacy import english

__all__ = ["FailureRelation", "extract_relations"]

_FORWARD = re.compile(r"\b(?:caused by|due to|attributed to|resulting from|as a result of|because of)\b", re.I)
_BACKWARD = re.compile(
    r"\b(?:could cause|can cause|may cause|could result in|can result in|resulting in|"
    r"which causes|leading to|could lead to|result in)\b",
    re.I,
)


@dataclass(frozen=True)
class FailureRelation:
    """One stated chain: what failed, why, and the weak design element (when named)."""

    failure_mode: str
    mechanism: str
    design_weakness: str | None
    sentence: str


def _clause(text: str) -> str:
    text = re.split(r"\.\s|;|,\s(?:which|where|and your|however)", text, maxsplit=1)[0]
    text = re.sub(r"\s+", " ", text).strip(" ,.")
    return re.sub(r"^(?:For example|Together|Specifically|In addition),?\s*|,?\s*(?:and|or)$", "", text)[:200].strip()


def extract_relations(text: str) -> list[FailureRelation]:
    """Relations stated in ``text``; at most one per sentence."""
    nlp = english()
    cleaned = re.sub(r"\[\.\.\.\]|\(b\)\(\d\)", " ", text)
    out: list[FailureRelation] = []
    for paragraph in (p for p in cleaned.split("\n") if len(p) > 40):
        doc = nlp(paragraph)
        for sent in doc.sents:
            modes = [e for e in sent.ents if e.label_ == "FAILURE_MODE"]
            if not modes:
                continue
            s = sent.text
            fwd, bwd = _FORWARD.search(s), _BACKWARD.search(s)
            design = [e for e in sent.ents if e.label_ == "DESIGN_ELEMENT"]
            if fwd:
                mechanism = _clause(s[fwd.end() :])
                mode = next((m for m in modes if m.start_char - sent.start_char < fwd.start()), modes[0])
                anchor = fwd.end()
            elif bwd:
                mechanism = _clause(re.split(r"[:;]\s", s[: bwd.start()])[-1])
                after = [m for m in modes if m.start_char - sent.start_char > bwd.start()]
                mode = after[0] if after else modes[0]
                anchor = 0
            else:
                continue
            if not mechanism:
                continue
            weak = None
            if design:
                weak = min(design, key=lambda e: abs(e.start_char - sent.start_char - anchor)).text
            out.append(FailureRelation(mode.text.lower(), mechanism, weak.lower() if weak else None, s.strip()))
    return out
