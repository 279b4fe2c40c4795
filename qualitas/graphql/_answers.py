"""Answers to read queries, cached per store snapshot.

Layers::

    AnsweringRouter.execute_single ── AnswerCache (key: AnswerKey) ── schema.execute
                                   └─ store.generation()

A repeated read (the explorer page asking for the same trace, eight clients polling a
recall scope) is answered with the bytes of the first answer, without parsing,
validating, resolving or encoding it again. An answer is cached only when

* the operation is a query whose every root field is in :data:`CACHEABLE_FIELDS`:
  fields whose answer is a function of their arguments, the store's contents and
  today's date, never of the caller's identity or of state kept outside the store
  (``whoami``, API keys, load jobs, the audit trail, alerts held in memory, pack files);
* it ran without a single error (a refusal, a limit, a time-out is never cached);
* the store's :meth:`~qualitas.store.GraphStore.generation` was the same, and even
  (no write in flight), before and after it ran.

The key (:class:`AnswerKey`) holds that generation, today's date, the caller's role,
the HTTP method, the query document, the operation name, the variables and the
extensions. Every committed write moves the generation, so an answer is never served
after a load, a retraction or a mutation that wrote to the store: the next request
asks under the new generation, and the entries of older ones are dropped then.

Authorization still applies. Authentication runs for every request before this
(the context getter answers a bad credential with 401 and records it). What a role may
read is :data:`~qualitas.graphql.security.POLICY`, fixed for the process: an answer
is cached under the role that obtained it without errors, and before serving one the
root fields are checked against the policy again; a caller of another role has
another key, runs the query, and is refused and recorded as before. Reads are not
recorded in the audit trail (only mutations and refusals are), so a cache hit skips
no record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from fastapi import Response
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.types import ExecutionResult

from qualitas.auth import Principal
from qualitas.graphql import _json
from qualitas.graphql.graphiql import GraphiQLRouter
from qualitas.graphql.security import allowed_roles

if TYPE_CHECKING:
    from qualitas.graphql._readers import ReaderPool

#: Query root fields whose answer depends only on their arguments, the store and
#: today's date. A field not named here is never cached (the safe default for a new one).
CACHEABLE_FIELDS = frozenset(
    {
        # products, complaints, trace
        "product",
        "products",
        "complaint",
        "complaints",
        "trace",
        "recallScope",
        "productsPage",
        "complaintsPage",
        # regulations (the package catalog, loaded once, and the store), gap reports;
        # not `catalogImpact`, which reads catalog versions from folders on each call
        "regulations",
        "regulation",
        "applicableRegulations",
        "gapReport",
        # warning letters
        "warningLetters",
        "letterFailureModes",
        "failureModesLikeOurs",
        # alarms recorded in the graph (not `recentAlerts`, held in memory)
        "edgeAlarms",
        # entities
        "parts",
        "part",
        "materials",
        "material",
        "substances",
        "suppliers",
        "supplier",
        "declarations",
        "testReports",
        "runs",
        "run",
        "equipment",
        "equipmentById",
        "calibrations",
        "lots",
        "lot",
        "units",
        "unit",
        "__typename",
    }
)

#: Longer query documents are answered but never cached (nor analysed).
MAX_QUERY_CHARS = 20_000


@functools.lru_cache(maxsize=512)
def cacheable_root_fields(query: str, operation_name: str | None) -> tuple[str, ...] | None:
    """The root fields of the operation ``query`` runs, if it is a query whose every
    root field may be cached; else None (a mutation, a subscription, a field outside
    :data:`CACHEABLE_FIELDS`, or a document that does not parse: the normal path
    answers it)."""
    if len(query) > MAX_QUERY_CHARS:
        return None
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [d for d in operations if d.name is not None and d.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    names: set[str] = set()

    def walk(selection_set: SelectionSetNode, seen: frozenset[str]) -> bool:
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                names.add(node.name.value)
            elif isinstance(node, InlineFragmentNode):
                if not walk(node.selection_set, seen):
                    return False
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name in seen or name not in fragments:
                    return False  # a cycle or a missing fragment: validation refuses it
                if not walk(fragments[name].selection_set, seen | {name}):
                    return False
        return True

    if not walk(operations[0].selection_set, frozenset()) or not names or not names <= CACHEABLE_FIELDS:
        return None
    return tuple(sorted(names))


@dataclasses.dataclass(frozen=True)
class AnswerKey:
    """What an answer depends on (see the module docstring)."""

    generation: int
    day: dt.date
    role: str
    method: str
    query: str
    operation_name: str | None
    variables: bytes
    extensions: bytes

    def size(self) -> int:
        return len(self.query) + len(self.variables) + len(self.extensions) + 200


class AnswerCache:
    """Encoded answers by :class:`AnswerKey`, least recently used first out, at most
    ``max_entries`` of them and ``max_bytes`` in all. Holds the answers of one store
    generation at a time: a key of a newer one drops the rest."""

    def __init__(self, *, max_entries: int = 1024, max_bytes: int = 64 << 20) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.hits = self.misses = 0
        self._entries: OrderedDict[AnswerKey, bytes] = OrderedDict()
        self._bytes = 0
        self._generation: int | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: AnswerKey) -> bytes | None:
        with self._lock:
            self._follow(key.generation)
            body = self._entries.get(key)
            if body is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return body

    def put(self, key: AnswerKey, body: bytes) -> None:
        size = key.size() + len(body)
        if self.max_entries <= 0 or size > self.max_bytes:
            return
        with self._lock:
            self._follow(key.generation)
            if key.generation != self._generation:
                return  # an answer of an older snapshot, computed while a write landed
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= key.size() + len(old)
            self._entries[key] = body
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                gone, gone_body = self._entries.popitem(last=False)
                self._bytes -= gone.size() + len(gone_body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _follow(self, generation: int) -> None:
        if self._generation is None or generation > self._generation:
            self._entries.clear()
            self._bytes = 0
            self._generation = generation


@dataclasses.dataclass
class _Answered(ExecutionResult):
    """An answer already encoded (from the cache, or just put there)."""

    body: bytes = b""


class _Encoded(dict[str, Any]):
    """``process_result``'s output for an :class:`_Answered`: the bytes to send."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body


