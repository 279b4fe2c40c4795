"""GraphQL ``generatePack`` and the download route, through FastAPI's test client."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import zipfile
from pathlib import Path

import httpx
import uvicorn

from qualitas.graphql.app import create_app
from qualitas.settings import Settings
from qualitas.store import GraphStore
from tests.graphql.serving import issue_keys


def test_generate_pack_and_download(demo_store: GraphStore, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(store=tmp_path / "store", port=port)
    srv = uvicorn.Server(
        uvicorn.Config(create_app(settings, store=demo_store), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        key = issue_keys(settings, ("compliance",))["compliance"]
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=60, headers={"Authorization": f"Bearer {key}"}
        )
        _exercise(client, tmp_path)
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def _exercise(client: httpx.Client, tmp_path: Path) -> None:
    with client:
        res = client.post(
            "/graphql",
            json={
                "query": """mutation {
            generatePack(productId: "AG-125", market: "VN", date: "2026-03-01") {
              packId status openFindings downloadUrl files { path sha256 } manifest } }"""
            },
        )
        body = res.json()
        assert "errors" not in body, body
        pack = body["data"]["generatePack"]
        assert pack["status"] == "draft" and pack["openFindings"] == 1
        assert pack["manifest"]["market"] == "VN"
        zipped = client.get(pack["downloadUrl"])
        assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
            assert json.loads(zf.read("manifest.json"))["packId"] == pack["packId"]
        again = client.post("/graphql", json={"query": f'{{ pack(packId: "{pack["packId"]}") {{ status }} }}'})
        assert again.json()["data"]["pack"]["status"] == "draft"
        (tmp_path / "secret.zip").write_bytes(b"secret")
        for bad in (
            "/packs/..%2Fsecret.zip",
            "/packs/%2E%2E%2Fsecret.zip",
            "/packs/..%5Csecret.zip",
            "/packs/nope.zip",
            "/packs/../secret.zip",
        ):
            assert client.get(bad).status_code == 404, bad
        refused = client.post(
            "/graphql",
            json={
                "query": """mutation {
            generatePack(productId: "AG-125", market: "VN", final: true) { status } }"""
            },
        )
        assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
