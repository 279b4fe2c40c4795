"""``products { bom }`` gives each product's BOM lines, the same as ``product(id) { bom }``
(issue 14, item 19): a list that was always ``[]`` is a wrong answer, not an empty one."""

from __future__ import annotations

from tests.graphql.serving import gql

LINES = "bom { level partNumber material parent }"


def test_products_bom_matches_product_bom(api_server: str, api_keys: dict[str, str]) -> None:
    key = api_keys["engineer"]
    listed = gql(api_server, f"{{ products {{ modelNumber bomRevision {LINES} }} }}", key=key)
    assert "errors" not in listed, listed
    by_model = {p["modelNumber"]: p for p in listed["data"]["products"]}
    one = gql(api_server, f'{{ product(id: "CPC-200") {{ {LINES} }} }}', key=key)["data"]["product"]
    assert one["bom"], "the demo's CPC-200 has a BOM"
    assert by_model["CPC-200"]["bom"] == one["bom"]
    assert [m for m, p in by_model.items() if p["bomRevision"] and not p["bom"]] == []


def test_gap_report_refuses_an_unknown_market(api_server: str, api_keys: dict[str, str]) -> None:
    query = '{ gapReport(productId: "CPC-200", market: "DE", date: "2026-11-26") { conforms } }'
    body = gql(api_server, query, key=api_keys["compliance"])
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert error["message"].startswith("unknown market 'DE'")
