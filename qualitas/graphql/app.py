"""The HTTP application: FastAPI with the GraphQL endpoint and GraphiQL at ``/graphql``.

Layers::

    uvicorn ── FastAPI (create_app) ── strawberry GraphQLRouter ── schema resolvers ── GraphStore
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from strawberry.fastapi import GraphQLRouter

from qualitas import __version__
from qualitas.edge_adapters.alerts import AlertHub
from qualitas.graphql.packs import add_download_route
from qualitas.graphql.schema import build_schema
from qualitas.settings import Settings
from qualitas.store import GraphStore, open_store


def create_app(settings: Settings, *, store: GraphStore | None = None) -> FastAPI:
    """Build the app. The store is opened at startup (not at import) and closed at
    shutdown, unless the caller passes one it owns."""
    state: dict[str, GraphStore] = {}
    alerts = AlertHub()  # live edge alarms for the `alerts` subscription; edge runners in this process publish here

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        owned = store is None
        state["store"] = store if store is not None else open_store(settings.store)
        try:
            yield
        finally:
            if owned:
                state["store"].close()

    async def context() -> dict[str, Any]:
        return {"store": state["store"], "settings": settings, "alerts": alerts}

    app = FastAPI(title="Qualitas", version=__version__, lifespan=lifespan)
    app.state.alerts = alerts
    app.include_router(GraphQLRouter(build_schema(), context_getter=context), prefix="/graphql")

    add_download_route(app, settings)  # GET /packs/{packId}.zip (market document packs)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/graphql")

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        current = state["store"]
        return {"status": "ok", "version": __version__, "triples": current.triple_count()}

    return app
