"""CAPA records: 8D (D0-D8), 5-Why and PDCA, linked to complaints, runs, lots and failure
modes, with who, when and evidence for each step, closure rules and an effectiveness check.

The disciplines follow the 8D method as Ford's Global 8D and VDA's "8D - Problem
Solving in 8 Disciplines" (2018) describe it: D0 prepare and emergency response, D1
team, D2 problem description, D3 interim containment, D4 root cause (occurrence and
non-detection), D5 permanent corrective actions chosen, D6 permanent corrective actions
implemented and validated, D7 recurrence prevented, D8 team recognised and closure.
ISO 13485:2016 8.5.2 asks to verify that a corrective action does not adversely affect
the ability to meet requirements and that it is effective; hence the effectiveness check
(complaints of the CAPA's failure modes before and after the D6 verification).

Closure rules are data (:data:`REQUIRES`): a step may be recorded only after the steps
it requires are recorded (or verified), and a CAPA closes only when its last step is
recorded and the verification its method asks for is done. For 8D: no D8 before a
verified D6.

A CAPA created from a complaint (:func:`capa_from_complaint`) starts with the
complaint's reverse-trace findings as D4 root cause candidates, and links the
complaint, its failure mode and the runs and lots of the trace.

Each change writes the whole record again as one batch ``workbench:capa:<id>``, with
its audit record (``workbench.capa.<change>``): the store holds the current state, the
trail every step of how it got there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import unquote

from rdflib import RDF, XSD, Literal, URIRef
from rdflib.namespace import PROV
from rdflib.term import Node

from qualitas.audit import AuditLog, audited_load
from qualitas.errors import NotFoundError, ValidationError
from qualitas.ontology import Q, mint
from qualitas.reasoning.trace import reverse_trace
from qualitas.store import GraphStore, LoadResult
from qualitas.workbench.fmea import failure_mode_iri, failure_mode_key

Triple = tuple[Node, Node, Node]
SOURCE_PREFIX = "workbench:capa:"

STEPS: dict[str, tuple[str, ...]] = {
    "8D": ("D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8"),
    "5-Why": ("problem", "why1", "why2", "why3", "why4", "why5", "root_cause", "countermeasure"),
    "PDCA": ("plan", "do", "check", "act"),
}
STEP_TITLES: dict[str, str] = {
    "D0": "Prepare; emergency response actions",
    "D1": "Establish the team",
    "D2": "Describe the problem",
    "D3": "Interim containment actions",
    "D4": "Root causes and escape points",
    "D5": "Choose permanent corrective actions",
    "D6": "Implement and validate permanent corrective actions",
    "D7": "Prevent recurrence",
    "D8": "Recognise the team; close",
    "problem": "Problem statement",
    "why1": "Why? (1)",
    "why2": "Why? (2)",
    "why3": "Why? (3)",
    "why4": "Why? (4)",
    "why5": "Why? (5)",
    "root_cause": "Root cause",
    "countermeasure": "Countermeasure",
    "plan": "Plan",
    "do": "Do",
    "check": "Check",
    "act": "Act",
}

#: (method, step) -> what must hold before the step may be recorded: (step, "recorded" | "verified").
REQUIRES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("8D", "D5"): (("D4", "recorded"),),
    ("8D", "D6"): (("D5", "recorded"),),
    ("8D", "D7"): (("D6", "recorded"),),
    ("8D", "D8"): (("D6", "verified"), ("D7", "recorded")),
    ("5-Why", "why1"): (("problem", "recorded"),),
    ("5-Why", "why2"): (("why1", "recorded"),),
    ("5-Why", "why3"): (("why2", "recorded"),),
    ("5-Why", "why4"): (("why3", "recorded"),),
    ("5-Why", "why5"): (("why4", "recorded"),),
    ("5-Why", "root_cause"): (("why1", "recorded"),),
    ("5-Why", "countermeasure"): (("root_cause", "recorded"),),
    ("PDCA", "do"): (("plan", "recorded"),),
    ("PDCA", "check"): (("do", "recorded"),),
    ("PDCA", "act"): (("check", "verified"),),
}
#: method -> what must hold before the CAPA closes.
CLOSE_REQUIRES: dict[str, tuple[tuple[str, str], ...]] = {
    "8D": (*tuple((s, "recorded") for s in STEPS["8D"]), ("D6", "verified")),
    "5-Why": (("root_cause", "recorded"), ("countermeasure", "verified")),
    "PDCA": (("act", "recorded"), ("check", "verified")),
}
#: the step whose verification date starts the "after" window of the effectiveness check
EFFECTIVE_FROM: dict[str, str] = {"8D": "D6", "5-Why": "countermeasure", "PDCA": "check"}


@dataclass(frozen=True)
class CapaStep:
    key: str
    text: str
    by: str
    at: dt.datetime
    evidence: tuple[str, ...] = ()
    verified_by: str | None = None
    verified_at: dt.datetime | None = None

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


@dataclass(frozen=True)
class RootCauseCandidate:
    key: str
    kind: str  # a trace finding kind, or "own"
    message: str
    subject: str | None = None  # IRI of the run, lot or equipment
    evidence: tuple[str, ...] = ()
    confirmed: bool = False


@dataclass(frozen=True)
class Capa:
    id: str
    method: str
    title: str
    opened_by: str
    opened_at: dt.datetime
    status: str = "open"
    complaints: tuple[str, ...] = ()
    failure_modes: tuple[str, ...] = ()
    runs: tuple[str, ...] = ()
    lots: tuple[str, ...] = ()
    steps: tuple[CapaStep, ...] = ()
    candidates: tuple[RootCauseCandidate, ...] = ()
    closed_by: str | None = None
    closed_at: dt.datetime | None = None

    def step(self, key: str) -> CapaStep | None:
        return next((s for s in self.steps if s.key == key), None)

    @property
    def next_steps(self) -> tuple[str, ...]:
        """Steps not recorded yet whose requirements hold (what the team can do now)."""
        if self.status == "closed":
            return ()
        return tuple(
            k
            for k in STEPS[self.method]
            if self.step(k) is None and not _unmet(self, REQUIRES.get((self.method, k), ()))
        )


@dataclass(frozen=True)
class Effectiveness:
    """Complaints of the CAPA's failure modes in equal windows before and after the
    verification of its corrective action (D6 for 8D)."""

    failure_modes: tuple[str, ...]
    since: dt.date | None
    window_days: int
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    judged: bool = False
    effective: bool | None = None
    note: str = ""


def _unmet(capa: Capa, requirements: Iterable[tuple[str, str]]) -> list[str]:
    out = []
    for key, state in requirements:
        step = capa.step(key)
        if step is None or (state == "verified" and not step.verified):
            out.append(f"{key} {state}")
    return out


def _check_method(method: str) -> None:
    if method not in STEPS:
        raise ValidationError(f"CAPA method {method!r} is not one of {', '.join(STEPS)}", field="method")


def _aware(at: dt.datetime | None) -> dt.datetime:
    at = at or dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        raise ValidationError(f"{at.isoformat()} has no time zone", field="at")
    return at


# ---------------------------------------------------------------- transitions (pure)


def new_capa(
    capa_id: str,
    *,
    method: str,
    title: str,
    by: str,
    at: dt.datetime | None = None,
    complaints: Iterable[str] = (),
    failure_modes: Iterable[str] = (),
    runs: Iterable[str] = (),
    lots: Iterable[str] = (),
    candidates: Iterable[RootCauseCandidate] = (),
) -> Capa:
    _check_method(method)
    if not capa_id.strip() or not title.strip() or not by.strip():
        raise ValidationError("a CAPA needs an id, a title and who opens it", field="title")
    return Capa(
        id=capa_id.strip(),
        method=method,
        title=title.strip(),
        opened_by=by,
        opened_at=_aware(at),
        complaints=tuple(sorted(set(complaints))),
        failure_modes=tuple(sorted(set(failure_modes))),
        runs=tuple(sorted(set(runs))),
        lots=tuple(sorted(set(lots))),
        candidates=tuple(candidates),
    )


def _open(capa: Capa) -> None:
    if capa.status == "closed":
        raise ValidationError(f"CAPA {capa.id} is closed; it takes no more changes", field="status")


def record_step(
    capa: Capa,
    key: str,
    *,
    text: str,
    by: str,
    at: dt.datetime | None = None,
    evidence: Iterable[str] = (),
    confirm: Iterable[str] = (),
    causes: Iterable[str] = (),
) -> Capa:
    """Record step ``key`` (who, when, evidence). For 8D's D4, ``confirm`` names the
    candidates the team confirms as root causes and ``causes`` adds causes of its own;
    D4 needs at least one root cause. A verified step cannot be recorded again."""
    _open(capa)
    if key not in STEPS[capa.method]:
        raise ValidationError(
            f"step {key!r} is not a step of {capa.method} ({', '.join(STEPS[capa.method])})", field="step"
        )
    if not text.strip() or not by.strip():
        raise ValidationError(f"step {key}: needs a text and who did it", field="text")
    unmet = _unmet(capa, REQUIRES.get((capa.method, key), ()))
    if unmet:
        raise ValidationError(f"CAPA {capa.id}: {key} cannot be recorded before {', '.join(unmet)}", field="step")
    old = capa.step(key)
    if old is not None and old.verified:
        raise ValidationError(f"CAPA {capa.id}: {key} is verified; it cannot be recorded again", field="step")
    candidates = list(capa.candidates)
    confirm = list(confirm)
    own = [c for c in causes if c.strip()]
    if (confirm or own) and not (capa.method == "8D" and key == "D4"):
        raise ValidationError("root causes are confirmed in D4 of an 8D", field="confirm")
    known = {c.key for c in candidates}
    for k in confirm:
        if k not in known:
            raise ValidationError(
                f"D4: no root cause candidate {k!r} (candidates: {', '.join(sorted(known))})", field="confirm"
            )
    candidates = [replace(c, confirmed=c.confirmed or c.key in confirm) for c in candidates]
    for text_ in own:
        candidates.append(RootCauseCandidate(key=str(len(candidates) + 1), kind="own", message=text_, confirmed=True))
    if capa.method == "8D" and key == "D4" and not any(c.confirmed for c in candidates):
        raise ValidationError(
            f"CAPA {capa.id}: D4 needs at least one confirmed root cause (confirm a candidate or give a cause)",
            field="confirm",
        )
    step = CapaStep(
        key=key, text=text.strip(), by=by, at=_aware(at), evidence=tuple(sorted({e for e in evidence if e}))
    )
    steps = (*tuple(s for s in capa.steps if s.key != key), step)
    order = STEPS[capa.method]
    return replace(capa, steps=tuple(sorted(steps, key=lambda s: order.index(s.key))), candidates=tuple(candidates))


def verify_step(capa: Capa, key: str, *, by: str, at: dt.datetime | None = None, evidence: Iterable[str] = ()) -> Capa:
    """Verify a recorded step (for D6: the permanent corrective action works). The
    verifier is named, and the evidence of the verification is added to the step's."""
    _open(capa)
    step = capa.step(key)
    if step is None:
        raise ValidationError(f"CAPA {capa.id}: {key} is not recorded, so it cannot be verified", field="step")
    if step.verified:
        raise ValidationError(f"CAPA {capa.id}: {key} is verified already", field="step")
    if not by.strip():
        raise ValidationError("who verifies?", field="by")
    when = _aware(at)
    if when < step.at:
        raise ValidationError(
            f"CAPA {capa.id}: {key} cannot be verified before it was recorded ({step.at})", field="at"
        )
    done = replace(
        step, verified_by=by, verified_at=when, evidence=tuple(sorted({*step.evidence, *(e for e in evidence if e)}))
    )
    return replace(capa, steps=tuple(done if s.key == key else s for s in capa.steps))


