"""Choosing a backend by the store's location, and the login of a remote store: where it
comes from (URL, environment, settings file), that it is never shown, and basic login
through a real proxy in front of a real Oxigraph server."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from qualitas.errors import ConfigError, StoreError
from qualitas.settings import Settings
from qualitas.store import backend_for, connection_from_settings, open_store, redact
from tests.store._servers import OxigraphServer

SECRET = "hunter2-very-secret"


@pytest.mark.parametrize(
    ("location", "backend"),
    [
        (None, "oxigraph"),
        (Path("/var/lib/qualitas/store"), "oxigraph"),
        ("relative/store", "oxigraph"),
        ("http://127.0.0.1:7878", "sparql"),
        ("https://graphdb.example.com/repositories/q", "sparql"),
        ("bolt://127.0.0.1:7687", "bolt"),
        ("neo4j://db:7687", "bolt"),
        ("neo4j+s://xxxx.databases.neo4j.io", "bolt"),
        ("bolt+s://db:7687", "bolt"),
    ],
)
def test_the_backend_follows_the_location(location: object, backend: str) -> None:
    assert backend_for(location) == backend


def test_an_unknown_scheme_is_refused_without_showing_the_login() -> None:
    with pytest.raises(ConfigError) as info:
        backend_for(f"ftp://admin:{SECRET}@files.example.com/store")
    assert "ftp" in str(info.value) and SECRET not in str(info.value)


def test_a_login_in_the_url_moves_out_of_the_store_location() -> None:
    settings = Settings(store=f"http://dba:{SECRET.replace('-', '%2D')}@127.0.0.1:8890/sparql")
    assert settings.store == "http://127.0.0.1:8890/sparql"
    assert settings.store_user == "dba"
    assert settings.store_password is not None and settings.store_password.get_secret_value() == SECRET
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())
    connection = connection_from_settings(settings.store, settings)  # type: ignore[arg-type]
    assert connection.password == SECRET and SECRET not in repr(connection)
    assert redact(f"https://u:{SECRET}@[::1]:8443/x?y=1") == "https://[::1]:8443/x?y=1"


def test_a_directory_stays_a_path_and_a_url_stays_as_typed() -> None:
    assert Settings(store="some/dir").store == Path("some/dir")
    # A Path would fold the double slash (http:/host): URLs are kept as strings.
    assert Settings(store="http://127.0.0.1:7878").store == "http://127.0.0.1:7878"
    assert Settings(store="http://127.0.0.1:7878").state_dir == Path(".qualitas").resolve()


def test_the_settings_file_holds_the_login_only_when_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "qualitas.toml"
    file.write_text(f'store = "http://127.0.0.1:7878"\nstore_user = "svc"\nstore_password = "{SECRET}"\n')
    file.chmod(0o644)
    monkeypatch.setenv("QUALITAS_SETTINGS_FILE", str(file))
    with pytest.raises(ConfigError, match="chmod 600") as info:
        Settings()
    assert SECRET not in str(info.value)
    file.chmod(0o600)
    settings = Settings()
    assert (settings.store, settings.store_user) == ("http://127.0.0.1:7878", "svc")
    assert settings.store_password is not None and settings.store_password.get_secret_value() == SECRET
    monkeypatch.setenv("QUALITAS_STORE_USER", "from-env")  # the environment wins over the file
    assert Settings().store_user == "from-env"
    monkeypatch.setenv("QUALITAS_SETTINGS_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="names no file"):
        Settings()


class _BasicProxy(BaseHTTPRequestHandler):
    """A reverse proxy that wants HTTP basic login, in front of the Oxigraph server."""

    upstream = ""
    expected = "Basic " + base64.b64encode(f"svc:{SECRET}".encode()).decode()

    def _forward(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="sparql"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
        response = httpx.request(self.command, self.upstream + self.path, content=body, headers=headers, timeout=60)
        self.send_response(response.status_code)
        for name in ("content-type", "server"):
            if name in response.headers:
                self.send_header(name, response.headers[name])
        self.send_header("Content-Length", str(len(response.content)))
        self.end_headers()
        self.wfile.write(response.content)

    do_GET = do_POST = do_PUT = _forward

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy(oxigraph_server: OxigraphServer) -> Iterator[str]:
    oxigraph_server.wipe()
    handler = type("Proxy", (_BasicProxy,), {"upstream": oxigraph_server.url})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_basic_login_through_a_proxy_and_a_refused_one(proxy: str, tmp_path: Path) -> None:
    data = tmp_path / "a.ttl"
    data.write_text("<http://example.com/a> <http://example.com/p> 1 .\n", encoding="utf-8")
    good = Settings(store=proxy, store_user="svc", store_password=SECRET)
    with open_store(proxy, settings=good) as store:
        store.load_file(data, agent="t")
        assert store.ask("ASK { <http://example.com/a> <http://example.com/p> 1 }")
    bad = Settings(store=proxy, store_user="svc", store_password="wrong-" + SECRET)
    with pytest.raises(StoreError) as info:
        open_store(proxy, settings=bad)
    assert "refused the login" in str(info.value) and SECRET not in str(info.value)
    with pytest.raises(StoreError, match=r"none is set"):
        open_store(proxy, settings=Settings(store=proxy))
