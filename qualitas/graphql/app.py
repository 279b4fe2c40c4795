"""The HTTP application: FastAPI with the GraphQL endpoint and GraphiQL at ``/graphql``.

Layers::

    uvicorn ── BodyLimit ── FastAPI (create_app) ── strawberry GraphQLRouter
          ── security extensions (roles, limits) ── schema resolvers ── GraphStore

Every request names its caller with ``Authorization: Bearer <API key or token>``
(WebSocket clients may send it in ``connection_init`` instead); a wrong credential
is answered 401 before anything runs, and recorded in the audit trail (a bounded
number per client and minute, :class:`~qualitas.graphql.security.RefusalRecorder`).
What each role may do is :data:`qualitas.graphql.security.POLICY`. Only an API key
obtains a bearer token at ``POST /auth/token``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.requests import HTTPConnection
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qualitas import __version__
from qualitas.audit import open_audit_log
from qualitas.auth import Authenticator, Principal
from qualitas.chat._app import install_chat
from qualitas.edge_adapters.alerts import AlertHub
from qualitas.errors import AuthenticationError, InputError, PermissionDeniedError
from qualitas.graphql._answers import AnswerCache, AnsweringRouter
from qualitas.graphql._readers import Checkpoints, ReaderPool
from qualitas.graphql.audit import AuditExtension
from qualitas.graphql.ingest import LoadJobs
from qualitas.graphql.packs import add_download_route
from qualitas.graphql.schema import build_schema
from qualitas.graphql.security import READERS, RefusalRecorder, ResolverPool, extensions_for
from qualitas.settings import Settings
from qualitas.store import GraphStore, open_store

STATIC_DIR = Path(__file__).with_name("static")

#: Headers of the explorer page: scripts, styles and fetches from this origin only, so a
#: string that slipped into the page as markup could still not run or load anything.
EXPLORER_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(send)
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = (
            b'{"errors":[{"message":"request body over the limit of %d bytes","extensions":{"code":"LIMIT_EXCEEDED"}}]}'
            % self.max_bytes
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class JsonRequestCheck:
    """Answers 400 with one line naming the place for a GraphQL request whose JSON
    cannot be read: not UTF-8, malformed, nested too deep for Python's parser, a number
    too long to read, a string holding a control character or a lone surrogate (which
    cannot be stored or sent as UTF-8), or a body that is not an object. Without it
    such a body reached the GraphQL view and came back as a 500 with a traceback.
    A WebSocket message with the same faults closes the socket with code 4400 (the
    graphql-transport-ws code for an invalid message) and the one line as reason.

    Sits inside :class:`BodyLimit`, so the body it buffers is bounded.
    """

    _PARAMS = ("variables", "extensions")

    def __init__(self, app: ASGIApp, *, path: str = "/graphql") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"].startswith(self.path):
            await self.app(scope, self._checked_messages(receive, send), send)
            return
        if scope["type"] != "http" or not scope["path"].startswith(self.path):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "GET":
            problem = self._query_problem(scope.get("query_string", b""))
            if problem:
                await _bad_request(send, problem)
                return
            await self.app(scope, receive, send)
            return
        content_type = dict(scope.get("headers", ())).get(b"content-type", b"")
        if b"json" not in content_type.lower():
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        problem = _json_problem(body, "request body", top_object=True)
        if problem:
            await _bad_request(send, problem)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _checked_messages(receive: Receive, send: Send) -> Receive:
        async def checked() -> Message:
            while True:
                message = await receive()
                if message["type"] != "websocket.receive":
                    return message
                text = message.get("text")
                data = text.encode("utf-8", "surrogatepass") if text is not None else message.get("bytes") or b""
                problem = _json_problem(data, "message", top_object=True)
                if not problem:
                    return message
                op = _subscribe_id(data)
                if op is not None:
                    # A readable subscribe message with a bad value (a control character in a
                    # variable): that operation is refused, the connection lives on.
                    error = {"id": op, "type": "error",
                             "payload": [{"message": problem, "extensions": {"code": "BAD_INPUT"}}]}
                    await send({"type": "websocket.send", "text": json.dumps(error)})
                    continue
                reason = problem.encode()[:120].decode("utf-8", "ignore")
                await send({"type": "websocket.close", "code": 4400, "reason": reason})
                return {"type": "websocket.disconnect", "code": 4400}

        return checked

    def _query_problem(self, query_string: bytes) -> str | None:
        from urllib.parse import parse_qsl

        for name, value in parse_qsl(query_string.decode("latin-1")):
            if name in self._PARAMS and value:
                problem = _json_problem(value.encode("latin-1"), f"query parameter {name!r}", top_object=False)
                if problem:
                    return problem
        return None


def _subscribe_id(data: bytes) -> str | None:
    """The id of a graphql-transport-ws ``subscribe`` message Python's parser can read
    (its values may still be refused), else None."""
    try:
        message = json.loads(data.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        return None
    if isinstance(message, dict) and message.get("type") == "subscribe" and isinstance(message.get("id"), str):
        return message["id"]
    return None


def _json_problem(data: bytes, label: str, *, top_object: bool) -> str | None:
    """Why ``data`` is not JSON we can read (one line naming the place), or None."""
    from qualitas.ingest._bounds import load_json

    if not data.strip():
        return None  # the GraphQL view answers an empty body itself
    try:
        document = load_json(data, file=label)
    except InputError as exc:
        return exc.message
    if top_object and not isinstance(document, dict):
        return f"{label}: expected a JSON object with 'query' (and 'variables'), got {type(document).__name__}"
    return None


async def _bad_request(send: Send, message: str) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": "BAD_INPUT"}}]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def client_of(connection: HTTPConnection) -> str:
    """The peer's address, as the refusal rate limit and the audit trail name the client."""
    return connection.client.host if connection.client is not None else "unknown"


