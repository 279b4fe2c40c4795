"""FMEA as graph data, after the AIAG & VDA FMEA Handbook (1st ed., 2019).

The handbook's seven steps leave, per analysis, a structure tree (process item ->
process step -> process work element, or next higher level -> focus element -> next
lower level for a DFMEA), the functions of each level, failure chains (failure effect
<- failure mode <- failure cause), the current prevention and detection controls, the
S/O/D ratings with their Action Priority (:mod:`qualitas.workbench.ap`), and the
optimisation actions with the person responsible, the target date and the status.

Layers::

    Fmea (frozen dataclasses) ── fmea_triples (pure) ── save_fmea: resolve links against
                                                          the store, one audited batch
    load_fmea / list_fmeas ── SPARQL over the store ── Fmea again

A saved FMEA is one batch, ``workbench:fmea:<id>``: saving it again replaces that batch
(the user saves an edited analysis), and the audit trail keeps every version's record.
Chains link to the graph's process steps, parameters, equipment and failure modes
(those of complaints and warning letters included), so a complaint's failure mode leads
to the FMEA rows that rate it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

from rdflib import RDF, XSD, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.term import Node

from qualitas.audit import AuditLog, audited_load
from qualitas.errors import NotFoundError, ValidationError
from qualitas.ontology import ID, Q, mint
from qualitas.reasoning._sparql import values
from qualitas.store import GraphStore, LoadResult
from qualitas.workbench.ap import FmeaKind, Priority, action_priority, check_rating

Triple = tuple[Node, Node, Node]
ActionStatus = Literal["open", "decision_pending", "implementation_pending", "completed", "not_implemented"]
ACTION_STATUSES: tuple[str, ...] = (
    "open",
    "decision_pending",
    "implementation_pending",
    "completed",
    "not_implemented",
)
ACTION_KINDS: tuple[str, ...] = ("prevention", "detection")
#: 4M types of a process work element (handbook: Man, Machine, Material (indirect), EnvMilieu),
#: with Method and Measurement for teams that use 6M.
CATEGORIES_4M: tuple[str, ...] = ("Man", "Machine", "Material", "EnvMilieu", "Method", "Measurement")
FMEA_KINDS: tuple[str, ...] = ("PFMEA", "DFMEA")
SOURCE_PREFIX = "workbench:fmea:"


@dataclass(frozen=True)
class OptimisationAction:
    """A planned prevention or detection action (handbook step 6, optimisation)."""

    description: str
    kind: str  # prevention | detection
    responsible: str
    due: dt.date | None
    status: str  # one of ACTION_STATUSES


@dataclass(frozen=True)
class FailureChain:
    """One FMEA row: effect <- mode <- cause with controls, ratings and actions.

    For a DFMEA, ``process_item`` / ``process_step`` / ``work_element`` hold the next
    higher level, the focus element and the next lower level."""

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
    action_priority: Priority
    step_code: str | None = None
    category: str | None = None
    item_function: str = ""
    step_function: str = ""
    element_function: str = ""
    failure_mode_code: str | None = None
    parameter: str | None = None
    equipment: str | None = None
    actions: tuple[OptimisationAction, ...] = ()


@dataclass(frozen=True)
class ControlPlanItem:
    """One control plan line with the AIAG control plan columns."""

    key: str
    step_code: str
    process_name: str  # the process step's name in the graph
    machine: str  # equipment id and name, as the graph has them
    characteristic: str
    characteristic_kind: str  # product | process
    specification: str
    evaluation_method: str
    sample_size: str
    sample_frequency: str
    control_method: str
    reaction_plan: str
    special_class: str = ""
    parameter: str | None = None
    equipment: str | None = None
    chains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fmea:
    id: str
    kind: str  # PFMEA | DFMEA
    title: str
    item: str | None = None  # product model or part number analysed
    chains: tuple[FailureChain, ...] = ()
    control_plan: tuple[ControlPlanItem, ...] = field(default=())


@dataclass(frozen=True)
class FmeaSummary:
    id: str
    kind: str
    title: str
    item: str | None
    steps: tuple[str, ...]
    chains: int
    high: int
    medium: int
    low: int


def make_chain(kind: str, **fields: object) -> FailureChain:
    """A chain with its Action Priority looked up from the handbook's table for ``kind``."""
    s = check_rating(fields["severity"], "severity")
    o = check_rating(fields["occurrence"], "occurrence")
    d = check_rating(fields["detection"], "detection")
    ap = action_priority(s, o, d, kind=_kind(kind))
    return FailureChain(**{**fields, "severity": s, "occurrence": o, "detection": d, "action_priority": ap})  # type: ignore[arg-type]


