"""``qualitas load`` while ``qualitas serve`` holds the store (issue 14, item 21): the files
go to the running server through ``loadFiles``, authenticated with an API key, with
progress, and end up exactly as a local load would leave them (sources by absolute path,
the replace rule, exit codes, audit records). Without a key it says exactly what to do."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from qualitas.audit import AuditLog
from qualitas.errors import ERROR_TABLE, AuthenticationError, InputError, ParseError
from qualitas.ingest.remote import note_path

REPO = Path(__file__).resolve().parents[2]
SECRET = "server-load-tests-secret-0123456789"
BOM = "Level,Part,Qty\n0,SRV-ASSY,\n1,SRV-PART,3\n"


@dataclass(frozen=True)
class Server:
    store: Path
    ingest: Path
    url: str
    env: dict[str, str]

    def cli(self, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in self.env.items() if k != "QUALITAS_API_KEY"}
        if key is not None:
            env["QUALITAS_API_KEY"] = key
        return subprocess.run(
            [sys.executable, "-m", "qualitas.cli", "--store", str(self.store), *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
            env=env,
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("served")
    store, ingest = root / "store", root / "ingest"
    ingest.mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "QUALITAS_SECRET_KEY": SECRET,
        "QUALITAS_INGEST_DIR": str(ingest),
        "QUALITAS_AGENT": "os-user",
        "COLUMNS": "300",
    }
    served = Server(store, ingest, f"http://127.0.0.1:{port}", env)
    assert served.cli("init").returncode == 0
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qualitas.cli",
            "--store",
            str(store),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield served
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert not note_path(store).exists()  # the server withdrew its note


@pytest.fixture(scope="module")
def key(server: Server) -> str:
    issued = server.cli("demo", "key", "--user", "loader")
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.strip()


def _batches(server: Server) -> dict[str, dict[str, object]]:
    listed = server.cli("batches", "--json")
    assert listed.returncode == 0, listed.stderr
    return {b["source"]: b for b in json.loads(listed.stdout)}


def test_without_a_key_it_says_exactly_what_to_do(server: Server, tmp_path: Path) -> None:
    data = tmp_path / "bom.csv"
    data.write_text(BOM)
    refused = server.cli("load", str(data))
    assert refused.returncode == ERROR_TABLE[AuthenticationError].exit_code
    [line] = refused.stderr.strip().splitlines()
    assert f"held by the server at {server.url}" in line
    assert "export QUALITAS_API_KEY=$(qualitas keys create USER --label cli)" in line and "--api-key" in line
    assert str(data) not in _batches(server)


def test_files_go_to_the_running_server_as_a_local_load_would_load_them(
    server: Server, key: str, tmp_path: Path
) -> None:
    bom, ttl = tmp_path / "bom.csv", tmp_path / "extra.ttl"
    bom.write_text(BOM)
    ttl.write_text('<urn:x:srv> <urn:x:p> "1" .\n<urn:x:srv> <urn:x:p> "2" .\n')
    loaded = server.cli("load", str(bom), str(ttl), key=key)
    assert loaded.returncode == 0, loaded.stderr
    assert f"held by the server at {server.url}; handing it 2 file(s)" in loaded.stderr
    assert f"loading {bom.name}: 100%" in loaded.stderr and f"loading {ttl.name}: 100%" in loaded.stderr
    batches = _batches(server)
    assert f"{bom}: added ({batches[str(bom)]['triples']} triples)" in loaded.stdout
    assert f"{ttl}: added (2 triples)" in loaded.stdout
    assert batches[str(bom)]["agent"] == "loader"  # the key's user, as the server records it
    assert not any((server.ingest / ".qualitas-cli").iterdir())  # the staged copies are gone

    # the replace rule holds through the server too
    old = batches[str(ttl)]["triples"]
    ttl.write_text('<urn:x:srv> <urn:x:p> "3" .\n')
    refused = server.cli("load", str(ttl), key=key)
    assert refused.returncode == ERROR_TABLE[InputError].exit_code
    assert f"error: {ttl}: source '{ttl}' is already loaded with other content" in refused.stderr
    assert "--replace" in refused.stderr
    replaced = server.cli("load", str(ttl), "--replace", key=key)
    assert replaced.returncode == 0, replaced.stderr
    assert f"{ttl}: replaced ({old} triples -> 1 triples)" in replaced.stdout

    # a bad file: the local exit code, the message naming the file as the user gave it
    bad = tmp_path / "bad.ttl"
    bad.write_text('<urn:x:a> <urn:x:b> "c" .\n<urn:x:a> <urn:x:b> .\n')
    failed = server.cli("load", str(bad), key=key)
    assert failed.returncode == ERROR_TABLE[ParseError].exit_code, failed.stderr
    [line] = [x for x in failed.stderr.strip().splitlines() if x.startswith("error:")]
    assert line.startswith(f"error: {bad}:2") and ".qualitas-cli" not in line

    # recorded by the server under the key's user; the trail is intact
    trail = AuditLog(server.store.parent / "audit" / "audit.jsonl", secret=SECRET)
    sources = [(r.actor, r.what["files"][0]["source"]) for r in trail.records(action="load") if r.what.get("ok")]
    assert ("loader", str(bom)) in sources and sources.count(("loader", str(ttl))) == 2
    verified = server.cli("audit", "verify")
    assert verified.returncode == 0, verified.stderr


def test_options_the_server_cannot_take_are_refused(server: Server, key: str, tmp_path: Path) -> None:
    data = tmp_path / "bom.csv"
    data.write_text(BOM)
    refused = server.cli("load", str(data), "--sheet", "BOM", key=key)
    assert refused.returncode == ERROR_TABLE[InputError].exit_code
    assert "--sheet cannot be sent to it" in refused.stderr
