"""GraphiQL at ``GET /graphql``, served whole from the package.

strawberry's own GraphiQL page loads React and GraphiQL from unpkg.com, so it stays
blank without internet (an air-gapped plant network, a laptop on a train). This router
serves ``static/graphiql.html`` instead, whose scripts and styles are the pinned npm
builds in ``static/vendor/`` (``vendor.json`` names each package, version, tarball and
sha256; ``scripts/vendor_graphiql.sh`` refreshes them). The page's Content-Security-Policy
allows requests to this origin only, so nothing can leak to another host either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.requests import Request
from fastapi.responses import HTMLResponse
from strawberry.fastapi import GraphQLRouter

STATIC_DIR = Path(__file__).with_name("static")
PAGE = STATIC_DIR / "graphiql.html"
VENDOR_DIR = STATIC_DIR / "vendor"

#: GraphiQL's editors and popovers set inline styles and fonts come as data: URIs;
#: scripts, fetches and the WebSocket go to this origin only.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; base-uri 'none'; object-src 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class GraphiQLRouter(GraphQLRouter[Any, Any]):
    """strawberry's router with the GraphiQL page replaced by the vendored one."""

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers=HEADERS)


__all__ = ["HEADERS", "PAGE", "VENDOR_DIR", "GraphiQLRouter"]
