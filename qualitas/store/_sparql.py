"""A remote store behind the SPARQL 1.1 Protocol: Oxigraph server, Virtuoso, Fuseki, GraphDB.

Layers::

    SparqlStore ── _Http (httpx: TLS, timeouts, login, retries) ── the server's endpoints
         │                                                          query / update / Graph Store
         └── ServerProfile: where the endpoints are, what the default graph means,
                            how many triples one write request may carry

Reads use the SPARQL 1.1 Protocol (https://www.w3.org/TR/sparql11-protocol/#query-operation):
an HTML form POST, results as ``application/sparql-results+json`` (CONSTRUCT as N-Triples).
Writes use SPARQL 1.1 Update and, where the server has one, the Graph Store Protocol.

The layout on the server is the embedded store's (``_oxigraph.py``):

* each batch's triples in its own named graph ``graph/batch/<source>/<sha256 prefix>``;
* the live data (the union of every current batch) materialised once, which is all that
  queries read: the server's default graph where it is a graph of its own (Oxigraph,
  Fuseki), else the named graph ``graph/live``, sent as the request's
  ``default-graph-uri`` (Virtuoso and GraphDB read every graph by default);
* PROV-O metadata per batch and the counters (live triples, batches, generation) in
  ``graph/meta``, with a marker for each batch graph being written (``q:PendingBatch``)
  or superseded (``q:RetiredBatch``).

A batch is written in three steps:

1. a ``q:PendingBatch`` marker, then the data into the batch's graph, in requests of at
   most ``ServerProfile.chunk`` triples (Virtuoso refuses an ``INSERT DATA`` much over
   1,400 triples). Queries never read this graph.
2. the switch, in one transaction: it records the batch's PROV-O metadata, adds its
   triples to the live data, removes the previous batch's triples no other current batch
   holds, marks the previous graph retired and moves the counters. Where the server runs
   an update request as one transaction (Oxigraph, Fuseki, GraphDB) it is one request of
   several operations, as in the embedded store; on Virtuoso, which commits each
   operation of a request on its own, it is ONE ``DELETE … INSERT … WHERE`` operation
   whose WHERE is a UNION of the parts (one operation is one SQL transaction there).
3. the retired graph is dropped.

Opened for writing, the store drops every graph a marker names that is not a current
batch: a load killed in step 1 leaves nothing behind, one killed after step 2 is
complete. Blank nodes are written as skolem IRIs (RDF 1.1 §3.5,
``https://w3id.org/qualitas/.well-known/genid/<batch>/<label>``), so that a batch cut
into several requests keeps each blank node one node, and a resent request adds nothing.

Guarantee per server (the README's "Remote stores" says the same):

* **Oxigraph server**: a batch is all or nothing; a query sees the data before or after
  the switch, never a mix (Oxigraph reads from a snapshot). Proved by
  ``tests/store/test_sparql_kill.py`` (the server killed during loads).
* **Virtuoso 7**: a batch is all or nothing (the switch is one operation, one
  transaction; proved by the same kill test against Virtuoso, whose log replay after a
  SIGKILL restores all of a committed switch and none of an uncommitted one). The
  switch's log entry must fit ``[Parameters] TransactionAfterImageLimit`` (the default
  50 MB refuses a batch of a million triples: SR325, reported with the fix). Virtuoso's
  reads run at its default isolation, READ COMMITTED (``DefaultIsolation = 2``), not on
  snapshots: a query already running while a switch commits may see part of the
  switch's rows; a query that starts after it sees all of them.
* **Fuseki (TDB2), GraphDB, Stardog, Neptune**: an update request is one transaction
  there, by their documentation, so a batch is all or nothing; not tested here (no
  server of theirs in CI).

One writer at a time: the switch moves the counters by values read just before it, so
two Qualitas processes writing to one dataset at once would skew them (the README's
deployment section: one writer, read replicas).

Retries: a request failing with a transient error (connection refused or reset, 502,
503, 504: a server restarting) is tried again with exponential backoff. Every write but
the switch is idempotent (set semantics, skolemised blank nodes); before the switch is
sent again the store reads back whether the first one landed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import ssl
import threading
import time
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import orjson
import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from qualitas.errors import ConfigError, InputError, NotFoundError, StoreError
from qualitas.ontology.namespaces import GRAPH, META_GRAPH, PREFIXES
from qualitas.store._base import BatchInfo, LoadResult, LoadStatus, Progress, Row
from qualitas.store._oxigraph import (
    BATCH_PREFIX,
    LAYOUT,
    _int,
    _literal,
    _to_ox,
    _to_python,
    _to_rdflib,
    rdf_format,
    reading_rdf,
    sha256_file,
)
from qualitas.store._remote import Connection

_XSD = "http://www.w3.org/2001/XMLSchema#"
_PROV = "http://www.w3.org/ns/prov#"
_Q = PREFIXES["q"]
_META = str(META_GRAPH)
_LIVE = str(GRAPH["live"])
_OURS = str(GRAPH)
#: RDF 1.1 skolem IRIs (https://www.w3.org/TR/rdf11-concepts/#section-skolemization).
GENID = "https://w3id.org/qualitas/.well-known/genid/"
_RESULTS_JSON = "application/sparql-results+json"
_NTRIPLES = "application/n-triples"


@dataclass(frozen=True)
class ServerProfile:
    """What differs between SPARQL servers: endpoint paths (relative to the store URL),
    whether the default graph is a graph of its own, and the triples one request carries."""

    name: str
    query: str
    update: str
    #: Graph Store Protocol endpoint (``?graph=`` appended), or None: INSERT DATA instead.
    gsp: str | None
    #: True where a query without a dataset reads every graph (Virtuoso, GraphDB).
    union_default_graph: bool
    chunk: int
    #: True where one update request of several operations is one transaction.
    atomic_request: bool


PROFILES: dict[str, ServerProfile] = {
    # https://github.com/oxigraph/oxigraph/tree/main/cli#usage
    "oxigraph": ServerProfile("oxigraph", "query", "update", "store", False, 50_000, True),
    # https://jena.apache.org/documentation/fuseki2/fuseki-main.html (dataset URL, e.g. http://host:3030/ds)
    "fuseki": ServerProfile("fuseki", "query", "update", "data", False, 50_000, True),
    # https://graphdb.ontotext.com/documentation/ (repository URL, e.g. http://host:7200/repositories/qualitas)
    "graphdb": ServerProfile("graphdb", "", "statements", "rdf-graphs/service", True, 50_000, True),
    # https://vos.openlinksw.com/owiki/wiki/VOS/VOSSparqlProtocol (updates need the digest login endpoint)
    "virtuoso": ServerProfile("virtuoso", "/sparql", "/sparql-auth", None, True, 1_000, False),
    # https://docs.stardog.com/ (database URL, e.g. http://host:5820/qualitas); not tested here
    "stardog": ServerProfile("stardog", "query", "update", None, False, 10_000, True),
    # https://docs.aws.amazon.com/neptune/latest/userguide/sparql-api-reference.html (e.g.
    # https://cluster:8182/sparql; its default graph is the union of all graphs); not tested here
    "neptune": ServerProfile("neptune", "", "", None, True, 10_000, True),
    # Any other SPARQL 1.1 server: query and update at the URL itself.
    "generic": ServerProfile("generic", "", "", None, False, 1_000, False),
}


class _Transient(Exception):
    """A response that says "try again": 502, 503, 504."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, _Transient | httpx.TransportError) and not isinstance(exc, httpx.ReadTimeout)


