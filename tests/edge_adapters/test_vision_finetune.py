"""Per-plant fine-tuning (issue 19, item 1): a small plant-B set through the real CLI.

The tuned model must beat the base on the held-out split of the same images, the split
must keep every image on one side, and a model trained on scrambled labels is refused
(not registered, not deployed)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from qualitas.cli import app
from qualitas.edge_adapters.vision.finetune import (
    DRIFT_FILE,
    FinetuneReport,
    LabelledImages,
    image_sha256,
    load_labelled,
    predict,
    split_by_content,
    write_labelled,
)
from qualitas.edge_adapters.vision.generator import CLASSES, generate_plant
from qualitas.edge_adapters.vision.inference import MODEL_FILE, f1_scores
from qualitas.errors import ValidationError

pytest.importorskip("torch", reason="fine-tuning needs the train extra")  # CI installs it via [test]

runner = CliRunner()


@pytest.fixture(scope="module")
def plant_b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plant_b")
    images, labels = generate_plant(240, seed=31)
    write_labelled(folder, images, labels)
    return folder


def _finetune(images: Path, labels: Path, out: Path, *extra: str) -> object:
    return runner.invoke(
        app,
        [
            "edge", "vision", "finetune", "--images", str(images), "--labels", str(labels),
            "--base", str(MODEL_FILE), "--out", str(out), "--epochs", "25", "--threads", "1", *extra,
        ],
    )  # fmt: skip


def test_finetune_improves_validation_f1_on_a_shifted_plant(plant_b: Path, tmp_path: Path) -> None:
    result = _finetune(plant_b, plant_b / "labels.csv", tmp_path / "tuned")
    assert result.exit_code == 0, result.output
    report = FinetuneReport.read(tmp_path / "tuned")
    assert report.accepted
    assert report.tuned.macro_f1 > report.base.macro_f1 + 0.05, report.summary()
    assert report.tuned.defect_f1 >= report.base.defect_f1
    assert report.train_images + report.validation_images == 240
    assert set(report.base.per_class) == set(CLASSES)
    for name in ("model.onnx", "confusion.png", DRIFT_FILE, "record.json"):
        assert (tmp_path / "tuned" / name).stat().st_size > 0
    # the two hashes in the record are the sets' identities, and the sets do not overlap
    train = set((tmp_path / "tuned" / "train.txt").read_text().split())
    val = set((tmp_path / "tuned" / "validation.txt").read_text().split())
    assert train and val and not train & val
    data = load_labelled(plant_b, plant_b / "labels.csv")
    in_val = np.array([h in val for h in data.hashes])
    assert data.subset(np.flatnonzero(in_val)).digest() == report.validation_sha256
    assert data.subset(np.flatnonzero(~in_val)).digest() == report.train_sha256
    # the exported file is one self-contained ONNX graph at the pinned opset
    import onnx

    proto = onnx.load(str(tmp_path / "tuned" / "model.onnx"))
    assert [o.version for o in proto.opset_import if o.domain == ""] == [18]
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    # and it is better on fresh plant-B frames too, not only on its validation split
    fresh, truth = generate_plant(200, seed=32)
    base_f1 = f1_scores(truth, predict(MODEL_FILE, fresh)).macro_f1
    tuned_f1 = f1_scores(truth, predict(tmp_path / "tuned" / "model.onnx", fresh)).macro_f1
    assert tuned_f1 > base_f1, (base_f1, tuned_f1)


def test_a_model_not_better_than_the_base_is_refused(plant_b: Path, tmp_path: Path) -> None:
    with (plant_b / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    rng = np.random.default_rng(0)
    scrambled = tmp_path / "scrambled.csv"
    with scrambled.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "label"])
        for row in rows:  # a labelling accident: every label drawn at random
            writer.writerow([row["file"], CLASSES[int(rng.integers(0, len(CLASSES)))]])
    store = tmp_path / "store"
    result = _finetune(
        plant_b, scrambled, tmp_path / "bad", "--approved-by", "qe", "--deploy", "AOI-B", "--store", str(store)
    )
    assert result.exit_code == 65, result.output
    assert "refused, not deployed" in result.output
    record = json.loads((tmp_path / "bad" / "record.json").read_text())
    assert record["accepted"] is False and "not better than the base" in record["reason"]
    # nothing was registered or deployed
    listing = runner.invoke(app, ["edge", "vision", "models", "--store", str(store)])
    assert listing.exit_code == 0 and listing.output.strip() == ""


def test_split_keeps_copies_of_an_image_on_one_side() -> None:
    images, labels = generate_plant(40, seed=5)
    images = np.concatenate([images, images[:10]])  # ten images appear twice under other names
    labels = np.concatenate([labels, labels[:10]])
    data = LabelledImages(images, labels, tuple(image_sha256(i) for i in images), tuple(map(str, range(50))))
    train, val = split_by_content(data, validation=0.25, seed=1)
    assert not {data.hashes[i] for i in train} & {data.hashes[i] for i in val}
    assert len(train) + len(val) == 50


def test_bad_label_row_is_named(plant_b: Path, tmp_path: Path) -> None:
    bad = tmp_path / "labels.csv"
    bad.write_text("file,label\nimg00000.png,pcb_ok\nimg00001.png,cracked\n")
    with pytest.raises(ValidationError, match=r"labels.csv:3: field 'label': 'cracked'"):
        load_labelled(plant_b, bad)
