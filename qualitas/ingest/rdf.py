"""RDF as it is: Turtle, N-Triples, JSON-LD, RDF/XML.

The store parses the file itself (pyoxigraph, streaming), so a file far larger than
memory loads. ``simulate`` parses it without writing, to count triples and find a
syntax error (reported with its line) before anything is written.

Identifiers are checked on the way in (``qualitas.ontology.identifiers``): before the
store sees the file it is streamed once, and a ``q:gtin`` or ``q:udiDi`` failing the
GS1 check digit, a ``q:casNumber`` or ``q:ecNumber`` failing its check digit, or a
``q:clearanceNumber`` that is not an FDA K/DEN/P number refuses the file, naming the
file, the line and the subject. A product's ``q:predicateDevice`` must be a node whose
``q:clearanceNumber`` is in the file or already in the store (21 CFR 807.92(a)(3)
asks for the predicate's 510(k) number). A refused file leaves the store unchanged.

An RDF/XML file with a document type declaration is refused before it is parsed: a
DTD declares entities, and entities expand without limit ("billion laughs") or read
local files (XXE). Expand them (or convert the file to Turtle) first.

Use::

    from qualitas.ingest import rdf
    rdf.execute(store, Path("supplier-data.ttl"), agent="alice")
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from qualitas.errors import InputError, ParseError, ValidationError
from qualitas.ingest._bounds import check_xml_file
from qualitas.ingest._core import (
    PlannedLoad,
    Source,
    check_not_empty,
    no_data,
    plan_source,
    sha256_file,
    source_identity,
)
from qualitas.ontology import Q
from qualitas.ontology.identifiers import check_cas, check_ec, check_gtin, check_k_number, check_udi_di
from qualitas.store import GraphStore, LoadResult, Progress
from qualitas.store._oxigraph import rdf_format

FORMATS = ("turtle", "ntriples", "jsonld", "rdfxml")

#: Literal-valued identifier properties and their checks.
CHECKS: dict[str, tuple[str, Callable[[str], str]]] = {
    str(Q.gtin): ("q:gtin", check_gtin),
    str(Q.udiDi): ("q:udiDi", check_udi_di),
    str(Q.casNumber): ("q:casNumber", check_cas),
    str(Q.ecNumber): ("q:ecNumber", check_ec),
    str(Q.clearanceNumber): ("q:clearanceNumber", check_k_number),
}
_PREDICATE_DEVICE = str(Q.predicateDevice)
_CLEARANCE_NUMBER = str(Q.clearanceNumber)


class IdentifierCheck:
    """Streams the triples of one RDF file and refuses bad identifiers.

    Memory stays small: only the nodes named as predicate devices and the nodes with a
    clearance number are remembered, to check in :meth:`finish` that every predicate
    device has its number in this file or in the store.
    """

    def __init__(self, path: Path, store: GraphStore, format: str) -> None:
        self.src = Source(path, store, format)
        self._numbered: set[str] = set()
        self._wanted: dict[str, tuple[str, str]] = {}  # predicate node -> (product, text to find its line by)

    def see(self, subject: object, predicate: str, obj: object) -> None:
        check = CHECKS.get(predicate)
        if check is not None:
            name, function = check
            where = f"subject {subject}"
            if not isinstance(obj, ox.Literal):
                raise self.src.invalid(
                    f"expected a literal, got {obj}", where=where, field=name, line=self.src.line_of(str(obj))
                )
            with self.src.identifiers(where=where, field=name, value=obj.value):
                function(obj.value)
            if predicate == _CLEARANCE_NUMBER:
                self._numbered.add(str(subject))
        elif predicate == _PREDICATE_DEVICE:
            if isinstance(obj, ox.Literal):
                raise self.src.invalid(
                    f"names its predicate device by the literal {obj}; q:predicateDevice points at a node "
                    "(the predicate device) that carries the number as q:clearanceNumber",
                    where=f"subject {subject}",
                    field="q:predicateDevice",
                    line=self.src.line_of(obj.value),
                )
            key = str(obj)
            if key not in self._wanted:
                text = obj.value if isinstance(obj, ox.NamedNode) else key
                self._wanted[key] = (str(subject), text)

    def finish(self) -> None:
        """Every predicate device has a clearance number, in this file or in the store."""
        wanted = {k: v for k, v in self._wanted.items() if k not in self._numbered}
        iris = sorted(k for k in wanted if k.startswith("<"))
        found: set[str] = set()
        for start in range(0, len(iris), 500):
            values = " ".join(iris[start : start + 500])
            rows = self.src.store.select(
                f"SELECT DISTINCT ?x WHERE {{ VALUES ?x {{ {values} }} ?x <{_CLEARANCE_NUMBER}> ?n }}"
            )
            found.update(f"<{r['x']}>" for r in rows)
        missing = sorted(k for k in wanted if k not in found)
        if missing:
            product, text = wanted[missing[0]]
            raise self.src.invalid(
                f"names the predicate device {missing[0]}, which has no q:clearanceNumber (510(k), De Novo or "
                "PMA number) in this file or in the store; describe the predicate device with its number",
                where=f"subject {product}",
                field="q:predicateDevice",
                line=self._line_of_node(text),
            )

    def _line_of_node(self, iri: str) -> int | None:
        """The line of an IRI as written in full, or else by its local name (a prefixed name)."""
        local = iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        return self.src.line_of(iri) or (self.src.line_of(local) if local else None)


def _parts(item: object) -> tuple[object, str, object]:
    return item.subject, item.predicate.value, item.object  # type: ignore[attr-defined]


def check_identifiers(path: Path, store: GraphStore, *, format: str | None = None) -> int | None:
    """Stream ``path`` and raise ValidationError (file, line, subject, property) on the
    first bad identifier or unknown predicate device; returns the number of triples
    read. A syntax error is left for the store's parser to report (then None)."""
    ox_format, name = rdf_format(path, format)
    checks = IdentifierCheck(path, store, name)
    count = 0
    if name == "rdfxml":
        check_xml_file(path)  # a DTD (entities: 'billion laughs', XXE) is refused before parsing
    try:
        with path.open("rb") as fh:
            for item in ox.parse(fh, format=ox_format):
                count += 1
                checks.see(*_parts(item))
    except (SyntaxError, ValueError):
        return None
    checks.finish()
    return count


