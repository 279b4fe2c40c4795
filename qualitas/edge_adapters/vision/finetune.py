"""Per-plant fine-tuning of the inspection model on a few hundred local images.

    qualitas edge vision finetune --images DIR --labels labels.csv --base MODEL.onnx --out DIR

Transfer learning from the shipped base model: its convolutional backbone is read back
from the ONNX file (the exported graph has batch norm folded into the convolutions, so
the network rebuilt here is exactly what onnxruntime runs), frozen, and only the
classification head is trained; ``unfreeze_last_block`` also trains the last
convolution. Training runs on CPU with PyTorch (the ``train`` extra); the result is
exported to ONNX (opset :data:`OPSET`, one file, no external data) and judged with
onnxruntime, the same runtime ``edge run`` uses.

Validation is a split of the local images chosen by content: every distinct image
(sha256 of its pixels) lands on one side only, so a copy of a validation image can
never be trained on, even under another file name. The model record carries the
sha256 of both sets (sorted image hashes with their labels).

The base and the tuned model are scored on the same validation images (defect F1,
four-class macro F1, per-class precision and recall, confusion matrices, also as a
PNG). The tuned model is *accepted* only if its macro F1 beats the base by at least
``min_gain`` and its defect F1 is not lower; otherwise :func:`finetune` still writes
the report but marks it refused, and the registry will not deploy it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qualitas.edge_adapters.vision.generator import CLASSES, SIZE
from qualitas.edge_adapters.vision.inference import IMAGE_SUFFIXES, VisionInspector, f1_scores
from qualitas.errors import InputError, MissingExtraError, ValidationError

OPSET = 18
RECORD_FILE = "record.json"
MODEL_NAME = "model.onnx"
CONFUSION_FILE = "confusion.png"
DRIFT_FILE = "drift_reference.json"
_BACKBONE = ("features.0.0", "features.1.0", "features.2.0", "features.3.0")


# ---------------------------------------------------------------- data


@dataclass(frozen=True)
class LabelledImages:
    """Images (uint8 ``[n, SIZE, SIZE]``), labels (class indices) and one content hash per image."""

    images: np.ndarray
    labels: np.ndarray
    hashes: tuple[str, ...]
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> LabelledImages:
        return LabelledImages(
            self.images[index],
            self.labels[index],
            tuple(self.hashes[i] for i in index),
            tuple(self.names[i] for i in index),
        )

    def digest(self) -> str:
        """sha256 over the sorted ``<image sha256> <label>`` lines: the data set's identity,
        independent of file names and order."""
        lines = sorted(f"{h} {CLASSES[int(y)]}" for h, y in zip(self.hashes, self.labels, strict=True))
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def image_sha256(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image, dtype=np.uint8).tobytes()).hexdigest()


def _label_index(value: str, *, file: Path, row: int) -> int:
    text = value.strip()
    if text in CLASSES:
        return CLASSES.index(text)
    if text.isdigit() and int(text) < len(CLASSES):
        return int(text)
    raise ValidationError(
        f"{file}:{row}: field 'label': {value!r} is not one of {', '.join(CLASSES)} (or 0-{len(CLASSES) - 1})",
        file=str(file),
        line=row,
    )


def load_labelled(images_dir: Path, labels_csv: Path) -> LabelledImages:
    """Read ``labels.csv`` (columns ``file,label``; label a class name or index) and the
    images it names under ``images_dir``. One clear line for the first bad row."""
    from qualitas.edge_adapters.vision.inference import _to_gray

    if not images_dir.is_dir():
        raise InputError(f"no such image folder: {images_dir}", file=str(images_dir))
    try:
        with labels_csv.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"file", "label"} - set(reader.fieldnames or ())
            if missing:
                raise ValidationError(
                    f"{labels_csv}:1: header needs columns file,label (missing {', '.join(sorted(missing))})",
                    file=str(labels_csv),
                )
            rows = [(n, r) for n, r in enumerate(reader, start=2)]
    except OSError as exc:
        raise InputError(f"cannot read labels {labels_csv}: {exc}", file=str(labels_csv)) from exc
    images, labels, hashes, names = [], [], [], []
    seen: dict[str, tuple[int, int]] = {}
    for n, row in rows:
        name = (row.get("file") or "").strip()
        path = images_dir / name
        if not name or path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            raise ValidationError(
                f"{labels_csv}:{n}: field 'file': {name!r} is not an image in {images_dir}", file=str(labels_csv)
            )
        label = _label_index(row.get("label") or "", file=labels_csv, row=n)
        gray, _ = _to_gray(path)
        digest = image_sha256(gray)
        if digest in seen and seen[digest][1] != label:
            raise ValidationError(
                f"{labels_csv}:{n}: field 'label': the same image is labelled {CLASSES[seen[digest][1]]} "
                f"on row {seen[digest][0]}",
                file=str(labels_csv),
            )
        seen.setdefault(digest, (n, label))
        images.append(gray)
        labels.append(label)
        hashes.append(digest)
        names.append(name)
    if len(set(labels)) < 2:
        raise ValidationError(f"{labels_csv}: needs images of at least two classes", file=str(labels_csv))
    return LabelledImages(np.stack(images), np.array(labels, dtype=np.int64), tuple(hashes), tuple(names))


def write_labelled(directory: Path, images: np.ndarray, labels: np.ndarray, *, prefix: str = "img") -> Path:
    """Write frames as PNG files plus ``labels.csv`` (what a plant's labelling tool exports)."""
    from PIL import Image

    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / "labels.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "label"])
        for i, (img, y) in enumerate(zip(images, labels, strict=True)):
            name = f"{prefix}{i:05d}.png"
            Image.fromarray(img).save(directory / name)
            writer.writerow([name, CLASSES[int(y)]])
    return csv_path


def split_by_content(data: LabelledImages, *, validation: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/validation indices; every copy of an image goes to the same side."""
    if not 0.05 <= validation <= 0.5:
        raise InputError(f"--validation must be between 0.05 and 0.5, not {validation}")
    groups: dict[str, list[int]] = {}
    for i, h in enumerate(data.hashes):
        groups.setdefault(h, []).append(i)
    rng = np.random.default_rng(seed)
    train: list[int] = []
    val: list[int] = []
    for c in range(len(CLASSES)):
        keys = sorted(h for h, idx in groups.items() if data.labels[idx[0]] == c)
        rng.shuffle(keys)
        n_val = round(len(keys) * validation) if len(keys) > 1 else 0
        for j, key in enumerate(keys):
            (val if j < n_val else train).extend(groups[key])
    return np.array(sorted(train), dtype=np.int64), np.array(sorted(val), dtype=np.int64)


# ---------------------------------------------------------------- metrics


@dataclass(frozen=True)
class ClassScore:
    precision: float
    recall: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    """One model on one validation set."""

    defect_f1: float
    macro_f1: float
    accuracy: float
    per_class: dict[str, ClassScore]
    confusion: list[list[int]]  # rows: truth, columns: predicted, in CLASSES order


def evaluate(truth: np.ndarray, predicted: np.ndarray) -> Evaluation:
    confusion = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    per_class = {}
    for c, name in enumerate(CLASSES):
        tp = int(confusion[c, c])
        per_class[name] = ClassScore(
            precision=tp / int(confusion[:, c].sum()) if confusion[:, c].sum() else 0.0,
            recall=tp / int(confusion[c].sum()) if confusion[c].sum() else 0.0,
            support=int(confusion[c].sum()),
        )
    f1 = f1_scores(truth, predicted)
    return Evaluation(f1.defect_f1, f1.macro_f1, f1.accuracy, per_class, confusion.tolist())


def predict(model: Path, images: np.ndarray) -> np.ndarray:
    inspector = VisionInspector(model)
    return np.argmax(inspector._run(images), axis=1)


def embed(model: Path, images: np.ndarray) -> np.ndarray:
    """Class probabilities of ``images`` under ``model`` (the drift watch's score vectors)."""
    return VisionInspector(model)._run(images)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- the network


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise MissingExtraError("torch", extra="train") from exc
    return torch


def base_weights(model: Path) -> dict[str, np.ndarray]:
    """The base model's weights by PyTorch name, read from the ONNX initializers."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as exc:
        raise MissingExtraError("onnx", extra="train") from exc
    try:
        proto = onnx.load(str(model))
    except Exception as exc:  # onnx raises DecodeError, OSError, ... for a bad file
        raise InputError(f"cannot read base model {model}: {exc}", file=str(model)) from exc
    weights = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    wanted = [f"{b}.{p}" for b in _BACKBONE for p in ("weight", "bias")] + ["head.weight", "head.bias"]
    missing = [w for w in wanted if w not in weights]
    if missing:
        raise InputError(
            f"base model {model} is not a Qualitas inspection network (no {', '.join(missing[:3])})", file=str(model)
        )
    return {w: weights[w].copy() for w in wanted}


def build_deployed(weights: dict[str, np.ndarray]) -> Any:
    """The inspection network as exported (convolutions with folded batch norm)."""
    torch = _torch()
    from torch import nn

    class ResponseCurve(nn.Module):
        """A monotone piecewise-linear intensity map (``knots`` segments), identity at
        start: learns to undo a plant camera's response curve before the frozen backbone."""

        def __init__(self, knots: int = 16) -> None:
            super().__init__()
            self.knots = knots
            self.register_buffer("starts", torch.arange(knots, dtype=torch.float32) / knots)
            self.slopes = nn.Parameter(torch.full((knots,), float(np.log(np.e - 1))))  # softplus -> 1

        def forward(self, x: Any) -> Any:
            seg = torch.clamp(x.unsqueeze(-1) - self.starts, 0.0, 1.0 / self.knots)
            return (seg * torch.nn.functional.softplus(self.slopes)).sum(-1)

    class Deployed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.response = ResponseCurve()
            chans = [1, 12, 24, 32, 48]
            self.features = nn.Sequential(
                *[nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1), nn.ReLU()) for i in range(4)]
            )
            self.head = nn.Linear(48, len(CLASSES))

        def embedding(self, x: Any) -> Any:
            return torch.amax(self.features((self.response(x) - 0.45) / 0.25), dim=(2, 3))

        def forward(self, x: Any) -> Any:
            return torch.softmax(self.head(self.embedding(x)), dim=1)

    net = Deployed()
    missing, unexpected = net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=False)
    assert not unexpected and all(k.startswith("response.") for k in missing), (missing, unexpected)
    return net


