"""GraphQL and the audit trail: mutations recorded as their caller, packs signed (21 CFR
11.50) with the signature linked to its trail record, and tampering reported."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import strawberry
from strawberry.tools import merge_types
from strawberry.types import Info

from qualitas.audit import AuditLog, read_signatures, signatures_path
from qualitas.auth import Principal
from qualitas.graphql.audit import AuditExtension, AuditMutation, AuditQuery, record_domain_event
from qualitas.graphql.packs import PackMutation, PackQuery, packs_dir
from qualitas.settings import Settings
from qualitas.store import GraphStore

ALICE = Principal(name="Alice Example", role="compliance", key_id="key-alice")


@strawberry.type
class _TestMutation:
    @strawberry.mutation
    def rename_thing(self, name: str, api_key: str, key_id: str, reason: str | None = None) -> str:
        return name.upper()

    @strawberry.mutation
    def records_itself(self, info: Info) -> bool:
        record_domain_event(info, "test.domain", what={"x": 1})
        return True


@strawberry.type
class _Query:
    @strawberry.field
    def ping(self) -> str:
        return "pong"


SCHEMA = strawberry.Schema(
    query=merge_types("Query", (_Query, AuditQuery, PackQuery)),
    mutation=merge_types("Mutation", (_TestMutation, AuditMutation, PackMutation)),
    extensions=[AuditExtension],
)


class Env:
    def __init__(self, store: GraphStore, root: Path) -> None:
        self.store = store
        self.settings = Settings(store=root / "store")
        self.log = AuditLog(root / "audit" / "audit.jsonl", secret="test-secret")

    def run(self, query: str, *, principal: Principal | None = ALICE, **variables: Any) -> Any:
        context: dict[str, Any] = {"store": self.store, "settings": self.settings, "audit": self.log}
        if principal is not None:
            context["principal"] = principal
        return asyncio.run(SCHEMA.execute(query, variable_values=variables, context_value=context))


@pytest.fixture(scope="module")
def env(demo_store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> Env:
    return Env(demo_store, tmp_path_factory.mktemp("audit-graphql"))


@pytest.fixture(scope="module")
def pack_id(env: Env) -> str:
    res = env.run('mutation { generatePack(productId: "AG-125", market: "VN", date: "2026-03-01") { packId } }')
    assert res.errors is None, res.errors
    return str(res.data["generatePack"]["packId"])


def test_a_mutation_is_recorded_as_its_caller_with_secrets_redacted(env: Env) -> None:
    res = env.run(
        'mutation Rename { renameThing(name: "x", apiKey: "s3cr3t", keyId: "k1", reason: "typo") }',
        principal=Principal(name="bob", role="engineer", key_id="kb"),
    )
    assert res.errors is None and res.data == {"renameThing": "X"}
    [record] = env.log.records(action="graphql.mutation.renameThing")
    assert (record.actor, record.role, record.why) == ("bob", "engineer", "typo")
    assert record.what["arguments"] == {"name": "x", "apiKey": "[redacted]", "keyId": "k1", "reason": "typo"}
    assert record.what["ok"] is True and record.what["operation"] == "Rename"
    assert record.before == record.after and len(record.before or "") == 64
    assert b"s3cr3t" not in env.log.path.read_bytes()


def test_without_a_principal_the_actor_is_anonymous(env: Env) -> None:
    assert env.run('mutation { renameThing(name: "y", apiKey: "a", keyId: "b") }', principal=None).errors is None
    assert env.log.records(action="graphql.mutation.renameThing")[-1].actor == "anonymous"


def test_a_mutation_recording_itself_is_recorded_once(env: Env) -> None:
    assert env.run("mutation { recordsItself }").errors is None
    assert [r.actor for r in env.log.records(action="test.domain")] == ["Alice Example"]
    assert env.log.records(action="graphql.mutation.recordsItself") == []


def test_generate_pack_is_recorded_once_as_pack_generate(env: Env, pack_id: str) -> None:
    generated = [r for r in env.log.records(action="pack.generate") if r.what["packId"] == pack_id]
    assert len(generated) == 1
    record = generated[0]
    assert (record.actor, record.role) == ("Alice Example", "compliance")
    assert record.what["product"] == "AG-125" and record.what["market"] == "VN"
    assert len(record.what["manifestSha256"]) == 64 and len(record.what["zipSha256"]) == 64
    assert env.log.records(action="graphql.mutation.generatePack") == []


def test_a_failed_mutation_is_recorded_with_its_error(env: Env) -> None:
    res = env.run('mutation { generatePack(productId: "AG-125", market: "XX") { packId } }')
    assert res.errors is not None
    record = env.log.records(action="graphql.mutation.generatePack")[-1]
    assert record.what["ok"] is False and "unknown market" in record.what["errors"][0]


def test_sign_pack_writes_the_manifestation_and_links_the_trail(env: Env, pack_id: str) -> None:
    res = env.run(
        """mutation($id: String!) { signPack(packId: $id, meaning: APPROVAL, reason: "released for VN") {
             packId signer role signedAt meaning reason manifestSha256 auditSeq auditHash manifestation valid } }""",
        id=pack_id,
    )
    assert res.errors is None, res.errors
    sig = res.data["signPack"]
    assert (sig["signer"], sig["role"], sig["meaning"], sig["valid"]) == (
        "Alice Example",
        "compliance",
        "APPROVAL",
        True,
    )
    assert sig["signedAt"].endswith("+00:00")
    assert sig["manifestation"].startswith("Signed by Alice Example (compliance) on ")
    assert sig["manifestation"].endswith("meaning: approval")

    zip_path = packs_dir(env.settings) / f"{pack_id}.zip"
    on_disk = json.loads(signatures_path(zip_path).read_text())
    [stored] = on_disk["signatures"]
    assert stored["signer"] == "Alice Example" and stored["meaning"] == "approval"
    assert stored["signedAt"] == sig["signedAt"] and stored["auditHash"] == sig["auditHash"]

    record = env.log.find(sig["auditHash"])
    assert record is not None and record.action == "pack.sign" and record.seq == sig["auditSeq"]
    assert record.actor == "Alice Example" and record.why == "released for VN"
    assert record.what["meaning"] == "approval" and record.what["manifestSha256"] == sig["manifestSha256"]
    assert record.what["keyId"] == "key-alice"
    assert env.log.records(action="graphql.mutation.signPack") == []  # recorded once, as pack.sign

    listed = env.run(f'{{ packSignatures(packId: "{pack_id}") {{ signer meaning valid auditHash }} }}')
    assert listed.errors is None
    assert listed.data["packSignatures"] == [
        {"signer": "Alice Example", "meaning": "APPROVAL", "valid": True, "auditHash": sig["auditHash"]}
    ]


def test_signing_an_unknown_pack_is_refused(env: Env) -> None:
    res = env.run('mutation { signPack(packId: "NO-SUCH-PACK", meaning: REVIEW) { signer } }')
    assert res.errors is not None and res.errors[0].extensions["code"] == "NOT_FOUND"
    assert all(r.what.get("packId") != "NO-SUCH-PACK" for r in env.log.records(action="pack.sign"))
    failed = env.log.records(action="graphql.mutation.signPack")[-1]
    assert failed.what["ok"] is False and failed.what["arguments"]["packId"] == "NO-SUCH-PACK"


def test_signing_needs_an_authenticated_user(env: Env, pack_id: str) -> None:
    res = env.run(f'mutation {{ signPack(packId: "{pack_id}", meaning: AUTHORSHIP) {{ signer }} }}', principal=None)
    assert res.errors is not None and res.errors[0].extensions["code"] == "UNAUTHENTICATED"


def test_trail_query_pages_and_verification_reports_tampering(env: Env, pack_id: str, tmp_path: Path) -> None:
    env.run(f'mutation {{ signPack(packId: "{pack_id}", meaning: REVIEW) {{ signer }} }}')
    first = env.run("{ auditTrail(first: 2) { records { seq actor action what hash prev } endCursor hasNextPage } }")
    assert first.errors is None
    page = first.data["auditTrail"]
    assert [r["seq"] for r in page["records"]] == [1, 2] and page["hasNextPage"] and page["endCursor"] == "2"
    nxt = env.run('{ auditTrail(first: 1, after: "2") { records { seq prev } } }')
    assert nxt.data["auditTrail"]["records"][0]["seq"] == 3
    assert nxt.data["auditTrail"]["records"][0]["prev"] == page["records"][1]["hash"]
    signs = env.run('{ auditTrail(action: "pack.sign", actor: "Alice Example") { records { action } } }')
    assert {r["action"] for r in signs.data["auditTrail"]["records"]} == {"pack.sign"}

    ok = env.run("{ auditVerification { ok records summary problem { kind } } }")
    assert ok.data["auditVerification"]["ok"] is True and ok.data["auditVerification"]["problem"] is None

    saved = env.log.path.read_bytes()
    try:
        env.log.path.write_bytes(saved.replace(b'"meaning":"approval"', b'"meaning":"review"', 1))
        bad = env.run("{ auditVerification { ok summary problem { kind line seq } } }")
        result = bad.data["auditVerification"]
        assert result["ok"] is False and result["problem"]["kind"] == "edited"
        assert "line" in result["summary"]
        # the signature no longer matches its record either
        sig = read_signatures(packs_dir(env.settings) / f"{pack_id}.zip")[0]
        listed = env.run(f'{{ packSignatures(packId: "{pack_id}") {{ auditHash valid }} }}')
        assert {s["auditHash"]: s["valid"] for s in listed.data["packSignatures"]}[sig.audit_hash] is False
    finally:
        env.log.path.write_bytes(saved)
    assert env.run("{ auditVerification { ok } }").data["auditVerification"]["ok"] is True
