"""A camera as an edge source: frames (folder, files or an iterator) -> inspection signals.

Each frame yields three samples: ``<prefix>.void_probability``,
``<prefix>.burr_probability`` and ``<prefix>.defect`` (1.0 or 0.0), which rules and
SPC read like any PLC signal.

With ``station``, the model is the one the registry deploys there, followed live (a
deployment or rollback takes effect at the next frame after the runner's next flush).
The adapter numbers its frames and keeps, per model, the range of frames it judged;
the run's summary records them as ``q:InspectionSegment`` s, so every frame maps to the
model that judged it. With ``drift``, a :class:`DriftMonitor` watches the frames and
yields ``<prefix>.drift_psi`` each check, and a ``drift`` alarm when it crosses its
threshold.

The adapter remembers its last :data:`RECENT_FRAMES` frames by their samples' time, so
the runner can keep the frame an alarm fired on (:meth:`VisionAdapter.frame_for`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import cycle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qualitas.audit import file_sha256
from qualitas.edge_adapters._model import Alarm, Sample
from qualitas.edge_adapters.config import VisionSource
from qualitas.edge_adapters.vision.drift import DriftMonitor, DriftReference, frame_features
from qualitas.edge_adapters.vision.inference import (
    MODEL_FILE,
    Frame,
    InspectionVerdict,
    VisionInspector,
    _to_gray,
    frames_from,
)

if TYPE_CHECKING:
    from qualitas.store import GraphStore

#: Frames remembered for :meth:`VisionAdapter.frame_for` (at 120 fps, two seconds of lag
#: between a frame and the alarm its samples raise). A file frame is kept as its path; an
#: array over :data:`_KEEP_ARRAY_BYTES` as the 64x64 grayscale the model judged.
RECENT_FRAMES = 256
_KEEP_ARRAY_BYTES = 256 * 1024


@dataclass
class Segment:
    """Consecutive frames judged by one model (frame numbers from 1 in the run)."""

    model_sha256: str
    first: int
    last: int
    first_ts: float
    last_ts: float


def verdict_samples(verdict: InspectionVerdict, *, prefix: str, source: str, ts: float) -> list[Sample]:
    return [
        Sample(f"{prefix}.void_probability", verdict.void_probability, ts, source),
        Sample(f"{prefix}.burr_probability", verdict.burr_probability, ts, source),
        Sample(f"{prefix}.defect", 1.0 if verdict.defect else 0.0, ts, source),
    ]


def _default_reference(model: Path) -> DriftReference:
    """The bundled model's training distribution: frames from its generator."""
    from qualitas.edge_adapters.vision.generator import generate

    images, _ = generate(400, seed=7)  # train.py's training seed
    return DriftReference.from_features(frame_features(images, VisionInspector(model)._run(images)))


