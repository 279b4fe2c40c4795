"""Inbound chat against the real app under uvicorn: each provider signs as its documents
say (the arithmetic written out here), a good request opens a work order in the graph,
a bad signature is refused with 401 and audited."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import urllib.parse
from collections.abc import Iterator

import httpx
import pytest

from qualitas.audit import open_audit_log
from qualitas.chat import parse_command
from qualitas.chat._providers import feishu_encrypt
from qualitas.graphql.app import create_app
from qualitas.settings import Settings
from qualitas.store import open_store
from tests.chat.robots import Robots, serve_asgi, serve_robots

DING_SECRET = "ding-app-secret"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FEISHU_KEY = "feishu-encrypt-key"
FEISHU_TOKEN = "feishu-verification-token"


@pytest.fixture(scope="module")
def robots() -> Iterator[Robots]:
    with serve_robots() as served:
        yield served


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory, robots: Robots) -> Iterator[tuple[str, Settings]]:
    root = tmp_path_factory.mktemp("chat")
    config = root / "chat.yaml"
    config.write_text(
        "explorer_url: https://qualitas.example\n"
        "places:\n  FC-12: {line: L2, station: S5}\n"
        f"channels:\n  - {{name: qa, provider: slack, webhook: '{robots.url('slack')}', severities: [warning]}}\n"
        "inbound:\n"
        "  dingtalk:\n    app_secret: ${T_DING}\n"
        "  slack:\n    signing_secret: ${T_SLACK}\n"
        "  feishu:\n    encrypt_key: ${T_FEISHU_KEY}\n    verification_token: ${T_FEISHU_TOKEN}\n",
        encoding="utf-8",
    )
    env = {"T_DING": DING_SECRET, "T_SLACK": SLACK_SECRET, "T_FEISHU_KEY": FEISHU_KEY, "T_FEISHU_TOKEN": FEISHU_TOKEN}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    settings = Settings(store=root / "store", chat_config=config)
    try:
        with serve_asgi(create_app(settings)) as base:
            yield base, settings
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _work_orders(settings: Settings) -> dict[str, dict[str, object]]:
    store = open_store(settings.store, read_only=True)
    try:
        rows = store.select(
            """SELECT ?code ?msg ?who ?via ?line ?station ?photo ?eq ?fm WHERE {
                ?w a q:WorkOrder ; q:code ?code ; q:message ?msg ; q:reportedBy ?who ; q:reportChannel ?via .
                OPTIONAL { ?w q:line ?line } OPTIONAL { ?w q:station ?station } OPTIONAL { ?w q:photo ?photo }
                OPTIONAL { ?w q:onEquipment ?eq } OPTIONAL { ?w q:failureMode ?fm } }"""
        )
    finally:
        store.close()
    return {str(r["code"]): r for r in rows}


def _audit(settings: Settings, action: str) -> list[dict[str, object]]:
    return [r.as_dict() for r in open_audit_log(settings).records() if r.action == action]


def test_parse_command_reads_place_mode_and_photo() -> None:
    parts = parse_command(
        "anomaly burnt smell at cell formation line=L2 工位=S5 equipment=FC-12 mode=FM-ODOUR "
        "https://cam.example/f/1.jpg"
    )
    assert parts == {
        "line": "L2",
        "station": "S5",
        "equipment": "FC-12",
        "mode": "FM-ODOUR",
        "photo": "https://cam.example/f/1.jpg",
        "text": "burnt smell at cell formation",
    }


def _dingtalk_headers(secret: str, ts_ms: int) -> dict[str, str]:
    # https://open.dingtalk.com/document/orgapp/receive-message: timestamp + "\n" + appSecret, HmacSHA256, Base64
    sign = base64.b64encode(hmac.new(secret.encode(), f"{ts_ms}\n{secret}".encode(), hashlib.sha256).digest())
    return {"timestamp": str(ts_ms), "sign": sign.decode(), "Content-Type": "application/json; charset=utf-8"}


def test_dingtalk_outgoing_robot_opens_a_work_order(chat_server: tuple[str, Settings]) -> None:
    base, settings = chat_server
    body = {
        "msgtype": "text",
        "text": {"content": " anomaly electrolyte smell line=L2 station=S5 equipment=FC-12 mode=FM-ODOUR"},
        "msgId": "msgDING001",
        "createAt": int(time.time() * 1000),
        "senderNick": "王工",
        "senderStaffId": "staff-042",
        "conversationTitle": "Line 2 quality",
    }
    now = int(time.time() * 1000)
    ok = httpx.post(
        f"{base}/chat/dingtalk", content=json.dumps(body).encode(), headers=_dingtalk_headers(DING_SECRET, now)
    )
    assert ok.status_code == 200, ok.text
    reply = ok.json()
    assert reply["msgtype"] == "text" and reply["text"]["content"].startswith("Work order WO-DI-")
    wo = reply["text"]["content"].split()[2]
    again = httpx.post(
        f"{base}/chat/dingtalk", content=json.dumps(body).encode(), headers=_dingtalk_headers(DING_SECRET, now)
    )
    assert again.json() == reply, "a redelivered message opens no second order"
    orders = _work_orders(settings)
    assert orders[wo]["msg"] == "electrolyte smell"
    assert orders[wo]["who"] == "王工 (staff-042)"
    assert (orders[wo]["line"], orders[wo]["station"], orders[wo]["via"]) == ("L2", "S5", "dingtalk")
    assert str(orders[wo]["eq"]).endswith("/equipment/FC-12")
    assert str(orders[wo]["fm"]).endswith("/failuremode/FM-ODOUR")
    assert any(
        r["what"].get("source", "").endswith(wo) or wo in json.dumps(r["what"])
        for r in _audit(settings, "chat.anomaly")
    )

    picture = {
        "msgtype": "picture",
        "content": {"downloadCode": "dl-code-77"},
        "msgId": "msgDING002",
        "senderNick": "王工",
        "senderStaffId": "staff-042",
    }
    pic = httpx.post(
        f"{base}/chat/dingtalk",
        content=json.dumps(picture).encode(),
        headers=_dingtalk_headers(DING_SECRET, int(time.time() * 1000)),
    )
    wo_pic = pic.json()["text"]["content"].split()[2]
    assert _work_orders(settings)[wo_pic]["photo"] == "dingtalk:downloadCode:dl-code-77"


@pytest.mark.parametrize(
    "headers",
    [
        _dingtalk_headers("not-the-secret", int(time.time() * 1000)),
        _dingtalk_headers(DING_SECRET, int(time.time() * 1000) - 2 * 3600 * 1000),  # over an hour old
        {"Content-Type": "application/json"},
    ],
    ids=["wrong-secret", "stale", "unsigned"],
)
def test_dingtalk_bad_signature_is_refused_and_audited(chat_server: tuple[str, Settings], headers: dict) -> None:  # type: ignore[type-arg]
    base, settings = chat_server
    before = len(_work_orders(settings))
    body = {"msgtype": "text", "text": {"content": "anomaly fake"}, "msgId": f"forged-{headers.get('sign')}"}
    refused = httpx.post(f"{base}/chat/dingtalk", content=json.dumps(body).encode(), headers=headers)
    assert refused.status_code == 401
    assert len(_work_orders(settings)) == before
    last = _audit(settings, "chat.refused")[-1]
    assert last["what"]["provider"] == "dingtalk" and last["what"]["path"] == "/chat/dingtalk"


def _slack(secret: str, body: bytes, ts: int) -> dict[str, str]:
    # https://api.slack.com/authentication/verifying-requests-from-slack
    mac = hmac.new(secret.encode(), b"v0:" + str(ts).encode() + b":" + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": f"v0={mac}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def test_slack_slash_command_opens_a_work_order_and_replays_are_refused(chat_server: tuple[str, Settings]) -> None:
    base, settings = chat_server
    form = {
        "token": "legacy",
        "team_id": "T1",
        "channel_name": "line-2",
        "user_id": "U2147483697",
        "user_name": "steve",
        "command": "/qualitas",
        "text": "anomaly loose clip station=S3 line=L1",
        "response_url": "https://hooks.slack.com/commands/1234/5678",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }
    body = urllib.parse.urlencode(form).encode()
    now = int(time.time())
    ok = httpx.post(f"{base}/chat/slack", content=body, headers=_slack(SLACK_SECRET, body, now))
    assert ok.status_code == 200, ok.text
    assert ok.json()["response_type"] == "in_channel"
    wo = ok.json()["text"].split()[2]
    assert ok.json()["text"] == f"Work order {wo} opened at L1 / S3: loose clip"
    order = _work_orders(settings)[wo]
    assert (order["who"], order["line"], order["station"], order["msg"]) == (
        "steve (U2147483697)",
        "L1",
        "S3",
        "loose clip",
    )
    stale = now - 301
    replay = httpx.post(f"{base}/chat/slack", content=body, headers=_slack(SLACK_SECRET, body, stale))
    assert replay.status_code == 401 and "five minutes" in replay.json()["error"]
    tampered = body.replace(b"loose", b"fixed")
    forged = httpx.post(f"{base}/chat/slack", content=tampered, headers=_slack(SLACK_SECRET, body, now))
    assert forged.status_code == 401
    assert [r["what"]["provider"] for r in _audit(settings, "chat.refused")][-2:] == ["slack", "slack"]


def _feishu(body: bytes, *, key: str = FEISHU_KEY) -> dict[str, str]:
    # X-Lark-Signature = sha256(timestamp + nonce + encrypt_key + body), hex
    ts, nonce = str(int(time.time())), "nonce-1234"
    sig = hashlib.sha256((ts + nonce + key).encode() + body).hexdigest()
    return {
        "X-Lark-Request-Timestamp": ts,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": sig,
        "Content-Type": "application/json",
    }


def _encrypted(event: dict) -> bytes:  # type: ignore[type-arg]
    return json.dumps({"encrypt": feishu_encrypt(FEISHU_KEY, json.dumps(event).encode(), os.urandom(16))}).encode()


def test_feishu_challenge_event_and_bad_signature(chat_server: tuple[str, Settings]) -> None:
    base, settings = chat_server
    challenge = _encrypted({"challenge": "ajls384kdjx98XX", "token": FEISHU_TOKEN, "type": "url_verification"})
    answered = httpx.post(f"{base}/chat/feishu", content=challenge, headers={"Content-Type": "application/json"})
    assert answered.json() == {"challenge": "ajls384kdjx98XX"}

    event = {
        "schema": "2.0",
        "header": {
            "event_id": "5e3702a84e847582be8db7fb73283c02",
            "event_type": "im.message.receive_v1",
            "create_time": "1608725989000",
            "token": FEISHU_TOKEN,
            "app_id": "cli_x",
            "tenant_key": "t",
        },
        "event": {
            "sender": {"sender_id": {"open_id": "ou_84aad35d", "user_id": "e33ggbyz"}, "sender_type": "user"},
            "message": {
                "message_id": "om_5ce6d572455d361153b7cb51da133945",
                "chat_id": "oc_5ce6d5",
                "chat_type": "group",
                "message_type": "text",
                "create_time": "1609073151345",
                "content": json.dumps({"text": "@_user_1 anomaly weld spatter line=L3 station=S1"}),
            },
        },
    }
    body = _encrypted(event)
    ok = httpx.post(f"{base}/chat/feishu", content=body, headers=_feishu(body))
    assert ok.status_code == 200, ok.text
    wo = ok.json()["workOrder"]
    order = _work_orders(settings)[wo]
    assert (order["who"], order["line"], order["msg"], order["via"]) == ("e33ggbyz", "L3", "weld spatter", "feishu")

    wrong = httpx.post(f"{base}/chat/feishu", content=body, headers=_feishu(body, key="another-key"))
    assert wrong.status_code == 401
    unsigned = httpx.post(f"{base}/chat/feishu", content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert _audit(settings, "chat.refused")[-1]["what"]["provider"] == "feishu"


def test_an_inbound_anomaly_goes_out_to_the_configured_channels(
    chat_server: tuple[str, Settings], robots: Robots
) -> None:
    """The work order is also an ``anomaly`` alarm on the app's alert hub, which the chat
    bridge forwards to the configured Slack channel (a loopback robot checking the payload)."""
    base, _ = chat_server
    body = {
        "msgtype": "text",
        "text": {"content": "anomaly scratch on housing equipment=FC-12"},
        "msgId": "msgDING-out",
        "senderNick": "li",
        "senderStaffId": "s-9",
    }
    reply = httpx.post(
        f"{base}/chat/dingtalk",
        content=json.dumps(body).encode(),
        headers=_dingtalk_headers(DING_SECRET, int(time.time() * 1000)),
    )
    wo = reply.json()["text"]["content"].split()[2]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sent = [r for r in robots.of("slack") if wo in json.dumps(r.body)]
        if sent:
            break
        time.sleep(0.2)
    assert sent, "the anomaly never reached the Slack robot"
    (message,) = sent
    assert message.ok
    fields = {f["text"] for f in message.body["blocks"][1]["fields"]}
    assert "*Location*\nline L2 / station S5" in fields  # places: FC-12 -> line L2, station S5
    assert message.body["blocks"][0]["text"]["text"] == "ANOMALY alarm: FC-12"