def simulate(
    path: Path, store: GraphStore, *, format: str | None = None, source: str | None = None, replace: bool = False
) -> PlannedLoad:
    """Parse ``path`` (streaming) and say whether loading would add, replace or change nothing
    (``source`` and ``replace`` as for :func:`execute`)."""
    path = Path(path)
    label = source or str(path.resolve())
    try:
        ox_format, name = rdf_format(path, format)
    except InputError as exc:
        return PlannedLoad(label, format or "rdf", "refused", 0, str(exc))
    if not path.is_file():
        return PlannedLoad(label, name, "refused", 0, f"{path}: no such file")
    try:
        label = source_identity(path, source)
        check_not_empty(path)
        status = plan_source(store, path, label, sha256_file(path), replace=replace)
    except InputError as exc:
        return PlannedLoad(label, name, "refused", 0, str(exc))
    if status == "unchanged":
        return PlannedLoad(label, name, status, 0)
    seen: set[int] = set()
    checks = IdentifierCheck(path, store, name)
    try:
        if name == "rdfxml":
            check_xml_file(path)
        with path.open("rb") as fh:
            for triple in ox.parse(fh, format=ox_format):
                seen.add(hash(str(triple)))
                checks.see(*_parts(triple))
        checks.finish()
    except (ValidationError, ParseError) as exc:
        return PlannedLoad(label, name, "refused", 0, str(exc))
    except SyntaxError as exc:
        return PlannedLoad(
            label, name, "refused", 0, str(ParseError(str(exc), file=path, line=getattr(exc, "lineno", None)))
        )
    except ValueError as exc:
        return PlannedLoad(label, name, "refused", 0, str(ParseError(str(exc), file=path)))
    if not seen:
        return PlannedLoad(label, name, "refused", 0, str(no_data(path)))
    return PlannedLoad(label, name, status, len(seen))


def execute(
    store: GraphStore,
    path: Path,
    *,
    agent: str,
    format: str | None = None,
    progress: Progress | None = None,
    source: str | None = None,
    replace: bool = False,
) -> LoadResult:
    """Load ``path`` into its own named graph, as it is, once its identifiers pass.

    The batch's source is ``source`` or the file's absolute path; changed content for
    a loaded source needs ``replace=True``; an empty file or one without triples is refused."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file", file=str(path))
    name = source_identity(path, source)
    check_not_empty(path)
    if check_identifiers(path, store, format=format) == 0:
        raise no_data(path)
    plan_source(store, path, name, sha256_file(path), replace=replace)
    return store.load_file(path, format=format, source=name, agent=agent, progress=progress)
