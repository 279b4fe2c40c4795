"""The FMEA wizard: choose a process step, tick failure types from the library, set
severity; the graph proposes causes and controls; the answers become an FMEA and its
control plan items.

    answers (YAML file, GraphQL input, or the interactive prompts of `qualitas fmea new`)
      └── build_fmea: proposals from the graph ── failure chains (AP from the table)
                                                └── control plan items (spec in force + edge config)
      └── save_fmea: one audited batch

Proposals (:func:`propose`) come from what the graph knows about the step:

* each parameter of the parameter set in force: the cause "parameter outside its
  specification", the set itself as prevention control, the SPC chart of the
  parameter's signal in the edge configuration as detection control, and the runs'
  recorded values as evidence;
* each piece of equipment that ran the step: "used out of calibration", with its
  latest certificate as prevention control and the runs after its expiry as evidence;
* the reverse-trace findings of the complaints of the chosen failure mode that pass
  through the step (CMP-2025-0057's expired calibration of FC-12, for example), added
  as evidence to the matching proposal or as proposals of their own.

Ratings stay the team's judgement: occurrence and detection are answers, never guessed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from qualitas.edge_adapters.config import EdgeConfig, load_config
from qualitas.errors import ConfigError, NotFoundError, ParseError, ValidationError
from qualitas.ontology import mint
from qualitas.reasoning.i18n import unit_symbol
from qualitas.reasoning.trace import reverse_trace
from qualitas.store import GraphStore
from qualitas.workbench.control_plan import (
    edge_control,
    latest_calibration,
    specs_in_force,
    step_equipment,
    step_info,
)
from qualitas.workbench.fmea import (
    ControlPlanItem,
    FailureChain,
    Fmea,
    OptimisationAction,
    failure_mode_iri,
    failure_mode_key,
    make_chain,
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActionAnswer(_Model):
    description: str
    type: Literal["prevention", "detection"]
    responsible: str
    due: dt.date | None = None
    status: Literal["open", "decision_pending", "implementation_pending", "completed", "not_implemented"] = "open"


class CauseAnswer(_Model):
    """A proposal accepted (``proposal``: its id) or a cause of the team's own (``cause``)."""

    proposal: str | None = None
    cause: str | None = None
    parameter: str | None = None
    equipment: str | None = None
    work_element: str | None = None
    category: str | None = None
    element_function: str | None = None
    prevention_control: str | None = None
    detection_control: str | None = None
    occurrence: int = Field(ge=1, le=10)
    detection: int = Field(ge=1, le=10)
    actions: list[ActionAnswer] = []


class FailureTypeAnswer(_Model):
    mode: str  # code of a q:FailureMode of the library
    effect: str
    severity: int = Field(ge=1, le=10)
    item_function: str = ""
    step_function: str = ""
    causes: list[CauseAnswer]


class FmeaAnswer(_Model):
    id: str
    title: str
    kind: Literal["PFMEA", "DFMEA"] = "PFMEA"
    item: str | None = None  # default: what the step's routing makes


class ControlOverride(_Model):
    characteristic_kind: Literal["product", "process"] | None = None
    special_class: str | None = None
    evaluation_method: str | None = None
    sample_size: str | None = None
    sample_frequency: str | None = None
    control_method: str | None = None
    reaction_plan: str | None = None


class Answers(_Model):
    fmea: FmeaAnswer
    step: str
    process_item: str | None = None
    edge_config: Path | None = None
    failure_types: list[FailureTypeAnswer] = Field(min_length=1)
    #: per parameter code or equipment id: columns the team sets instead of the derived ones
    control_plan: dict[str, ControlOverride] = {}


def parse_answers(raw: object, *, where: str = "<answers>", base: Path | None = None) -> Answers:
    try:
        answers = Answers.model_validate(raw)
    except PydanticError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ValidationError(f"{where}: {loc}: {first['msg']}", where=where, field=loc) from exc
    if answers.edge_config is not None and base is not None and not answers.edge_config.is_absolute():
        answers = answers.model_copy(update={"edge_config": base / answers.edge_config})
    return answers


