"""Neo4j backend (Bolt and Cypher, through the official ``neo4j`` driver).

Layers::

    BoltStore ── neo4j.Driver (bolt://, neo4j:// routing, +s TLS) ── Neo4j 5 / Aura / ArcadeDB
        └── replica: an in-memory pyoxigraph.Store that the SPARQL reads run on

What the server holds (one database, ``QUALITAS_STORE_DATABASE``, default ``neo4j``):

* **The live graph as a labelled property graph**, in the mapping of neosemantics
  (n10s) with ``n10s.graphconfig.init({handleVocabUris: "KEEP", handleMultival:
  "ARRAY", keepLangTag: true, keepCustomDataTypes: true, handleRDFTypes: "LABELS"})``
  (https://neo4j.com/labs/neosemantics/4.0/config/):

  - every IRI subject or object is a ``(:Resource {uri})`` node (unique constraint
    ``n10s_unique_uri``, n10s' own name); a blank node is ``uri: "bnode://<label>"``;
  - ``rdf:type`` with an IRI object is a label named by the class IRI (backquoted in
    Cypher: ``MATCH (c:`https://w3id.org/qualitas/ontology#Complaint`)``);
  - a triple whose object is an IRI or blank node is a relationship whose type is the
    predicate IRI;
  - a literal is a value in the array property named by the predicate IRI. Values
    keep their datatype: ``xsd:string`` is the bare string, an ``xsd:integer`` in
    canonical form a Cypher integer, an ``xsd:boolean`` a Cypher boolean, a
    language-tagged string ``"text@lang"``, any other datatype ``"lexical^^datatypeIRI"``
    (n10s' ``keepCustomDataTypes`` form, used here for the XSD types too so that
    ``"1.50"^^xsd:decimal`` or ``"2025-03-01T08:00:00+01:00"^^xsd:dateTime`` come back
    exactly as loaded). A string holding ``@`` or ``^^`` is written with an explicit
    ``^^xsd:string``, and an array that would mix Cypher types is all strings, so
    every value reads back to one RDF literal.

* **One batch = one Cypher transaction.** A ``(:QualitasBatch)`` node carries the
  batch id (``batch``, the named graph IRI that embedded stores use) and its PROV-O
  metadata (``source``, ``sha256``, ``format``, ``tripleCount``, ``agent`` for
  ``prov:wasAttributedTo``, ``generatedAtTime`` for ``prov:generatedAtTime`` as an
  ``xsd:dateTime`` lexical form in UTC); ``(:QualitasChunk {batch, seq, nt})`` nodes
  hold the batch's own triples as N-Triples, the record of exactly what the batch
  holds. The same transaction adds the triples of the batch that no current batch
  held yet, removes those of the replaced batch that no other current batch holds (a
  fact held by two batches stays), moves the counters on the ``(:QualitasMeta)`` node
  and bumps its ``generation``. The transaction starts by writing that node and
  checking its generation against the one this process last saw, so two writers
  never compute against different states (the loser reloads and tries again). A
  server killed mid-load rolls the transaction back: all of the batch or none.

* ``qualitas init`` (any opening for writing) creates the constraints and indexes:
  ``Resource.uri`` and ``QualitasBatch.batch`` / ``.source`` unique, an index on
  ``QualitasChunk.batch``.

Reads. The code base reads through SPARQL (``select`` / ``ask`` / ``construct``).
This backend keeps a replica: at open it reads every batch's chunks into an
in-memory Oxigraph store laid out as the embedded store is (a named graph per batch,
PROV-O in ``graph/meta``, the live union in the default graph) and runs the
unchanged SPARQL there. Each read first asks the server for its generation (one
round trip) and, when another process has written, applies the batches that
changed. Reverse trace and recall scope walk the lineage on the server in Cypher
(quantified path patterns, :meth:`BoltStore.lineage_runs`,
:meth:`BoltStore.made_from`), and give the same sets as the SPARQL property paths.

What scales and what does not: writes, constraint lookups and the lineage walks run
on the server and scale with it (a Neo4j cluster, Aura). The replica costs each
serving process memory in proportion to the whole graph (measured: 75 MB and 0.8 s to
open for 95,000 triples, about 5 times their N-Triples size: each triple is held in its
batch graph and in the union) and a full read of the chunks at start-up, so this
backend suits graphs up to some 10⁷ triples per process; a 10⁹-triple graph needs
reads that fetch a bounded neighbourhood instead, which this version does not do.
A batch is one server transaction, held in the server's memory until it commits:
ArcadeDB 26.10 grew to 2 GB of heap for a 95,000-triple batch, so large files are
best loaded as several batches.

Tested against ArcadeDB 26.10 (its Bolt plugin reports "Neo4j/5.26.0 compatible").
Known differences from Neo4j 5, none of which this module relies on: time-zoned
datetimes come back as naive UTC (we store xsd:dateTime lexical forms, never
Cypher datetimes), ``elementId()`` has another format (never used; nodes are
addressed by ``uri``), bookmarks are empty (one session per call, no causal chaining
needed), no APOC (only Neo4j 5's documented Cypher is used). On Neo4j with n10s
installed, ``n10s.rdf.export.cypher`` reads this graph as RDF once the graph config
above is set.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NoReturn
from urllib.parse import quote, urlsplit, urlunsplit

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from qualitas.errors import InputError, MissingExtraError, NotFoundError, StoreError
from qualitas.ontology.namespaces import META_GRAPH, PREFIXES
from qualitas.store._base import BatchInfo, LoadResult, LoadStatus, Progress, Row
from qualitas.store._oxigraph import (
    BATCH_PREFIX,
    OxigraphStore,
    _literal,
    _to_ox,
    _to_python,
    _to_rdflib,
    rdf_format,
    reading_rdf,
    sha256_file,
)
from qualitas.store._remote import Connection

try:
    import neo4j
    import neo4j.exceptions as neo4j_errors
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtraError("neo4j", extra="neo4j") from exc

_XSD = "http://www.w3.org/2001/XMLSchema#"
_XSD_STRING = _XSD + "string"
_XSD_INTEGER = _XSD + "integer"
_XSD_BOOLEAN = _XSD + "boolean"
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_PROV = "http://www.w3.org/ns/prov#"
_Q = PREFIXES["q"]
_META = str(META_GRAPH)
_BNODE = "bnode://"
#: The label every RDF resource node carries (n10s' own).
RESOURCE = "Resource"
#: Rows per UNWIND statement, characters per N-Triples chunk, and chunks per statement:
#: a Bolt message stays well under the 16 MiB ArcadeDB accepts (a larger one is dropped).
_ROWS = 5000
_CHUNK = 1 << 20
_CHUNKS_PER_STATEMENT = 4
_MESSAGE = 4 << 20
_INT64 = 1 << 63
_LANG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|^`\\@]*")
_CANONICAL_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")

#: Statements ``init`` runs; each is idempotent.
SCHEMA: tuple[str, ...] = (
    f"CREATE CONSTRAINT n10s_unique_uri IF NOT EXISTS FOR (r:{RESOURCE}) REQUIRE r.uri IS UNIQUE",
    "CREATE CONSTRAINT qualitas_batch IF NOT EXISTS FOR (b:QualitasBatch) REQUIRE b.batch IS UNIQUE",
    "CREATE CONSTRAINT qualitas_batch_source IF NOT EXISTS FOR (b:QualitasBatch) REQUIRE b.source IS UNIQUE",
    "CREATE CONSTRAINT qualitas_meta IF NOT EXISTS FOR (m:QualitasMeta) REQUIRE m.id IS UNIQUE",
    "CREATE INDEX qualitas_chunk_batch IF NOT EXISTS FOR (c:QualitasChunk) ON (c.batch)",
)

Term = ox.NamedNode | ox.BlankNode | ox.Literal
Triple = tuple[ox.NamedNode | ox.BlankNode, ox.NamedNode, Term]


# ---------------------------------------------------------------- the mapping


def node_uri(term: ox.NamedNode | ox.BlankNode) -> str:
    """The ``uri`` of the node standing for an IRI or blank node (n10s' ``bnode://``)."""
    return term.value if isinstance(term, ox.NamedNode) else _BNODE + term.value


def term_of(uri: str) -> ox.NamedNode | ox.BlankNode:
    return ox.BlankNode(uri[len(_BNODE) :]) if uri.startswith(_BNODE) else ox.NamedNode(uri)


def encode_literal(literal: ox.Literal) -> str | int | bool:
    """A literal as an n10s property value that reads back to the same literal."""
    value = literal.value
    if literal.language:
        return f"{value}@{literal.language}"
    datatype = literal.datatype.value
    if datatype == _XSD_STRING:
        return value if "@" not in value and "^^" not in value else f"{value}^^{_XSD_STRING}"
    if datatype == _XSD_INTEGER and _CANONICAL_INT.fullmatch(value) and -_INT64 <= int(value) < _INT64:
        return int(value)
    if datatype == _XSD_BOOLEAN and value in ("true", "false"):
        return value == "true"
    return f"{value}^^{datatype}"


def _as_string(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return f"{'true' if value else 'false'}^^{_XSD_BOOLEAN}"
    if isinstance(value, int):
        return f"{value}^^{_XSD_INTEGER}"
    return value


def decode_literal(value: object) -> ox.Literal:
    """The literal an n10s property value stands for (inverse of :func:`encode_literal`)."""
    if isinstance(value, bool):
        return ox.Literal("true" if value else "false", datatype=ox.NamedNode(_XSD_BOOLEAN))
    if isinstance(value, int):
        return ox.Literal(str(value), datatype=ox.NamedNode(_XSD_INTEGER))
    if isinstance(value, float):  # written by another tool (n10s maps xsd:double to a float)
        return ox.Literal(repr(value), datatype=ox.NamedNode(_XSD + "double"))
    text = str(value)
    lexical, sep, datatype = text.rpartition("^^")
    if sep and _IRI.fullmatch(datatype):
        return ox.Literal(lexical, datatype=ox.NamedNode(datatype))
    lexical, sep, lang = text.rpartition("@")
    if sep and _LANG.fullmatch(lang):
        return ox.Literal(lexical, language=lang)
    return ox.Literal(text)


def property_values(literals: Iterable[ox.Literal]) -> list[str | int | bool]:
    """The array property for one subject's literals of one predicate: sorted, and all
    strings where the values would mix Cypher types (a Neo4j array holds one type)."""
    values = [encode_literal(lit) for lit in literals]
    if len({type(v) for v in values}) > 1:
        values = [_as_string(v) for v in values]
    return sorted(values, key=lambda v: (str(type(v)), v))


def _name(iri: str) -> str:
    """A label, relationship type or property key in Cypher: backquoted."""
    return "`" + iri.replace("`", "``") + "`"


# ---------------------------------------------------------------- errors


_TRANSIENT: tuple[type[BaseException], ...] = (
    neo4j_errors.ServiceUnavailable,
    neo4j_errors.SessionExpired,
    neo4j_errors.TransientError,
)


class _Stale(Exception):
    """Another process wrote since this one last read the server's generation."""


@dataclass(frozen=True)
class _Change:
    """What one batch write does to the live graph."""

    added: list[Triple]
    removed: list[Triple]
    #: (subject, predicate) -> the literals the subject holds for it afterwards.
    literals: dict[tuple[str, str], list[ox.Literal]]


class BoltStore:
    """A Neo4j 5 (or Bolt/Cypher-compatible) server as a :class:`GraphStore`."""

    backend: ClassVar[str] = "bolt"
    transaction_aware: ClassVar[bool] = True

    def __init__(self, connection: Connection, *, read_only: bool = False) -> None:
        self.connection = connection
        self.read_only = read_only
        self.database = connection.database or "neo4j"
        self._driver = _driver(connection)
        self._lock = threading.RLock()
        self._replica = ox.Store()
        #: source -> batch, as the replica holds them.
        self._batches: dict[str, BatchInfo] = {}
        self._seen = -1  # the server's generation the replica reflects
        self._counts = (0, 0)
        self._writing = 0
        try:
            try:
                self._driver.verify_connectivity()
            except (neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError) as exc:
                self._fail(exc, "opening the store")
            if not read_only:
                self.init_schema()
            self._sync(force=True)
        except BaseException:
            self._driver.close()
            raise

    # ------------------------------------------------------------------ server calls

    def _fail(self, exc: BaseException, doing: str) -> NoReturn:
        where = f"{self.connection.safe_url} (database {self.database})"
        detail = " ".join(str(exc).split())  # one line: the driver's messages span several
        if isinstance(exc, neo4j_errors.AuthError):
            raise StoreError(f"{where} refused the login for {doing}: check QUALITAS_STORE_USER / _PASSWORD") from exc
        if isinstance(exc, neo4j_errors.ServiceUnavailable | neo4j_errors.SessionExpired | OSError):
            raise StoreError(f"cannot reach the Neo4j store at {where} for {doing}: {detail}") from exc
        raise StoreError(f"the Neo4j store at {where} failed {doing}: {detail}") from exc

    def _read(self, query: str, doing: str, **params: object) -> list[dict[str, Any]]:
        """One auto-commit read, tried again with backoff on a transient error."""

        def call() -> list[dict[str, Any]]:
            # A read-only store reads with READ access: through neo4j:// routing that goes
            # to followers and read replicas, the writer's sessions go to the leader.
            access = neo4j.READ_ACCESS if self.read_only else neo4j.WRITE_ACCESS
            with self._driver.session(database=self.database, default_access_mode=access) as session:
                return [record.data() for record in session.run(query, params)]

        try:
            return self.connection.retrying(call, transient=lambda e: isinstance(e, _TRANSIENT))
        except neo4j_errors.Neo4jError as exc:
            self._fail(exc, doing)
        except (neo4j_errors.DriverError, OSError) as exc:
            self._fail(exc, doing)

    def init_schema(self) -> None:
        """Constraints, indexes and the counters node (``qualitas init``); idempotent."""
        for statement in SCHEMA:
            self._read(statement, "creating the schema")
        self._read(
            "MERGE (m:QualitasMeta {id: 'store'}) "
            "ON CREATE SET m.generation = 0, m.triples = 0, m.batches = 0, m.layout = 1",
            "creating the schema",
        )

    # ------------------------------------------------------------------ the replica

    def _server_generation(self) -> int:
        rows = self._read("MATCH (m:QualitasMeta {id: 'store'}) RETURN m.generation AS g", "reading the generation")
        return int(rows[0]["g"]) if rows else 0

    def _sync(self, *, force: bool = False) -> None:
        """Bring the replica up to the server's batches if another process wrote."""
        generation = self._server_generation()
        if generation == self._seen and not force:
            return
        with self._lock:
            if generation == self._seen and not force:
                return
            rows = self._read(
                "MATCH (b:QualitasBatch) RETURN b.batch AS batch, b.source AS source, b.sha256 AS sha256, "
                "b.agent AS agent, b.generatedAtTime AS at, b.tripleCount AS triples, b.format AS format",
                "reading the batches",
            )
            remote = {r["source"]: _batch_info(r) for r in rows}
            for source in sorted(set(self._batches) | set(remote)):
                old, new = self._batches.get(source), remote.get(source)
                if old is not None and new is not None and old.graph == new.graph:
                    continue
                if new is not None:
                    graph = ox.NamedNode(new.graph)
                    self._drop_graph(graph)
                    chunks = self._read(
                        "MATCH (c:QualitasChunk {batch: $batch}) RETURN c.nt AS nt ORDER BY c.seq",
                        "reading a batch",
                        batch=new.graph,
                    )
                    text = "".join(str(c["nt"]) for c in chunks)
                    # parse() keeps blank node labels (Store.load would mint new ones), so
                    # the replica's blank nodes are the property graph's bnode:// nodes.
                    self._replica.extend(
                        ox.Quad(t.subject, t.predicate, t.object, graph)
                        for t in ox.parse(text, format=ox.RdfFormat.N_TRIPLES)
                    )
                self._apply(new=new, old=old)
            meta = self._read(
                "MATCH (m:QualitasMeta {id: 'store'}) RETURN m.generation AS g, m.triples AS t, m.batches AS b",
                "reading the counters",
            )
            if meta:
                self._counts = (int(meta[0]["t"]), int(meta[0]["b"]))
                self._seen = int(meta[0]["g"])
            else:
                self._counts, self._seen = (0, 0), 0

    def _apply(self, *, new: BatchInfo | None, old: BatchInfo | None) -> None:
        """The replica follows one committed batch write, in one pyoxigraph update (so
        one transaction): ``new``'s graph (already in the replica) becomes current and
        joins the union, ``old``'s leaves it, keeping triples another batch holds."""
        operations = []
        if old is not None:
            operations.append(f"DELETE WHERE {{ GRAPH <{_META}> {{ <{old.graph}> ?p ?o }} }}")
        if new is not None:
            operations.append(_record(new))
        if old is not None:
            operations.append(
                f"""DELETE {{ ?s ?p ?o }} WHERE {{ GRAPH <{old.graph}> {{ ?s ?p ?o }}
                    FILTER NOT EXISTS {{ GRAPH ?h {{ ?s ?p ?o }} GRAPH <{_META}> {{ ?h a q:IngestBatch }}
                                         FILTER(?h != <{old.graph}>) }} }}"""
            )
            if new is None or new.graph != old.graph:
                operations.append(f"DROP SILENT GRAPH <{old.graph}>")
        if new is not None:
            operations.append(f"INSERT {{ ?s ?p ?o }} WHERE {{ GRAPH <{new.graph}> {{ ?s ?p ?o }} }}")
        if operations:
            self._replica.update(
                f"PREFIX prov: <{_PROV}>\nPREFIX q: <{_Q}>\nPREFIX xsd: <{_XSD}>\n" + " ;\n".join(operations)
            )
        if old is not None:
            self._batches.pop(old.source, None)
        if new is not None:
            self._batches[new.source] = new

    def _drop_graph(self, graph: ox.NamedNode) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            if self._replica.contains_named_graph(graph):
                self._replica.remove_graph(graph)

    # ------------------------------------------------------------------ reads

    def _query(self, query: str) -> object:
        self._sync()
        try:
            return self._replica.query(query, prefixes=PREFIXES)
        except SyntaxError as exc:
            raise StoreError(f"invalid SPARQL: {exc}") from exc

    def select(self, query: str) -> list[Row]:
        solutions = self._query(query)
        if not isinstance(solutions, ox.QuerySolutions):
            raise StoreError("select() needs a SELECT query")
        names = [v.value for v in solutions.variables]
        rows: list[Row] = []
        for solution in solutions:
            row: Row = {}
            for name in names:
                term = solution[name]
                if term is not None:
                    row[name] = _to_python(term)
            rows.append(row)
        return rows

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

    def triple_count(self) -> int:
        """The distinct live triples, from the counters node (one round trip)."""
        self._sync()
        return self._counts[0]

    def batch_count(self) -> int:
        self._sync()
        return self._counts[1]

    def generation(self) -> int:
        """Twice the server's write counter, plus one while this object writes: every
        committed write, from any process, moves it (one round trip)."""
        if self._writing:
            return 2 * max(self._seen, 0) + 1
        self._sync()
        return 2 * self._seen

    def snapshot(self) -> frozenset[tuple[str, str, str, str]]:
        self._sync()
        return frozenset((str(q.subject), str(q.predicate), str(q.object), str(q.graph_name)) for q in self._replica)

    def batches(self) -> list[BatchInfo]:
        self._sync()
        return [self._batches[s] for s in sorted(self._batches)]

    def batch(self, source: str) -> BatchInfo | None:
        self._sync()
        return self._batches.get(source)

    # ------------------------------------------------------------------ Cypher reads

    def lineage_runs(self, root: str) -> list[Row]:
        """The runs upstream of item ``root`` (SPARQL ``<root> ^q:produced/(q:consumed/
        ^q:produced)* ?run``), each with what it consumed (``in``) and produced
        (``out``), one row per input or output: a quantified path pattern on the server."""
        produced, consumed = _name(_Q + "produced"), _name(_Q + "consumed")
        rows = self._read(
            f"""MATCH (:{RESOURCE} {{uri: $root}})<-[:{produced}]-(first:{RESOURCE})
                MATCH (first) ((a)-[:{consumed}]->(i)<-[:{produced}]-(b)){{0,}} (run)
                WITH DISTINCT run
                OPTIONAL MATCH (run)-[:{consumed}]->(input)
                OPTIONAL MATCH (run)-[:{produced}]->(output)
                RETURN run.uri AS run, collect(DISTINCT input.uri) AS ins, collect(DISTINCT output.uri) AS outs""",
            "walking the lineage",
            root=root,
        )
        result: list[Row] = []
        for row in rows:
            run = str(row["run"])
            result += [{"run": run, "in": str(i)} for i in row["ins"]]
            result += [{"run": run, "out": str(o)} for o in row["outs"]]
            if not row["ins"] and not row["outs"]:
                result.append({"run": run})
        return result

    def made_from(self, lot: str) -> set[str]:
        """Every item made from ``lot`` (SPARQL ``<lot> ^q:consumed/(q:produced/
        ^q:consumed)*/q:produced ?x``): a quantified path pattern on the server."""
        produced, consumed = _name(_Q + "produced"), _name(_Q + "consumed")
        rows = self._read(
            f"""MATCH (:{RESOURCE} {{uri: $lot}})<-[:{consumed}]-(first:{RESOURCE})
                MATCH (first) ((a)-[:{produced}]->(i)<-[:{consumed}]-(b)){{0,}} (run)-[:{produced}]->(x)
                RETURN DISTINCT x.uri AS x""",
            "walking the lineage",
            lot=lot,
        )
        return {str(r["x"]) for r in rows}

    def property_graph_triples(self) -> set[tuple[str, str, str]]:
        """The live graph read back from the property graph through the mapping, as
        N-Triples terms (what ``n10s.rdf.export`` would give): for checks and exports."""
        triples: set[tuple[str, str, str]] = set()
        for row in self._read(
            f"MATCH (n:{RESOURCE}) RETURN n.uri AS uri, labels(n) AS labels, properties(n) AS props", "exporting"
        ):
            subject = str(term_of(str(row["uri"])))
            for label in row["labels"]:
                if label != RESOURCE:
                    triples.add((subject, f"<{_RDF_TYPE}>", f"<{label}>"))
            for key, values in row["props"].items():
                if key == "uri":
                    continue
                for value in values if isinstance(values, list) else [values]:
                    triples.add((subject, f"<{key}>", str(decode_literal(value))))
        for row in self._read(
            f"MATCH (a:{RESOURCE})-[r]->(b:{RESOURCE}) RETURN a.uri AS s, type(r) AS p, b.uri AS o", "exporting"
        ):
            triples.add((str(term_of(str(row["s"]))), f"<{row['p']}>", str(term_of(str(row["o"])))))
        return triples

    # ------------------------------------------------------------------ writes

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
        sha = sha256_file(path)

        def write(staging: ox.NamedNode) -> None:
            with reading_rdf(path, progress=progress) as reader:
                self._replica.load(reader, format=ox_format, to_graph=staging)

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
            self._replica.extend(
                ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), staging)  # type: ignore[arg-type]
                for s, p, o in triples
            )

        return self._commit(write, source=source, sha256=sha256, agent=agent, format=format)

    def retract(self, source: str) -> LoadResult:
        """Remove ``source``'s batch: its node and chunks, and every triple of it that no
        other current batch holds, in one transaction."""
        self._writable()
        with self._lock:
            self._sync()
            previous = self._batches.get(source)
            if previous is None:
                raise NotFoundError(f"no batch with source {source!r} in the store")
            self._transact(new=None, old=previous, staging=None)
        return LoadResult(source, previous.graph, previous.sha256, "retracted", 0, previous.triples)

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError(f"store {self.connection.safe_url} is open read-only")

    def _commit(
        self,
        write: Callable[[ox.NamedNode], None],
        *,
        source: str,
        sha256: str,
        agent: str,
        format: str,
    ) -> LoadResult:
        self._writable()
        with self._lock:
            self._sync()
            previous = self._batches.get(source)
            if previous is not None and previous.sha256 == sha256:
                return LoadResult(source, previous.graph, sha256, "unchanged", previous.triples, previous.triples)
            graph = ox.NamedNode(OxigraphStore.batch_graph(source, sha256))
            staging = ox.NamedNode(graph.value + "#staging")
            try:
                # 1. The data, parsed into a replica graph that no metadata points at
                #    (a parse error leaves the server untouched).
                self._drop_graph(staging)
                write(staging)
                triples = sum(1 for _ in self._replica.quads_for_pattern(None, None, None, staging))
                now = dt.datetime.now(dt.UTC).replace(microsecond=0)
                new = BatchInfo(graph.value, source, sha256, agent, now, triples, format)
                # 2. One Cypher transaction on the server.
                self._transact(new=new, old=previous, staging=staging)
            finally:
                self._drop_graph(staging)
        status: LoadStatus = "replaced" if previous is not None else "added"
        return LoadResult(source, graph.value, sha256, status, triples, previous.triples if previous else 0)

    def _transact(self, *, new: BatchInfo | None, old: BatchInfo | None, staging: ox.NamedNode | None) -> None:
        """Write ``new`` (its triples in the replica's ``staging`` graph) in place of
        ``old`` on the server in one transaction, then let the replica follow. Tried
        again (after reloading the replica) when another process wrote in between or
        the server failed transiently; a failed try leaves nothing behind."""
        for attempt in range(self.connection.retries):
            change = self._change(new=new, old=old, staging=staging)
            nt = self._ntriples(staging) if staging is not None else ""
            self._writing += 1
            try:
                with self._driver.session(database=self.database) as session:
                    # A batch's transaction gets ten times a read's timeout (as the
                    # SPARQL backend's updates do): 200,000 triples took 35 s on ArcadeDB.
                    tx = session.begin_transaction(timeout=10 * self.connection.timeout_s)
                    try:
                        self._write(tx, change=change, new=new, old=old, nt=nt)
                        tx.commit()
                    except BaseException:
                        with contextlib.suppress(Exception):
                            tx.close()  # rolls back
                        raise
            except _Stale:
                self._sync(force=True)
                old = self._batches.get(new.source if new else old.source if old else "")
                if old is None and new is None:
                    return  # another process retracted it
                if new is not None and old is not None and old.sha256 == new.sha256:
                    return  # another process wrote the same batch
                continue
            except _TRANSIENT as exc:
                if attempt == self.connection.retries - 1:
                    self._fail(exc, "writing a batch")
                time.sleep(self.connection.backoff(attempt))
                with contextlib.suppress(StoreError):
                    self._sync(force=True)
                    old = self._batches.get(new.source if new else old.source if old else "")
                    if new is not None and old is not None and old.sha256 == new.sha256:
                        return  # the commit went through before the connection broke
                continue
            except (neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError) as exc:
                self._fail(exc, "writing a batch")
            finally:
                self._writing -= 1
            # 3. The replica follows: the staged triples become the batch's graph.
            if new is not None and staging is not None:
                graph = ox.NamedNode(new.graph)
                self._drop_graph(graph)
                self._replica.extend(
                    ox.Quad(q.subject, q.predicate, q.object, graph)
                    for q in self._replica.quads_for_pattern(None, None, None, staging)
                )
            self._apply(new=new, old=old)
            self._seen += 1
            triples, batches = self._counts
            self._counts = (
                triples + len(change.added) - len(change.removed),
                batches + (new is not None) - (old is not None),
            )
            return
        raise StoreError(f"{self.connection.safe_url}: other writers kept changing the store; batch not written")

    def _change(self, *, new: BatchInfo | None, old: BatchInfo | None, staging: ox.NamedNode | None) -> _Change:
        """What the write does to the live graph, worked out on the replica (which
        holds every batch's graph): triples of the new batch not yet live, and triples
        of the old one that neither the new batch nor any other current batch holds."""
        default = ox.DefaultGraph()
        incoming: set[Triple] = set()
        if staging is not None:
            incoming = {
                (q.subject, q.predicate, q.object)  # type: ignore[misc]
                for q in self._replica.quads_for_pattern(None, None, None, staging)
            }
        added = [t for t in incoming if not _has(self._replica, t, default)]
        removed: list[Triple] = []
        if old is not None:
            others = {ox.NamedNode(b.graph) for b in self._batches.values() if b.graph != old.graph}
            for q in self._replica.quads_for_pattern(None, None, None, ox.NamedNode(old.graph)):
                t: Triple = (q.subject, q.predicate, q.object)  # type: ignore[assignment]
                if t in incoming:
                    continue
                holders = {h.graph_name for h in self._replica.quads_for_pattern(t[0], t[1], t[2], None)}
                if not holders & others:
                    removed.append(t)
        literals: dict[tuple[str, str], list[ox.Literal]] = {}
        coming: dict[tuple[ox.NamedNode | ox.BlankNode, ox.NamedNode], set[ox.Literal]] = defaultdict(set)
        for s, p, o in added:
            if isinstance(o, ox.Literal):
                coming[(s, p)].add(o)
        touched = set(coming) | {(s, p) for s, p, o in removed if isinstance(o, ox.Literal)}
        gone = {t for t in removed if isinstance(t[2], ox.Literal)}
        for s, p in touched:
            # The subject's values for the predicate once the write is done.
            values = {
                q.object
                for q in self._replica.quads_for_pattern(s, p, None, default)
                if isinstance(q.object, ox.Literal) and (s, p, q.object) not in gone
            } | coming.get((s, p), set())
            literals[(node_uri(s), p.value)] = sorted(values, key=str)
        return _Change(added=added, removed=removed, literals=literals)

    def _ntriples(self, staging: ox.NamedNode) -> str:
        triples = (
            ox.Triple(q.subject, q.predicate, q.object)
            for q in self._replica.quads_for_pattern(None, None, None, staging)
        )
        return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode()  # type: ignore[union-attr]

    def _write(self, tx: Any, *, change: _Change, new: BatchInfo | None, old: BatchInfo | None, nt: str) -> None:
        """The Cypher of one batch write, inside transaction ``tx``."""
        # The counters node first: its write lock (Neo4j) or its version (ArcadeDB's
        # optimistic transactions) orders concurrent writers.
        record = tx.run(
            "MATCH (m:QualitasMeta {id: 'store'}) SET m.generation = m.generation + 1 "
            "RETURN m.generation AS g, m.triples AS t, m.batches AS b"
        ).single()
        if record is None or int(record["g"]) - 1 != self._seen:
            raise _Stale
        triples = int(record["t"]) + len(change.added) - len(change.removed)
        batches = int(record["b"]) + (new is not None) - (old is not None)

        labels_out: dict[str, set[str]] = defaultdict(set)
        labels_in: dict[str, set[str]] = defaultdict(set)
        edges_out: dict[str, list[list[str]]] = defaultdict(list)
        edges_in: dict[str, list[list[str]]] = defaultdict(list)
        nodes: set[str] = set()
        for s, p, o in change.removed:
            if isinstance(o, ox.Literal):
                continue
            if p.value == _RDF_TYPE and isinstance(o, ox.NamedNode):
                labels_out[node_uri(s)].add(o.value)
            else:
                edges_out[p.value].append([node_uri(s), node_uri(o)])
        for s, p, o in change.added:
            nodes.add(node_uri(s))
            if isinstance(o, ox.Literal):
                continue
            if p.value == _RDF_TYPE and isinstance(o, ox.NamedNode):
                labels_in[node_uri(s)].add(o.value)
            else:
                nodes.add(node_uri(o))
                edges_in[p.value].append([node_uri(s), node_uri(o)])
        for predicate, pairs in sorted(edges_out.items()):
            for rows in _slices(pairs):
                tx.run(
                    f"UNWIND $rows AS row MATCH (a:{RESOURCE} {{uri: row[0]}})-[r:{_name(predicate)}]->"
                    f"(b:{RESOURCE} {{uri: row[1]}}) DELETE r",
                    rows=rows,
                ).consume()
        # Each node's labels change in one statement (REMOVE and SET together), and a new
        # node is created with all its labels: ArcadeDB keeps a node's labels as one
        # record type and refuses to move a record twice in one transaction.
        existing: set[str] = set()
        for rows in _slices(sorted(nodes | set(labels_out))):
            existing.update(
                str(r["u"]) for r in tx.run(f"UNWIND $rows AS u MATCH (n:{RESOURCE} {{uri: u}}) RETURN u", rows=rows)
            )
        relabel: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = defaultdict(list)
        for uri in sorted(existing & (set(labels_in) | set(labels_out))):
            relabel[(tuple(sorted(labels_out.get(uri, ()))), tuple(sorted(labels_in.get(uri, ()))))].append(uri)
        for (out, into), uris in sorted(relabel.items()):
            clauses = (f" REMOVE n{_labels(out)}" if out else "") + (f" SET n{_labels(into)}" if into else "")
            for rows in _slices(uris):
                tx.run(f"UNWIND $rows AS u MATCH (n:{RESOURCE} {{uri: u}}){clauses}", rows=rows).consume()
        create: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for uri in sorted(nodes - existing):
            create[tuple(sorted(labels_in.get(uri, ())))].append(uri)
        for into, uris in sorted(create.items()):
            for rows in _slices(uris):
                tx.run(f"UNWIND $rows AS u CREATE (:{RESOURCE}{_labels(into)} {{uri: u}})", rows=rows).consume()
        for predicate, pairs in sorted(edges_in.items()):
            for rows in _slices(pairs):
                tx.run(
                    f"UNWIND $rows AS row MATCH (a:{RESOURCE} {{uri: row[0]}}), (b:{RESOURCE} {{uri: row[1]}}) "
                    f"MERGE (a)-[:{_name(predicate)}]->(b)",
                    rows=rows,
                ).consume()
        props: dict[str, dict[str, object]] = defaultdict(dict)
        for (uri, predicate), values in change.literals.items():
            props[uri][predicate] = property_values(values) if values else None
        for rows in _slices([{"uri": uri, "props": p} for uri, p in sorted(props.items())]):
            tx.run(f"UNWIND $rows AS row MATCH (n:{RESOURCE} {{uri: row.uri}}) SET n += row.props", rows=rows).consume()
        # Nodes left with no label, property or relationship go (n10s leaves none either).
        candidates = sorted(
            {node_uri(s) for s, _, _ in change.removed}
            | {node_uri(o) for _, _, o in change.removed if not isinstance(o, ox.Literal)}
        )
        for rows in _slices(candidates):
            tx.run(
                f"UNWIND $rows AS u MATCH (n:{RESOURCE} {{uri: u}}) "
                "WHERE size(labels(n)) = 1 AND size(keys(n)) = 1 AND NOT EXISTS { (n)--() } DELETE n",
                rows=rows,
            ).consume()

        if old is not None:
            tx.run("MATCH (c:QualitasChunk {batch: $batch}) DELETE c", batch=old.graph).consume()
            tx.run("MATCH (b:QualitasBatch {batch: $batch}) DELETE b", batch=old.graph).consume()
        if new is not None:
            tx.run(
                "CREATE (:QualitasBatch {batch: $batch, source: $source, sha256: $sha256, format: $format, "
                "tripleCount: $triples, agent: $agent, generatedAtTime: $at})",
                batch=new.graph,
                source=new.source,
                sha256=new.sha256,
                format=new.format,
                triples=new.triples,
                agent=new.agent,
                at=_xsd_datetime(new.loaded_at),
            ).consume()
            chunks = [{"seq": i, "nt": text} for i, text in enumerate(_chunks(nt))]
            for rows in _slices(chunks, _CHUNKS_PER_STATEMENT):
                tx.run(
                    "UNWIND $rows AS c CREATE (:QualitasChunk {batch: $batch, seq: c.seq, nt: c.nt})",
                    rows=rows,
                    batch=new.graph,
                ).consume()
        tx.run(
            "MATCH (m:QualitasMeta {id: 'store'}) SET m.triples = $t, m.batches = $b", t=triples, b=batches
        ).consume()

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._driver.close()

    def __enter__(self) -> BoltStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- helpers