def export_onnx(net: Any, out: Path) -> None:
    torch = _torch()
    net.eval()
    # the exporter's own internals raise deprecation notices about torch APIs (not ours)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            net,
            (torch.zeros(1, 1, SIZE, SIZE),),
            str(out),
            input_names=["image"],
            output_names=["probabilities"],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            opset_version=OPSET,
            external_data=False,
            verbose=False,
        )


# ---------------------------------------------------------------- fine-tuning


@dataclass(frozen=True)
class FinetuneOptions:
    validation: float = 0.2
    epochs: int = 40
    unfreeze_blocks: int = 0  # 0: head only; 1: also the last convolution block; up to 4
    response_curve: bool = True  # learn the plant camera's intensity curve in front of the frozen backbone
    learning_rate: float = 3e-3
    min_gain: float = 0.005
    seed: int = 7
    threads: int = 1


@dataclass(frozen=True)
class FinetuneReport:
    """What ``record.json`` holds: the model's identity, lineage, data and metrics."""

    model_sha256: str
    parent_sha256: str
    train_sha256: str
    validation_sha256: str
    train_images: int
    validation_images: int
    method: str
    options: dict[str, Any]
    base: Evaluation
    tuned: Evaluation
    accepted: bool
    reason: str
    created_at: str
    seconds: float
    files: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def read(cls, directory: Path) -> FinetuneReport:
        path = directory / RECORD_FILE if directory.is_dir() else directory
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read model record {path}: {exc}", file=str(path)) from exc

        def ev(d: dict[str, Any]) -> Evaluation:
            return Evaluation(
                d["defect_f1"],
                d["macro_f1"],
                d["accuracy"],
                {k: ClassScore(**v) for k, v in d["per_class"].items()},
                d["confusion"],
            )

        return cls(**{**data, "base": ev(data["base"]), "tuned": ev(data["tuned"])})

    def summary(self) -> str:
        verdict = "accepted" if self.accepted else "REFUSED"
        return (
            f"{verdict}: macro F1 {self.base.macro_f1:.3f} -> {self.tuned.macro_f1:.3f}, "
            f"defect F1 {self.base.defect_f1:.3f} -> {self.tuned.defect_f1:.3f} on {self.validation_images} "
            f"validation images ({self.train_images} trained on); {self.reason}"
        )