def read_answers(path: Path) -> Answers:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParseError(f"cannot read: {exc.strerror}", file=path) from exc
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ParseError(f"invalid YAML: {exc}", file=path, line=line + 1 if line is not None else None) from exc
    return parse_answers(raw, where=str(path), base=path.parent)


# ---------------------------------------------------------------- proposals from the graph


@dataclass(frozen=True)
class Proposal:
    id: str
    kind: str  # parameter | calibration | finding
    cause: str
    work_element: str
    category: str
    element_function: str
    prevention_control: str
    detection_control: str
    parameter: str | None = None
    equipment: str | None = None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class FailureType:
    code: str
    name: str
    complaints: tuple[str, ...]


def failure_library(store: GraphStore) -> list[FailureType]:
    """The failure mode library: every q:FailureMode of the graph, with its complaints:
    those with a code (complaints, our own library) and those read from warning letters
    (keyed by their path, ``nlp/<slug>``, named by their label)."""
    rows = store.select(
        """SELECT ?m ?name ?label (GROUP_CONCAT(?cid; SEPARATOR=" ") AS ?complaints) WHERE {
          ?m a q:FailureMode . OPTIONAL { ?m q:name ?name } OPTIONAL { ?m rdfs:label ?label }
          OPTIONAL { ?c q:failureMode ?m ; q:complaintId ?cid }
          FILTER(STRSTARTS(STR(?m), "https://w3id.org/qualitas/id/failuremode/"))
          FILTER NOT EXISTS { ?chain q:failureMode ?m ; a q:FailureChain . FILTER(STRSTARTS(STR(?m), STR(?chain))) }
        } GROUP BY ?m ?name ?label"""
    )
    out = {}
    for r in rows:
        key = failure_mode_key(str(r["m"]))
        name = str(r.get("name") or r.get("label") or key)
        out[key] = FailureType(key, name, tuple(sorted(set(str(r.get("complaints", "")).split()))))
    return [out[k] for k in sorted(out)]


def process_steps(store: GraphStore) -> list[tuple[str, str]]:
    rows = store.select("SELECT ?code ?name WHERE { ?s a q:ProcessStep ; q:code ?code ; q:name ?name } ORDER BY ?code")
    return [(str(r["code"]), str(r["name"])) for r in rows]


def _observations(store: GraphStore, step: str) -> dict[str, list[tuple[str, str]]]:
    rows = store.select(
        f"""SELECT ?rid ?code ?v WHERE {{ ?run q:step <{mint("step", step)}> ; q:runId ?rid ; q:hasObservation ?o .
          ?o q:parameter/q:code ?code ; q:value ?v }} ORDER BY ?rid"""
    )
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in rows:
        out[str(r["code"])].append((str(r["rid"]), str(r["v"])))
    return out


def _runs_after(store: GraphStore, step: str, equipment: str, day: dt.date) -> list[str]:
    rows = store.select(
        f"""SELECT ?rid WHERE {{ ?run q:step <{mint("step", step)}> ; q:equipment <{mint("equipment", equipment)}> ;
          q:runId ?rid ; q:startedAt ?at . FILTER(?at >= "{day.isoformat()}T00:00:00Z"^^xsd:dateTime) }}
          ORDER BY ?rid"""
    )
    return [str(r["rid"]) for r in rows]


