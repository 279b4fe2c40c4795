"""Federated training (issue 19, item 4): a Flower server and three party clients as
separate processes on loopback, each client reading its own store, with every byte
between them recorded by a proxy and decoded: weights and counts, never a raw row."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qualitas.federated import (
    PARTY_WINDOWS,
    RecordingProxy,
    audit_payloads,
    decode,
    evaluate,
    raw_values_on_wire,
    read_party_data,
    simulate,
    write_party,
)
from qualitas.federated._wire import Connection
from qualitas.store import open_store

ROWS = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stdout.read().decode() if proc.stdout else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("Flower server did not start listening")


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("parties")
    stores = {}
    for i, party in enumerate(PARTY_WINDOWS):
        with open_store(root / party) as store:
            write_party(store, party, ROWS, seed=100 + i)
        stores[party] = root / party
    return stores


def test_party_data_round_trips_through_its_graph(parties: dict[str, Path]) -> None:
    x, y = simulate("supplier-a", ROWS, seed=101)
    with open_store(parties["supplier-a"], read_only=True) as store:
        gx, gy = read_party_data(store)
    order = np.lexsort(x.T[::-1])
    g_order = np.lexsort(gx.T[::-1])
    assert np.allclose(gx[g_order], x[order]) and np.array_equal(gy[g_order], y[order])


def test_flower_on_loopback_sends_weights_and_counts_only(parties: dict[str, Path], tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out = tmp_path / "federated.json"
    server = subprocess.Popen(
        [sys.executable, "-m", "qualitas.federated.server", "--address", f"127.0.0.1:{port}", "--clients", "3",
         "--rounds", "2", "--epochs", "20", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    clients: list[subprocess.Popen[bytes]] = []
    try:
        _wait_listening(port, server)
        with RecordingProxy(("127.0.0.1", port)) as proxy:
            for party, store in parties.items():
                clients.append(
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
                            f"127.0.0.1:{proxy.port}",
                        ],
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        env=env,
                    )
                )
            server_log = server.communicate(timeout=180)[0].decode()
            assert server.returncode == 0, server_log
            for c in clients:
                c.wait(timeout=60)
                assert c.returncode == 0, c.stdout.read().decode() if c.stdout else ""
            connections = list(proxy.connections)
    finally:
        for p in [server, *clients]:
            if p.poll() is None:
                p.kill()
                p.wait()
            if p.stdout is not None:
                p.stdout.close()

    assert len(connections) == 3
    weights = [(8,), (1,)]
    rows = np.concatenate([simulate(party, ROWS, seed=100 + i)[0] for i, party in enumerate(PARTY_WINDOWS)])
    fit_results = 0
    for conn in connections:
        payloads = decode(conn)
        assert audit_payloads(payloads, weight_shapes=weights) == []
        kinds = {p.kind for p in payloads}
        assert {"fit_ins", "fit_res", "evaluate_ins", "evaluate_res"} <= kinds, kinds
        for p in payloads:
            if p.kind == "evaluate_res":
                assert p.tensor_shapes == () and p.num_examples == ROWS and p.scalars == {}
            if p.kind == "fit_res":
                fit_results += 1
                assert p.direction == "client->server"
                assert p.tensor_shapes == ((8,), (1,)) and p.num_examples == ROWS and p.scalars == {}
            assert all(np.all(np.isfinite(t)) for t in p.tensors)
    assert fit_results == 3 * 2  # three parties, two rounds
    # no raw value anywhere in the bytes, in any encoding the rows could travel in
    assert raw_values_on_wire(connections, rows) == []
    # ... and the check is not blind: a connection carrying one row is caught
    leak = Connection(to_server=bytearray(b"\x00" * 7 + struct.pack("<d", rows[5, 1]) + b"\x01"))
    assert raw_values_on_wire([leak], rows) == [float(rows[5, 1])]

    model = json.loads(out.read_text())
    assert model["rounds"] == 2
    # the final weights came back to every party, which keeps them in its own graph
    for store_dir in parties.values():
        with open_store(store_dir, read_only=True) as store:
            rows = store.select(
                "SELECT ?w ?r WHERE { ?m a q:PredictiveModel ; q:modelWeights ?w ; q:trainingRound ?r }"
            )
        assert len(rows) == 1 and int(str(rows[0]["r"])) == 2
        kept = json.loads(str(rows[0]["w"]))
        assert np.allclose(kept["coef"], model["coef"]) and np.allclose(kept["intercept"], model["intercept"])
    held_x, held_y = simulate("supplier-b", 600, seed=999)
    scores = evaluate([np.array(model["coef"]), np.array(model["intercept"])], held_x, held_y)
    assert scores.auc > 0.7, scores