def _kind(kind: str) -> FmeaKind:
    if kind not in FMEA_KINDS:
        raise ValidationError(f"FMEA kind {kind!r} is not one of {', '.join(FMEA_KINDS)}", field="kind")
    return kind  # type: ignore[return-value]


# ---------------------------------------------------------------- IRIs and triples


def _key(text: str) -> str:
    return quote(str(text).strip(), safe="-._~")


_FM_PREFIX = str(ID) + "failuremode/"


def failure_mode_iri(key: str) -> URIRef:
    """The IRI of a library failure mode by its key: its ``q:code`` (``FM-ODOUR``, as
    :func:`qualitas.ontology.mint` makes it) or, for a mode read from a warning letter, its
    path under ``failuremode/`` (``nlp/leak-at-the-connector``)."""
    return URIRef(_FM_PREFIX + "/".join(quote(part.strip(), safe="-._~") for part in key.split("/")))


def failure_mode_key(iri: str) -> str:
    """The inverse of :func:`failure_mode_iri`."""
    from urllib.parse import unquote

    return "/".join(unquote(part) for part in str(iri)[len(_FM_PREFIX) :].split("/"))


def fmea_iri(fmea_id: str) -> URIRef:
    return ID["fmea/" + _key(fmea_id)]


def chain_iri(fmea_id: str, row: str) -> URIRef:
    return URIRef(f"{fmea_iri(fmea_id)}/row/{_key(row)}")


def _lit(value: str) -> RdfLiteral:
    return RdfLiteral(value)


@dataclass(frozen=True)
class Links:
    """What the FMEA's business keys resolve to in the store (see :func:`resolve_links`)."""

    item: URIRef | None = None


