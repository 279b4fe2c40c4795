"""The alert hub: a fan-out of alarms to live subscribers (GraphQL ``alerts``) with a
short memory of recent ones. In-process; the graph is the record.

Subscribers are async iterators on their own event loop (the web server's); an edge
runner may publish from the same loop or from another thread with its own loop, so
:meth:`AlertHub.publish` hands each alarm to a subscriber's loop with
``call_soon_threadsafe`` when it is not the caller's.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from qualitas.edge_adapters._model import Alarm


@dataclass(eq=False)
class _Subscriber:
    queue: asyncio.Queue[Alarm]
    loop: asyncio.AbstractEventLoop


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class AlertHub:
    def __init__(self, *, keep: int = 200, queue_size: int = 1000) -> None:
        self._recent: deque[Alarm] = deque(maxlen=keep)
        self._subscribers: set[_Subscriber] = set()
        self._queue_size = queue_size
        self._lock = threading.Lock()
        self.published = 0
        self.dropped = 0

    def publish(self, alarm: Alarm) -> None:
        """Deliver to every subscriber, from any thread (a subscriber that falls
        ``queue_size`` behind loses its oldest alerts rather than slowing the control loop)."""
        with self._lock:
            self.published += 1
            self._recent.append(alarm)
            subscribers = list(self._subscribers)
        here = _running_loop()
        for sub in subscribers:
            if sub.loop is here:
                self._deliver(sub, alarm)
            elif not sub.loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: its subscriber is gone
                    sub.loop.call_soon_threadsafe(self._deliver, sub, alarm)

    def _deliver(self, sub: _Subscriber, alarm: Alarm) -> None:
        if sub.queue.full():
            sub.queue.get_nowait()
            with self._lock:
                self.dropped += 1
        sub.queue.put_nowait(alarm)

    def recent(self, limit: int = 50) -> list[Alarm]:
        """The newest ``limit`` alarms, newest first."""
        with self._lock:
            return list(reversed(self._recent))[:limit]

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    async def subscribe(self) -> AsyncIterator[Alarm]:
        sub = _Subscriber(asyncio.Queue(self._queue_size), asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(sub)
        try:
            while True:
                yield await sub.queue.get()
        finally:
            with self._lock:
                self._subscribers.discard(sub)
