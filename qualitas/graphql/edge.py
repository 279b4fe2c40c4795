"""GraphQL pieces of the edge: alarms recorded in the graph, live alerts, and the
``alerts`` subscription (graphql-transport-ws), merged into the root schema via PLUGINS.

The live hub is ``info.context["alerts"]`` (an :class:`AlertHub` made by ``create_app``);
recorded alarms come from the store.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from qualitas.edge_adapters._model import Alarm
from qualitas.edge_adapters.alerts import AlertHub
from qualitas.ontology import mint, sparql_prefixes


@strawberry.type
class EdgeEvidence:
    at: dt.datetime
    source: str
    key: str
    value: float


@strawberry.type
class EdgeAlert:
    id: str
    kind: str
    signal: str
    rule: str
    severity: str
    message: str
    raised_at: dt.datetime
    value: float | None
    run_id: str | None
    evidence: list[EdgeEvidence]


def _alert(alarm: Alarm) -> EdgeAlert:
    return EdgeAlert(
        id=alarm.id,
        kind=alarm.kind,
        signal=alarm.signal,
        rule=alarm.rule,
        severity=alarm.severity,
        message=alarm.message,
        raised_at=alarm.raised_at,
        value=alarm.value,
        run_id=alarm.run_id,
        evidence=[
            EdgeEvidence(at=dt.datetime.fromtimestamp(h.ts, dt.UTC), source=h.source, key=h.key, value=h.value)
            for h in alarm.evidence
        ],
    )


def _hub(info: Info) -> AlertHub | None:
    hub = info.context.get("alerts") if isinstance(info.context, dict) else None
    return hub if isinstance(hub, AlertHub) else None


def _as_datetime(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


@strawberry.type
class EdgeQuery:
    @strawberry.field(description="Alarms recorded in the graph (SPC, rule and safety), newest first.")
    def edge_alarms(self, info: Info, run_id: str | None = None, limit: int = 50) -> list[EdgeAlert]:
        store = info.context["store"]
        # mint() percent-encodes the id: a runId cannot close the IRI and add SPARQL of its own
        run_filter = f"FILTER(?run = <{mint('run', run_id)}>)" if run_id and run_id.strip() else ""
        rows = store.select(
            sparql_prefixes()
            + f"""
            SELECT ?a ?kind ?signal ?rule ?severity ?message ?at ?value ?run ?evidence WHERE {{
              ?a a q:Alarm ; q:alarmKind ?kind ; q:signal ?signal ; q:ruleId ?rule ; q:severity ?severity ;
                 q:message ?message ; q:raisedAt ?at ; q:evidence ?evidence .
              OPTIONAL {{ ?a q:value ?value }}
              OPTIONAL {{ ?a q:duringRun ?run }}
              {run_filter}
            }} ORDER BY DESC(?at) LIMIT {int(limit)}
            """
        )
        out = []
        for r in rows:
            evidence = [
                EdgeEvidence(at=_as_datetime(e["ts"]), source=e["source"], key=e["key"], value=float(e["value"]))
                for e in json.loads(str(r["evidence"]))
            ]
            run = str(r["run"]).rsplit("/", 1)[-1] if "run" in r else None
            out.append(
                EdgeAlert(
                    id=str(r["a"]).rsplit("/", 1)[-1],
                    kind=str(r["kind"]),
                    signal=str(r["signal"]),
                    rule=str(r["rule"]),
                    severity=str(r["severity"]),
                    message=str(r["message"]),
                    raised_at=_as_datetime(r["at"]),
                    value=float(r["value"]) if "value" in r else None,  # type: ignore[arg-type]
                    run_id=run,
                    evidence=evidence,
                )
            )
        return out

    @strawberry.field(description="Alerts published in this server process since it started, newest first.")
    def recent_alerts(self, info: Info, limit: int = 50) -> list[EdgeAlert]:
        hub = _hub(info)
        return [_alert(a) for a in hub.recent(limit)] if hub else []


@strawberry.type
class EdgeSubscription:
    @strawberry.subscription(description="Live edge alerts (SPC, rule and safety), optionally of one severity.")
    async def alerts(self, info: Info, severity: str | None = None) -> AsyncGenerator[EdgeAlert, None]:
        hub = _hub(info)
        if hub is None:
            return
        async for alarm in hub.subscribe():
            if severity is None or alarm.severity == severity:
                yield _alert(alarm)
