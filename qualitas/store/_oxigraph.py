"""Embedded Oxigraph backend (pyoxigraph, RocksDB on disk).

Layers::

    OxigraphStore ── pyoxigraph.Store ── RocksDB files in the store directory

Where things are:

* each batch's triples in its own named graph ``graph/batch/<source>/<sha256 prefix>``
  (what the batch holds, so that it can be replaced or retracted on its own);
* the live data, the set union of every current batch, materialised in the store's
  default graph, which is all that queries read: a read costs the same with 100,000
  batches as with 10 (a default graph given as a list of named graphs is a union
  evaluated per graph on every triple pattern, and Oxigraph's
  ``use_default_graph_as_union`` keeps duplicates and would show graphs still being
  written);
* PROV-O metadata per batch, and the store's counters (live triples, batches), in
  ``graph/meta``.

A batch is written in one of two ways.

**Transactional** (``load_triples``, files under ``BULK_MIN_BYTES``, and formats other
than N-Triples or N-Triples with blank nodes): (1) the data goes into its own graph
(``Store.bulk_load`` or ``Store.extend``), invisible to queries; (2) one SPARQL update
request (one transaction) points the batch's metadata at it (and away from the source's
previous batch), adds its triples to the default graph, removes from the default graph
the previous batch's triples that no other current batch holds, and moves the counters.

**Bulk** (N-Triples files from ``BULK_MIN_BYTES`` on, without blank nodes): Oxigraph's
bulk loader writes sorted files straight into RocksDB, outside any transaction, so the
live data is written by it too, and the all-or-nothing guarantee comes from the order
of the steps and a commit-intent flag kept in the store:

1. the file is copied in chunks cut at line ends (N-Triples has one triple per line)
   into ``qualitas-bulk-chunks/`` in the store's directory (hashed on the way; one
   block of memory whatever the file's size); each chunk is bulk-loaded into the
   batch graph, and only once that has returned,
   into the default graph; two workers take these loads in order, so that the next
   chunks go into the batch graph while one goes into the default graph (Oxigraph's
   loader uses one core per call). So whatever the default graph gained is in the
   batch graph. Blank nodes are why files holding ``_:`` go the transactional way:
   the bulk loader renames them per call, so two loads of one chunk would not agree;
2. before the first write to the default graph, the flag ``<meta> q:pendingBatch
   <batch graph>`` is committed and flushed to disk. Just before, a checkpoint of the
   store is taken (``Store.backup`` into ``qualitas-bulk-view/``: hard links, cheap;
   deleted by the next bulk load, ``close()`` or open for writing) and opened
   read-only: until step 4 has landed, this object's queries (``select``,
   ``ask``, ``construct``, ``snapshot``) read it, so they neither wait nor see the
   load. An in-memory store has no checkpoint: its queries wait at a gate instead
   (a query only waits to start: Oxigraph evaluates it on the snapshot taken as it
   starts, however late its results are read). ``generation()`` is odd meanwhile;
3. the live triple count is taken (a scan of the default graph, or, when the store
   is much larger than the batch, a count of the batch's triples no current batch
   holds), and the file's SHA-256 is checked against the one the batch is named by;
4. one SPARQL update (one transaction) writes the metadata, removes the previous
   batch's triples no current batch holds, moves the counters and clears the flag;
   the store is flushed.

If anything fails in steps 1 to 3 (a syntax error, a full disk, a file changed while
loading), the triples of the batch graph that no current batch holds are deleted from
the default graph, the flag cleared and the batch graph dropped, before the error is
raised (should that clean-up fail too, the object refuses every read and write until
the store is reopened). A process killed at any moment leaves either no flag (the
commit landed, or the default graph was never touched) or the flag and no metadata:
the next open for writing then does that same clean-up, in one transaction. A batch
graph no metadata points at is dropped on that open too.

What readers see:

* this object's readers: the store before a write or after it, never between (the
  SPARQL transaction for the transactional way; for the bulk way, the checkpoint of
  the store before it until the commit has landed, then the store);
* a read-only view (``read_only=True``, e.g. another process beside ``qualitas
  serve``): the store as it was when the view was opened, for as long as it stays
  open. Opening one while the flag is set (a bulk load in its live phase, or one
  killed there and not yet cleaned up by an open for writing) waits up to
  ``busy_wait_s`` (``BUSY_WAIT_S``) for it to clear, then raises StoreBusyError; the
  flag is read from the view's own snapshot, so a view never shows part of a batch.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import datetime as dt
import decimal
import hashlib
import io
import itertools
import logging
import re
import shutil
import tempfile
import threading
import time
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib import Literal as RLiteral
from rdflib.term import Node

from qualitas.errors import InputError, NotFoundError, ParseError, StoreBusyError, StoreError
from qualitas.ontology.namespaces import GRAPH, META_GRAPH, PREFIXES
from qualitas.store._base import BatchInfo, LoadResult, LoadStatus, Progress, Row

_XSD = "http://www.w3.org/2001/XMLSchema#"
_PROV = "http://www.w3.org/ns/prov#"
_Q = PREFIXES["q"]
BATCH_PREFIX = str(GRAPH["batch/"])
_META = str(META_GRAPH)
#: Version of the on-disk layout, kept in the metadata (1: no materialised default
#: graph, queries over the list of batch graphs; 2: as described above).
LAYOUT = 2
#: N-Triples files from this size (and without blank nodes) load the bulk way (see above).
BULK_MIN_BYTES = 4 << 20
#: Bytes per chunk of the bulk way, cut at a line end; two chunks are in memory at a time.
CHUNK_BYTES = 8 << 20
#: How long a read-only open waits for a bulk load's live phase to end.
BUSY_WAIT_S = 10.0
_PENDING = f"{_Q}pendingBatch"
#: Where the bulk way keeps the chunks it loads (in the store's directory, so that an
#: open for writing deletes what a killed load left).
_CHUNK_DIR = "qualitas-bulk-chunks"
#: The checkpoint this object's readers read while a bulk load writes the live data.
_VIEW_DIR = "qualitas-bulk-view"
_BLOCK = 1 << 20
#: The bulk way counts the live triples by scanning the default graph while the store
#: holds at most this many times the batch's triples, else by a lookup per batch triple
#: (a scan costs about a tenth of a lookup per triple).
_SCAN_RATIO = 8

log = logging.getLogger(__name__)

#: File suffix -> (pyoxigraph format, our format name).
FORMATS: dict[str, tuple[ox.RdfFormat, str]] = {
    ".ttl": (ox.RdfFormat.TURTLE, "turtle"),
    ".turtle": (ox.RdfFormat.TURTLE, "turtle"),
    ".nt": (ox.RdfFormat.N_TRIPLES, "ntriples"),
    ".ntriples": (ox.RdfFormat.N_TRIPLES, "ntriples"),
    ".jsonld": (ox.RdfFormat.JSON_LD, "jsonld"),
    ".json-ld": (ox.RdfFormat.JSON_LD, "jsonld"),
    ".rdf": (ox.RdfFormat.RDF_XML, "rdfxml"),
    ".owl": (ox.RdfFormat.RDF_XML, "rdfxml"),
}
_BY_NAME = {name: fmt for fmt, name in FORMATS.values()}


def rdf_format(path: Path, name: str | None = None) -> tuple[ox.RdfFormat, str]:
    """The RDF format of ``path``, from ``name`` when given, else from the suffix."""
    if name is not None:
        if name not in _BY_NAME:
            raise InputError(
                f"{path}: unknown RDF format {name!r}; expected one of {sorted(_BY_NAME)}",
                file=str(path),
            )
        return _BY_NAME[name], name
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"{path}: cannot tell the format from the suffix {suffix!r}; use --format ({', '.join(sorted(_BY_NAME))})",
            file=str(path),
        )
    return FORMATS[suffix]


def sha256_file(path: Path) -> str:
    return _scan_file(path)[0]


def _scan_file(path: Path) -> tuple[str, bool]:
    """The file's SHA-256, and whether ``_:`` (a blank node label in N-Triples, or text
    that only looks like one) occurs in it."""
    digest = hashlib.sha256()
    blank, tail = False, b""
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            blank = blank or b"_:" in tail + chunk[:1] or b"_:" in chunk
            tail = chunk[-1:]
    return digest.hexdigest(), blank


def _chunk_files(fh: typing.IO[bytes], into: Path, size: int, digest: typing.Any) -> Iterator[tuple[Path, int, int]]:
    """Copies of ``fh`` in ``into``, in pieces of about ``size`` bytes, each ending at a
    line end (CR or LF), which in N-Triples is always between two statements: (file,
    bytes, line feeds). ``digest`` is fed every byte. One block of ``_BLOCK`` bytes is
    in memory at a time, whatever the size of the file. A blank node label (the scan
    found none) means the file changed: InputError."""
    block, tail, eof = b"", b"", False
    for n in itertools.count():
        target = into / f"chunk-{n:06d}.nt"
        written = lines = 0
        with target.open("wb") as out:
            while True:
                if not block:
                    block = fh.read(_BLOCK)
                    if not block:
                        eof = True
                        break
                    digest.update(block)
                    if b"_:" in tail + block[:1] or b"_:" in block:
                        raise InputError(f"{fh.name}: the file changed while it was loading", file=str(fh.name))
                    tail = block[-1:]
                start = max(0, size - written)
                ends = [i for i in (block.find(b"\n", start), block.find(b"\r", start)) if i >= 0]
                piece = block[: min(ends) + 1] if ends else block
                block = block[len(piece) :]
                out.write(piece)
                written += len(piece)
                lines += piece.count(b"\n")
                if ends:
                    break
        if written:
            yield target, written, lines
        else:
            target.unlink()
        if eof:
            return


class _Gate:
    """Readers or one writer. A writer waiting holds back new readers, so that a stream
    of reads cannot starve a load. Not reentrant: a reader must not read again inside."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = self._waiting = 0
        self._writer = False

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


