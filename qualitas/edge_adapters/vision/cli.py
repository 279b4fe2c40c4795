"""``qualitas edge vision ...``: plant data sets, fine-tuning, the model registry, drift.

Mounted under ``qualitas edge`` by :mod:`qualitas.edge_adapters.cli`.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from qualitas.errors import QualitasError, ValidationError, mapping_for

if TYPE_CHECKING:
    from qualitas.edge_adapters.vision.registry import ModelRegistry

vision_app = typer.Typer(
    help="Vision: plant data sets, per-plant fine-tuning, model registry and rollback, drift watch.",
    no_args_is_help=True,
)
err = Console(stderr=True)
out = Console()

StoreOption = Annotated[Path | None, typer.Option("--store", help="Store directory (default: settings).")]
ApproverOption = Annotated[str, typer.Option("--approved-by", help="Who approves (recorded with the time).")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (goes to the audit trail).")]


def _fail(exc: QualitasError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc.message}", highlight=False, soft_wrap=True)
    return typer.Exit(mapping_for(exc).exit_code)


@contextmanager
def _registry(store: Path | None) -> Iterator[ModelRegistry]:
    from qualitas.audit import open_audit_log
    from qualitas.edge_adapters.vision.registry import ModelRegistry
    from qualitas.settings import Settings
    from qualitas.store import open_store

    settings = Settings()
    if store is not None:
        settings = settings.model_copy(update={"store": store})
    graph = open_store(settings.store)
    try:
        yield ModelRegistry(
            graph,
            # a remote store (URL) keeps its local files under ./.qualitas (Settings.state_dir)
            files=registry_folder(settings.store)
            if isinstance(settings.store, Path)
            else settings.state_dir / "vision-models",
            audit=open_audit_log(settings),
            actor=settings.agent or getpass.getuser(),
        )
    finally:
        graph.close()


def registry_folder(store: Path) -> Path:
    """Where registered model files live: ``<store's parent>/vision-models``."""
    return store.resolve().parent / "vision-models"


@vision_app.command("generate")
def generate_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the PNG frames and labels.csv.")],
    count: Annotated[int, typer.Option("--count", help="Number of frames (balanced classes).")] = 500,
    plant: Annotated[str, typer.Option("--plant", help="a (the base model's domain) or b (the shifted plant).")] = "b",
    seed: Annotated[int, typer.Option("--seed")] = 1,
) -> None:
    """Write a labelled synthetic set: plant A as the base model saw it, or plant B."""
    from qualitas.edge_adapters.vision.finetune import write_labelled
    from qualitas.edge_adapters.vision.generator import generate, generate_plant

    if plant not in ("a", "b"):
        raise _fail(ValidationError(f"--plant must be a or b, not {plant!r}"))
    images, labels = generate(count, seed=seed) if plant == "a" else generate_plant(count, seed=seed)
    path = write_labelled(out_dir, images, labels)
    out.print(f"wrote {count} plant-{plant.upper()} frames and {path}", highlight=False)


