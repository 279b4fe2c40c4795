from __future__ import annotations

from collections.abc import Iterator

import pytest

from qualitas.demo.scenario import demo_graph
from qualitas.store import GraphStore, open_store


@pytest.fixture(scope="module")
def demo_store() -> Iterator[GraphStore]:
    store = open_store(None)
    store.load_triples(iter(demo_graph()), source="demo", sha256="demo", agent="test", format="nt")
    yield store
    store.close()
