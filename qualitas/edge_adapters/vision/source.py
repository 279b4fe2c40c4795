"""A camera as an edge source: frames (folder, files or an iterator) -> inspection signals.

Each frame yields three samples: ``<prefix>.void_probability``,
``<prefix>.burr_probability`` and ``<prefix>.defect`` (1.0 or 0.0), which rules and
SPC read like any PLC signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import cycle

from qualitas.edge_adapters._model import Sample
from qualitas.edge_adapters.config import VisionSource
from qualitas.edge_adapters.vision.inference import Frame, InspectionVerdict, VisionInspector, frames_from


def verdict_samples(verdict: InspectionVerdict, *, prefix: str, source: str, ts: float) -> list[Sample]:
    return [
        Sample(f"{prefix}.void_probability", verdict.void_probability, ts, source),
        Sample(f"{prefix}.burr_probability", verdict.burr_probability, ts, source),
        Sample(f"{prefix}.defect", 1.0 if verdict.defect else 0.0, ts, source),
    ]


class VisionAdapter:
    def __init__(
        self, spec: VisionSource, sink: Callable[[Sample], None], *, frames: Iterable[Frame] | None = None
    ) -> None:
        self.spec = spec
        self.sink = sink
        self.inspector = VisionInspector(spec.model)
        self.frames = frames
        self.received = 0
        self.reconnects = 0
        self.connected = asyncio.Event()
        self.last_error: str | None = None
        self.finished = False  # every frame inspected (not looping): done, not down
        self._stop = asyncio.Event()

    @property
    def name(self) -> str:
        return self.spec.name

    def stop(self) -> None:
        self._stop.set()

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
            verdict = self.inspector.inspect(frame)
            for sample in verdict_samples(verdict, prefix=prefix, source=self.spec.name, ts=time.time()):
                self.sink(sample)
            self.received += 1
            next_at += period
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), max(0.0, next_at - time.monotonic()))
        self.finished = not self._stop.is_set()
        self.connected.clear()
