"""Who may call which GraphQL field, and the limits every request runs under.

Authorization is checked per root field (every field of ``Query``, ``Mutation`` and
``Subscription``) against :data:`POLICY`:

* a ``Query`` field not named in the table is a read, open to :data:`READERS`
  (and to anonymous callers only where ``QUALITAS_ALLOW_ANONYMOUS_READS`` is on);
* a ``Mutation`` or ``Subscription`` field not named in the table is refused to
  everybody (default deny; a test fails when one is missing from the table);
* nobody anonymous ever runs a mutation.

Limits (settings in :class:`qualitas.settings.Settings`): query depth
(strawberry's ``QueryDepthLimiter``), aliases (``MaxAliasesLimiter``), query cost
(:class:`QueryCostRule`, a static estimate: each field costs 1, or its price in
:data:`FIELD_COSTS` for the expensive ones, and its selection is multiplied by the
page size it asks for), page size (``first`` above ``max_page_size`` is refused by
the cost rule before anything runs), and a per-operation time limit (a stopped query
answers ``LIMIT_EXCEEDED``; what it had resolved is discarded). Introspection is off
where ``introspection_enabled`` is false.

Blocking work stays off the event loop: :class:`Offload` runs each root field's
resolver in the server's worker threads (:class:`ResolverPool`, one at a time per request),
waiting at most until the operation's deadline, so one slow query never stalls
another client's ``whoami``.

Refused requests (HTTP 401, and mutations refused for want of a key or a role) are
recorded in the audit trail through :class:`RefusalRecorder`, a bounded number per
client and minute, so that nobody anonymous can grow the trail at will.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from qualitas.auth import ANONYMOUS, Authenticator, Principal
from qualitas.errors import AuthenticationError, QualitasError
from qualitas.graphql._errors import ClientSafeErrors
from qualitas.graphql._errors import graphql_error as _error
from qualitas.settings import Settings

if TYPE_CHECKING:
    from qualitas.audit import AuditLog

READERS = frozenset({"compliance", "engineer", "auditor", "admin"})
WRITERS = frozenset({"compliance", "engineer", "admin"})

#: (root type, field) -> roles allowed. See the module docstring for fields not named here.
POLICY: dict[tuple[str, str], frozenset[str]] = {
    # who am I: anybody, anonymous included (answers "anonymous")
    ("Query", "whoami"): frozenset({"compliance", "engineer", "auditor", "edge", "admin", "supplier", "anonymous"}),
    # a supplier's key reads its own portal and nothing else (every other Query field is READERS only)
    ("Query", "supplierPortal"): frozenset({"supplier"}),
    # the audit trail and accounts are not business data
    ("Query", "auditTrail"): frozenset({"auditor", "admin"}),
    ("Query", "auditVerification"): frozenset({"auditor", "admin"}),
    ("Query", "users"): frozenset({"admin"}),
    ("Query", "apiKeys"): frozenset({"admin"}),
    ("Query", "packSignatures"): frozenset({"compliance", "auditor", "admin"}),
    ("Query", "loadJob"): READERS,
    ("Query", "loadJobs"): READERS,
    # mutations
    ("Mutation", "generatePack"): frozenset({"compliance", "admin"}),
    ("Mutation", "signPack"): frozenset({"compliance", "admin"}),
    ("Mutation", "loadFiles"): WRITERS,
    ("Mutation", "recordObservations"): frozenset({"edge", "engineer", "admin"}),
    ("Mutation", "createUser"): frozenset({"admin"}),
    ("Mutation", "createApiKey"): frozenset({"admin"}),
    # quality workbench: engineers edit FMEAs and control plans; CAPAs also compliance
    ("Mutation", "createFmea"): frozenset({"engineer", "admin"}),
    ("Mutation", "importFmeaWorksheet"): frozenset({"engineer", "admin"}),
    ("Mutation", "openCapa"): frozenset({"engineer", "compliance", "admin"}),
    ("Mutation", "recordCapaStep"): frozenset({"engineer", "compliance", "admin"}),
    ("Mutation", "verifyCapaStep"): frozenset({"engineer", "compliance", "admin"}),
    ("Mutation", "closeCapa"): frozenset({"engineer", "compliance", "admin"}),
    ("Mutation", "revokeApiKey"): frozenset({"admin"}),
    # subscriptions
    ("Subscription", "alerts"): frozenset({"compliance", "engineer", "auditor", "admin"}),
    ("Subscription", "ingestProgress"): READERS,
}


#: What an expensive root field costs in the static query cost, before its selection: roughly
#: its running time relative to a plain field. A gap report (every applicable act, its
#: clauses and the product's evidence) takes about 0.3 s on the demo data, a trace or a
#: recall scope tens of milliseconds, a pack seconds. At the default limit of 5,000 a
#: request may ask for about 18 gap reports, not 30.
FIELD_COSTS: dict[tuple[str, str], int] = {
    ("Query", "gapReport"): 250,
    ("Query", "trace"): 100,
    ("Query", "recallScope"): 100,
    ("Query", "qualityWorkbench"): 100,  # a complaint's reverse trace
    ("Query", "fmeaProposals"): 100,  # the reverse traces of a failure mode's complaints
    ("Query", "pack"): 50,
    ("Query", "catalogImpact"): 250,
    ("Mutation", "generatePack"): 1000,
}

#: Root fields cheap enough to answer on the event loop (no store, no disk).
INLINE_FIELDS = frozenset({("Query", "whoami")})


def allowed_roles(root: str, field: str, *, anonymous_reads: bool) -> frozenset[str]:
    roles = POLICY.get((root, field))
    if roles is None:
        roles = READERS if root == "Query" else frozenset()
        if root == "Query" and anonymous_reads:
            roles = roles | {"anonymous"}
    if root != "Query":
        roles = roles - {"anonymous"}
    return roles


def _forbidden(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def principal_of(context: dict[str, Any]) -> Principal:
    """The caller, authenticating WebSocket ``connection_init`` credentials on first use."""
    principal = context.get("principal")
    if isinstance(principal, Principal) and not principal.is_anonymous:
        return principal
    params = context.get("connection_params")
    authenticator: Authenticator | None = context.get("authenticator")
    if isinstance(params, dict) and authenticator is not None:
        credential = params.get("Authorization") or params.get("authorization")
        if not credential and params.get("apiKey"):
            credential = f"Bearer {params['apiKey']}"
        if credential:
            principal = authenticator.from_header(str(credential))
            context["principal"] = principal
            return principal
    return principal if isinstance(principal, Principal) else ANONYMOUS


class Authorization(SchemaExtension):
    """Checks each root field against :data:`POLICY`, and the time limit before each field."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, dict):
            settings: Settings | None = context.get("settings")
            timeout = settings.request_timeout_s if settings is not None else 30.0
            context["deadline"] = time.monotonic() + timeout
        yield

    def on_execute(self) -> Iterator[None]:
        # Subscription root fields do not pass through `resolve`: check them here.
        ctx = self.execution_context
        if ctx.graphql_document is not None and str(ctx.operation_type.value) == "subscription":
            for field in _root_fields(ctx.graphql_document, ctx.operation_name):
                self._authorize(ctx.context, "Subscription", field)
        yield

    def resolve(self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        context = info.context
        if info.path.prev is None:  # a root field
            self._authorize(context, info.parent_type.name, info.field_name)
        elif info.operation.operation is not OperationType.SUBSCRIPTION:
            deadline = context.get("deadline") if isinstance(context, dict) else None
            if deadline is not None and time.monotonic() > deadline:
                settings = context.get("settings")
                limit = settings.request_timeout_s if settings is not None else "?"
                raise _forbidden(f"query stopped: it ran past the time limit of {limit} s", "LIMIT_EXCEEDED")
        return _next(root, info, *args, **kwargs)

    @staticmethod
    def _authorize(context: Any, root: str, field: str) -> None:
        if not isinstance(context, dict) or "authenticator" not in context:
            return  # a bare schema in unit tests, without the HTTP layer
        if field.startswith("__"):
            return
        try:
            principal = principal_of(context)
        except AuthenticationError as exc:
            refusals: RefusalRecorder | None = context.get("refusals")
            if refusals is not None:
                refusals.record(
                    context.get("client", "unknown"),
                    "auth.refused",
                    what={"where": "graphql connection_init", "field": f"{root}.{field}", "reason": exc.message},
                )
            raise _error(exc) from exc
        settings: Settings = context["settings"]
        roles = allowed_roles(root, field, anonymous_reads=settings.allow_anonymous_reads)
        role = principal.role or "anonymous"
        if role in roles:
            return
        if principal.is_anonymous:
            raise _forbidden(f"{root}.{field} needs an API key: send 'Authorization: Bearer <key>'", "UNAUTHENTICATED")
        raise _forbidden(f"role {role!r} may not use {root}.{field}", "FORBIDDEN")


def _root_fields(document: Any, operation_name: str | None) -> list[str]:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    names: list[str] = []

    def walk(selection_set: SelectionSetNode, seen: frozenset[str]) -> None:
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                names.append(node.name.value)
            elif isinstance(node, InlineFragmentNode):
                walk(node.selection_set, seen)
            elif isinstance(node, FragmentSpreadNode) and node.name.value in fragments and node.name.value not in seen:
                walk(fragments[node.name.value].selection_set, seen | {node.name.value})

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name is not None and definition.name.value == operation_name)
        ):
            walk(definition.selection_set, frozenset())
    return names


