"""Per-plant fine-tuning and the model registry (issue 19, items 1 and 2), through the real CLI.

The tuned model must beat the base on the held-out split of the same images, the split
must keep every image on one side, and a model trained on scrambled labels is refused
(not registered, not deployed). The accepted model is registered with its lineage and
deployed; ``edge run`` records which model judged each frame; a rollback is one
audited command, and a running camera follows it."""

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
from qualitas.errors import InputError, ValidationError

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


@pytest.fixture(scope="module")
def tuned(plant_b: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fine-tuning run, registered (approved by qe-lead) and deployed at station AOI-B."""
    root = tmp_path_factory.mktemp("tuned")
    result = _finetune(
        plant_b, plant_b / "labels.csv", root / "tuned", "--approved-by", "qe-lead", "--deploy", "AOI-B",
        "--store", str(root / "store"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "deployed" in result.output
    return root


def test_finetune_improves_validation_f1_on_a_shifted_plant(plant_b: Path, tuned: Path) -> None:
    tmp_path = tuned
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


EDGE = """
run: {{id: {run}, equipment: AOI-B}}
agent: edge-test
series_dir: series
sources:
  - kind: vision
    name: aoi
    folder: frames
    station: AOI-B
    fps: 0
"""


def _edge_run(root: Path, run: str) -> None:
    (root / f"{run}.yaml").write_text(EDGE.format(run=run), encoding="utf-8")
    result = runner.invoke(
        app, ["edge", "run", str(root / f"{run}.yaml"), "--duration", "1.5", "--store", str(root / "store")]
    )
    assert result.exit_code == 0, result.output


def test_registry_round_trip_edge_run_and_rollback(tuned: Path) -> None:
    from qualitas.audit import AuditLog, file_sha256
    from qualitas.edge_adapters.vision.registry import ModelRegistry, model_for_frame
    from qualitas.settings import Settings
    from qualitas.store import open_store

    root = tuned
    record = FinetuneReport.read(root / "tuned")
    base_sha = file_sha256(MODEL_FILE)
    tuned_sha = record.model_sha256
    frames = root / "frames"
    images, _ = generate_plant(6, seed=77)
    frames.mkdir()
    for i, img in enumerate(images):
        from PIL import Image

        Image.fromarray(img).save(frames / f"f{i}.png")

    _edge_run(root, "RUN-1")  # the tuned model serves AOI-B
    rolled = runner.invoke(
        app,
        ["edge", "vision", "rollback", "--station", "AOI-B", "--approved-by", "qe-lead", "--reason", "false rejects",
         "--store", str(root / "store")],
    )  # fmt: skip
    assert rolled.exit_code == 0, rolled.output
    assert f"serves {base_sha[:12]}" in rolled.output
    _edge_run(root, "RUN-2")  # the base model again

    store = open_store(root / "store")
    try:
        registry = ModelRegistry(store, files=None, actor="test")
        model = registry.get(tuned_sha)
        assert model is not None
        assert (model.parent, model.train_sha256, model.validation_sha256) == (
            base_sha,
            record.train_sha256,
            record.validation_sha256,
        )
        assert model.macro_f1 == pytest.approx(record.tuned.macro_f1, abs=1e-6)
        assert model.approved_by == "qe-lead" and model.approved_at.tzinfo is not None
        assert model.metrics is not None and model.metrics["parent_on_same_validation"]["macro_f1"] == pytest.approx(
            record.base.macro_f1
        )
        assert file_sha256(model.file) == tuned_sha  # the registry keeps its own copy
        history = registry.history("AOI-B")
        assert [(d.seq, d.model, d.rollback_of) for d in history] == [(1, tuned_sha, None), (2, base_sha, 1)]
        assert history[1].reason == "false rejects"
        # every frame of each run maps to the model that judged it
        for frame in range(1, 7):
            assert model_for_frame(store, run_id="RUN-1", source="aoi", frame=frame) == tuned_sha
            assert model_for_frame(store, run_id="RUN-2", source="aoi", frame=frame) == base_sha
        assert model_for_frame(store, run_id="RUN-1", source="aoi", frame=7) is None
    finally:
        store.close()
    # registration, deployment and rollback are each in the audit trail, and the trail verifies
    trail = AuditLog(root / "audit" / "audit.jsonl", secret=Settings(store=root / "store").signing_secret())
    actions = [r.action for r in trail.records() if r.action.startswith("vision.")]
    assert actions == ["vision.register", "vision.register", "vision.deploy", "vision.rollback"]
    rollback = next(r for r in trail.records() if r.action == "vision.rollback")
    assert rollback.why == "false rejects" and rollback.before != rollback.after
    assert trail.verify().ok


def test_a_running_camera_follows_a_deployment(tuned: Path, tmp_path: Path) -> None:
    from qualitas.audit import file_sha256
    from qualitas.edge_adapters.config import VisionSource
    from qualitas.edge_adapters.vision.registry import ModelRegistry
    from qualitas.edge_adapters.vision.source import VisionAdapter
    from qualitas.store import open_store

    store = open_store(tmp_path / "store")
    try:
        registry = ModelRegistry(store, files=tmp_path / "models", actor="test")
        base = registry.register(MODEL_FILE, approved_by="qe")
        other = registry.register(
            tuned / "tuned" / "model.onnx", approved_by="qe", record=FinetuneReport.read(tuned / "tuned")
        )
        registry.deploy(base.sha256[:10], station="S1", approved_by="qe")
        spec = VisionSource(kind="vision", name="cam", station="S1")
        adapter = VisionAdapter(spec, lambda s: None, store=store)
        assert adapter.model_sha256 == base.sha256
        registry.deploy(other.sha256, station="S1", approved_by="qe")
        adapter.follow_deployment()
        assert adapter.model_sha256 == other.sha256 == file_sha256(adapter.inspector.path)
        with pytest.raises(InputError, match="not a model sha256"):
            registry.get("xyz")
    finally:
        store.close()
