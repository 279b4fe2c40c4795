"""Helpers for the workbench tests: a store on disk holding the demo data and the
ontology, with its audit trail."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from qualitas.audit import AuditLog, open_audit_log
from qualitas.demo import demo_graph
from qualitas.settings import Settings
from qualitas.store import GraphStore, open_store

REPO = Path(__file__).resolve().parents[2]
ANSWERS = REPO / "examples" / "fmea" / "cell-formation.yaml"


def demo_store(root: Path) -> tuple[GraphStore, AuditLog, Settings]:
    settings = Settings(store=root / "store")
    store = open_store(settings.store)
    graph = demo_graph()
    sha = hashlib.sha256(graph.serialize(format="nt").encode()).hexdigest()
    store.load_triples(graph, source="qualitas-demo", sha256=sha, agent="tests", format="generated")
    return store, open_audit_log(settings), settings


@contextmanager
def serve_http(app: Any) -> Iterator[str]:
    """An ASGI app under a real uvicorn on 127.0.0.1, HTTP only: these tests need no
    WebSocket, and uvicorn's automatic WebSocket choice imports a module that websockets
    14+ deprecates (a warning, so an error in this suite)."""
    from tests.graphql.serving import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
