"""What each chat provider's robot expects: signature, URL, message body, rate limit.

Pure functions (no I/O), one block per provider, each with the public document it
follows. ``sign_*`` and ``verify_*`` are the same arithmetic the providers use, so the
tests' loopback servers check a request exactly as the provider would.

=========  ===========================================================================
provider   outbound robot
=========  ===========================================================================
dingtalk   custom robot: ``POST <webhook>&timestamp=<ms>&sign=<urlencoded base64 HMAC>``
           https://open.dingtalk.com/document/robots/customize-robot-security-settings
           https://open.dingtalk.com/document/robots/custom-robot-access
wecom      group robot (企业微信群机器人): ``POST <webhook>`` (the key in the URL is the secret)
           https://developer.work.weixin.qq.com/document/path/91770
feishu     custom bot: ``timestamp`` (s) and ``sign`` in the JSON body
           https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot
slack      incoming webhook: ``POST <webhook>`` with ``text`` and ``blocks``
           https://api.slack.com/messaging/webhooks, https://api.slack.com/reference/block-kit/blocks
=========  ===========================================================================
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any, Literal

from qualitas.chat._message import ChatAlert

Provider = Literal["dingtalk", "wecom", "feishu", "slack"]
PROVIDERS: tuple[Provider, ...] = ("dingtalk", "wecom", "feishu", "slack")


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` messages per ``per_s`` seconds (a sliding window)."""

    count: int
    per_s: float
    source: str
    verified: bool = True


#: Per-robot limits as the providers document them. Feishu adds 5 per second to its 100
#: per minute, Slack asks for about one message per second per webhook.
RATE_LIMITS: dict[Provider, tuple[RateLimit, ...]] = {
    "dingtalk": (
        RateLimit(
            20,
            60.0,
            "https://open.dingtalk.com/document/robots/custom-robot-access "
            "(每个机器人每分钟最多发送20条消息到群里，如果超过20条，会限流10分钟)",
        ),
    ),
    "wecom": (
        RateLimit(
            20,
            60.0,
            "https://developer.work.weixin.qq.com/document/path/91770 (每个机器人发送的消息不能超过20条/分钟; "
            "read in copies of the page, not on the page itself)",
            verified=False,
        ),
    ),
    "feishu": (
        RateLimit(
            100,
            60.0,
            "https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot "
            "(自定义机器人的频率控制: 100 次/分钟, 5 次/秒)",
            verified=False,
        ),
        RateLimit(5, 1.0, "https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot", verified=False),
    ),
    "slack": (
        RateLimit(
            1,
            1.0,
            "https://api.slack.com/docs/rate-limits (posting messages: 1 per second; "
            "incoming webhooks answer 429 with Retry-After beyond it)",
        ),
    ),
}

#: Error codes in a 200 answer that mean "too fast, try later" (retried with backoff); taken from
#: the providers' error code pages as commonly quoted, not checked against them here.
#: DingTalk 130101: send too fast (https://open.dingtalk.com/document/orgapp/custom-robots-send-group-messages);
#: WeCom 45009: api freq out of limit (https://developer.work.weixin.qq.com/document/path/90313).
RETRYABLE_CODES: dict[Provider, frozenset[int]] = {
    "dingtalk": frozenset({130101}),
    "wecom": frozenset({45009}),
    "feishu": frozenset(),
    "slack": frozenset(),
}

#: WeCom's image message takes at most 2 MB before base64, JPG or PNG (document 91770).
WECOM_IMAGE_MAX = 2 * 1024 * 1024


# ---------------------------------------------------------------- signatures


def _hmac_b64(key: str, message: str) -> str:
    digest = hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_sign(secret: str, timestamp_ms: int | str) -> str:
    """DingTalk's ``sign``: ``timestamp + "\\n" + secret`` signed with HmacSHA256 under the
    secret, Base64, then URL-encoded (UTF-8); the timestamp is in milliseconds and may be at
    most one hour off. The same arithmetic, without the URL encoding, signs the ``sign``
    header of the outgoing robot's requests to us (see :func:`dingtalk_inbound_sign`).
    https://open.dingtalk.com/document/robots/customize-robot-security-settings"""
    return urllib.parse.quote_plus(_hmac_b64(secret, f"{timestamp_ms}\n{secret}"))


