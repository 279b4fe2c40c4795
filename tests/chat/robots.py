"""Loopback chat robots: an http.server that plays DingTalk, WeCom, Feishu and Slack.

Each path checks a request the way its provider documents it, with the arithmetic
written out here from the documents (not imported from qualitas.chat), and answers as
the provider would: a wrong signature gets the provider's error, a good message its
success body. ``script`` queues canned answers (a 500, a 429, a "too fast" code) to
exercise retries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRETS = {"dingtalk": "SECdingtalk-test-secret", "feishu": "feishu-test-secret"}


@dataclass
class Received:
    provider: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    at: float
    ok: bool
    problem: str = ""


@dataclass
class Robots:
    base: str
    received: list[Received] = field(default_factory=list)
    script: dict[str, list[tuple[int, str, dict[str, str]]]] = field(default_factory=dict)

    def url(self, provider: str, token: str = "tok") -> str:
        if provider == "dingtalk":
            return f"{self.base}/robot/send?access_token={token}"
        if provider == "wecom":
            return f"{self.base}/cgi-bin/webhook/send?key={token}"
        if provider == "feishu":
            return f"{self.base}/open-apis/bot/v2/hook/{token}"
        return f"{self.base}/services/T000/B000/{token}"

    def of(self, provider: str) -> list[Received]:
        return [r for r in self.received if r.provider == provider]


def _dingtalk_check(query: dict[str, str], body: dict[str, Any]) -> str:
    # https://open.dingtalk.com/document/robots/customize-robot-security-settings
    ts, sign = query.get("timestamp"), query.get("sign")
    if not ts or not sign:
        return "missing timestamp/sign"
    if abs(time.time() * 1000 - int(ts)) > 3600 * 1000:
        return "timestamp more than an hour off"
    secret = SECRETS["dingtalk"]
    expected = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()).decode()
    if sign != expected:  # parse_qs already URL-decoded it once
        return "sign not match"
    if body.get("msgtype") not in ("text", "markdown", "link", "actionCard", "feedCard"):
        return "bad msgtype"
    if body["msgtype"] == "markdown" and not (body["markdown"].get("title") and body["markdown"].get("text")):
        return "markdown needs title and text"
    return ""


def _wecom_check(query: dict[str, str], body: dict[str, Any]) -> str:
    # https://developer.work.weixin.qq.com/document/path/91770
    if not query.get("key"):
        return "missing key"
    kind = body.get("msgtype")
    if kind == "image":
        raw = base64.b64decode(body["image"]["base64"])
        if hashlib.md5(raw).hexdigest() != body["image"]["md5"]:
            return "image md5 does not match"
        if len(raw) > 2 * 1024 * 1024 or not (raw.startswith(b"\x89PNG") or raw.startswith(b"\xff\xd8")):
            return "image must be a PNG/JPG of at most 2 MB"
        return ""
    if kind == "markdown":
        return "" if len(body["markdown"]["content"].encode()) <= 4096 else "markdown over 4096 bytes"
    if kind == "text":
        return "" if len(body["text"]["content"].encode()) <= 2048 else "text over 2048 bytes"
    if kind == "news":
        return "" if 1 <= len(body["news"]["articles"]) <= 8 else "news needs 1..8 articles"
    return "bad msgtype"


def _feishu_check(body: dict[str, Any]) -> str:
    # https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot
    ts, sign = body.get("timestamp"), body.get("sign")
    if not ts or not sign:
        return "missing timestamp/sign"
    if abs(time.time() - int(ts)) > 3600:
        return "timestamp more than an hour off"
    key = f"{ts}\n{SECRETS['feishu']}".encode()
    if sign != base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode():
        return "sign match fail"
    if body.get("msg_type") not in ("text", "post", "image", "share_chat", "interactive"):
        return "bad msg_type"
    return ""


def _slack_check(body: dict[str, Any]) -> str:
    # https://api.slack.com/messaging/webhooks ; https://api.slack.com/reference/block-kit/blocks
    if not body.get("text") and not body.get("blocks"):
        return "no_text"
    for block in body.get("blocks", []):
        if block.get("type") == "image" and not (block.get("image_url") and block.get("alt_text")):
            return "invalid_blocks"
        if block.get("type") == "header" and block["text"]["type"] != "plain_text":
            return "invalid_blocks"
    return ""


@contextmanager
def serve_robots() -> Iterator[Robots]:
    robots = Robots(base="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            parsed = urllib.parse.urlparse(self.path)
            query = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query).items()}
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.loads(raw)
            if parsed.path.startswith("/robot/send"):
                provider, problem = "dingtalk", _dingtalk_check(query, body)
            elif parsed.path.startswith("/cgi-bin/webhook/send"):
                provider, problem = "wecom", _wecom_check(query, body)
            elif parsed.path.startswith("/open-apis/bot/v2/hook/"):
                provider, problem = "feishu", _feishu_check(body)
            else:
                provider, problem = "slack", _slack_check(body)
            with lock:
                robots.received.append(
                    Received(provider, parsed.path, query, body, time.monotonic(), not problem, problem)
                )
                queued = robots.script.get(provider)
                canned = queued.pop(0) if queued else None
            if canned is not None:
                status, text, headers = canned
            elif problem:
                status, headers = (200, {})
                text = {
                    "dingtalk": json.dumps({"errcode": 310000, "errmsg": problem}),
                    "wecom": json.dumps({"errcode": 40008, "errmsg": problem}),
                    "feishu": json.dumps({"code": 19021, "msg": problem, "data": {}}),
                    "slack": problem,
                }[provider]
                if provider == "slack":
                    status = 400
            else:
                status, headers = 200, {}
                text = {
                    "dingtalk": '{"errcode":0,"errmsg":"ok"}',
                    "wecom": '{"errcode":0,"errmsg":"ok"}',
                    "feishu": '{"code":0,"data":{},"msg":"success"}',
                    "slack": "ok",
                }[provider]
            data = text.encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    robots.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield robots
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """An ASGI app under a real uvicorn on 127.0.0.1 (HTTP only: the chat routes need no
    WebSocket, and uvicorn's automatic WebSocket choice imports a deprecated module of
    websockets 14+, which this suite's ``filterwarnings = error`` turns into a failure)."""
    import socket

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
