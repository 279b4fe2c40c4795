from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import strawberry
import yaml

from qualitas.demo.scenario import demo_graph
from qualitas.graphql.regulations import RegulationQuery
from qualitas.regulations.catalog import default_catalog
from qualitas.store import GraphStore, open_store

schema = strawberry.Schema(query=RegulationQuery)


@pytest.fixture(scope="module")
def store() -> Iterator[GraphStore]:
    s = open_store(None)
    s.load_triples(iter(demo_graph()), source="demo", sha256="demo", agent="test", format="nt")
    yield s
    s.close()


def _run(query: str, store: GraphStore, **context: object) -> dict:  # type: ignore[type-arg]
    result = schema.execute_sync(query, context_value={"store": store, **context})
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


def test_regulations_filtered_by_market_category_status(store: GraphStore) -> None:
    data = _run('{ regulations(market: "CN", category: "battery", status: "in_force") { id markets status } }', store)
    ids = {r["id"] for r in data["regulations"]}
    assert "cn-gb-38031-2025" in ids and "int-iec-62133-2-2017" in ids
    assert "cn-gb-38031-2020" not in ids  # repealed
    assert len(_run("{ regulations { id } }", store)["regulations"]) == len(default_catalog())


def test_regulation_by_id(store: GraphStore) -> None:
    query = '{ regulation(id: "eu-rohs-2011-65") { identifier title dates { application } sourceUrl } }'
    data = _run(query, store)
    assert data["regulation"]["identifier"] == "32011L0065"
    assert _run('{ regulation(id: "nope") { id } }', store)["regulation"] is None


def test_applicable_regulations_with_reasons(store: GraphStore) -> None:
    data = _run(
        """{ applicableRegulations(productId: "BP-75", market: "EU", date: "2026-11-26") {
        productId market applicable { regulation { id } reason categories features replaces obligation }
        upcoming { regulation { id } appliesFrom } } }""",
        store,
    )["applicableRegulations"]
    by_id = {a["regulation"]["id"]: a for a in data["applicable"]}
    assert by_id["eu-batteries-2023-1542"]["categories"] == ["battery"]
    assert by_id["eu-batteries-2023-1542"]["replaces"] == ["eu-battery-directive-2006-66"]
    assert by_id["int-iatf-16949-2016"]["obligation"] == "manufacturer"
    assert {"regulation": {"id": "eu-pld-2024-2853"}, "appliesFrom": "2026-12-09"} in data["upcoming"]


def test_catalog_impact(store: GraphStore, tmp_path: Path) -> None:
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "catalog.yaml").write_text(
        yaml.safe_dump({"version": "2026.10", "base": "2026.11", "changes": {"remove": ["eu-reach-1907-2006"]}}),
        encoding="utf-8",
    )
    data = _run(
        """{ catalogImpact(fromVersion: "2026.10", toVersion: "2026.11") {
        changes { id kind } parts { partNumber suppliers } bomPositions { bomOwner position partNumber }
        products { model markets } declarationRequests { supplierId parts substances } } }""",
        store,
        catalog_versions=[tmp_path],
    )["catalogImpact"]
    assert {"id": "eu-reach-1907-2006", "kind": "added"} in data["changes"]
    assert {"partNumber": "CBL-5G6", "suppliers": ["SUP-RKB"]} in data["parts"]
    assert {"bomOwner": "CC-T2-32A", "position": 10, "partNumber": "CBL-5G6"} in data["bomPositions"]
    assert {"model": "CC-T2-32A", "markets": ["EU"]} in data["products"]
    assert {"supplierId": "SUP-RKB", "parts": ["CBL-5G6"], "substances": ["25973-55-1"]} in data["declarationRequests"]


def test_applicable_regulations_refuses_an_unknown_market(store: GraphStore) -> None:
    """``DE`` is a member state, not a market of the catalog: answering with the global
    records alone would look like a complete, and wrong, list."""
    result = schema.execute_sync(
        '{ applicableRegulations(productId: "BP-75", market: "DE") { applicable { regulation { id } } } }',
        context_value={"store": store},
    )
    assert result.errors and result.errors[0].message.startswith("unknown market 'DE'")
