"""The alert hub: a fan-out of alarms to live subscribers (GraphQL ``alerts``) with a
short memory of recent ones. In-process and asyncio-only; the graph is the record."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

from qualitas.edge_adapters._model import Alarm


class AlertHub:
    def __init__(self, *, keep: int = 200, queue_size: int = 1000) -> None:
        self._recent: deque[Alarm] = deque(maxlen=keep)
        self._subscribers: set[asyncio.Queue[Alarm]] = set()
        self._queue_size = queue_size
        self.published = 0
        self.dropped = 0

    def publish(self, alarm: Alarm) -> None:
        """Deliver to every subscriber (a subscriber that falls ``queue_size`` behind
        loses its oldest alerts rather than slowing the control loop)."""
        self.published += 1
        self._recent.append(alarm)
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(alarm)

    def recent(self, limit: int = 50) -> list[Alarm]:
        """The newest ``limit`` alarms, newest first."""
        return list(reversed(self._recent))[:limit]

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def subscribe(self) -> AsyncIterator[Alarm]:
        queue: asyncio.Queue[Alarm] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)