def fmea_triples(fmea: Fmea, links: Links | None = None) -> list[Triple]:
    """The FMEA as triples (pure). ``links`` says which IRI the analysed item is (a
    product or a part); codes of steps, parameters, equipment and failure modes become
    the IRIs :func:`qualitas.ontology.mint` gives them."""
    links = links or Links()
    f = fmea_iri(fmea.id)
    out: list[Triple] = [
        (f, RDF.type, Q.Fmea),
        (f, Q.code, _lit(fmea.id)),
        (f, Q.name, _lit(fmea.title)),
        (f, Q.fmeaKind, _lit(fmea.kind)),
    ]
    if links.item is not None:
        out.append((f, Q.analysesItem, links.item))
    items: dict[str, URIRef] = {}
    steps: dict[tuple[str, str], URIRef] = {}
    for chain in fmea.chains:
        c = chain_iri(fmea.id, chain.row)
        item = items.get(chain.process_item)
        if item is None:
            item = URIRef(f"{f}/item/{_key(chain.process_item) or 'item'}")
            items[chain.process_item] = item
            out += [
                (f, Q.hasStructureElement, item),
                (item, RDF.type, Q.FmeaStructureElement),
                (item, Q.structureLevel, _lit("process_item")),
                (item, Q.name, _lit(chain.process_item)),
            ]
        step_key = (chain.process_step, chain.step_code or "")
        step = steps.get(step_key)
        if step is None:
            step = URIRef(f"{f}/step/{_key(chain.step_code or chain.process_step)}")
            steps[step_key] = step
            out += [
                (f, Q.hasStructureElement, step),
                (step, RDF.type, Q.FmeaStructureElement),
                (step, Q.structureLevel, _lit("process_step")),
                (step, Q.name, _lit(chain.process_step)),
                (step, Q.partOfStructure, item),
            ]
            if chain.step_code:
                step_iri = mint("step", chain.step_code)
                out += [(step, Q.analysesStep, step_iri), (f, Q.analysesStep, step_iri)]
        element = URIRef(f"{c}/element")
        out += [
            (f, Q.hasStructureElement, element),
            (element, RDF.type, Q.FmeaStructureElement),
            (element, Q.structureLevel, _lit("work_element")),
            (element, Q.name, _lit(chain.work_element)),
            (element, Q.partOfStructure, step),
        ]
        if chain.category:
            out.append((element, Q.category4M, _lit(chain.category)))
        if chain.equipment:
            out.append((element, Q.onEquipment, mint("equipment", chain.equipment)))
        out += [
            (f, Q.hasFailureChain, c),
            (c, RDF.type, Q.FailureChain),
            (c, Q.rowKey, _lit(chain.row)),
            (c, Q.name, _lit(chain.failure_mode)),
            (c, Q.workElement, element),
            (c, Q.severityRating, RdfLiteral(chain.severity, datatype=XSD.integer)),
            (c, Q.occurrenceRating, RdfLiteral(chain.occurrence, datatype=XSD.integer)),
            (c, Q.detectionRating, RdfLiteral(chain.detection, datatype=XSD.integer)),
            (c, Q.actionPriority, _lit(chain.action_priority)),
        ]
        if chain.step_code:
            out.append((c, Q.analysesStep, mint("step", chain.step_code)))
        for prop, text in (
            (Q.itemFunction, chain.item_function),
            (Q.stepFunction, chain.step_function),
            (Q.elementFunction, chain.element_function),
        ):
            if text:
                out.append((c, prop, _lit(text)))
        effect, cause = URIRef(f"{c}/effect"), URIRef(f"{c}/cause")
        out += [
            (c, Q.failureEffect, effect),
            (effect, RDF.type, Q.FailureEffect),
            (effect, Q.name, _lit(chain.failure_effect)),
            (c, Q.failureCause, cause),
            (cause, RDF.type, Q.FailureCause),
            (cause, Q.name, _lit(chain.failure_cause)),
        ]
        if chain.failure_mode_code:  # the library's failure mode: complaints and warning letters meet it
            out.append((c, Q.failureMode, failure_mode_iri(chain.failure_mode_code)))
        else:
            mode = URIRef(f"{c}/mode")
            out += [(c, Q.failureMode, mode), (mode, RDF.type, Q.FailureMode), (mode, Q.name, _lit(chain.failure_mode))]
        if chain.parameter:
            out.append((cause, Q.parameter, mint("parameter", chain.parameter)))
        if chain.equipment:
            out.append((cause, Q.onEquipment, mint("equipment", chain.equipment)))
        for prop, suffix, kind, text in (
            (Q.preventionControl, "pc", "prevention", chain.prevention_control),
            (Q.detectionControl, "dc", "detection", chain.detection_control),
        ):
            if text:
                ctl = URIRef(f"{c}/{suffix}")
                out += [
                    (c, prop, ctl),
                    (ctl, RDF.type, Q.FmeaControl),
                    (ctl, Q.controlType, _lit(kind)),
                    (ctl, Q.name, _lit(text)),
                ]
        for n, action in enumerate(chain.actions, start=1):
            a = URIRef(f"{c}/action/{n}")
            out += [
                (c, Q.hasOptimisationAction, a),
                (a, RDF.type, Q.OptimisationAction),
                (a, Q.position, RdfLiteral(n, datatype=XSD.integer)),
                (a, Q.name, _lit(action.description)),
                (a, Q.controlType, _lit(action.kind)),
                (a, Q.responsible, _lit(action.responsible)),
                (a, Q.optimisationStatus, _lit(action.status)),
            ]
            if action.due is not None:
                out.append((a, Q.dueDate, RdfLiteral(action.due.isoformat(), datatype=XSD.date)))
    for line in fmea.control_plan:
        out += control_plan_triples(fmea.id, line)
    return out


def control_plan_triples(fmea_id: str, item: ControlPlanItem) -> list[Triple]:
    f = fmea_iri(fmea_id)
    cp = URIRef(f"{f}/cp/{_key(item.key)}")
    out: list[Triple] = [
        (f, Q.hasControlPlanItem, cp),
        (cp, RDF.type, Q.ControlPlanItem),
        (cp, Q.rowKey, _lit(item.key)),
        (cp, Q.analysesStep, mint("step", item.step_code)),
        (cp, Q.name, _lit(item.characteristic)),
        (cp, Q.characteristicKind, _lit(item.characteristic_kind)),
        (cp, Q.specificationText, _lit(item.specification)),
        (cp, Q.evaluationMethod, _lit(item.evaluation_method)),
        (cp, Q.sampleSize, _lit(item.sample_size)),
        (cp, Q.sampleFrequency, _lit(item.sample_frequency)),
        (cp, Q.controlMethod, _lit(item.control_method)),
        (cp, Q.reactionPlan, _lit(item.reaction_plan)),
    ]
    if item.equipment:
        out.append((cp, Q.onEquipment, mint("equipment", item.equipment)))
    if item.special_class:
        out.append((cp, Q.specialCharacteristic, _lit(item.special_class)))
    if item.parameter:
        out.append((cp, Q.parameter, mint("parameter", item.parameter)))
    for row in item.chains:
        out.append((cp, Q.controlsChain, chain_iri(fmea_id, row)))
    return out


