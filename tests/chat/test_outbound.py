"""Outbound chat: each provider's signature and payload checked by a loopback robot."""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
import sys
from collections.abc import Iterator

import pytest
from PIL import Image

from qualitas.chat import Channel, ChatAlert, ChatBridge, ChatConfig, ChatSender, DeliveryError, Location, Photo
from qualitas.edge_adapters._model import Alarm
from tests.chat.robots import SECRETS, Robots, serve_robots


@pytest.fixture(scope="module")
def robots() -> Iterator[Robots]:
    with serve_robots() as served:
        yield served


@pytest.fixture
def fresh(robots: Robots) -> Robots:
    robots.received.clear()
    robots.script.clear()
    return robots


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (32, 32), 128).save(buf, format="PNG")
    return buf.getvalue()


def _alert(**extra: object) -> ChatAlert:
    return ChatAlert(
        title="SPC alarm: formation temperature",
        text="Nelson rule 1: one point beyond 3 sigma (46.2 °C)",
        severity="critical",
        location=Location(line="L2", station="S5", equipment="FC-12"),
        facts=(("Run", "FM-240802-12"),),
        photo=Photo.from_bytes(_png(), name="frame.png"),
        photo_url="https://qualitas.example/chat/media/abc.png",
        link="https://qualitas.example/#charts/spc?signal=formation.temperature",
        **extra,  # type: ignore[arg-type]
    )