def close_capa(capa: Capa, *, by: str, at: dt.datetime | None = None) -> Capa:
    """Close the CAPA if its method's closure rules hold (8D: D0-D8 recorded, D6 verified)."""
    _open(capa)
    unmet = _unmet(capa, CLOSE_REQUIRES[capa.method])
    if unmet:
        raise ValidationError(f"CAPA {capa.id} cannot be closed: missing {', '.join(unmet)}", field="status")
    return replace(capa, status="closed", closed_by=by, closed_at=_aware(at))


# ---------------------------------------------------------------- from a complaint's trace


def capa_from_complaint(
    store: GraphStore,
    complaint_id: str,
    *,
    by: str,
    method: str = "8D",
    title: str | None = None,
    capa_id: str | None = None,
    at: dt.datetime | None = None,
) -> Capa:
    """A new CAPA for a complaint: its reverse-trace findings become the D4 root cause
    candidates, and the complaint, its failure mode and the trace's runs and lots are linked."""
    trace = reverse_trace(store, complaint_id)
    c = trace.complaint
    candidates = [
        RootCauseCandidate(
            key=str(i),
            kind=f.kind,
            message=f.message_en,
            subject=f.subject,
            evidence=tuple(sorted(set(f.evidence))),
        )
        for i, f in enumerate(trace.findings, start=1)
    ]
    text = next((t.text for t in c.texts if t.lang == "en"), c.texts[0].text if c.texts else c.complaint_id)
    return new_capa(
        capa_id or next_capa_id(store, (at or dt.datetime.now(dt.UTC)).year),
        method=method,
        title=title or f"{c.complaint_id}: {text}",
        by=by,
        at=at,
        complaints=[c.complaint_id],
        failure_modes=[c.failure_mode] if c.failure_mode else [],
        runs=[r.run_id for r in trace.runs],
        lots=[lot.lot_number for lot in trace.lots],
        candidates=candidates,
    )


