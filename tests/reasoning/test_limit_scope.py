"""REACH Annex XVII entry 63 lead limits keep to their own scope in the gap report:
lead in the brass contacts of an EV charging cable (RoHS scope, exemption 6(c)) is not
a finding of the mouthable-articles limit (63(7), excluded by 63(8)(j)) nor of the
lead-in-PVC limit (63(14), not PVC and excluded by 63(16))."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from rdflib import RDF, Literal
from rdflib.namespace import XSD

from qualitas.demo import demo_graph
from qualitas.ontology import ONTOLOGY_FILE, Q, mint
from qualitas.reasoning.gap import gap_report
from qualitas.store import open_store


def test_lead_in_cable_contacts_is_not_a_reach_entry_63_finding() -> None:
    g = demo_graph()
    decl = mint("declaration", "VNC-IPC1752-CNT")
    entry = mint("declaration", "VNC-IPC1752-CNT", "material", "CuZn39Pb3", "substance", "7439-92-1")
    g.add((decl, Q.hasCompositionEntry, entry))
    g.add((entry, RDF.type, Q.CompositionEntry))
    g.add((entry, Q.material, mint("material", "CuZn39Pb3")))
    g.add((entry, Q.substance, mint("substance", "7439-92-1")))
    g.add((entry, Q.massFraction, Literal(Decimal("0.03"), datatype=XSD.decimal)))  # 3 % lead in brass
    g.add((entry, Q.claimsExemption, mint("declaration", "VNC-IPC1752-CNT", "exemption", "EU RoHS Annex III", "6(c)")))
    store = open_store(None)
    try:
        store.load_file(ONTOLOGY_FILE, format="turtle", source="ontology", agent="pytest")
        sha = hashlib.sha256(g.serialize(format="nt").encode()).hexdigest()
        store.load_triples(g, source="demo", sha256=sha, agent="pytest", format="generated")
        r = gap_report(store, "CC-T2-32A", "EU", on=dt.date(2025, 6, 1))
    finally:
        store.close()
    ids = {a.id for a in r.applicable}
    assert {"eu-reach-1907-2006", "eu-reach-annex-xvii-2023-923"} <= ids
    reach = [c for c in r.requirements if c.shape.endswith(("eu-reach-1907-2006--limit-7439-92-1",
                                                             "eu-reach-annex-xvii-2023-923--limit-7439-92-1"))]
    # The entry 63 limit, whether the catalog files it under REACH itself or under its amending act.
    assert reach and all(c.status == "passed" for c in reach)
    assert r.conforms, [f.message_en for f in r.findings]