def _key_id(authorization: str | None) -> str | None:
    """The key id a credential claims (``qk_<id>_...``), never the secret part."""
    credential = (authorization or "").strip().partition(" ")[2].strip()
    if credential.startswith("qk_") and credential.count("_") >= 2:
        key_id = credential.split("_")[1]
        return key_id if len(key_id) == 12 and all(c in "0123456789abcdef" for c in key_id) else None
    return None


def refuse_401(connection: HTTPConnection, exc: AuthenticationError) -> HTTPException:
    """A 401 for ``exc``, recorded in the audit trail (rate-limited per client)."""
    recorder: RefusalRecorder = connection.app.state.refusals
    authorization = connection.headers.get("authorization")
    recorder.record(
        client_of(connection),
        "auth.refused",
        what={
            "status": 401,
            "method": connection.scope.get("method", "WEBSOCKET"),
            "path": connection.url.path,
            "reason": exc.message,
            "keyId": _key_id(authorization),
            "scheme": (authorization or "").strip().partition(" ")[0][:20] or None,
        },
    )
    return HTTPException(401, exc.message, headers={"WWW-Authenticate": "Bearer"})


def _caller(connection: HTTPConnection) -> Principal:
    """The request's principal from its Authorization header; a bad credential is a 401."""
    authenticator: Authenticator = connection.app.state.authenticator
    try:
        return authenticator.from_header(connection.headers.get("authorization"))
    except AuthenticationError as exc:
        raise refuse_401(connection, exc) from exc


Caller = Annotated[Principal, Depends(_caller)]


