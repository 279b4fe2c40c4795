"""Unsupervised drift watch: are live frames still like the ones the model was trained on?

No labels are needed. Each frame is reduced to a small feature vector: what the camera
delivers (mean brightness, contrast, sharpness as the variance of the Laplacian) and how
the model sees it (its confidence, the top class probability, and the entropy of its
class probabilities). The reference is the same vector over the model's training
images. A window of live frames is compared with the reference channel by channel with
the population stability index

    PSI = sum_i (live_i - ref_i) * ln(live_i / ref_i)

over ten reference-quantile bins (Siddiqi, *Credit Risk Scorecards*, Wiley 2006, ch. 8:
below 0.1 no shift, 0.1-0.25 a moderate one, above 0.25 a significant one), and with the
two-sample Kolmogorov-Smirnov statistic (largest gap between the two empirical CDFs),
reported beside it. The alarm fires when any channel's PSI is above ``threshold``
(0.25 by default). Lighting, vibration blur, dust and a new camera curve move the image
channels at once, usually well before enough wrong verdicts pile up to move F1.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qualitas.errors import InputError

CHANNELS = ("brightness", "contrast", "sharpness", "confidence", "entropy")
BINS = 10
PSI_THRESHOLD = 0.25
_EPS = 1e-4


def frame_features(images: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """``[n, len(CHANNELS)]`` features of uint8 frames ``[n, H, W]`` and their class probabilities."""
    x = images.astype(np.float32) / 255
    lap = x[:, 1:-1, 1:-1] * 4 - x[:, :-2, 1:-1] - x[:, 2:, 1:-1] - x[:, 1:-1, :-2] - x[:, 1:-1, 2:]
    p = np.clip(probabilities.astype(np.float64), 1e-9, 1.0)
    return np.stack(
        [
            x.mean(axis=(1, 2)),
            x.std(axis=(1, 2)),
            lap.var(axis=(1, 2)),
            p.max(axis=1),
            -(p * np.log(p)).sum(axis=1),
        ],
        axis=1,
    )


def psi(reference_fractions: np.ndarray, live_fractions: np.ndarray) -> float:
    r = np.maximum(reference_fractions, _EPS)
    live = np.maximum(live_fractions, _EPS)
    return float(np.sum((live - r) * np.log(live / r)))


def ks_statistic(reference: np.ndarray, live: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic sup |F_ref - F_live|."""
    ref, liv = np.sort(reference), np.sort(live)
    grid = np.concatenate([ref, liv])
    cdf_r = np.searchsorted(ref, grid, side="right") / len(ref)
    cdf_l = np.searchsorted(liv, grid, side="right") / len(liv)
    return float(np.max(np.abs(cdf_r - cdf_l)))


@dataclass(frozen=True)
class DriftReference:
    """Per channel: inner quantile edges of the reference, the fraction of reference
    frames in each bin, and a sorted sample of reference values (for KS)."""

    channels: tuple[str, ...]
    edges: list[list[float]]
    fractions: list[list[float]]
    sample: list[list[float]]
    frames: int

    @classmethod
    def from_features(cls, features: np.ndarray, *, sample_size: int = 500) -> DriftReference:
        if len(features) < 2 * BINS:
            raise InputError(f"a drift reference needs at least {2 * BINS} frames, got {len(features)}")
        edges, fractions, sample = [], [], []
        rng = np.random.default_rng(0)
        for c in range(features.shape[1]):
            values = features[:, c]
            inner = np.unique(np.quantile(values, np.linspace(0, 1, BINS + 1)[1:-1]))
            counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)
            edges.append(inner.tolist())
            fractions.append((counts / counts.sum()).tolist())
            pick = rng.choice(len(values), size=min(sample_size, len(values)), replace=False)
            sample.append(np.sort(values[pick]).tolist())
        return cls(CHANNELS, edges, fractions, sample, len(features))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> DriftReference:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            ref = cls(tuple(data["channels"]), data["edges"], data["fractions"], data["sample"], int(data["frames"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"cannot read drift reference {path}: {exc}", file=str(path)) from exc
        if ref.channels != CHANNELS:
            raise InputError(f"{path}: drift reference channels {ref.channels} are not {CHANNELS}", file=str(path))
        return ref


@dataclass(frozen=True)
class DriftCheck:
    """One window of live frames against the reference."""

    frames: int
    psi: dict[str, float]
    ks: dict[str, float]
    threshold: float

    @property
    def max_psi(self) -> float:
        return max(self.psi.values())

    @property
    def worst_channel(self) -> str:
        return max(self.psi, key=self.psi.__getitem__)

    @property
    def drifted(self) -> bool:
        return self.max_psi > self.threshold

    def line(self) -> str:
        state = "DRIFT" if self.drifted else "stable"
        parts = ", ".join(f"{c} {self.psi[c]:.3f}" for c in self.psi)
        return f"{state}: max PSI {self.max_psi:.3f} ({self.worst_channel}) over {self.frames} frames; PSI {parts}"


def compare(reference: DriftReference, features: np.ndarray, *, threshold: float = PSI_THRESHOLD) -> DriftCheck:
    psis, kss = {}, {}
    for c, name in enumerate(reference.channels):
        edges = np.asarray(reference.edges[c])
        counts = np.bincount(np.searchsorted(edges, features[:, c], side="right"), minlength=len(edges) + 1)
        psis[name] = psi(np.asarray(reference.fractions[c]), counts / max(1, counts.sum()))
        kss[name] = ks_statistic(np.asarray(reference.sample[c]), features[:, c])
    return DriftCheck(len(features), psis, kss, threshold)


class DriftMonitor:
    """A sliding window of live frame features, checked every ``every`` frames once full."""

    def __init__(
        self, reference: DriftReference, *, window: int = 200, every: int = 50, threshold: float = PSI_THRESHOLD
    ) -> None:
        if window < 2 * BINS:
            raise InputError(f"drift window must be at least {2 * BINS} frames, not {window}")
        self.reference = reference
        self.window: deque[np.ndarray] = deque(maxlen=window)
        self.every = max(1, every)
        self.threshold = threshold
        self.seen = 0
        self.last: DriftCheck | None = None

    def add(self, features: Iterable[np.ndarray]) -> DriftCheck | None:
        """Add frames' feature rows; returns a check when one is due."""
        check = None
        for row in features:
            self.window.append(np.asarray(row))
            self.seen += 1
            if len(self.window) == self.window.maxlen and self.seen % self.every == 0:
                check = compare(self.reference, np.stack(self.window), threshold=self.threshold)
                self.last = check
        return check