@vision_app.command("finetune")
def finetune_cmd(
    images: Annotated[Path, typer.Option("--images", help="Folder of the plant's images.")],
    labels: Annotated[Path, typer.Option("--labels", help="labels.csv: file,label (class name or index).")],
    base: Annotated[Path, typer.Option("--base", help="The base model (ONNX) to adapt.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for model.onnx, record.json, confusion.png.")],
    unfreeze: Annotated[int, typer.Option("--unfreeze", help="Also train the last N convolution blocks.")] = 0,
    epochs: Annotated[int, typer.Option("--epochs")] = 40,
    validation: Annotated[float, typer.Option("--validation", help="Fraction held out for validation.")] = 0.2,
    min_gain: Annotated[float, typer.Option("--min-gain", help="Macro-F1 gain the tuned model needs.")] = 0.005,
    no_response_curve: Annotated[
        bool, typer.Option("--no-response-curve", help="Do not learn the camera's intensity curve.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    threads: Annotated[int, typer.Option("--threads", help="CPU threads for training.")] = 1,
    approved_by: Annotated[
        str | None, typer.Option("--approved-by", help="Register an accepted model, approved by this person.")
    ] = None,
    deploy: Annotated[str | None, typer.Option("--deploy", help="Also deploy it at this station.")] = None,
    store: StoreOption = None,
) -> None:
    """Adapt the base model to a plant's images; refuse a result that is not better."""
    from qualitas.edge_adapters.vision.finetune import FinetuneOptions, finetune, load_labelled

    try:
        data = load_labelled(images, labels)
        report = finetune(
            data,
            base,
            out_dir,
            options=FinetuneOptions(
                validation=validation,
                epochs=epochs,
                unfreeze_blocks=unfreeze,
                response_curve=not no_response_curve,
                min_gain=min_gain,
                seed=seed,
                threads=threads,
            ),
        )
    except QualitasError as exc:
        raise _fail(exc) from None
    out.print(f"method: {report.method}; {report.train_images} images trained on", highlight=False)
    out.print("model   defect_f1  macro_f1  " + "  ".join(f"{c}(P/R)" for c in report.base.per_class), highlight=False)
    for name, ev in (("base", report.base), ("tuned", report.tuned)):
        pr = "  ".join(f"{s.precision:.3f}/{s.recall:.3f}" for s in ev.per_class.values())
        out.print(f"{name:<7} {ev.defect_f1:9.3f} {ev.macro_f1:9.3f}  {pr}", highlight=False)
    out.print(f"train sha256 {report.train_sha256}\nvalidation sha256 {report.validation_sha256}", highlight=False)
    out.print(f"wrote {out_dir}/model.onnx, record.json, confusion.png", highlight=False)
    if not report.accepted:
        raise _fail(ValidationError(f"tuned model refused, not deployed: {report.reason}"))
    out.print(report.summary(), highlight=False)
    if approved_by is None:
        if deploy is not None:
            raise _fail(ValidationError("--deploy needs --approved-by"))
        return
    try:
        with _registry(store) as registry:
            _ensure_registered(registry, base, approved_by)
            model = registry.register(out_dir / "model.onnx", record=report, approved_by=approved_by)
            out.print(f"registered {model.sha256[:12]} (parent {report.parent_sha256[:12]})", highlight=False)
            if deploy is not None:
                d = registry.deploy(model.sha256, station=deploy, approved_by=approved_by, why="fine-tuned")
                out.print(f"deployed {model.sha256[:12]} at {deploy} (deployment {d.seq})", highlight=False)
    except QualitasError as exc:
        raise _fail(exc) from None


def _ensure_registered(registry: ModelRegistry, base: Path, approved_by: str) -> None:
    from qualitas.audit import file_sha256

    if registry.get(file_sha256(base)) is None:
        registry.register(base, approved_by=approved_by, why="parent of a fine-tuned model")


@vision_app.command("register")
def register_cmd(
    model: Annotated[Path, typer.Argument(help="model.onnx, or a fine-tuning output folder (with record.json).")],
    approved_by: ApproverOption,
    store: StoreOption = None,
    reason: ReasonOption = None,
) -> None:
    """Register a model (a shipped one, or an accepted fine-tuning result)."""
    from qualitas.edge_adapters.vision.finetune import MODEL_NAME, RECORD_FILE, FinetuneReport

    try:
        record = FinetuneReport.read(model) if model.is_dir() and (model / RECORD_FILE).exists() else None
        file = model / MODEL_NAME if model.is_dir() else model
        with _registry(store) as registry:
            m = registry.register(file, approved_by=approved_by, record=record, why=reason)
    except QualitasError as exc:
        raise _fail(exc) from None
    out.print(f"registered {m.sha256}", highlight=False)


@vision_app.command("deploy")
def deploy_cmd(
    model: Annotated[str, typer.Argument(help="The model's sha256 (or a unique prefix of 8+ digits).")],
    station: Annotated[str, typer.Option("--station", help="Where it goes into service.")],
    approved_by: ApproverOption,
    store: StoreOption = None,
    reason: ReasonOption = None,
) -> None:
    """Put a registered model into service at a station."""
    try:
        with _registry(store) as registry:
            d = registry.deploy(model, station=station, approved_by=approved_by, why=reason)
    except QualitasError as exc:
        raise _fail(exc) from None
    out.print(f"{station}: deployment {d.seq} serves {d.model[:12]}", highlight=False)


@vision_app.command("rollback")
def rollback_cmd(
    station: Annotated[str, typer.Option("--station", help="The station to roll back.")],
    approved_by: ApproverOption,
    store: StoreOption = None,
    reason: ReasonOption = None,
) -> None:
    """Put back the model a station ran before its current one (audited)."""
    try:
        with _registry(store) as registry:
            d = registry.rollback(station=station, approved_by=approved_by, why=reason)
    except QualitasError as exc:
        raise _fail(exc) from None
    out.print(f"{station}: rolled back (deployment {d.seq} undoes {d.rollback_of}), serves {d.model[:12]}")


@vision_app.command("models")
def models_cmd(
    station: Annotated[str | None, typer.Option("--station", help="Show this station's deployments.")] = None,
    store: StoreOption = None,
) -> None:
    """List registered models (sha, parent, F1, approval) or a station's deployments."""
    try:
        with _registry(store) as registry:
            if station is not None:
                for d in registry.history(station):
                    undo = f" (rollback of {d.rollback_of})" if d.rollback_of else ""
                    out.print(
                        f"{d.seq}\t{d.model[:12]}\t{d.deployed_at.isoformat()}\t{d.approved_by}{undo}\t{d.reason}",
                        highlight=False,
                    )
                return
            for m in registry.models():
                f1 = f"macro F1 {m.macro_f1:.3f}" if m.macro_f1 is not None else "no fine-tuning record"
                parent = m.parent[:12] if m.parent else "-"
                out.print(
                    f"{m.sha256[:12]}\tparent {parent}\t{f1}\t{m.approved_by} {m.approved_at.isoformat()}",
                    highlight=False,
                )
    except QualitasError as exc:
        raise _fail(exc) from None


@vision_app.command("drift")
def drift_cmd(
    frames: Annotated[Path, typer.Argument(help="Folder of live frames to check.")],
    reference: Annotated[
        Path, typer.Option("--reference", help="drift_reference.json, or a folder of training images.")
    ],
    model: Annotated[Path | None, typer.Option("--model", help="ONNX model (default: the bundled one).")] = None,
    threshold: Annotated[float, typer.Option("--threshold", help="PSI above which it is drift.")] = 0.25,
) -> None:
    """Compare live frames with the training distribution; exit 1 on drift."""
    import numpy as np

    from qualitas.edge_adapters.vision.drift import DriftReference, compare, frame_features
    from qualitas.edge_adapters.vision.inference import MODEL_FILE, VisionInspector, _to_gray, frames_from

    def load(folder: Path) -> np.ndarray:
        return np.stack([_to_gray(f)[0] for f in frames_from(folder)])

    try:
        inspector = VisionInspector(model or MODEL_FILE)
        if reference.is_dir():
            ref_images = load(reference)
            ref = DriftReference.from_features(frame_features(ref_images, inspector._run(ref_images)))
        else:
            ref = DriftReference.load(reference)
        live = load(frames)
        check = compare(ref, frame_features(live, inspector._run(live)), threshold=threshold)
    except QualitasError as exc:
        raise _fail(exc) from None
    out.print(check.line(), highlight=False)
    if check.drifted:
        raise typer.Exit(1)
