"""Who may do what, against the real server under uvicorn: each role x each mutation and
sensitive query, anonymous callers, bad and revoked credentials, tokens, WebSocket auth."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from qualitas.auth import ROLES, AuthStore
from qualitas.graphql.schema import build_schema
from qualitas.graphql.security import POLICY
from qualitas.settings import Settings
from qualitas.store import open_store
from tests.graphql.serving import gql, serve

ROLES_AND_ANON = (*ROLES, "anonymous")
ALL = frozenset(ROLES_AND_ANON)
READ = frozenset({"compliance", "engineer", "auditor", "admin"})

# What each role may do, written out by hand (not derived from POLICY), so a change of
# policy must change this table too. Each call is cheap: an allowed role gets past the
# check and fails later (unknown product, pack, key ...) or succeeds harmlessly.
MATRIX: dict[str, tuple[str, frozenset[str]]] = {
    # mutations
    "generatePack": (
        'mutation { generatePack(productId: "NO-SUCH-MODEL", market: "EU") { packId } }',
        frozenset({"compliance", "admin"}),
    ),
    "signPack": (
        'mutation { signPack(packId: "no-such-pack", meaning: APPROVAL, reason: "matrix") { meaning } }',
        frozenset({"compliance", "admin"}),
    ),
    # no drop folder is configured on this server: allowed roles get past the check, then CONFIG-refused
    "loadFiles": ('mutation { loadFiles(files: ["none.csv"]) { id } }', frozenset({"compliance", "engineer", "admin"})),
    "recordObservations": (
        'mutation { recordObservations(observations: [{equipment: "NO-SUCH-EQ", parameter: "p", value: 1.0, '
        'time: "2026-01-01T00:00:00Z"}]) { count } }',
        frozenset({"edge", "engineer", "admin"}),
    ),
    "createUser": ('mutation { createUser(name: "bad name!", role: "auditor") { name } }', frozenset({"admin"})),
    "createApiKey": ('mutation { createApiKey(user: "no-such-user") { keyId } }', frozenset({"admin"})),
    "revokeApiKey": ('mutation { revokeApiKey(keyId: "000000000000") { keyId } }', frozenset({"admin"})),
    # quality workbench: allowed roles get past the check, then the input is refused (nothing written)
    "createFmea": (
        'mutation { createFmea(answers: {fmea: {id: "M", title: "m"}, step: "NO-SUCH-STEP", failure_types: []}) '
        "{ id } }",
        frozenset({"engineer", "admin"}),
    ),
    "importFmeaWorksheet": ('mutation { importFmeaWorksheet(csv: "") { id } }', frozenset({"engineer", "admin"})),
    "openCapa": (
        'mutation { openCapa(complaintId: "NO-SUCH-COMPLAINT") { id } }',
        frozenset({"engineer", "compliance", "admin"}),
    ),
    "recordCapaStep": (
        'mutation { recordCapaStep(id: "NO-SUCH-CAPA", step: "D0", text: "x") { id } }',
        frozenset({"engineer", "compliance", "admin"}),
    ),
    "verifyCapaStep": (
        'mutation { verifyCapaStep(id: "NO-SUCH-CAPA", step: "D0") { id } }',
        frozenset({"engineer", "compliance", "admin"}),
    ),
    "closeCapa": ('mutation { closeCapa(id: "NO-SUCH-CAPA") { id } }', frozenset({"engineer", "compliance", "admin"})),
    # sensitive queries
    "users": ("{ users { name role } }", frozenset({"admin"})),
    "apiKeys": ("{ apiKeys { keyId user } }", frozenset({"admin"})),
    "auditTrail": ("{ auditTrail(first: 5) { records { seq actor action } } }", frozenset({"auditor", "admin"})),
    "auditVerification": ("{ auditVerification { ok records } }", frozenset({"auditor", "admin"})),
    "packSignatures": (
        '{ packSignatures(packId: "no-such-pack") { meaning } }',
        frozenset({"compliance", "auditor", "admin"}),
    ),
    "loadJobs": ("{ loadJobs { id } }", READ),
    "parts": ("{ parts(first: 2) { edges { node { partNumber } } } }", READ),
    # business reads: every reader, never the edge role, anonymous only where configured
    "trace": ('{ trace(complaintId: "CMP-2025-0057") { findings { kind } } }', READ),
    "products": ("{ products { modelNumber } }", READ),
    "regulations": ("{ regulations { id } }", READ),
    "whoami": ("{ whoami { name role anonymous } }", ALL),
    # a supplier's key: its own portal, and nothing else above (issue 19, item 5)
    "supplierPortal": ("{ supplierPortal { supplierId figures { ppm } } }", frozenset({"supplier"})),
}


def _codes(body: dict[str, Any]) -> set[str]:
    return {e.get("extensions", {}).get("code", "NO_CODE") for e in body.get("errors") or []}


@pytest.mark.parametrize("field", sorted(MATRIX))
def test_authorization_matrix(api_server: str, api_keys: dict[str, str], field: str) -> None:
    document, allowed = MATRIX[field]
    for role in ROLES_AND_ANON:
        body = gql(api_server, document, key=api_keys.get(role))
        denied = _codes(body) & {"FORBIDDEN", "UNAUTHENTICATED"}
        if role in allowed:
            assert not denied, f"{role} should be allowed {field}: {body}"
        else:
            assert denied, f"{role} must not be allowed {field}: {body}"
            expected = "UNAUTHENTICATED" if role == "anonymous" else "FORBIDDEN"
            assert denied == {expected}, body
            assert (body.get("data") or {}).get(field) is None


def test_every_mutation_and_subscription_has_a_policy() -> None:
    """Default deny would refuse a new mutation to everyone; this names the one missing."""
    schema = build_schema()
    for root_name in ("Mutation", "Subscription"):
        root = schema.get_type_by_name(root_name)
        if root is None:
            continue
        for field in root.fields:  # type: ignore[union-attr]
            name = schema.config.name_converter.get_graphql_name(field)
            assert (root_name, name) in POLICY, f"{root_name}.{name} has no entry in security.POLICY"


def test_the_matrix_covers_every_mutation_and_sensitive_query() -> None:
    schema = build_schema()._schema
    mutations = set(schema.mutation_type.fields)  # type: ignore[union-attr]
    assert mutations <= set(MATRIX), f"add to MATRIX: {sorted(mutations - set(MATRIX))}"
    restricted = {field for (root, field), roles in POLICY.items() if root == "Query" and roles != READ}
    assert restricted - {"whoami"} <= set(MATRIX), f"add to MATRIX: {sorted(restricted - set(MATRIX))}"


def test_allowed_calls_really_run(api_server: str, api_keys: dict[str, str]) -> None:
    body = gql(api_server, MATRIX["trace"][0], key=api_keys["engineer"])
    assert body["data"]["trace"]["findings"] == [{"kind": "calibration_invalid"}]
    body = gql(api_server, "{ whoami { name role anonymous } }", key=api_keys["auditor"])
    assert body["data"]["whoami"] == {"name": "auditor-user", "role": "auditor", "anonymous": False}
    body = gql(api_server, MATRIX["createApiKey"][0], key=api_keys["admin"])
    assert _codes(body) == {"NOT_FOUND"}


def test_bad_credentials_are_401(api_server: str, api_keys: dict[str, str]) -> None:
    for header in (
        "Bearer qk_000000000000_" + "x" * 43,
        "Bearer not-a-key",
        "Basic dXNlcjpwYXNz",
        "Bearer " + api_keys["admin"][:-2] + "zz",
    ):
        response = httpx.post(
            f"{api_server}/graphql",
            json={"query": "{ whoami { name } }"},
            headers={"Authorization": header},
            timeout=10,
        )
        assert response.status_code == 401, (header, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_key_and_its_tokens_stop_at_once(api_server: str, api_settings: Settings) -> None:
    users = AuthStore(api_settings.auth_db_path)
    try:
        users.add_user("leaving", "engineer")
        issued = users.create_key("leaving")
    finally:
        users.close()
    token = httpx.post(f"{api_server}/auth/token", headers={"Authorization": f"Bearer {issued.secret}"}, timeout=10)
    assert token.status_code == 200, token.text
    bearer = token.json()["access_token"]
    assert token.json()["token_type"] == "Bearer"
    body = gql(api_server, "{ whoami { name role } }", key=bearer)
    assert body["data"]["whoami"] == {"name": "leaving", "role": "engineer"}

    # revoked from another process (the CLI), while the server runs
    done = subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(api_settings.store), "keys", "revoke", issued.key_id],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for credential in (issued.secret, bearer):
        response = httpx.post(
            f"{api_server}/graphql",
            json={"query": "{ whoami { name } }"},
            headers={"Authorization": f"Bearer {credential}"},
            timeout=10,
        )
        assert response.status_code == 401
        assert "revoked" in response.text


def test_tampered_token_is_refused(api_server: str, api_keys: dict[str, str]) -> None:
    token = httpx.post(
        f"{api_server}/auth/token", headers={"Authorization": f"Bearer {api_keys['auditor']}"}, timeout=10
    ).json()["access_token"]
    header, claims, signature = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(claims + "==="))
    forged["role"] = "admin"
    forged_claims = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    response = httpx.post(
        f"{api_server}/graphql",
        json={"query": "{ users { name } }"},
        headers={"Authorization": f"Bearer {header}.{forged_claims}.{signature}"},
        timeout=10,
    )
    assert response.status_code == 401
    assert "signature" in response.text


def test_pack_download_needs_a_reader(api_server: str, api_keys: dict[str, str]) -> None:
    url = f"{api_server}/packs/no-such-pack.zip"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {api_keys['edge']}"}, timeout=10).status_code == 403
    assert httpx.get(url, headers={"Authorization": f"Bearer {api_keys['auditor']}"}, timeout=10).status_code == 404


async def _subscribe(url: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "subscription { alerts { id } }"}})
        )
        try:
            return [json.loads(await asyncio.wait_for(ws.recv(), 1.0))]
        except TimeoutError:
            return []  # subscribed and waiting for alerts


async def test_websocket_subscriptions_need_a_role(api_server: str, api_keys: dict[str, str]) -> None:
    url = api_server.replace("http://", "ws://") + "/graphql"
    refused = await _subscribe(url, {})
    assert refused and refused[0]["type"] in {"error", "next"}, refused
    assert "UNAUTHENTICATED" in json.dumps(refused[0])
    edge = await _subscribe(url, {"Authorization": f"Bearer {api_keys['edge']}"})
    assert "FORBIDDEN" in json.dumps(edge[0]), edge
    assert await _subscribe(url, {"Authorization": f"Bearer {api_keys['engineer']}"}) == []


def test_anonymous_reads_only_where_configured(demo_store_dir: Path) -> None:
    settings = Settings(store=demo_store_dir, allow_anonymous_reads=True)
    with open_store(demo_store_dir, read_only=True) as store, serve(settings, store=store) as base:
        body = gql(base, MATRIX["products"][0])
        assert "errors" not in body and body["data"]["products"]
        body = gql(base, MATRIX["generatePack"][0])
        assert _codes(body) == {"UNAUTHENTICATED"}  # never anonymous writes
        assert _codes(gql(base, "{ users { name } }")) == {"UNAUTHENTICATED"}


def test_mutations_land_in_the_audit_trail_that_auditors_read(
    api_server: str, api_keys: dict[str, str], api_settings: Settings
) -> None:
    attempt = gql(
        api_server,
        'mutation { createApiKey(user: "engineer-user", label: "self") { keyId } }',
        key=api_keys["engineer"],
    )
    assert _codes(attempt) == {"FORBIDDEN"}
    created = gql(
        api_server,
        'mutation { createApiKey(user: "auditor-user", label: "audit e2e") { keyId secret } }',
        key=api_keys["admin"],
    )["data"]["createApiKey"]
    trail = gql(
        api_server,
        '{ auditTrail(first: 50, action: "graphql.mutation.createApiKey") '
        "{ records { seq actor role action what why before after prev hash } } }",
        key=api_keys["auditor"],
    )
    records = trail["data"]["auditTrail"]["records"]
    [mine] = [r for r in records if r["what"]["arguments"].get("label") == "audit e2e"]
    assert mine["what"]["ok"] is True
    assert (mine["actor"], mine["role"]) == ("admin-user", "admin")
    assert created["secret"] not in json.dumps(trail)  # the key itself is never written to the trail
    assert len(mine["hash"]) == 64 and len(mine["before"]) == 64
    # refused attempts (the matrix) are on the trail too, for the auditors, marked as failed
    refused = [r for r in records if r["actor"] == "engineer-user"]
    assert refused and all(r["what"]["ok"] is False and r["before"] == r["after"] for r in refused)

    done = subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(api_settings.store), "audit", "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit trail intact" in done.stdout
