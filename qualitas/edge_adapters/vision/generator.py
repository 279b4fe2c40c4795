"""Synthetic defect generator: the brief's "digital-twin defect library".

Renders small grayscale inspection frames of two processes, each good or defective:

=====  ================  ==============================================================
class  name              what the frame shows
=====  ================  ==============================================================
0      ``pcb_ok``        X-ray-style top view of a solder joint on a pad, no void
                         (at most a micro-void well under the acceptance limit)
1      ``pcb_void``      the same joint with one or more gas voids (IPC-7095 style)
2      ``electrode_ok``  coated battery electrode: coating / bare-foil edge, smooth
3      ``electrode_burr`` the same edge with burrs protruding into the foil
=====  ================  ==============================================================

Every frame is drawn in continuous coordinates (so rotation, shift and scale need no
resampling) and then passes through the process and camera disturbances listed in
:data:`DISTURBANCES`; each one is drawn at random per frame from the ranges in
:class:`Disturbances`, so a model trained on them is robust to the same drift on the
line. Only numpy is needed; the same seed always yields the same frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

SIZE = 64
CLASSES = ("pcb_ok", "pcb_void", "electrode_ok", "electrode_burr")
DEFECT_CLASSES = frozenset({1, 3})

#: The process and imaging disturbance sources the generator models (>= 12 by the issue).
DISTURBANCES = (
    "lighting_gain",  # lamp ageing: global brightness
    "lighting_gradient",  # uneven illumination across the field
    "vignetting",  # lens fall-off at the corners
    "glare",  # specular highlight from the solder or foil
    "contrast",  # camera gain / X-ray tube drift
    "defocus_blur",  # focus drift (Gaussian blur)
    "motion_blur",  # conveyor vibration (line blur)
    "sensor_noise",  # shot and read noise
    "hot_pixels",  # salt-and-pepper sensor defects
    "rotation",  # part placement angle
    "translation",  # part placement offset
    "scale",  # working-distance / magnification drift
    "void_size",  # gas void radius (defect)
    "void_count",  # number of voids (defect)
    "joint_size",  # solder volume variation
    "edge_burr",  # burr count, length and width (defect)
    "edge_waviness",  # slitting-knife wear: wavy but acceptable edge
    "coating_thickness_drift",  # coating grey level and edge position drift
    "dust",  # particles on the part or the optics
    "scratch",  # handling scratches
    "quantisation",  # 8-bit sensor quantisation
)


@dataclass(frozen=True)
class Disturbances:
    """Ranges of the disturbances (uniform draws). Widen them to make a harder set."""

    gain: tuple[float, float] = (0.7, 1.3)
    gradient: float = 0.25
    vignetting: float = 0.35
    glare_p: float = 0.3
    contrast: tuple[float, float] = (0.7, 1.2)
    blur_sigma: tuple[float, float] = (0.0, 1.1)
    motion_p: float = 0.3
    noise_sigma: tuple[float, float] = (0.005, 0.05)
    hot_pixel_p: float = 0.004
    rotation_deg: float = 25.0
    shift_px: float = 5.0
    scale: tuple[float, float] = (0.85, 1.15)
    dust_max: int = 4
    scratch_p: float = 0.3


def _grid(rng: np.random.Generator, d: Disturbances) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates in the part's frame: rotated, shifted and scaled."""
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    c = (SIZE - 1) / 2
    angle = np.deg2rad(rng.uniform(-d.rotation_deg, d.rotation_deg))
    scale = rng.uniform(*d.scale)
    dx, dy = rng.uniform(-d.shift_px, d.shift_px, size=2)
    x, y = (xs - c - dx) / scale, (ys - c - dy) / scale
    cos, sin = np.cos(angle), np.sin(angle)
    return cos * x + sin * y, -sin * x + cos * y


def _soft(d: np.ndarray, edge: float = 0.7) -> np.ndarray:
    """Anti-aliased inside (1) / outside (0) of a signed distance (negative inside)."""
    return np.clip(0.5 - d / edge, 0.0, 1.0)