def _driver(connection: Connection) -> neo4j.Driver:
    """The driver for ``connection``: its login, timeouts and TLS. A CA file turns a
    ``+s`` URL into the plain scheme with ``encrypted`` and that CA (the driver refuses
    both at once); ``tls_verify = false`` turns ``+s`` into ``+ssc``."""
    parts = urlsplit(connection.url)
    scheme = parts.scheme.lower()
    options: dict[str, Any] = {
        "connection_timeout": connection.connect_timeout_s,
        "connection_acquisition_timeout": connection.timeout_s,
        "max_transaction_retry_time": connection.timeout_s,
        "user_agent": "qualitas",
    }
    if scheme.endswith("+s") and connection.ca_file is not None:
        scheme = scheme[: -len("+s")]
        options["encrypted"] = True
        options["trusted_certificates"] = neo4j.TrustCustomCAs(str(connection.ca_file))
    elif scheme.endswith("+s") and not connection.tls_verify:
        scheme += "sc"
    url = urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))
    auth = neo4j.basic_auth(connection.user, connection.password or "") if connection.user else None
    try:
        return neo4j.GraphDatabase.driver(url, auth=auth, **options)
    except (neo4j_errors.ConfigurationError, ValueError) as exc:
        raise StoreError(f"cannot use the Neo4j store URL {connection.safe_url}: {exc}") from exc


