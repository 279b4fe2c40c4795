"""Relay cursor connections: ``Connection[T]``, ``Edge[T]`` and ``PageInfo``.

Implements the GraphQL Cursor Connections Specification
(https://relay.dev/graphql/connections.htm) for forward paging: ``first`` and
``after``. Cursors are opaque (base64 of the item's sort key); the core pages in
SPARQL by that key (:class:`qualitas.reasoning.entities.Page`), so a page costs one
store query whatever its position.

"The server must return an error if ``first`` is negative" (spec, 4.3); we also
refuse 0 and anything above the configured page size (``Settings.max_page_size``,
100 when the settings do not say), with ``extensions.code = "BAD_USER_INPUT"`` and
the argument's name.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from qualitas.reasoning.entities import Page

T = TypeVar("T")
N = TypeVar("N")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_PREFIX = "qualitas:"


@strawberry.type(description="Where a page sits (Relay cursor connections).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(
        description="True when the page was asked for after a cursor (forward paging only)."
    )
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque; pass it as `after` to get the items that follow.")
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field(description="The nodes of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[T]:
        return [e.node for e in self.edges]


def bad_input(message: str, *, argument: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT", "argument": argument})


def max_page_size(info: Info) -> int:
    settings = info.context.get("settings") if isinstance(info.context, dict) else None
    value = getattr(settings, "max_page_size", None)
    return value if isinstance(value, int) and value > 0 else MAX_PAGE_SIZE


def page_size(info: Info, first: int | None) -> int:
    """``first`` checked against the page-size limit (default :data:`DEFAULT_PAGE_SIZE`)."""
    limit = max_page_size(info)
    size = min(DEFAULT_PAGE_SIZE, limit) if first is None else first
    if size < 1 or size > limit:
        raise bad_input(f"`first` must be between 1 and {limit}, not {size}", argument="first")
    return size


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode((_PREFIX + key).encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    """The sort key inside ``cursor``; a cursor this server did not make is refused."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise bad_input(f"`after` is not a cursor from this API: {cursor!r}", argument="after") from exc
    if not text.startswith(_PREFIX):
        raise bad_input(f"`after` is not a cursor from this API: {cursor!r}", argument="after")
    return text[len(_PREFIX) :]


def connection(page: Page[N], convert: Callable[[N], T]) -> Connection[T]:
    """A core :class:`Page` as a Relay connection, each node through ``convert``."""
    edges = [Edge(cursor=encode_cursor(e.key), node=convert(e.node)) for e in page.entries]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
