"""Identifiers as users write them (issue 14, item 20): a lot by lot number, IRI, EPC
class URI or GS1 Digital Link; a complaint by id or by the IRI ``complaints --json``
prints. EPCIS objects are named by their GS1 Digital Link itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qualitas.demo import CLIP_LOT, COMPLAINT_B
from qualitas.errors import NotFoundError
from qualitas.ingest import load_paths
from qualitas.reasoning.products import get_complaint, list_complaints
from qualitas.reasoning.trace import recall_scope, reverse_trace
from qualitas.store import GraphStore, open_store
from tests.conftest import SHARED

TRANSFORMATION = SHARED / "fixtures" / "epcis" / "Example_9.6.4-TransformationEvent.jsonld"
LOT_EPC = "urn:epc:class:lgtin:4012345.011111.4444"
LOT_LINK = "https://id.gs1.org/01/04012345111118/10/4444"
OUTPUT_LINK = "https://id.gs1.org/01/04012345778892/21/25"


@pytest.fixture(scope="module")
def epcis_store() -> Iterator[GraphStore]:
    store = open_store(None)
    [result] = load_paths(store, [TRANSFORMATION], agent="pytest")
    assert result.status == "added"
    yield store
    store.close()


@pytest.mark.parametrize("lot_id", [LOT_EPC, LOT_LINK, f"  {LOT_EPC} "], ids=["epc-class", "digital-link", "spaces"])
def test_trace_lot_accepts_the_forms_epcis_names_it_by(epcis_store: GraphStore, lot_id: str) -> None:
    scope = recall_scope(epcis_store, lot_id)
    assert scope.lot.id == LOT_LINK
    assert scope.lot.lot_number == "4444"
    assert {u.serial for u in scope.units} == {"25", "26", "27", "28"}


def test_epcis_objects_are_named_by_their_digital_link(epcis_store: GraphStore) -> None:
    assert epcis_store.ask(f"ASK {{ <{LOT_LINK}> a q:Lot ; q:epc '{LOT_EPC}' }}")
    assert epcis_store.ask(f"ASK {{ <{OUTPUT_LINK}> a q:SerialUnit ; q:serialNumber '25' }}")
    encoded = epcis_store.select(
        "SELECT ?s WHERE { ?s ?p ?o "
        "FILTER(CONTAINS(STR(?s), 'id.gs1.org') && !STRSTARTS(STR(?s), 'https://id.gs1.org/')) }"
    )
    assert encoded == []


def test_a_digital_link_for_another_lot_is_not_found(epcis_store: GraphStore) -> None:
    with pytest.raises(NotFoundError, match="no lot"):
        recall_scope(epcis_store, "https://id.gs1.org/01/04012345111118/10/9999")


def test_trace_lot_by_number_and_by_iri_still_work(demo_store: GraphStore) -> None:
    by_number = recall_scope(demo_store, CLIP_LOT)
    assert recall_scope(demo_store, by_number.lot.id) == by_number


def test_trace_complaint_accepts_the_iri_complaints_prints(demo_store: GraphStore) -> None:
    [listed] = [c for c in list_complaints(demo_store) if c.complaint_id == COMPLAINT_B]
    assert listed.id.startswith("https://")
    by_iri = reverse_trace(demo_store, listed.id)
    assert by_iri == reverse_trace(demo_store, COMPLAINT_B)
    assert by_iri.complaint.complaint_id == COMPLAINT_B


def test_an_unsafe_identifier_is_not_found_not_a_crash(demo_store: GraphStore) -> None:
    with pytest.raises(NotFoundError, match="no complaint with id"):
        reverse_trace(demo_store, 'x:<"bad">')
    with pytest.raises(NotFoundError, match="no lot"):
        recall_scope(demo_store, "x:{y}")


def test_complaint_lookup_accepts_its_iri_too(demo_store: GraphStore) -> None:
    [listed] = [c for c in list_complaints(demo_store) if c.complaint_id == COMPLAINT_B]
    assert get_complaint(demo_store, listed.id) == get_complaint(demo_store, COMPLAINT_B) == listed
    with pytest.raises(NotFoundError, match="no complaint with id 'CMP-NOPE'"):
        get_complaint(demo_store, "CMP-NOPE")