def next_capa_id(store: GraphStore, year: int) -> str:
    rows = store.select(
        f'SELECT ?code WHERE {{ ?c a q:CAPA ; q:code ?code . FILTER(STRSTARTS(?code, "CAPA-{year}-")) }}'
    )
    numbers = [int(str(r["code"]).rsplit("-", 1)[-1]) for r in rows if str(r["code"]).rsplit("-", 1)[-1].isdigit()]
    return f"CAPA-{year}-{max(numbers, default=0) + 1:03d}"


# ---------------------------------------------------------------- effectiveness


def effectiveness(
    store: GraphStore, capa: Capa, *, window_days: int = 90, today: dt.date | None = None
) -> Effectiveness:
    """Complaints of the CAPA's failure modes received in the ``window_days`` before and
    after its corrective action was verified. Judged only once the after-window is over:
    effective when fewer complaints came in after than before."""
    today = today or dt.datetime.now(dt.UTC).date()
    step = capa.step(EFFECTIVE_FROM[capa.method])
    modes = capa.failure_modes
    if step is None or step.verified_at is None:
        return Effectiveness(modes, None, window_days, note=f"{EFFECTIVE_FROM[capa.method]} is not verified yet")
    if not modes:
        return Effectiveness(modes, step.verified_at.date(), window_days, note="the CAPA names no failure mode")
    since = step.verified_at.date()
    start, end = since - dt.timedelta(days=window_days), since + dt.timedelta(days=window_days)
    wanted = " ".join(f"<{failure_mode_iri(m)}>" for m in modes)
    rows = store.select(
        f"""SELECT ?cid ?on WHERE {{ VALUES ?m {{ {wanted} }}
          ?c q:failureMode ?m ; q:complaintId ?cid ; q:receivedOn ?on .
          FILTER(?on >= "{start.isoformat()}"^^xsd:date && ?on < "{end.isoformat()}"^^xsd:date) }} ORDER BY ?on"""
    )
    before = tuple(str(r["cid"]) for r in rows if r["on"] < since)  # type: ignore[operator]
    after = tuple(str(r["cid"]) for r in rows if r["on"] >= since)  # type: ignore[operator]
    judged = today >= end
    return Effectiveness(
        modes,
        since,
        window_days,
        before,
        after,
        judged,
        (len(after) < len(before)) if judged else None,
        note="" if judged else f"the after-window ends on {end}",
    )


