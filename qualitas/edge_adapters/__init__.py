"""Edge adapters: OPC UA, Modbus and vision in; SPC, transient filter, rules and safe
write-back out; alarms, actions and summaries into the graph.

Layers::

    opcua / modbus / vision.source ── buffer.SpillBuffer ── runner.EdgeRunner
        ── series.SeriesStore (raw values) ── spc.SpcMonitor ── transient.CorroborationFilter
        ── rules.RuleEngine (safety envelope) ── actuator writes
        ── graph.GraphRecorder (store) and alerts.AlertHub (GraphQL ``alerts``)

Importing this package loads no client library; asyncua, pymodbus and onnxruntime are
imported by the adapter that needs them (``pip install 'qualitas[edge]'``).
"""

from __future__ import annotations

from qualitas.edge_adapters._model import ActionRecord, Alarm, Corroborated, RawHit, Sample
from qualitas.edge_adapters.alerts import AlertHub
from qualitas.edge_adapters.buffer import SpillBuffer
from qualitas.edge_adapters.config import EdgeConfig, load_config, parse_config
from qualitas.edge_adapters.rules import RuleEngine, decide
from qualitas.edge_adapters.runner import EdgeRunner, EdgeStatus
from qualitas.edge_adapters.series import SeriesStore
from qualitas.edge_adapters.spc import SpcMonitor
from qualitas.edge_adapters.transient import CorroborationFilter, FilterStats

__all__ = [
    "ActionRecord",
    "Alarm",
    "AlertHub",
    "Corroborated",
    "CorroborationFilter",
    "EdgeConfig",
    "EdgeRunner",
    "EdgeStatus",
    "FilterStats",
    "RawHit",
    "RuleEngine",
    "Sample",
    "SeriesStore",
    "SpcMonitor",
    "SpillBuffer",
    "decide",
    "load_config",
    "parse_config",
]