def create_app(settings: Settings, *, store: GraphStore | None = None, readers: int = 0) -> FastAPI:
    """Build the app. The store is opened at startup (not at import) and closed at
    shutdown, unless the caller passes one it owns. With ``readers`` > 0, that many
    reader processes answer the reads the answer cache does not hold, each on a
    checkpoint of the store (:mod:`qualitas.graphql._readers`); this process stays the
    only writer."""
    state: dict[str, Any] = {}
    alerts = AlertHub()  # live edge alarms for the `alerts` subscription; edge runners in this process publish here
    authenticator = Authenticator(settings)
    audit = open_audit_log(settings)  # every mutation, load, pack and signature appends a hash-chained record
    jobs = LoadJobs()  # loads started through GraphQL (loadFiles), one at a time, followed by ingestProgress
    refusals = RefusalRecorder(audit, per_minute=settings.audit_refusals_per_minute)
    workers = ResolverPool(threads=settings.resolver_threads)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        owned = store is None
        state["store"] = store if store is not None else open_store(settings.store, settings=settings)
        pool: ReaderPool | None = None
        checkpoints: Checkpoints | None = None
        try:
            if readers > 0:
                current = state["store"]
                checkpoints = Checkpoints(
                    current,
                    Path(f"{getattr(current, 'path', '')}.snapshots"),
                    grace_s=settings.request_timeout_s + 30,  # longer than any read may run
                )
                pool = ReaderPool(settings, checkpoints, workers=readers)
                await pool.start()
                router.readers = app.state.readers = pool
            yield
        finally:
            router.readers = app.state.readers = None
            if pool is not None:
                await pool.aclose()
            if checkpoints is not None:
                checkpoints.close()
            await jobs.aclose()  # fails queued loads, waits for the running one: never close mid-batch
            workers.close()  # waits for resolvers still running past their deadline
            if owned:
                state["store"].close()
            authenticator.close()

    async def context(principal: Caller, connection: HTTPConnection) -> dict[str, Any]:
        return {
            "client": client_of(connection),
            "refusals": refusals,
            "workers": workers,
            "store": state["store"],
            "settings": settings,
            "alerts": alerts,
            "principal": principal,
            "authenticator": authenticator,
            "jobs": jobs,
            "audit": audit,
        }

    def reader(principal: Caller) -> Principal:
        """Routes outside GraphQL that read business data (pack downloads)."""
        if principal.role in READERS or (principal.is_anonymous and settings.allow_anonymous_reads):
            return principal
        if principal.is_anonymous:
            raise HTTPException(
                401, "send 'Authorization: Bearer <API key or token>'", headers={"WWW-Authenticate": "Bearer"}
            )
        raise HTTPException(403, PermissionDeniedError(f"role {principal.role!r} may not download packs").message)

    app = FastAPI(title="Qualitas", version=__version__, lifespan=lifespan)
    app.state.alerts = alerts
    app.state.authenticator = authenticator
    app.state.jobs = jobs
    app.state.audit = audit
    app.state.refusals = refusals
    app.state.readers = None
    graphql_ide = "graphiql" if settings.introspection_enabled else None
    answers = AnswerCache(max_entries=settings.answer_cache_entries) if settings.answer_cache_entries else None
    router = AnsweringRouter(  # GraphiQL from the package (static/vendor/), no CDN; read answers cached per snapshot
        build_schema(extensions=[*extensions_for(settings), AuditExtension]),
        context_getter=context,
        graphql_ide=graphql_ide,
        cache=answers,
    )
    app.state.answers = answers
    app.include_router(router, prefix="/graphql")

    add_download_route(app, settings, dependencies=[Depends(reader)])  # GET /packs/{packId}.zip
    # POST /chat/{dingtalk,slack,feishu} and alarms out to chat robots, when QUALITAS_CHAT_CONFIG is set
    install_chat(app, settings, store=lambda: state["store"], audit=audit, refusals=refusals, alerts=alerts)

    @app.post("/auth/token")
    def token(principal: Caller, connection: HTTPConnection) -> JSONResponse:
        """A short-lived bearer token for the API key in the Authorization header. A bearer
        token is refused: a token cannot renew itself, so it ends when it expires."""
        try:
            value, ttl = authenticator.token_for(principal)
        except AuthenticationError as exc:
            raise refuse_401(connection, exc) from exc
        return JSONResponse(
            {"access_token": value, "token_type": "Bearer", "expires_in": ttl}, headers={"Cache-Control": "no-store"}
        )

    # The trace explorer: a static page (plain JS, no CDN) that calls /graphql with the
    # user's API key. The page and its assets are public; the data behind them is not.
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def root() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=EXPLORER_HEADERS)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness, unauthenticated, so O(1): the store's counters, kept at each commit,
        never a count over the data."""
        current = state["store"]
        answer: dict[str, Any] = {
            "status": "ok",
            "version": __version__,
            "triples": current.triple_count(),
            "batches": current.batch_count(),
        }
        pool: ReaderPool | None = app.state.readers
        if pool is not None:
            answer["readers"] = pool.status()
        return answer

    app.add_middleware(JsonRequestCheck)  # inside BodyLimit: the body it reads is bounded
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
