"""Shared fixtures: stores with the ontology and the demo data loaded."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from qualitas.demo import demo_graph
from qualitas.ontology import ONTOLOGY_FILE
from qualitas.store import GraphStore, open_store

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def load_demo(store: GraphStore) -> None:
    store.load_file(ONTOLOGY_FILE, format="turtle", source="qualitas-ontology.ttl", agent="pytest")
    graph = demo_graph()
    sha = hashlib.sha256(graph.serialize(format="nt").encode()).hexdigest()
    store.load_triples(graph, source="qualitas-demo", sha256=sha, agent="pytest", format="generated")


@pytest.fixture(scope="session")
def demo_store() -> Iterator[GraphStore]:
    """An in-memory store with the ontology and the demo data (read-only use)."""
    store = open_store(None)
    load_demo(store)
    yield store
    store.close()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store"