@dataclass
class BulkProfile:
    """Where a bulk load's time went, in seconds (wall clock; ``cpu``: this process).
    ``batch_graph`` and ``live`` are the sums of the loads of every chunk, which two
    workers run side by side during ``pipeline``."""

    source: str
    triples: int = 0
    chunks: int = 0
    scan: float = 0.0
    pipeline: float = 0.0
    batch_graph: float = 0.0
    live: float = 0.0
    count: float = 0.0
    commit: float = 0.0
    total: float = 0.0
    cpu: float = 0.0
    counted_by: str = ""


class _ProgressReader(io.RawIOBase):
    """A binary reader that reports how far it has read."""

    def __init__(self, fh: io.BufferedReader, total: int, progress: Progress) -> None:
        self._fh, self._total, self._progress, self._done = fh, total, progress, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        n = self._fh.readinto(buffer)
        self._done += n or 0
        self._progress(self._done, self._total)
        return n or 0


@contextlib.contextmanager
def reading_rdf(path: Path, *, progress: Progress | None = None) -> Iterator[typing.IO[bytes]]:
    """``path`` opened for an RDF parser, reporting progress in bytes as it is read; a
    syntax error the parser raises inside the block becomes a ParseError naming the file
    and line (every backend parses files this way)."""
    total = path.stat().st_size
    with path.open("rb") as raw:
        reader: typing.IO[bytes] = raw
        if progress is not None:
            reader = typing.cast(typing.IO[bytes], _ProgressReader(raw, total, progress))
        try:
            yield reader
        except SyntaxError as exc:
            raise ParseError(_syntax_message(exc), file=path, line=exc.lineno) from exc
        except ValueError as exc:
            raise ParseError(str(exc), file=path) from exc