class AnsweringRouter(GraphiQLRouter):
    """The GraphQL router: GraphiQL from the package, JSON by orjson
    (:mod:`qualitas.graphql._json`), read answers from an :class:`AnswerCache`
    (None: no cache), and a read the cache does not hold computed by a reader process
    (:class:`~qualitas.graphql._readers.ReaderPool`, set in ``readers`` while the
    server runs with ``--workers``; None: here)."""

    def __init__(self, *args: Any, cache: AnswerCache | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers = cache
        self.readers: ReaderPool | None = None

    def encode_json(self, data: object) -> bytes:
        return _json.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return _json.loads(data)

    def _key(self, method: str, request_data: GraphQLRequestData, context: Any) -> tuple[AnswerKey, Any] | None:
        if (self.answers is None and self.readers is None) or not isinstance(context, dict):
            return None
        if not isinstance(request_data.query, str):
            return None
        store = context.get("store")
        generation = getattr(store, "generation", None)
        principal = context.get("principal")
        settings = context.get("settings")
        if generation is None or not isinstance(principal, Principal) or settings is None:
            return None
        fields = cacheable_root_fields(request_data.query, request_data.operation_name)
        if fields is None:
            return None
        role = principal.role or "anonymous"
        for field in fields:
            if field != "__typename" and role not in allowed_roles(
                "Query", field, anonymous_reads=settings.allow_anonymous_reads
            ):
                return None  # the normal path refuses it, and records the refusal
        now = generation()
        if now % 2:
            return None  # a write in flight
        try:
            variables = _json.canonical(request_data.variables)
            extensions = _json.canonical(request_data.extensions)
        except TypeError:
            return None
        key = AnswerKey(
            now, dt.date.today(), role, method, request_data.query, request_data.operation_name, variables, extensions
        )
        return key, store

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        found = self._key(request_adapter.method, request_data, context)
        if found is not None and self.answers is not None:
            body = self.answers.get(found[0])
            if body is not None:
                return _Answered(data=None, errors=None, body=body)
        if found is not None and self.readers is not None:
            key, store = found
            body = await self.readers.answer(
                generation=key.generation,
                method=key.method,
                query=key.query,
                variables=request_data.variables,
                operation_name=key.operation_name,
                extensions=request_data.extensions,
                principal=context["principal"],
            )
            if body is not None:
                if self.answers is not None and store.generation() == key.generation:
                    self.answers.put(key, body)
                return _Answered(data=None, errors=None, body=body)
        with self.readers.local() if self.readers is not None else contextlib.nullcontext():
            result = await super().execute_single(
                request=request,
                request_adapter=request_adapter,
                sub_response=sub_response,
                context=context,
                root_value=root_value,
                request_data=request_data,
            )
        if found is None or self.answers is None or result.errors or result.data is None:
            return result
        key, store = found
        if store.generation() != key.generation:
            return result  # a write landed while it ran: answer it, keep nothing
        body = self.encode_json(process_result(result))
        self.answers.put(key, body)
        return _Answered(data=None, errors=None, body=body)

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        if isinstance(result, _Answered):
            return _Encoded(result.body)  # type: ignore[return-value]
        return await super().process_result(request, result)

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        if isinstance(response_data, _Encoded):
            body = response_data.body
        elif isinstance(response_data, list):
            body = (
                b"["
                + b",".join(r.body if isinstance(r, _Encoded) else self.encode_json(r) for r in response_data)
                + b"]"
            )
        else:
            body = self.encode_json(response_data)
        response = Response(body, media_type="application/json", status_code=sub_response.status_code or 200)
        response.headers.raw.extend(sub_response.headers.raw)
        return response


__all__ = ["CACHEABLE_FIELDS", "AnswerCache", "AnswerKey", "AnsweringRouter", "cacheable_root_fields"]
