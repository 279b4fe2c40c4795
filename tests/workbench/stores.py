"""Helpers for the workbench tests: a store on disk holding the demo data and the
ontology, with its audit trail."""

from __future__ import annotations

import hashlib
from pathlib import Path

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
