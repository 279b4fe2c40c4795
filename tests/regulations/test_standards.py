"""Harmonised and recognised standards are chosen per product category.

Written from the law: a harmonised standard gives a presumption of conformity only when
its reference is published in the Official Journal under the act it supports (Regulation
(EU) No 1025/2012 Art. 10(6); LVD 2014/35/EU Art. 12; EMC 2014/30/EU Art. 13; RED
2014/53/EU Art. 16; Machinery Directive 2006/42/EC Art. 7(2)). So each EU harmonised
standard record names its act and the implementing decision that cites it, and a
product's pack draws only the standards of its own kind (issue #13: the cable's DoC cited
multimedia, household and AV/ICT standards and missed EN 62196).
"""

from __future__ import annotations

import datetime as dt

import pytest

from qualitas.regulations.applicability import ProductProfile, evaluate
from qualitas.regulations.catalog import Catalog, default_catalog

ON = dt.date(2026, 11, 26)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


def _profile(model: str, categories: tuple[str, ...], features: tuple[str, ...]) -> ProductProfile:
    return ProductProfile(iri=f"urn:test:{model}", model=model, name=None, categories=categories,
                          features=features, substances=(), markets=("EU",))


def _standards(catalog: Catalog, profile: ProductProfile) -> set[str]:
    report = evaluate(catalog, profile, "EU", ON)
    by_id = catalog.by_id
    return {a.id for a in report.applicable
            if by_id[a.id].instrument_type in ("harmonised_standard", "international_standard")}


CABLE = _profile("CC-T2-32A", ("electrical_equipment", "ev_charging_equipment"), ("low_voltage_range", "consumer_use"))
GRINDER = _profile("AG-125", ("power_tool",), ("mains_powered", "low_voltage_range", "consumer_use"))
PHONE = _profile("QP-6", ("smartphone_tablet",), ("battery_powered", "consumer_use"))


def test_every_eu_harmonised_standard_names_its_act_and_oj_citation(catalog: Catalog) -> None:
    """Regulation (EU) No 1025/2012 Art. 10(6): presumption follows from the OJ reference."""
    by_id = catalog.by_id
    harmonised = [r for r in catalog if r.instrument_type == "harmonised_standard"]
    assert len(harmonised) >= 20
    for r in harmonised:
        std = r.standard
        assert std.get("harmonised_under"), r.id
        for act in std["harmonised_under"]:
            assert act in by_id, (r.id, act)
            assert by_id[act].jurisdiction == "EU", (r.id, act)
            assert by_id[act].instrument_type in ("directive", "regulation"), (r.id, act)
        assert str(std.get("oj_reference", "")).startswith("Implementing Decision (EU) "), r.id
        assert str(std.get("oj_source", "")).startswith("https://eur-lex.europa.eu/"), r.id
        assert std.get("edition"), r.id
        assert "presumption_ends" in std, r.id


def test_a_standard_whose_presumption_ended_is_repealed_on_that_date(catalog: Catalog) -> None:
    """The date of cessation of presumption is the record's repeal date; the successor is named."""
    for r in catalog:
        ends = r.standard.get("presumption_ends") if r.standard else None
        if ends:
            assert r.dates.repealed == ends, r.id
            assert r.superseded_by in catalog.by_id, r.id
    old = catalog.get("eu-en-50581-2012")
    assert old.dates.repealed == dt.date(2021, 11, 18) and old.superseded_by == "eu-en-iec-63000-2018"


def test_en_iec_62368_1_2020_is_not_cited_in_the_oj(catalog: Catalog) -> None:
    """EN IEC 62368-1:2020+A11:2020 was never cited under the LVD or the RED; the cited
    reference is EN 62368-1:2014+A11:2017 (Implementing Decision (EU) 2023/2723)."""
    r = catalog.get("eu-en-iec-62368-1-2020")
    assert r.instrument_type != "harmonised_standard"
    assert r.standard["oj_status"] == "not_cited" and r.standard["oj_reference"] is None
    assert r.standard["harmonised_alternative"] == "eu-en-62368-1-2014"
    cited = catalog.get("eu-en-62368-1-2014")
    assert cited.standard["harmonised_under"] == ["eu-lvd-2014-35"]
    assert "2023/2723" in cited.standard["oj_reference"]


def test_ev_charging_cable_gets_ev_standards_only(catalog: Catalog) -> None:
    """A mode 3 cable assembly (LVD Art. 1) is covered by the EV accessory and cable
    standards, not by multimedia, household-appliance or AV/ICT ones."""
    ids = _standards(catalog, CABLE)
    assert {"eu-en-62196-2-2017", "eu-en-50620-2017", "eu-en-iec-61851-1-2019"} <= ids
    assert not ids & {"eu-en-55032-2015", "eu-en-55035-2017", "eu-en-60335-1-2012",
                      "eu-en-iec-62368-1-2020", "eu-en-62368-1-2014", "eu-en-62841-1-2015"}


def test_angle_grinder_gets_power_tool_standards(catalog: Catalog) -> None:
    """A hand-held grinder is machinery (2006/42/EC): EN 62841-1 with Part 2-3, and the
    household/tool EMC family EN 55014, not household safety or multimedia EMC."""
    ids = _standards(catalog, GRINDER)
    assert {"eu-en-62841-1-2015", "eu-en-62841-2-3-2021", "eu-en-55014-1-2017", "eu-en-55014-2-2015"} <= ids
    assert not ids & {"eu-en-60335-1-2012", "eu-en-55032-2015", "eu-en-62196-2-2017", "eu-en-50620-2017"}


def test_smartphone_gets_radio_standards_and_no_household_ones(catalog: Catalog) -> None:
    """A smartphone is radio equipment (RED Art. 2(1)(1)): spectrum, EMC and SAR standards."""
    ids = _standards(catalog, PHONE)
    assert {"eu-etsi-en-300-328-v2-2-2", "eu-etsi-en-301-489-1-v2-2-3", "eu-etsi-en-301-489-52-v1-2-1",
            "eu-en-50360-2017", "eu-en-50566-2017"} <= ids
    assert not ids & {"eu-en-60335-1-2012", "eu-en-55014-1-2017", "eu-en-62841-1-2015", "eu-en-50620-2017"}


def test_fda_recognition_numbers_carry_their_source(catalog: Catalog) -> None:
    """FD&C Act s. 514(c): a declaration of conformity cites the FDA recognition number."""
    found = {r.id: r.standard["fda_recognition"] for r in catalog
             if r.standard and r.standard.get("fda_recognition")}
    assert found["int-iec-60601-1"]["number"] == "19-49"
    assert found["int-iec-60601-1-2-2014"]["number"] == "19-36"
    for rid, rec in found.items():
        assert str(rec["source"]).startswith("https://www.accessdata.fda.gov/"), rid
        assert isinstance(rec["date"], dt.date), rid
