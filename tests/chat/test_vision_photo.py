"""A vision alarm reaches the chat robots with the frame it fired on.

A real camera source (the synthetic generator's frames, the shipped ONNX model) raises
alarms through the edge runner; a loopback WeCom robot, which checks the payload as WeCom
documents it, receives each alarm's image, and the image is that alarm's frame. Once from
``qualitas edge run --chat`` (the edge process sends, frames from a folder of PNG files),
once through an alert hub a server's chat bridge subscribes to (frames as arrays).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from qualitas.chat import ChatBridge, ChatConfig, ChatSender
from qualitas.cli import app
from qualitas.edge_adapters.alerts import AlertHub
from qualitas.edge_adapters.config import parse_config
from qualitas.edge_adapters.frames import AlarmFrames
from qualitas.edge_adapters.graph import alarm_triples
from qualitas.edge_adapters.runner import EdgeRunner
from qualitas.edge_adapters.vision.generator import stream
from qualitas.edge_adapters.vision.inference import VisionInspector
from qualitas.ontology import Q
from tests.chat.robots import Robots, serve_robots

LABELS = (0, 1, 2, 0, 3, 2)  # good, void, good, good, burr, good: two defective boards

EDGE = """
run: {id: RUN-PHOTO}
series_dir: series
frames_dir: alarm-frames
sources:
  - {kind: vision, name: aoi, folder: frames, fps: 200}
rules:
  - id: aoi-defect
    description: a defective board
    when: {signal: aoi.defect, above: 0.5}
    then:
      - alert: {severity: critical, message: defective board at the AOI}
"""

CHAT = """
media_dir: media
places: {aoi: {line: L2, station: AOI}}
channels:
  - {name: line2, provider: wecom, webhook: "%s"}
"""


@pytest.fixture
def robots() -> Iterator[Robots]:
    with serve_robots() as served:
        yield served


def _images(robots: Robots) -> list[bytes]:
    received = robots.of("wecom")
    assert received and all(r.ok for r in received), [r.problem for r in received]
    return [base64.b64decode(r.body["image"]["base64"]) for r in received if r.body["msgtype"] == "image"]


def _defective(frames: list[np.ndarray]) -> list[int]:
    inspector = VisionInspector()
    return [i for i, f in enumerate(frames) if inspector.inspect(f).defect]


def test_edge_run_sends_each_vision_alarm_with_its_frame(robots: Robots, tmp_path: Path) -> None:
    gen = stream(seed=5, labels=LABELS)
    frames = [next(gen).image for _ in LABELS]
    (tmp_path / "frames").mkdir()
    for i, image in enumerate(frames):
        Image.fromarray(image).save(tmp_path / "frames" / f"board{i:02d}.png")
    (tmp_path / "edge.yaml").write_text(EDGE, encoding="utf-8")
    (tmp_path / "chat.yaml").write_text(CHAT % robots.url("wecom"), encoding="utf-8")
    defective = _defective(frames)
    assert defective, "the model finds no defective board among the frames"

    args = ["edge", "run", str(tmp_path / "edge.yaml"), "--duration", "1.0", "--no-store"]
    result = CliRunner().invoke(app, [*args, "--chat", str(tmp_path / "chat.yaml")])
    assert result.exit_code == 0, result.output
    assert f"{len(defective)} alarms" in result.output
    assert f"chat: {len(defective)} messages delivered" in result.output

    # each alarm's image is, byte for byte, the file of a board the model judged defective
    files = {hashlib.sha256((tmp_path / "frames" / f"board{i:02d}.png").read_bytes()).hexdigest() for i in defective}
    images = _images(robots)
    assert len(images) == len(defective)
    assert {hashlib.sha256(b).hexdigest() for b in images} == files
    texts = [r.body["markdown"]["content"] for r in robots.of("wecom") if r.body["msgtype"] == "markdown"]
    assert len(texts) == len(defective) and all("line L2" in t and "station AOI" in t for t in texts)
    # the frames kept for the alarms, named by alarm id, and served from the media folder by hash
    assert len(list((tmp_path / "alarm-frames").glob("RUN-PHOTO-alarm-*.png"))) == len(defective)
    assert {p.stem for p in (tmp_path / "media").glob("*.png")} == files


async def test_server_bridge_on_the_hub_sends_the_array_frame(robots: Robots, tmp_path: Path) -> None:
    gen = stream(seed=9, labels=LABELS)
    frames = [next(gen).image for _ in LABELS]
    defective = _defective(frames)
    assert defective
    config = parse_config(
        {
            "run": {"id": "RUN-HUB"},
            "series_dir": str(tmp_path / "series"),
            "frames_dir": str(tmp_path / "alarm-frames"),
            "sources": [{"kind": "vision", "name": "aoi", "fps": 0}],
            "spc": {},
            "rules": [
                {
                    "id": "aoi-defect",
                    "when": {"signal": "aoi.defect", "above": 0.5},
                    "then": [{"alert": {"severity": "critical", "message": "defective board"}}],
                }
            ],
        },
        where="test",
    )
    hub = AlertHub()  # the server's hub (create_app); install_chat's bridge uses the default frame lookup
    chat = ChatConfig(media_dir=tmp_path / "media", channels=(_wecom(robots),))
    bridge = ChatBridge(chat, ChatSender(chat.channels, backoff_s=0.01))
    bridge.start(hub.subscribe())
    await asyncio.sleep(0)
    from qualitas.edge_adapters.vision.source import VisionAdapter

    runner = EdgeRunner(config, hub=hub, adapters={})
    runner.adapters = {"aoi": VisionAdapter(config.sources[0], runner.buffer.put, frames=frames, alarm=runner.alarm)}
    await runner.run(duration=1.0)
    await bridge.drain(lambda: hub.published)
    await bridge.aclose()

    assert [a.photo is not None for a in runner.alarms] == [True] * len(defective)
    photos = [str(o) for a in runner.alarms for _, p, o in alarm_triples(a, agent="edge") if p == Q.photo]
    assert photos == [Path(a.photo).resolve().as_uri() for a in runner.alarms]  # type: ignore[arg-type]
    images = [np.asarray(Image.open(io.BytesIO(b))) for b in _images(robots)]
    assert len(images) == len(defective)
    for image, index in zip(images, defective, strict=True):
        assert np.array_equal(image, frames[index])


def _wecom(robots: Robots):  # type: ignore[no-untyped-def]
    from qualitas.chat import Channel

    return Channel(name="line2", provider="wecom", webhook=robots.url("wecom"))


def test_alarm_frames_folder_is_bounded_and_keeps_the_newest(tmp_path: Path) -> None:
    frames = AlarmFrames(tmp_path, keep=3)
    images = [np.full((8, 8), 40 * i, dtype=np.uint8) for i in range(5)]
    for i, image in enumerate(images):
        assert frames.save(f"run/alarm {i}", image) == tmp_path / f"run_alarm_{i}.png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_alarm_2.png", "run_alarm_3.png", "run_alarm_4.png"]
    kept = frames.path("run/alarm 4")
    assert kept is not None and np.array_equal(np.asarray(Image.open(kept)), images[4])
    assert frames.path("run/alarm 0") is None
    small = AlarmFrames(tmp_path / "small", keep=100, max_bytes=1)  # over the byte budget: only the newest stays
    for i in range(3):
        small.save(f"a{i}", images[i])
    assert [p.name for p in (tmp_path / "small").iterdir()] == ["a2.png"]
