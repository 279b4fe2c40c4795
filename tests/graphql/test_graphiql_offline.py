"""GraphiQL at ``/graphql`` works without internet (issue 14, item 18).

A real uvicorn server on loopback serves the app; Debian's ``chromium`` (installed by
``.ci/run``, never downloaded) opens GraphiQL with every request that is not for
127.0.0.1 aborted through route interception, and must render the editor and run a
query. Every request the page attempted is recorded, and none may leave the server.
The vendored files must be exactly those ``vendor.json`` lists (written by
``scripts/vendor_graphiql.sh`` from the npm registry).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect, sync_playwright

from qualitas.auth import AuthStore
from qualitas.graphql.app import create_app
from qualitas.graphql.graphiql import PAGE, VENDOR_DIR
from qualitas.settings import Settings
from qualitas.store import GraphStore
from tests.graphql.serving import serve_app
from tests.graphql.test_explorer_page import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "test-artifacts" / "graphiql-offline.png"


@dataclass(frozen=True)
class Server:
    base: str
    api_key: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_store: GraphStore) -> Iterator[Server]:
    settings = Settings(store=tmp_path_factory.mktemp("graphiql") / "store")
    users = AuthStore(settings.auth_db_path)
    try:
        users.add_user("graphiql", "engineer")
        key = users.create_key("graphiql", label="graphiql offline test").secret
    finally:
        users.close()
    with serve_app(create_app(settings, store=demo_store)) as base:
        yield Server(base=base, api_key=key)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium; playwright downloads no browser")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@dataclass
class Offline:
    """What the page tried: every request, the ones refused for leaving 127.0.0.1, and
    script errors or CSP refusals."""

    requests: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@pytest.fixture
def offline_page(browser: Browser) -> Iterator[tuple[Page, Offline]]:
    seen = Offline()
    context = browser.new_context(viewport={"width": 1440, "height": 900})

    def only_loopback(route: Route) -> None:
        url = route.request.url
        seen.requests.append(url)
        if url.startswith("data:") or urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            seen.external.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.on("pageerror", lambda exc: seen.problems.append(f"page error: {exc}"))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            seen.problems.append(f"console {message.type}: {message.text}")

    page.on("console", console)
    yield page, seen
    context.close()


def test_graphiql_renders_and_runs_a_query_with_the_internet_blocked(
    server: Server, offline_page: tuple[Page, Offline]
) -> None:
    page, seen = offline_page
    headers = json.dumps({"Authorization": f"Bearer {server.api_key}"})
    page.goto(f"{server.base}/graphql?" + urlencode({"q": "{ whoami { name role } }", "headers": headers}))
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    expect(editor).to_be_visible(timeout=20_000)
    expect(editor).to_contain_text("whoami")
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".result-window")
    expect(result).to_contain_text('"role": "engineer"', timeout=20_000)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert seen.external == [], f"GraphiQL tried to reach outside the server: {seen.external}"
    assert any(url.endswith("/static/vendor/graphiql.min.js") for url in seen.requests), seen.requests
    assert seen.problems == []


def test_graphiql_page_names_only_its_own_assets(server: Server) -> None:
    response = httpx.get(f"{server.base}/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == PAGE.read_text(encoding="utf-8")
    assert "connect-src 'self'" in response.headers["content-security-policy"]
    assert "http://" not in response.text and "https://" not in response.text


def test_vendored_files_are_those_vendor_json_lists(server: Server) -> None:
    manifest = json.loads((VENDOR_DIR / "vendor.json").read_text(encoding="utf-8"))
    assert set(manifest["packages"]) == {"graphiql", "react", "react-dom"}
    assert {p.name for p in VENDOR_DIR.iterdir()} == {*manifest["files"], "vendor.json"}
    for name, entry in manifest["files"].items():
        local = (VENDOR_DIR / name).read_bytes()
        assert hashlib.sha256(local).hexdigest() == entry["sha256"], name
        served = httpx.get(f"{server.base}/static/vendor/{name}", timeout=10)
        assert served.status_code == 200 and served.content == local, name
    assert sum(p.stat().st_size for p in VENDOR_DIR.iterdir()) < 3_000_000  # production builds, not dev ones