def _train(net: Any, x: np.ndarray, y: np.ndarray, options: FinetuneOptions) -> None:
    torch = _torch()
    torch.manual_seed(options.seed)
    for p in net.parameters():
        p.requires_grad_(False)
    trainable = list(net.head.parameters())
    if options.response_curve:
        trainable += list(net.response.parameters())
    for block in range(len(_BACKBONE) - options.unfreeze_blocks, len(_BACKBONE)):
        trainable += list(net.features[block].parameters())
    for p in trainable:
        p.requires_grad_(True)
    xt = torch.from_numpy(x).float().div(255).unsqueeze(1)
    yt = torch.from_numpy(y)
    # class weights: a plant's images are rarely balanced
    counts = np.bincount(y, minlength=len(CLASSES)).astype(np.float32)
    weight = torch.from_numpy(np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / len(CLASSES), 0.0))
    loss_fn = torch.nn.NLLLoss(weight=weight.float())
    opt = torch.optim.AdamW(trainable, lr=options.learning_rate, weight_decay=1e-4)
    batch = 64
    steps = options.epochs * ((len(xt) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=options.learning_rate, total_steps=max(1, steps))
    gen = torch.Generator().manual_seed(options.seed)
    for epoch in range(options.epochs):
        net.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), batch):
            idx = perm[i : i + batch]
            xb = xt[idx]
            if epoch % 3 == 1:  # flips are label-preserving for both processes
                xb = torch.flip(xb, dims=(3,))
            elif epoch % 3 == 2:
                xb = torch.flip(xb, dims=(2,))
            loss = loss_fn(torch.log(net(xb) + 1e-7), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()


def _method(unfreeze: int) -> str:
    if unfreeze == 0:
        return "frozen backbone, trained head"
    return f"trained head, last {unfreeze} of {len(_BACKBONE)} convolution blocks unfrozen"


def finetune(
    data: LabelledImages,
    base: Path,
    out: Path,
    *,
    options: FinetuneOptions | None = None,
) -> FinetuneReport:
    """Fine-tune ``base`` on ``data``; write ``model.onnx``, ``record.json`` and
    ``confusion.png`` under ``out``. Returns the report (``accepted`` says whether the
    tuned model beat the base)."""
    options = options or FinetuneOptions()
    if not 0 <= options.unfreeze_blocks <= len(_BACKBONE):
        raise InputError(f"--unfreeze must be between 0 and {len(_BACKBONE)}, not {options.unfreeze_blocks}")
    torch = _torch()
    torch.set_num_threads(max(1, options.threads))
    t0 = time.perf_counter()
    train_idx, val_idx = split_by_content(data, validation=options.validation, seed=options.seed)
    train, val = data.subset(train_idx), data.subset(val_idx)
    if len(val) == 0 or len(train) == 0:
        raise ValidationError(f"{len(data)} images are too few to split into training and validation")
    assert not set(train.hashes) & set(val.hashes)  # split_by_content's promise, checked where it matters

    net = build_deployed(base_weights(base))
    _train(net, train.images, train.labels, options)
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / MODEL_NAME
    export_onnx(net, model_path)

    base_eval = evaluate(val.labels, predict(base, val.images))
    tuned_eval = evaluate(val.labels, predict(model_path, val.images))
    gain = tuned_eval.macro_f1 - base_eval.macro_f1
    accepted = gain >= options.min_gain and tuned_eval.defect_f1 >= base_eval.defect_f1
    if accepted:
        reason = f"macro F1 +{gain:.3f} (needs +{options.min_gain}) and defect F1 not lower"
    elif gain < options.min_gain:
        reason = f"macro F1 {gain:+.3f} is below the required +{options.min_gain}: not better than the base"
    else:
        reason = f"defect F1 fell {base_eval.defect_f1:.3f} -> {tuned_eval.defect_f1:.3f}: not better than the base"
    draw_confusion(out / CONFUSION_FILE, base_eval, tuned_eval)
    from qualitas.edge_adapters.vision.drift import DriftReference, frame_features

    # the drift watch compares live frames with what the tuned model was trained on
    DriftReference.from_features(frame_features(train.images, embed(model_path, train.images))).save(out / DRIFT_FILE)
    from qualitas.audit import file_sha256

    report = FinetuneReport(
        model_sha256=file_sha256(model_path),
        parent_sha256=file_sha256(base),
        train_sha256=train.digest(),
        validation_sha256=val.digest(),
        train_images=len(train),
        validation_images=len(val),
        method=_method(options.unfreeze_blocks),
        options=asdict(options),
        base=base_eval,
        tuned=tuned_eval,
        accepted=accepted,
        reason=reason,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - t0, 2),
        files={"model": MODEL_NAME, "confusion": CONFUSION_FILE, "drift_reference": DRIFT_FILE},
    )
    (out / RECORD_FILE).write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    (out / "validation.txt").write_text("\n".join(sorted(val.hashes)) + "\n", encoding="utf-8")
    (out / "train.txt").write_text("\n".join(sorted(train.hashes)) + "\n", encoding="utf-8")
    return report