# ---------------------------------------------------------------- triples, save, read back


def capa_iri(capa_id: str) -> URIRef:
    return mint("capa", capa_id)


def _when(value: dt.datetime) -> Literal:
    return Literal(value.isoformat(), datatype=XSD.dateTime)


def capa_triples(capa: Capa) -> list[Triple]:
    c = capa_iri(capa.id)
    out: list[Triple] = [
        (c, RDF.type, Q.CAPA),
        (c, Q.code, Literal(capa.id)),
        (c, Q.name, Literal(capa.title)),
        (c, Q.capaMethod, Literal(capa.method)),
        (c, Q.capaStatus, Literal(capa.status)),
        (c, Q.responsible, Literal(capa.opened_by)),
        (c, PROV.startedAtTime, _when(capa.opened_at)),
    ]
    if capa.closed_at is not None:
        out += [(c, PROV.endedAtTime, _when(capa.closed_at)), (c, Q.closedBy, Literal(capa.closed_by or ""))]
    out += [(c, Q.addresses, mint("complaint", x)) for x in capa.complaints]
    out += [(c, Q.failureMode, failure_mode_iri(x)) for x in capa.failure_modes]
    out += [(c, Q.concernsRun, mint("run", x)) for x in capa.runs]
    out += [(c, Q.concernsLot, mint("lot", x)) for x in capa.lots]
    for step in capa.steps:
        s = URIRef(f"{c}/step/{step.key}")
        out += [
            (c, Q.hasCapaStep, s),
            (s, RDF.type, Q.CapaStep),
            (s, Q.stepKey, Literal(step.key)),
            (s, Q.message, Literal(step.text)),
            (s, Q.responsible, Literal(step.by)),
            (s, PROV.endedAtTime, _when(step.at)),
        ]
        out += [(s, Q.evidence, Literal(e)) for e in step.evidence]
        if step.verified_at is not None:
            out += [(s, Q.verifiedBy, Literal(step.verified_by or "")), (s, Q.verifiedAt, _when(step.verified_at))]
    for cand in capa.candidates:
        k = URIRef(f"{c}/candidate/{cand.key}")
        out += [
            (c, Q.rootCauseCandidate, k),
            (k, RDF.type, Q.RootCauseCandidate),
            (k, Q.rowKey, Literal(cand.key)),
            (k, Q.findingKind, Literal(cand.kind)),
            (k, Q.message, Literal(cand.message)),
            (k, Q.confirmed, Literal(cand.confirmed)),
        ]
        if cand.subject:
            out.append((k, Q.candidateSubject, URIRef(cand.subject)))
        out += [(k, Q.evidence, Literal(e)) for e in cand.evidence]
    return out


