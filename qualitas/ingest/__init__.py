"""Ingest: turn files into batches in the store, one transaction and one named graph each.

``load_paths`` is what ``qualitas load`` calls. Every parser offers a dry run
(``simulate``) and ``execute``; RDF files (Turtle, N-Triples, JSON-LD, RDF/XML)
go to the store as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from qualitas.errors import InputError
from qualitas.store import FORMATS, GraphStore, LoadResult, Progress


@dataclass(frozen=True)
class PlannedLoad:
    """What a load would do, from a dry run: nothing is written."""

    source: str
    format: str
    status: str  # "add" | "replace" | "unchanged"
    triples: int


def detect_format(path: Path, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    suffix = path.suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix][1]
    raise InputError(
        f"{path}: cannot tell the format from the suffix {suffix!r}; pass --format",
        file=str(path),
    )


def load_paths(
    store: GraphStore,
    paths: Iterable[Path],
    *,
    format: str | None = None,
    agent: str,
    progress: Callable[[Path], Progress | None] | None = None,
) -> list[LoadResult]:
    """Load each file as its own batch (its own transaction), in order.

    A file that fails stops the run; files loaded before it stay loaded (each is a
    complete batch), the failing one leaves no trace.
    """
    results = []
    for path in paths:
        path = Path(path)
        fmt = detect_format(path, format)
        results.append(
            store.load_file(path, format=fmt, agent=agent, progress=progress(path) if progress else None)
        )
    return results