def draw_confusion(path: Path, base: Evaluation, tuned: Evaluation) -> None:
    """Both confusion matrices side by side as a PNG (rows: truth, columns: predicted)."""
    from PIL import Image, ImageDraw

    cell, left, top = 46, 120, 40
    n = len(CLASSES)
    width = 2 * (left + n * cell) + 20
    im = Image.new("RGB", (width, top + n * cell + 60), "white")
    draw = ImageDraw.Draw(im)
    for k, (title, ev) in enumerate((("base", base), ("tuned", tuned))):
        x0 = k * (left + n * cell + 20) + left
        draw.text((x0, 8), f"{title}: macro F1 {ev.macro_f1:.3f}, defect F1 {ev.defect_f1:.3f}", fill="black")
        matrix = np.array(ev.confusion)
        peak = max(1, int(matrix.max()))
        for r in range(n):
            draw.text((x0 - left + 4, top + r * cell + cell // 2 - 5), CLASSES[r], fill="black")
            for c in range(n):
                shade = 255 - int(200 * matrix[r, c] / peak)
                color = (shade, shade, 255) if r == c else (255, shade, shade)
                box = (x0 + c * cell, top + r * cell, x0 + (c + 1) * cell - 2, top + (r + 1) * cell - 2)
                draw.rectangle(box, fill=color)
                draw.text((box[0] + 12, box[1] + 16), str(int(matrix[r, c])), fill="black")
        for c in range(n):
            draw.text((x0 + c * cell + 2, top + n * cell + 6 + 12 * (c % 2)), CLASSES[c][:10], fill="black")
    draw.text((8, top + n * cell + 40), "rows: truth, columns: predicted", fill="black")
    im.save(path)
