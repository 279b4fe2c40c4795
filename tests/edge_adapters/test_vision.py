"""Vision: the synthetic defect generator, F1 of the committed ONNX model on a held-out
synthetic set (fixed seed), and frames from files, a folder or an iterator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from qualitas.edge_adapters.vision.generator import CLASSES, DISTURBANCES, SIZE, generate, stream
from qualitas.edge_adapters.vision.inference import MODEL_FILE, VisionInspector, f1_scores
from qualitas.errors import InputError

HELD_OUT_SEED = 20240601  # training used seeds 7 (train) and 1007 (validation)


@pytest.fixture(scope="module")
def inspector() -> VisionInspector:
    return VisionInspector()


def test_generator_models_at_least_twelve_disturbances_and_is_deterministic() -> None:
    assert len(DISTURBANCES) >= 12 and len(set(DISTURBANCES)) == len(DISTURBANCES)
    a, ya = generate(16, seed=3)
    b, yb = generate(16, seed=3)
    assert a.shape == (16, SIZE, SIZE) and a.dtype == np.uint8
    assert np.array_equal(a, b) and np.array_equal(ya, yb)
    assert sorted(np.bincount(ya, minlength=len(CLASSES))) == [4, 4, 4, 4]
    assert not np.array_equal(a, generate(16, seed=4)[0])


def test_model_is_small_and_f1_on_held_out_synthetic_set(inspector: VisionInspector) -> None:
    assert MODEL_FILE.stat().st_size < 2 * 1024 * 1024
    images, labels = generate(400, seed=HELD_OUT_SEED)
    predicted = np.array([v.label_index for v in inspector.inspect_many(images)])
    scores = f1_scores(labels, predicted)
    assert scores.defect_f1 >= 0.92, scores
    assert scores.macro_f1 >= 0.90, scores


def test_frames_from_files_folder_and_iterator(inspector: VisionInspector, tmp_path: Path) -> None:
    frames = stream(seed=11, labels=(1, 0, 3, 2))
    arrays = [next(frames).image for _ in range(4)]
    for i, img in enumerate(arrays):
        Image.fromarray(img).resize((128, 128)).convert("RGB").save(tmp_path / f"frame{i}.png")
    from_folder = list(inspector.inspect_many(tmp_path))
    assert [Path(v.source).name for v in from_folder] == [f"frame{i}.png" for i in range(4)]
    one = inspector.inspect(tmp_path / "frame0.png")
    assert one.label == from_folder[0].label and abs(sum(one.probabilities.values()) - 1) < 1e-4
    from_iter = list(inspector.inspect_many(iter(arrays)))
    assert len(from_iter) == 4 and all(v.source == "array" for v in from_iter)
    with pytest.raises(InputError):
        list(inspector.inspect_many(tmp_path / "missing"))
