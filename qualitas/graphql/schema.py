"""The GraphQL schema (strawberry): queries over products, complaints and trace.

Each resolver takes the store from the request context and calls one core
function; errors become GraphQL errors whose ``extensions.code`` comes from
``qualitas.errors.ERROR_TABLE``.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import strawberry
from graphql import GraphQLError, GraphQLObjectType, OperationType
from graphql.execution.middleware import MiddlewareManager
from strawberry.extensions import SchemaExtension
from strawberry.tools import merge_types
from strawberry.types import Info

from qualitas.errors import QualitasError
from qualitas.graphql._errors import graphql_error as _error
from qualitas.graphql._errors import log_errors
from qualitas.graphql.types import Complaint, Product, RecallScope, Trace, convert
from qualitas.reasoning import products as product_queries
from qualitas.reasoning import trace as trace_queries
from qualitas.store import GraphStore

P = ParamSpec("P")
R = TypeVar("R")


def _store(info: Info) -> GraphStore:
    return info.context["store"]  # type: ignore[no-any-return]


def _core_errors(resolver: Callable[P, R]) -> Callable[P, R]:
    """Core errors become GraphQL errors with their code, for every resolver alike."""

    @functools.wraps(resolver)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return resolver(*args, **kwargs)
        except QualitasError as exc:
            raise _error(exc) from exc

    return wrapped


@strawberry.type
class CoreQuery:
    @strawberry.field(description="A product model by its model number, with its multi-level BOM.")
    @_core_errors
    def product(self, info: Info, id: str) -> Product:
        return convert(product_queries.get_product(_store(info), id))  # type: ignore[no-any-return]

    @strawberry.field(description="All product models.")
    def products(self, info: Info) -> list[Product]:
        return convert(product_queries.list_products(_store(info)))  # type: ignore[no-any-return]

    @strawberry.field(description="One complaint by its id.")
    @_core_errors
    def complaint(self, info: Info, id: str) -> Complaint:
        return convert(product_queries.get_complaint(_store(info), id))  # type: ignore[no-any-return]

    @strawberry.field(description="All complaints, optionally only those from one market.")
    def complaints(self, info: Info, market: str | None = None) -> list[Complaint]:
        return convert(product_queries.list_complaints(_store(info), market=market))  # type: ignore[no-any-return]

    @strawberry.field(
        description="Reverse trace of a complaint: unit, lots, suppliers and evidence, "
        "runs with parameters against the spec in force, equipment and calibration."
    )
    @_core_errors
    def trace(self, info: Info, complaint_id: str) -> Trace:
        return convert(trace_queries.reverse_trace(_store(info), complaint_id))  # type: ignore[no-any-return]

    @strawberry.field(description="Forward trace: every lot and unit made from a lot, with their complaints.")
    @_core_errors
    def recall_scope(self, info: Info, lot_id: str) -> RecallScope:
        return convert(trace_queries.recall_scope(_store(info), lot_id))  # type: ignore[no-any-return]


#: Rooms that add GraphQL fields: (module, Query type name, Subscription type name or None).
PLUGINS = (
    ("qualitas.graphql.accounts", "AccountQuery", None),
    ("qualitas.graphql.regulations", "RegulationQuery", None),
    ("qualitas.graphql.gap", "GapQuery", None),
    ("qualitas.graphql.nlp", "NlpQuery", None),
    ("qualitas.graphql.edge", "EdgeQuery", "EdgeSubscription"),
    ("qualitas.graphql.packs", "PackQuery", None),
    ("qualitas.graphql.entities", "EntityQuery", None),
    ("qualitas.graphql.ingest", "IngestQuery", "IngestSubscription"),
    ("qualitas.graphql.audit", "AuditQuery", None),
    ("qualitas.graphql.workbench", "WorkbenchQuery", None),
    ("qualitas.graphql.charts", "ChartQuery", None),
    ("qualitas.graphql.supplier", "SupplierQuery", None),
)
#: Rooms that add GraphQL mutations: (module, Mutation type name).
MUTATION_PLUGINS = (
    ("qualitas.graphql.packs", "PackMutation"),
    ("qualitas.graphql.accounts", "AccountMutation"),
    ("qualitas.graphql.ingest", "IngestMutation"),
    ("qualitas.graphql.observations", "ObservationMutation"),
    ("qualitas.graphql.audit", "AuditMutation"),
    ("qualitas.graphql.workbench", "WorkbenchMutation"),
)


def _mutation_types() -> list[type]:
    out: list[type] = []
    for name, mutation in MUTATION_PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # that room is not in this checkout
            if exc.name is not None and name.startswith(exc.name):
                continue
            raise
        out.append(getattr(module, mutation))
    return out


def _plugin_types() -> tuple[list[type], list[type]]:
    queries: list[type] = [CoreQuery]
    subscriptions: list[type] = []
    for name, query, subscription in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # that room is not in this checkout
            if exc.name is not None and name.startswith(exc.name):
                continue
            raise
        queries.append(getattr(module, query))
        if subscription is not None:
            subscriptions.append(getattr(module, subscription))
    return queries, subscriptions


def _deadline_checked(resolver: Callable[..., Any]) -> Callable[..., Any]:
    """``resolver`` behind what :class:`~qualitas.graphql.security.Authorization` does for
    a nested field: past the operation's deadline, stop with ``LIMIT_EXCEEDED``."""
    from qualitas.graphql.security import _limit_error

    def resolve(root: Any, info: Any, **kwargs: Any) -> Any:
        context = info.context
        if isinstance(context, dict) and info.operation.operation is not OperationType.SUBSCRIPTION:
            deadline = context.get("deadline")
            if deadline is not None and time.monotonic() > deadline:
                raise _limit_error(context.get("settings"))
        return resolver(root, info, **kwargs)

    return resolve