# --------------------------------------------------------------------- query cost

_SIZE_ARGUMENTS = ("first", "last", "limit")


def _unwrap(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def query_cost(
    schema: GraphQLSchema, document: Any, *, max_page_size: int, list_factor: int = 5
) -> tuple[int, list[str]]:
    """Static cost of each operation in ``document`` (the largest one) and the page-size
    problems found. A field costs 1 (or its price in :data:`FIELD_COSTS`) plus its
    selection's cost times its multiplier: the
    ``first``/``last``/``limit`` it asks for (a variable counts as ``max_page_size``), or
    ``list_factor`` for a list without one, else 1."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    problems: list[str] = []

    def selection_cost(selection_set: SelectionSetNode | None, parent: Any, seen: frozenset[str]) -> int:
        if selection_set is None:
            return 0
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += field_cost(node, parent, seen)
            elif isinstance(node, InlineFragmentNode):
                target = schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                total += selection_cost(node.selection_set, target, seen)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name in seen or name not in fragments:
                    continue
                fragment = fragments[name]
                target = schema.get_type(fragment.type_condition.name.value)
                total += selection_cost(fragment.selection_set, target, seen | {name})
        return total

    def field_cost(node: FieldNode, parent: Any, seen: frozenset[str]) -> int:
        name = node.name.value
        fields = getattr(parent, "fields", None)
        if name.startswith("__") or not fields or name not in fields:
            return 1
        field = fields[name]
        multiplier = 1
        sized = False
        for argument in node.arguments or ():
            if argument.name.value not in _SIZE_ARGUMENTS:
                continue
            sized = True
            if isinstance(argument.value, IntValueNode):
                multiplier = int(argument.value.value)
                if multiplier > max_page_size:
                    problems.append(
                        f"{name}({argument.name.value}: {multiplier}) is over the maximum page size {max_page_size}"
                    )
            elif isinstance(argument.value, VariableNode):
                multiplier = max_page_size
        if not sized and isinstance(_unwrap(field.type), GraphQLList):
            multiplier = list_factor
        price = FIELD_COSTS.get((getattr(parent, "name", ""), name), 1)
        return price + max(multiplier, 1) * selection_cost(node.selection_set, get_named_type(field.type), seen)

    worst = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        root = schema.get_root_type(definition.operation)
        worst = max(worst, selection_cost(definition.selection_set, root, frozenset()))
    return worst, problems


def cost_rule(*, max_cost: int, max_page_size: int) -> type[ValidationRule]:
    """A validation rule refusing documents over ``max_cost`` or asking for pages over the limit."""

    class QueryCostRule(ValidationRule):
        def enter_document(self, node: Any, *_: Any) -> None:
            cost, problems = query_cost(self.context.schema, node, max_page_size=max_page_size)
            for problem in problems:
                self.report_error(GraphQLError(problem, extensions={"code": "LIMIT_EXCEEDED"}))
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"query cost {cost} is over the limit of {max_cost}: ask for smaller pages or fewer fields",
                        extensions={"code": "LIMIT_EXCEEDED", "cost": cost, "maxCost": max_cost},
                    )
                )

    return QueryCostRule


def extensions_for(settings: Settings) -> list[Any]:
    """The schema extensions the server runs with, from its settings.

    The validation rules are built once, so that ``ValidationCache`` (keyed by the
    document and the rule classes) answers a repeated query without validating it
    again, and ``ParserCache`` without parsing it again."""
    rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
        cost_rule(max_cost=settings.max_query_cost, max_page_size=settings.max_page_size),
    ]
    if not settings.introspection_enabled:
        rules.extend(DisableIntrospection().validation_rules)
    return [  # factories: strawberry builds fresh extensions per request; the caches are shared
        Offload,  # first, so innermost: only the resolver itself leaves the event loop
        Authorization,
        ClientSafeErrors,
        lambda: ParserCache(maxsize=_CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=_CACHE_SIZE),
    ]


_CACHE_SIZE = 512


# --------------------------------------------------------------- blocking work


def _limit_error(settings: Settings | None) -> GraphQLError:
    limit = settings.request_timeout_s if settings is not None else "?"
    return _forbidden(f"query stopped: it ran past the time limit of {limit} s", "LIMIT_EXCEEDED")


class ResolverPool:
    """Worker threads for resolvers that block (store queries, reasoning, file I/O).

    ``threads`` workers in all (one by default: pyparsing, under rdflib's SPARQL parser
    that pySHACL uses, races when two threads first meet a grammar rule), and one
    resolver at a time for each request, so that a request with many aliased
    expensive fields queues behind itself, taking turns with other requests rather
    than going before them. A resolver still running at the operation's deadline is
    answered ``LIMIT_EXCEEDED``; its thread finishes in the background (Python cannot
    stop a thread) and keeps its request's turn until then."""

    def __init__(self, *, threads: int, per_request: int = 1) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="qualitas-resolver")
        self.per_request = per_request

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def run(self, context: dict[str, Any], call: Callable[[], Any]) -> Any:
        deadline: float | None = context.get("deadline")
        slots: asyncio.Semaphore | None = context.get("resolver_slots")
        if slots is None:
            slots = context["resolver_slots"] = asyncio.Semaphore(self.per_request)
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(remaining):
                await slots.acquire()
                future = loop.run_in_executor(self._executor, functools.partial(contextvars.copy_context().run, call))
                future.add_done_callback(lambda _: slots.release())
                return await asyncio.shield(future)
        except TimeoutError:
            raise _limit_error(context.get("settings")) from None


