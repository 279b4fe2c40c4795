"""Graph stores: the ``GraphStore`` protocol and its backends, chosen by the store's location.

=============================================  ==========================================
location (``--store`` / ``QUALITAS_STORE``)    backend
=============================================  ==========================================
a directory (or ``None``: in memory)           ``oxigraph``: embedded Oxigraph (default)
``http://…``, ``https://…``                    ``sparql``: a SPARQL 1.1 Protocol server
``bolt://``, ``neo4j://``, ``neo4j+s://`` …    ``bolt``: Neo4j (or a Bolt/Cypher server)
=============================================  ==========================================

Remote backends are imported only when a URL names them, so the embedded store needs
neither ``httpx`` nor the ``neo4j`` driver. Every backend passes
``tests/store/test_contract.py``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualitas.errors import ConfigError
from qualitas.store._base import BatchInfo, GraphStore, LoadResult, Progress, Row
from qualitas.store._oxigraph import FORMATS, OxigraphStore
from qualitas.store._remote import SCHEMES, Connection, backend_for, connection_from_settings, redact

if TYPE_CHECKING:
    from qualitas.settings import Settings

__all__ = [
    "BACKENDS",
    "FORMATS",
    "SCHEMES",
    "BatchInfo",
    "Connection",
    "GraphStore",
    "LoadResult",
    "OxigraphStore",
    "Progress",
    "Row",
    "backend_for",
    "connection_from_settings",
    "open_store",
    "redact",
]

#: Backends by name: ``module:Class``, imported on first use. A remote backend's class
#: takes ``(connection: Connection, *, read_only: bool)``.
BACKENDS: dict[str, str] = {
    "oxigraph": "qualitas.store._oxigraph:OxigraphStore",
    "sparql": "qualitas.store._sparql:SparqlStore",
    "bolt": "qualitas.store._bolt:BoltStore",
}


def backend_class(name: str) -> Any:
    """The class registered as backend ``name``."""
    try:
        module, attr = BACKENDS[name].split(":")
    except KeyError:
        raise ConfigError(f"unknown store backend {name!r}; known: {sorted(BACKENDS)}") from None
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:  # a dependency of the backend: its own error says which extra
            raise
        raise ConfigError(f"the {name} store backend is not part of this installation") from exc
    return getattr(loaded, attr)


def open_store(
    location: Path | str | None,
    *,
    backend: str | None = None,
    read_only: bool = False,
    settings: Settings | None = None,
    connection: Connection | None = None,
) -> GraphStore:
    """Open the store at ``location``: a directory (created if needed), ``None`` (in
    memory) or a remote store's URL (the backend chosen by its scheme).

    ``read_only`` opens a store for queries only (an embedded store then works while
    another process, such as ``qualitas serve``, holds it open for writing). A remote
    store's login, TLS, timeouts and retries come from ``connection``, else from
    ``settings``, else from the environment and settings file."""
    name = backend or backend_for(location)
    cls = backend_class(name)
    if name == "oxigraph":
        return cls(location, read_only=read_only)  # type: ignore[no-any-return]
    if not isinstance(location, str):
        raise ConfigError(f"the {name} backend needs a URL, not {location!r}")
    if connection is None:
        if settings is None:
            from qualitas.settings import Settings

            settings = Settings()
        connection = connection_from_settings(location, settings)
    return cls(connection, read_only=read_only)  # type: ignore[no-any-return]