def save_capa(
    store: GraphStore,
    capa: Capa,
    *,
    agent: str,
    change: str,
    audit: AuditLog | None = None,
    role: str | None = None,
    why: str | None = None,
    expect_new: bool = False,
) -> LoadResult:
    """Write the CAPA as one batch with its audit record ``workbench.capa.<change>``; the
    complaints, failure modes, runs and lots it names must be in the graph."""
    source = SOURCE_PREFIX + capa.id
    if expect_new and store.ask(f"ASK {{ <{capa_iri(capa.id)}> a q:CAPA }}"):
        raise ValidationError(f"CAPA {capa.id} exists already", field="id")
    check_links(store, capa)
    triples = capa_triples(capa)
    sha = hashlib.sha256("\n".join(sorted(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in triples)).encode())
    with audited_load(
        audit,
        store,
        actor=agent,
        role=role,
        source=source,
        format="workbench",
        why=why,
        action=f"workbench.capa.{change}",
    ) as done:
        result = store.load_triples(triples, source=source, sha256=sha.hexdigest(), agent=agent, format="workbench")
        done.results = [result]
    return result


_LINKS = (
    ("complaints", lambda k: mint("complaint", k), "q:Complaint", "complaint"),
    ("failure_modes", failure_mode_iri, "q:FailureMode", "failure mode"),
    ("runs", lambda k: mint("run", k), "q:ProductionRun", "production run"),
    ("lots", lambda k: mint("lot", k), "q:Lot", "lot"),
)