def _pcb(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, defect: bool) -> np.ndarray:
    img = np.full_like(u, rng.uniform(0.12, 0.22))
    pad = np.maximum(np.abs(u) - rng.uniform(18, 23), np.abs(v) - rng.uniform(13, 18))
    img += 0.18 * _soft(pad)
    rx, ry = rng.uniform(12, 18), rng.uniform(9, 14)  # joint_size
    r = np.sqrt((u / rx) ** 2 + (v / ry) ** 2)
    joint = _soft((r - 1.0) * min(rx, ry))
    dome = np.clip(1.0 - r**2, 0.0, 1.0)
    img += joint * (0.45 + 0.2 * dome)
    if defect:
        count = int(rng.integers(1, 5))  # void_count
        for _ in range(count):
            rad = rng.uniform(1.8, 4.2)  # void_size
            a, m = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.7)
            cx, cy = m * (rx - rad) * np.cos(a), m * (ry - rad) * np.sin(a)
            void = _soft(np.sqrt((u - cx) ** 2 + (v - cy) ** 2) - rad, 1.2)
            img -= joint * void * rng.uniform(0.3, 0.45)
    elif rng.random() < 0.3:  # an acceptable micro-void
        a, m = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.6)
        cx, cy = m * rx * np.cos(a), m * ry * np.sin(a)
        img -= joint * _soft(np.sqrt((u - cx) ** 2 + (v - cy) ** 2) - rng.uniform(0.5, 0.9), 1.0) * 0.15
    return img


