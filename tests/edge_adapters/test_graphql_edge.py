"""GraphQL: the `alerts` subscription over the hub create_app makes (in-process, and over
a real uvicorn server with the graphql-transport-ws protocol), and recorded alarms."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from qualitas.edge_adapters._model import Alarm, RawHit
from qualitas.edge_adapters.alerts import AlertHub
from qualitas.edge_adapters.config import parse_config
from qualitas.edge_adapters.graph import GraphRecorder, alarm_triples
from qualitas.edge_adapters.runner import EdgeRunner
from qualitas.graphql.app import create_app
from qualitas.graphql.schema import build_schema
from qualitas.settings import Settings
from qualitas.store import open_store
from tests.graphql.serving import issue_keys, serve_app

ALARM = Alarm(
    id="RUN-G-alarm-1",
    kind="spc",
    signal="weld.temperature",
    rule="nelson1",
    severity="warning",
    message="weld.temperature: one point beyond 3 sigma",
    ts=1_700_000_000.0,
    value=252.5,
    evidence=(RawHit("weld.temperature/nelson1", "plc", 1_700_000_000.0, 252.5),),
    run_id="RUN-G",
)


async def test_alerts_subscription_receives_published_alarms() -> None:
    schema = build_schema()
    hub = AlertHub()
    stream = await schema.subscribe(
        'subscription { alerts(severity: "critical") { id kind signal rule severity value '
        "evidence { source value } } }",
        context_value={"alerts": hub, "store": None},
    )
    first = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0.05)
    assert hub.subscribers == 1
    hub.publish(ALARM)  # a warning: filtered out
    hub.publish(Alarm(**{**ALARM.__dict__, "id": "RUN-G-alarm-2", "kind": "safety", "severity": "critical"}))
    result = await asyncio.wait_for(first, 2)
    assert result.errors is None
    assert result.data["alerts"]["id"] == "RUN-G-alarm-2"
    assert result.data["alerts"]["evidence"] == [{"source": "plc", "value": 252.5}]
    await stream.aclose()


async def test_edge_alarms_query_reads_the_graph_and_recent_alerts_the_hub() -> None:
    store = open_store(None)
    recorder = GraphRecorder(store, agent="edge-test", run_id="RUN-G")
    recorder.add(alarm_triples(ALARM, agent="edge-test", equipment="WELD-03"))
    await recorder.flush()
    hub = AlertHub()
    hub.publish(ALARM)
    schema = build_schema()
    result = await schema.execute(
        '{ edgeAlarms(runId: "RUN-G") { id rule value raisedAt runId evidence { key } } recentAlerts { id } }',
        context_value={"store": store, "alerts": hub},
    )
    assert result.errors is None
    assert result.data["edgeAlarms"] == [
        {
            "id": "RUN-G-alarm-1",
            "rule": "nelson1",
            "value": 252.5,
            "raisedAt": "2023-11-14T22:13:20+00:00",
            "runId": "RUN-G",
            "evidence": [{"key": "weld.temperature/nelson1"}],
        }
    ]
    assert result.data["recentAlerts"] == [{"id": "RUN-G-alarm-1"}]
    store.close()


def test_create_app_puts_a_hub_in_the_context() -> None:
    from qualitas.graphql.app import create_app
    from qualitas.settings import Settings

    app = create_app(Settings(), store=open_store(None))
    assert isinstance(app.state.alerts, AlertHub)


# ---------------------------------------------------------------- over a real server


@dataclass(frozen=True)
class Served:
    app: FastAPI
    ws_url: str
    key: str  # an engineer's API key: alert subscriptions need a role


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``create_app(settings)`` under uvicorn on a free loopback port, in a thread."""
    settings = Settings(store=tmp_path_factory.mktemp("edge-api") / "store")
    key = issue_keys(settings, ("engineer",))["engineer"]
    app = create_app(settings)
    with serve_app(app) as base:
        yield Served(app, f"{base.replace('http://', 'ws://')}/graphql", key)


async def _receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return message


async def _until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_alerts_subscription_over_websocket_receives_a_runner_alarm(served: Served, tmp_path: Path) -> None:
    hub: AlertHub = served.app.state.alerts
    async with connect(served.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "graphql-transport-ws"
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {served.key}"}}))
        assert (await _receive(ws))["type"] == "connection_ack"
        query = (
            'subscription { alerts(severity: "critical") { id kind signal rule severity message value runId '
            "evidence { source key value } } }"
        )
        await ws.send(json.dumps({"id": "s1", "type": "subscribe", "payload": {"query": query}}))
        await _until(lambda: hub.subscribers == 1)

        # an edge runner in this process publishes to the app's hub (from its own loop and thread)
        config = parse_config({"run": {"id": "RUN-G"}, "series_dir": str(tmp_path / "series")})
        runner = EdgeRunner(config, hub=hub)
        runner.alarm(ALARM)  # a warning: filtered out by the subscription's severity
        critical = Alarm(**{**ALARM.__dict__, "id": "RUN-G-alarm-3", "kind": "safety", "severity": "critical"})
        runner.alarm(critical)
        await runner.close()

        message = await _receive(ws)
        assert message == {
            "id": "s1",
            "type": "next",
            "payload": {
                "data": {
                    "alerts": {
                        "id": "RUN-G-alarm-3",
                        "kind": "safety",
                        "signal": "weld.temperature",
                        "rule": "nelson1",
                        "severity": "critical",
                        "message": "weld.temperature: one point beyond 3 sigma",
                        "value": 252.5,
                        "runId": "RUN-G",
                        "evidence": [{"source": "plc", "key": "weld.temperature/nelson1", "value": 252.5}],
                    }
                }
            },
        }
        await ws.send(json.dumps({"id": "s1", "type": "complete"}))
        await _until(lambda: hub.subscribers == 0)  # the server let go of the subscription
    assert [a.id for a in hub.recent(2)] == ["RUN-G-alarm-3", "RUN-G-alarm-1"]