def _int(value: object) -> int:
    if isinstance(value, int | str | decimal.Decimal):
        return int(value)
    raise StoreError(f"expected an integer, got {value!r}")


def _boolean(value: str) -> bool:
    return value in ("true", "1")


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value[:10])


def _datetime(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


#: Literal datatype IRI -> the Python value; a literal of any other datatype is its text.
_FROM_LEXICAL: dict[str, Callable[[str], object]] = {
    _XSD + "integer": int,
    _XSD + "int": int,
    _XSD + "long": int,
    _XSD + "nonNegativeInteger": int,
    _XSD + "decimal": decimal.Decimal,
    _XSD + "double": float,
    _XSD + "float": float,
    _XSD + "boolean": _boolean,
    _XSD + "date": _date,
    _XSD + "dateTime": _datetime,
}


def _to_python(term: object) -> object:
    # type() identity and one dict lookup per literal: this runs for every term of
    # every row (about a quarter of a trace's time with isinstance chains).
    kind = type(term)
    if kind is ox.NamedNode:
        return term.value  # type: ignore[attr-defined]
    if kind is ox.Literal:
        value: str = term.value  # type: ignore[attr-defined]
        datatype = term.datatype  # type: ignore[attr-defined]
        convert = _FROM_LEXICAL.get(datatype.value) if datatype is not None else None
        if convert is None:
            return value
        try:
            return convert(value)
        except (ValueError, decimal.InvalidOperation):
            return value
    if kind is ox.BlankNode:
        return f"_:{term.value}"  # type: ignore[attr-defined]
    return str(term)


def _to_rdflib(term: object) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return RLiteral(term.value, lang=term.language)
        return RLiteral(term.value, datatype=URIRef(term.datatype.value))
    raise StoreError(f"unsupported RDF term in a result: {term!r}")


def _to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, RLiteral):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise InputError(f"unsupported RDF term {term!r}")