def check_links(store: GraphStore, capa: Capa) -> None:
    """Every complaint, failure mode, run and lot the CAPA names exists (ValidationError naming it)."""
    for field_name, to_iri, cls, label in _LINKS:
        keys = getattr(capa, field_name)
        if not keys:
            continue
        wanted = " ".join(f"<{to_iri(k)}>" for k in keys)
        rows = store.select(f"SELECT ?x WHERE {{ VALUES ?x {{ {wanted} }} ?x a {cls} }}")
        known = {str(r["x"]) for r in rows}
        for key in keys:
            if str(to_iri(key)) not in known:
                raise ValidationError(f"CAPA {capa.id}, field {field_name}: unknown {label} {key!r}", field=field_name)


def _local(value: object) -> str:
    return unquote(str(value).rsplit("/", 1)[-1])


def load_capa(store: GraphStore, capa_id: str) -> Capa:
    c = capa_iri(capa_id)
    head = store.select(
        f"""SELECT ?title ?method ?status ?by ?at ?closedAt ?closedBy WHERE {{
          <{c}> a q:CAPA ; q:name ?title ; q:capaMethod ?method ; q:capaStatus ?status ; q:responsible ?by ;
              prov:startedAtTime ?at .
          OPTIONAL {{ <{c}> prov:endedAtTime ?closedAt }} OPTIONAL {{ <{c}> q:closedBy ?closedBy }} }}"""
    )
    if not head:
        raise NotFoundError(f"no CAPA {capa_id!r} (workbench CAPAs only)", capa=capa_id)
    h = head[0]
    links: dict[str, list[str]] = {"complaints": [], "modes": [], "runs": [], "lots": []}
    for r in store.select(
        f"""SELECT ?kind ?x WHERE {{
          {{ <{c}> q:addresses ?x BIND("complaints" AS ?kind) }}
          UNION {{ <{c}> q:failureMode ?x BIND("modes" AS ?kind) }}
          UNION {{ <{c}> q:concernsRun ?x BIND("runs" AS ?kind) }}
          UNION {{ <{c}> q:concernsLot ?x BIND("lots" AS ?kind) }}
        }}"""
    ):
        kind = str(r["kind"])
        links[kind].append(failure_mode_key(str(r["x"])) if kind == "modes" else _local(r["x"]))
    steps: dict[str, dict[str, object]] = {}
    for r in store.select(
        f"""SELECT ?key ?text ?by ?at ?vby ?vat ?e WHERE {{ <{c}> q:hasCapaStep ?s .
          ?s q:stepKey ?key ; q:message ?text ; q:responsible ?by ; prov:endedAtTime ?at .
          OPTIONAL {{ ?s q:verifiedBy ?vby ; q:verifiedAt ?vat }} OPTIONAL {{ ?s q:evidence ?e }} }}"""
    ):
        s = steps.setdefault(str(r["key"]), {**r, "evidence": []})
        if "e" in r:
            s["evidence"].append(str(r["e"]))  # type: ignore[attr-defined]
    cands: dict[str, dict[str, object]] = {}
    for r in store.select(
        f"""SELECT ?key ?kind ?msg ?ok ?subject ?e WHERE {{ <{c}> q:rootCauseCandidate ?k .
          ?k q:rowKey ?key ; q:findingKind ?kind ; q:message ?msg ; q:confirmed ?ok .
          OPTIONAL {{ ?k q:candidateSubject ?subject }} OPTIONAL {{ ?k q:evidence ?e }} }}"""
    ):
        k = cands.setdefault(str(r["key"]), {**r, "evidence": []})
        if "e" in r:
            k["evidence"].append(str(r["e"]))  # type: ignore[attr-defined]
    method = str(h["method"])
    order = STEPS.get(method, ())
    return Capa(
        id=capa_id,
        method=method,
        title=str(h["title"]),
        opened_by=str(h["by"]),
        opened_at=h["at"],  # type: ignore[arg-type]
        status=str(h["status"]),
        complaints=tuple(sorted(links["complaints"])),
        failure_modes=tuple(sorted(links["modes"])),
        runs=tuple(sorted(links["runs"])),
        lots=tuple(sorted(links["lots"])),
        steps=tuple(
            CapaStep(
                key=k,
                text=str(s["text"]),
                by=str(s["by"]),
                at=s["at"],  # type: ignore[arg-type]
                evidence=tuple(sorted(s["evidence"])),  # type: ignore[call-overload]
                verified_by=str(s["vby"]) if "vby" in s else None,
                verified_at=s.get("vat"),  # type: ignore[arg-type]
            )
            for k, s in sorted(steps.items(), key=lambda x: order.index(x[0]) if x[0] in order else 99)
        ),
        candidates=tuple(
            RootCauseCandidate(
                key=k,
                kind=str(v["kind"]),
                message=str(v["msg"]),
                subject=str(v["subject"]) if "subject" in v else None,
                evidence=tuple(sorted(v["evidence"])),  # type: ignore[call-overload]
                confirmed=bool(v["ok"]),
            )
            for k, v in sorted(cands.items(), key=lambda x: int(x[0]) if x[0].isdigit() else 1 << 30)
        ),
        closed_by=str(h["closedBy"]) if "closedBy" in h else None,
        closed_at=h.get("closedAt"),  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class CapaSummary:
    id: str
    method: str
    title: str
    status: str
    complaints: tuple[str, ...] = field(default=())


def list_capas(
    store: GraphStore,
    *,
    complaint: str | None = None,
    failure_mode: str | None = None,
    step: str | None = None,
    product: str | None = None,
) -> list[CapaSummary]:
    """Workbench CAPAs, optionally only those of a complaint, a failure mode, a process
    step (a run of the step) or a product (a complaint on one of its units)."""
    filters = []
    if complaint:
        filters.append(f"?c q:addresses <{mint('complaint', complaint)}> .")
    if failure_mode:
        filters.append(f"?c q:failureMode <{failure_mode_iri(failure_mode)}> .")
    if step:
        filters.append(f"?c q:concernsRun/q:step <{mint('step', step)}> .")
    if product:
        p = mint("product", product)
        filters.append(
            f"{{ ?c q:addresses/q:concernsUnit/q:ofProduct <{p}> }} UNION "
            f"{{ ?c q:concernsRun/q:produced/q:ofProduct <{p}> }}"
        )
    rows = store.select(
        f"""SELECT ?id ?method ?title ?status (GROUP_CONCAT(DISTINCT ?cid; SEPARATOR=" ") AS ?complaints) WHERE {{
          ?c a q:CAPA ; q:code ?id ; q:name ?title ; q:capaMethod ?method ; q:capaStatus ?status .
          {" ".join(filters)}
          OPTIONAL {{ ?c q:addresses/q:complaintId ?cid }}
        }} GROUP BY ?id ?method ?title ?status ORDER BY ?id"""
    )
    return [
        CapaSummary(
            str(r["id"]),
            str(r["method"]),
            str(r["title"]),
            str(r["status"]),
            tuple(sorted(str(r.get("complaints", "")).split())),
        )
        for r in rows
    ]


__all__ = [
    "CLOSE_REQUIRES",
    "REQUIRES",
    "STEPS",
    "STEP_TITLES",
    "Capa",
    "CapaStep",
    "CapaSummary",
    "Effectiveness",
    "RootCauseCandidate",
    "capa_from_complaint",
    "check_links",
    "close_capa",
    "effectiveness",
    "list_capas",
    "load_capa",
    "new_capa",
    "next_capa_id",
    "record_step",
    "save_capa",
    "verify_step",
]
