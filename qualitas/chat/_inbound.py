"""Chat in: a message or command from the shop floor raises a quality anomaly.

Layers::

    POST /chat/dingtalk | /chat/slack | /chat/feishu
      ── signature check (refused: 401, audited as ``chat.refused``)
      ── parse the provider's payload into an :class:`AnomalyReport`
      ── work order in the graph (one append-only batch, audited as ``chat.anomaly``)
      ── an ``anomaly`` alarm on the alert hub (live subscribers, outbound chat)
      ── the provider's reply format ("work order WO-... opened")

=========  =====================================================================================
provider   how a request is authenticated
=========  =====================================================================================
dingtalk   outgoing robot: headers ``timestamp`` (ms, within 1 hour) and ``sign`` =
           Base64(HmacSHA256(appSecret, timestamp + "\\n" + appSecret))
           https://open.dingtalk.com/document/orgapp/receive-message
slack      slash command: ``X-Slack-Signature`` = ``v0=`` hex HMAC-SHA256(signing secret,
           ``v0:`` + ``X-Slack-Request-Timestamp`` + ``:`` + body), timestamp within 5 minutes
           https://api.slack.com/authentication/verifying-requests-from-slack
feishu     event callback: ``X-Lark-Signature`` = hex SHA-256(``X-Lark-Request-Timestamp`` +
           ``X-Lark-Request-Nonce`` + encrypt key + body); with an encrypt key the body is
           ``{"encrypt": ...}`` (AES-256-CBC); the verification token must match; the
           ``url_verification`` challenge is answered
           https://open.feishu.cn/document/server-docs/event-subscription-guide/event-subscription-configure-/request-url-configuration-case
=========  =====================================================================================

A command is free text with optional ``key=value`` words: ``line=``, ``station=``,
``equipment=``, ``mode=`` (a failure mode code), ``photo=`` (an image URL); a leading
``anomaly`` / ``异常`` is dropped. A photo the chat app holds (a DingTalk picture's
``downloadCode``, a Feishu ``image_key``) is recorded by its reference: fetching it needs
the app's own API credentials, which a robot webhook does not have.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import re
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import FileResponse, JSONResponse, Response
from rdflib import RDF, XSD, Literal
from rdflib.namespace import PROV

from qualitas.chat._config import ChatConfig
from qualitas.chat._providers import (
    dingtalk_inbound_sign,
    feishu_decrypt,
    feishu_event_signature,
    slack_signature,
)
from qualitas.edge_adapters._model import Alarm
from qualitas.edge_adapters.graph import Triple, agent_iri, edge_iri, write_batch
from qualitas.errors import AuthenticationError, InputError
from qualitas.ontology import Q, mint

if TYPE_CHECKING:
    from fastapi import FastAPI

    from qualitas.audit import AuditLog
    from qualitas.edge_adapters.alerts import AlertHub
    from qualitas.store import GraphStore

DINGTALK_WINDOW_S = 3600.0  # "timestamp 与系统当前时间戳如果相差1小时以上，则认为是非法的请求"
SLACK_WINDOW_S = 300.0  # "more than five minutes from local time ... ignore the request"
FEISHU_WINDOW_S = 3600.0  # not set by Feishu's page; the same hour as its bot signatures
_KEYS = {
    "line": "line",
    "产线": "line",
    "station": "station",
    "工位": "station",
    "equipment": "equipment",
    "设备": "equipment",
    "mode": "mode",
    "photo": "photo",
}
_WORD = re.compile(r"^([A-Za-z\u4e00-\u9fff]+)[=:：](\S+)$")
_URL = re.compile(r"^https?://\S+$")


@dataclass(frozen=True)
class AnomalyReport:
    """What a person reported, whatever the app: text, who, where, photo."""

    provider: str
    message_id: str
    text: str
    reporter: str
    at: float
    line: str | None = None
    station: str | None = None
    equipment: str | None = None
    failure_mode: str | None = None
    photo: str | None = None
    conversation: str | None = None

    @property
    def work_order_id(self) -> str:
        digest = hashlib.sha256(f"{self.provider}\n{self.message_id}".encode()).hexdigest()[:10].upper()
        return f"WO-{self.provider.upper()[:2]}-{digest}"


def parse_command(text: str) -> dict[str, str | None]:
    """Free text with ``key=value`` words (see the module docstring) into its parts."""
    words = text.replace("\u00a0", " ").split()
    if words and words[0].lower() in ("anomaly", "异常", "/anomaly"):
        words = words[1:]
    found: dict[str, str | None] = {"line": None, "station": None, "equipment": None, "mode": None, "photo": None}
    rest = []
    for word in words:
        m = _WORD.match(word)
        key = _KEYS.get(m.group(1).lower()) if m else None
        if m and key:
            found[key] = m.group(2)
        elif (
            _URL.match(word)
            and found["photo"] is None
            and word.lower().split("?")[0].endswith((".png", ".jpg", ".jpeg"))
        ):
            found["photo"] = word
        else:
            rest.append(word)
    found["text"] = " ".join(rest).strip()
    return found


def _report(
    provider: str,
    message_id: str,
    text: str,
    *,
    reporter: str,
    at: float,
    photo: str | None = None,
    conversation: str | None = None,
) -> AnomalyReport:
    parts = parse_command(text)
    return AnomalyReport(
        provider=provider,
        message_id=message_id,
        text=str(parts["text"] or ""),
        reporter=reporter,
        at=at,
        line=parts["line"],
        station=parts["station"],
        equipment=parts["equipment"],
        failure_mode=parts["mode"],
        photo=parts["photo"] or photo,
        conversation=conversation,
    )


# ---------------------------------------------------------------- signature checks


def _timestamp(raw: str | None, *, unit: float, name: str) -> float:
    if raw is None or not raw.strip().isdigit():
        raise AuthenticationError(f"missing or malformed {name} header")
    return int(raw) / unit


def check_dingtalk(headers: Mapping[str, str], *, app_secret: str, now: float) -> None:
    ts = headers.get("timestamp")
    when = _timestamp(ts, unit=1000.0, name="timestamp")
    if abs(now - when) > DINGTALK_WINDOW_S:
        raise AuthenticationError("DingTalk timestamp is more than one hour from now")
    expected = dingtalk_inbound_sign(app_secret, str(ts).strip())
    if not hmac.compare_digest(expected, headers.get("sign", "")):
        raise AuthenticationError("DingTalk sign does not match")


def check_slack(headers: Mapping[str, str], body: bytes, *, signing_secret: str, now: float) -> None:
    ts = headers.get("x-slack-request-timestamp")
    when = _timestamp(ts, unit=1.0, name="X-Slack-Request-Timestamp")
    if abs(now - when) > SLACK_WINDOW_S:
        raise AuthenticationError("Slack request timestamp is more than five minutes from now (replay?)")
    expected = slack_signature(signing_secret, str(ts).strip(), body)
    if not hmac.compare_digest(expected, headers.get("x-slack-signature", "")):
        raise AuthenticationError("X-Slack-Signature does not match")


def check_feishu(headers: Mapping[str, str], body: bytes, *, encrypt_key: str, now: float) -> None:
    ts = headers.get("x-lark-request-timestamp")
    nonce = headers.get("x-lark-request-nonce")
    when = _timestamp(ts, unit=1.0, name="X-Lark-Request-Timestamp")
    if nonce is None:
        raise AuthenticationError("missing X-Lark-Request-Nonce header")
    if abs(now - when) > FEISHU_WINDOW_S:
        raise AuthenticationError("X-Lark-Request-Timestamp is more than one hour from now")
    expected = feishu_event_signature(str(ts).strip(), nonce, encrypt_key, body)
    if not hmac.compare_digest(expected, headers.get("x-lark-signature", "")):
        raise AuthenticationError("X-Lark-Signature does not match")


# ---------------------------------------------------------------- payloads


def _json(body: bytes, provider: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{provider}: the request body is not JSON") from exc
    if not isinstance(data, dict):
        raise InputError(f"{provider}: the request body is not a JSON object")
    return data


def dingtalk_report(data: Mapping[str, Any], *, now: float) -> AnomalyReport:
    """An outgoing robot message: ``text.content`` (``msgtype`` text) or a ``picture`` with
    ``content.downloadCode``; ``senderNick`` and ``senderStaffId`` name the reporter."""
    msgtype = data.get("msgtype")
    text, photo = "", None
    if msgtype == "text":
        text = str((data.get("text") or {}).get("content") or "")
    elif msgtype == "picture":
        code = (data.get("content") or {}).get("downloadCode")
        photo = f"dingtalk:downloadCode:{code}" if code else None
    elif msgtype == "richText":
        for part in (data.get("content") or {}).get("richText") or []:
            if isinstance(part, dict) and part.get("text"):
                text += str(part["text"]) + " "
            elif isinstance(part, dict) and part.get("downloadCode") and photo is None:
                photo = f"dingtalk:downloadCode:{part['downloadCode']}"
    else:
        raise InputError(f"dingtalk: message type {msgtype!r} is not text, picture or richText", field="msgtype")
    nick = str(data.get("senderNick") or "")
    staff = str(data.get("senderStaffId") or data.get("senderId") or "")
    created = data.get("createAt")
    at = int(created) / 1000.0 if isinstance(created, int | str) and str(created).isdigit() else now
    message_id = str(data.get("msgId") or hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest())
    return _report(
        "dingtalk",
        message_id,
        text,
        reporter=f"{nick} ({staff})" if staff else nick or "unknown",
        at=at,
        photo=photo,
        conversation=data.get("conversationTitle"),
    )


def slack_report(form: Mapping[str, str], *, now: float) -> AnomalyReport:
    """A slash command (``application/x-www-form-urlencoded``): ``command``, ``text``,
    ``user_id``, ``user_name``, ``channel_name``, ``trigger_id``.
    https://api.slack.com/interactivity/slash-commands#app_command_handling"""
    user = form.get("user_name") or ""
    uid = form.get("user_id") or ""
    message_id = form.get("trigger_id") or hashlib.sha256(repr(sorted(form.items())).encode()).hexdigest()
    return _report(
        "slack",
        message_id,
        form.get("text", ""),
        reporter=f"{user} ({uid})" if uid else user or "unknown",
        at=now,
        conversation=form.get("channel_name"),
    )