# ---------------------------------------------------------------- links, save, read back

_LINKED = (
    ("step_code", lambda k: mint("step", k), "q:ProcessStep", "process step"),
    ("parameter", lambda k: mint("parameter", k), "q:ProcessParameter", "process parameter"),
    ("equipment", lambda k: mint("equipment", k), "q:Equipment", "equipment"),
    ("failure_mode_code", failure_mode_iri, "q:FailureMode", "failure mode"),
)


def _existing(store: GraphStore, iris: Iterable[str], cls: str) -> set[str]:
    wanted = sorted(set(iris))
    if not wanted:
        return set()
    return {str(r["x"]) for r in store.select(f"SELECT ?x WHERE {{ {values('x', wanted)} ?x a {cls} }}")}


def resolve_links(store: GraphStore, fmea: Fmea, *, where: Mapping[str, str] | None = None) -> Links:
    """Check every business key of ``fmea`` against the store: the analysed item (a
    product or a part), and each chain's process step, parameter, equipment and library
    failure mode. An unknown key is a :class:`ValidationError` naming the row (``where``
    maps a chain's row key to how the user knows it, such as ``sheet line 7``) and field."""
    where = where or {}
    item: URIRef | None = None
    if fmea.item:
        product, part = mint("product", fmea.item), mint("part", fmea.item)
        found = _existing(store, [str(product)], "q:Product") | _existing(store, [str(part)], "q:Part")
        if not found:
            raise ValidationError(f"item {fmea.item!r}: no product or part with that number in the graph", field="item")
        item = product if str(product) in found else part
    for attr, to_iri, cls, label in _LINKED:
        keys = {getattr(c, attr) for c in fmea.chains if getattr(c, attr)}
        known = _existing(store, (str(to_iri(k)) for k in keys), cls)
        for chain in fmea.chains:
            key = getattr(chain, attr)
            if key and str(to_iri(key)) not in known:
                at = where.get(chain.row, f"row {chain.row}")
                raise ValidationError(
                    f"{at}, field {attr}: unknown {label} {key!r} (no {cls} with that key in the graph)",
                    where=at,
                    field=attr,
                )
    return Links(item=item)


def _sha256(triples: Iterable[Triple]) -> str:
    lines = sorted(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in triples)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def save_fmea(
    store: GraphStore,
    fmea: Fmea,
    *,
    agent: str,
    audit: AuditLog | None = None,
    role: str | None = None,
    why: str | None = None,
    where: Mapping[str, str] | None = None,
    action: str = "workbench.fmea.save",
    replace: bool = False,
) -> LoadResult:
    """Check ``fmea``'s links and write it as one batch ``workbench:fmea:<id>`` (the
    batch and its audit record one unit); nothing is written if a check fails. An FMEA
    saved before with other content is replaced only with ``replace`` (the same content
    again changes nothing)."""
    check_fmea(fmea)
    links = resolve_links(store, fmea, where=where)
    triples = fmea_triples(fmea, links)
    source = SOURCE_PREFIX + fmea.id
    before = store.batch(source)
    if before is not None and before.sha256 != _sha256(triples) and not replace:
        raise ValidationError(
            f"FMEA {fmea.id} exists with other content; replace it explicitly (--replace, or replace: true)",
            field="replace",
        )
    with audited_load(
        audit, store, actor=agent, role=role, source=source, format="workbench", why=why, action=action
    ) as done:
        result = store.load_triples(triples, source=source, sha256=_sha256(triples), agent=agent, format="workbench")
        done.results = [result]
    return result


