"""Entity pages and batches in the core: paging in SPARQL, one query per batch, safe literals."""

from __future__ import annotations

import datetime as dt

import pytest

from qualitas.errors import InputError
from qualitas.reasoning import entities
from qualitas.store import GraphStore, Row


class Recording:
    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.queries: list[str] = []

    def select(self, query: str) -> list[Row]:
        self.queries.append(query)
        return self.store.select(query)


def test_a_page_is_one_query_with_limit_plus_one(demo_store: GraphStore) -> None:
    recording = Recording(demo_store)
    page = entities.list_lots(recording, limit=3, after="CL")  # type: ignore[arg-type]
    assert [e.key for e in page.entries] == ["CL-240610-B", "CL-240802-A", "CPC-240918"]
    assert page.has_next and page.after == "CL"
    (query,) = recording.queries
    assert "LIMIT 4" in query and 'FILTER(STR(?key) > "CL")' in query


def test_batches_answer_every_key_with_one_query(demo_store: GraphStore) -> None:
    recording = Recording(demo_store)
    found = entities.by_key(recording, entities.SUPPLIERS, ["SUP-NPP", "SUP-VNC", "SUP-NONE"])  # type: ignore[arg-type]
    assert sorted(found) == ["SUP-NPP", "SUP-VNC"] and found["SUP-VNC"].country == "VN"
    owners = [s.id for s in found.values()]
    declarations = entities.related(recording, entities.SUPPLIER_DECLARATIONS, owners)  # type: ignore[arg-type]
    assert [d.number for d in declarations[found["SUP-VNC"].id]] == ["VNC-IPC1752-CNT", "VNC-IPC1752-PLG"]
    assert len(recording.queries) == 2
    assert entities.by_iri(recording, entities.SUPPLIERS, []) == {}  # type: ignore[arg-type]
    assert len(recording.queries) == 2


def test_user_text_is_an_escaped_literal(demo_store: GraphStore) -> None:
    hostile = '"} UNION { ?x ?p ?o } #\\\n'
    assert entities.list_parts(demo_store, text=hostile).entries == ()
    assert entities.list_suppliers(demo_store, after=hostile).entries[0].key == "SUP-ALC"
    assert entities.list_suppliers(demo_store, after="~" + hostile).entries == ()
    assert entities.by_key(demo_store, entities.PARTS, [hostile]) == {}


def test_a_page_holds_at_least_one_item(demo_store: GraphStore) -> None:
    with pytest.raises(InputError):
        entities.list_parts(demo_store, limit=0)


def test_calibration_status_on_a_day(demo_store: GraphStore) -> None:
    fc12 = entities.by_key(demo_store, entities.EQUIPMENT, ["FC-12"])["FC-12"]
    certificates = entities.related(demo_store, entities.EQUIPMENT_CALIBRATIONS, [fc12.id])[fc12.id]
    assert entities.calibration_status(certificates, dt.date(2024, 6, 10)) == "valid"
    assert entities.calibration_status(certificates, dt.date(2024, 8, 2)) == "expired"
    assert entities.calibration_status((), dt.date(2024, 8, 2)) == "none"


def test_names_are_read_in_the_default_language_not_a_random_translation(demo_store: GraphStore) -> None:
    """Demo products and parts carry their names in de/fr/zh/vi as well; the API's
    ``name`` is the untagged value, every time."""
    langs = {str(r["l"]) for r in demo_store.select(
        'SELECT DISTINCT (LANG(?n) AS ?l) WHERE { ?p a q:Product ; q:name ?n }')}
    assert {"de", "zh"} <= langs, langs  # the case exists in the demo data
    untagged = {str(r["m"]): str(r["n"]) for r in demo_store.select(
        'SELECT ?m ?n WHERE { ?p a q:Product ; q:modelNumber ?m ; q:name ?n FILTER(LANG(?n) = "") }')}
    page = entities.list_product_page(demo_store, limit=50)
    assert page.entries and {e.node.model_number: e.node.name for e in page.entries} == untagged
    parts = entities.list_parts(demo_store, limit=200)
    tagged = {str(r["pn"]) for r in demo_store.select(
        'SELECT DISTINCT ?pn WHERE { ?p a q:Part ; q:partNumber ?pn ; q:name ?n FILTER(LANG(?n) = "zh") }')}
    assert tagged
    for e in parts.entries:
        if e.node.part_number in tagged:
            assert e.node.name and not any("\u4e00" <= ch <= "\u9fff" for ch in e.node.name), e.node