def feishu_report(data: Mapping[str, Any], *, now: float) -> AnomalyReport:
    """An ``im.message.receive_v1`` event (schema 2.0): ``event.message`` with
    ``message_type`` text (``content`` = ``{"text": ...}``) or image (``{"image_key": ...}``),
    ``event.sender.sender_id``.
    https://open.feishu.cn/document/server-docs/im-v1/message/events/receive"""
    header = data.get("header") or {}
    if header.get("event_type") != "im.message.receive_v1":
        raise InputError(
            f"feishu: event {header.get('event_type')!r} is not im.message.receive_v1", field="header.event_type"
        )
    event = data.get("event") or {}
    message = event.get("message") or {}
    try:
        content = json.loads(message.get("content") or "{}")
    except ValueError as exc:
        raise InputError("feishu: message.content is not JSON", field="event.message.content") from exc
    kind = message.get("message_type")
    text, photo = "", None
    if kind == "text":
        text = re.sub(r"@_user_\d+", "", str(content.get("text") or ""))
    elif kind == "image":
        photo = f"feishu:image_key:{content.get('image_key')}"
    elif kind == "post":
        for row in content.get("content") or []:
            for el in row:
                if el.get("tag") == "text":
                    text += str(el.get("text") or "") + " "
                elif el.get("tag") == "img" and photo is None:
                    photo = f"feishu:image_key:{el.get('image_key')}"
    else:
        raise InputError(
            f"feishu: message type {kind!r} is not text, image or post", field="event.message.message_type"
        )
    sender = (event.get("sender") or {}).get("sender_id") or {}
    who = sender.get("user_id") or sender.get("open_id") or "unknown"
    created = message.get("create_time")
    at = int(created) / 1000.0 if isinstance(created, str) and created.isdigit() else now
    return _report(
        "feishu",
        str(message.get("message_id") or header.get("event_id")),
        text,
        reporter=str(who),
        at=at,
        photo=photo,
        conversation=message.get("chat_id"),
    )