class _RootFieldMiddleware(MiddlewareManager):
    """The extensions' ``resolve`` hooks around root fields only; a nested field (one
    of ``nested``'s resolvers) gets the deadline check alone. Used only when every
    hook is one of :data:`ROOT_FIELD_HOOKS`, which do nothing else for a nested field;
    a trace answer has about 500 fields, and three hooks on each cost more than the
    trace itself."""

    def __init__(self, nested: dict[Callable[..., Any], Callable[..., Any]], *middlewares: Any) -> None:
        super().__init__(*middlewares)
        self._nested = nested

    def get_field_resolver(self, field_resolver: Any) -> Any:
        light = self._nested.get(field_resolver)
        return light if light is not None else super().get_field_resolver(field_resolver)


def _root_field_hooks() -> tuple[type[SchemaExtension], ...]:
    from qualitas.graphql.audit import AuditExtension
    from qualitas.graphql.security import Authorization, Offload

    # Offload and AuditExtension pass nested fields straight through; Authorization
    # checks only the deadline there (as _deadline_checked does).
    return (Offload, Authorization, AuditExtension)


class QualitasSchema(strawberry.Schema):
    """strawberry's schema, logging client errors as one line each and tracebacks only
    for the server's own failures (:func:`qualitas.graphql._errors.log_errors`), and
    running the extensions' per-field hooks on root fields only where that is all they
    act on (:class:`_RootFieldMiddleware`)."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        log_errors(errors, execution_context)

    @functools.cached_property
    def _nested_resolvers(self) -> dict[Callable[..., Any], Callable[..., Any]]:
        schema = self._schema
        roots = [t for t in (schema.query_type, schema.mutation_type, schema.subscription_type) if t is not None]
        at_root = {f.resolve for t in roots for f in t.fields.values()}
        nested: dict[Callable[..., Any], Callable[..., Any]] = {}
        for name, type_ in schema.type_map.items():
            if name.startswith("__") or not isinstance(type_, GraphQLObjectType) or type_ in roots:
                continue
            for field in type_.fields.values():
                if field.resolve is not None and field.resolve not in at_root:
                    nested[field.resolve] = _deadline_checked(field.resolve)
        return nested

    def _get_middleware_manager(self, extensions: list[SchemaExtension]) -> MiddlewareManager:
        hooks = [ext for ext in extensions if ext._implements_resolve()]
        known = _root_field_hooks()
        if not hooks or any(type(ext) not in known for ext in hooks):
            return super()._get_middleware_manager(extensions)
        return _RootFieldMiddleware(self._nested_resolvers, *hooks)


def build_schema(*, extensions: Sequence[Any] = ()) -> strawberry.Schema:
    """The whole schema; the server passes its security extensions
    (:func:`qualitas.graphql.security.extensions_for`)."""
    queries, subscriptions = _plugin_types()
    query = merge_types("Query", tuple(queries))
    mutations = _mutation_types()
    mutation = merge_types("Mutation", tuple(mutations)) if mutations else None
    subscription = merge_types("Subscription", tuple(subscriptions)) if subscriptions else None
    return QualitasSchema(query=query, mutation=mutation, subscription=subscription, extensions=list(extensions))


def sdl() -> str:
    """The schema in GraphQL SDL, as ``qualitas schema`` prints it (and ``schema.graphql`` holds)."""
    banner = "# Generated by `qualitas schema > schema.graphql` from the strawberry types. DO NOT EDIT.\n\n"
    return banner + build_schema().as_str() + "\n"
