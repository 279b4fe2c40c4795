"""The chat surface of the web app: inbound routes, and alarms out to the configured robots.

``create_app`` calls :func:`install_chat` when ``QUALITAS_CHAT_CONFIG`` names a chat YAML
(:mod:`qualitas.chat._config`); without it nothing is mounted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from qualitas.chat._config import ChatConfig, load_chat_config
from qualitas.chat._inbound import add_chat_routes
from qualitas.chat._message import Location
from qualitas.chat._send import ChatBridge, ChatSender
from qualitas.edge_adapters._model import Alarm

if TYPE_CHECKING:
    from fastapi import FastAPI

    from qualitas.audit import AuditLog
    from qualitas.edge_adapters.alerts import AlertHub
    from qualitas.settings import Settings
    from qualitas.store import GraphStore


def place_of(config: ChatConfig) -> Callable[[Alarm], Location | None]:
    """The line and station of an alarm, from the configuration's ``places`` (matched on the
    signal, then on the signal's first dotted part: ``fc12.temperature`` -> ``fc12``, then
    on the sources of its evidence: a camera source's name)."""

    def lookup(alarm: Alarm) -> Location | None:
        for key in (alarm.signal, alarm.signal.split(".", 1)[0], *(h.source for h in reversed(alarm.evidence))):
            place = config.places.get(key)
            if place is not None:
                return Location(line=place.line, station=place.station, equipment=place.equipment)
        return None

    return lookup


def install_chat(
    app: FastAPI,
    settings: Settings,
    *,
    store: Callable[[], GraphStore],
    audit: AuditLog | None,
    refusals: Any,
    alerts: AlertHub,
) -> ChatConfig | None:
    """Mount the inbound routes and, while the app runs, forward every alarm on ``alerts``
    to the configured channels (wrapping the app's lifespan, so it starts and stops with it)."""
    path = getattr(settings, "chat_config", None)
    if path is None:
        return None
    config = load_chat_config(path)
    add_chat_routes(app, config, store=store, audit=audit, refusals=refusals, alerts=alerts)
    app.state.chat = config
    if not config.channels:
        return config
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def with_chat(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as value:
            bridge = ChatBridge(config, ChatSender(config.channels), locations=place_of(config))
            bridge.start(alerts.subscribe())
            app.state.chat_bridge = bridge
            try:
                yield value
            finally:
                await bridge.aclose()

    app.router.lifespan_context = with_chat
    return config
