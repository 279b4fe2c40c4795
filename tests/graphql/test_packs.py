"""GraphQL ``generatePack`` and the download route, through FastAPI's test client."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import httpx

from qualitas.settings import Settings
from qualitas.store import GraphStore
from tests.graphql.serving import issue_keys, serve


def test_generate_pack_and_download(demo_store: GraphStore, tmp_path: Path) -> None:
    settings = Settings(store=tmp_path / "store")
    key = issue_keys(settings, ("compliance",))["compliance"]
    with serve(settings, store=demo_store) as base:
        client = httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {key}"})
        _exercise(client, tmp_path)


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
