"""Bounded inputs over HTTP (issue 14, items 4 and 6), against real uvicorn servers.

* Request bodies the GraphQL view cannot read (``"x"``, 50,000-deep JSON, a 5,000-digit
  number, a lone surrogate in a variable) get HTTP 400 with one line naming the place,
  not a 500, and the server goes on answering; such a WebSocket message closes the
  socket with 4400 and that line, not a traceback.
* A billion-laughs RDF/XML file sent through ``loadFiles`` fails its job with the
  parser's one line while the server's memory stays flat. That server is ``qualitas
  serve`` in a subprocess (under an address-space limit, so a regression fails the test
  instead of exhausting the machine), and its peak resident memory (VmHWM) is read from
  ``/proc`` before and after.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from qualitas.settings import Settings
from tests.graphql.serving import REPO, free_port, issue_keys

#: The subprocess server's address-space limit; the old code needed about 1 GB more
#: than the idle server for the 8-level bomb below.
SERVER_MEMORY_LIMIT = 2 << 30


def billion_laughs(path: Path, *, levels: int) -> Path:
    """RDF/XML with the classic entity bomb: 10**(levels-1) copies of a 30-character entity."""
    entities = ['<!ENTITY lol0 "lollollollollollollollollollol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, levels)
    ]
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n' + "\n".join(entities) + "\n]>\n"
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/">\n'
        f'  <rdf:Description rdf:about="http://example.org/a"><ex:p>&lol{levels - 1};</ex:p></rdf:Description>\n'
        "</rdf:RDF>\n"
    )
    return path


def _post(base: str, body: bytes, key: str) -> httpx.Response:
    headers = {"content-type": "application/json", "Authorization": f"Bearer {key}"}
    return httpx.post(f"{base}/graphql", content=body, headers=headers, timeout=60)


def _refused(response: httpx.Response, *fragments: str) -> str:
    assert response.status_code == 400, (response.status_code, response.text[:500])
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_INPUT"
    message = str(error["message"])
    assert "\n" not in message
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (b'"x"', ("request body", "expected a JSON object")),
        (b'{"query": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", ("request body:1", "nested deeper")),
        (
            b'{"query": "query ($a: Int) { __typename }", "variables": {"a": ' + b"9" * 5000 + b"}}",
            ("request body:1", "5000 digits"),
        ),
        (
            b'{"query": "query ($id: String!) { product(id: $id) { id } }", "variables": {"id": "P-\\ud800"}}',
            ("request body", "variables.id", "lone UTF-16 surrogate (U+D800)"),
        ),
        (b"\xff\xfe{", ("request body", "not UTF-8")),
    ],
    ids=["string", "deep", "long-number", "lone-surrogate", "not-utf8"],
)
def test_unreadable_request_body_is_a_400_with_one_line(
    api_server: str, api_keys: dict[str, str], body: bytes, fragments: tuple[str, ...]
) -> None:
    _refused(_post(api_server, body, api_keys["auditor"]), *fragments)
    again = _post(api_server, json.dumps({"query": "{ __typename }"}).encode(), api_keys["auditor"])
    assert again.status_code == 200
    assert again.json() == {"data": {"__typename": "Query"}}


def test_unreadable_variables_in_a_get_request_are_a_400(api_server: str, api_keys: dict[str, str]) -> None:
    response = httpx.get(
        f"{api_server}/graphql",
        params={"query": "{ __typename }", "variables": "[" * 2000 + "]" * 2000},
        headers={"Authorization": f"Bearer {api_keys['auditor']}"},
        timeout=60,
    )
    _refused(response, "query parameter 'variables'", "nested deeper")


# ---------------------------------------------------------------- loadFiles and a billion laughs


def _vm(pid: int, field: str) -> int:
    """A /proc/PID/status memory field (VmHWM: peak resident, VmRSS: now), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    raise AssertionError(f"no {field} for {pid}")


@pytest.fixture
def served_subprocess(tmp_path: Path) -> Iterator[tuple[str, int, str, Path]]:
    """``qualitas serve`` on a fresh store with a drop folder: (base URL, pid, an
    engineer's API key, the drop folder)."""
    store = tmp_path / "store"
    drop = tmp_path / "drop"
    drop.mkdir()
    init = subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(store), "init"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert init.returncode == 0, init.stderr
    key = issue_keys(Settings(store=store), roles=("engineer",))["engineer"]
    port = free_port()

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (SERVER_MEMORY_LIMIT, SERVER_MEMORY_LIMIT))

    env = {**os.environ, "QUALITAS_INGEST_DIR": str(drop), "QUALITAS_ENVIRONMENT": "development"}
    server = subprocess.Popen(
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
        stderr=subprocess.PIPE,
        preexec_fn=limit,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else "server exited"
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        yield base, server.pid, key, drop
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr:
            server.stderr.close()


LOAD = 'mutation ($files: [String!]!) { loadFiles(files: $files, reason: "supplier data") { id state } }'
JOB = "query ($id: String!) { loadJob(id: $id) { state error files { file phase message } } }"


def test_load_files_refuses_a_billion_laughs_with_flat_server_memory(
    served_subprocess: tuple[str, int, str, Path],
) -> None:
    base, pid, key, drop = served_subprocess
    billion_laughs(drop / "laughs.rdf", levels=8)  # 300 million characters once expanded
    triples_before = httpx.get(f"{base}/healthz", timeout=30).json()["triples"]
    peak_before = _vm(pid, "VmHWM")

    started = _post(base, json.dumps({"query": LOAD, "variables": {"files": ["laughs.rdf"]}}).encode(), key)
    assert started.status_code == 200, started.text
    job_id = started.json()["data"]["loadFiles"]["id"]
    deadline = time.monotonic() + 120
    while True:
        body = _post(base, json.dumps({"query": JOB, "variables": {"id": job_id}}).encode(), key).json()
        job = body["data"]["loadJob"]
        if job["state"] in ("SUCCEEDED", "FAILED"):
            break
        assert time.monotonic() < deadline, job
        time.sleep(0.2)

    peak_after = _vm(pid, "VmHWM")
    assert job["state"] == "FAILED", job
    assert "laughs.rdf:3" in job["error"]
    assert "declares the entity 'lol0'" in job["error"]
    assert "\n" not in job["error"]
    assert httpx.get(f"{base}/healthz", timeout=30).json()["triples"] == triples_before
    assert peak_after - peak_before < 250, f"server peak memory {peak_before} -> {peak_after} MiB"


@pytest.mark.parametrize(
    ("message", "fragment"),
    [("[" * 50_000 + "]" * 50_000, "nested deeper"), ('"x"', "expected a JSON object")],
    ids=["deep", "string"],
)
async def test_unreadable_websocket_message_closes_with_4400_and_one_line(
    api_server: str, api_keys: dict[str, str], message: str, fragment: str
) -> None:
    url = api_server.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {api_keys['auditor']}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(message)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400
    assert fragment in closed.value.rcvd.reason


def test_bearer_token_with_deep_json_is_a_401_not_a_500(api_server: str) -> None:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    token = b64(b"[" * 3000 + b"]" * 3000) + "." + b64(b"{}") + ".AAAA"
    response = httpx.post(
        f"{api_server}/graphql",
        json={"query": "{ __typename }"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 401, response.text[:300]
    assert "malformed bearer token" in response.text