def _is_async(info: Any) -> bool:
    """An ``async def`` resolver awaits its own blocking work (``asyncio.to_thread``)."""
    field = info.parent_type.fields.get(info.field_name)
    definition = field.extensions.get("strawberry-definition") if field is not None and field.extensions else None
    return bool(getattr(definition, "is_async", False))


async def run_blocking(context: Any, call: Callable[[], Any]) -> Any:
    """``call()`` in the server's :class:`ResolverPool` (``context["workers"]``), under the
    request's deadline; where there is none (a bare schema in unit tests), right here.
    For blocking work inside ``async`` resolvers, e.g. DataLoader batches."""
    pool: ResolverPool | None = context.get("workers") if isinstance(context, dict) else None
    if pool is None:
        return call()
    return await pool.run(context, call)


class Offload(SchemaExtension):
    """Runs root query and mutation resolvers in :class:`ResolverPool` (``context["workers"]``),
    except the cheap ones in :data:`INLINE_FIELDS` and ``async`` ones (they hand their
    blocking work to threads themselves). Nested fields only read the result the root
    resolver made, and stay on the event loop."""

    def resolve(self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        context = info.context
        pool: ResolverPool | None = context.get("workers") if isinstance(context, dict) else None
        if (
            pool is None
            or info.path.prev is not None
            or info.operation.operation is OperationType.SUBSCRIPTION
            or (info.parent_type.name, info.field_name) in INLINE_FIELDS
            or _is_async(info)
        ):
            return _next(root, info, *args, **kwargs)
        return pool.run(context, lambda: _next(root, info, *args, **kwargs))


# --------------------------------------------------------------- refused requests


class RefusalRecorder:
    """Records refused requests in the audit trail, at most ``per_minute`` per client.

    Each client (its address, and the user where one was named) has a bucket of
    ``per_minute`` records that refills evenly over a minute. Refusals beyond it are
    counted, not written; the client's next recorded refusal says how many were left
    out (``what.notRecorded``), so the trail still shows that they happened. At most
    ``max_clients`` buckets are kept (the least recently seen are dropped)."""

    def __init__(self, audit: AuditLog | None, *, per_minute: int, max_clients: int = 4096) -> None:
        self.audit = audit
        self.per_minute = per_minute
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float, int]] = OrderedDict()  # tokens, when, left out
        self._lock = threading.Lock()

    def admit(self, client: str) -> int | None:
        """None if this refusal is not to be recorded, else how many before it were not."""
        now = time.monotonic()
        with self._lock:
            tokens, then, left_out = self._buckets.pop(client, (float(self.per_minute), now, 0))
            tokens = min(float(self.per_minute), tokens + (now - then) * self.per_minute / 60.0)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now, 0)
                admitted: int | None = left_out
            else:
                self._buckets[client] = (tokens, now, left_out + 1)
                admitted = None
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return admitted

    def record(
        self,
        client: str,
        action: str,
        *,
        what: Mapping[str, Any],
        actor: str = "anonymous",
        role: str | None = None,
        why: str | None = None,
        before: str | None = None,
        after: str | None = None,
    ) -> bool:
        """Append ``action`` unless the client is over its rate; True if it was written.
        A trail that cannot be written is not the refused caller's concern: the request
        is refused all the same."""
        if self.audit is None:
            return False
        left_out = self.admit(f"{client} {actor}")
        if left_out is None:
            return False
        details = {"client": client, **what}
        if left_out:
            details["notRecorded"] = left_out
        try:
            self.audit.append(action, actor=actor, role=role, what=details, why=why, before=before, after=after)
        except QualitasError:
            return False
        return True
