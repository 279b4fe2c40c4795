"""A party's Flower client: trains the shared predictor on its own graph.

    python -m qualitas.federated.client --store DIR --server 127.0.0.1:8080 [--party NAME]

The rows are read from the party's store (:func:`read_party_data`) and stay in this
process; Flower sends the server the updated weights and the number of rows they were
trained on, nothing else (``fit`` returns no metrics). In each round's evaluate step the
server hands the aggregated weights back: the client keeps them in its own graph (a
``q:PredictiveModel``, replaced each round, so the final model lives in every party's
store) and answers with its local log loss and row count.
"""

from __future__ import annotations

import argparse
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from qualitas.errors import MissingExtraError
from qualitas.federated._data import read_party_data
from qualitas.federated._model import evaluate, initial_parameters, train

MODEL_SOURCE = "federated-model:failure-probability"


def keep_model(store_path: Path, params: list[np.ndarray], *, round_: int, agent: str) -> None:
    """Write the shared model into this party's graph (one batch, replaced each round)."""
    import json

    from rdflib import RDF, RDFS, Literal

    from qualitas.edge_adapters.graph import batch_sha256
    from qualitas.federated._data import PARAMETERS
    from qualitas.ontology import ID, Q, mint
    from qualitas.store import open_store

    m = ID["model/federated-failure-probability"]
    triples = [
        (m, RDF.type, Q.PredictiveModel),
        (m, RDFS.label, Literal("failure probability from process parameters (federated)")),
        (m, Q.modelWeights, Literal(json.dumps({"coef": params[0].tolist(), "intercept": params[1].tolist()}))),
        (m, Q.trainingRound, Literal(round_)),
        *((m, Q.parameter, mint("parameter", p.name)) for p in PARAMETERS),
    ]
    with open_store(store_path) as store:
        store.load_triples(triples, source=MODEL_SOURCE, sha256=batch_sha256(triples), agent=agent, format="nt")


def make_client(
    x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float, store: Path | None = None, party: str = "party"
) -> Any:
    try:
        from flwr.client import NumPyClient
    except ImportError as exc:
        raise MissingExtraError("flwr", extra="federated") from exc

    class PartyClient(NumPyClient):  # type: ignore[misc]
        def get_parameters(self, config: dict[str, Any]) -> list[np.ndarray]:
            return initial_parameters()

        def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> tuple[list[np.ndarray], int, dict]:
            e = int(config.get("local_epochs", epochs))
            rate = float(config.get("learning_rate", lr))
            return train(parameters, x, y, epochs=e, lr=rate), len(y), {}

        def evaluate(self, parameters: list[np.ndarray], config: dict[str, Any]) -> tuple[float, int, dict]:
            if store is not None:
                keep_model(store, parameters, round_=int(config.get("round", 0)), agent=f"federated-{party}")
            return evaluate(parameters, x, y).log_loss, len(y), {}

    return PartyClient()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="this party's store directory")
    parser.add_argument("--server", default="127.0.0.1:8080")
    parser.add_argument("--party", default="party")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.3)
    args = parser.parse_args(argv)
    from qualitas.store import open_store

    with open_store(args.store, read_only=True) as store:
        x, y = read_party_data(store)
    logging.getLogger("flwr").setLevel(logging.WARNING)
    print(f"{args.party}: {len(y)} runs from {args.store}, training locally", flush=True)
    client = make_client(x, y, epochs=args.epochs, lr=args.lr, store=args.store, party=args.party)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Flower's own notices about its legacy entry point
        from flwr.compat.client.app import start_client

        start_client(server_address=args.server, client=client.to_client(), insecure=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