def check_fmea(fmea: Fmea) -> None:
    """Model rules that need no store: an id and title, known kind, unique row keys,
    known 4M categories and action states, and the Action Priority the table gives."""
    if not fmea.id.strip():
        raise ValidationError("FMEA id is empty", field="id")
    if not fmea.title.strip():
        raise ValidationError(f"FMEA {fmea.id}: title is empty", field="title")
    kind = _kind(fmea.kind)
    seen: set[str] = set()
    for chain in fmea.chains:
        at = f"row {chain.row}"
        if chain.row in seen:
            raise ValidationError(f"{at}: row key used twice", field="row")
        seen.add(chain.row)
        for name in ("process_step", "work_element", "failure_effect", "failure_mode", "failure_cause"):
            if not str(getattr(chain, name)).strip():
                raise ValidationError(f"{at}, field {name}: empty", field=name)
        if chain.category and chain.category not in CATEGORIES_4M:
            raise ValidationError(
                f"{at}, field category: {chain.category!r} is not one of {', '.join(CATEGORIES_4M)}", field="category"
            )
        expected = action_priority(chain.severity, chain.occurrence, chain.detection, kind=kind)
        if chain.action_priority != expected:
            raise ValidationError(
                f"{at}, field action_priority: {chain.action_priority} but the AP table gives {expected} for "
                f"S{chain.severity} O{chain.occurrence} D{chain.detection}",
                field="action_priority",
            )
        for action in chain.actions:
            if action.kind not in ACTION_KINDS:
                raise ValidationError(
                    f"{at}, field action_type: {action.kind!r} is not prevention or detection", field="action_type"
                )
            if action.status not in ACTION_STATUSES:
                raise ValidationError(
                    f"{at}, field status: {action.status!r} is not one of {', '.join(ACTION_STATUSES)}", field="status"
                )
            if not action.description.strip() or not action.responsible.strip():
                raise ValidationError(f"{at}: an action needs a description and a responsible person", field="action")


def _one(rows: list[dict[str, object]], key: str) -> str | None:
    return str(rows[0][key]) if rows and key in rows[0] else None


def _code_of(store: GraphStore, iri: str) -> str | None:
    rows = store.select(
        f"SELECT ?k WHERE {{ {{ <{iri}> q:modelNumber ?k }} UNION {{ <{iri}> q:partNumber ?k }} }} LIMIT 1"
    )
    return _one(rows, "k")


def _local(iri: object) -> str:
    from urllib.parse import unquote

    return unquote(str(iri).rsplit("/", 1)[-1])