def dingtalk_inbound_sign(app_secret: str, timestamp_ms: int | str) -> str:
    """The ``sign`` header DingTalk puts on an outgoing robot's request: ``timestamp + "\\n" +
    appSecret`` with HmacSHA256 under the appSecret, Base64 (not URL-encoded).
    https://open.dingtalk.com/document/orgapp/receive-message"""
    return _hmac_b64(app_secret, f"{timestamp_ms}\n{app_secret}")


def dingtalk_url(webhook: str, secret: str | None, timestamp_ms: int) -> str:
    if not secret:
        return webhook
    sep = "&" if "?" in webhook else "?"
    return f"{webhook}{sep}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def feishu_sign(secret: str, timestamp_s: int | str) -> str:
    """Feishu's ``sign``: ``timestamp + "\\n" + secret`` is the HmacSHA256 *key*, the message
    is empty, the result Base64; the timestamp is in seconds, at most one hour off.
    https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot"""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def slack_signature(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    """``X-Slack-Signature``: ``v0=`` + hex HMAC-SHA256 under the signing secret over
    ``v0:<X-Slack-Request-Timestamp>:<raw body>``.
    https://api.slack.com/authentication/verifying-requests-from-slack"""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def feishu_event_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """``X-Lark-Signature`` of an event callback: hex SHA-256 of ``timestamp + nonce +
    encrypt_key + body`` (the raw body bytes).
    https://open.feishu.cn/document/server-docs/event-subscription-guide/event-subscription-configure-/encrypt-key-encryption-configuration-case"""
    return hashlib.sha256(timestamp.encode() + nonce.encode() + encrypt_key.encode() + body).hexdigest()


def feishu_decrypt(encrypt_key: str, encrypted: str) -> bytes:
    """An ``{"encrypt": ...}`` event body opened: AES-256-CBC with key SHA-256(encrypt_key),
    the first 16 bytes of the Base64-decoded data are the IV, PKCS#7 padding (same page as
    :func:`feishu_event_signature`)."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    raw = base64.b64decode(encrypted)
    key = hashlib.sha256(encrypt_key.encode()).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(raw[:16])).decryptor()
    padded = decryptor.update(raw[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def feishu_encrypt(encrypt_key: str, plain: bytes, iv: bytes) -> str:
    """The inverse of :func:`feishu_decrypt` (what Feishu does; the tests play Feishu with it)."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = hashlib.sha256(encrypt_key.encode()).digest()
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(data) + encryptor.finalize()).decode("ascii")


# ---------------------------------------------------------------- message bodies


