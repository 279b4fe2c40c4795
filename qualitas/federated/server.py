"""The Flower server: FedAvg over the parties' weight updates, optionally with
server-side differential privacy.

    python -m qualitas.federated.server --address 127.0.0.1:8080 --clients 3 --rounds 10 --out model.json

It waits for ``--clients`` parties, runs ``--rounds`` rounds of FedAvg (McMahan et al.,
2017: the weighted mean of the parties' weights, weighted by their row counts) and
writes the final weights to ``--out``. ``--dp-noise`` wraps FedAvg in Flower's
``DifferentialPrivacyServerSideFixedClipping`` (each party's update is clipped to
``--dp-clip`` and Gaussian noise of ``noise x clip / parties`` is added to the mean).
Flower's SecAgg+ needs the newer ServerApp/SuperNode deployment, not this direct
gRPC server, so it is not used here.
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path
from typing import Any

from qualitas.errors import MissingExtraError
from qualitas.federated._model import initial_parameters


def make_strategy(*, clients: int, epochs: int, lr: float, dp_noise: float | None, dp_clip: float) -> Any:
    try:
        from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
        from flwr.server.strategy import DifferentialPrivacyServerSideFixedClipping, FedAvg, Strategy
    except ImportError as exc:
        raise MissingExtraError("flwr", extra="federated") from exc

    inner: Any = FedAvg(
        fraction_fit=1.0,
        # the evaluate step hands every party the round's aggregated weights to keep in its graph;
        # a party answers with its local loss and row count, nothing per row
        fraction_evaluate=1.0,
        min_fit_clients=clients,
        min_evaluate_clients=clients,
        min_available_clients=clients,
        initial_parameters=ndarrays_to_parameters(initial_parameters()),
        on_fit_config_fn=lambda rnd: {"round": rnd, "local_epochs": epochs, "learning_rate": lr},
        on_evaluate_config_fn=lambda rnd: {"round": rnd},
    )
    if dp_noise is not None:
        inner = DifferentialPrivacyServerSideFixedClipping(
            inner, noise_multiplier=dp_noise, clipping_norm=dp_clip, num_sampled_clients=clients
        )

    class Recording(Strategy):  # type: ignore[misc]
        """Delegates to ``inner`` and keeps the weights each round ended with."""

        def __init__(self) -> None:
            self.rounds: list[list[Any]] = []

        def initialize_parameters(self, client_manager: Any) -> Any:
            return inner.initialize_parameters(client_manager)

        def configure_fit(self, server_round: int, parameters: Any, client_manager: Any) -> Any:
            return inner.configure_fit(server_round, parameters, client_manager)

        def aggregate_fit(self, server_round: int, results: Any, failures: Any) -> Any:
            params, metrics = inner.aggregate_fit(server_round, results, failures)
            if params is not None:
                self.rounds.append([a.tolist() for a in parameters_to_ndarrays(params)])
            return params, metrics

        def configure_evaluate(self, server_round: int, parameters: Any, client_manager: Any) -> Any:
            return inner.configure_evaluate(server_round, parameters, client_manager)

        def aggregate_evaluate(self, server_round: int, results: Any, failures: Any) -> Any:
            return inner.aggregate_evaluate(server_round, results, failures)

        def evaluate(self, server_round: int, parameters: Any) -> Any:
            return None

    return Recording()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:8080")
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=50, help="local epochs per round")
    parser.add_argument("--lr", type=float, default=0.3)
    parser.add_argument("--dp-noise", type=float, default=None, help="noise multiplier (enables DP)")
    parser.add_argument("--dp-clip", type=float, default=5.0, help="clipping norm of a party's update")
    parser.add_argument("--out", type=Path, required=True, help="where to write the final weights (JSON)")
    args = parser.parse_args(argv)
    strategy = make_strategy(
        clients=args.clients, epochs=args.epochs, lr=args.lr, dp_noise=args.dp_noise, dp_clip=args.dp_clip
    )
    logging.getLogger("flwr").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Flower's own notices about its legacy entry point
        from flwr.server import ServerConfig, start_server

        start_server(server_address=args.address, config=ServerConfig(num_rounds=args.rounds), strategy=strategy)
    if not strategy.rounds:
        print("no round completed", flush=True)
        return 1
    args.out.write_text(
        json.dumps(
            {
                "rounds": len(strategy.rounds),
                "clients": args.clients,
                "dp_noise": args.dp_noise,
                "dp_clip": args.dp_clip if args.dp_noise is not None else None,
                "coef": strategy.rounds[-1][0],
                "intercept": strategy.rounds[-1][1],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"{len(strategy.rounds)} rounds with {args.clients} parties; weights in {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