def _not_sent(exc: BaseException) -> bool:
    """The request certainly did not reach the server (safe to send again whatever it does)."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) or (
        isinstance(exc, _Transient) and exc.status == 503
    )


class _Login(httpx.Auth):
    """Basic or digest login, whichever the server's 401 asks for (Virtuoso: digest)."""

    requires_request_body = True

    def __init__(self, user: str, password: str) -> None:
        self._basic = httpx.BasicAuth(user, password)
        self._digest = httpx.DigestAuth(user, password)
        self._scheme: str | None = None

    def auth_flow(self, request: httpx.Request) -> typing.Generator[httpx.Request, httpx.Response, None]:
        if self._scheme == "digest":
            yield from self._digest.auth_flow(request)
            return
        if self._scheme == "basic":
            yield from self._basic.auth_flow(request)
            return
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("www-authenticate", "").lower()
        if challenge.startswith("digest"):
            self._scheme = "digest"
            yield from self._digest.auth_flow(request)
        elif challenge.startswith("basic"):
            self._scheme = "basic"
            yield from self._basic.auth_flow(request)


class _Http:
    """The HTTP side: one httpx client, endpoints, errors as ``StoreError`` naming the
    URL without credentials."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        verify: bool | ssl.SSLContext = connection.tls_verify
        if connection.ca_file is not None and connection.tls_verify:
            try:
                verify = ssl.create_default_context(cafile=str(connection.ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"QUALITAS_STORE_CA_FILE {connection.ca_file}: not a readable CA bundle: {exc}"
                ) from exc
        auth = _Login(connection.user, connection.password or "") if connection.user else None
        self.client = httpx.Client(
            auth=auth,
            verify=verify,
            timeout=httpx.Timeout(connection.timeout_s, connect=connection.connect_timeout_s),
            headers={"User-Agent": "qualitas"},
            follow_redirects=False,
            trust_env=False,
        )

    def endpoint(self, path: str, base: str) -> str:
        if re.match(r"^https?://", path):
            return path
        if path.startswith("/"):
            parts = urlsplit(base)
            return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        return base.rstrip("/") + ("/" + path if path else "")

    def post(
        self,
        url: str,
        *,
        data: dict[str, str | list[str]] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        retry: Callable[[BaseException], bool] = _transient,
        what: str = "request",
        write: bool = False,
    ) -> httpx.Response:
        # A write (the switch of a million triples) may take far longer than a query.
        timeout = httpx.Timeout(
            self.connection.timeout_s * (10 if write else 1), connect=self.connection.connect_timeout_s
        )

        def send() -> httpx.Response:
            response = self.client.post(url, data=data, content=content, headers=headers, timeout=timeout)
            if response.status_code in (502, 503, 504):
                raise _Transient(response.status_code)
            return response

        try:
            response = self.connection.retrying(send, transient=retry)
        except (httpx.HTTPError, _Transient) as exc:
            raise StoreError(f"store {self.connection.safe_url}: {what} failed: {_describe(exc)}") from exc
        self.check(response, what)
        return response

    def check(self, response: httpx.Response, what: str) -> None:
        if response.status_code in (401, 403):
            raise StoreError(
                f"store {self.connection.safe_url}: the server refused the login (HTTP {response.status_code}); "
                "check QUALITAS_STORE_USER / QUALITAS_STORE_PASSWORD"
                + ("" if self.connection.user else " (none is set)")
            )
        if response.status_code >= 400 and "SR325" in response.text:
            raise StoreError(
                f"store {self.connection.safe_url}: Virtuoso refused the batch as one transaction (SR325: its log "
                "entry is over [Parameters] TransactionAfterImageLimit); raise that limit in virtuoso.ini (the "
                "default, 50,000,000, is too small for a batch of a million triples), or load smaller files"
            )
        if response.status_code >= 400:
            raise StoreError(
                f"store {self.connection.safe_url}: {what} refused (HTTP {response.status_code}): "
                f"{_first_line(response.text)}"
            )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return f"cannot connect ({exc or type(exc).__name__}); is the server running?"
    if isinstance(exc, httpx.ReadTimeout):
        return "no answer within QUALITAS_STORE_TIMEOUT_S"
    return str(exc) or type(exc).__name__


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = re.sub(r"<[^>]+>", "", line).strip()
        if line:
            return line[:300]
    return "(no message)"


def _skolem(term: ox.NamedNode | ox.BlankNode | ox.Literal, batch: str) -> ox.NamedNode | ox.Literal:
    if isinstance(term, ox.BlankNode):
        return ox.NamedNode(f"{GENID}{batch}/{term.value}")
    return term


def _nt(subject: object, predicate: object, obj: object) -> str:
    return f"{subject} {predicate} {obj} ."


def _json_term(term: dict[str, str]) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    kind = term["type"]
    if kind == "uri":
        return ox.NamedNode(term["value"])
    if kind == "bnode":
        return ox.BlankNode(re.sub(r"[^A-Za-z0-9_-]", "_", term["value"].removeprefix("_:")) or "b")
    lang = term.get("xml:lang")
    if lang:
        return ox.Literal(term["value"], language=lang)
    datatype = term.get("datatype")
    if datatype:
        return ox.Literal(term["value"], datatype=ox.NamedNode(datatype))
    return ox.Literal(term["value"])


_DECLARED = re.compile(r"\bPREFIX\s+([A-Za-z][\w.-]*)?\s*:", re.IGNORECASE)
_NAMED_GRAPH = re.compile(r"\bGRAPH\s*<([^>\s]+)>", re.IGNORECASE)


def _with_prefixes(query: str) -> str:
    """``query`` with the PREFIX lines it uses but does not declare (the embedded store
    gives queries the same prefixes)."""
    declared = {m.group(1) or "" for m in _DECLARED.finditer(query)}
    head = "".join(
        f"PREFIX {name}: <{iri}>\n"
        for name, iri in PREFIXES.items()
        if name not in declared and re.search(rf"(?<![\w<\"'#/]){re.escape(name)}:", query)
    )
    return head + query


class SparqlStore:
    """A store on a SPARQL 1.1 Protocol server (see the module docstring).

    ``SparqlStore(connection)``; better ``open_store("http://…")``, which builds the
    connection from the settings."""

    backend: ClassVar[str] = "sparql"
    transaction_aware: ClassVar[bool] = True

    def __init__(self, connection: Connection, *, read_only: bool = False) -> None:
        self.connection = connection
        self.read_only = read_only
        self.url = connection.safe_url
        self._http = _Http(connection)
        try:
            self.profile = self._profile()
            base = self._base()
            self._query_url = self._http.endpoint(connection.query_endpoint or self.profile.query, base)
            self._update_url = self._http.endpoint(connection.update_endpoint or self.profile.update, base)
            gsp = connection.gsp_endpoint or self.profile.gsp
            self._gsp_url = self._http.endpoint(gsp, base) if gsp else None
            self._write_lock = threading.Lock()
            self._writing = False
            self.ask("ASK {}")  # the server is there and answers SPARQL
            if not read_only:
                self._init_layout()  # also proves the login: an update
                self._recover()
        except BaseException:
            self._http.client.close()
            raise

    # ------------------------------------------------------------------ server

    def _base(self) -> str:
        url = self.url.rstrip("/")
        if self.profile.name == "virtuoso" and url.endswith("/sparql"):
            url = url[: -len("/sparql")]
        return url

    def _profile(self) -> ServerProfile:
        name = self.connection.server
        if name is None:
            name = self._server_header()
            if name == "generic" and "/repositories/" in urlsplit(self.url).path:
                name = "graphdb"
        if name not in PROFILES:
            raise ConfigError(f"unknown SPARQL server kind {name!r}; known: {sorted(PROFILES)}")
        return PROFILES[name]

    def _server_header(self) -> str:
        """The server kind from its ``Server`` header (a GET of the store URL)."""

        def send() -> httpx.Response:
            response = self._http.client.get(self.url)
            if response.status_code in (502, 503, 504):
                raise _Transient(response.status_code)
            return response

        try:
            response = self.connection.retrying(send, transient=_transient)
        except (httpx.HTTPError, _Transient) as exc:
            raise StoreError(f"store {self.url}: {_describe(exc)}") from exc
        server = response.headers.get("server", "").lower()
        for name in ("oxigraph", "virtuoso", "fuseki", "graphdb"):
            if name in server:
                return name
        return "generic"

    # ------------------------------------------------------------------ reads

    def _dataset(self, query: str) -> dict[str, str | list[str]]:
        """Protocol dataset parameters: on a union-default-graph server, the live graph
        as the default graph and the named graphs the query names."""
        if not self.profile.union_default_graph:
            return {}
        return {"default-graph-uri": _LIVE, "named-graph-uri": sorted(set(_NAMED_GRAPH.findall(query)))}

    def _post_query(self, query: str, *, accept: str, dataset: bool = True) -> httpx.Response:
        data: dict[str, str | list[str]] = {"query": _with_prefixes(query)}
        if dataset:
            data.update(self._dataset(query))
        response = self._http.post(self._query_url, data=data, headers={"Accept": accept}, what="query")
        if "x-sparql-maxrows" in response.headers:
            raise StoreError(
                f"store {self.url}: the server cut the result at {response.headers['x-sparql-maxrows']} rows; "
                "raise its limit (Virtuoso: [SPARQL] ResultSetMaxRows)"
            )
        return response

    def _solutions(
        self, query: str, *, dataset: bool = True
    ) -> Iterator[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
        body = orjson.loads(self._post_query(query, accept=_RESULTS_JSON, dataset=dataset).content)
        if "results" not in body:
            raise StoreError("select() needs a SELECT query")
        for binding in body["results"]["bindings"]:
            yield {name: _json_term(term) for name, term in binding.items()}

    def select(self, query: str) -> list[Row]:
        return [{k: _to_python(v) for k, v in row.items()} for row in self._solutions(query)]

    def _select_raw(self, query: str) -> list[Row]:
        """A SELECT over the whole store (no dataset): for the store's own bookkeeping."""
        return [{k: _to_python(v) for k, v in row.items()} for row in self._solutions(query, dataset=False)]

    def ask(self, query: str) -> bool:
        body = orjson.loads(self._post_query(query, accept=_RESULTS_JSON).content)
        if "boolean" not in body:
            raise StoreError("ask() needs an ASK query")
        return bool(body["boolean"])

    def construct(self, query: str) -> Graph:
        response = self._post_query(query, accept=f"{_NTRIPLES}, text/plain;q=0.9, text/turtle;q=0.8")
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        fmt = ox.RdfFormat.TURTLE if kind == "text/turtle" else ox.RdfFormat.N_TRIPLES
        if kind in ("application/sparql-results+json", "application/json"):
            raise StoreError("construct() needs a CONSTRUCT or DESCRIBE query")
        graph = Graph()
        try:
            for triple in ox.parse(response.content, format=fmt):
                graph.add((_to_rdflib(triple.subject), _to_rdflib(triple.predicate), _to_rdflib(triple.object)))
        except SyntaxError as exc:
            raise StoreError(f"store {self.url}: unreadable CONSTRUCT result: {exc}") from exc
        return graph

    def _counters(self) -> tuple[int, int, int]:
        rows = self._select_raw(
            f"""SELECT ?n ?b ?gen WHERE {{ GRAPH <{_META}> {{
                <{_META}> q:liveTriples ?n ; q:batchCount ?b ; q:generation ?gen }} }}"""
        )
        if not rows:
            return (0, 0, 0)
        return (_int(rows[0]["n"]), _int(rows[0]["b"]), _int(rows[0]["gen"]))

    def triple_count(self) -> int:
        """The distinct triples reads see, from the counter kept by every switch."""
        return self._counters()[0]

    def batch_count(self) -> int:
        return self._counters()[1]

    def generation(self) -> int:
        """The server's write counter (moved by 2 in every switch, in the same transaction),
        plus 1 while this object writes: equal even values bracket no write by any client."""
        return self._counters()[2] + (1 if self._writing else 0)

    def snapshot(self) -> frozenset[tuple[str, str, str, str]]:
        where = f'GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{_OURS}"))'
        if not self.profile.union_default_graph:
            where = f"{{ ?s ?p ?o }} UNION {{ {where} }}"
        quads = set()
        for row in self._solutions(f"SELECT ?s ?p ?o ?g WHERE {{ {where} }}", dataset=False):
            graph = str(row["g"]) if "g" in row else "DEFAULT"
            quads.add((str(row["s"]), str(row["p"]), str(row["o"]), graph))
        return frozenset(quads)

    def batches(self) -> list[BatchInfo]:
        return [self._info(r) for r in self._select_raw(self._batch_query("?source") + " ORDER BY ?source")]

    def batch(self, source: str) -> BatchInfo | None:
        for row in self._select_raw(self._batch_query(_literal(source))):
            return self._info({**row, "source": source})
        return None

    @staticmethod
    def _batch_query(source: str) -> str:
        return f"""SELECT ?g ?source ?sha ?agent ?at ?n ?fmt WHERE {{ GRAPH <{_META}> {{
            ?g a q:IngestBatch ; q:source {source} ; q:sha256 ?sha ; prov:wasAttributedTo ?a ;
               prov:generatedAtTime ?at ; q:tripleCount ?n ; q:format ?fmt .
            ?a prov:label ?agent . }} {"BIND(" + source + " AS ?source)" if not source.startswith("?") else ""} }}"""

    @staticmethod
    def _info(r: Row) -> BatchInfo:
        at = r["at"]
        if not isinstance(at, dt.datetime):
            at = dt.datetime.fromisoformat(str(at).replace("Z", "+00:00"))
        if at.tzinfo is None:  # Virtuoso drops the zone of a UTC time
            at = at.replace(tzinfo=dt.UTC)
        return BatchInfo(
            graph=str(r["g"]),
            source=str(r["source"]),
            sha256=str(r["sha"]),
            agent=str(r["agent"]),
            loaded_at=at,
            triples=_int(r["n"]),
            format=str(r["fmt"]),
        )

    # ------------------------------------------------------------------ writes

    def _update(self, text: str, *, idempotent: bool = True) -> None:
        """One update request; sent again after a transient error only if it is idempotent
        (else only when it certainly never reached the server)."""
        body = f"PREFIX prov: <{_PROV}>\nPREFIX q: <{_Q}>\nPREFIX xsd: <{_XSD}>\n" + text
        self._http.post(
            self._update_url,
            data={"update": body},
            headers={"Accept": "*/*"},
            retry=_transient if idempotent else _not_sent,
            what="update",
            write=True,
        )

    def _live(self, pattern: str) -> str:
        return f"GRAPH <{_LIVE}> {{ {pattern} }}" if self.profile.union_default_graph else pattern

    def _init_layout(self) -> None:
        """The counters a store lacks, at 0 (all of them on a new store; ``q:generation``
        alone on a store the embedded backend wrote, which ``oxigraph serve`` can serve),
        and the layout mark: an update at every open for writing, which also proves the
        login before any work is done.

        Decided here rather than by ``INSERT … WHERE { FILTER NOT EXISTS … }``: Virtuoso 7
        applies that template again when it replays its transaction log after a crash."""
        rows = self._select_raw(f"SELECT ?p WHERE {{ GRAPH <{_META}> {{ <{_META}> ?p ?o }} }}")
        have = {str(r["p"]) for r in rows}
        missing = " ".join(
            f"q:{name} 0 ;" for name in ("liveTriples", "batchCount", "generation") if _Q + name not in have
        )
        self._update(f"INSERT DATA {{ GRAPH <{_META}> {{ <{_META}> {missing} q:storeLayout {LAYOUT} }} }}")

    def _recover(self) -> None:
        """Drop the graphs of loads killed before their switch and of batches superseded
        by a switch whose clean-up was cut short; then their markers."""
        rows = self._select_raw(
            f"""SELECT DISTINCT ?g WHERE {{ GRAPH <{_META}> {{ {{ ?g a q:PendingBatch }} UNION {{ ?g a q:RetiredBatch }}
                FILTER NOT EXISTS {{ ?g a q:IngestBatch }} }} }}"""
        )
        for row in rows:
            self._drop(str(row["g"]))

    def _drop(self, graph: str) -> None:
        self._update(
            f"""DROP SILENT GRAPH <{graph}> ;
            DELETE WHERE {{ GRAPH <{_META}> {{ <{graph}> a q:PendingBatch }} }} ;
            DELETE WHERE {{ GRAPH <{_META}> {{ <{graph}> a q:RetiredBatch }} }}"""
        )

    @staticmethod
    def batch_graph(source: str, sha256: str) -> str:
        return BATCH_PREFIX + quote(source, safe="") + "/" + sha256[:16]

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

        def triples() -> Iterator[tuple[object, object, object]]:
            with reading_rdf(path, progress=progress) as reader:
                for quad in ox.parse(reader, format=ox_format):
                    yield quad.subject, quad.predicate, quad.object

        return self._commit(triples(), source=source or path.name, sha256=sha, agent=agent, format=name)

    def load_triples(
        self,
        triples: Iterable[tuple[Node, Node, Node]],
        *,
        source: str,
        sha256: str,
        agent: str,
        format: str,
    ) -> LoadResult:
        converted = ((_to_ox(s), _to_ox(p), _to_ox(o)) for s, p, o in triples)
        return self._commit(converted, source=source, sha256=sha256, agent=agent, format=format)

    def _stage(self, graph: str, triples: Iterable[tuple[object, object, object]], sha256: str) -> None:
        """The batch's triples into its graph, ``profile.chunk`` per request."""
        label = sha256[:16]
        lines: list[str] = []
        for s, p, o in triples:
            lines.append(_nt(_skolem(s, label), p, _skolem(o, label)))  # type: ignore[arg-type]
            if len(lines) >= self.profile.chunk:
                self._send_chunk(graph, lines)
                lines = []
        if lines:
            self._send_chunk(graph, lines)

    def _send_chunk(self, graph: str, lines: list[str]) -> None:
        body = "\n".join(lines)
        if self._gsp_url is not None:
            self._http.post(
                self._gsp_url + "?graph=" + quote(graph, safe=""),
                content=body.encode("utf-8"),
                headers={"Content-Type": _NTRIPLES},
                what="load",
                write=True,
            )
        else:
            self._update(f"INSERT DATA {{ GRAPH <{graph}> {{\n{body}\n}} }}")

    def _commit(
        self,
        triples: Iterable[tuple[object, object, object]],
        *,
        source: str,
        sha256: str,
        agent: str,
        format: str,
    ) -> LoadResult:
        if self.read_only:
            raise StoreError(f"store {self.url} is open read-only")
        with self._write_lock:
            previous = self.batch(source)
            if previous is not None and previous.sha256 == sha256:
                return LoadResult(source, previous.graph, sha256, "unchanged", previous.triples, previous.triples)
            graph = self.batch_graph(source, sha256)
            self._writing = True
            try:
                # 1. A marker, then the data, into a graph no query reads.
                self._update(
                    f"""DROP SILENT GRAPH <{graph}> ;
                    INSERT DATA {{ GRAPH <{_META}> {{ <{graph}> a q:PendingBatch }} }}"""
                )
                try:
                    self._stage(graph, triples, sha256)
                    count = self._select_raw(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
                    n = _int(count[0]["n"])
                except BaseException:
                    with contextlib.suppress(StoreError):  # else the next open drops it
                        self._drop(graph)
                    raise
                # 2. The switch, one operation.
                now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
                agent_iri = "https://w3id.org/qualitas/id/agent/" + quote(agent, safe="")
                record = f"""<{graph}> a q:IngestBatch , prov:Entity ;
                        q:source {_literal(source)} ;
                        q:sha256 {_literal(sha256)} ;
                        q:format {_literal(format)} ;
                        q:tripleCount {n} ;
                        prov:wasAttributedTo <{agent_iri}> ;
                        prov:generatedAtTime "{now}"^^xsd:dateTime .
                    <{agent_iri}> a prov:Agent ; prov:label {_literal(agent)} ."""
                self._switch(new=graph, old=previous.graph if previous else None, record=record, source=source)
            finally:
                self._writing = False
            # 3. The superseded graph; if this is cut short, the next open drops it.
            if previous is not None:
                with contextlib.suppress(StoreError):
                    self._drop(previous.graph)
        status: LoadStatus = "replaced" if previous is not None else "added"
        return LoadResult(source, graph, sha256, status, n, previous.triples if previous else 0)

    def retract(self, source: str) -> LoadResult:
        """Remove the source's current batch, all or nothing."""
        if self.read_only:
            raise StoreError(f"store {self.url} is open read-only")
        with self._write_lock:
            previous = self.batch(source)
            if previous is None:
                raise NotFoundError(f"no batch with source {source!r} in the store")
            self._writing = True
            try:
                self._switch(new=None, old=previous.graph, record="", source=source)
            finally:
                self._writing = False
            with contextlib.suppress(StoreError):
                self._drop(previous.graph)
        return LoadResult(source, previous.graph, previous.sha256, "retracted", 0, previous.triples)

    def _switch(self, *, new: str | None, old: str | None, record: str, source: str) -> None:
        """``new`` (pending) becomes the source's current batch with ``record`` as its
        metadata, ``old`` is retired, the live data and the counters follow: in one
        transaction, as one request (:meth:`_switch_request`) or, where only an operation
        is a transaction, as one operation (:meth:`_switch_operation`)."""
        live_triples, batches, generation = self._counters()
        meta = f"<{_META}>"
        in_other_batch = (
            f"GRAPH ?h {{ ?ds ?dp ?do }} GRAPH {meta} {{ ?h a q:IngestBatch }} FILTER(?h != <{old}>)" if old else ""
        )
        added = removed = 0
        if new:
            added = self._count(f"GRAPH <{new}> {{ ?s ?p ?o }} FILTER NOT EXISTS {{ {self._live('?s ?p ?o')} }}")
        if old:
            keep_new = f"FILTER NOT EXISTS {{ GRAPH <{new}> {{ ?ds ?dp ?do }} }}" if new else ""
            removed = self._count(
                f"GRAPH <{old}> {{ ?ds ?dp ?do }} {keep_new} FILTER NOT EXISTS {{ {in_other_batch} }}"
            )
        counts = (live_triples + added - removed, batches + (1 if new else 0) - (1 if old else 0), generation + 2)
        if self.profile.atomic_request:
            operation = self._switch_request(
                new=new, old=old, record=record, before=(live_triples, batches, generation), after=counts
            )
        else:
            operation = self._switch_operation(new=new, old=old, record=record, counts=counts)

        def landed() -> bool:
            current = self.batch(source)
            return (current is not None and current.graph == new) if new else (current is None or current.graph != old)

        try:
            self._update(operation, idempotent=False)
        except StoreError as exc:
            # An answer lost on the way back (reset, timeout, 502/504) leaves it unknown
            # whether the switch landed: read it back before sending it again.
            if not isinstance(exc.__cause__, httpx.TransportError | _Transient):
                raise
            for attempt in range(self.connection.retries):
                try:
                    if landed():
                        return
                    self._update(operation, idempotent=False)
                    return
                except StoreError:
                    if attempt == self.connection.retries - 1:
                        raise
                    time.sleep(self.connection.backoff(attempt))

    def _switch_request(
        self,
        *,
        new: str | None,
        old: str | None,
        record: str,
        before: tuple[int, int, int],
        after: tuple[int, int, int],
    ) -> str:
        """The switch as one request of several operations, for servers that run a request
        as one transaction (Oxigraph, Fuseki, GraphDB): the embedded store's switch."""
        meta = f"GRAPH <{_META}> {{ <{_META}> q:liveTriples"
        operations = [
            f"DELETE DATA {{ {meta} {before[0]} ; q:batchCount {before[1]} ; q:generation {before[2]} }} }}",
            f"INSERT DATA {{ {meta} {after[0]} ; q:batchCount {after[1]} ; q:generation {after[2]} }} }}",
        ]
        if old:
            operations.append(f"DELETE WHERE {{ GRAPH <{_META}> {{ <{old}> ?p ?o }} }}")
            operations.append(f"INSERT DATA {{ GRAPH <{_META}> {{ <{old}> a q:RetiredBatch }} }}")
        if new:
            operations.append(f"DELETE WHERE {{ GRAPH <{_META}> {{ <{new}> ?p ?o }} }}")
            operations.append(f"INSERT DATA {{ GRAPH <{_META}> {{ {record} }} }}")
        if old:
            # After the records moved: a triple ``new`` (now current) or another batch holds stays.
            operations.append(
                f"""DELETE {{ {self._live("?s ?p ?o")} }} WHERE {{ GRAPH <{old}> {{ ?s ?p ?o }}
                    FILTER NOT EXISTS {{ GRAPH ?h {{ ?s ?p ?o }} GRAPH <{_META}> {{ ?h a q:IngestBatch }} }} }}"""
            )
        if new:
            operations.append(f"INSERT {{ {self._live('?s ?p ?o')} }} WHERE {{ GRAPH <{new}> {{ ?s ?p ?o }} }}")
        return " ;\n".join(operations)

    def _switch_operation(self, *, new: str | None, old: str | None, record: str, counts: tuple[int, int, int]) -> str:
        """The switch as ONE DELETE/INSERT operation, for servers that commit each operation
        of a request on its own (Virtuoso). Each part is a branch of the WHERE's UNION
        binding variables of its own; a template triple with an unbound variable is left
        out for a solution (SPARQL 1.1 Update, 3.1.3), so each branch drives only its own
        templates. (Slower than the request form on Oxigraph: every solution instantiates
        the constant templates again.)"""
        meta = f"<{_META}>"
        in_other_batch = (
            f"GRAPH ?h {{ ?ds ?dp ?do }} GRAPH {meta} {{ ?h a q:IngestBatch }} FILTER(?h != <{old}>)" if old else ""
        )
        deletes = [f"GRAPH {meta} {{ {meta} q:liveTriples ?n0 ; q:batchCount ?b0 ; q:generation ?g0 }}"]
        inserts = [
            f"GRAPH {meta} {{ {meta} q:liveTriples {counts[0]} ; q:batchCount {counts[1]} ; q:generation {counts[2]} }}"
        ]
        where = [f"{{ GRAPH {meta} {{ {meta} q:liveTriples ?n0 ; q:batchCount ?b0 ; q:generation ?g0 }} }}"]
        if new:
            deletes.append(f"GRAPH {meta} {{ <{new}> ?np ?no }}")
            where.append(f"{{ GRAPH {meta} {{ <{new}> ?np ?no }} }}")
            inserts.append(f"GRAPH {meta} {{ {record} }}")
            inserts.append(self._live("?is ?ip ?io"))
            where.append(f"{{ GRAPH <{new}> {{ ?is ?ip ?io }} }}")
        if old:
            deletes.append(f"GRAPH {meta} {{ <{old}> ?op ?oo }}")
            where.append(f"{{ GRAPH {meta} {{ <{old}> ?op ?oo }} }}")
            inserts.append(f"GRAPH {meta} {{ <{old}> a q:RetiredBatch }}")
            deletes.append(self._live("?ds ?dp ?do"))
            keep_new = f"FILTER NOT EXISTS {{ GRAPH <{new}> {{ ?ds ?dp ?do }} }}" if new else ""
            where.append(f"{{ GRAPH <{old}> {{ ?ds ?dp ?do }} {keep_new} FILTER NOT EXISTS {{ {in_other_batch} }} }}")
        return (
            f"DELETE {{ {' '.join(deletes)} }}\nINSERT {{ {' '.join(inserts)} }}\nWHERE {{ {' UNION '.join(where)} }}"
        )

    def _count(self, pattern: str) -> int:
        return _int(self._select_raw(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}")[0]["n"])

    def close(self) -> None:
        self._http.client.close()

    def __enter__(self) -> SparqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
