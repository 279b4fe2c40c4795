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
    ours: str = strawberry.field(description="Our failure mode or process step (its name).")
    ours_kind: str
    shared_terms: list[str]


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

    @strawberry.field(description="Failure modes in warning letters that concern our process steps or failure modes.")
    def failure_modes_like_ours(self, info: Info, limit: int = 50) -> list[FailureModeMatch]:
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
            )
            for h in failure_modes_like_ours(info.context["store"], limit=limit)
        ]
