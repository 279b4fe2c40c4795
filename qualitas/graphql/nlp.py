"""GraphQL over warning letters and their failure modes: merge ``NlpQuery`` into the root Query.

Resolvers translate only; the store comes from ``info.context["store"]``.
"""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from qualitas.ingest.nlp import failure_modes_like_ours, list_failure_modes, list_letters


@strawberry.type
class WarningLetterSummary:
    reference: str
    firm: str | None
    issued: dt.date | None
    charged_citations: list[str]
    subsystems: list[str]
    requirements: list[str]


@strawberry.type
class LetterFailureMode:
    letter: str
    failure_mode: str
    mechanism: str
    design_weakness: str | None


@strawberry.type
class FailureModeMatch:
    letter: str
    firm: str | None
    failure_mode: str
    mechanism: str
    design_weakness: str | None
    ours: str = strawberry.field(description="Our failure mode, process step (its name) or complaint (its text).")
    ours_kind: str = strawberry.field(description="failure_mode, process_step or complaint.")
    shared_terms: list[str]
    score: float = strawberry.field(description="0-1: 0.6 x IMDRF code match + 0.4 x BM25 text similarity.")
    via: str = strawberry.field(description="How it matched: codes, text, or codes+text.")
    reason: str = strawberry.field(description="Why it matched: the shared IMDRF code or family, the BM25 words.")
    imdrf_codes: list[str] = strawberry.field(description="IMDRF Annex A codes shared with the finding.")
    evidence: str | None = strawberry.field(description="The letter's sentence the finding was read from.")


@strawberry.type
class NlpQuery:
    @strawberry.field(description="Warning letters and NMPA notices in the store, with charged citations.")
    def warning_letters(self, info: Info, subsystem: str | None = None) -> list[WarningLetterSummary]:
        rows = list_letters(info.context["store"])
        return [
            WarningLetterSummary(
                reference=r.reference,
                firm=r.firm,
                issued=r.issued,
                charged_citations=list(r.charged),
                subsystems=list(r.subsystems),
                requirements=list(r.requirements),
            )
            for r in rows
            if subsystem is None or subsystem in r.subsystems
        ]

    @strawberry.field(description="Failure mode -> mechanism -> design weakness chains stated in letters.")
    def letter_failure_modes(self, info: Info) -> list[LetterFailureMode]:
        return [
            LetterFailureMode(
                letter=r.letter, failure_mode=r.failure_mode, mechanism=r.mechanism, design_weakness=r.design_weakness
            )
            for r in list_failure_modes(info.context["store"])
        ]

    @strawberry.field(
        description="Letter findings like our failure modes, process steps and complaints: through IMDRF codes "
        "and through BM25 text similarity, best score first, each with the reason it matched."
    )
    def failure_modes_like_ours(self, info: Info, limit: int = 50, min_score: float = 0.2) -> list[FailureModeMatch]:
        return [
            FailureModeMatch(
                letter=h.letter,
                firm=h.firm,
                failure_mode=h.failure_mode,
                mechanism=h.mechanism,
                design_weakness=h.design_weakness,
                ours=h.ours,
                ours_kind=h.ours_kind,
                shared_terms=list(h.shared_terms),
                score=h.score,
                via=h.via,
                reason=h.reason,
                imdrf_codes=list(h.imdrf),
                evidence=h.evidence,
            )
            for h in failure_modes_like_ours(info.context["store"], limit=limit, min_score=min_score)
        ]
