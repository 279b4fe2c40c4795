"""Sending to the chat robots: rate limits, retries with backoff, and the bridge from the
alert hub.

Layers::

    AlertHub ── ChatBridge (alarm -> ChatAlert, severity filter) ── ChatSender
            ── per channel: SlidingWindow limits ── httpx POST ── retry with backoff

A message is delivered once the robot says so (:func:`qualitas.chat._providers.accepted`);
a network error, an HTTP 5xx or 429 or a provider's "too fast" code is retried with
exponential backoff and jitter (honouring ``Retry-After``); anything else (a wrong
signature, a bad payload) fails at once, since sending it again cannot help.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qualitas.chat._config import Channel, ChatConfig
from qualitas.chat._message import ChatAlert, Location, Photo
from qualitas.chat._providers import RATE_LIMITS, RETRYABLE_CODES, accepted, requests_for
from qualitas.edge_adapters._model import Alarm
from qualitas.errors import ConfigError, DeliveryError, MissingExtraError, QualitasError

log = logging.getLogger(__name__)
_MEDIA_NAME = re.compile(r"^[0-9a-f]{64}\.(png|jpg)$")


class SlidingWindow:
    """At most ``count`` events in any ``per_s`` seconds; :meth:`acquire` waits for room."""

    def __init__(self, count: int, per_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.count = count
        self.per_s = per_s
        self.clock = clock
        self._times: deque[float] = deque()
        self._lock = asyncio.Lock()
        self.waited_s = 0.0

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self.clock()
                while self._times and now - self._times[0] >= self.per_s:
                    self._times.popleft()
                if len(self._times) < self.count:
                    self._times.append(now)
                    return
                wait = self.per_s - (now - self._times[0]) + 0.001
                self.waited_s += wait
                await asyncio.sleep(wait)


@dataclass(frozen=True)
class Delivery:
    channel: str
    provider: str
    requests: int
    attempts: int


class ChatSender:
    """Posts :class:`ChatAlert` messages to configured channels, each channel within its
    provider's documented rate limit (or the tighter ``per_minute`` of its configuration)."""

    def __init__(
        self,
        channels: tuple[Channel, ...] | list[Channel],
        *,
        retries: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            import httpx
        except ImportError as exc:  # pragma: no cover - httpx comes with the chat extra
            raise MissingExtraError("httpx", extra="chat") from exc
        self.channels = {c.name: c for c in channels}
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.clock = clock
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._limits: dict[str, list[SlidingWindow]] = {}
        for c in channels:
            windows = [SlidingWindow(r.count, r.per_s) for r in RATE_LIMITS[c.provider]]
            if c.per_minute is not None:
                windows.append(SlidingWindow(c.per_minute, 60.0))
            self._limits[c.name] = windows
        self.sent = 0
        self.failed = 0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> ChatSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def limits(self, channel: str) -> list[SlidingWindow]:
        return self._limits[channel]

    async def send(self, channel: str, alert: ChatAlert) -> Delivery:
        """Send one alert to one channel; :class:`DeliveryError` says why it was not taken."""
        import httpx

        spec = self.channels.get(channel)
        if spec is None:
            raise ConfigError(f"no chat channel named {channel!r}; configured: {', '.join(self.channels) or 'none'}")
        attempts = 0
        requests = requests_for(spec.provider, alert, webhook=spec.webhook, secret=spec.secret, now_s=self.clock())
        for index in range(len(requests)):
            for attempt in range(self.retries + 1):
                for window in self._limits[spec.name]:
                    await window.acquire()
                # signed URLs and bodies carry the time: sign again for every attempt
                request = requests_for(
                    spec.provider, alert, webhook=spec.webhook, secret=spec.secret, now_s=self.clock()
                )[index]
                attempts += 1
                retry_after: float | None = None
                try:
                    response = await self._client.post(
                        request.url, content=request.content(), headers={"Content-Type": "application/json"}
                    )
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                    retryable = True
                else:
                    ok, code, message = accepted(spec.provider, response.status_code, response.text)
                    if ok:
                        break
                    problem = f"HTTP {response.status_code}" + (f", code {code}" if code is not None else "")
                    problem += f": {message}" if message else ""
                    retryable = (
                        response.status_code >= 500
                        or response.status_code == 429
                        or (code is not None and code in RETRYABLE_CODES[spec.provider])
                    )
                    header = response.headers.get("retry-after")
                    if header and header.strip().isdigit():
                        retry_after = float(header)
                if not retryable or attempt == self.retries:
                    self.failed += 1
                    raise DeliveryError(
                        f"{spec.provider} channel {spec.name!r} did not take the message "
                        f"(attempt {attempt + 1} of {self.retries + 1}): {problem}",
                        channel=spec.name,
                        provider=spec.provider,
                    )
                delay = min(self.max_backoff_s, self.backoff_s * 2**attempt) * (0.5 + random.random() / 2)
                if retry_after is not None:
                    delay = max(delay, min(retry_after, self.max_backoff_s))
                log.warning("chat %s: %s; retrying in %.2f s", spec.name, problem, delay)
                await asyncio.sleep(delay)
        self.sent += 1
        return Delivery(spec.name, spec.provider, len(requests), attempts)


# ---------------------------------------------------------------- alert hub -> chat


FrameLookup = Callable[[Alarm], Photo | None]


def alarm_photo(alarm: Alarm) -> Photo | None:
    """The frame a vision alarm fired on, from the file the edge runner kept
    (``Alarm.photo``, :mod:`qualitas.edge_adapters.frames`); None when there is none or
    it has been pruned since."""
    if not alarm.photo:
        return None
    try:
        return Photo.from_file(alarm.photo)
    except QualitasError as exc:
        log.warning("alarm %s: no photo: %s", alarm.id, exc.message)
        return None


class MediaStore:
    """Photos kept by content hash under ``media_dir``; ``/chat/media/<sha256>.<ext>`` serves
    them (the hash is the capability: a provider fetching the image needs no credentials)."""

    def __init__(self, directory: Path, base_url: str | None) -> None:
        self.directory = directory
        self.base_url = base_url.rstrip("/") if base_url else None

    def put(self, photo: Photo) -> str:
        name = photo.sha256 + photo.suffix
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / name
        if not target.exists():
            tmp = target.with_suffix(".part")
            tmp.write_bytes(photo.data)
            tmp.replace(target)
        return name

    def url(self, name: str) -> str | None:
        return f"{self.base_url}/{name}" if self.base_url else None

    def path(self, name: str) -> Path | None:
        if not _MEDIA_NAME.match(name):
            return None
        candidate = self.directory / name
        return candidate if candidate.is_file() else None


def alert_for(
    alarm: Alarm,
    config: ChatConfig,
    *,
    photo: Photo | None = None,
    photo_url: str | None = None,
    location: Location | None = None,
) -> ChatAlert:
    """The chat message for an edge alarm: what fired, the value, where, and a link to the
    signal's chart in the explorer."""
    facts: list[tuple[str, str]] = [("Id", alarm.id), ("Signal", alarm.signal), ("Rule", alarm.rule)]
    if alarm.value is not None:
        facts.append(("Value", f"{alarm.value:.6g}"))
    facts.append(("Raised", alarm.raised_at.isoformat(timespec="seconds")))
    if alarm.run_id:
        facts.append(("Run", alarm.run_id))
    # an SPC or rule alarm links to its signal's chart; an anomaly raised from chat has no chart
    fragment = f"charts/spc?signal={alarm.signal}" + (f"&run={alarm.run_id}" if alarm.run_id else "")
    link = config.link(fragment) if alarm.kind != "anomaly" else None
    return ChatAlert(
        title=f"{alarm.kind.upper()} alarm: {alarm.signal}",
        text=alarm.message,
        severity=alarm.severity,
        location=location or Location(),
        facts=tuple(facts),
        photo=photo,
        photo_url=photo_url,
        link=link,
    )


class ChatBridge:
    """Forwards every alarm the hub publishes to the channels whose ``severities`` include
    it. ``frames`` finds the photo for an alarm (default :func:`alarm_photo`: the frame a
    vision alarm fired on); it is kept in the media store so apps that fetch images by URL
    can show it."""

    def __init__(
        self,
        config: ChatConfig,
        sender: ChatSender,
        *,
        frames: FrameLookup | None = None,
        locations: Callable[[Alarm], Location | None] | None = None,
    ) -> None:
        self.config = config
        self.sender = sender
        self.frames = frames or alarm_photo
        self.locations = locations
        self.media = MediaStore(config.media_dir, config.media_url)
        self.delivered: list[Delivery] = []
        self.errors: list[str] = []
        self.forwarded = 0  # alarms handled (sent, filtered out or failed)
        self._task: asyncio.Task[None] | None = None

    async def forward(self, alarm: Alarm) -> list[Delivery]:
        photo = self.frames(alarm)
        photo_url = self.media.url(self.media.put(photo)) if photo is not None else None
        location = self.locations(alarm) if self.locations else None
        message = alert_for(alarm, self.config, photo=photo, photo_url=photo_url, location=location)
        out = []
        for channel in self.config.channels:
            if alarm.severity not in channel.severities:
                continue
            try:
                out.append(await self.sender.send(channel.name, message))
            except QualitasError as exc:
                self.errors.append(exc.message)
                log.error("chat: %s", exc.message)
        self.delivered += out
        self.forwarded += 1
        return out

    def start(self, hub_subscription: object) -> None:
        """Run :meth:`forward` for each alarm of ``hub.subscribe()`` in a background task."""

        async def pump() -> None:
            async for alarm in hub_subscription:  # type: ignore[attr-defined]
                try:
                    await self.forward(alarm)
                except Exception as exc:  # one bad alarm (an unreadable photo) must not stop the rest
                    self.forwarded += 1
                    self.errors.append(f"alarm {alarm.id}: {exc}")
                    log.exception("chat: alarm %s not forwarded", alarm.id)

        self._task = asyncio.get_running_loop().create_task(pump())

    async def drain(self, published: Callable[[], int], *, timeout_s: float = 30.0) -> None:
        """Wait (at most ``timeout_s``) until every alarm published so far, ``published()``
        of them counted since :meth:`start`, has been forwarded."""
        deadline = time.monotonic() + timeout_s
        while self.forwarded < published() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.sender.aclose()
