"""The server under attack (issue 14, items 9-13 and 15), against real uvicorn servers:
a per-installation secret instead of a public default, a trail that anonymous callers
cannot grow at will, 401s on the trail, tokens that cannot renew themselves, slow
resolvers that no longer stall other clients, and quiet, path-free errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from qualitas.audit import AuditLog, audit_log_path, canonical, record_hash
from qualitas.auth import AuthStore
from qualitas.settings import Settings
from qualitas.store import open_store
from tests.graphql.serving import REPO, free_port, gql, issue_keys, serve

PUBLIC_PLACEHOLDER = "changethis"


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("QUALITAS_")}


def _cli(store: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(store), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=env if env is not None else _clean_env(),
    )


def _codes(body: dict[str, Any]) -> set[str]:
    return {e.get("extensions", {}).get("code", "NO_CODE") for e in body.get("errors") or []}


def _trail(settings: Settings) -> list[dict[str, Any]]:
    path = audit_log_path(settings)
    return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


@contextmanager
def own_server(demo_store_dir: Path, trail_dir: Path, **options: Any) -> Iterator[tuple[str, Settings]]:
    """A server of its own over the module's demo store (read-only) with a trail of its
    own, so that one test's refusals do not use up another's rate."""
    settings = Settings(store=demo_store_dir, audit_log=trail_dir / "audit" / "audit.jsonl", **options)
    with open_store(demo_store_dir, read_only=True) as store, serve(settings, store=store) as base:
        yield base, settings


def _head_mac(secret: str, seq: int, digest: str) -> str:
    message = f"qualitas-audit-head/1\n{seq}\n{digest}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ 9: the secret


def test_each_installation_gets_its_own_private_secret(tmp_path: Path) -> None:
    """What `make run` does (demo load, demo key), in two installations: each makes its
    own random secret, mode 0600, and the trail is never anchored with the public one."""
    secrets_seen = []
    for name in ("plant-a", "plant-b"):
        store = tmp_path / name / "store"
        for step in (("demo", "load"), ("demo", "key")):
            done = _cli(store, *step)
            assert done.returncode == 0, done.stderr
        secret_file = tmp_path / name / "secret.key"
        assert secret_file.stat().st_mode & 0o777 == 0o600
        secret = secret_file.read_text().strip()
        assert len(secret) >= 32 and secret != PUBLIC_PLACEHOLDER
        secrets_seen.append(secret)

        head = json.loads((tmp_path / name / "audit" / "audit.head").read_text())
        assert head["mac"] == _head_mac(secret, head["seq"], head["hash"])
        assert head["mac"] != _head_mac(PUBLIC_PLACEHOLDER, head["seq"], head["hash"])
        verified = _cli(store, "audit", "verify")
        assert verified.returncode == 0 and "intact" in verified.stdout, verified.stdout + verified.stderr
    assert secrets_seen[0] != secrets_seen[1]


def test_a_trail_forged_with_the_public_placeholder_is_reported(tmp_path: Path) -> None:
    """The attack of the issue: rewrite a record, re-chain, re-anchor with 'changethis'."""
    store = tmp_path / "store"
    assert _cli(store, "demo", "load").returncode == 0
    log = tmp_path / "audit" / "audit.jsonl"
    records = [json.loads(line) for line in log.read_bytes().splitlines()]
    prev = "0" * 64
    for record in records:
        record["actor"] = "somebody-else"
        record["prev"] = prev
        record["hash"] = record_hash(record)
        prev = record["hash"]
    log.write_bytes(b"".join(canonical(r) + b"\n" for r in records))
    last = records[-1]
    head = {"format": "qualitas-audit-head/1", "seq": last["seq"], "hash": last["hash"]}
    head["mac"] = _head_mac(PUBLIC_PLACEHOLDER, last["seq"], last["hash"])
    (tmp_path / "audit" / "audit.head").write_bytes(canonical(head) + b"\n")

    done = _cli(store, "audit", "verify")
    assert done.returncode == 65, done.stdout + done.stderr
    assert "public placeholder" in done.stdout + done.stderr


@pytest.mark.parametrize("placeholder", [PUBLIC_PLACEHOLDER, "secret"])
def test_a_public_placeholder_secret_is_refused_in_development_too(tmp_path: Path, placeholder: str) -> None:
    env = {**_clean_env(), "QUALITAS_SECRET_KEY": placeholder}
    done = _cli(tmp_path / "store", "demo", "key", env=env)
    assert done.returncode == 78, done.stderr
    assert "public placeholder" in done.stderr and "Traceback" not in done.stderr


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "store"
    secret_file = tmp_path / "secret.key"
    secret_file.write_text("x" * 48 + "\n")
    secret_file.chmod(0o644)
    done = _cli(store, "demo", "load")
    assert done.returncode == 78, done.stderr
    assert str(secret_file) in done.stderr and "chmod 600" in done.stderr
    assert not (tmp_path / "audit").exists()  # nothing was signed with it


# ------------------------------------------------------------------ 10: bounded trail


def test_refused_mutations_with_huge_reasons_grow_the_trail_by_a_bounded_amount(
    demo_store_dir: Path, tmp_path: Path
) -> None:
    with own_server(demo_store_dir, tmp_path) as (api_server, api_settings):
        _twenty_refused_with_huge_reasons(api_server, api_settings)


def _twenty_refused_with_huge_reasons(api_server: str, api_settings: Settings) -> None:
    path = audit_log_path(api_settings)
    before_size = path.stat().st_size if path.exists() else 0
    before_count = len(_trail(api_settings))
    reason = "r" * 900_000
    started = time.monotonic()
    for _ in range(20):
        body = gql(
            api_server,
            'mutation($r: String) { signPack(packId: "p", meaning: APPROVAL, reason: $r) { meaning } }',
            r=reason,
        )
        assert _codes(body) == {"UNAUTHENTICATED"}, body
    elapsed = time.monotonic() - started
    grown = path.stat().st_size - before_size
    new = _trail(api_settings)[before_count:]
    print(f"\n20 refused signPack with a 900 KB reason: trail grew {grown} bytes, {len(new)} records, {elapsed:.2f} s")
    assert grown < 64 * 1024, grown  # was 36 MB
    assert 1 <= len(new) <= api_settings.audit_refusals_per_minute
    for record in new:
        assert record["action"] == "graphql.mutation.signPack" and record["what"]["ok"] is False
        assert len(record["why"]) < 2200 and "truncated: 900000 characters" in record["why"]


def test_an_allowed_callers_long_reason_is_capped_too(
    api_server: str, api_keys: dict[str, str], api_settings: Settings
) -> None:
    count = len(_trail(api_settings))
    body = gql(
        api_server,
        'mutation($r: String) { signPack(packId: "no-such-pack", meaning: REVIEW, reason: $r) { meaning } }',
        key=api_keys["compliance"],
        r="why " * 100_000,
    )
    assert _codes(body) == {"NOT_FOUND"}
    [record] = [r for r in _trail(api_settings)[count:] if r["actor"] == "compliance-user"]
    assert len(canonical(record)) < 8 * 1024
    assert "truncated: 400000 characters" in record["why"]
    assert "truncated: 400000 characters" in record["what"]["arguments"]["reason"]


# ------------------------------------------------------------------ 11: 401s on the trail


def test_refused_credentials_are_recorded_rate_limited(demo_store_dir: Path, tmp_path: Path) -> None:
    with own_server(demo_store_dir, tmp_path) as (api_server, api_settings):
        _refused_credentials(api_server, api_settings)


def _refused_credentials(api_server: str, api_settings: Settings) -> None:
    users = AuthStore(api_settings.auth_db_path)
    try:
        users.add_user("gone", "engineer")
        revoked = users.create_key("gone")
        users.add_user("off", "auditor")
        disabled = users.create_key("off")
        users.revoke_key(revoked.key_id)
        users.disable_user("off")
    finally:
        users.close()
    count = len(_trail(api_settings))
    for credential, reason in (
        (revoked.secret, "revoked"),
        (disabled.secret, "disabled"),
        ("a.b.c", "malformed bearer token"),
    ):
        response = httpx.post(
            f"{api_server}/graphql",
            json={"query": "{ whoami { name } }"},
            headers={"Authorization": f"Bearer {credential}"},
            timeout=10,
        )
        assert response.status_code == 401 and reason in response.text
    recorded = [r for r in _trail(api_settings)[count:] if r["action"] == "auth.refused"]
    reasons = " | ".join(r["what"]["reason"] for r in recorded)
    assert "revoked" in reasons and "disabled" in reasons and "malformed" in reasons, recorded
    assert {r["what"]["keyId"] for r in recorded} >= {revoked.key_id, disabled.key_id}
    assert all(r["what"]["status"] == 401 and r["what"]["client"] == "127.0.0.1" for r in recorded)
    trail_text = json.dumps(_trail(api_settings))
    assert revoked.secret not in trail_text and disabled.secret not in trail_text  # ids only, never keys

    # a flood of bad tokens is recorded only up to the per-client rate
    count = len(_trail(api_settings))
    for _ in range(40):
        response = httpx.post(f"{api_server}/auth/token", headers={"Authorization": "Bearer x.y.z"}, timeout=10)
        assert response.status_code == 401
    flood = [r for r in _trail(api_settings)[count:] if r["action"] == "auth.refused"]
    assert 1 <= len(flood) <= api_settings.audit_refusals_per_minute


# ------------------------------------------------------------------ 12: tokens


def test_only_an_api_key_obtains_a_token(demo_store_dir: Path, tmp_path: Path, api_keys: dict[str, str]) -> None:
    with own_server(demo_store_dir, tmp_path) as (api_server, api_settings):
        _tokens(api_server, api_settings, api_keys)


def _tokens(api_server: str, api_settings: Settings, api_keys: dict[str, str]) -> None:
    first = httpx.post(
        f"{api_server}/auth/token", headers={"Authorization": f"Bearer {api_keys['auditor']}"}, timeout=10
    )
    assert first.status_code == 200, first.text
    token = first.json()["access_token"]
    assert gql(api_server, "{ whoami { name } }", key=token)["data"]["whoami"]["name"] == "auditor-user"

    count = len(_trail(api_settings))
    renewed = httpx.post(f"{api_server}/auth/token", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert renewed.status_code == 401, renewed.text
    assert "not from another token" in renewed.json()["detail"]
    anonymous = httpx.post(f"{api_server}/auth/token", timeout=10)
    assert anonymous.status_code == 401
    recorded = [r for r in _trail(api_settings)[count:] if r["action"] == "auth.refused"]
    assert any("another token" in r["what"]["reason"] and r["what"]["path"] == "/auth/token" for r in recorded)


# ------------------------------------------------------------------ 13: slow resolvers

GAP = 'gapReport(productId: "BP-75", market: "EU", date: "2025-06-01") { conforms }'


def _aliased(copies: int) -> str:
    return "{ " + " ".join(f"g{i}: {GAP}" for i in range(copies)) + " }"


def test_thirty_aliased_gap_reports_cost_too_much(api_server: str, api_keys: dict[str, str]) -> None:
    body = gql(api_server, _aliased(30), key=api_keys["compliance"])
    assert body.get("data") is None and _codes(body) == {"LIMIT_EXCEEDED"}, body
    assert body["errors"][0]["extensions"]["cost"] > 5000


def test_whoami_stays_quick_while_thirty_gap_reports_run(
    demo_store_dir: Path, tmp_path: Path, api_keys: dict[str, str]
) -> None:
    # 30 reports take longer than the default time limit on a busy machine: not what is measured here
    with own_server(demo_store_dir, tmp_path, request_timeout_s=600) as (api_server, _):
        _whoami_during_gap_reports(api_server, api_keys)


def _whoami_during_gap_reports(api_server: str, api_keys: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {api_keys['auditor']}"}

    def whoami(client: httpx.Client) -> float:
        started = time.perf_counter()
        response = client.post(f"{api_server}/graphql", json={"query": "{ whoami { name } }"}, headers=headers)
        assert response.status_code == 200 and "auditor-user" in response.text
        return time.perf_counter() - started

    with httpx.Client(timeout=120) as client:
        whoami(client)
        idle = [whoami(client) for _ in range(15)]

    answers: list[dict[str, Any]] = []

    def ten_gap_reports() -> None:
        answers.append(gql(api_server, _aliased(10), key=api_keys["compliance"]))

    runners = [threading.Thread(target=ten_gap_reports) for _ in range(3)]  # 30 gap reports at once
    for runner in runners:
        runner.start()
    busy: list[float] = []
    with httpx.Client(timeout=120) as client:
        time.sleep(0.2)
        while any(r.is_alive() for r in runners):
            busy.append(whoami(client))
            time.sleep(0.05)
    for runner in runners:
        runner.join()
    assert len(answers) == 3 and all("errors" not in a and len(a["data"]) == 10 for a in answers), answers
    idle_ms, busy_ms = statistics.median(idle) * 1000, statistics.median(busy) * 1000
    print(
        f"\nwhoami median: idle {idle_ms:.1f} ms; during 30 gapReports {busy_ms:.1f} ms "
        f"(max {max(busy) * 1000:.1f} ms, {len(busy)} calls)"
    )
    assert len(busy) >= 5  # whoami was answered again and again while the reports ran (was: once, after 8 s)
    # measured here: about 1 ms idle and 10-20 ms meanwhile (the GIL's switch interval is 5 ms);
    # before the resolvers left the event loop, whoami waited for all the reports (8-18 s)
    assert busy_ms <= 100 * idle_ms, (idle_ms, busy_ms)


# ------------------------------------------------------------------ 15: errors


def test_no_server_path_reaches_a_client(demo_store_dir: Path, tmp_path: Path) -> None:
    """A broken trail refuses mutations (AUDIT_TAMPERED), without naming its path; a caller
    who may not write at all is refused as such, and learns nothing about the trail."""
    settings = Settings(store=demo_store_dir, audit_log=tmp_path / "private" / "trail" / "audit.jsonl")
    keys = issue_keys(settings, ("admin",))
    AuditLog(settings.audit_log, secret=settings.signing_secret()).append("test.setup", actor="tests")
    (tmp_path / "private" / "trail" / "audit.head").unlink()
    mutation = 'mutation { createUser(name: "x", role: "auditor") { name } }'
    with open_store(demo_store_dir, read_only=True) as store, serve(settings, store=store) as base:
        for key, code in ((None, "UNAUTHENTICATED"), (keys["admin"], "AUDIT_TAMPERED")):
            response = httpx.post(
                f"{base}/graphql",
                json={"query": mutation},
                headers={"Authorization": f"Bearer {key}"} if key else {},
                timeout=30,
            )
            body = response.json()
            assert _codes(body) == {code}, body
            assert str(tmp_path) not in response.text and "/private/trail" not in response.text, response.text
        assert "audit.head" in response.text  # the admin is still told what is wrong


def test_client_errors_are_one_log_line_without_traceback(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert _cli(store, "init").returncode == 0
    key = issue_keys(Settings(store=store), ("engineer",))["engineer"]
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "qualitas.cli", "--store", str(store), "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=_clean_env(),
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, log_path.read_text()
            time.sleep(0.2)
        not_found = gql(base, '{ product(id: "NO-SUCH-MODEL") { modelNumber } }', key=key)
        assert _codes(not_found) == {"NOT_FOUND"}
        refused = gql(base, 'mutation { createUser(name: "mallory", role: "admin") { name } }', key=key)
        assert _codes(refused) == {"FORBIDDEN"}
        anonymous = gql(base, 'mutation { createUser(name: "mallory", role: "admin") { name } }')
        assert _codes(anonymous) == {"UNAUTHENTICATED"}
        assert gql(base, "{ nosuchfield }", key=key)["errors"]
        long_id = gql(base, "query($id: String!) { product(id: $id) { modelNumber } }", key=key, id="Z" * 20_000)
        assert _codes(long_id) == {"NOT_FOUND"}
        assert (
            httpx.post(
                f"{base}/graphql",
                json={"query": "{ whoami { name } }"},
                headers={"Authorization": "Bearer x.y.z"},
                timeout=10,
            ).status_code
            == 401
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log_path.read_text()
    assert "Traceback" not in text, text
    for message in (not_found, refused, anonymous):
        needle = message["errors"][0]["message"]
        assert len([line for line in text.splitlines() if needle in line]) == 1, (needle, text)
    assert re.search(r"graphql NOT_FOUND at product: ", text), text
    assert max(len(line) for line in text.splitlines()) < 1000  # a caller's 20,000 characters are cut
    shutil.rmtree(store, ignore_errors=True)
