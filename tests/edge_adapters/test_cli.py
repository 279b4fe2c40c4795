"""`qualitas edge run CONFIG.yaml` end to end with a simulated camera (a folder of frames)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from qualitas.cli import app
from qualitas.edge_adapters.vision.generator import stream
from qualitas.store import open_store

CONFIG = """
run: {id: RUN-CLI, equipment: AOI-1}
agent: edge-cli-test
series_dir: series
sources:
  - kind: vision
    name: aoi
    folder: frames
    fps: 200
rules:
  - id: voids-need-attention
    description: solder voids on consecutive boards
    when: {signal: aoi.void_probability, above: 0.85}
    corroborate: {consecutive: 3}
    then:
      - alert: {severity: warning, message: solder voids on 3 consecutive boards}
      - work_order: {title: check reflow profile, assignee: process-engineering}
"""


def test_edge_run_records_alarms_and_work_orders(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    gen = stream(seed=5, labels=(1,))  # every board has voids
    for i in range(8):
        Image.fromarray(next(gen).image).save(frames / f"board{i:02d}.png")
    (tmp_path / "edge.yaml").write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["edge", "run", str(tmp_path / "edge.yaml"), "--duration", "1.0", "--store", str(tmp_path / "store")]
    )
    assert result.exit_code == 0, result.output
    assert "run RUN-CLI: 24 samples" in result.output
    store = open_store(tmp_path / "store", read_only=True)
    kinds = {
        str(r["k"]) for r in store.select("SELECT ?k WHERE { ?a <https://w3id.org/qualitas/ontology#actionKind> ?k }")
    }
    store.close()
    assert kinds == {"alert", "work_order"}
    assert (tmp_path / "series" / "RUN-CLI.sqlite").exists()


def test_bad_config_exits_with_the_config_error_code(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "run: {id: X}\nrules: [{id: r, when: {signal: s}, then: []}]\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["edge", "run", str(tmp_path / "bad.yaml"), "--no-store"])
    assert result.exit_code == 78 and "rules.0.when" in result.output
