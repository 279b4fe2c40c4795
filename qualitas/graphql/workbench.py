"""GraphQL of the quality workbench: FMEA, control plan and CAPA, reachable from a
product, a process step and a complaint; the wizard and CAPA changes as mutations.

Queries (any reader role): ``fmea``, ``fmeas``, ``fmeaProposals``, ``controlPlan``,
``capa``, ``capas``, ``capaEffectiveness``, ``actionPriority``, and
``qualityWorkbench(product | step | complaint)``, which gathers the FMEAs, control plan
items and CAPAs around one of them (the explorer's workbench panel asks it).

Mutations (roles in :data:`qualitas.graphql.security.POLICY`: engineers and admins
edit FMEAs; engineers, compliance and admins edit CAPAs): ``createFmea`` (the wizard's
answers), ``importFmeaWorksheet`` (CSV text), ``openCapa``, ``recordCapaStep``,
``verifyCapaStep``, ``closeCapa``. Each is one audited batch recorded with the store
change as one unit (``workbench.fmea.*`` / ``workbench.capa.*``), the caller as who.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from qualitas.errors import QualitasError, ValidationError
from qualitas.graphql._errors import graphql_error as _error
from qualitas.graphql.audit import mark_recorded
from qualitas.store import GraphStore
from qualitas.workbench import capa as capas
from qualitas.workbench import fmea as fmeas

T = TypeVar("T")


@strawberry.type(name="FmeaAction", description="An optimisation action: owner, due date, status.")
class FmeaAction:
    description: str
    kind: str
    responsible: str
    due: dt.date | None
    status: str


@strawberry.type(description="One FMEA row: effect <- mode <- cause, controls, S/O/D and Action Priority.")
class FailureChain:
    row: str
    process_item: str
    process_step: str
    work_element: str
    failure_effect: str
    severity: int
    failure_mode: str
    failure_cause: str
    prevention_control: str
    occurrence: int
    detection_control: str
    detection: int
    action_priority: str
    step_code: str | None
    category: str | None
    item_function: str
    step_function: str
    element_function: str
    failure_mode_code: str | None
    parameter: str | None
    equipment: str | None
    actions: list[FmeaAction]


@strawberry.type(description="A control plan line with the AIAG control plan columns.")
class ControlPlanItem:
    key: str
    step_code: str
    process_name: str
    machine: str
    characteristic: str
    characteristic_kind: str
    specification: str
    evaluation_method: str
    sample_size: str
    sample_frequency: str
    control_method: str
    reaction_plan: str
    special_class: str
    parameter: str | None
    equipment: str | None
    chains: list[str]


@strawberry.type(description="An FMEA (AIAG & VDA 2019): PFMEA or DFMEA.")
class Fmea:
    id: str
    kind: str
    title: str
    item: str | None
    chains: list[FailureChain]
    control_plan: list[ControlPlanItem]


@strawberry.type
class FmeaSummary:
    id: str
    kind: str
    title: str
    item: str | None
    steps: list[str]
    chains: int
    high: int
    medium: int
    low: int


@strawberry.type(description="A cause and its controls the graph proposes for a process step.")
class FmeaProposal:
    id: str
    kind: str
    cause: str
    work_element: str
    category: str
    element_function: str
    prevention_control: str
    detection_control: str
    parameter: str | None
    equipment: str | None
    evidence: list[str]


@strawberry.type
class CapaStep:
    key: str
    text: str
    by: str
    at: dt.datetime
    evidence: list[str]
    verified_by: str | None
    verified_at: dt.datetime | None


@strawberry.type(description="A D4 root cause candidate, e.g. a finding of the complaint's trace.")
class RootCauseCandidate:
    key: str
    kind: str
    message: str
    subject: str | None
    evidence: list[str]
    confirmed: bool


@strawberry.type(description="A CAPA record: 8D, 5-Why or PDCA.")
class Capa:
    id: str
    method: str
    title: str
    opened_by: str
    opened_at: dt.datetime
    status: str
    complaints: list[str]
    failure_modes: list[str]
    runs: list[str]
    lots: list[str]
    steps: list[CapaStep]
    candidates: list[RootCauseCandidate]
    closed_by: str | None
    closed_at: dt.datetime | None
    next_steps: list[str] = strawberry.field(description="Steps the closure rules allow now.")


@strawberry.type
class CapaSummary:
    id: str
    method: str
    title: str
    status: str
    complaints: list[str]


@strawberry.type(description="Complaints of the CAPA's failure modes before and after its corrective action.")
class Effectiveness:
    failure_modes: list[str]
    since: dt.date | None
    window_days: int
    before: list[str]
    after: list[str]
    judged: bool
    effective: bool | None
    note: str


@strawberry.type
class ActionPriority:
    priority: str
    table: str
    source: JSON
    verified: bool


@strawberry.type(description="FMEAs, control plan items and CAPAs around a product, a process step or a complaint.")
class QualityWorkbench:
    fmeas: list[FmeaSummary]
    control_plan: list[ControlPlanItem]
    capas: list[CapaSummary]


_TYPES: dict[type, type] = {
    fmeas.OptimisationAction: FmeaAction,
    fmeas.FailureChain: FailureChain,
    fmeas.ControlPlanItem: ControlPlanItem,
    fmeas.Fmea: Fmea,
    fmeas.FmeaSummary: FmeaSummary,
    capas.CapaStep: CapaStep,
    capas.RootCauseCandidate: RootCauseCandidate,
    capas.CapaSummary: CapaSummary,
    capas.Effectiveness: Effectiveness,
}


def convert(value: Any) -> Any:
    """A workbench dataclass (or a sequence of them) as its GraphQL type."""
    if isinstance(value, capas.Capa):
        fields = {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return Capa(**fields, next_steps=list(value.next_steps))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        target = _TYPES.get(type(value))
        if target is None:
            from qualitas.workbench.wizard import Proposal

            if isinstance(value, Proposal):
                target = FmeaProposal
            else:
                raise TypeError(f"no GraphQL type for {type(value).__name__}")
        return target(**{f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, tuple | list):
        return [convert(v) for v in value]
    return value


def _store(info: Info) -> GraphStore:
    return info.context["store"]  # type: ignore[no-any-return]


def _core(call: Callable[[], T]) -> T:
    try:
        return call()
    except QualitasError as exc:
        raise _error(exc) from exc


@strawberry.type
class WorkbenchQuery:
    @strawberry.field(description="One FMEA with its failure chains and control plan items.")
    def fmea(self, info: Info, id: str) -> Fmea:
        return convert(_core(lambda: fmeas.load_fmea(_store(info), id)))  # type: ignore[no-any-return]

    @strawberry.field(description="FMEAs, optionally of a product/part, a process step or a failure mode.")
    def fmeas(
        self, info: Info, item: str | None = None, step: str | None = None, failure_mode: str | None = None
    ) -> list[FmeaSummary]:
        return convert(  # type: ignore[no-any-return]
            _core(
                lambda: fmeas.list_fmeas(
                    _store(info),
                    item=item,
                    step=step,
                    failure_mode=failure_mode,
                )
            )
        )

    @strawberry.field(description="Causes and controls the graph proposes for a process step (the wizard's offer).")
    def fmea_proposals(self, info: Info, step: str, failure_mode: str | None = None) -> list[FmeaProposal]:
        from qualitas.workbench.wizard import propose

        return convert(_core(lambda: propose(_store(info), step, failure_mode=failure_mode)))  # type: ignore[no-any-return]

    @strawberry.field(description="Control plan items of a process step (every FMEA about it).")
    def control_plan(self, info: Info, step: str) -> list[ControlPlanItem]:
        return convert(_core(lambda: fmeas.control_plan_items(_store(info), step=step)))  # type: ignore[no-any-return]

    @strawberry.field(description="One CAPA with its steps, D4 candidates and the steps allowed next.")
    def capa(self, info: Info, id: str) -> Capa:
        return convert(_core(lambda: capas.load_capa(_store(info), id)))  # type: ignore[no-any-return]

    @strawberry.field(description="CAPAs, optionally of a complaint, a process step, a product or a failure mode.")
    def capas(
        self,
        info: Info,
        complaint: str | None = None,
        step: str | None = None,
        product: str | None = None,
        failure_mode: str | None = None,
    ) -> list[CapaSummary]:
        return convert(  # type: ignore[no-any-return]
            _core(
                lambda: capas.list_capas(
                    _store(info), complaint=complaint, step=step, product=product, failure_mode=failure_mode
                )
            )
        )

    @strawberry.field(description="Effectiveness check of a CAPA: complaints of its failure modes before and after.")
    def capa_effectiveness(self, info: Info, id: str, window_days: int = 90) -> Effectiveness:
        def run() -> Any:
            store = _store(info)
            return capas.effectiveness(store, capas.load_capa(store, id), window_days=window_days)

        return convert(_core(run))  # type: ignore[no-any-return]

    @strawberry.field(description="Action Priority (H/M/L) for S, O, D from the AIAG & VDA handbook's table.")
    def action_priority(self, severity: int, occurrence: int, detection: int, kind: str = "PFMEA") -> ActionPriority:
        from qualitas.workbench.ap import action_priority, ap_tables

        priority = _core(lambda: action_priority(severity, occurrence, detection, kind=kind))  # type: ignore[arg-type]
        table = ap_tables()[kind]
        return ActionPriority(priority=priority, table=table.id, source=table.source, verified=table.verified)  # type: ignore[arg-type]

    @strawberry.field(
        description="FMEAs, control plan items and CAPAs around exactly one of: a product (model or part "
        "number), a process step, a complaint (its failure mode's FMEAs, the control plans of the steps its "
        "trace ran through, its CAPAs)."
    )
    def quality_workbench(
        self, info: Info, product: str | None = None, step: str | None = None, complaint: str | None = None
    ) -> QualityWorkbench:
        return _core(lambda: _workbench(_store(info), product=product, step=step, complaint=complaint))


def _workbench(store: GraphStore, *, product: str | None, step: str | None, complaint: str | None) -> QualityWorkbench:
    if sum(x is not None for x in (product, step, complaint)) != 1:
        raise ValidationError("give exactly one of product, step, complaint", field="product")
    if product is not None:
        found = fmeas.list_fmeas(store, item=product)
        steps = sorted({s for f in found for s in f.steps})
        items = [i for s in steps for i in fmeas.control_plan_items(store, step=s)]
        return QualityWorkbench(
            fmeas=convert(found), control_plan=convert(items), capas=convert(capas.list_capas(store, product=product))
        )
    if step is not None:
        return QualityWorkbench(
            fmeas=convert(fmeas.list_fmeas(store, step=step)),
            control_plan=convert(fmeas.control_plan_items(store, step=step)),
            capas=convert(capas.list_capas(store, step=step)),
        )
    from qualitas.reasoning.trace import reverse_trace

    assert complaint is not None
    trace = reverse_trace(store, complaint)
    mode = trace.complaint.failure_mode
    found = fmeas.list_fmeas(store, failure_mode=mode) if mode else []
    steps = sorted({r.step for r in trace.runs if r.step})
    items = [i for s in steps for i in fmeas.control_plan_items(store, step=s)]
    return QualityWorkbench(
        fmeas=convert(found),
        control_plan=convert(items),
        capas=convert(capas.list_capas(store, complaint=trace.complaint.complaint_id)),
    )


# ---------------------------------------------------------------- mutations


def _caller(info: Info) -> tuple[str, str | None]:
    principal = info.context.get("principal")
    return str(getattr(principal, "name", None) or "anonymous"), getattr(principal, "role", None)


async def _write(info: Info, call: Callable[[GraphStore, str, str | None, Any], T]) -> T:
    """``call(store, who, role, audit)`` in a thread, after any running load (one writer)."""
    context = info.context
    who, role = _caller(info)
    jobs = context.get("jobs")
    lock = getattr(jobs, "write_lock", None)
    try:
        async with lock if lock is not None else contextlib.nullcontext():
            result = await asyncio.to_thread(call, context["store"], who, role, context.get("audit"))
    except QualitasError as exc:
        raise _error(exc) from exc
    if context.get("audit") is not None:
        mark_recorded(info)  # recorded with the batch, as one unit
    return result


async def _capa_change(
    info: Info, capa_id: str, change: str, reason: str | None, edit: Callable[[capas.Capa, str], capas.Capa]
) -> Capa:
    def run(store: GraphStore, who: str, role: str | None, audit: Any) -> Any:
        capa = edit(capas.load_capa(store, capa_id), who)
        capas.save_capa(store, capa, agent=who, change=change, audit=audit, role=role, why=reason)
        return capa

    return convert(await _write(info, run))  # type: ignore[no-any-return]


@strawberry.type
class WriteResult:
    id: str
    status: str = strawberry.field(description="added, replaced or unchanged")
    graph: str


@strawberry.type
class WorkbenchMutation:
    @strawberry.mutation(
        description="The FMEA wizard: answers as the YAML of `qualitas fmea new --from` (as JSON): fmea {id, "
        "title, kind, item}, step, failure_types [{mode, effect, severity, causes [{proposal | cause, occurrence, "
        "detection, actions}]}], control_plan overrides. Edge configs are the server's files (edge_config path)."
    )
    async def create_fmea(self, info: Info, answers: JSON, reason: str | None = None, replace: bool = False) -> Fmea:
        from qualitas.workbench.wizard import build_fmea, parse_answers

        def run(store: GraphStore, who: str, role: str | None, audit: Any) -> Any:
            result = build_fmea(store, parse_answers(answers, where="answers"))
            fmeas.save_fmea(
                store,
                result.fmea,
                agent=who,
                audit=audit,
                role=role,
                why=reason,
                action="workbench.fmea.new",
                replace=replace,
            )
            return result.fmea

        return convert(await _write(info, run))  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="Import an FMEA worksheet given as CSV text (the README's column mapping); "
        "a bad line names its row and column and nothing is stored."
    )
    async def import_fmea_worksheet(
        self, info: Info, csv: str, reason: str | None = None, replace: bool = False
    ) -> WriteResult:
        from qualitas.workbench.worksheet import read_worksheet, save_imported

        def run(store: GraphStore, who: str, role: str | None, audit: Any) -> WriteResult:
            imported = read_worksheet(csv.encode("utf-8"), format="csv", where="csv")
            loaded = save_imported(store, imported, agent=who, audit=audit, role=role, why=reason, replace=replace)
            return WriteResult(id=imported.fmea.id, status=loaded.status, graph=loaded.graph)

        return await _write(info, run)

    @strawberry.mutation(
        description="Open a CAPA; with complaintId it starts from the complaint's trace, its "
        "findings the D4 candidates."
    )
    async def open_capa(
        self,
        info: Info,
        method: str = "8D",
        complaint_id: str | None = None,
        title: str | None = None,
        failure_modes: list[str] | None = None,
        runs: list[str] | None = None,
        lots: list[str] | None = None,
        reason: str | None = None,
    ) -> Capa:
        def run(store: GraphStore, who: str, role: str | None, audit: Any) -> Any:
            if complaint_id:
                capa = capas.capa_from_complaint(store, complaint_id, by=who, method=method, title=title)
            else:
                if not title:
                    raise ValidationError("a CAPA without complaintId needs a title", field="title")
                capa = capas.new_capa(
                    capas.next_capa_id(store, dt.datetime.now(dt.UTC).year),
                    method=method,
                    title=title,
                    by=who,
                    failure_modes=failure_modes or (),
                    runs=runs or (),
                    lots=lots or (),
                )
            capas.save_capa(store, capa, agent=who, change="open", audit=audit, role=role, why=reason, expect_new=True)
            return capa

        return convert(await _write(info, run))  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="Record a CAPA step (you, now, evidence); D4 confirms candidates or adds "
        "causes. Refused where the closure rules do not allow it yet."
    )
    async def record_capa_step(
        self,
        info: Info,
        id: str,
        step: str,
        text: str,
        evidence: list[str] | None = None,
        confirm: list[str] | None = None,
        causes: list[str] | None = None,
        reason: str | None = None,
    ) -> Capa:
        return await _capa_change(
            info,
            id,
            "step",
            reason,
            lambda c, who: capas.record_step(
                c, step, text=text, by=who, evidence=evidence or (), confirm=confirm or (), causes=causes or ()
            ),
        )

    @strawberry.mutation(description="Verify a recorded CAPA step (you are the verifier).")
    async def verify_capa_step(
        self, info: Info, id: str, step: str, evidence: list[str] | None = None, reason: str | None = None
    ) -> Capa:
        return await _capa_change(
            info, id, "verify", reason, lambda c, who: capas.verify_step(c, step, by=who, evidence=evidence or ())
        )

    @strawberry.mutation(description="Close a CAPA if its closure rules hold (8D: D0-D8 recorded, D6 verified).")
    async def close_capa(self, info: Info, id: str, reason: str | None = None) -> Capa:
        return await _capa_change(info, id, "close", reason, lambda c, who: capas.close_capa(c, by=who))
