"""The vision model registry, kept in the graph.

Each model is a ``q:VisionModel`` named by the sha256 of its ONNX file, with its parent
(``q:parentModel``, a ``prov:wasDerivedFrom``), the hashes of the images it was trained
and validated on, its validation metrics (and its parent's on the same images), who
approved it and when. Each deployment is a ``q:ModelDeployment`` at a station, numbered
per station; the highest number is in service. A rollback is one more deployment that
puts the previous model back (``q:rollbackOf`` the one it undoes), so nothing is erased.

Every registration, deployment and rollback is an append-only batch of the store and
one audit record (``vision.register``, ``vision.deploy``, ``vision.rollback``) through
:func:`qualitas.audit.audited_load`: who, when, what and why, as 21 CFR 11.10(e) asks
(https://www.ecfr.gov/current/title-21/part-11#p-11.10(e)).

The model files themselves are copied into the registry folder (``<sha256>.onnx``), so
a rollback never depends on a training output folder still being there.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdflib import RDF, XSD, Literal, URIRef
from rdflib.namespace import PROV
from rdflib.term import Node

from qualitas.audit import AuditLog, audited_load, file_sha256
from qualitas.edge_adapters.graph import _when, agent_iri, edge_iri, write_batch
from qualitas.edge_adapters.vision.finetune import DRIFT_FILE, FinetuneReport
from qualitas.errors import InputError, NotFoundError, ValidationError
from qualitas.ontology import Q, mint
from qualitas.store import GraphStore

if TYPE_CHECKING:
    from qualitas.edge_adapters.vision.source import Segment

Triple = tuple[Node, Node, Node]


def model_iri(sha256: str) -> URIRef:
    return edge_iri("visionmodel", sha256)


def deployment_iri(station: str, seq: int) -> URIRef:
    return edge_iri("deployment", station, str(seq))


def drift_reference_file(model_file: Path) -> Path:
    """The drift reference kept beside a registered model file."""
    return model_file.with_suffix(".drift.json")


@dataclass(frozen=True)
class RegisteredModel:
    sha256: str
    file: Path
    parent: str | None
    train_sha256: str | None
    validation_sha256: str | None
    macro_f1: float | None
    defect_f1: float | None
    accepted: bool | None  # None: no fine-tuning record (a shipped or imported model)
    approved_by: str
    approved_at: dt.datetime
    metrics: dict[str, Any] | None


@dataclass(frozen=True)
class Deployment:
    station: str
    seq: int
    model: str  # sha256
    approved_by: str
    deployed_at: dt.datetime
    reason: str
    rollback_of: int | None


def _dec(value: float) -> Literal:
    return Literal(Decimal(f"{value:.6f}"), datatype=XSD.decimal)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class ModelRegistry:
    """Register, deploy and roll back vision models; read which model serves a station."""

    def __init__(self, store: GraphStore, *, files: Path | None, audit: AuditLog | None = None, actor: str) -> None:
        self.store = store
        self.files = files
        self.audit = audit
        self.actor = actor

    # ------------------------------------------------------------------ writes

    def _write(self, triples: list[Triple], *, source: str, action: str, why: str | None) -> None:
        with audited_load(
            self.audit,
            self.store,
            actor=self.actor,
            role="vision",
            source=source,
            format="vision",
            action=action,
            why=why,
        ) as done:
            done.results = [write_batch(self.store, triples, source=source, agent=self.actor)]

    def register(
        self,
        model_file: Path,
        *,
        approved_by: str,
        record: FinetuneReport | None = None,
        parent: str | None = None,
        why: str | None = None,
    ) -> RegisteredModel:
        """Register ``model_file`` (idempotent: the same file is the same model).

        ``record`` (a fine-tuning report) supplies the parent, data hashes and metrics; a
        model with a record that was not accepted is refused here already."""
        if not model_file.is_file():
            raise InputError(f"no such model file: {model_file}", file=str(model_file))
        sha = file_sha256(model_file)
        if record is not None:
            if record.model_sha256 != sha:
                raise ValidationError(
                    f"{model_file}: its sha256 {sha[:12]} is not the one in its record ({record.model_sha256[:12]})",
                    file=str(model_file),
                )
            if not record.accepted:
                raise ValidationError(f"{model_file}: not registered: {record.reason}", file=str(model_file))
            parent = record.parent_sha256
        existing = self.get(sha, missing_ok=True)
        if existing is not None:
            return existing
        if self.files is None:
            raise InputError("this registry is read-only (no folder for model files)")
        if parent is not None and self.get(parent, missing_ok=True) is None:
            raise NotFoundError(f"parent model {parent[:12]} is not registered; register the base model first")
        self.files.mkdir(parents=True, exist_ok=True)
        stored = self.files / f"{sha}.onnx"
        if not stored.exists():
            shutil.copyfile(model_file, stored)
        drift = model_file.with_name(DRIFT_FILE)
        if drift.is_file():  # the training distribution the drift watch compares live frames with
            shutil.copyfile(drift, drift_reference_file(stored))
        m = model_iri(sha)
        when = _now()
        triples: list[Triple] = [
            (m, RDF.type, Q.VisionModel),
            (m, Q.modelSha256, Literal(sha)),
            (m, Q.modelFile, Literal(stored.resolve().as_uri(), datatype=XSD.anyURI)),
            (m, Q.approvedBy, Literal(approved_by)),
            (m, Q.approvedAt, Literal(when.isoformat(), datatype=XSD.dateTime)),
            (m, PROV.wasAttributedTo, agent_iri(self.actor)),
        ]
        if parent is not None:
            triples.append((m, Q.parentModel, model_iri(parent)))
        if record is not None:
            triples += [
                (m, Q.trainingDataSha256, Literal(record.train_sha256)),
                (m, Q.validationDataSha256, Literal(record.validation_sha256)),
                (m, Q.macroF1, _dec(record.tuned.macro_f1)),
                (m, Q.defectF1, _dec(record.tuned.defect_f1)),
                (m, Q.metrics, Literal(json.dumps(_metrics(record), sort_keys=True))),
            ]
        self._write(triples, source=f"vision-model:{sha}", action="vision.register", why=why)
        model = self.get(sha)
        assert model is not None
        return model

    def deploy(self, sha: str, *, station: str, approved_by: str, why: str | None = None) -> Deployment:
        """Put model ``sha`` (a unique prefix will do) into service at ``station``."""
        model = self.get(sha)
        if model is None:
            raise NotFoundError(f"no registered vision model {sha}")
        if model.accepted is False:
            raise ValidationError(f"model {model.sha256[:12]} is not better than its parent; not deployed")
        current = self.current(station)
        if current is not None and current.model == model.sha256:
            return current
        return self._deploy(model.sha256, station=station, approved_by=approved_by, why=why, rollback_of=None)

    def rollback(self, *, station: str, approved_by: str, why: str | None = None) -> Deployment:
        """Put back the model that served ``station`` before the current one (or, after
        the station's first deployment, the current model's parent)."""
        history = self.history(station)
        if not history:
            raise NotFoundError(f"nothing is deployed at station {station!r}")
        current = history[-1]
        previous = next((d.model for d in reversed(history[:-1]) if d.model != current.model), None)
        if previous is None:  # the station's first deployment: back to the model it was derived from
            model = self.get(current.model)
            previous = model.parent if model is not None else None
        if previous is None:
            raise NotFoundError(f"station {station!r} has no earlier model to roll back to")
        return self._deploy(
            previous,
            station=station,
            approved_by=approved_by,
            why=why or f"rollback of deployment {current.seq}",
            rollback_of=current.seq,
        )

    def _deploy(
        self, sha: str, *, station: str, approved_by: str, why: str | None, rollback_of: int | None
    ) -> Deployment:
        history = self.history(station)
        seq = history[-1].seq + 1 if history else 1
        d = deployment_iri(station, seq)
        when = _now()
        triples: list[Triple] = [
            (d, RDF.type, Q.ModelDeployment),
            (d, Q.deployedModel, model_iri(sha)),
            (d, Q.station, Literal(station)),
            (d, Q.deploymentSeq, Literal(seq)),
            (d, Q.approvedBy, Literal(approved_by)),
            (d, Q.approvedAt, Literal(when.isoformat(), datatype=XSD.dateTime)),
            (d, Q.deployedAt, Literal(when.isoformat(), datatype=XSD.dateTime)),
            (d, Q.reason, Literal(why or "")),
            (d, PROV.wasAssociatedWith, agent_iri(self.actor)),
        ]
        if rollback_of is not None:
            triples.append((d, Q.rollbackOf, deployment_iri(station, rollback_of)))
        action = "vision.rollback" if rollback_of is not None else "vision.deploy"
        self._write(triples, source=f"vision-deployment:{station}:{seq}", action=action, why=why)
        return self.history(station)[-1]

    # ------------------------------------------------------------------ reads

    def models(self) -> list[RegisteredModel]:
        rows = self.store.select("SELECT ?sha WHERE { ?m a q:VisionModel ; q:modelSha256 ?sha }")
        out = [self.get(str(r["sha"])) for r in rows]
        return sorted((m for m in out if m is not None), key=lambda m: m.approved_at)

    def get(self, sha: str, *, missing_ok: bool = True) -> RegisteredModel | None:
        """The model whose sha256 is ``sha`` or starts with it (at least 8 hex digits)."""
        if len(sha) < 8 or any(c not in "0123456789abcdef" for c in sha):
            raise InputError(f"{sha!r} is not a model sha256 (or a prefix of at least 8 hex digits)")
        rows = self.store.select(
            f"""SELECT ?m ?sha ?file ?parent ?by ?at ?train ?val ?macro ?defect ?metrics WHERE {{
                ?m a q:VisionModel ; q:modelSha256 ?sha ; q:modelFile ?file ; q:approvedBy ?by ; q:approvedAt ?at .
                FILTER(STRSTARTS(?sha, "{sha}"))
                OPTIONAL {{ ?m q:parentModel/q:modelSha256 ?parent }}
                OPTIONAL {{ ?m q:trainingDataSha256 ?train }}
                OPTIONAL {{ ?m q:validationDataSha256 ?val }}
                OPTIONAL {{ ?m q:macroF1 ?macro }}
                OPTIONAL {{ ?m q:defectF1 ?defect }}
                OPTIONAL {{ ?m q:metrics ?metrics }}
            }}"""
        )
        if len({r["sha"] for r in rows}) > 1:
            raise InputError(f"model prefix {sha!r} is ambiguous; give more digits")
        if not rows:
            if missing_ok:
                return None
            raise NotFoundError(f"no registered vision model {sha}")
        r = rows[0]
        metrics = json.loads(str(r["metrics"])) if r.get("metrics") else None
        from urllib.parse import unquote, urlparse

        return RegisteredModel(
            sha256=str(r["sha"]),
            file=Path(unquote(urlparse(str(r["file"])).path)),
            parent=str(r["parent"]) if r.get("parent") else None,
            train_sha256=str(r["train"]) if r.get("train") else None,
            validation_sha256=str(r["val"]) if r.get("val") else None,
            macro_f1=float(r["macro"]) if r.get("macro") is not None else None,  # type: ignore[arg-type]
            defect_f1=float(r["defect"]) if r.get("defect") is not None else None,  # type: ignore[arg-type]
            accepted=metrics.get("accepted") if metrics else None,
            approved_by=str(r["by"]),
            approved_at=r["at"] if isinstance(r["at"], dt.datetime) else dt.datetime.fromisoformat(str(r["at"])),
            metrics=metrics,
        )

    def history(self, station: str) -> list[Deployment]:
        """Every deployment at ``station``, oldest first; the last one is in service."""
        rows = self.store.select(
            f"""SELECT ?seq ?sha ?by ?at ?reason ?undone WHERE {{
                ?d a q:ModelDeployment ; q:station {Literal(station).n3()} ; q:deploymentSeq ?seq ;
                   q:deployedModel/q:modelSha256 ?sha ; q:approvedBy ?by ; q:deployedAt ?at .
                OPTIONAL {{ ?d q:reason ?reason }}
                OPTIONAL {{ ?d q:rollbackOf/q:deploymentSeq ?undone }}
            }}"""
        )
        out = [
            Deployment(
                station=station,
                seq=int(r["seq"]),  # type: ignore[call-overload]
                model=str(r["sha"]),
                approved_by=str(r["by"]),
                deployed_at=r["at"] if isinstance(r["at"], dt.datetime) else dt.datetime.fromisoformat(str(r["at"])),
                reason=str(r.get("reason") or ""),
                rollback_of=int(r["undone"]) if r.get("undone") is not None else None,  # type: ignore[call-overload]
            )
            for r in rows
        ]
        return sorted(out, key=lambda d: d.seq)

    def current(self, station: str) -> Deployment | None:
        history = self.history(station)
        return history[-1] if history else None

    def current_file(self, station: str) -> Path:
        """The file of the model in service at ``station`` (what ``edge run`` loads)."""
        current = self.current(station)
        if current is None:
            raise NotFoundError(f"no vision model is deployed at station {station!r}")
        model = self.get(current.model)
        assert model is not None
        if not model.file.is_file():
            raise NotFoundError(f"model file {model.file} of {model.sha256[:12]} is missing from the registry folder")
        return model.file


def _metrics(record: FinetuneReport) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "accepted": record.accepted,
        "reason": record.reason,
        "method": record.method,
        "train_images": record.train_images,
        "validation_images": record.validation_images,
        "tuned": asdict(record.tuned),
        "parent_on_same_validation": asdict(record.base),
    }


def segment_triples(segments: list[Segment], *, run_id: str, source: str) -> list[Triple]:
    """``q:InspectionSegment`` s of a run: which model judged frames ``first..last``."""
    run = mint("run", run_id)
    out: list[Triple] = []
    for seg in segments:
        s = edge_iri("segment", run_id, source, str(seg.first))
        out += [
            (s, RDF.type, Q.InspectionSegment),
            (s, Q.duringRun, run),
            (s, Q.signal, Literal(source)),
            (s, Q.judgedBy, model_iri(seg.model_sha256)),
            (s, Q.firstFrame, Literal(seg.first)),
            (s, Q.lastFrame, Literal(seg.last)),
            (s, Q.sampleCount, Literal(seg.last - seg.first + 1)),
            (s, Q.firstSampleAt, _when(seg.first_ts)),
            (s, Q.lastSampleAt, _when(seg.last_ts)),
        ]
    return out


def model_for_frame(store: GraphStore, *, run_id: str, source: str, frame: int) -> str | None:
    """The sha256 of the model that judged frame number ``frame`` of ``source`` in a run."""
    rows = store.select(
        f"""SELECT ?sha WHERE {{
            ?s a q:InspectionSegment ; q:duringRun {mint("run", run_id).n3()} ; q:signal {Literal(source).n3()} ;
               q:firstFrame ?a ; q:lastFrame ?b ; q:judgedBy ?m .
            FILTER(?a <= {int(frame)} && {int(frame)} <= ?b)
            BIND(REPLACE(STR(?m), "^.*/", "") AS ?sha)
        }}"""
    )
    return str(rows[0]["sha"]) if rows else None