def _literal(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


class OxigraphStore:
    """The default, embedded backend: an Oxigraph store in a directory on disk.

    ``OxigraphStore(None)`` gives an in-memory store (tests, benchmarks). A read-only
    view opened while a bulk load is in its live phase waits up to ``busy_wait_s``
    for it to end (module docstring).
    """

    backend: ClassVar[str] = "oxigraph"
    transaction_aware: ClassVar[bool] = True

    def __init__(self, path: Path | str | None, *, read_only: bool = False, busy_wait_s: float = BUSY_WAIT_S) -> None:
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        #: Set only for a store of an older layout opened read-only: the batch graphs
        #: whose union queries read.
        self._legacy: list[ox.NamedNode] | None = None
        try:
            if self.path is None:
                self._store = ox.Store()
            elif read_only:
                if not (self.path / "CURRENT").exists():
                    raise StoreError(
                        f"no store at {self.path}; create one with `qualitas init` or `qualitas demo load`"
                    )
                # A read-only view works beside a process that holds the store open
                # for writing (e.g. `qualitas serve`).
                self._store = _open_view(self.path, busy_wait_s)
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(self.path))
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise StoreBusyError(
                    f"cannot open store {self.path}: another qualitas process, e.g. `qualitas serve`, "
                    f"holds it open for writing ({exc})",
                    store=str(self.path),
                ) from exc
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc
        self._write_lock = threading.Lock()
        #: Keeps this object's readers out while a bulk load writes the default graph of
        #: an in-memory store; one on disk sends them to ``_frozen`` instead.
        self._gate = _Gate()
        #: While a bulk load writes the live data: a read-only checkpoint of the store
        #: as it was before, which this object's queries read.
        self._frozen: ox.Store | None = None
        #: Where the last bulk load's time went (None until one ran): for bench/ingest.py.
        self.last_bulk_profile: BulkProfile | None = None
        #: Set when a failed bulk load could not be undone: the live data holds part of
        #: it, so this object refuses reads and writes until the store is reopened.
        self._unsettled: str | None = None
        #: (live triples, batches): read once here, then moved by this object's own
        #: commits, the only ones (a writer holds the store's lock; a read-only view
        #: sees the store as it was when opened). Reading them per call would also walk
        #: RocksDB's tombstones of every earlier value until a compaction.
        self._counts: tuple[int, int] | None = None
        #: Moved by every commit of this object (twice: as it starts and once it is
        #: visible), so that a value read before a write never names data after it.
        self._generation = 0
        if not read_only:
            self._remove_bulk_leftovers()
            if self.path is not None:
                shutil.rmtree(self.path / _VIEW_DIR, ignore_errors=True)
            self._settle()
            self._recover()
            self._upgrade()
        elif self._layout() < LAYOUT:
            # A store last written by an older Qualitas, seen read-only: read it the old
            # way (slower with many batches) until it is opened for writing once.
            rows = self._store.query(f"SELECT ?g WHERE {{ GRAPH <{_META}> {{ ?g a <{_Q}IngestBatch> }} }}")
            assert isinstance(rows, ox.QuerySolutions)
            self._legacy = [ox.NamedNode(str(row["g"].value)) for row in rows]
        if self._legacy is None:
            self._counts = (self._counter("liveTriples") or 0, self._counter("batchCount") or 0)

    # ------------------------------------------------------------------ reads

    def _query(self, query: str) -> object:
        """Start ``query`` on the store as readers must see it: during a bulk load's live
        phase, on the checkpoint of the store before it (or, in memory, once the gate
        opens again). Oxigraph evaluates a query on the snapshot taken as it starts,
        however late its results are read (``reasoning/gap.py`` reads them as they come)."""
        frozen = self._frozen
        if frozen is not None:
            return self._run(query, frozen)
        with self._gate.read():
            if self._unsettled:
                raise StoreError(f"store {self.path}: {self._unsettled}")
            return self._run(query)

    def _run(self, query: str, store: ox.Store | None = None) -> object:
        """Start ``query`` on ``store`` (the store itself by default), without the gate:
        for the writer itself, which holds it."""
        try:
            if store is not None:
                return store.query(query, prefixes=PREFIXES)
            if self._legacy:
                return self._store.query(query, default_graph=list(self._legacy), prefixes=PREFIXES)
            return self._store.query(query, prefixes=PREFIXES)
        except SyntaxError as exc:
            raise StoreError(f"invalid SPARQL: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"store read failed: {exc}") from exc

    def select(self, query: str) -> list[Row]:
        return _rows(self._query(query))

    def _select(self, query: str) -> list[Row]:
        return _rows(self._run(query))

    def ask(self, query: str) -> bool:
        result = self._query(query)
        if not isinstance(result, ox.QueryBoolean):
            raise StoreError("ask() needs an ASK query")
        return bool(result)

    def construct(self, query: str) -> Graph:
        result = self._query(query)
        if not isinstance(result, ox.QueryTriples):
            raise StoreError("construct() needs a CONSTRUCT or DESCRIBE query")
        graph = Graph()
        for triple in result:
            graph.add((_to_rdflib(triple.subject), _to_rdflib(triple.predicate), _to_rdflib(triple.object)))
        return graph

    def _counter(self, name: str) -> int | None:
        rows = self._store.query(f"SELECT ?n WHERE {{ GRAPH <{_META}> {{ <{_META}> <{_Q}{name}> ?n }} }}")
        assert isinstance(rows, ox.QuerySolutions)
        for row in rows:
            return _int(_to_python(row["n"]))
        return None

    def _layout(self) -> int:
        return self._counter("storeLayout") or 1

    def triple_count(self) -> int:
        """The distinct triples queries see, from a counter kept at each commit (O(1))."""
        if self._counts is None:  # an older layout, read-only: counted once, it cannot change
            rows = self._select("SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT * WHERE { ?s ?p ?o } }")
            self._counts = (_int(rows[0]["n"]), len(self._legacy or []))
        return self._counts[0]

    def batch_count(self) -> int:
        """The current batches, from a counter kept at each commit (O(1))."""
        if self._counts is None:
            return len(self._legacy or [])
        return self._counts[1]

    def generation(self) -> int:
        """A number every commit through this object moves (O(1)): odd while a commit
        is in flight, even otherwise. Two equal even values bracket no write, so an
        answer computed between them may be cached under that value. A read-only view
        never moves it (it sees the store as it was when opened)."""
        return self._generation

    def snapshot(self) -> frozenset[tuple[str, str, str, str]]:
        with self._gate.read():
            quads = self._frozen if self._frozen is not None else self._store  # (len() counts)
            return frozenset((str(q.subject), str(q.predicate), str(q.object), str(q.graph_name)) for q in quads)

    def batches(self) -> list[BatchInfo]:
        with self._gate.read():
            rows = self._select(
                f"""SELECT ?g ?source ?sha ?agent ?at ?n ?fmt WHERE {{ GRAPH <{META_GRAPH}> {{
                ?g a q:IngestBatch ; q:source ?source ; q:sha256 ?sha ; prov:wasAttributedTo ?a ;
                   prov:generatedAtTime ?at ; q:tripleCount ?n ; q:format ?fmt .
                ?a prov:label ?agent . }} }} ORDER BY ?source"""
            )
        return [
            BatchInfo(
                graph=str(r["g"]),
                source=str(r["source"]),
                sha256=str(r["sha"]),
                agent=str(r["agent"]),
                loaded_at=r["at"] if isinstance(r["at"], dt.datetime) else dt.datetime.fromisoformat(str(r["at"])),
                triples=_int(r["n"]),
                format=str(r["fmt"]),
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ writes

    @staticmethod
    def batch_graph(source: str, sha256: str) -> str:
        return BATCH_PREFIX + quote(source, safe="") + "/" + sha256[:16]

    def batch(self, source: str) -> BatchInfo | None:
        """The source's current batch, or None: one index lookup, not a scan of every batch."""
        with self._gate.read():
            return self._batch(source)

    def _batch(self, source: str) -> BatchInfo | None:
        rows = self._select(
            f"""SELECT ?g ?sha ?agent ?at ?n ?fmt WHERE {{ GRAPH <{_META}> {{
                ?g q:source {_literal(source)} ; a q:IngestBatch ; q:sha256 ?sha ; prov:wasAttributedTo ?a ;
                   prov:generatedAtTime ?at ; q:tripleCount ?n ; q:format ?fmt .
                ?a prov:label ?agent . }} }}"""
        )
        for r in rows:
            return BatchInfo(
                graph=str(r["g"]),
                source=source,
                sha256=str(r["sha"]),
                agent=str(r["agent"]),
                loaded_at=r["at"] if isinstance(r["at"], dt.datetime) else dt.datetime.fromisoformat(str(r["at"])),
                triples=_int(r["n"]),
                format=str(r["fmt"]),
            )
        return None

    def load_file(
        self,
        path: Path,
        *,
        format: str | None = None,
        source: str | None = None,
        agent: str,
        progress: Progress | None = None,
    ) -> LoadResult:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such file", file=str(path))
        ox_format, name = rdf_format(path, format)
        total = path.stat().st_size
        clock = time.perf_counter()
        sha, blank_nodes = _scan_file(path)
        if name == "ntriples" and total >= BULK_MIN_BYTES and not blank_nodes:
            profile = BulkProfile(source=source or path.name, scan=time.perf_counter() - clock)
            return self._load_bulk(path, sha256=sha, agent=agent, progress=progress, total=total, profile=profile)

        def write(staging: ox.NamedNode) -> None:
            with reading_rdf(path, progress=progress) as reader:
                # Not transactional, and need not be: the graph is invisible until
                # the metadata switch, and dropped if anything fails before it.
                self._store.bulk_load(reader, format=ox_format, to_graph=staging)

        return self._commit(write, source=source or path.name, sha256=sha, agent=agent, format=name)

    def load_triples(
        self,
        triples: Iterable[tuple[Node, Node, Node]],
        *,
        source: str,
        sha256: str,
        agent: str,
        format: str,
    ) -> LoadResult:
        def write(staging: ox.NamedNode) -> None:
            self._store.extend(
                ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), staging)  # type: ignore[arg-type]
                for s, p, o in triples
            )

        return self._commit(write, source=source, sha256=sha256, agent=agent, format=format)

    def _commit(
        self,
        write: Callable[[ox.NamedNode], None],
        *,
        source: str,
        sha256: str,
        agent: str,
        format: str,
    ) -> LoadResult:
        self._check_writable()
        with self._write_lock:
            previous = self._batch(source)
            if previous is not None and previous.sha256 == sha256:
                return LoadResult(source, previous.graph, sha256, "unchanged", previous.triples, previous.triples)
            graph = ox.NamedNode(self.batch_graph(source, sha256))
            try:
                # 1. The data, into a graph that no metadata points at yet and that no
                #    query reads (a leftover of the same name goes first).
                self._drop_quietly(graph)
                write(graph)
                triples = self._count(f"GRAPH <{graph.value}> {{ ?s ?p ?o }}")
                # 2. The switch, in one transaction.
                record = _record(graph.value, source=source, sha256=sha256, format=format, agent=agent, triples=triples)
                self._switch(new=graph.value, old=previous.graph if previous else None, record=record)
            except OSError as exc:  # disk full, I/O error
                self._drop_quietly(graph)
                self._remove_bulk_leftovers()
                raise StoreError(f"write to {self.path} failed: {exc}") from exc
            except BaseException:
                self._drop_quietly(graph)
                self._remove_bulk_leftovers()
                raise
            # 3. The superseded batch graph goes; if this is interrupted, _recover finishes it.
            if previous is not None:
                self._drop_quietly(ox.NamedNode(previous.graph))
        status: LoadStatus = "replaced" if previous is not None else "added"
        return LoadResult(source, graph.value, sha256, status, triples, previous.triples if previous else 0)

    def _load_bulk(
        self, path: Path, *, sha256: str, agent: str, progress: Progress | None, total: int, profile: BulkProfile
    ) -> LoadResult:
        """The bulk way for an N-Triples file without blank nodes (module docstring)."""
        self._check_writable()
        started, cpu_started = time.perf_counter(), time.process_time()
        source = profile.source
        with self._write_lock:
            previous = self._batch(source)
            if previous is not None and previous.sha256 == sha256:
                return LoadResult(source, previous.graph, sha256, "unchanged", previous.triples, previous.triples)
            graph = ox.NamedNode(self.batch_graph(source, sha256))
            self._drop_quietly(graph)
            with contextlib.ExitStack() as live:
                try:
                    profile.pipeline = self._pipeline(
                        path, graph, live=live, sha256=sha256, progress=progress, total=total, profile=profile
                    )
                    # 3. The counts. The default graph now holds the old live data and the batch.
                    clock = time.perf_counter()
                    assert self._counts is not None
                    triples = self._count(f"GRAPH <{graph.value}> {{ ?s ?p ?o }}")
                    if self._counts[0] <= _SCAN_RATIO * triples:
                        profile.counted_by = "scan of the default graph"
                        added = self._count("?s ?p ?o") - self._counts[0]
                    else:
                        profile.counted_by = "lookup per batch triple"
                        added = self._count(
                            f"GRAPH <{graph.value}> {{ ?s ?p ?o }} FILTER NOT EXISTS {{ GRAPH ?h {{ ?s ?p ?o }} "
                            f"GRAPH <{_META}> {{ ?h a q:IngestBatch }} }}"
                        )
                    profile.count = time.perf_counter() - clock
                    # 4. The commit, in one transaction (it clears the flag).
                    clock = time.perf_counter()
                    record = _record(
                        graph.value, source=source, sha256=sha256, format="ntriples", agent=agent, triples=triples
                    )
                    self._switch(
                        new=graph.value, old=previous.graph if previous else None, record=record, live_added=added
                    )
                except BaseException as exc:
                    self._undo_bulk(graph, exc)
                    raise
            # Committed: from here on nothing undoes it. The superseded batch graph goes
            # (if this is interrupted, _recover finishes it), and the commit goes to disk.
            if previous is not None:
                self._drop_quietly(ox.NamedNode(previous.graph))
            try:
                self._flush()
            except OSError as exc:
                raise StoreError(f"write to {self.path} failed: {exc}") from exc
            profile.commit = time.perf_counter() - clock
        profile.triples = triples
        profile.total = profile.scan + time.perf_counter() - started
        profile.cpu = time.process_time() - cpu_started
        self.last_bulk_profile = profile
        log.info("bulk load %s: %s", source, profile)
        status: LoadStatus = "replaced" if previous is not None else "added"
        return LoadResult(source, graph.value, sha256, status, triples, previous.triples if previous else 0)

    def _pipeline(
        self,
        path: Path,
        graph: ox.NamedNode,
        *,
        live: contextlib.ExitStack,
        sha256: str,
        progress: Progress | None,
        total: int,
        profile: BulkProfile,
    ) -> float:
        """Steps 1 and 2 of the bulk way. Two workers (Oxigraph's loader uses one core per
        call) take, in order, the loads of chunks into the batch graph, and the load of a
        chunk into the default graph once its load into the batch graph has returned. The
        first of those freezes this object's readers (``_freeze``, undone when ``live``
        closes, after the caller's commit) and sets the flag. Returns the seconds it took."""
        started = time.perf_counter()
        digest = hashlib.sha256()
        nt = ox.RdfFormat.N_TRIPLES
        lines = loaded = live_bytes = 0
        into_graph: collections.deque[tuple[concurrent.futures.Future[float], Path, int]] = collections.deque()
        into_live: collections.deque[tuple[concurrent.futures.Future[float], Path, int]] = collections.deque()

        def graph_load(chunk: Path, first_line: int) -> float:
            clock = time.perf_counter()
            try:
                self._store.bulk_load(path=chunk, format=nt, to_graph=graph)
            except SyntaxError as exc:
                line = first_line + exc.lineno - 1 if exc.lineno else None
                raise ParseError(_syntax_message(exc), file=path, line=line) from exc
            except ValueError as exc:
                raise ParseError(str(exc), file=path) from exc
            return time.perf_counter() - clock

        def live_load(chunk: Path) -> float:
            clock = time.perf_counter()
            # Parsed and checked already by the batch graph's load of the same bytes.
            self._store.bulk_load(path=chunk, format=nt, lenient=True)
            return time.perf_counter() - clock

        def report() -> None:
            if progress is not None:
                progress((loaded + live_bytes) // 2, total)

        def live_done() -> None:
            nonlocal live_bytes
            future, chunk, size = into_live.popleft()
            profile.live += future.result()
            chunk.unlink()
            live_bytes += size
            report()

        pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="qualitas-bulk-load")
        scratch = contextlib.ExitStack()
        if self.path is None:
            into = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="qualitas-bulk-")))
        else:
            into = self.path / _CHUNK_DIR
            shutil.rmtree(into, ignore_errors=True)
            into.mkdir()
            scratch.callback(shutil.rmtree, into, ignore_errors=True)
        # Run first on the way out: a load that has begun cannot be stopped, so it ends
        # before its chunk goes; whatever it wrote is undone with the rest.
        scratch.callback(pool.shutdown, wait=True, cancel_futures=True)
        with scratch, path.open("rb") as fh:
            chunks = _chunk_files(fh, into, CHUNK_BYTES, digest)
            more = True
            while more or into_graph:
                while more and len(into_graph) < 2:
                    piece = next(chunks, None)
                    if piece is None:
                        more = False
                        break
                    chunk, size, feeds = piece
                    into_graph.append((pool.submit(graph_load, chunk, lines + 1), chunk, size))
                    lines += feeds
                if not into_graph:
                    break
                future, chunk, size = into_graph.popleft()
                profile.batch_graph += future.result()
                profile.chunks += 1
                loaded += size
                if not live_bytes and not into_live:
                    self._freeze(live)
                    self._store.update(
                        f"INSERT DATA {{ GRAPH <{_META}> {{ <{_META}> <{_PENDING}> <{graph.value}> }} }}"
                    )
                    self._flush()
                into_live.append((pool.submit(live_load, chunk), chunk, size))
                while into_live and (into_live[0][0].done() or len(into_live) > 2):
                    live_done()
                report()
            while into_live:
                live_done()
        if digest.hexdigest() != sha256:
            raise InputError(f"{path}: the file changed while it was loading", file=str(path))
        if progress is not None:
            progress(total, total)
        return time.perf_counter() - started

    def _freeze(self, live: contextlib.ExitStack) -> None:
        """Before the first write to the live data: this object's readers go to a
        read-only checkpoint of the store as it is (``Store.backup``: hard links, cheap)
        until ``live`` closes, after the commit; in memory, where there is no
        checkpoint, they wait at the gate. The generation is odd meanwhile."""
        self._generation += 1
        live.callback(self._end_live)
        if self.path is None:
            live.enter_context(self._gate.write())
            return
        target = self.path / _VIEW_DIR
        # The previous load's checkpoint, left for the queries that may still read it.
        shutil.rmtree(target, ignore_errors=True)
        self._store.backup(str(target))
        self._frozen = ox.Store.read_only(str(target))
        live.callback(self._thaw)

    def _thaw(self) -> None:
        # Its files stay until the next bulk load or open for writing: a query started
        # on it a moment ago may still be reading them.
        self._frozen = None

    def _end_live(self) -> None:
        self._generation += 1

    def _undo_bulk(self, graph: ox.NamedNode, exc: BaseException) -> None:
        """After a failed bulk load: the default graph back as it was, the flag cleared,
        the batch graph dropped. If that fails too, the next open for writing does it."""
        try:
            self._settle()
        except (OSError, RuntimeError) as undo:
            # The batch graph stays: it is what the next open for writing undoes by.
            self._unsettled = f"a failed bulk load into {graph.value} could not be undone ({undo}); reopen the store"
            log.warning("%s", self._unsettled)
        else:
            self._drop_quietly(graph)
        self._remove_bulk_leftovers()
        if isinstance(exc, OSError):
            raise StoreError(f"write to {self.path} failed: {exc}") from exc

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"store {self.path} is open read-only")
        if self._unsettled:
            raise StoreError(f"store {self.path}: {self._unsettled}")

    def _flush(self) -> None:
        if self.path is not None:
            self._store.flush()

    def retract(self, source: str) -> LoadResult:
        """Remove the source's current batch: its metadata, and from the live data
        every triple of it that no other current batch holds. All or nothing."""
        self._check_writable()
        with self._write_lock:
            previous = self._batch(source)
            if previous is None:
                raise NotFoundError(f"no batch with source {source!r} in the store")
            try:
                self._switch(new=None, old=previous.graph, record="")
            except OSError as exc:
                raise StoreError(f"write to {self.path} failed: {exc}") from exc
            self._drop_quietly(ox.NamedNode(previous.graph))
        return LoadResult(source, previous.graph, previous.sha256, "retracted", 0, previous.triples)

    def _switch(self, *, new: str | None, old: str | None, record: str, live_added: int | None = None) -> None:
        """One SPARQL update request, so one transaction: ``old`` stops being current
        and ``new`` becomes current (``record`` is its metadata), the default graph
        follows (``new``'s triples in, ``old``'s triples that no current batch still
        holds out), and the counters move. Called with the write lock held, so the
        counts taken just before are those the transaction changes.

        ``live_added``, from the bulk way: ``new``'s triples are in the default graph
        already, this many of them new there; the pending flag is cleared."""
        assert self._counts is not None
        live_elsewhere = f"GRAPH ?h {{ ?s ?p ?o }} GRAPH <{_META}> {{ ?h a q:IngestBatch }}"
        added = removed = 0
        if live_added is not None:
            added = live_added
        elif new:
            added = self._count(f"GRAPH <{new}> {{ ?s ?p ?o }} FILTER NOT EXISTS {{ ?s ?p ?o }}")
        if old:
            keep_new = f"FILTER NOT EXISTS {{ GRAPH <{new}> {{ ?s ?p ?o }} }}" if new else ""
            removed = self._count(
                f"GRAPH <{old}> {{ ?s ?p ?o }} {keep_new} "
                f"FILTER NOT EXISTS {{ {live_elsewhere} FILTER(?h != <{old}>) }}"
            )
        triples, batches = self._counts
        counts = (triples + added - removed, batches + (1 if new else 0) - (1 if old else 0))
        # DELETE DATA of the exact old values: a point delete, not a scan.
        meta = f"GRAPH <{_META}> {{ <{_META}> q:liveTriples"
        operations = [
            f"DELETE DATA {{ {meta} {triples} ; q:batchCount {batches} }} }}",
            f"INSERT DATA {{ {meta} {counts[0]} ; q:batchCount {counts[1]} }} }}",
        ]
        if old:
            operations.append(f"DELETE WHERE {{ GRAPH <{_META}> {{ <{old}> ?p ?o }} }}")
        if live_added is not None:
            operations.append(f"DELETE DATA {{ GRAPH <{_META}> {{ <{_META}> <{_PENDING}> <{new}> }} }}")
        if record:
            operations.append(record)
        if old:
            operations.append(
                f"""DELETE {{ ?s ?p ?o }} WHERE {{ GRAPH <{old}> {{ ?s ?p ?o }}
                    FILTER NOT EXISTS {{ {live_elsewhere} }} }}"""
            )
        if new and live_added is None:
            operations.append(f"INSERT {{ ?s ?p ?o }} WHERE {{ GRAPH <{new}> {{ ?s ?p ?o }} }}")
        in_flight = self._generation % 2 == 1  # the bulk way made it odd already
        if not in_flight:
            self._generation += 1
        try:
            self._store.update(
                f"PREFIX prov: <{_PROV}>\nPREFIX q: <{_Q}>\nPREFIX xsd: <{_XSD}>\n" + " ;\n\n".join(operations)
            )
            self._counts = counts
        finally:
            if not in_flight:
                self._generation += 1

    def _count(self, pattern: str) -> int:
        return _int(self._select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}")[0]["n"])

    def _drop_quietly(self, graph: ox.NamedNode) -> None:
        with contextlib.suppress(OSError, RuntimeError):  # the next open drops it anyway
            if self._store.contains_named_graph(graph):
                self._store.remove_graph(graph)

    def _remove_bulk_leftovers(self) -> None:
        """Delete the SST files of an interrupted ``bulk_load``, and the chunks of an
        interrupted bulk way. RocksDB moves the SST files it ingests into the store under
        its own names, so a ``bulk-*.sst`` left in the directory belongs to no one; only
        the holder of the write lock runs this."""
        if self.path is None:
            return
        for leftover in self.path.glob("bulk-*.sst"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        shutil.rmtree(self.path / _CHUNK_DIR, ignore_errors=True)

    def _settle(self) -> None:
        """Undo a bulk load that set the pending flag and did not commit: delete from the
        default graph the triples of its batch graph that no current batch holds (all
        the default graph gained is in that graph), and clear the flag, in one
        transaction. A batch that did commit is one its own triples keep (a no-op)."""
        for pending in _pending(self._store):
            self._store.update(
                f"""PREFIX q: <{_Q}>
                DELETE {{ ?s ?p ?o }} WHERE {{ GRAPH <{pending}> {{ ?s ?p ?o }}
                    FILTER NOT EXISTS {{ GRAPH ?h {{ ?s ?p ?o }} GRAPH <{_META}> {{ ?h a q:IngestBatch }} }} }} ;
                DELETE DATA {{ GRAPH <{_META}> {{ <{_META}> <{_PENDING}> <{pending}> }} }}"""
            )
            self._flush()

    def _recover(self) -> None:
        """Drop batch graphs no metadata points at: the data of a load killed before
        its switch, or the superseded data of a replace killed after it."""
        current = {b.graph for b in self.batches()}
        for graph in list(self._store.named_graphs()):
            if isinstance(graph, ox.NamedNode) and graph.value.startswith(BATCH_PREFIX) and graph.value not in current:
                self._store.remove_graph(graph)

    def _upgrade(self) -> None:
        """Bring a store written by an older layout (or a new, empty one) to ``LAYOUT``:
        materialise the live data in the default graph and set the counters, in one
        transaction."""
        if self._layout() >= LAYOUT:
            return
        self._store.update(
            f"""PREFIX q: <{_Q}>
            CLEAR SILENT DEFAULT ;
            INSERT {{ ?s ?p ?o }} WHERE {{ GRAPH <{_META}> {{ ?g a q:IngestBatch }} GRAPH ?g {{ ?s ?p ?o }} }} ;
            DELETE WHERE {{ GRAPH <{_META}> {{ <{_META}> ?p ?o }} }} ;
            INSERT {{ GRAPH <{_META}> {{ <{_META}> q:storeLayout {LAYOUT} ; q:liveTriples ?n ; q:batchCount ?b }} }}
            WHERE {{ {{ SELECT (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o }} }}
                     {{ SELECT (COUNT(*) AS ?b) WHERE {{ GRAPH <{_META}> {{ ?g a q:IngestBatch }} }} }} }}"""
        )

    def close(self) -> None:
        self._frozen = None
        if not self.read_only:
            with contextlib.suppress(OSError):
                self._store.flush()
            if self.path is not None:
                shutil.rmtree(self.path / _VIEW_DIR, ignore_errors=True)
        del self._store

    def __enter__(self) -> OxigraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rows(solutions: object) -> list[Row]:
    if not isinstance(solutions, ox.QuerySolutions):
        raise StoreError("select() needs a SELECT query")
    # Terms by position, not by name: a name lookup in a solution costs more than
    # converting the term.
    columns = list(enumerate(v.value for v in solutions.variables))
    to_python = _to_python
    rows: list[Row] = []
    for solution in solutions:
        row: Row = {}
        for index, name in columns:
            term = solution[index]
            if term is not None:
                row[name] = to_python(term)
        rows.append(row)
    return rows


def _record(graph: str, *, source: str, sha256: str, format: str, agent: str, triples: int) -> str:
    """The SPARQL update that writes a batch's PROV-O metadata."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    agent_iri = "https://w3id.org/qualitas/id/agent/" + quote(agent, safe="")
    return f"""INSERT DATA {{ GRAPH <{_META}> {{
        <{graph}> a q:IngestBatch , prov:Entity ;
            q:source {_literal(source)} ;
            q:sha256 {_literal(sha256)} ;
            q:format {_literal(format)} ;
            q:tripleCount {triples} ;
            prov:wasAttributedTo <{agent_iri}> ;
            prov:generatedAtTime "{now}"^^xsd:dateTime .
        <{agent_iri}> a prov:Agent ; prov:label {_literal(agent)} .
    }} }}"""


def _pending(store: ox.Store) -> list[str]:
    """The batch graphs of bulk loads whose live phase began and did not commit."""
    rows = store.query(f"SELECT ?g WHERE {{ GRAPH <{_META}> {{ <{_META}> <{_PENDING}> ?g }} }}")
    assert isinstance(rows, ox.QuerySolutions)
    return [str(row["g"].value) for row in rows]


def _open_view(path: Path, busy_wait_s: float) -> ox.Store:
    """A read-only view that shows no part of a bulk load: one whose own snapshot has no
    pending flag, waiting up to ``busy_wait_s`` for the flag to clear."""
    deadline = time.monotonic() + busy_wait_s
    while True:
        view, pending = _open_read_only(path)
        if not pending:
            return view
        del view
        if time.monotonic() >= deadline:
            raise StoreBusyError(
                f"store {path} is in the middle of a bulk load ({pending[0]}): waited {busy_wait_s:g} s; try again "
                "when it ends (if the loading process was killed, any open for writing, e.g. `qualitas load` or "
                "`qualitas serve`, cleans it up)",
                store=str(path),
            )
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())) or 0.01)


def _open_read_only(path: Path, *, tries: int = 5) -> tuple[ox.Store, list[str]]:
    """A read-only view of the store at ``path`` and its pending bulk loads (its first
    read). Opened while the writer compacts, RocksDB may list a file the compaction has
    just deleted, which shows at the open ("Corruption: ... No such file") or at that
    first read ("IO error: No such file or directory"): the next try sees the new file
    list."""
    for attempt in range(tries):
        try:
            view = ox.Store.read_only(str(path))
            return view, _pending(view)
        except (RuntimeError, OSError) as exc:
            if "No such file" not in str(exc) or attempt == tries - 1:
                raise StoreError(f"cannot open store {path} read-only: {exc}") from exc
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _syntax_message(exc: SyntaxError) -> str:
    """``column 11: Unexpected end of file`` from pyoxigraph's
    ``Parser error between line 3 column 11 and line 4 column 1: Unexpected end of file``
    (the line goes into the ParseError prefix)."""
    text = str(exc.msg if getattr(exc, "msg", None) else exc)
    match = re.match(
        r"Parser error (?:between|at) line \d+ column (\d+)(?: and line \d+ column \d+)?: (.*)", text, re.S
    )
    if match:
        return f"column {match.group(1)}: {match.group(2)}"
    return text
