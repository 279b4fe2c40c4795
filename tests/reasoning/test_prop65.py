"""California Proposition 65: listed substances present in a product, from its declarations."""

from __future__ import annotations

import datetime as dt

from qualitas.reasoning.gap import gap_report
from qualitas.regulations.applicability import ProductProfile, _widen
from qualitas.regulations.catalog import default_catalog
from qualitas.store import GraphStore

ON = dt.date(2026, 11, 26)


def test_lead_in_the_cable_contacts_is_a_prop65_hit(demo_store: GraphStore) -> None:
    report = gap_report(demo_store, "CC-T2-32A", "US", on=ON)
    [hit] = report.screening.prop65
    # The IPC-1752A class C declaration names the category "Lead/Lead Compounds".
    assert (hit.part_number, hit.cas, hit.material) == ("CNT-T2", "7439-92-1", "CuZn39Pb3")
    assert any(f.regulation_id == "us-ca-prop65" for f in report.findings)


def test_a_prop65_listing_does_not_make_a_product_contain_svhc() -> None:
    # Styrene is on the Proposition 65 list, not on the REACH Candidate List; UV-328 is on the latter.
    catalog = default_catalog()
    styrene = ProductProfile(
        iri="urn:x",
        model="X",
        name=None,
        categories=("electrical_equipment",),
        features=(),
        substances=("100-42-5",),
        markets=(),
    )
    _, features, _ = _widen(catalog, styrene, ON)
    assert "contains_svhc" not in features
    uv328 = ProductProfile(
        iri="urn:y",
        model="Y",
        name=None,
        categories=("electrical_equipment",),
        features=(),
        substances=("25973-55-1",),
        markets=(),
    )
    _, features, _ = _widen(catalog, uv328, ON)
    assert "contains_svhc" in features
