"""BOM ingest: levels and parent/child layouts, units, designators, encodings, XLSX."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

from ingest_helpers import FIXTURES, WIPER_BOM, refused, write_xlsx

from qualitas.ingest import bom, load_mapping
from qualitas.store import GraphStore


def _lines(store: GraphStore) -> dict[tuple[str, int], dict[str, object]]:
    rows = store.select(
        """SELECT ?owner ?pos ?pn ?qty ?unit ?grade (GROUP_CONCAT(?d; separator=",") AS ?des) WHERE {
            ?o q:hasBOM ?b . ?o q:partNumber ?owner . ?b q:hasLine ?l .
            ?l q:position ?pos ; q:component/q:partNumber ?pn ; q:quantity ?qty .
            OPTIONAL { ?l q:unit ?unit } OPTIONAL { ?l q:designedMaterial/q:grade ?grade }
            OPTIONAL { ?l q:designator ?d } } GROUP BY ?owner ?pos ?pn ?qty ?unit ?grade"""
    )
    return {(str(r["owner"]), int(r["pos"])): r for r in rows}  # type: ignore[call-overload]


def test_three_level_xlsx_with_formula_and_merged_cells(store: GraphStore, wiper_xlsx: Path) -> None:
    result = bom.execute(store, wiper_xlsx, agent="pytest")
    assert result.status == "added"
    lines = _lines(store)
    assert {k for k in lines} == {("WPR-500", 10), ("WPR-500", 20), ("ARM-510", 10), ("ARM-510", 20), ("MOT-520", 10)}
    blade = lines[("ARM-510", 10)]
    assert blade["qty"] == Decimal("0.12") and blade["unit"] == "http://qudt.org/vocab/unit/KiloGM"
    assert blade["grade"] == "EPDM-60"
    assert lines[("ARM-510", 20)]["qty"] == 2  # the cached value of =1+1
    assert lines[("WPR-500", 20)]["des"] == "M1"
    suppliers = {
        r["pn"]: r["sid"]
        for r in store.select(
            "SELECT ?pn ?sid WHERE { ?p q:partNumber ?pn ; q:suppliedBy/q:supplierId|q:suppliedBy ?s . "
            "BIND(REPLACE(STR(?s), '^.*/', '') AS ?sid) }"
        )
    }
    assert suppliers["BLD-511"] == suppliers["CLP-512"] == "SUP-RBR"  # merged H4:H5
    assert store.ask("ASK { ?p a q:Product , q:Part ; q:modelNumber 'WPR-500' }")


def test_formula_without_cached_value_is_refused(store: GraphStore, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "no-cache.xlsx", WIPER_BOM)
    refused(
        store,
        lambda: bom.execute(store, path, agent="pytest"),
        "no-cache.xlsx",
        "sheet 'BOM', row 5",
        "field 'quantity'",
        "D5",
        "=1+1",
        "no cached value",
    )


def test_parent_child_layout_and_designator_ranges(store: GraphStore) -> None:
    bom.execute(store, FIXTURES / "bom_parent_child.csv", agent="pytest")
    lines = _lines(store)
    assert sorted(lines[("PCB-700", 10)]["des"].split(",")) == ["R1", "R2", "R3", "R4"]  # type: ignore[union-attr]
    assert sorted(lines[("PCB-700", 20)]["des"].split(",")) == ["C1", "C2"]  # type: ignore[union-attr]
    assert store.ask("ASK { <https://w3id.org/qualitas/id/product/CTL-70> a q:Product ; q:hasBOM ?b }")
    assert not store.ask("ASK { <https://w3id.org/qualitas/id/product/PCB-700> a q:Product }")


def test_gbk_encoded_chinese_csv(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "bom-gbk.csv"
    path.write_bytes(
        "层级,零件号,名称,数量,单位,材料\n0,CPC-9,充电口盖总成,,,\n1,FLAP-9,盖板,0.5,千克,PA66+GF30\n".encode("gbk")
    )
    bom.execute(store, path, agent="pytest")
    rows = store.select(
        "SELECT ?name ?unit WHERE { ?p q:partNumber 'FLAP-9' ; q:name ?name . ?l q:component ?p ; q:unit ?unit }"
    )
    assert rows == [{"name": "盖板", "unit": "http://qudt.org/vocab/unit/KiloGM"}]


def test_utf8_with_bom(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "bom-utf8-bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + b"Level,Part,Qty\n0,TOP-1,\n1,SUB-1,2\n")
    assert bom.execute(store, path, agent="pytest").triples > 0
    assert store.ask("ASK { ?l q:component/q:partNumber 'SUB-1' }")


def test_configurable_column_mapping_from_yaml(store: GraphStore) -> None:
    columns = load_mapping(FIXTURES / "mapping_plm.yaml")
    bom.execute(store, FIXTURES / "bom_plm_de.csv", agent="pytest", columns=columns)
    rows = store.select(
        "SELECT ?qty ?grade WHERE { ?l q:component/q:partNumber 'TEIL-1' ; q:quantity ?qty ; "
        "q:designedMaterial/q:grade ?grade }"
    )
    assert rows == [{"qty": 3, "grade": "PA6"}]


def test_missing_column(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "no-qty.csv"
    path.write_text("Level,Part\n0,A\n1,B\n")
    refused(
        store,
        lambda: bom.execute(store, path, agent="pytest"),
        "no-qty.csv",
        "row 1 (header)",
        "field 'quantity'",
        "missing required column",
    )


def test_wrong_type(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "bad-qty.csv"
    path.write_text("Level,Part,Qty\n0,A,\n1,B,two\n")
    refused(
        store, lambda: bom.execute(store, path, agent="pytest"), "bad-qty.csv", "row 3", "field 'quantity'", "'two'"
    )


def test_unknown_unit(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "bad-unit.csv"
    path.write_text("Level,Part,Qty,Unit\n0,A,,\n1,B,2,furlongs per fortnight\n")
    refused(
        store, lambda: bom.execute(store, path, agent="pytest"), "bad-unit.csv", "row 3", "field 'unit'", "furlongs"
    )


def test_duplicate_position(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("Level,Part,Qty,Pos\n0,A,,\n1,B,1,10\n1,C,1,10\n")
    refused(
        store,
        lambda: bom.execute(store, path, agent="pytest"),
        "dup.csv",
        "row 4",
        "field 'position'",
        "duplicate BOM position",
        "row 3",
    )


def test_level_jump(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "jump.csv"
    path.write_text("Level,Part,Qty\n0,A,\n2,B,1\n")
    refused(store, lambda: bom.execute(store, path, agent="pytest"), "jump.csv", "row 3", "field 'level'")


def test_reload_is_noop_and_change_replaces_only_that_graph(store: GraphStore, tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    shutil.copy(FIXTURES / "bom_parent_child.csv", other)
    bom.execute(store, other, agent="pytest")
    path = tmp_path / "b.csv"
    path.write_text("Level,Part,Qty\n0,A,\n1,B,1\n")
    bom.execute(store, path, agent="pytest")
    before = store.snapshot()
    assert bom.execute(store, path, agent="pytest").status == "unchanged"
    assert bom.simulate(path, store).status == "unchanged"
    assert store.snapshot() == before
    path.write_text("Level,Part,Qty\n0,A,\n1,B,3\n")
    # a replace is deliberate: without replace=True it is refused, naming the loaded batch
    assert bom.simulate(path, store).status == "refused"
    refused(store, lambda: bom.execute(store, path, agent="pytest"), "b.csv", "already loaded", "--replace")
    assert bom.simulate(path, store, replace=True).status == "replace"
    assert store.snapshot() == before
    assert bom.execute(store, path, agent="pytest", replace=True).status == "replaced"
    after = store.snapshot()
    other_graph = {q for q in before if "other.csv" in q[3]}
    assert other_graph and other_graph <= after
    assert store.select("SELECT ?q WHERE { ?l q:component/q:partNumber 'B' ; q:quantity ?q }") == [{"q": 3}]
