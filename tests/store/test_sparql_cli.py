"""`qualitas --store http://…` as a user runs it, against real SPARQL servers: the demo
loads, and a trace gives the embedded store's output byte for byte; a server that is
down or refuses the login gives one line and exit 74, and no password anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store._servers import OxigraphServer, VirtuosoServer, free_port

REPO = Path(__file__).resolve().parents[2]
COMPLAINT = "CMP-2025-0057"


def _cli(*args: str, store: str, env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QUALITAS_")}
    return subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", store, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=home,  # local files of a remote store (audit trail, secret) go to ./.qualitas
        env={**clean, "PYTHONPATH": str(REPO), "QUALITAS_STORE_RETRIES": "2", **env},
        timeout=300,
    )


@pytest.fixture(scope="module")
def embedded_trace(tmp_path_factory: pytest.TempPathFactory) -> str:
    home = tmp_path_factory.mktemp("embedded")
    store = str(home / "store")
    assert _cli("demo", "load", store=store, env={}, home=home).returncode == 0
    done = _cli("trace", "complaint", COMPLAINT, "--json", store=store, env={}, home=home)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("kind", ["oxigraph-server", "virtuoso"])
def test_demo_load_and_trace_match_the_embedded_store(
    kind: str, request: pytest.FixtureRequest, embedded_trace: str, tmp_path: Path
) -> None:
    server: OxigraphServer | VirtuosoServer = request.getfixturevalue(
        "oxigraph_server" if kind == "oxigraph-server" else "virtuoso_server"
    )
    server.wipe()
    ready = _cli("init", store=server.url, env=server.env, home=tmp_path)
    assert ready.returncode == 0, ready.stderr
    assert f"store ready at {server.url} (" in ready.stdout
    loaded = _cli("demo", "load", store=server.url, env=server.env, home=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert "added" in loaded.stdout
    again = _cli("demo", "load", "--json", store=server.url, env=server.env, home=tmp_path)
    assert '"status": "unchanged"' in again.stdout, again.stderr
    traced = _cli("trace", "complaint", COMPLAINT, "--json", store=server.url, env=server.env, home=tmp_path)
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout == embedded_trace
    assert "calibration_invalid" in traced.stdout
    secret = server.env.get("QUALITAS_STORE_PASSWORD")
    if secret:
        said = ready.stdout + ready.stderr + loaded.stdout + loaded.stderr + traced.stdout + traced.stderr
        assert secret not in said
        # A login given in the URL is used, and the location printed without it.
        url = server.url.replace("http://", f"http://dba:{secret}@")
        again = _cli("demo", "load", store=url, env={}, home=tmp_path)
        assert again.returncode == 0, again.stderr
        assert secret not in again.stdout + again.stderr and server.url in again.stdout


def test_a_server_that_is_down_gives_one_line_and_exit_74(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = _cli("init", store=url, env={"QUALITAS_STORE_PASSWORD": "hunter2-secret"}, home=tmp_path)
    assert done.returncode == 74
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: store {url}: ") and "cannot connect" in line
    assert "hunter2-secret" not in done.stdout + done.stderr


def test_a_refused_login_gives_one_line_and_exit_74(virtuoso_server: VirtuosoServer, tmp_path: Path) -> None:
    wrong = {"QUALITAS_STORE_USER": "dba", "QUALITAS_STORE_PASSWORD": "wrong-password-hunter2"}
    done = _cli("demo", "load", store=virtuoso_server.url, env=wrong, home=tmp_path)
    assert done.returncode == 74, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "refused the login" in line and "QUALITAS_STORE_PASSWORD" in line
    assert "wrong-password-hunter2" not in done.stdout + done.stderr
    # Credentials in the URL itself are never echoed either.
    url = virtuoso_server.url.replace("http://", "http://dba:wrong-password-hunter2@")
    done = _cli("demo", "load", store=url, env={}, home=tmp_path)
    assert done.returncode == 74
    assert "wrong-password-hunter2" not in done.stdout + done.stderr
    assert virtuoso_server.url in done.stderr
