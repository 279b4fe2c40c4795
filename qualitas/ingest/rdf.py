"""RDF as it is: Turtle, N-Triples, JSON-LD, RDF/XML.

The store parses the file itself (pyoxigraph, streaming), so a file far larger than
memory loads. ``simulate`` parses it without writing, to count triples and find a
syntax error (reported with its line) before anything is written.

Use::

    from qualitas.ingest import rdf
    rdf.execute(store, Path("supplier-data.ttl"), agent="alice")
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from qualitas.errors import InputError, ParseError
from qualitas.ingest._core import PlannedLoad, sha256_file
from qualitas.store import GraphStore, LoadResult, Progress
from qualitas.store._oxigraph import rdf_format

FORMATS = ("turtle", "ntriples", "jsonld", "rdfxml")


def simulate(path: Path, store: GraphStore, *, format: str | None = None) -> PlannedLoad:
    """Parse ``path`` (streaming) and say whether loading would add, replace or change nothing."""
    path = Path(path)
    try:
        ox_format, name = rdf_format(path, format)
    except InputError as exc:
        return PlannedLoad(path.name, format or "rdf", "refused", 0, str(exc))
    if not path.is_file():
        return PlannedLoad(path.name, name, "refused", 0, f"{path}: no such file")
    sha = sha256_file(path)
    status = "add"
    for batch in store.batches():
        if batch.source == path.name:
            status = "unchanged" if batch.sha256 == sha else "replace"
    if status == "unchanged":
        return PlannedLoad(path.name, name, status, 0)
    seen: set[int] = set()
    try:
        with path.open("rb") as fh:
            for triple in ox.parse(fh, format=ox_format):
                seen.add(hash(str(triple)))
    except SyntaxError as exc:
        return PlannedLoad(
            path.name, name, "refused", 0, str(ParseError(str(exc), file=path, line=getattr(exc, "lineno", None)))
        )
    except ValueError as exc:
        return PlannedLoad(path.name, name, "refused", 0, str(ParseError(str(exc), file=path)))
    return PlannedLoad(path.name, name, status, len(seen))


def execute(
    store: GraphStore, path: Path, *, agent: str, format: str | None = None, progress: Progress | None = None
) -> LoadResult:
    """Load ``path`` into its own named graph, as it is."""
    return store.load_file(Path(path), format=format, agent=agent, progress=progress)