def load_fmea(store: GraphStore, fmea_id: str) -> Fmea:
    """The FMEA ``fmea_id`` as saved (NotFoundError if there is none)."""
    f = fmea_iri(fmea_id)
    head = store.select(
        f"SELECT ?title ?kind ?item WHERE {{ <{f}> a q:Fmea ; q:name ?title ; q:fmeaKind ?kind . "
        f"OPTIONAL {{ <{f}> q:analysesItem ?item }} }}"
    )
    if not head:
        raise NotFoundError(f"no FMEA {fmea_id!r}", fmea=fmea_id)
    item = _code_of(store, str(head[0]["item"])) if "item" in head[0] else None
    rows = store.select(
        f"""SELECT ?c ?row ?mode ?s ?o ?d ?ap ?stepName ?stepIri ?itemName ?el ?cat ?elEq ?if ?sf ?ef
                   ?effect ?cause ?fm ?fmType ?param ?pc ?dc WHERE {{
          <{f}> q:hasFailureChain ?c .
          ?c q:rowKey ?row ; q:name ?mode ; q:severityRating ?s ; q:occurrenceRating ?o ; q:detectionRating ?d ;
             q:actionPriority ?ap ; q:workElement ?we ; q:failureEffect ?fe ; q:failureCause ?fc ; q:failureMode ?fm .
          ?we q:name ?el ; q:partOfStructure ?st . ?st q:name ?stepName ; q:partOfStructure ?it . ?it q:name ?itemName .
          OPTIONAL {{ ?st q:analysesStep ?stepIri }}
          OPTIONAL {{ ?we q:category4M ?cat }}
          OPTIONAL {{ ?we q:onEquipment ?elEq }}
          OPTIONAL {{ ?c q:itemFunction ?if }} OPTIONAL {{ ?c q:stepFunction ?sf }}
          OPTIONAL {{ ?c q:elementFunction ?ef }}
          ?fe q:name ?effect . ?fc q:name ?cause .
          OPTIONAL {{ ?fc q:parameter ?param }}
          OPTIONAL {{ ?c q:preventionControl/q:name ?pc }} OPTIONAL {{ ?c q:detectionControl/q:name ?dc }}
          BIND(STRSTARTS(STR(?fm), STR(?c)) AS ?fmType)
        }}"""
    )
    actions: dict[str, list[tuple[int, OptimisationAction]]] = {}
    for r in store.select(
        f"""SELECT ?c ?n ?text ?kind ?who ?status ?due WHERE {{
          <{f}> q:hasFailureChain ?c . ?c q:hasOptimisationAction ?a .
          ?a q:position ?n ; q:name ?text ; q:controlType ?kind ; q:responsible ?who ; q:optimisationStatus ?status .
          OPTIONAL {{ ?a q:dueDate ?due }} }}"""
    ):
        due = r.get("due")
        actions.setdefault(str(r["c"]), []).append(
            (
                int(r["n"]),  # type: ignore[call-overload]
                OptimisationAction(
                    description=str(r["text"]),
                    kind=str(r["kind"]),
                    responsible=str(r["who"]),
                    due=due if isinstance(due, dt.date) else None,
                    status=str(r["status"]),
                ),
            )
        )
    chains = []
    for r in rows:
        library = not bool(r.get("fmType"))
        chains.append(
            FailureChain(
                row=str(r["row"]),
                process_item=str(r["itemName"]),
                process_step=str(r["stepName"]),
                work_element=str(r["el"]),
                failure_effect=str(r["effect"]),
                severity=int(r["s"]),  # type: ignore[call-overload]
                failure_mode=str(r["mode"]),
                failure_cause=str(r["cause"]),
                prevention_control=str(r.get("pc", "")),
                occurrence=int(r["o"]),  # type: ignore[call-overload]
                detection_control=str(r.get("dc", "")),
                detection=int(r["d"]),  # type: ignore[call-overload]
                action_priority=str(r["ap"]),  # type: ignore[arg-type]
                step_code=_local(r["stepIri"]) if "stepIri" in r else None,
                category=str(r["cat"]) if "cat" in r else None,
                item_function=str(r.get("if", "")),
                step_function=str(r.get("sf", "")),
                element_function=str(r.get("ef", "")),
                failure_mode_code=failure_mode_key(str(r["fm"])) if library else None,
                parameter=_local(r["param"]) if "param" in r else None,
                equipment=_local(r["elEq"]) if "elEq" in r else None,
                actions=tuple(a for _, a in sorted(actions.get(str(r["c"]), []), key=lambda x: x[0])),
            )
        )
    chains.sort(key=lambda c: _row_order(c.row))
    return Fmea(
        id=fmea_id,
        kind=str(head[0]["kind"]),
        title=str(head[0]["title"]),
        item=item,
        chains=tuple(chains),
        control_plan=tuple(control_plan_items(store, fmea=fmea_id)),
    )


def _row_order(row: str) -> tuple[int, str]:
    return (int(row), "") if row.isdigit() else (1 << 30, row)


def control_plan_items(store: GraphStore, *, fmea: str | None = None, step: str | None = None) -> list[ControlPlanItem]:
    """Control plan items of one FMEA, or of every FMEA about process step ``step``."""
    if fmea is not None:
        scope = f"BIND(<{fmea_iri(fmea)}> AS ?f) ?f q:hasControlPlanItem ?cp ."
    elif step is not None:
        scope = f"?f q:hasControlPlanItem ?cp . ?cp q:analysesStep <{mint('step', step)}> ."
    else:
        raise ValidationError("control plan: give an FMEA id or a process step")
    rows = store.select(
        f"""SELECT ?f ?cp ?key ?stepIri ?stepName ?char ?kind ?spec ?eval ?size ?freq ?ctl ?react ?sc ?param ?eq ?eqName
                   (GROUP_CONCAT(?row; SEPARATOR="\\u0001") AS ?rows) WHERE {{
          {scope}
          ?cp q:rowKey ?key ; q:analysesStep ?stepIri ; q:name ?char ; q:characteristicKind ?kind ;
              q:specificationText ?spec ; q:evaluationMethod ?eval ; q:sampleSize ?size ; q:sampleFrequency ?freq ;
              q:controlMethod ?ctl ; q:reactionPlan ?react .
          OPTIONAL {{ ?stepIri q:name ?stepName }}
          OPTIONAL {{ ?cp q:specialCharacteristic ?sc }}
          OPTIONAL {{ ?cp q:parameter ?param }}
          OPTIONAL {{ ?cp q:onEquipment ?eq OPTIONAL {{ ?eq q:name ?eqName }} }}
          OPTIONAL {{ ?cp q:controlsChain/q:rowKey ?row }}
        }} GROUP BY ?f ?cp ?key ?stepIri ?stepName ?char ?kind ?spec ?eval ?size ?freq ?ctl ?react ?sc ?param ?eq
                 ?eqName"""
    )
    out = []
    for r in rows:
        eq = _local(r["eq"]) if "eq" in r else None
        chains = sorted((x for x in str(r.get("rows", "")).split("\u0001") if x), key=_row_order)
        out.append(
            ControlPlanItem(
                key=str(r["key"]),
                step_code=_local(r["stepIri"]),
                process_name=str(r.get("stepName", "")),
                machine=" ".join(x for x in (eq, str(r.get("eqName", "")) if eq else "") if x),
                characteristic=str(r["char"]),
                characteristic_kind=str(r["kind"]),
                specification=str(r["spec"]),
                evaluation_method=str(r["eval"]),
                sample_size=str(r["size"]),
                sample_frequency=str(r["freq"]),
                control_method=str(r["ctl"]),
                reaction_plan=str(r["react"]),
                special_class=str(r.get("sc", "")),
                parameter=_local(r["param"]) if "param" in r else None,
                equipment=eq,
                chains=tuple(chains),
            )
        )
    out.sort(key=lambda i: (i.step_code, _row_order(i.key)))
    return out


