"""Complaints: free text in any language, with its language tag."""

from __future__ import annotations

from pathlib import Path

from ingest_helpers import FIXTURES, refused

from qualitas.ingest import complaints
from qualitas.store import GraphStore


def test_csv_keeps_the_customers_words_with_language(store: GraphStore) -> None:
    complaints.execute(store, FIXTURES / "complaints.csv", agent="pytest")
    rows = store.select(
        "SELECT ?id ?text (LANG(?text) AS ?lang) WHERE { ?c q:complaintId ?id ; q:text ?text } ORDER BY ?id"
    )
    assert [(r["id"], r["lang"]) for r in rows] == [("C-WPR-1", "de"), ("C-WPR-2", "zh")]
    assert rows[1]["text"] == "雨刮器在下雨时发出异响"
    assert store.ask(
        "ASK { ?c q:complaintId 'C-WPR-1' ; q:concernsUnit/q:serialNumber 'WPR-0001' ; "
        "q:market/q:code 'EU' ; q:failureMode/q:code 'FM-RATTLE' ; q:receivedOn ?d }"
    )


def test_json_with_several_languages_and_an_epc_serial(store: GraphStore) -> None:
    complaints.execute(store, FIXTURES / "complaints.json", agent="pytest")
    langs = {
        r["lang"] for r in store.select("SELECT (LANG(?t) AS ?lang) WHERE { ?c q:complaintId 'C-EPC-1' ; q:text ?t }")
    }
    assert langs == {"en", "fr"}
    assert store.ask(
        "ASK { ?c q:complaintId 'C-EPC-1' ; q:concernsUnit "
        "<https://id.gs1.org/01/04012345778892/21/25> }"  # the GS1 Digital Link itself is the unit's IRI
    )


def test_bad_inputs(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    head = "complaint_id,received,channel,serial,market,text,lang\n"
    path.write_text(head + "C1,2025-13-01,app,S1,EU,broken,en\n")
    refused(store, lambda: complaints.execute(store, path, agent="pytest"), "c.csv", "row 2", "field 'received'")
    path.write_text(head + "C1,2025-01-01,app,S1,EU,broken,english please\n")
    refused(store, lambda: complaints.execute(store, path, agent="pytest"), "row 2", "field 'lang'", "BCP 47")
    path.write_text(head + "C1,2025-01-01,app,,EU,broken,en\n")
    refused(store, lambda: complaints.execute(store, path, agent="pytest"), "row 2", "field 'serial'")
    path.write_text(head + "C1,2025-01-01,app,S1,EU,broken,en\nC1,2025-01-02,app,S2,EU,again,en\n")
    refused(store, lambda: complaints.execute(store, path, agent="pytest"), "row 3", "duplicate complaint 'C1'")
    path.write_text("complaint_id,received,serial,market,text\nC1,2025-01-01,S1,EU,x\n")
    refused(store, lambda: complaints.execute(store, path, agent="pytest"), "row 1 (header)", "field 'channel'")
