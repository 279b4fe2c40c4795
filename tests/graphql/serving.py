"""Helpers for the API tests: a demo store, users with API keys, the app under a real uvicorn server."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

from qualitas.auth import ROLES, AuthStore
from qualitas.graphql.app import create_app
from qualitas.settings import Settings
from qualitas.store import GraphStore

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_demo_store(path: Path) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(path), "demo", "load"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    return path


def issue_keys(settings: Settings, roles: tuple[str, ...] = ROLES) -> dict[str, str]:
    """One user per role (named after it) and an API key each: role -> key."""
    users = AuthStore(settings.auth_db_path)
    try:
        known = {u.name for u in users.users()}
        keys: dict[str, str] = {}
        for role in roles:
            name = f"{role}-user"
            if name not in known:  # the supplier role speaks for one supplier of the demo data
                users.add_user(name, role, supplier="SUP-NPP" if role == "supplier" else None)
            keys[role] = users.create_key(name, label="tests").secret
        return keys
    finally:
        users.close()


@contextmanager
def serve_app(app: ASGIApp) -> Iterator[str]:
    """An ASGI app under uvicorn on 127.0.0.1 at a free port, in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        assert thread.is_alive(), "server thread died"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve(settings: Settings, *, store: GraphStore | None = None) -> Iterator[str]:
    """``create_app(settings)`` under uvicorn (see :func:`serve_app`). Pass a ``store``
    (e.g. read-only) when another server in the test holds the store open."""
    with serve_app(create_app(settings, store=store)) as base:
        yield base


def gql(base: str, query: str, *, key: str | None = None, **variables: object) -> dict:  # type: ignore[type-arg]
    """POST a GraphQL request (as the key's user) and return the JSON body; HTTP 200 expected."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
