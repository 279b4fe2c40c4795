"""Graph stores: the ``GraphStore`` protocol and its backends, chosen by name."""

from __future__ import annotations

from pathlib import Path

from qualitas.errors import ConfigError
from qualitas.store._base import BatchInfo, GraphStore, LoadResult, Progress, Row
from qualitas.store._oxigraph import FORMATS, OxigraphStore

__all__ = [
    "BACKENDS",
    "FORMATS",
    "BatchInfo",
    "GraphStore",
    "LoadResult",
    "OxigraphStore",
    "Progress",
    "Row",
    "open_store",
]

#: Backends by name. Neo4j joins this table once it passes tests/store/test_contract.py.
BACKENDS: dict[str, type[OxigraphStore]] = {"oxigraph": OxigraphStore}


def open_store(path: Path | str | None, *, backend: str = "oxigraph", read_only: bool = False) -> GraphStore:
    """Open (creating if needed) the store at ``path``; ``None`` means in memory.

    ``read_only`` opens an existing store for queries only, which works while another
    process (such as ``qualitas serve``) holds it open for writing."""
    try:
        cls = BACKENDS[backend]
    except KeyError:
        raise ConfigError(f"unknown store backend {backend!r}; known: {sorted(BACKENDS)}") from None
    return cls(path, read_only=read_only)
