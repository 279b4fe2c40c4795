"""Entity connections over the demo store: real data, paging, filters, page limits and DataLoaders."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rdflib import Graph

from qualitas.graphql.schema import build_schema
from qualitas.settings import Settings
from qualitas.store import GraphStore, Row


class CountingStore:
    """The demo store, counting the SPARQL queries that reach it."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self.queries = 0

    def select(self, query: str) -> list[Row]:
        self.queries += 1
        return self._store.select(query)

    def ask(self, query: str) -> bool:
        self.queries += 1
        return self._store.ask(query)

    def construct(self, query: str) -> Graph:
        self.queries += 1
        return self._store.construct(query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture(scope="module")
def schema() -> Any:
    return build_schema()


@pytest.fixture
def context(demo_store: GraphStore, tmp_path: Path) -> dict[str, Any]:
    return {"store": demo_store, "settings": Settings(store=tmp_path / "store"), "principal": None}


async def run(schema: Any, query: str, context: dict[str, Any], **variables: Any) -> dict[str, Any]:
    result = await schema.execute(query, variable_values=variables or None, context_value=context)
    assert result.errors is None, result.errors
    return result.data  # type: ignore[no-any-return]


async def error_of(schema: Any, query: str, context: dict[str, Any]) -> Any:
    result = await schema.execute(query, context_value=context)
    assert result.errors, result.data
    return result.errors[0]


# ---------------------------------------------------------------- real data


async def test_suppliers_are_the_demo_suppliers_in_id_order(schema: Any, context: dict[str, Any]) -> None:
    data = await run(schema, "{ suppliers(first: 50) { edges { node { supplierId name country } } } }", context)
    nodes = [e["node"] for e in data["suppliers"]["edges"]]
    assert [n["supplierId"] for n in nodes] == sorted(n["supplierId"] for n in nodes)
    assert {"supplierId": "SUP-NPP", "name": "Ningbo Precision Plastics Co., Ltd.", "country": "CN"} in nodes
    assert len(nodes) == 9


async def test_fc12_calibration_expired_before_the_formation_run(schema: Any, context: dict[str, Any]) -> None:
    data = await run(
        schema,
        """{ equipmentById(equipmentId: "FC-12") {
                name calibrationStatus(on: "2024-08-02")
                calibrations { number validUntil equipment { equipmentId } }
                runs { runId startedAt }
            } }""",
        context,
    )
    fc12 = data["equipmentById"]
    assert fc12["calibrationStatus"] == "EXPIRED"
    assert fc12["calibrations"] == [
        {"number": "CAL-FC12-2023", "validUntil": "2024-06-30", "equipment": {"equipmentId": "FC-12"}}
    ]
    assert [r["runId"] for r in fc12["runs"]] == ["FM-240610-12", "FM-240802-12"]


async def test_unit_lineage_reaches_the_cell_lot_and_the_complaint(schema: Any, context: dict[str, Any]) -> None:
    data = await run(
        schema,
        """{ unit(serial: "LFVEV5A26R0005128") {
                vin product lots { lotNumber } complaints { complaintId market failureMode }
                producedBy { runId equipment { equipmentId } }
            } }""",
        context,
    )
    unit = data["unit"]
    assert unit["product"] == "QX-EV5"
    assert {"lotNumber": "CL-240802-A"} in unit["lots"] and {"lotNumber": "NPP-24-1001"} in unit["lots"]
    assert unit["complaints"] == [{"complaintId": "CMP-2025-0057", "market": "CN", "failureMode": "FM-ODOUR"}]
    assert unit["producedBy"] == [{"runId": "VA-241120-5128", "equipment": {"equipmentId": "VA-LINE-1"}}]


async def test_clip_lot_report_shows_the_as_built_material(schema: Any, context: dict[str, Any]) -> None:
    data = await run(
        schema,
        """{ lot(lotNumber: "NPP-24-0913") {
                part { partNumber materials { grade } declarations { number materials { grade } } }
                supplier { supplierId }
                testReports { number material { grade } }
                consumedBy { runId }
            } }""",
        context,
    )
    lot = data["lot"]
    assert lot["supplier"] == {"supplierId": "SUP-NPP"}
    assert lot["testReports"] == [{"number": "CTI-NB-NPP-24-0913", "material": {"grade": "PBT+GF25"}}]
    assert lot["part"]["materials"] == [{"grade": "PBT+GF30"}]
    assert lot["part"]["declarations"][0]["number"] == "NPP-IPC1752-7731"
    assert lot["consumedBy"] == [{"runId": "AS-240918-02"}]


async def test_declarations_carry_class_and_exemptions(schema: Any, context: dict[str, Any]) -> None:
    data = await run(
        schema,
        """{ declarations(supplier: "SUP-VNC") { nodes { number declarationClass exemptions
                supplier { supplierId } part { partNumber } } } }""",
        context,
    )
    nodes = data["declarations"]["nodes"]
    assert {n["number"] for n in nodes} == {"VNC-IPC1752-CNT", "VNC-IPC1752-PLG"}
    cnt = next(n for n in nodes if n["number"] == "VNC-IPC1752-CNT")
    assert cnt["exemptions"] == ["6(c)"] and cnt["part"] == {"partNumber": "CNT-T2"}
    assert cnt["supplier"] == {"supplierId": "SUP-VNC"}


async def test_pages_of_products_and_complaints(schema: Any, context: dict[str, Any]) -> None:
    data = await run(
        schema,
        """{ productsPage(category: "battery") { nodes { modelNumber bomRevision bom { partNumber level } } }
             complaintsPage(market: "EU") { nodes { complaintId serial } }
             byMode: complaintsPage(failureMode: "FM-ODOUR") { nodes { complaintId } } }""",
        context,
    )
    (bp75,) = data["productsPage"]["nodes"]
    assert bp75["modelNumber"] == "BP-75" and bp75["bomRevision"] == "D"
    assert {"partNumber": "CAT-LFP", "level": 2} in bp75["bom"]
    assert data["complaintsPage"]["nodes"] == [
        {"complaintId": "CMP-2025-0042", "serial": "LFVEV5A28R0004711"},
        {"complaintId": "CMP-2025-0061", "serial": "CC32-24-50017"},
    ]
    assert data["byMode"]["nodes"] == [{"complaintId": "CMP-2025-0057"}]


async def test_unknown_keys_give_null(schema: Any, context: dict[str, Any]) -> None:
    data = await run(
        schema,
        '{ part(partNumber: "NOPE") { id } supplier(supplierId: "x\\" } UNION {") { id } lot(lotNumber: "?") { id } }',
        context,
    )
    assert data == {"part": None, "supplier": None, "lot": None}


# ---------------------------------------------------------------- paging

CONNECTIONS = {
    "parts": "partNumber",
    "materials": "grade",
    "substances": "casNumber",
    "suppliers": "supplierId",
    "declarations": "number",
    "testReports": "number",
    "runs": "runId",
    "equipment": "equipmentId",
    "calibrations": "number",
    "lots": "lotNumber",
    "units": "serial",
    "productsPage": "modelNumber",
    "complaintsPage": "complaintId",
}


@pytest.mark.parametrize("field,key", CONNECTIONS.items())
async def test_first_one_then_after_walks_every_item_once(
    schema: Any, context: dict[str, Any], field: str, key: str
) -> None:
    everything = await run(schema, f"{{ {field}(first: 100) {{ nodes {{ {key} }} }} }}", context)
    expected = [n[key] for n in everything[field]["nodes"]]
    assert expected, f"the demo has no {field}"
    seen: list[str] = []
    after = None
    for _ in range(len(expected) + 1):
        data = await run(
            schema,
            f"""query($after: String) {{ {field}(first: 1, after: $after) {{
                edges {{ cursor node {{ {key} }} }}
                pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}""",
            context,
            **{"after": after},
        )
        page = data[field]
        assert len(page["edges"]) == 1
        assert page["pageInfo"]["startCursor"] == page["pageInfo"]["endCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen.append(page["edges"][0]["node"][key])
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert seen == expected
    assert len(set(seen)) == len(seen)


async def test_default_page_is_twenty(schema: Any, context: dict[str, Any]) -> None:
    data = await run(schema, "{ parts { nodes { partNumber } pageInfo { hasNextPage } } }", context)
    assert len(data["parts"]["nodes"]) == 20 and data["parts"]["pageInfo"]["hasNextPage"] is False


# ---------------------------------------------------------------- filters


@pytest.mark.parametrize(
    "query,expected",
    [
        ('suppliers(country: "de")', ["SUP-RHP", "SUP-RKB", "SUP-SFD"]),
        ('suppliers(text: "lithium")', ["SUP-HLM"]),
        ('parts(supplierCountry: "VN")', ["CNT-T2", "MOT-900", "PLG-T2"]),
        ('parts(supplier: "SUP-NPP")', ["CLIP-7731"]),
        ('parts(numberPrefix: "CC")', ["CC-T2-32A"]),
        ('parts(text: "latch")', ["CLIP-7731"]),
        ('materials(substance: "65997-17-3")', ["PA66+GF30", "PBT+GF25", "PBT+GF30"]),
        ('substances(text: "lead")', ["7439-92-1"]),
        ('testReports(material: "PBT+GF25")', ["CTI-NB-NPP-24-0913"]),
        ('testReports(lotNumber: "RKB-24-8812")', ["RKB-TR-24-8812"]),
        ('runs(equipment: "FC-12", startedFrom: "2024-08-01")', ["FM-240802-12"]),
        ('runs(step: "CPC-S10", startedBefore: "2024-09-30")', ["IM-240917-07"]),
        ('equipment(calibration: EXPIRED, on: "2024-08-02")', ["FC-12"]),
        ('equipment(calibration: VALID, on: "2024-08-02", text: "line")', ["PA-LINE-2", "VA-LINE-1"]),
        ("equipment(calibration: NONE)", []),
        ('calibrations(equipment: "IMM-07")', ["CAL-IMM07-2024"]),
        ('lots(partNumber: "CLIP-7731")', ["NPP-24-0913", "NPP-24-1001"]),
        ('lots(supplier: "SUP-HLM")', ["HLM-2407-33", "HLM-2407-E07"]),
        ('units(product: "BP-75")', ["BP75-24-000981", "BP75-24-001337"]),
        ('units(serialPrefix: "LFV")', ["LFVEV5A26R0005128", "LFVEV5A28R0004711"]),
        ('declarations(partNumber: "SEAL-1202")', ["EPD-REACH-1202"]),
        ('parts(text: "\\" } UNION { ?x ?p ?o } #\\\\\\n")', []),
    ],
)
async def test_filters(schema: Any, context: dict[str, Any], query: str, expected: list[str]) -> None:
    field = query.split("(", 1)[0]
    key = CONNECTIONS[field]
    data = await run(schema, f"{{ {query} {{ nodes {{ {key} }} }} }}", context)
    assert [n[key] for n in data[field]["nodes"]] == expected


# ---------------------------------------------------------------- page limits


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_page_size_outside_the_limit_is_refused(schema: Any, context: dict[str, Any], first: int) -> None:
    error = await error_of(schema, f"{{ parts(first: {first}) {{ nodes {{ partNumber }} }} }}", context)
    assert error.extensions["code"] == "BAD_USER_INPUT"
    assert error.extensions["argument"] == "first"
    assert "first" in error.message


async def test_page_size_limit_comes_from_the_settings(schema: Any, context: dict[str, Any]) -> None:
    context["settings"] = SimpleNamespace(max_page_size=5)
    error = await error_of(schema, "{ lots(first: 6) { nodes { lotNumber } } }", context)
    assert error.extensions == {"code": "BAD_USER_INPUT", "argument": "first"}
    data = await run(schema, "{ lots(first: 5) { nodes { lotNumber } } }", context)
    assert len(data["lots"]["nodes"]) == 5


async def test_a_cursor_we_did_not_make_is_refused(schema: Any, context: dict[str, Any]) -> None:
    error = await error_of(schema, '{ lots(after: "not a cursor!") { nodes { lotNumber } } }', context)
    assert error.extensions == {"code": "BAD_USER_INPUT", "argument": "after"}


# ---------------------------------------------------------------- DataLoaders: no N+1

NESTED = """query($first: Int!) { parts(first: $first) { edges { node {
    partNumber
    supplier { supplierId declarations { number } }
    materials { grade substances { casNumber } }
} } } }"""


async def test_nested_lists_cost_the_same_queries_for_two_parts_as_for_ten(
    schema: Any, demo_store: GraphStore, tmp_path: Path
) -> None:
    counts = {}
    for first in (2, 10):
        counting = CountingStore(demo_store)
        context = {"store": counting, "settings": Settings(store=tmp_path / "store"), "principal": None}
        data = await run(schema, NESTED, context, first=first)
        assert len(data["parts"]["edges"]) == first
        counts[first] = counting.queries
    assert counts[2] == counts[10] <= 6, counts
    # and the answers are right: a part with a supplier, declarations and a material with substances
    latch = NESTED.replace("parts(first: $first)", 'parts(first: $first, text: "latch")')
    clip = await run(schema, latch, context, first=1)
    node = clip["parts"]["edges"][0]["node"]
    assert node["supplier"] == {"supplierId": "SUP-NPP", "declarations": [{"number": "NPP-IPC1752-7731"}]}
    assert node["materials"] == [{"grade": "PBT+GF30", "substances": [{"casNumber": "65997-17-3"}]}]


async def test_loaders_live_in_the_request_context(schema: Any, context: dict[str, Any]) -> None:
    await run(schema, '{ supplier(supplierId: "SUP-NPP") { parts { partNumber } } }', context)
    assert "supplier.parts" in context["loaders"]


def test_flat_connections_also_run_synchronously(schema: Any, context: dict[str, Any]) -> None:
    result = schema.execute_sync(
        '{ lots(partNumber: "CLIP-7731") { nodes { lotNumber quantity } } }', context_value=context
    )
    assert result.errors is None
    assert result.data == {
        "lots": {
            "nodes": [
                {"lotNumber": "NPP-24-0913", "quantity": "20000"},
                {"lotNumber": "NPP-24-1001", "quantity": "20000"},
            ]
        }
    }
