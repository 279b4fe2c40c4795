"""GraphQL: the `alerts` subscription over the hub create_app makes, and recorded alarms."""

from __future__ import annotations

import asyncio

from qualitas.edge_adapters._model import Alarm, RawHit
from qualitas.edge_adapters.alerts import AlertHub
from qualitas.edge_adapters.graph import GraphRecorder, alarm_triples
from qualitas.graphql.schema import build_schema
from qualitas.store import open_store

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
