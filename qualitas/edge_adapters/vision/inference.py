"""Vision inspection: the committed ONNX classifier run with onnxruntime on one core.

Frames come from an image file, a folder of image files, an array, or any iterator
of those (a camera driver). Each frame becomes an :class:`InspectionVerdict` with the
class probabilities; ``void_probability`` and ``burr_probability`` are the signals
rules read (``aoi.void_probability > 0.85``, scenario 5 of the design).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qualitas.edge_adapters.vision.generator import CLASSES, DEFECT_CLASSES, SIZE
from qualitas.errors import InputError, MissingExtraError

MODEL_FILE = Path(__file__).with_name("model.onnx")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm"})

Frame = np.ndarray | Path | str


@dataclass(frozen=True)
class InspectionVerdict:
    """The classifier's judgement of one frame."""

    source: str
    label: str
    label_index: int
    probabilities: dict[str, float]
    elapsed_ms: float

    @property
    def defect(self) -> bool:
        return self.label_index in DEFECT_CLASSES

    @property
    def void_probability(self) -> float:
        return self.probabilities["pcb_void"]

    @property
    def burr_probability(self) -> float:
        return self.probabilities["electrode_burr"]

    @property
    def defect_probability(self) -> float:
        return sum(self.probabilities[CLASSES[i]] for i in DEFECT_CLASSES)


@dataclass(frozen=True)
class F1Scores:
    defect_f1: float  # defect (void or burr) vs good, the number the goal is about
    macro_f1: float  # mean F1 over the four classes
    accuracy: float


def f1_scores(truth: np.ndarray, predicted: np.ndarray) -> F1Scores:
    """Binary defect F1, four-class macro F1 and accuracy."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    defects = np.array(sorted(DEFECT_CLASSES))

    def f1(t: np.ndarray, p: np.ndarray) -> float:
        tp = float(np.sum(t & p))
        denom = float(np.sum(t) + np.sum(p))
        return 2 * tp / denom if denom else 1.0

    binary = f1(np.isin(truth, defects), np.isin(predicted, defects))
    macro = float(np.mean([f1(truth == c, predicted == c) for c in range(len(CLASSES))]))
    return F1Scores(binary, macro, float(np.mean(truth == predicted)))


def _load_session(path: Path, threads: int) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise MissingExtraError("onnxruntime", extra="edge") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _to_gray(frame: Frame) -> tuple[np.ndarray, str]:
    if isinstance(frame, str | Path):
        from PIL import Image, UnidentifiedImageError

        path = Path(frame)
        try:
            with Image.open(path) as im:
                gray = im.convert("L")
                if gray.size != (SIZE, SIZE):
                    gray = gray.resize((SIZE, SIZE), Image.Resampling.BILINEAR)
                return np.asarray(gray, dtype=np.uint8), str(path)
        except (OSError, UnidentifiedImageError) as exc:
            raise InputError(f"cannot read image {path}: {exc}", file=str(path)) from exc
    array = np.asarray(frame)
    if array.ndim == 3:
        array = array[..., :3].mean(axis=2) if array.shape[2] >= 3 else array[..., 0]
    if array.shape != (SIZE, SIZE):
        from PIL import Image

        array = np.asarray(
            Image.fromarray(array.astype(np.uint8)).resize((SIZE, SIZE), Image.Resampling.BILINEAR), dtype=np.uint8
        )
    return array, "array"


def frames_from(source: Frame | Iterable[Frame]) -> Iterator[Frame]:
    """Frames from an image file, every image in a folder (sorted by name), one array,
    or an iterator of any of these."""
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.exists():
            yield path
        else:
            raise InputError(f"no such image or folder: {path}", file=str(path))
    elif isinstance(source, np.ndarray) and source.ndim == 2:
        yield source
    else:
        yield from source  # type: ignore[misc]


class VisionInspector:
    """onnxruntime session over the committed model; one core by default (``threads=1``)."""

    def __init__(self, model: Path | str | None = None, *, threads: int = 1) -> None:
        self.path = Path(model) if model is not None else MODEL_FILE
        if not self.path.exists():
            raise InputError(f"vision model not found: {self.path}", file=str(self.path))
        self.session = _load_session(self.path, threads)
        self._input = self.session.get_inputs()[0].name

    def _run(self, batch: np.ndarray) -> np.ndarray:
        x = batch.astype(np.float32).reshape(-1, 1, SIZE, SIZE) * np.float32(1 / 255)
        return self.session.run(None, {self._input: x})[0]  # type: ignore[no-any-return]

    def inspect(self, frame: Frame) -> InspectionVerdict:
        t0 = time.perf_counter()
        gray, name = _to_gray(frame)
        probs = self._run(gray)[0]
        elapsed = (time.perf_counter() - t0) * 1000
        index = int(np.argmax(probs))
        return InspectionVerdict(
            source=name,
            label=CLASSES[index],
            label_index=index,
            probabilities={c: float(p) for c, p in zip(CLASSES, probs, strict=True)},
            elapsed_ms=elapsed,
        )

    def inspect_many(self, source: Frame | Iterable[Frame]) -> Iterator[InspectionVerdict]:
        """Inspect frame by frame (as a camera delivers them), from any source
        :func:`frames_from` accepts, or a stacked uint8 array ``[n, SIZE, SIZE]``."""
        if isinstance(source, np.ndarray) and source.ndim == 3:
            source = iter(source)
        for frame in frames_from(source):
            yield self.inspect(frame)