def _channel(robots: Robots, provider: str, **extra: object) -> Channel:
    return Channel(
        name=f"{provider}-1",
        provider=provider,
        webhook=robots.url(provider),  # type: ignore[arg-type]
        secret=SECRETS.get(provider),
        **extra,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", ["dingtalk", "wecom", "feishu", "slack"])
async def test_alert_is_signed_and_formatted_as_documented(fresh: Robots, provider: str) -> None:
    async with ChatSender([_channel(fresh, provider)], backoff_s=0.01) as sender:
        delivery = await sender.send(f"{provider}-1", _alert())
    got = fresh.of(provider)
    assert [r.problem for r in got] == [""] * len(got), "the robot refused a request"
    assert delivery.attempts == len(got) == delivery.requests
    bodies = [r.body for r in got]
    if provider == "dingtalk":
        (body,) = bodies
        text = body["markdown"]["text"]
        assert body["msgtype"] == "markdown"
        assert "line L2 / station S5 / equipment FC-12" in text
        assert "![photo](https://qualitas.example/chat/media/abc.png)" in text
        assert "(https://qualitas.example/#charts/spc?signal=formation.temperature)" in text
    elif provider == "wecom":
        markdown, image = bodies
        assert markdown["msgtype"] == "markdown" and "station S5" in markdown["markdown"]["content"]
        assert image["msgtype"] == "image"
        assert base64.b64decode(image["image"]["base64"]) == _png()
        assert image["image"]["md5"] == hashlib.md5(_png()).hexdigest()
    elif provider == "feishu":
        (body,) = bodies
        post = body["content"]["post"]["zh_cn"]
        links = [el["href"] for row in post["content"] for el in row if el["tag"] == "a"]
        assert body["msg_type"] == "post" and post["title"].startswith("SPC alarm")
        assert links == [
            "https://qualitas.example/chat/media/abc.png",
            "https://qualitas.example/#charts/spc?signal=formation.temperature",
        ]
    else:
        (body,) = bodies
        kinds = [b["type"] for b in body["blocks"]]
        assert kinds == ["header", "section", "image", "actions"]
        assert body["blocks"][2]["image_url"] == "https://qualitas.example/chat/media/abc.png"
        assert body["blocks"][3]["elements"][0]["url"].endswith("signal=formation.temperature")
        assert any("station S5" in f["text"] for f in body["blocks"][1]["fields"])


@pytest.mark.parametrize("provider", ["dingtalk", "feishu"])
async def test_a_wrong_secret_is_refused_by_the_robot_and_not_retried(fresh: Robots, provider: str) -> None:
    channel = Channel(name="x", provider=provider, webhook=fresh.url(provider), secret="not-the-secret")  # type: ignore[arg-type]
    async with ChatSender([channel], backoff_s=0.01) as sender:
        with pytest.raises(DeliveryError, match="attempt 1 of 5"):
            await sender.send("x", _alert(plain=True))
    assert len(fresh.of(provider)) == 1
    assert "sign" in fresh.of(provider)[0].problem


async def test_server_errors_and_too_fast_codes_are_retried_with_backoff(fresh: Robots) -> None:
    fresh.script["dingtalk"] = [(502, "bad gateway", {}), (200, '{"errcode":130101,"errmsg":"send too fast"}', {})]
    fresh.script["slack"] = [(429, "rate_limited", {"Retry-After": "1"})]
    channels = [_channel(fresh, "dingtalk"), _channel(fresh, "slack")]
    async with ChatSender(channels, backoff_s=0.01) as sender:
        ding = await sender.send("dingtalk-1", _alert())
        slack = await sender.send("slack-1", _alert())
    assert ding.attempts == 3 and len(fresh.of("dingtalk")) == 3
    assert all(r.ok for r in fresh.of("dingtalk")), "every retry is signed afresh"
    assert slack.attempts == 2
    first, second = fresh.of("slack")
    assert second.at - first.at >= 0.95, "Retry-After: 1 was not honoured"


async def test_rate_limit_spaces_messages_per_channel(fresh: Robots) -> None:
    # Slack's documented limit is one message a second per webhook (RATE_LIMITS): three
    # messages cannot arrive within two seconds.
    async with ChatSender([_channel(fresh, "slack")]) as sender:
        for _ in range(3):
            await sender.send("slack-1", _alert(plain=True))
    times = [r.at for r in fresh.of("slack")]
    assert len(times) == 3
    assert times[2] - times[0] >= 1.9


async def test_bridge_forwards_alarms_by_severity_with_the_frame(fresh: Robots, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = ChatConfig(
        explorer_url="https://qualitas.example",
        media_url="https://qualitas.example/chat/media",
        media_dir=tmp_path / "media",
        channels=(_channel(fresh, "wecom", severities=("critical",)), _channel(fresh, "slack")),
    )
    frame = Photo.from_bytes(_png(), name="frame.png")
    bridge = ChatBridge(
        config,
        ChatSender(config.channels, backoff_s=0.01),
        frames=lambda alarm: frame,
        locations=lambda alarm: Location(line="L2", station="S5"),
    )
    warning = Alarm(
        id="a1",
        kind="spc",
        signal="vision.defect",
        rule="nelson1",
        severity="warning",
        message="defect rate up",
        ts=1_760_000_000.0,
        value=0.4,
        run_id="R1",
    )
    try:
        delivered = await bridge.forward(warning)
    finally:
        await bridge.aclose()
    assert [d.channel for d in delivered] == ["slack-1"]  # the WeCom channel takes only critical alarms
    (body,) = [r.body for r in fresh.of("slack")]
    name = hashlib.sha256(_png()).hexdigest() + ".png"
    assert body["blocks"][2]["image_url"] == f"https://qualitas.example/chat/media/{name}"
    assert (tmp_path / "media" / name).read_bytes() == _png()
    assert body["blocks"][3]["elements"][0]["url"] == "https://qualitas.example/#charts/spc?signal=vision.defect&run=R1"


def test_cli_alerts_test_sends_one_signed_message(fresh: Robots) -> None:
    for provider in ("dingtalk", "wecom", "feishu", "slack"):
        args = [
            sys.executable,
            "-m",
            "qualitas.cli",
            "alerts",
            "test",
            "--channel",
            provider,
            "--webhook",
            fresh.url(provider),
        ]
        if provider in SECRETS:
            args += ["--secret", SECRETS[provider]]
        done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == 0, done.stderr
        assert f"sent to {provider}" in done.stdout
    assert [r.provider for r in fresh.received] == ["dingtalk", "wecom", "feishu", "slack"]
    assert all(r.ok for r in fresh.received)
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "qualitas.cli",
            "alerts",
            "test",
            "--channel",
            "dingtalk",
            "--webhook",
            fresh.url("dingtalk"),
            "--secret",
            "wrong",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert bad.returncode == 69, bad.stderr
    assert "sign not match" in bad.stderr