def propose(
    store: GraphStore, step: str, *, failure_mode: str | None = None, edge: EdgeConfig | None = None
) -> list[Proposal]:
    """Causes and controls for failure chains of ``step``, from the graph (see the module docstring)."""
    step_info(store, step)  # NotFoundError for an unknown step
    specs = specs_in_force(store, step)
    machines = step_equipment(store, step)
    observed = _observations(store, step)
    proposals: dict[str, Proposal] = {}
    for code, spec in sorted(specs.items()):
        control = edge_control(edge, code) if edge is not None else None
        eid = control.equipment if control and control.equipment else next(iter(machines), None)
        unit = f" {unit_symbol(spec.unit)}" if spec.unit else ""
        values = observed.get(code, [])
        outside = [rid for rid, v in values if abs(float(v) - float(spec.nominal)) > float(spec.tolerance)]
        evidence = []
        if values:
            shown = ", ".join(f"{rid} {v}{unit}" for rid, v in values)
            evidence.append(
                f"{len(values)} run(s) recorded: {shown}; "
                + (f"outside {spec.text}: {', '.join(outside)}" if outside else f"all within {spec.text}")
            )
        proposals[f"parameter:{code}"] = Proposal(
            id=f"parameter:{code}",
            kind="parameter",
            cause=f"{spec.name} outside {spec.text}",
            work_element=_machine(eid, machines),
            category="Machine",
            element_function=f"hold {spec.name.lower()} at {spec.text}",
            prevention_control=f"parameter set {step} {spec.parameter_set} in force ({spec.name} {spec.text}); "
            "each run records the set it used",
            detection_control=(
                f"{control.control_method.split(';')[0]}; {control.evaluation_method}" if control else ""
            ),
            parameter=code,
            equipment=eid,
            evidence=tuple(evidence),
        )
    for eid in machines:
        cal = latest_calibration(store, eid)
        calibration_evidence: tuple[str, ...]
        if cal is None:
            prevention, calibration_evidence = "", ("no calibration certificate on record",)
        else:
            prevention = f"calibration certificate {cal.number} valid {cal.valid_from} to {cal.valid_until}"
            late = _runs_after(store, step, eid, cal.valid_until + dt.timedelta(days=1))
            calibration_evidence = (f"run(s) after the certificate expired: {', '.join(late)}",) if late else ()
        proposals[f"calibration:{eid}"] = Proposal(
            id=f"calibration:{eid}",
            kind="calibration",
            cause=f"{eid} used out of calibration",
            work_element=_machine(eid, machines),
            category="Machine",
            element_function=f"measure and control within the calibrated range of {eid}",
            prevention_control=prevention,
            detection_control="calibration status checked against each run's date (reverse trace: calibration_invalid)",
            equipment=eid,
            evidence=calibration_evidence,
        )
    if failure_mode:
        _add_trace_findings(store, step, failure_mode, proposals, specs)
    return list(proposals.values())


def _machine(eid: str | None, machines: dict[str, str]) -> str:
    if eid is None:
        return "process"
    name = machines.get(eid)
    return f"{eid} {name}" if name else eid


def _add_trace_findings(
    store: GraphStore, step: str, failure_mode: str, proposals: dict[str, Proposal], specs: dict[str, Any]
) -> None:
    rows = store.select(
        f"SELECT ?cid WHERE {{ ?c q:failureMode <{failure_mode_iri(failure_mode)}> ; q:complaintId ?cid }} "
        "ORDER BY ?cid"
    )
    for r in rows:
        cid = str(r["cid"])
        try:
            trace = reverse_trace(store, cid)
        except NotFoundError:
            continue
        runs = {run.id: run for run in trace.runs if run.step == step}
        if not runs:
            continue
        for finding in trace.findings:
            if not any(e in runs for e in finding.evidence):
                continue
            note = f"{cid}: {finding.message_en}"
            target: str | None = None
            if finding.kind in ("calibration_invalid", "calibration_missing"):
                eq = next(
                    (run.equipment for run in runs.values() if run.equipment and run.equipment.id == finding.subject),
                    None,
                )
                target = f"calibration:{eq.equipment_id}" if eq else None
            elif finding.kind == "parameter_out_of_tolerance":
                target = next((f"parameter:{c}" for c, s in specs.items() if s.name in finding.message_en), None)
            if target and target in proposals:
                p = proposals[target]
                proposals[target] = replace(p, evidence=(*p.evidence, note))
                continue
            key = f"finding:{finding.kind}:{finding.subject.rsplit('/', 1)[-1]}"
            proposals.setdefault(
                key,
                Proposal(
                    id=key,
                    kind="finding",
                    cause=finding.message_en,
                    work_element="process",
                    category="Method" if finding.kind == "parameter_set_outdated" else "Material",
                    element_function="",
                    prevention_control="",
                    detection_control="",
                    evidence=(note,),
                ),
            )