def _has(store: ox.Store, triple: Triple, graph: ox.DefaultGraph) -> bool:
    return next(iter(store.quads_for_pattern(triple[0], triple[1], triple[2], graph)), None) is not None


def _labels(labels: Iterable[str]) -> str:
    return "".join(":" + _name(label) for label in labels)


def _slices(rows: list[Any], size: int = _ROWS, *, budget: int = _MESSAGE) -> Iterator[list[Any]]:
    """``rows`` in slices of at most ``size`` rows and about ``budget`` characters, so that
    no statement's parameters make a Bolt message larger than the server takes."""
    current: list[Any] = []
    used = 0
    for row in rows:
        weight = len(str(row))
        if current and (len(current) >= size or used + weight > budget):
            yield current
            current, used = [], 0
        current.append(row)
        used += weight
    if current:
        yield current


def _chunks(nt: str) -> Iterator[str]:
    """N-Triples text in pieces of about ``_CHUNK`` characters, cut at line ends."""
    start = 0
    while start < len(nt):
        end = nt.find("\n", min(start + _CHUNK, len(nt)) - 1)
        end = len(nt) if end < 0 else end + 1
        yield nt[start:end]
        start = end


def _xsd_datetime(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _batch_info(row: dict[str, Any]) -> BatchInfo:
    return BatchInfo(
        graph=str(row["batch"]),
        source=str(row["source"]),
        sha256=str(row["sha256"]),
        agent=str(row["agent"]),
        loaded_at=dt.datetime.fromisoformat(str(row["at"]).replace("Z", "+00:00")),
        triples=int(row["triples"]),
        format=str(row["format"]),
    )


def _record(batch: BatchInfo) -> str:
    """The batch's PROV-O metadata, as the embedded store writes it."""
    agent_iri = "https://w3id.org/qualitas/id/agent/" + quote(batch.agent, safe="")
    return f"""INSERT DATA {{ GRAPH <{_META}> {{
        <{batch.graph}> a q:IngestBatch , prov:Entity ;
            q:source {_literal(batch.source)} ;
            q:sha256 {_literal(batch.sha256)} ;
            q:format {_literal(batch.format)} ;
            q:tripleCount {batch.triples} ;
            prov:wasAttributedTo <{agent_iri}> ;
            prov:generatedAtTime "{_xsd_datetime(batch.loaded_at)}"^^xsd:dateTime .
        <{agent_iri}> a prov:Agent ; prov:label {_literal(batch.agent)} .
    }} }}"""


__all__ = ["BATCH_PREFIX", "RESOURCE", "SCHEMA", "BoltStore", "decode_literal", "encode_literal", "node_uri"]
