"""IPC-1752A declarations: classes C and D, and safe XML (no XXE, no entity bombs)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ingest_helpers import FIXTURES, refused

from qualitas.ingest import ipc1752
from qualitas.store import GraphStore


def test_class_d_materials_substances_masses_and_exemptions(store: GraphStore) -> None:
    result = ipc1752.execute(store, FIXTURES / "ipc1752_class_d.xml", agent="pytest")
    assert result.status == "added"
    rows = store.select(
        """SELECT ?grade ?cas ?mass ?unit ?fraction WHERE {
            ?d a q:SupplierDeclaration ; q:declarationClass "D" ; q:declaredBy/q:supplierId "SUP-NPP" ;
               q:declarationFor/q:partNumber "CLP-512" ; q:hasCompositionEntry ?e .
            ?e q:material/q:grade ?grade ; q:substance/q:casNumber ?cas .
            OPTIONAL { ?e q:quantity ?mass ; q:unit ?unit } OPTIONAL { ?e q:massFraction ?fraction } }"""
    )
    by_cas = {r["cas"]: r for r in rows}
    assert set(by_cas) == {"24968-12-5", "65997-17-3", "1309-64-4", "7440-50-8", "7439-92-1"}
    assert by_cas["65997-17-3"]["fraction"] == Decimal("0.3")  # 1.5 g of 5 g
    assert by_cas["1309-64-4"]["fraction"] == Decimal("0.002")  # 2000 ppm
    assert by_cas["7440-50-8"]["fraction"] == Decimal("0.936")  # Concentration 93.6 %
    assert by_cas["24968-12-5"]["mass"] == 3400 and by_cas["24968-12-5"]["unit"].endswith("/MilliGM")
    assert store.select(
        "SELECT ?code WHERE { ?e q:substance/q:casNumber '7439-92-1' ; q:claimsExemption/q:code ?code }"
    ) == [{"code": "6(c)"}]
    assert store.ask("ASK { ?m q:grade 'CuSn6' ; q:containsSubstance/q:casNumber '7439-92-1' }")


def test_class_c_categories_thresholds_and_exemption_list(store: GraphStore) -> None:
    ipc1752.execute(store, FIXTURES / "ipc1752_class_c.xml", agent="pytest")
    rows = store.select(
        """SELECT ?cat ?above ?ex ?list WHERE { ?d q:declarationClass "C" ; q:hasCompositionEntry ?e .
            ?e q:substanceCategory ?cat ; q:aboveThreshold ?above .
            OPTIONAL { ?e q:claimsExemption ?x . ?x q:code ?ex ; q:identifier ?list } }"""
    )
    by_cat = {r["cat"]: r for r in rows}
    assert by_cat["Lead/Lead Compounds"]["above"] is True
    assert by_cat["Lead/Lead Compounds"]["ex"] == "6(c)"
    assert by_cat["Lead/Lead Compounds"]["list"] == "EU RoHS Annex III"
    assert by_cat["Cadmium/Cadmium Compounds"]["above"] is False


def test_external_entity_is_refused(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "xxe.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE MainDeclaration [\n'
        '  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
        '<MainDeclaration><BusinessInfo><Response date="2025-01-01">'
        '<SupplyCompany name="&xxe;"/></Response></BusinessInfo></MainDeclaration>\n'
    )
    refused(
        store,
        lambda: ipc1752.execute(store, path, agent="pytest"),
        "xxe.xml",
        "external entity 'xxe'",
        "file:///etc/passwd",
        "never resolved",
    )


def test_entity_expansion_bomb_is_refused(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE MainDeclaration [\n'
        + "\n".join(entities)
        + "\n]>\n<MainDeclaration>&lol9;</MainDeclaration>\n"
    )
    refused(
        store,
        lambda: ipc1752.execute(store, path, agent="pytest"),
        "bomb.xml",
        "declares the entity",
        "entity expansion",
    )


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "decl.xml"
    path.write_text((FIXTURES / "ipc1752_class_d.xml").read_text().replace(old, new, 1))
    return path


def test_wrong_type_names_element_and_attribute(store: GraphStore, tmp_path: Path) -> None:
    path = _variant(tmp_path, '<Amount value="1.5" UOM="g"/>', '<Amount value="1,5 g" UOM="g"/>')
    refused(
        store,
        lambda: ipc1752.execute(store, path, agent="pytest"),
        "decl.xml",
        "HomogeneousMaterial[1] ('PBT+GF30')",
        "Substance[2] ('Glass fibre')/Amount",
        "field 'value'",
        "'1,5 g'",
    )


def test_unknown_unit(store: GraphStore, tmp_path: Path) -> None:
    path = _variant(tmp_path, 'value="3400" UOM="mg"', 'value="3400" UOM="grain"')
    refused(
        store,
        lambda: ipc1752.execute(store, path, agent="pytest"),
        "decl.xml",
        "Substance[1]",
        "field 'UOM'",
        "'grain'",
    )


def test_bad_cas_number(store: GraphStore, tmp_path: Path) -> None:
    path = _variant(tmp_path, "65997-17-3", "65997-17-4")
    refused(
        store,
        lambda: ipc1752.execute(store, path, agent="pytest"),
        "decl.xml",
        "SubstanceID",
        "field 'identity'",
        "not a valid CAS number",
    )


def test_duplicate_substance(store: GraphStore, tmp_path: Path) -> None:
    path = _variant(tmp_path, "65997-17-3", "24968-12-5")
    refused(
        store,
        lambda: ipc1752.execute(store, path, agent="pytest"),
        "decl.xml",
        "Substance[2]",
        "duplicate substance '24968-12-5'",
    )


def test_missing_supplier_and_malformed_xml(store: GraphStore, tmp_path: Path) -> None:
    path = _variant(tmp_path, '<SupplyCompany name="Ningbo Precision Plastics">', "<Other>")
    path.write_text(path.read_text().replace("</SupplyCompany>", "</Other>"))
    refused(store, lambda: ipc1752.execute(store, path, agent="pytest"), "decl.xml", "field 'SupplyCompany'")
    path.write_text("<MainDeclaration><Product></MainDeclaration>")
    refused(store, lambda: ipc1752.execute(store, path, agent="pytest"), "decl.xml:1", "malformed XML")


def test_reload_is_noop(store: GraphStore) -> None:
    ipc1752.execute(store, FIXTURES / "ipc1752_class_d.xml", agent="pytest")
    before = store.snapshot()
    assert ipc1752.execute(store, FIXTURES / "ipc1752_class_d.xml", agent="pytest").status == "unchanged"
    assert store.snapshot() == before
