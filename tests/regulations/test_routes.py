"""Legal routes, each decision tested from the law it rests on (article cited per test).

Profiles are built by hand, so a test states the product as the law sees it; the
catalog and routes.yaml are the shipped ones.
"""

from __future__ import annotations

import datetime as dt

import pytest

from qualitas.regulations.applicability import ProductProfile, evaluate
from qualitas.regulations.catalog import default_catalog
from qualitas.regulations.routes import Route, decide_route, load_routes

ON = dt.date(2026, 12, 7)
_STANDARDS = {"harmonised_standard", "national_standard", "international_standard", "industry_standard"}


def _route(categories: list[str], features: list[str], market: str = "EU", on: dt.date = ON) -> Route:
    profile = ProductProfile(iri="https://example.org/p", model="X", name=None, categories=tuple(categories),
                             features=tuple(features), substances=(), markets=())
    rep = evaluate(default_catalog(), profile, market, on)
    acts = [a.id for a in rep.applicable if a.instrument_type not in _STANDARDS]
    return decide_route(market, on, acts, rep.categories, rep.features, rep.excluded)


def _excluded(route: Route) -> dict[str, str]:
    return {e.regulation_id: e.basis for e in route.excluded}


def test_passive_vehicle_part_has_no_ce_route_and_no_type_approval() -> None:
    """A charging-port cover: no CE-marking act reaches it (RoHS Art. 2(4)(f) and (c)
    exclude vehicle equipment; it has no electrical function anyway), and Regulation
    (EU) 2018/858 Art. 2(1) with Annex II type-approves only components a regulatory act
    names, so it carries no approval mark: the evidence route of a vehicle part."""
    route = _route(["vehicle_component", "article"], ["automotive_supply_chain"])
    assert route.code == "eu_vehicle_part"
    assert route.declared == () and not route.has_declaration
    assert "eu-declaration-of-conformity" not in route.documents
    assert "ce-marking-checklist" not in route.documents
    assert "vehicle-part-evidence" in route.documents
    assert "eu-type-approval-2018-858" in _excluded(route)
    assert "Annex II" in _excluded(route)["eu-type-approval-2018-858"]
    # REACH Art. 33 and the ELV Directive stay obligations, never declarations.
    assert {"eu-reach-1907-2006", "eu-elv-2000-53"} <= set(route.obligations)


def test_type_approved_vehicle_follows_whole_vehicle_type_approval() -> None:
    """Regulation (EU) 2018/858 Art. 2(1) and 4: a motor vehicle is placed on the market
    with EU type-approval and a certificate of conformity, not with a CE declaration."""
    route = _route(["vehicle"], ["ev_traction_battery", "automotive_supply_chain"])
    assert route.code == "eu_vehicle_type_approval"
    assert not route.has_declaration
    assert "eu-type-approval-2018-858" in route.type_approval


def test_ev_charging_cable_declares_lvd_and_rohs_not_emc() -> None:
    """A mode 3 cable assembly rated 400 V AC is within the LVD (Art. 1: 50-1000 V AC)
    and RoHS (Art. 2(1), Annex I cat. 11, cables Art. 3(5)); being passive it is
    inherently benign equipment, excluded from the EMC Directive by Art. 2(2)(d)."""
    route = _route(["electrical_equipment", "ev_charging_equipment"],
                   ["low_voltage_range", "consumer_use", "passive_electrical"])
    assert route.code == "eu_ce_marking"
    roots = {i for i in route.declared if load_routes().acts[i].role == "declaration"}
    assert roots == {"eu-lvd-2014-35", "eu-rohs-2011-65"}
    assert _excluded(route)["eu-emc-2014-30"] == "Directive 2014/30/EU, Art. 2(2)(d)"
    assert route.form is not None and route.form.id == "eu_768_annex_iii"
    # Obligations are never declared (Decision 768/2008/EC Annex III item 5 names Union
    # harmonisation legislation only).
    for obligation in ("eu-reach-1907-2006", "eu-weee-2012-19", "eu-gpsr-2023-988", "eu-msr-2019-1020"):
        assert obligation not in route.declared


def test_power_tool_declares_the_machinery_directive_not_the_lvd() -> None:
    """Directive 2006/42/EC Annex I 1.5.1: for machinery, conformity assessment for
    electrical hazards is governed solely by the Machinery Directive, so an angle
    grinder declares 2006/42/EC (model: Annex II 1.A), EMC and RoHS, not the LVD."""
    route = _route(["power_tool"], ["mains_powered", "low_voltage_range", "consumer_use"])
    roots = {i for i in route.declared if load_routes().acts[i].role == "declaration"}
    assert roots == {"eu-machinery-directive-2006-42", "eu-emc-2014-30", "eu-rohs-2011-65"}
    assert "eu-lvd-2014-35" in _excluded(route)
    assert route.form is not None and route.form.id == "eu_machinery_annex_ii_1a"


def test_power_tool_declares_the_machinery_regulation_from_its_date_of_application() -> None:
    """Regulation (EU) 2023/1230 Art. 54: applies from 2027-01-20 (Directive 2006/42/EC is
    repealed from that date, Art. 52); its declaration follows Annex V."""
    route = _route(["power_tool"], ["mains_powered", "low_voltage_range"], on=dt.date(2027, 1, 20))
    assert "eu-machinery-regulation-2023-1230" in route.declared
    assert "eu-machinery-directive-2006-42" not in route.declared
    assert route.form is not None and route.form.id == "eu_machinery_reg_annex_v"


