"""The unsupervised drift watch (issue 19, item 3): quiet on an unshifted stream, an
alarm on a shifted one, both in the library and through ``edge run``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from qualitas.cli import app
from qualitas.edge_adapters.vision.drift import DriftMonitor, DriftReference, compare, frame_features, ks_statistic
from qualitas.edge_adapters.vision.finetune import embed
from qualitas.edge_adapters.vision.generator import PLANT_B, generate, generate_plant
from qualitas.edge_adapters.vision.inference import MODEL_FILE
from qualitas.store import open_store


def _features(images: np.ndarray) -> np.ndarray:
    return frame_features(images, embed(MODEL_FILE, images))


@pytest.fixture(scope="module")
def reference() -> DriftReference:
    images, _ = generate(400, seed=7)
    return DriftReference.from_features(_features(images))


@pytest.mark.parametrize("seed", [101, 202, 303])
def test_unshifted_stream_stays_quiet(reference: DriftReference, seed: int) -> None:
    images, _ = generate(200, seed=seed)
    check = compare(reference, _features(images))
    assert not check.drifted, check.line()
    assert check.max_psi < 0.15


def test_shifted_stream_alarms(reference: DriftReference) -> None:
    images, _ = generate_plant(200, seed=404)
    check = compare(reference, _features(images))
    assert check.drifted, check.line()
    assert check.ks["sharpness"] > 0.5  # the vibration blur is what the camera shows first


def test_alarm_comes_before_f1_drops(reference: DriftReference) -> None:
    """A mild version of plant B (30 % of its shift) barely moves F1 but already alarms."""
    from qualitas.edge_adapters.vision.inference import f1_scores

    k = 0.3
    mild = replace(
        PLANT_B,
        gain=1 - (1 - PLANT_B.gain) * k,
        gradient=PLANT_B.gradient * k,
        gamma=1 + (PLANT_B.gamma - 1) * k,
        knee=1 - (1 - PLANT_B.knee) * k,
        vibration_px=(1, 2),
        dust=(0, 2),
        noise_sigma=PLANT_B.noise_sigma * k,
    )
    images, labels = generate_plant(300, seed=505, plant=mild)
    probs = embed(MODEL_FILE, images)
    clean, clean_labels = generate(300, seed=505)
    f1_mild = f1_scores(labels, probs.argmax(1)).macro_f1
    f1_clean = f1_scores(clean_labels, embed(MODEL_FILE, clean).argmax(1)).macro_f1
    assert f1_clean - f1_mild < 0.03, (f1_clean, f1_mild)
    assert compare(reference, frame_features(images, probs)).drifted


def test_monitor_window_and_ks() -> None:
    rng = np.random.default_rng(0)
    ref = DriftReference.from_features(rng.normal(size=(500, 5)))
    monitor = DriftMonitor(ref, window=100, every=25)
    assert monitor.add(rng.normal(size=(99, 5))) is None  # not full yet
    check = monitor.add(rng.normal(size=(1, 5)))
    assert check is not None and not check.drifted
    assert ks_statistic(np.arange(100.0), np.arange(100.0) + 1000) == 1.0


EDGE = """
run: {{id: {run}, equipment: AOI-1}}
agent: edge-test
series_dir: series
sources:
  - kind: vision
    name: aoi
    folder: {folder}
    fps: 0
    drift: {{window: 60, every: 20}}
"""


@pytest.mark.parametrize(("plant", "alarms"), [("a", 0), ("b", 1)])
def test_edge_run_raises_a_drift_alarm_on_a_shifted_camera(tmp_path: Path, plant: str, alarms: int) -> None:
    images, _ = generate(80, seed=606) if plant == "a" else generate_plant(80, seed=606)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, img in enumerate(images):
        Image.fromarray(img).save(folder / f"f{i:03d}.png")
    (tmp_path / "edge.yaml").write_text(EDGE.format(run=f"RUN-{plant}", folder="frames"), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["edge", "run", str(tmp_path / "edge.yaml"), "--duration", "2.5", "--store", str(tmp_path / "store")]
    )
    assert result.exit_code == 0, result.output
    assert f"{alarms} alarms" in result.output
    store = open_store(tmp_path / "store", read_only=True)
    try:
        rows = store.select('SELECT ?m WHERE { ?a q:alarmKind "drift" ; q:message ?m }')
        psi = store.select('SELECT ?n WHERE { ?s q:signal "aoi.drift_psi" ; a q:RawSeries ; q:sampleCount ?n }')
    finally:
        store.close()
    assert len(rows) == alarms
    assert [int(r["n"]) for r in psi] == [2]  # frames 60 and 80: one PSI value per check