def list_fmeas(
    store: GraphStore, *, item: str | None = None, step: str | None = None, failure_mode: str | None = None
) -> list[FmeaSummary]:
    """FMEAs, optionally only those analysing product/part ``item``, process step
    ``step``, or rating library failure mode ``failure_mode`` (a complaint's mode)."""
    filters = []
    if item:
        filters.append(
            f"{{ ?f q:analysesItem <{mint('product', item)}> }} UNION {{ ?f q:analysesItem <{mint('part', item)}> }}"
        )
    if step:
        filters.append(f"?f q:analysesStep <{mint('step', step)}> .")
    if failure_mode:
        filters.append(f"?f q:hasFailureChain/q:failureMode <{failure_mode_iri(failure_mode)}> .")
    rows = store.select(
        f"""SELECT ?f ?id ?kind ?title ?item (GROUP_CONCAT(DISTINCT ?stepCode; SEPARATOR=" ") AS ?steps)
                   (COUNT(DISTINCT ?c) AS ?n)
                   (COUNT(DISTINCT ?h) AS ?high) (COUNT(DISTINCT ?m) AS ?medium) (COUNT(DISTINCT ?l) AS ?low) WHERE {{
          ?f a q:Fmea ; q:code ?id ; q:fmeaKind ?kind ; q:name ?title .
          {" ".join(filters)}
          OPTIONAL {{ ?f q:analysesItem ?it . {{ ?it q:modelNumber ?item }} UNION {{ ?it q:partNumber ?item }} }}
          OPTIONAL {{ ?f q:analysesStep/q:code ?stepCode }}
          OPTIONAL {{ ?f q:hasFailureChain ?c .
                      OPTIONAL {{ ?c q:actionPriority "H" BIND(?c AS ?h) }}
                      OPTIONAL {{ ?c q:actionPriority "M" BIND(?c AS ?m) }}
                      OPTIONAL {{ ?c q:actionPriority "L" BIND(?c AS ?l) }} }}
        }} GROUP BY ?f ?id ?kind ?title ?item ORDER BY ?id"""
    )
    return [
        FmeaSummary(
            id=str(r["id"]),
            kind=str(r["kind"]),
            title=str(r["title"]),
            item=str(r["item"]) if "item" in r else None,
            steps=tuple(sorted(set(str(r.get("steps", "")).split()))),
            chains=int(r["n"]),  # type: ignore[call-overload]
            high=int(r["high"]),  # type: ignore[call-overload]
            medium=int(r["medium"]),  # type: ignore[call-overload]
            low=int(r["low"]),  # type: ignore[call-overload]
        )
        for r in rows
    ]


__all__ = [
    "ACTION_KINDS",
    "ACTION_STATUSES",
    "CATEGORIES_4M",
    "FMEA_KINDS",
    "ControlPlanItem",
    "FailureChain",
    "Fmea",
    "FmeaSummary",
    "OptimisationAction",
    "check_fmea",
    "control_plan_items",
    "failure_mode_iri",
    "failure_mode_key",
    "fmea_triples",
    "list_fmeas",
    "load_fmea",
    "make_chain",
    "resolve_links",
    "save_fmea",
]