# ---------------------------------------------------------------- answers -> FMEA + control plan


@dataclass(frozen=True)
class WizardResult:
    fmea: Fmea
    proposals: tuple[Proposal, ...]


def build_fmea(store: GraphStore, answers: Answers) -> WizardResult:
    """The FMEA and control plan the answers describe (nothing is written)."""
    info = step_info(store, answers.step)
    edge = _edge(answers.edge_config)
    library = {f.code: f for f in failure_library(store)}
    item = answers.fmea.item or info.item
    process_item = answers.process_item or (f"{info.item} {info.item_name}" if info.item_name else info.item or "")
    chains: list[FailureChain] = []
    offered: dict[str, Proposal] = {}
    calibrations: dict[str, list[str]] = defaultdict(list)
    n = 0
    for t, ftype in enumerate(answers.failure_types):
        if ftype.mode not in library:
            raise ValidationError(
                f"failure_types[{t}].mode: {ftype.mode!r} is not in the failure mode library "
                f"({', '.join(sorted(library)) or 'empty'})",
                field=f"failure_types[{t}].mode",
            )
        proposals = {p.id: p for p in propose(store, answers.step, failure_mode=ftype.mode, edge=edge)}
        offered.update(proposals)
        for c, cause in enumerate(ftype.causes):
            where = f"failure_types[{t}].causes[{c}]"
            base = _cause_base(cause, proposals, where)
            n += 10
            if base.kind == "calibration" and base.equipment:
                calibrations[base.equipment].append(str(n))
            chains.append(
                make_chain(
                    answers.fmea.kind,
                    row=str(n),
                    process_item=process_item,
                    process_step=f"{info.code} {info.name}",
                    step_code=info.code,
                    work_element=cause.work_element or base.work_element,
                    category=cause.category or base.category,
                    item_function=ftype.item_function,
                    step_function=ftype.step_function,
                    element_function=cause.element_function
                    if cause.element_function is not None
                    else base.element_function,
                    failure_effect=ftype.effect,
                    severity=ftype.severity,
                    failure_mode=library[ftype.mode].name,
                    failure_mode_code=ftype.mode,
                    failure_cause=cause.cause or base.cause,
                    parameter=cause.parameter or base.parameter,
                    equipment=cause.equipment or base.equipment,
                    prevention_control=cause.prevention_control
                    if cause.prevention_control is not None
                    else base.prevention_control,
                    occurrence=cause.occurrence,
                    detection_control=cause.detection_control
                    if cause.detection_control is not None
                    else base.detection_control,
                    detection=cause.detection,
                    actions=tuple(
                        OptimisationAction(a.description, a.type, a.responsible, a.due, a.status) for a in cause.actions
                    ),
                )
            )
    fmea = Fmea(
        id=answers.fmea.id,
        kind=answers.fmea.kind,
        title=answers.fmea.title,
        item=item,
        chains=tuple(chains),
        control_plan=tuple(
            control_plan_for(
                store, answers.step, chains, edge=edge, overrides=answers.control_plan, calibrations=calibrations
            )
        ),
    )
    return WizardResult(fmea, tuple(offered.values()))


def _edge(path: Path | None) -> EdgeConfig | None:
    if path is None:
        return None
    try:
        return load_config(path)
    except ConfigError as exc:
        raise ValidationError(f"edge_config: {exc.message}", field="edge_config") from exc


def _cause_base(cause: CauseAnswer, proposals: dict[str, Proposal], where: str) -> Proposal:
    if cause.proposal is not None:
        if cause.proposal not in proposals:
            raise ValidationError(
                f"{where}.proposal: {cause.proposal!r} is not among the proposals for this step and failure mode "
                f"({', '.join(proposals) or 'none'})",
                field=f"{where}.proposal",
            )
        return proposals[cause.proposal]
    if not cause.cause:
        raise ValidationError(f"{where}: give a proposal id or a cause of your own", field=f"{where}.cause")
    return Proposal(
        id="own",
        kind="own",
        cause=cause.cause,
        work_element=cause.work_element or "process",
        category=cause.category or "",
        element_function="",
        prevention_control="",
        detection_control="",
    )


