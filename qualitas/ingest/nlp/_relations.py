"""Failure mode -> failure mechanism -> design weakness, where a sentence states them.

Rules over the English pipeline: a sentence with a FAILURE_MODE entity and a causal cue
("caused by", "due to", "attributed to", "resulting from", "could cause", "could result
in") yields a relation; the mechanism is the clause after (or before) the cue, the design
weakness the DESIGN_ELEMENT entity nearest the mechanism. Sentences with a failure mode and
no causal cue are not guessed at. Each chain carries the IMDRF Annex A codes of its device
problem, the Annex C investigation findings its cause points to, and whether the weakness
is one of design or of the manufacturing process (see :mod:`qualitas.ingest.nlp._imdrf`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qualitas.ingest.nlp._imdrf import cause_findings, imdrf_codes
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
    imdrf: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()
    weakness_kind: str | None = None


_PROCESS = re.compile(
    r"\b(?:process|manufactur\w*|validat\w*|weld\w*|supplier|assembl\w*|steriliz\w*|mold\w*|mould\w*|"
    r"production|packaging process|cleaning)\b",
    re.I,
)
_DESIGN = re.compile(r"\b(?:design\w*|specification\w*|software|algorithm)\b", re.I)


def _weakness_kind(mechanism: str, weak: str | None, sentence: str) -> str | None:
    """ "process" when the cause names a manufacturing process, "design" when it names a design
    element or the design; None when the sentence says neither."""
    if _PROCESS.search(mechanism):
        return "process"
    if weak or _DESIGN.search(mechanism) or _DESIGN.search(sentence):
        return "design"
    return "process" if _PROCESS.search(sentence) else None


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
            codes = tuple(h.code for h in imdrf_codes(f"{mode.text} {s}", language="en") if h.code)
            causes = tuple(h.term for h in cause_findings(mechanism))
            out.append(
                FailureRelation(
                    mode.text.lower(),
                    mechanism,
                    weak.lower() if weak else None,
                    s.strip(),
                    codes,
                    causes,
                    _weakness_kind(mechanism, weak, s),
                )
            )
    return out
