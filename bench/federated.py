"""Figures: federated vs local-only vs centralised, on the same held-out data (issue 19, item 4).

    nice -n 10 .venv/bin/python bench/federated.py [--rows 400] [--rounds 10] [--epochs 50] [--dp-noise 0.3]

Three parties (the OEM and two suppliers), each with ``--rows`` production runs in its
own Oxigraph store, each operating in its own window of the process parameters.
The held-out set is fresh runs from all three windows (``--held-out`` per party),
scored the same way for every model (ROC AUC and log loss of the failure probability):

* **local-only**: each party trains alone on its own rows (as many gradient steps as
  the federated run gives it: rounds x local epochs); the figure is the mean over the
  parties, with each party's own in the JSON;
* **federated**: a real Flower server and three client processes on loopback, FedAvg
  for ``--rounds`` rounds; each client reads its store, only weights and counts travel;
* **federated + DP** (with ``--dp-noise``): the same, FedAvg wrapped in Flower's
  server-side fixed-clipping differential privacy;
* **centralised**: all rows pooled in one place (what sharing the raw data would give).

Writes ``bench/out/federated.json`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qualitas.federated import PARTY_WINDOWS, evaluate, initial_parameters, simulate, train, write_party
from qualitas.store import open_store

OUT = Path(__file__).parent / "out"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _federated(
    stores: dict[str, Path], work: Path, *, rounds: int, epochs: int, dp_noise: float | None
) -> list[np.ndarray]:
    port = _free_port()
    out = work / f"federated-{dp_noise}.json"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "qualitas.federated.server", "--address", f"127.0.0.1:{port}",
           "--clients", str(len(stores)), "--rounds", str(rounds), "--epochs", str(epochs),
           "--out", str(out)]  # fmt: skip
    if dp_noise is not None:
        cmd += ["--dp-noise", str(dp_noise)]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the Flower server did not start") from None
            time.sleep(0.2)
    clients = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qualitas.federated.client",
                "--store",
                str(store),
                "--party",
                party,
                "--server",
                f"127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for party, store in stores.items()
    ]
    log = server.communicate(timeout=600)[0].decode()
    for c in clients:
        c.wait(timeout=60)
    if server.returncode != 0:
        raise RuntimeError(log)
    model = json.loads(out.read_text())
    return [np.array(model["coef"]), np.array(model["intercept"])]


def _row(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    s = evaluate(params, x, y)
    return {"auc": round(s.auc, 4), "log_loss": round(s.log_loss, 4), "accuracy": round(s.accuracy, 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400, help="training runs per party")
    parser.add_argument("--held-out", type=int, default=1000, help="held-out runs per party window")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=50, help="local epochs per round")
    parser.add_argument("--dp-noise", type=float, default=0.3)
    parser.add_argument("--out", type=Path, default=OUT / "federated.json")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="qualitas-federated-"))
    stores: dict[str, Path] = {}
    data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for i, party in enumerate(PARTY_WINDOWS):
        with open_store(work / party) as store:
            write_party(store, party, args.rows, seed=1000 + i)
        stores[party] = work / party
        data[party] = simulate(party, args.rows, seed=1000 + i)
    held = [simulate(party, args.held_out, seed=5000 + i) for i, party in enumerate(PARTY_WINDOWS)]
    hx = np.concatenate([h[0] for h in held])
    hy = np.concatenate([h[1] for h in held])

    steps = args.rounds * args.epochs
    local = {party: _row(train(initial_parameters(), x, y, epochs=steps), hx, hy) for party, (x, y) in data.items()}
    px = np.concatenate([d[0] for d in data.values()])
    py = np.concatenate([d[1] for d in data.values()])
    central = _row(train(initial_parameters(), px, py, epochs=steps), hx, hy)
    t0 = time.perf_counter()
    federated = _row(_federated(stores, work, rounds=args.rounds, epochs=args.epochs, dp_noise=None), hx, hy)
    fed_seconds = time.perf_counter() - t0
    dp = (
        _row(_federated(stores, work, rounds=args.rounds, epochs=args.epochs, dp_noise=args.dp_noise), hx, hy)
        if args.dp_noise
        else None
    )

    local_mean = {k: round(float(np.mean([v[k] for v in local.values()])), 4) for k in ("auc", "log_loss", "accuracy")}
    result = {
        "parties": list(PARTY_WINDOWS),
        "rows_per_party": args.rows,
        "held_out_rows": len(hy),
        "held_out_failure_rate": round(float(hy.mean()), 4),
        "rounds": args.rounds,
        "local_epochs": args.epochs,
        "local_only": {"mean": local_mean, "per_party": local},
        "federated": federated,
        "federated_seconds": round(fed_seconds, 1),
        "federated_dp": {"noise_multiplier": args.dp_noise, "clipping_norm": 5.0, **dp} if dp else None,
        "centralised": central,
        "machine": f"{platform.node()} ({platform.processor() or platform.machine()}), shared, nice 10",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"held-out: {len(hy)} runs from all three parties' windows; failure rate {hy.mean():.3f}")
    print(f"{'model':<28} {'AUC':>6} {'log loss':>9}")
    for name, row in (
        ("local-only (mean of 3)", local_mean),
        *((f"  local-only {p}", r) for p, r in local.items()),
        ("federated (FedAvg)", federated),
        *(((f"federated + DP (noise {args.dp_noise})", dp),) if dp else ()),
        ("centralised (pooled rows)", central),
    ):
        print(f"{name:<28} {row['auc']:>6.3f} {row['log_loss']:>9.3f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