# ---------------------------------------------------------------- into the graph


def work_order_triples(report: AnomalyReport) -> list[Triple]:
    s = edge_iri("workorder", report.work_order_id)
    when = Literal(dt.datetime.fromtimestamp(report.at, dt.UTC).isoformat(), datatype=XSD.dateTime)
    out: list[Triple] = [
        (s, RDF.type, Q.WorkOrder),
        (s, Q.code, Literal(report.work_order_id)),
        (s, Q.message, Literal(report.text)),
        (s, Q.raisedAt, when),
        (s, Q.reportedBy, Literal(report.reporter)),
        (s, Q.reportChannel, Literal(report.provider)),
        (s, Q.workOrderStatus, Literal("open")),
        (s, PROV.wasAttributedTo, agent_iri(f"chat:{report.provider}")),
    ]
    for prop, value in ((Q.line, report.line), (Q.station, report.station), (Q.photo, report.photo)):
        if value:
            out.append((s, prop, Literal(value)))
    if report.equipment:
        out.append((s, Q.onEquipment, mint("equipment", report.equipment)))
    if report.failure_mode:
        out.append((s, Q.failureMode, mint("failuremode", report.failure_mode)))
    return out


def record_anomaly(store: GraphStore, report: AnomalyReport, *, audit: AuditLog | None) -> str:
    """The work order as one append-only batch of the store with its audit record. A
    message the app delivers twice (a retry) writes the same batch again: no second order."""
    from qualitas.audit import audited_load

    triples = work_order_triples(report)
    source = f"chat:{report.provider}:{report.work_order_id}"
    actor = f"chat:{report.provider}:{report.reporter}"
    with audited_load(
        audit,
        store,
        actor=actor,
        role="chat",
        source=source,
        format="chat",
        action="chat.anomaly",
        why=report.text[:200] or None,
    ) as done:
        done.results = [write_batch(store, triples, source=source, agent=f"chat:{report.provider}")]
    return report.work_order_id


