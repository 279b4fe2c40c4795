"""Identifiers are checked on the way in: a bad GTIN/UDI-DI, CAS, EC or FDA number, or a
predicate device that is nowhere in the data, refuses the file with its name, the line
(or row) and the field, and leaves the store unchanged (issue 13, deliverable 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ingest_helpers import EPCIS_DIR, FIXTURES, refused, write_xlsx

from qualitas.demo import demo_graph
from qualitas.errors import ValidationError
from qualitas.ingest import bom, complaints, epcis, ipc1752, load_paths, mes, rdf, test_reports
from qualitas.ingest._gs1 import parse
from qualitas.store import GraphStore

GOOD_GTIN = "09506000134352"  # the GS1 Digital Link standard's example GTIN
BAD_GTIN = "09506000134353"  # one digit off

# ---------------------------------------------------------------- GS1 parsing


def test_gs1_parse_checks_digital_link_and_epc_digits() -> None:
    assert parse(f"https://id.gs1.org/01/{GOOD_GTIN}/21/X1") is not None
    assert parse("https://id.gs1.org/01/6291041500213/10/L1").gtin == "06291041500213"  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="check digit 3, expected 2"):
        parse(f"https://id.gs1.org/01/{BAD_GTIN}/21/X1")
    with pytest.raises(ValidationError, match="8, 12, 13 or 14 digits"):
        parse("https://id.gs1.org/01/123456789/21/X1")
    with pytest.raises(ValidationError, match="invalid SSCC"):
        parse("https://id.gs1.org/00/106141412345678901")
    assert parse("https://id.gs1.org/00/106141412345678908") is not None
    with pytest.raises(ValidationError, match="must make 13 digits"):
        parse("urn:epc:id:sgtin:0614141.10734.2017")  # one digit short of a GTIN
    with pytest.raises(ValidationError, match="must make 17 digits"):
        parse("urn:epc:id:sscc:0614141.123456789")
    assert parse("WPR-0001") is None


# ---------------------------------------------------------------- IPC-1752A


def _declaration(tmp_path: Path, old: str, new: str) -> Path:
    text = (FIXTURES / "ipc1752_class_d.xml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "decl.xml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_ipc1752_bad_cas_names_file_line_and_element(store: GraphStore, tmp_path: Path) -> None:
    path = _declaration(tmp_path, 'identity="1309-64-4"', 'identity="1309-64-5"')
    message = refused(
        store,
        lambda: ipc1752.execute(store, path, agent="pytest"),
        f"decl.xml:{_line(path, '1309-64-5')}",
        "/SubstanceID",
        "field 'identity'",
        "'1309-64-5' is not a valid CAS number: check digit 5, expected 4",
    )
    assert "cas.org" in message
    plan = ipc1752.simulate(path, store)
    assert plan.status == "refused" and "1309-64-5" in (plan.message or "")


def test_ipc1752_ec_numbers_are_checked_and_kept(store: GraphStore, tmp_path: Path) -> None:
    good = _declaration(tmp_path, 'identity="1309-64-4" authority="CAS"', 'identity="215-175-0" authority="EINECS"')
    ipc1752.execute(store, good, agent="pytest")
    assert store.ask("ASK { ?s <https://w3id.org/qualitas/ontology#ecNumber> '215-175-0' }")
    bad = _declaration(tmp_path, 'identity="1309-64-4" authority="CAS"', 'identity="215-175-1" authority="EC"')
    refused(
        store,
        lambda: ipc1752.execute(store, bad, agent="pytest"),
        f"decl.xml:{_line(bad, '215-175-1')}",
        "'215-175-1' is not a valid EC number: check digit 1, expected 0",
    )


# ---------------------------------------------------------------- tables


def test_bom_gtin_column_csv(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text(f"Level,Part,Qty,GTIN\n0,OX-50,1,{GOOD_GTIN}\n1,OXS-1,1,6291041500213\n1,OXH-2,1,{BAD_GTIN}\n")
    refused(
        store,
        lambda: bom.execute(store, path, agent="pytest"),
        "bom.csv, row 4, field 'gtin'",
        f"'{BAD_GTIN}' is not a valid GTIN: check digit 3, expected 2",
    )
    path.write_text(f"Level,Part,Qty,GTIN\n0,OX-50,1,{GOOD_GTIN}\n1,OXS-1,1,6291041500213\n1,OXH-2,1,\n")
    bom.execute(store, path, agent="pytest")
    rows = store.select("SELECT ?n ?g WHERE { ?p q:partNumber ?n ; q:gtin ?g }")
    assert {(str(r["n"]), str(r["g"])) for r in rows} == {("OX-50", GOOD_GTIN), ("OXS-1", "06291041500213")}


def test_bom_gtin_column_xlsx(store: GraphStore, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "bom.xlsx",
        [["Level", "Part", "Qty", "EAN"], [0, "OX-50", 1, None], [1, "OXS-1", 1, "4006381333932"]],
    )
    refused(
        store,
        lambda: bom.execute(store, path, agent="pytest"),
        "sheet 'BOM', row 3, field 'gtin'",
        "'4006381333932' is not a valid GTIN",
    )


def test_complaint_serial_as_digital_link(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "complaints.csv"
    header = "complaint_id,received,channel,serial,market,text\n"
    path.write_text(header + f"C-1,2025-03-02,dealer,https://id.gs1.org/01/{BAD_GTIN}/21/7,US,No reading\n")
    refused(
        store,
        lambda: complaints.execute(store, path, agent="pytest"),
        "complaints.csv, row 2, field 'serial'",
        "invalid GTIN",
    )
    path.write_text(header + f"C-1,2025-03-02,dealer,https://id.gs1.org/01/{GOOD_GTIN}/21/7,US,No reading\n")
    assert complaints.execute(store, path, agent="pytest").status == "added"


def test_mes_json_lot_as_digital_link_names_the_line(store: GraphStore, tmp_path: Path) -> None:
    run = {
        "run_id": "R-1",
        "step": "S10",
        "equipment": "IMM-3",
        "start": "2025-01-12T06:00:00+01:00",
        "end": "2025-01-12T14:00:00+01:00",
        "produced_lots": [f"https://id.gs1.org/01/{BAD_GTIN}/10/L7"],
        "part": "ARM-510",
    }
    path = tmp_path / "runs.json"
    path.write_text(json.dumps({"runs": [run]}, indent=1))
    refused(
        store,
        lambda: mes.execute(store, path, agent="pytest"),
        f"runs.json:{_line(path, BAD_GTIN)}",
        "runs[0]",
        "field 'produced_lots'",
        "invalid GTIN",
    )


def test_test_report_lot_as_digital_link(store: GraphStore, tmp_path: Path) -> None:
    lines = (FIXTURES / "test_reports.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("NPP-CLIP-01", f"https://id.gs1.org/01/{BAD_GTIN}/10/NPP-CLIP-01")
    path = tmp_path / "coa.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused(
        store, lambda: test_reports.execute(store, path, agent="pytest"), "coa.csv, row 3, field 'lot'", "invalid GTIN"
    )


# ---------------------------------------------------------------- EPCIS


def test_epcis_digital_link_with_bad_check_digit(store: GraphStore, tmp_path: Path) -> None:
    document = json.loads((EPCIS_DIR / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    document["epcisBody"]["eventList"][1]["epcList"] = [f"https://id.gs1.org/01/{BAD_GTIN}/21/2018"]
    path = tmp_path / "events.jsonld"
    path.write_text(json.dumps(document, indent=1))
    refused(
        store,
        lambda: epcis.execute(store, path, agent="pytest"),
        f"events.jsonld:{_line(path, BAD_GTIN)}",
        "epcisBody.eventList[1]",
        "field 'epcList[0]'",
        "check digit 3, expected 2",
    )
    assert epcis.simulate(path, store).status == "refused"


def test_epcis_sgtin_with_wrong_digit_count(store: GraphStore, tmp_path: Path) -> None:
    document = json.loads((EPCIS_DIR / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    document["epcisBody"]["eventList"][0]["epcList"][1] = "urn:epc:id:sgtin:0614141.1073460.2018"
    path = tmp_path / "events.jsonld"
    path.write_text(json.dumps(document, indent=1))
    refused(
        store,
        lambda: epcis.execute(store, path, agent="pytest"),
        "epcisBody.eventList[0]",
        "field 'epcList[1]'",
        "must make 13 digits",
    )


# ---------------------------------------------------------------- RDF

PREFIX = (
    "@prefix q: <https://w3id.org/qualitas/ontology#> .\n"
    "@prefix product: <https://w3id.org/qualitas/id/product/> .\n"
    "@prefix predicate: <https://w3id.org/qualitas/id/predicate-device/> .\n"
)  # the body starts on line 4
PREDICATE = 'predicate:K131021 q:clearanceNumber "K131021" ; q:name "Nonin 3230" .\n'


def _ttl(tmp_path: Path, body: str, name: str = "data.ttl") -> Path:
    path = tmp_path / name
    path.write_text(PREFIX + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("triple", "fragments"),
    [
        (f'q:gtin "{BAD_GTIN}"', ("field 'q:gtin'", "not a valid GTIN")),
        ('q:udiDi "00860012345672"', ("field 'q:udiDi'", "check digit 2, expected 0")),
        ('q:casNumber "117-81-6"', ("field 'q:casNumber'", "not a valid CAS number")),
        ('q:ecNumber "204-211-1"', ("field 'q:ecNumber'", "not a valid EC number")),
        ('q:clearanceNumber "K000000"', ("field 'q:clearanceNumber'", "placeholder")),
        ('q:clearanceNumber "510k-131021"', ("field 'q:clearanceNumber'", "K and six digits")),
    ],
)
def test_rdf_bad_identifier_literals(
    store: GraphStore, tmp_path: Path, triple: str, fragments: tuple[str, ...]
) -> None:
    path = _ttl(tmp_path, f'product:OX-50 q:name "OX-50" .\nproduct:OX-50 {triple} .\n')
    refused(
        store,
        lambda: load_paths(store, [path], agent="pytest"),
        "data.ttl:5",
        "subject <https://w3id.org/qualitas/id/product/OX-50>",
        *fragments,
    )
    [plan] = load_paths(store, [path], agent="pytest", dry_run=True)
    assert plan.status == "refused" and "data.ttl:5" in (plan.message or "")


def test_rdf_good_identifiers_load(store: GraphStore, tmp_path: Path) -> None:
    path = _ttl(
        tmp_path,
        f'product:OX-50 q:gtin "{GOOD_GTIN}" ; q:udiDi "{GOOD_GTIN}" ;\n'
        "    q:predicateDevice predicate:K131021 .\n"
        + PREDICATE
        + '<urn:x:cadmium> q:casNumber "7440-43-9" ; q:ecNumber "231-152-8" .\n',
    )
    assert rdf.simulate(path, store).status == "add"
    assert rdf.execute(store, path, agent="pytest").status == "added"


def test_rdf_predicate_device_must_be_in_the_file_or_the_store(store: GraphStore, tmp_path: Path) -> None:
    product = _ttl(tmp_path, "product:OX-50 q:predicateDevice predicate:K131021 .\n", "product.ttl")
    refused(
        store,
        lambda: rdf.execute(store, product, agent="pytest"),
        "product.ttl:4",
        "subject <https://w3id.org/qualitas/id/product/OX-50>",
        "field 'q:predicateDevice'",
        "no q:clearanceNumber",
    )
    assert rdf.simulate(product, store).status == "refused"
    rdf.execute(store, _ttl(tmp_path, PREDICATE, "predicates.ttl"), agent="pytest")
    assert rdf.execute(store, product, agent="pytest").status == "added"


def test_rdf_predicate_device_without_number_or_as_literal(store: GraphStore, tmp_path: Path) -> None:
    unnumbered = _ttl(
        tmp_path,
        'product:OX-50 q:predicateDevice [ q:name "some oximeter" ] .\n',
    )
    refused(store, lambda: rdf.execute(store, unnumbered, agent="pytest"), "no q:clearanceNumber")
    literal = _ttl(tmp_path, 'product:OX-50 q:predicateDevice "K131021" .\n')
    refused(store, lambda: rdf.execute(store, literal, agent="pytest"), "data.ttl:4", "points at a node")


def test_rdf_bad_identifier_in_ntriples(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "data.nt"
    path.write_text(
        '<urn:x:a> <https://w3id.org/qualitas/ontology#name> "A" .\n'
        '<urn:x:a> <https://w3id.org/qualitas/ontology#casNumber> "50-00-1" .\n'
    )
    refused(store, lambda: rdf.execute(store, path, agent="pytest"), "data.nt:2", "<urn:x:a>", "'50-00-1'")


# ---------------------------------------------------------------- demo


def test_demo_identifiers_pass_the_checks(store: GraphStore) -> None:
    """The demo builds RDF in Python (no ingest parser); its identifiers must still pass
    the same checks, and its products' predicate devices carry their numbers."""
    from rdflib import URIRef

    from qualitas.ontology import Q

    graph = demo_graph()
    bad = []
    for predicate, (name, check) in rdf.CHECKS.items():
        for subject, value in graph.subject_objects(URIRef(predicate)):
            try:
                check(str(value))
            except ValidationError as exc:
                bad.append(f"{subject} {name}: {exc}")
    for product, device in graph.subject_objects(Q.predicateDevice):
        if graph.value(device, Q.clearanceNumber) is None:
            bad.append(f"{product} q:predicateDevice {device}: no q:clearanceNumber")
    assert bad == []
    result = store.load_triples(graph, source="qualitas-demo", sha256="0" * 64, agent="pytest", format="generated")
    assert result.status == "added"
