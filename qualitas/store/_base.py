"""The ``GraphStore`` protocol every backend implements, and its result types.

The protocol is deliberately small: SPARQL reads (``select``, ``ask``, ``construct``)
and whole-batch writes (``load_file``, ``load_triples``), each batch in its own named
graph with PROV-O metadata. A second backend (Neo4j, later) implements the same
methods and passes the same contract tests in ``tests/store/test_contract.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal, Protocol, runtime_checkable

from rdflib import Graph
from rdflib.term import Node

#: A SELECT row: variable name -> Python value (str for IRIs, int/Decimal/float/bool,
#: datetime.date/datetime.datetime for dates, str for other literals). Unbound: absent.
Row = dict[str, object]

#: Called with (bytes done, bytes total) while a file loads.
Progress = Callable[[int, int], None]

LoadStatus = Literal["added", "replaced", "unchanged", "retracted"]


@dataclass(frozen=True)
class BatchInfo:
    """One ingest batch: a named graph and its PROV-O metadata."""

    graph: str
    source: str
    sha256: str
    agent: str
    loaded_at: dt.datetime
    triples: int
    format: str


@dataclass(frozen=True)
class LoadResult:
    """What one write did: ``added`` a new batch, ``replaced`` an older version of the
    same source, left the store ``unchanged`` (same source, same sha256), or
    ``retracted`` the source's batch (``triples`` 0, ``previous_triples`` what it held)."""

    source: str
    graph: str
    sha256: str
    status: LoadStatus
    triples: int
    previous_triples: int = 0


@runtime_checkable
class GraphStore(Protocol):
    """A persistent RDF store holding one named graph per ingest batch.

    Reads see the union of all current batches, at a cost that does not grow with
    their number. Every write is one transaction: after a failure or a kill, the store
    is exactly as before the write, and no reader ever sees part of a write.
    """

    backend: ClassVar[str]
    transaction_aware: ClassVar[bool]

    def select(self, query: str) -> list[Row]: ...

    def ask(self, query: str) -> bool: ...

    def construct(self, query: str) -> Graph: ...

    def load_file(
        self,
        path: Path,
        *,
        format: str | None = None,
        source: str | None = None,
        agent: str,
        progress: Progress | None = None,
    ) -> LoadResult: ...

    def load_triples(
        self,
        triples: Iterable[tuple[Node, Node, Node]],
        *,
        source: str,
        sha256: str,
        agent: str,
        format: str,
    ) -> LoadResult: ...

    def retract(self, source: str) -> LoadResult:
        """Remove ``source``'s current batch (NotFoundError if it has none)."""
        ...

    def batches(self) -> list[BatchInfo]: ...

    def batch(self, source: str) -> BatchInfo | None:
        """``source``'s current batch, without listing every batch."""
        ...

    def triple_count(self) -> int:
        """The distinct triples reads see; O(1), for health checks."""
        ...

    def batch_count(self) -> int:
        """The current batches; O(1)."""
        ...

    def generation(self) -> int:
        """A number every write moves; O(1). Odd while a write is in flight; equal even
        values read before and after a computation mean no write landed in between
        (the API's answer cache keys on it)."""
        ...

    def snapshot(self) -> frozenset[tuple[str, str, str, str]]:
        """Every quad (subject, predicate, object, graph) in N-Triples term syntax."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> GraphStore: ...

    def __exit__(self, *exc: object) -> None: ...
