"""Choosing a backend by the store's location, and the login of a remote store: where it
comes from (URL, environment, settings file), that it is never shown, and basic login
and TLS through a real proxy in front of a real Oxigraph server."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import ssl
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


@contextlib.contextmanager
def _proxy(upstream: str, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    handler = type("Proxy", (_BasicProxy,), {"upstream": upstream})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy(oxigraph_server: OxigraphServer) -> Iterator[str]:
    oxigraph_server.wipe()
    with _proxy(oxigraph_server.url) as url:
        yield url


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


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, signed by its own key (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "qualitas test store")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def test_https_checks_the_certificate_against_the_ca_file(oxigraph_server: OxigraphServer, tmp_path: Path) -> None:
    oxigraph_server.wipe()
    cert, key = _self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with _proxy(oxigraph_server.url, tls) as url:
        login = {"store_user": "svc", "store_password": SECRET, "store_retries": 1}
        with pytest.raises(StoreError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed") as info:
            open_store(url, settings=Settings(store=url, **login))
        assert SECRET not in str(info.value) and len(str(info.value).splitlines()) == 1
        with open_store(url, settings=Settings(store=url, store_ca_file=cert, **login)) as store:
            assert store.triple_count() == 0 and store.ask("ASK {}")


def test_oxigraph_server_serves_a_store_the_embedded_backend_wrote(tmp_path: Path) -> None:
    """``oxigraph serve --location`` on an embedded store's directory: the same layout, so
    the remote backend reads its data, batches and counters, and writes on."""
    from qualitas.reasoning.trace import reverse_trace
    from tests.conftest import load_demo
    from tests.store._servers import free_port

    embedded = open_store(tmp_path / "data")
    load_demo(embedded)
    triples, batches = embedded.triple_count(), embedded.batch_count()
    expected = reverse_trace(embedded, "CMP-2025-0057")
    embedded.close()
    server = OxigraphServer(tmp_path, port=free_port())
    server.start()
    try:
        with open_store(server.url, settings=Settings(store=server.url)) as remote:
            assert (remote.triple_count(), remote.batch_count()) == (triples, batches)
            assert reverse_trace(remote, "CMP-2025-0057") == expected
            start = remote.generation()
            remote.load_file(_write(tmp_path / "a.ttl"), agent="t")
            assert remote.triple_count() == triples + 1 and remote.generation() == start + 2
    finally:
        server.stop()


def _write(path: Path) -> Path:
    path.write_text("<http://example.com/a> <http://example.com/p> 1 .\n", encoding="utf-8")
    return path