def control_plan_for(
    store: GraphStore,
    step: str,
    chains: list[FailureChain],
    *,
    edge: EdgeConfig | None,
    overrides: dict[str, ControlOverride] | None = None,
    calibrations: dict[str, list[str]] | None = None,
) -> list[ControlPlanItem]:
    """One control plan item per parameter the chains name (spec in force, edge SPC and
    rules), then one per piece of equipment whose calibration is a chain's cause
    (``calibrations``: equipment id -> row keys)."""
    overrides = overrides or {}
    info = step_info(store, step)
    specs = specs_in_force(store, step)
    machines = step_equipment(store, step)
    by_param: dict[str, list[str]] = defaultdict(list)
    by_cal = calibrations or {}
    for chain in chains:
        if chain.parameter:
            by_param[chain.parameter].append(chain.row)
    items: list[ControlPlanItem] = []
    for code in sorted(by_param):
        spec = specs.get(code)
        if spec is None:
            raise ValidationError(
                f"parameter {code}: not in the parameter set of {step} in force, so the control plan has no "
                "specification for it",
                field="parameter",
            )
        control = edge_control(edge, code) if edge is not None else None
        o = overrides.get(code, ControlOverride())
        columns = {
            "evaluation_method": o.evaluation_method or (control.evaluation_method if control else None),
            "sample_size": o.sample_size or (control.sample_size if control else None),
            "sample_frequency": o.sample_frequency or (control.sample_frequency if control else None),
            "control_method": o.control_method or (control.control_method if control else None),
            "reaction_plan": o.reaction_plan or (control.reaction_plan if control else None),
        }
        missing = [k for k, v in columns.items() if not v]
        if missing:
            raise ValidationError(
                f"control_plan.{code}: {', '.join(missing)} not known: the edge config has no SPC chart and rule for "
                f"parameter {code}; give them in the answers (control_plan: {{{code}: {{{missing[0]}: ...}}}})",
                field=f"control_plan.{code}.{missing[0]}",
            )
        eid = control.equipment if control and control.equipment else next(iter(machines), None)
        items.append(
            ControlPlanItem(
                key=str(len(items) + 1),
                step_code=step,
                process_name=info.name,
                machine=_machine(eid, machines) if eid else "",
                characteristic=f"{spec.name} ({code})",
                characteristic_kind=o.characteristic_kind or "process",
                specification=f"{spec.text} (parameter set {spec.parameter_set})",
                special_class=o.special_class or "",
                parameter=code,
                equipment=eid,
                chains=tuple(by_param[code]),
                **{k: str(v) for k, v in columns.items()},
            )
        )
    for eid in sorted(by_cal):
        cal = latest_calibration(store, eid)
        o = overrides.get(eid, ControlOverride())
        last = f"; last certificate {cal.number}, valid {cal.valid_from} to {cal.valid_until}" if cal else ""
        items.append(
            ControlPlanItem(
                key=str(len(items) + 1),
                step_code=step,
                process_name=info.name,
                machine=_machine(eid, machines),
                characteristic=f"Calibration status of {eid}",
                characteristic_kind=o.characteristic_kind or "process",
                specification=f"calibration certificate valid on the run date{last}",
                evaluation_method=o.evaluation_method
                or "calibration certificate on record for the equipment, compared with the run's start date",
                sample_size=o.sample_size or "every run",
                sample_frequency=o.sample_frequency or "before each run starts",
                control_method=o.control_method
                or "equipment without a valid certificate is not released for "
                "production; the reverse trace flags calibration_invalid",
                reaction_plan=o.reaction_plan
                or f"stop {eid}; quarantine the lots made since the certificate expired "
                "(forward trace of each lot); recalibrate and re-release",
                special_class=o.special_class or "",
                equipment=eid,
                chains=tuple(by_cal[eid]),
            )
        )
    return items


__all__ = [
    "Answers",
    "FailureType",
    "Proposal",
    "WizardResult",
    "build_fmea",
    "control_plan_for",
    "failure_library",
    "parse_answers",
    "process_steps",
    "propose",
    "read_answers",
]