@dataclass(frozen=True)
class OutboundRequest:
    """One HTTP POST to a robot (a message may need two: WeCom sends the photo apart)."""

    url: str
    body: dict[str, Any]

    def content(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


def _lines(alert: ChatAlert) -> list[tuple[str, str]]:
    rows = [("Severity", alert.severity)]
    if alert.location.text:
        rows.append(("Location", alert.location.text))
    rows += [(k, v) for k, v in alert.facts]
    return rows


def dingtalk_requests(alert: ChatAlert, *, webhook: str, secret: str | None, now_ms: int) -> list[OutboundRequest]:
    """A ``markdown`` message (title, text; a photo as ``![](url)`` since a custom robot
    cannot upload images; the link back as a Markdown link).
    https://open.dingtalk.com/document/orgapp/custom-robots-send-group-messages"""
    parts = [f"#### {alert.title}", "", alert.text, ""]
    parts += [f"- **{k}**: {v}" for k, v in _lines(alert)]
    if alert.photo_url:
        parts += ["", f"![photo]({alert.photo_url})"]
    if alert.link:
        parts += ["", f"[Open in Qualitas]({alert.link})"]
    body = {"msgtype": "markdown", "markdown": {"title": alert.title, "text": "\n".join(parts)}}
    if alert.plain:
        body = {"msgtype": "text", "text": {"content": alert.plain_text()}}
    return [OutboundRequest(dingtalk_url(webhook, secret, now_ms), body)]


def wecom_requests(alert: ChatAlert, *, webhook: str) -> list[OutboundRequest]:
    """A ``markdown`` message, then the photo as an ``image`` message (``base64`` of the
    image and the ``md5`` of the image before encoding, at most 2 MB, JPG or PNG); with a
    public photo URL and a link, a ``news`` card instead of the image.
    https://developer.work.weixin.qq.com/document/path/91770"""
    if alert.plain:
        return [OutboundRequest(webhook, {"msgtype": "text", "text": {"content": alert.plain_text()}})]
    colour = {"critical": "warning", "warning": "comment", "info": "info"}.get(alert.severity, "comment")
    parts = [f"### {alert.title}", f'<font color="{colour}">{alert.severity}</font>', alert.text]
    parts += [f"> {k}: {v}" for k, v in _lines(alert)[1:]]
    if alert.link:
        parts.append(f"[Open in Qualitas]({alert.link})")
    out = [OutboundRequest(webhook, {"msgtype": "markdown", "markdown": {"content": "\n".join(parts)}})]
    if alert.photo is not None and len(alert.photo.data) <= WECOM_IMAGE_MAX and alert.photo.kind in ("png", "jpeg"):
        image = {
            "base64": base64.b64encode(alert.photo.data).decode("ascii"),
            "md5": hashlib.md5(alert.photo.data).hexdigest(),
        }
        out.append(OutboundRequest(webhook, {"msgtype": "image", "image": image}))
    elif alert.photo_url and alert.link:
        article = {"title": alert.title, "description": alert.text[:512], "url": alert.link, "picurl": alert.photo_url}
        out.append(OutboundRequest(webhook, {"msgtype": "news", "news": {"articles": [article]}}))
    return out


def feishu_requests(alert: ChatAlert, *, webhook: str, secret: str | None, now_s: int) -> list[OutboundRequest]:
    """A ``post`` (rich text) message: title, the text, location and facts, the photo and
    the explorer as links (a custom bot cannot upload the image_key an ``img`` tag needs).
    https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot"""
    if alert.plain:
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": alert.plain_text()}}
    else:
        rows: list[list[dict[str, str]]] = [[{"tag": "text", "text": alert.text}]]
        rows += [[{"tag": "text", "text": f"{k}: {v}"}] for k, v in _lines(alert)]
        if alert.photo_url:
            rows.append([{"tag": "a", "text": "Photo", "href": alert.photo_url}])
        if alert.link:
            rows.append([{"tag": "a", "text": "Open in Qualitas", "href": alert.link}])
        body = {"msg_type": "post", "content": {"post": {"zh_cn": {"title": alert.title, "content": rows}}}}
    if secret:
        body = {"timestamp": str(now_s), "sign": feishu_sign(secret, now_s), **body}
    return [OutboundRequest(webhook, body)]


def slack_requests(alert: ChatAlert, *, webhook: str) -> list[OutboundRequest]:
    """``text`` (the notification fallback) and Block Kit ``blocks``: a header, a section
    with the text and fields, an ``image`` block for a public photo URL, a button back to
    the explorer. https://api.slack.com/messaging/webhooks#advanced_message_formatting"""
    if alert.plain:
        return [OutboundRequest(webhook, {"text": alert.plain_text()})]
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in _lines(alert)][:10]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": alert.text[:3000]}, "fields": fields},
    ]
    if alert.photo_url:
        blocks.append({"type": "image", "image_url": alert.photo_url, "alt_text": f"photo: {alert.title}"[:2000]})
    if alert.link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open in Qualitas"}, "url": alert.link}
                ],
            }
        )
    return [OutboundRequest(webhook, {"text": f"{alert.title}: {alert.text}", "blocks": blocks})]


def requests_for(
    provider: Provider, alert: ChatAlert, *, webhook: str, secret: str | None, now_s: float
) -> list[OutboundRequest]:
    if provider == "dingtalk":
        return dingtalk_requests(alert, webhook=webhook, secret=secret, now_ms=int(now_s * 1000))
    if provider == "wecom":
        return wecom_requests(alert, webhook=webhook)
    if provider == "feishu":
        return feishu_requests(alert, webhook=webhook, secret=secret, now_s=int(now_s))
    return slack_requests(alert, webhook=webhook)


def accepted(provider: Provider, status: int, text: str) -> tuple[bool, int | None, str]:
    """Whether the robot took the message, its error code and message. DingTalk and WeCom
    answer ``{"errcode": 0, "errmsg": "ok"}``, Feishu ``{"code": 0, "msg": "success"}`` (older
    bots ``{"StatusCode": 0}``), Slack the text ``ok``."""
    if status != 200:
        return False, None, text[:300]
    if provider == "slack":
        return text.strip() == "ok", None, text[:300]
    try:
        data = json.loads(text)
    except ValueError:
        return False, None, f"not JSON: {text[:200]}"
    if not isinstance(data, dict):
        return False, None, text[:300]
    key = "errcode" if provider in ("dingtalk", "wecom") else ("code" if "code" in data else "StatusCode")
    code = data.get(key)
    message = str(data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or "")
    try:
        number = int(code) if code is not None else None
    except (TypeError, ValueError):
        number = None
    return number == 0, number, message