# ---------------------------------------------------------------- HTTP


class _Seen:
    """Message ids already handled (apps redeliver on a slow answer), bounded."""

    def __init__(self, size: int = 4096) -> None:
        self._ids: OrderedDict[str, str] = OrderedDict()
        self.size = size

    def get(self, key: str) -> str | None:
        return self._ids.get(key)

    def put(self, key: str, value: str) -> None:
        self._ids[key] = value
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)


def add_chat_routes(
    app: FastAPI,
    config: ChatConfig,
    *,
    store: Callable[[], GraphStore],
    audit: AuditLog | None,
    refusals: Any,
    alerts: AlertHub | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Mount ``POST /chat/dingtalk``, ``/chat/slack``, ``/chat/feishu`` (those configured
    under ``inbound``) and ``GET /chat/media/<sha256>.<png|jpg>`` (photos sent out)."""
    from qualitas.chat._send import MediaStore

    seen = _Seen()
    media = MediaStore(config.media_dir, config.media_url)

    def refuse(request: Request, provider: str, exc: AuthenticationError) -> JSONResponse:
        client = request.client.host if request.client else "unknown"
        refusals.record(
            client,
            "chat.refused",
            what={"status": 401, "provider": provider, "path": request.url.path, "reason": exc.message},
        )
        return JSONResponse({"error": exc.message}, status_code=401)

    async def handle(report: AnomalyReport) -> str:
        key = f"{report.provider}:{report.message_id}"
        done = seen.get(key)
        if done is not None:
            return done
        wo = await asyncio.to_thread(record_anomaly, store(), report, audit=audit)
        seen.put(key, wo)
        if alerts is not None:
            where = ", ".join(
                f"{k} {v}"
                for k, v in (("line", report.line), ("station", report.station), ("equipment", report.equipment))
                if v
            )
            alerts.publish(
                Alarm(
                    id=wo,
                    kind="anomaly",
                    signal=report.equipment or report.station or report.line or "shop floor",
                    rule=f"chat:{report.provider}",
                    severity="warning",
                    message=f"{report.reporter}: {report.text}" + (f" ({where})" if where else ""),
                    ts=report.at,
                )
            )
        return wo

    def reply_text(report: AnomalyReport, wo: str) -> str:
        where = " / ".join(v for v in (report.line, report.station, report.equipment) if v)
        text = f"Work order {wo} opened" + (f" at {where}" if where else "") + f": {report.text}"
        return text

    help_text = (
        "Describe the anomaly, e.g. 'anomaly smell at cell formation line=L2 station=S5 "
        "equipment=FC-12 mode=FM-ODOUR photo=https://...'"
    )

    if config.inbound.dingtalk is not None:
        secret = config.inbound.dingtalk.app_secret

        @app.post("/chat/dingtalk", include_in_schema=False)
        async def dingtalk(request: Request) -> Response:
            body = await request.body()
            try:
                check_dingtalk(request.headers, app_secret=secret, now=clock())
            except AuthenticationError as exc:
                return refuse(request, "dingtalk", exc)
            try:
                report = dingtalk_report(_json(body, "dingtalk"), now=clock())
            except InputError as exc:
                return JSONResponse({"msgtype": "text", "text": {"content": exc.message}}, status_code=400)
            if not report.text and not report.photo:
                return JSONResponse({"msgtype": "text", "text": {"content": help_text}})
            wo = await handle(report)
            return JSONResponse({"msgtype": "text", "text": {"content": reply_text(report, wo)}})

    if config.inbound.slack is not None:
        signing = config.inbound.slack.signing_secret

        @app.post("/chat/slack", include_in_schema=False)
        async def slack(request: Request) -> Response:
            body = await request.body()
            try:
                check_slack(request.headers, body, signing_secret=signing, now=clock())
            except AuthenticationError as exc:
                return refuse(request, "slack", exc)
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            report = slack_report(form, now=clock())
            if not report.text:
                return JSONResponse({"response_type": "ephemeral", "text": help_text})
            wo = await handle(report)
            return JSONResponse({"response_type": "in_channel", "text": reply_text(report, wo)})

    if config.inbound.feishu is not None:
        feishu_cfg = config.inbound.feishu

        @app.post("/chat/feishu", include_in_schema=False)
        async def feishu(request: Request) -> Response:
            body = await request.body()
            signed = "x-lark-signature" in request.headers
            try:
                if feishu_cfg.encrypt_key and signed:
                    check_feishu(request.headers, body, encrypt_key=feishu_cfg.encrypt_key, now=clock())
                data = _json(body, "feishu")
                if "encrypt" in data:
                    if not feishu_cfg.encrypt_key:
                        raise AuthenticationError("an encrypted Feishu event, but no encrypt_key is configured")
                    try:
                        data = _json(feishu_decrypt(feishu_cfg.encrypt_key, str(data["encrypt"])), "feishu")
                    except (ValueError, KeyError) as exc:
                        raise AuthenticationError("the Feishu event does not decrypt with the encrypt key") from exc
                token = data.get("token") or (data.get("header") or {}).get("token")
                if feishu_cfg.verification_token and not hmac.compare_digest(
                    str(token or ""), feishu_cfg.verification_token
                ):
                    raise AuthenticationError("Feishu verification token does not match")
                if data.get("type") == "url_verification":
                    return JSONResponse({"challenge": data.get("challenge")})
                if feishu_cfg.encrypt_key and not signed:
                    raise AuthenticationError("a Feishu event without X-Lark-Signature")
            except AuthenticationError as exc:
                return refuse(request, "feishu", exc)
            except InputError as exc:
                return JSONResponse({"error": exc.message}, status_code=400)
            try:
                report = feishu_report(data, now=clock())
            except InputError as exc:
                return JSONResponse({"error": exc.message}, status_code=400)
            if not report.text and not report.photo:
                return JSONResponse({"ok": True, "note": help_text})
            wo = await handle(report)
            return JSONResponse({"ok": True, "workOrder": wo})

    @app.get("/chat/media/{name}", include_in_schema=False)
    async def media_file(name: str) -> Response:
        path = media.path(name)
        if path is None:
            return JSONResponse({"error": "no such photo"}, status_code=404)
        return FileResponse(
            path,
            media_type="image/jpeg" if name.endswith(".jpg") else "image/png",
            headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
        )