def _electrode(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, defect: bool) -> np.ndarray:
    coating = rng.uniform(0.18, 0.38)  # coating_thickness_drift (grey level)
    foil = rng.uniform(0.7, 0.9)
    edge0 = rng.uniform(-6, 6)  # coating_thickness_drift (edge position)
    wav_a, wav_f, wav_p = rng.uniform(0, 1.0), rng.uniform(0.1, 0.4), rng.uniform(0, 2 * np.pi)
    edge = edge0 + wav_a * np.sin(wav_f * v + wav_p)  # edge_waviness
    inside = _soft(u - edge)
    grain = 0.03 * np.sin(0.9 * v + rng.uniform(0, 6)) * inside
    img = foil + (coating - foil) * inside + grain
    if defect:
        for _ in range(int(rng.integers(1, 4))):  # edge_burr
            length, width = rng.uniform(3.5, 9.0), rng.uniform(1.0, 2.6)
            vc = rng.uniform(-18, 18)
            t = (u - edge0) / length  # 0 at the edge, 1 at the tip
            half = width * np.clip(1.0 - t, 0.0, 1.0)
            burr = _soft(np.abs(v - vc) - half) * (t >= -0.2) * (t <= 1.0)
            img += (coating + 0.05 - img) * burr * rng.uniform(0.75, 1.0)
    return img


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.3:
        return img
    radius = max(1, int(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.pad(img, radius, mode="edge")
    rows = sum(k[i] * pad[:, i : i + SIZE] for i in range(2 * radius + 1))
    return sum(k[i] * rows[i : i + SIZE, :] for i in range(2 * radius + 1))  # type: ignore[return-value]


def _motion(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    n = int(rng.integers(2, 5))
    axis = int(rng.integers(0, 2))
    return np.mean([np.roll(img, s, axis=axis) for s in range(n)], axis=0)


def _disturb(rng: np.random.Generator, img: np.ndarray, d: Disturbances) -> np.ndarray:
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / (SIZE - 1) - 0.5
    contrast = rng.uniform(*d.contrast)
    img = 0.5 + (img - 0.5) * contrast
    gx, gy = rng.uniform(-d.gradient, d.gradient, size=2)
    img = img * rng.uniform(*d.gain) * (1.0 + gx * xs + gy * ys)
    img *= 1.0 - rng.uniform(0, d.vignetting) * (xs**2 + ys**2) * 2
    if rng.random() < d.glare_p:
        gcx, gcy = rng.uniform(-0.4, 0.4, size=2)
        img += rng.uniform(0.1, 0.3) * np.exp(-((xs - gcx) ** 2 + (ys - gcy) ** 2) / (2 * rng.uniform(0.05, 0.15) ** 2))
    for _ in range(int(rng.integers(0, d.dust_max + 1))):
        px, py = rng.uniform(-0.5, 0.5, size=2)
        rad = rng.uniform(0.4, 0.9) / SIZE
        img -= 0.25 * (((xs - px) ** 2 + (ys - py) ** 2) < rad**2 * 1.5)
    if rng.random() < d.scratch_p:
        a, off = rng.uniform(0, np.pi), rng.uniform(-0.4, 0.4)
        dist = np.abs(np.cos(a) * xs + np.sin(a) * ys - off)
        img += rng.choice([-1, 1]) * 0.08 * (dist < 0.6 / SIZE)
    img = _blur(img, rng.uniform(*d.blur_sigma))
    if rng.random() < d.motion_p:
        img = _motion(rng, img)
    img = img + rng.normal(0, rng.uniform(*d.noise_sigma), size=img.shape)
    hot = rng.random(img.shape) < d.hot_pixel_p
    img[hot] = rng.choice([0.0, 1.0], size=int(hot.sum()))
    return np.round(np.clip(img, 0.0, 1.0) * 255).astype(np.uint8)  # quantisation


def render(rng: np.random.Generator, label: int, *, disturbances: Disturbances | None = None) -> np.ndarray:
    """One ``SIZE`` x ``SIZE`` uint8 frame of class ``label`` (index into :data:`CLASSES`)."""
    d = disturbances or Disturbances()
    u, v = _grid(rng, d)
    img = _pcb(rng, u, v, defect=label == 1) if label in (0, 1) else _electrode(rng, u, v, defect=label == 3)
    return _disturb(rng, img, d)


@dataclass(frozen=True)
class Sample:
    image: np.ndarray  # uint8, SIZE x SIZE
    label: int


def generate(n: int, *, seed: int, disturbances: Disturbances | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` frames with balanced labels: (images uint8 [n, SIZE, SIZE], labels int64 [n])."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.int64) % len(CLASSES)
    rng.shuffle(labels)
    images = np.stack([render(rng, int(y), disturbances=disturbances) for y in labels])
    return images, labels


def stream(*, seed: int, labels: tuple[int, ...] | None = None) -> Iterator[Sample]:
    """An endless iterator of frames (a simulated camera), cycling through ``labels``."""
    rng = np.random.default_rng(seed)
    order = labels or tuple(range(len(CLASSES)))
    i = 0
    while True:
        label = order[i % len(order)]
        yield Sample(render(rng, label), label)
        i += 1


# ---------------------------------------------------------------- another plant's camera


@dataclass(frozen=True)
class PlantProfile:
    """How a second plant's line images the same parts: what a plant-specific
    fine-tune has to absorb. Applied on top of :func:`render`'s frames (which already
    carry the per-frame disturbances), so it is a shift of the whole distribution.

    * ``gain`` / ``gradient``: different lamps, lit from one side;
    * ``gamma`` and ``knee``: a different camera response curve (gamma, then a soft
      highlight knee that compresses bright areas);
    * ``vibration_px``: a stamping press nearby: every frame carries a line blur;
    * ``dust`` / ``dust_radius``: a dusty hall: more, larger particles on the optics.
    """

    name: str = "plant-b"
    gain: float = 0.7
    gradient: float = 0.3
    gamma: float = 1.9
    knee: float = 0.6
    vibration_px: tuple[int, int] = (2, 3)
    dust: tuple[int, int] = (3, 8)
    dust_radius: tuple[float, float] = (0.5, 1.0)
    noise_sigma: float = 0.02


PLANT_B = PlantProfile()


def apply_plant(rng: np.random.Generator, frame: np.ndarray, plant: PlantProfile) -> np.ndarray:
    """``frame`` (uint8) as ``plant``'s camera would have delivered it."""
    img = frame.astype(np.float32) / 255
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / (SIZE - 1) - 0.5
    side = rng.uniform(0, 2 * np.pi)
    img = img * plant.gain * (1.0 + plant.gradient * (np.cos(side) * xs + np.sin(side) * ys))
    n = int(rng.integers(*plant.vibration_px, endpoint=True))
    axis = int(rng.integers(0, 2))
    img = np.mean([np.roll(img, s - n // 2, axis=axis) for s in range(n)], axis=0)
    for _ in range(int(rng.integers(*plant.dust, endpoint=True))):
        px, py = rng.uniform(-0.5, 0.5, size=2)
        rad = rng.uniform(*plant.dust_radius) / SIZE
        img = np.where(((xs - px) ** 2 + (ys - py) ** 2) < rad**2, rng.uniform(0.0, 0.15), img)
    img = np.clip(img, 0.0, 1.0) ** (1.0 / plant.gamma)  # response curve: lifts the shadows
    img = np.where(img > plant.knee, plant.knee + (img - plant.knee) * 0.35, img)  # highlight knee
    img = img + rng.normal(0, plant.noise_sigma, size=img.shape)
    return np.round(np.clip(img, 0.0, 1.0) * 255).astype(np.uint8)


def generate_plant(n: int, *, seed: int, plant: PlantProfile = PLANT_B) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`generate`, as seen by ``plant``'s line (same seed, same frames)."""
    images, labels = generate(n, seed=seed)
    rng = np.random.default_rng([seed, 0x9E3779B9])
    return np.stack([apply_plant(rng, img, plant) for img in images]), labels
