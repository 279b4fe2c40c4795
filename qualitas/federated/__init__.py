"""Federated training with Flower: the OEM and its suppliers train one predictor while
each party's rows stay in its own graph ("data stays in its domain, the model evolves
together").

    ClientMessage/ServerMessage over gRPC (weights, counts)
    server.py (FedAvg [+ DP]) <──── client.py per party ──── its own GraphStore (_data.py)

The predictor (:mod:`._model`) is a failure probability from process parameters. Each
party runs ``python -m qualitas.federated.client`` on its store; the server is
``python -m qualitas.federated.server``. :mod:`._wire` records and decodes what
crosses the wire, so a test can show it is weights and counts, never a row.
"""

from __future__ import annotations

from qualitas.federated._data import PARAMETERS, PARTY_WINDOWS, read_party_data, simulate, write_party
from qualitas.federated._model import Scores, evaluate, initial_parameters, predict_proba, train
from qualitas.federated._wire import RecordingProxy, audit_payloads, decode, raw_values_on_wire

__all__ = [
    "PARAMETERS",
    "PARTY_WINDOWS",
    "RecordingProxy",
    "Scores",
    "audit_payloads",
    "decode",
    "evaluate",
    "initial_parameters",
    "predict_proba",
    "raw_values_on_wire",
    "read_party_data",
    "simulate",
    "train",
    "write_party",
]