def test_smartphone_declares_red_which_covers_emc_and_electrical_safety() -> None:
    """Directive 2014/53/EU Art. 3(1)(a)-(b) covers the LVD safety objectives (no voltage
    limit) and electromagnetic compatibility; Directive 2014/30/EU Art. 2(2)(a) excludes
    radio equipment. A smartphone declares RED, RoHS and the ecodesign regulation
    (EU) 2023/1670 (Art. 4), and the RED delegated act 2022/30 with the RED."""
    route = _route(["smartphone_tablet"], ["battery_powered", "consumer_use", "radio_transmitter",
                                           "network_connected"])
    assert route.code == "eu_ce_marking"
    assert {"eu-red-2014-53", "eu-rohs-2011-65", "eu-ecodesign-smartphones-2023-1670"} <= set(route.declared)
    assert "eu-red-da-2022-30" in route.declared
    assert route.declared.index("eu-red-da-2022-30") > route.declared.index("eu-red-2014-53")
    assert _excluded(route)["eu-emc-2014-30"] == "Directive 2014/30/EU, Art. 2(2)(a)"
    assert "eu-lvd-2014-35" not in route.declared
    # The energy label (Regulation (EU) 2023/1669) is an obligation with EPREL, not a DoC act.
    assert "eu-energy-label-smartphones-2023-1669" not in route.declared


def test_traction_battery_has_its_own_declaration_under_the_battery_regulation() -> None:
    """Regulation (EU) 2023/1542 Art. 18 and Annex IX: an EU declaration of conformity for
    the battery, CE marking by Art. 20; RoHS does not reach equipment designed to be
    installed in a vehicle (Directive 2011/65/EU Art. 2(4)(c) and (f)), and the EMC of a
    vehicle's electronic sub-assemblies is type-approval law (Directive 2014/30/EU Art. 2(3))."""
    route = _route(["battery", "vehicle_component"],
                   ["ev_traction_battery", "automotive_supply_chain", "electronic_control"])
    assert route.code == "eu_ce_marking"
    assert route.declared == ("eu-batteries-2023-1542",)
    assert route.form is not None and route.form.id == "eu_battery_annex_ix"
    assert "Annex IX" in route.form.basis


def test_pulse_oximeter_follows_the_mdr_in_the_eu_and_510k_in_the_us() -> None:
    """EU: Regulation (EU) 2017/745 Art. 19 and Annex IV (declaration), its Art. 1(11)
    making it specific legislation under EMC Directive Art. 2(3). US: a class II device
    needs premarket notification, 21 CFR 807.81, summarised per 21 CFR 807.92."""
    eu = _route(["medical_device"], ["fda_class_ii", "measuring_function"])
    assert eu.form is not None and eu.form.id == "eu_mdr_annex_iv"
    assert "eu-mdr-2017-745" in eu.declared
    assert "eu-lvd-2014-35" not in eu.declared and "eu-emc-2014-30" not in eu.declared
    us = _route(["medical_device"], ["fda_class_ii", "measuring_function"], market="US")
    assert us.code == "us_510k"
    assert "fda-510k-summary" in us.documents
    plain = _route(["power_tool"], ["mains_powered", "low_voltage_range"], market="US")
    assert plain.code == "us_obligations_only" and "fda-510k-summary" not in plain.documents


def test_pulse_oximeter_needs_nmpa_registration_in_china() -> None:
    """Regulations on the Supervision and Administration of Medical Devices (State
    Council Order No. 739), Art. 13: Class I devices are filed, Class II and III devices
    registered; Art. 14 lists the documents. A medical device is not a CCC product."""
    cn = _route(["medical_device"], ["fda_class_ii", "measuring_function"], market="CN")
    assert cn.code == "cn_nmpa_registration"
    assert "nmpa-registration-checklist" in cn.documents and "ccc-dossier-summary" not in cn.documents
    assert "Art. 13" in cn.basis and "第13条" in cn.basis_in("zh")


def test_ccc_dossier_only_for_products_in_the_ccc_catalogue() -> None:
    """Provisions on the Administration of Compulsory Product Certification, Art. 2:
    only products in the CCC catalogue need certification. Electric tools are listed;
    an EV charging cable is not, but it is an electrical and electronic product that
    takes the SJ/T 11364 marking (MIIT Order No. 32, Art. 13)."""
    tool = _route(["power_tool"], ["mains_powered", "low_voltage_range"], market="CN")
    assert tool.code == "cn_ccc" and tool.ccc_item
    cable = _route(["electrical_equipment", "ev_charging_equipment"], ["low_voltage_range", "passive_electrical"],
                   market="CN")
    assert cable.code == "cn_eep"
    assert "ccc-dossier-summary" not in cable.documents and "sjt-11364-table" in cable.documents


@pytest.mark.parametrize("jurisdiction", ["EU"])
def test_every_act_of_the_catalog_has_a_legal_role(jurisdiction: str) -> None:
    """A new act cannot slip into a declaration unclassified: every EU act of the catalog
    (not standards) has its role in routes.yaml, and every role names a real record."""
    catalog = default_catalog()
    routes = load_routes()
    acts = {r.id for r in catalog if r.jurisdiction == jurisdiction and r.instrument_type not in _STANDARDS}
    missing = sorted(acts - set(routes.acts))
    assert not missing, f"acts without a role in routes.yaml: {missing}"
    unknown = sorted(set(routes.acts) - {r.id for r in catalog})
    assert not unknown, f"routes.yaml names records the catalog lacks: {unknown}"
    for act in routes.acts.values():
        if act.role == "supplement":
            assert act.part_of in routes.acts and routes.acts[act.part_of].role == "declaration", act.id
