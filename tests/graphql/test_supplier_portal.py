"""Scoped sharing with suppliers (issue 19, item 5), against the real server under uvicorn.

Two suppliers of the demo data, each with its own key: each sees its own parts, lots,
declarations and test reports and aggregated figures about them, never the other's
records, our runs or our process parameters; every other field is refused to them;
and every answer is in the audit trail with the figures it shared."""

from __future__ import annotations

import json

import httpx
import pytest

from qualitas.audit import open_audit_log
from qualitas.auth import AuthStore
from qualitas.settings import Settings
from tests.graphql.serving import gql

PORTAL = """{ supplierPortal {
    supplierId name
    parts { partNumber name }
    lots { lotNumber partNumber quantity }
    declarations { number about issued kind }
    testReports { number about issued kind }
    figures { deliveredParts defectiveParts ppm complaintsByFailureMode { code name complaints } }
} }"""


@pytest.fixture(scope="module")
def supplier_keys(api_settings: Settings) -> dict[str, str]:
    users = AuthStore(api_settings.auth_db_path)
    try:
        keys = {}
        for supplier in ("SUP-NPP", "SUP-RHP"):
            name = f"portal-{supplier.lower()}"
            users.add_user(name, "supplier", supplier=supplier)
            keys[supplier] = users.create_key(name, label="portal test").secret
        return keys
    finally:
        users.close()


def _truth(api_server: str, admin: str, supplier: str) -> dict[str, set[str]]:
    """What our own engineers see of this supplier through the normal API."""
    q = f"""{{
      parts(supplier: "{supplier}", first: 50) {{ edges {{ node {{ partNumber }} }} }}
      lots(supplier: "{supplier}", first: 50) {{ edges {{ node {{ lotNumber }} }} }}
      declarations(supplier: "{supplier}", first: 50) {{ edges {{ node {{ number }} }} }}
      testReports(supplier: "{supplier}", first: 50) {{ edges {{ node {{ number }} }} }}
    }}"""
    data = gql(api_server, q, key=admin)["data"]
    field = {"parts": "partNumber", "lots": "lotNumber", "declarations": "number", "testReports": "number"}
    return {k: {e["node"][v] for e in data[k]["edges"]} for k, v in field.items()}


def test_each_supplier_sees_exactly_its_own_records(
    api_server: str, api_keys: dict[str, str], supplier_keys: dict[str, str]
) -> None:
    seen = {}
    for supplier, key in supplier_keys.items():
        body = gql(api_server, PORTAL, key=key)
        assert "errors" not in body, body
        portal = body["data"]["supplierPortal"]
        assert portal["supplierId"] == supplier
        truth = _truth(api_server, api_keys["admin"], supplier)
        assert {p["partNumber"] for p in portal["parts"]} == truth["parts"] != set()
        assert {lot["lotNumber"] for lot in portal["lots"]} == truth["lots"] != set()
        assert {d["number"] for d in portal["declarations"]} == truth["declarations"]
        assert {t["number"] for t in portal["testReports"]} == truth["testReports"] != set()
        seen[supplier] = (portal, truth)
    npp, rhp = seen["SUP-NPP"], seen["SUP-RHP"]
    # nothing of the other supplier anywhere in the answer, and none of our runs or parameters
    npp_text, rhp_text = json.dumps(npp[0]), json.dumps(rhp[0])
    for other_text, other in ((npp_text, rhp[1]), (rhp_text, npp[1])):
        for values in other.values():
            for value in values:
                assert value not in other_text
    for text in (npp_text, rhp_text):
        assert "SUP-" not in text.replace(json.loads(text)["supplierId"], "")
        assert "RUN-" not in text and "/id/run/" not in text and "parameter" not in text.lower()
    # the aggregated figures: delivered = the lots' quantities; PPM = defective / delivered x 10^6
    figures = npp[0]["figures"]
    delivered = sum(lot["quantity"] or 0 for lot in npp[0]["lots"])
    assert figures["deliveredParts"] == delivered > 0
    assert figures["ppm"] == pytest.approx(figures["defectiveParts"] / delivered * 1e6)
    modes = {m["code"]: m["complaints"] for m in figures["complaintsByFailureMode"]}
    assert modes and all(n >= 1 for n in modes.values())


@pytest.mark.parametrize(
    "document",
    [
        '{ lots(supplier: "SUP-RHP", first: 5) { edges { node { lotNumber } } } }',
        "{ parts(first: 5) { edges { node { partNumber } } } }",
        "{ runs(first: 5) { edges { node { runId } } } }",
        '{ trace(complaintId: "CMP-2025-0057") { findings { kind } } }',
        '{ supplier(supplierId: "SUP-RHP") { name } }',
        "{ complaints { id } }",
    ],
)
def test_a_supplier_key_is_refused_everything_else(
    api_server: str, supplier_keys: dict[str, str], document: str
) -> None:
    body = gql(api_server, document, key=supplier_keys["SUP-NPP"])
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert not any((body.get("data") or {}).values())


def test_a_token_from_a_supplier_key_keeps_its_scope(api_server: str, supplier_keys: dict[str, str]) -> None:
    token = httpx.post(
        f"{api_server}/auth/token", headers={"Authorization": f"Bearer {supplier_keys['SUP-RHP']}"}, timeout=10
    ).json()["access_token"]
    body = gql(api_server, "{ supplierPortal { supplierId } whoami { role } }", key=token)
    assert body["data"] == {"supplierPortal": {"supplierId": "SUP-RHP"}, "whoami": {"role": "supplier"}}


def test_other_roles_cannot_use_the_portal_and_need_no_supplier(api_settings: Settings) -> None:
    users = AuthStore(api_settings.auth_db_path)
    try:
        from qualitas.errors import InputError

        with pytest.raises(InputError, match="supplier role needs --supplier"):
            users.add_user("no-scope", "supplier")
        with pytest.raises(InputError, match="only that role takes one"):
            users.add_user("engineer-with-scope", "engineer", supplier="SUP-NPP")
    finally:
        users.close()


def test_every_shared_figure_is_audited(api_server: str, api_settings: Settings, supplier_keys: dict[str, str]) -> None:
    trail = open_audit_log(api_settings)
    before = sum(1 for r in trail.records() if r.action == "supplier.shared")
    body = gql(api_server, PORTAL, key=supplier_keys["SUP-RHP"])
    records = [r for r in trail.records() if r.action == "supplier.shared"]
    assert len(records) == before + 1
    record = records[-1]
    figures = body["data"]["supplierPortal"]["figures"]
    assert record.actor == "portal-sup-rhp" and record.role == "supplier"
    assert record.what["supplier"] == "SUP-RHP"
    assert record.what["figures"]["ppm"] == pytest.approx(figures["ppm"])
    assert record.what["figures"]["delivered_parts"] == figures["deliveredParts"]
    assert record.what["figures"]["complaints_by_failure_mode"] == {
        m["code"]: m["complaints"] for m in figures["complaintsByFailureMode"]
    }
    assert trail.verify().ok
