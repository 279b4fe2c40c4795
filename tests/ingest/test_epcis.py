"""GS1 EPCIS 2.0: the four real GS1 examples load offline and their lineage is traceable."""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from pathlib import Path

import pytest
from ingest_helpers import EPCIS_DIR, refused

from qualitas.ingest import epcis, load_paths
from qualitas.ingest._gs1 import parse
from qualitas.reasoning.trace import recall_scope
from qualitas.store import GraphStore

EXAMPLES = sorted(EPCIS_DIR.glob("*.jsonld"))
OUTPUT = "urn:epc:id:sgtin:4012345.077889.25"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("EPCIS ingest tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_the_four_gs1_examples_are_there() -> None:
    assert [p.name for p in EXAMPLES] == [
        "Example_9.6.1-ObjectEvent.jsonld",
        "Example_9.6.3-AggregationEvent.jsonld",
        "Example_9.6.4-TransformationEvent.jsonld",
        "SensorDataExample1.jsonld",
    ]


def test_all_four_load_offline(store: GraphStore, no_network: None) -> None:
    results = load_paths(store, EXAMPLES, agent="pytest")
    assert [r.status for r in results] == ["added"] * 4
    counts = {
        r["t"]: r["n"]
        for r in store.select("SELECT ?t (COUNT(?e) AS ?n) WHERE { ?e a ?t ; epcis:eventTime ?time } GROUP BY ?t")
    }
    assert counts == {
        "https://ref.gs1.org/epcis/ObjectEvent": 3,
        "https://ref.gs1.org/epcis/AggregationEvent": 1,
        "https://ref.gs1.org/epcis/TransformationEvent": 1,
        "https://w3id.org/qualitas/ontology#ProductionRun": 1,
    }


def test_trace_from_transformation_output_back_to_input_lots(store: GraphStore) -> None:
    epcis.execute(store, EPCIS_DIR / "Example_9.6.4-TransformationEvent.jsonld", agent="pytest")
    rows = store.select(
        f"""SELECT ?lot ?number ?gtin WHERE {{
            ?unit q:epc "{OUTPUT}" .
            ?unit (^q:produced/q:consumed)+ ?lot . ?lot a q:Lot ; q:lotNumber ?number ; q:ofPart/q:gtin ?gtin }}"""
    )
    assert {(r["number"], r["gtin"]) for r in rows} == {("4444", "04012345111118"), ("987", "00614141777778")}
    lot = parse("urn:epc:class:lgtin:4012345.011111.4444")
    assert lot is not None
    scope = recall_scope(store, str(lot.iri))
    assert {u.serial for u in scope.units} == {"25", "26", "27", "28"}


def test_aggregation_packs_children_into_the_sscc(store: GraphStore) -> None:
    epcis.execute(store, EPCIS_DIR / "Example_9.6.3-AggregationEvent.jsonld", agent="pytest")
    rows = store.select("SELECT ?child ?parent WHERE { ?c q:packedIn ?p . ?c q:epc ?child . ?p q:epc ?parent }")
    assert {(r["child"], r["parent"]) for r in rows} == {
        ("urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sscc:0614141.1234567890"),
        ("urn:epc:id:sgtin:0614141.107346.2018", "urn:epc:id:sscc:0614141.1234567890"),
        ("urn:epc:class:lgtin:4012345.012345.998877", "urn:epc:id:sscc:0614141.1234567890"),
    }
    assert store.ask(
        "ASK { ?e epcis:readPoint <urn:epc:id:sgln:0614141.00777.0> ; "
        "epcis:bizLocation <urn:epc:id:sgln:0614141.00888.0> ; epcis:bizStep cbv:BizStep-receiving }"
    )
    assert store.ask("ASK { ?e <http://ns.example.com/epcis/myField> 'Example of a vendor/user extension' }")


def test_sensor_reports_become_observations(store: GraphStore) -> None:
    epcis.execute(store, EPCIS_DIR / "SensorDataExample1.jsonld", agent="pytest")
    rows = store.select(
        """SELECT ?value ?unit ?time WHERE { ?o a sosa:Observation ;
            sosa:observedProperty <https://gs1.org/voc/Temperature> ; q:value ?value ; q:unit ?unit ;
            sosa:resultTime ?time ; sosa:madeBySensor <urn:epc:id:giai:4000001.111> } ORDER BY ?time"""
    )
    assert [r["value"] for r in rows] == [Decimal("26.0"), Decimal("26.1"), Decimal("26.2")]
    assert {r["unit"] for r in rows} == {"http://qudt.org/vocab/unit/DEG_C"}


def test_digital_link_and_epc_meet_on_one_unit() -> None:
    epc, link = parse("urn:epc:id:sgtin:0614141.107346.2017"), parse("https://id.gs1.org/01/10614141073464/21/2017")
    assert epc is not None and link is not None
    assert epc.iri == link.iri and epc.gtin == "10614141073464"


def _bad(tmp_path: Path, mutate: object) -> Path:
    document = json.loads((EPCIS_DIR / "Example_9.6.4-TransformationEvent.jsonld").read_text())
    mutate(document["epcisBody"]["eventList"][0])  # type: ignore[operator]
    path = tmp_path / "bad.jsonld"
    path.write_text(json.dumps(document))
    return path


def test_wrong_type_quantity(store: GraphStore, tmp_path: Path) -> None:
    path = _bad(tmp_path, lambda e: e["inputQuantityList"][0].update(quantity="ten"))
    refused(
        store,
        lambda: epcis.execute(store, path, agent="pytest"),
        "bad.jsonld",
        "epcisBody.eventList[0]",
        "field 'inputQuantityList[0].quantity'",
        "'ten'",
    )


def test_unknown_unit(store: GraphStore, tmp_path: Path) -> None:
    path = _bad(tmp_path, lambda e: e["inputQuantityList"][0].update(uom="XYZ"))
    refused(
        store,
        lambda: epcis.execute(store, path, agent="pytest"),
        "eventList[0]",
        "field 'inputQuantityList[0].uom'",
        "'XYZ'",
    )


def test_missing_field_and_malformed_epc(store: GraphStore, tmp_path: Path) -> None:
    path = _bad(tmp_path, lambda e: e.pop("eventTime"))
    refused(store, lambda: epcis.execute(store, path, agent="pytest"), "eventList[0]", "field 'eventTime'")
    path = _bad(tmp_path, lambda e: e["outputEPCList"].append("urn:epc:id:sgtin:garbage"))
    refused(store, lambda: epcis.execute(store, path, agent="pytest"), "field 'outputEPCList[4]'", "malformed EPC")


def test_duplicate_event_id(store: GraphStore, tmp_path: Path) -> None:
    document = json.loads((EPCIS_DIR / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    events = document["epcisBody"]["eventList"]
    events[1]["eventID"] = events[0]["eventID"]
    path = tmp_path / "dup.jsonld"
    path.write_text(json.dumps(document))
    refused(
        store,
        lambda: epcis.execute(store, path, agent="pytest"),
        "dup.jsonld",
        "epcisBody.eventList[1]",
        "field 'eventID'",
        "duplicate eventID",
    )


def test_reload_is_noop(store: GraphStore) -> None:
    load_paths(store, EXAMPLES, agent="pytest")
    before = store.snapshot()
    assert {r.status for r in load_paths(store, EXAMPLES, agent="pytest")} == {"unchanged"}
    assert store.snapshot() == before
