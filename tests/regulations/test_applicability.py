"""Applicability of the demo charging-port cover (CPC-200) and battery pack (BP-75).

Expected sets are written from the law, not from the output. Framework acts that
bind legislators (Decision 768/2008, Regulation 1025/2012), substance-and-mixture
law (CLP), portable-battery standards and the CCC catalogue must not appear for an
EV charging-port cover or a traction battery pack.
"""

from __future__ import annotations

import datetime as dt

import pytest

from qualitas.errors import NotFoundError
from qualitas.regulations.applicability import ProductProfile, applicable_regulations, evaluate
from qualitas.regulations.catalog import default_catalog
from qualitas.store import GraphStore

ON = dt.date(2026, 11, 26)

# EU law for any article placed on the EU market (vehicle parts included).
EU_ARTICLE = {
    "eu-msr-2019-1020",  # Annex I lists 2018/858, so type-approved parts are covered
    "eu-pld-85-374",  # product liability, until the new PLD applies on 2026-12-09
    "eu-reach-1907-2006",  # Annex XVII restrictions on articles; Art. 33 if SVHC
    "eu-reach-annex-xvii-2023-923",  # lead in PVC articles
    "eu-pops-2019-1021",  # POPs in articles (replaces 850/2004)
    "eu-mercury-2017-852",  # mercury-added products
    "eu-espr-2024-1781",  # unsold-goods destruction ban covers all physical goods
}
EU_VEHICLE_PART = {
    "eu-elv-2000-53",  # Art. 4(2): heavy metals in vehicle materials and components
}
# Regulation (EU) 2018/858 Art. 2(1) and Annex II, and the General Safety Regulation
# 2019/2144: components are type-approved only where a regulatory act requires it;
# neither demo part is, so both acts are excluded by their own scope (routes.yaml).
EU_NOT_TYPE_APPROVED = {"eu-type-approval-2018-858", "eu-gsr-2019-2144"}
AUTOMOTIVE_QMS = {"int-iatf-16949-2016"}  # IATF 16949 binds the automotive supplier

EXPECTED = {
    ("CPC-200", "EU"): EU_ARTICLE | EU_VEHICLE_PART | AUTOMOTIVE_QMS,
    ("CPC-200", "US"): {"us-tsca", "us-40cfr751-subpart-e", "us-ca-prop65"} | AUTOMOTIVE_QMS,
    ("CPC-200", "CN"): {"cn-product-quality-law", "cn-standardization-law"} | AUTOMOTIVE_QMS,
    ("CPC-200", "VN"): {"vn-law-05-2007-qh12", "vn-decree-132-2008", "vn-decree-43-2017",
                        "vn-decree-111-2021"} | AUTOMOTIVE_QMS,
    # The pack has a BMS (E/E), so ISO 26262 functional safety applies to it.
    ("BP-75", "EU"): EU_ARTICLE | EU_VEHICLE_PART | AUTOMOTIVE_QMS
    | {"eu-batteries-2023-1542", "int-iso-26262-2018"},
    ("BP-75", "US"): {"us-tsca", "us-40cfr751-subpart-e", "us-ca-prop65", "us-fmvss-305",
                      "int-iso-26262-2018"} | AUTOMOTIVE_QMS,
    ("BP-75", "CN"): {"cn-product-quality-law", "cn-standardization-law", "cn-gb-38031-2025",
                      "int-iso-26262-2018"} | AUTOMOTIVE_QMS,
    ("BP-75", "VN"): {"vn-law-05-2007-qh12", "vn-decree-132-2008", "vn-decree-43-2017",
                      "vn-decree-111-2021", "int-iso-26262-2018"} | AUTOMOTIVE_QMS,
}

@pytest.mark.parametrize(("product", "market"), sorted(EXPECTED))
def test_applicable_set_matches_the_law(demo_store: GraphStore, product: str, market: str) -> None:
    report = applicable_regulations(demo_store, product, market, on=ON)
    assert report.ids == EXPECTED[(product, market)]
    if market == "EU":
        assert {e.regulation_id for e in report.excluded} >= EU_NOT_TYPE_APPROVED


@pytest.mark.parametrize("product", ["CPC-200", "BP-75"])
def test_new_product_liability_directive_is_upcoming_in_the_eu(demo_store: GraphStore, product: str) -> None:
    report = applicable_regulations(demo_store, product, "EU", on=ON)
    assert "eu-pld-2024-2853" in report.upcoming_ids
    upcoming = next(u for u in report.upcoming if u.id == "eu-pld-2024-2853")
    assert upcoming.applies_from == dt.date(2026, 12, 9)
    # After 9 December 2026 the new directive applies.
    later = applicable_regulations(demo_store, product, "EU", on=dt.date(2027, 1, 4))
    assert "eu-pld-2024-2853" in later.ids


def test_reasons_name_the_triggering_category_and_feature(demo_store: GraphStore) -> None:
    report = applicable_regulations(demo_store, "BP-75", "EU", on=ON)
    by_id = {a.id: a for a in report.applicable}
    batteries = by_id["eu-batteries-2023-1542"]
    assert batteries.reason.categories == ("battery",)
    assert batteries.reason.features == ("contains_battery",)
    assert "contains_battery" in batteries.reason.implied  # implied by the battery category
    assert batteries.replaces == ("eu-battery-directive-2006-66",)
    elv = by_id["eu-elv-2000-53"]
    assert elv.reason.categories == ("vehicle_component",)
    assert elv.reason.features == ("automotive_supply_chain",)
    iatf = by_id["int-iatf-16949-2016"]
    assert iatf.obligation == "manufacturer"
    assert iatf.reason.market == "GLOBAL"
    assert "category article (implied: article)" in str(by_id["eu-reach-1907-2006"].reason)


def test_repealed_instrument_is_replaced_by_its_successor(demo_store: GraphStore) -> None:
    report = applicable_regulations(demo_store, "BP-75", "CN", on=ON)
    assert "cn-gb-38031-2020" not in report.ids
    gb = next(a for a in report.applicable if a.id == "cn-gb-38031-2025")
    assert gb.replaces == ("cn-gb-38031-2020",)


def test_history_query_sees_the_old_battery_directive() -> None:
    profile = ProductProfile("x", "X", None, ("battery",), (), (), ())
    report = evaluate(default_catalog(), profile, "EU", dt.date(2023, 1, 1))
    assert "eu-batteries-2023-1542" in report.upcoming_ids


def test_svhc_in_the_bom_sets_contains_svhc(demo_store: GraphStore) -> None:
    report = applicable_regulations(demo_store, "CC-T2-32A", "EU", on=ON)
    assert "25973-55-1" in report.product.substances
    assert "eu-waste-framework-2008-98" in report.ids  # SCIP notification for SVHC articles
    waste = next(a for a in report.applicable if a.id == "eu-waste-framework-2008-98")
    assert "contains_svhc" in waste.reason.implied


def test_unknown_product_is_not_found(demo_store: GraphStore) -> None:
    with pytest.raises(NotFoundError):
        applicable_regulations(demo_store, "NOPE-1", "EU", on=ON)
