"""Backends the store tests run against, each behind one ``store_factory`` fixture.

``BACKEND_FIXTURES`` lists one fixture per backend (parameter id -> fixture name). A
backend's fixture returns a :class:`StoreFactory`: ``make()`` gives an empty store,
``reopen(store)`` closes it and opens the same store again (what a process restart
sees). Remote servers are started once per session (``tests/store/_servers.py``) and
emptied before each test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from qualitas.store import GraphStore, open_store
from tests.store._arcadedb import arcadedb_server, bolt_factory  # noqa: F401  (fixtures)
from tests.store._servers import OxigraphServer, VirtuosoServer


@dataclass
class StoreFactory:
    """Makes empty stores of one backend, and reopens them."""

    name: str
    make: Callable[[], GraphStore]
    reopen: Callable[[GraphStore], GraphStore]
    opened: list[GraphStore] = field(default_factory=list)


#: Parameter id -> the fixture giving that backend's StoreFactory.
BACKEND_FIXTURES: dict[str, str] = {
    "oxigraph": "embedded_factory",
    "oxigraph-server": "oxigraph_server_factory",
    "virtuoso": "virtuoso_factory",
    "bolt-arcadedb": "bolt_factory",
}


@pytest.fixture(params=sorted(BACKEND_FIXTURES))
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    return request.getfixturevalue(BACKEND_FIXTURES[request.param])  # type: ignore[no-any-return]


@pytest.fixture
def embedded_factory(tmp_path: Path) -> Iterator[StoreFactory]:
    paths: dict[int, Path] = {}

    def make() -> GraphStore:
        path = tmp_path / f"store{len(paths)}"
        store = open_store(path)
        paths[id(store)] = path
        factory.opened.append(store)
        return store

    def reopen(store: GraphStore) -> GraphStore:
        path = paths[id(store)]
        store.close()
        again = open_store(path)
        paths[id(again)] = path
        factory.opened.append(again)
        return again

    factory = StoreFactory("oxigraph", make, reopen)
    yield factory
    _close_all(factory)


def remote_factory(name: str, url: str, env: dict[str, str], wipe: Callable[[], None]) -> StoreFactory:
    """A factory for the server at ``url`` (login in ``env``), emptied by ``wipe``."""
    from qualitas.settings import Settings
    from qualitas.store import connection_from_settings

    settings = Settings(
        store=url,
        store_user=env.get("QUALITAS_STORE_USER"),
        store_password=env.get("QUALITAS_STORE_PASSWORD"),
        store_server=env.get("QUALITAS_STORE_SERVER"),  # type: ignore[arg-type]
    )
    connection = connection_from_settings(url, settings)

    def make() -> GraphStore:
        wipe()
        store = open_store(url, connection=connection)
        factory.opened.append(store)
        return store

    def reopen(store: GraphStore) -> GraphStore:
        store.close()
        again = open_store(url, connection=connection)
        factory.opened.append(again)
        return again

    factory = StoreFactory(name, make, reopen)
    return factory


def _close_all(factory: StoreFactory) -> None:
    for store in factory.opened:
        with contextlib.suppress(Exception):  # already closed
            store.close()


@pytest.fixture(scope="session")
def oxigraph_server() -> Iterator[OxigraphServer]:
    """One ``oxigraph serve`` process for the session."""
    with OxigraphServer.running() as server:
        yield server


@pytest.fixture(scope="session")
def virtuoso_server() -> Iterator[VirtuosoServer]:
    """One Virtuoso 7 process for the session."""
    with VirtuosoServer.running() as server:
        yield server


@pytest.fixture
def oxigraph_server_factory(oxigraph_server: OxigraphServer) -> Iterator[StoreFactory]:
    server = oxigraph_server
    factory = remote_factory("oxigraph-server", server.url, server.env, server.wipe)
    yield factory
    _close_all(factory)


@pytest.fixture
def virtuoso_factory(virtuoso_server: VirtuosoServer) -> Iterator[StoreFactory]:
    server = virtuoso_server
    factory = remote_factory("virtuoso", server.url, server.env, server.wipe)
    yield factory
    _close_all(factory)