class VisionAdapter:
    def __init__(
        self,
        spec: VisionSource,
        sink: Callable[[Sample], None],
        *,
        frames: Iterable[Frame] | None = None,
        store: GraphStore | None = None,
        alarm: Callable[[Alarm], None] | None = None,
    ) -> None:
        self.spec = spec
        self.sink = sink
        self.alarm = alarm
        self.registry: Any = None
        model = spec.model
        if model is None and spec.station is not None and store is not None:
            from qualitas.edge_adapters.vision.registry import ModelRegistry

            self.registry = ModelRegistry(store, files=None, actor="edge")
            model = self.registry.current_file(spec.station)
        self.inspector = VisionInspector(model)
        self.model_sha256 = file_sha256(self.inspector.path)
        self.segments: list[Segment] = []
        self.frame_no = 0
        self.drift: DriftMonitor | None = None
        self.drifting = False
        if spec.drift is not None:
            self.drift = DriftMonitor(
                self._reference(spec.drift.reference),
                window=spec.drift.window,
                every=spec.drift.every,
                threshold=spec.drift.threshold,
            )
        self.frames = frames
        self.received = 0
        self.reconnects = 0
        self.connected = asyncio.Event()
        self.last_error: str | None = None
        self.finished = False  # every frame inspected (not looping): done, not down
        self._stop = asyncio.Event()
        self.recent: OrderedDict[float, Frame] = OrderedDict()

    @property
    def name(self) -> str:
        return self.spec.name

    def stop(self) -> None:
        self._stop.set()

    def _reference(self, configured: Path | None) -> DriftReference:
        if configured is not None:
            return DriftReference.load(configured)
        from qualitas.edge_adapters.vision.registry import drift_reference_file

        beside = drift_reference_file(self.inspector.path)
        if beside.is_file():
            return DriftReference.load(beside)
        if self.inspector.path.resolve() == MODEL_FILE.resolve():
            return _default_reference(self.inspector.path)
        from qualitas.errors import ConfigError

        raise ConfigError(f"vision source {self.spec.name}: drift needs a reference for {self.inspector.path}")

    def follow_deployment(self) -> None:
        """Switch to the model now deployed at the station, if it changed (a rollback)."""
        if self.registry is None or self.spec.station is None:
            return
        path = self.registry.current_file(self.spec.station)
        if path != self.inspector.path:
            self.inspector = VisionInspector(path)
            self.model_sha256 = file_sha256(path)
            if self.drift is not None and self.spec.drift is not None and self.spec.drift.reference is None:
                self.drift = DriftMonitor(
                    self._reference(None),
                    window=self.spec.drift.window,
                    every=self.spec.drift.every,
                    threshold=self.spec.drift.threshold,
                )

    def _judged(self, ts: float) -> None:
        self.frame_no += 1
        last = self.segments[-1] if self.segments else None
        if last is not None and last.model_sha256 == self.model_sha256 and last.last == self.frame_no - 1:
            last.last, last.last_ts = self.frame_no, ts
        else:
            self.segments.append(Segment(self.model_sha256, self.frame_no, self.frame_no, ts, ts))

    def _watch(self, gray: np.ndarray, verdict: InspectionVerdict, prefix: str, ts: float) -> None:
        if self.drift is None:
            return
        probs = np.array([list(verdict.probabilities.values())])
        check = self.drift.add(frame_features(gray[None], probs))
        if check is None:
            return
        self.sink(Sample(f"{prefix}.drift_psi", check.max_psi, ts, self.spec.name))
        if check.drifted and not self.drifting and self.alarm is not None:
            self.alarm(
                Alarm(
                    id=str(uuid.uuid4()),
                    kind="drift",
                    signal=f"{prefix}.drift_psi",
                    rule="psi",
                    severity="warning",
                    message=f"{self.spec.name}: image distribution drifted from the model's training data; "
                    + check.line(),
                    ts=ts,
                    value=check.max_psi,
                )
            )
        self.drifting = check.drifted

    def _remember(self, ts: float, frame: Frame, gray: np.ndarray) -> None:
        if not isinstance(frame, str | Path) and np.asarray(frame).nbytes > _KEEP_ARRAY_BYTES:
            frame = gray
        self.recent[ts] = frame
        while len(self.recent) > RECENT_FRAMES:
            self.recent.popitem(last=False)

    def frame_for(self, alarm: Alarm) -> Frame | None:
        """The frame whose samples raised ``alarm``: the newest evidence from this source,
        else (a drift alarm, an SPC alarm on one of its signals) the frame at the alarm's
        time; None if the alarm is not this camera's or the frame is no longer remembered."""
        prefix = (self.spec.signal_prefix or self.spec.name) + "."
        for hit in reversed(alarm.evidence):
            if hit.source == self.spec.name and hit.ts in self.recent:
                return self.recent[hit.ts]
        if alarm.signal.startswith(prefix):
            return self.recent.get(alarm.ts)
        return None

    def segment_triples(self, *, run_id: str) -> list[Any]:
        from qualitas.edge_adapters.vision.registry import segment_triples

        return segment_triples(self.segments, run_id=run_id, source=self.spec.name)

    def _source(self) -> Iterator[Frame]:
        if self.frames is not None:
            return iter(self.frames)
        paths: list[Frame] = list(self.spec.files)
        if self.spec.folder is not None:
            paths += list(frames_from(self.spec.folder))
        return cycle(paths) if self.spec.loop and paths else iter(paths)

    async def run(self) -> None:
        prefix = self.spec.signal_prefix or self.spec.name
        period = 1.0 / self.spec.fps if self.spec.fps > 0 else 0.0
        self.connected.set()
        next_at = time.monotonic()
        for frame in self._source():
            if self._stop.is_set():
                break
            gray, _ = _to_gray(frame)
            verdict = self.inspector.inspect(gray)
            ts = time.time()
            self._judged(ts)
            self._remember(ts, frame, gray)
            for sample in verdict_samples(verdict, prefix=prefix, source=self.spec.name, ts=ts):
                self.sink(sample)
            self._watch(gray, verdict, prefix, ts)
            self.received += 1
            next_at += period
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), max(0.0, next_at - time.monotonic()))
        self.finished = not self._stop.is_set()
        self.connected.clear()
