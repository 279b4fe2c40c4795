"""The product brief's demo data set, built by code (deterministic).

(a) EV charging-port cover CPC-200: the design BOM says the latch clip is PBT+GF30;
    the supplier's test report for the delivered clip lot says PBT+GF25; the flap
    moulding run used parameter set v1 although v2 was in force on the run date;
    complaint CMP-2025-0042 "charging port cover rattles" on VIN LFVEV5A28R0004711.
(b) Battery pack BP-75: complaint CMP-2025-0057 "cabin air smells" on VIN
    LFVEV5A26R0005128 -> pack BP75-24-001337 -> cell lot CL-240802-A -> formation
    run FM-240802-12 (temperature actuals) -> formation cabinet FC-12, whose
    calibration certificate expired on 2024-06-30, before the run.
(c) Type 2 charging cable CC-T2-32A: complaint CMP-2025-0061 on CC32-24-50017,
    with everything in order: the contrast case with no findings.
"""

from __future__ import annotations

import datetime as dt

from rdflib import Graph

from qualitas.demo import compliance, devices, languages, phone
from qualitas.ontology.builder import Builder, Line, Spec

COMPLAINT_A = "CMP-2025-0042"
COMPLAINT_B = "CMP-2025-0057"
COMPLAINT_C = "CMP-2025-0061"
VIN_A = "LFVEV5A28R0004711"
VIN_B = "LFVEV5A26R0005128"
CABLE_SERIAL = "CC32-24-50017"
CLIP_LOT = "NPP-24-0913"
CELL_LOT = "CL-240802-A"

UTC = dt.UTC


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def build(b: Builder) -> None:
    """Write the whole demo data set through ``b``."""
    _master_data(b)
    _charging_port_cover(b)
    _battery_pack(b)
    _charging_cable(b)
    _vehicles_and_complaints(b)
    compliance.build(b)
    devices.build(b)
    phone.build(b)
    languages.build(b)


def demo_graph() -> Graph:
    graph = Graph()
    graph.bind("q", "https://w3id.org/qualitas/ontology#")
    graph.bind("id", "https://w3id.org/qualitas/id/")
    build(Builder(graph.add))
    return graph


def _master_data(b: Builder) -> None:
    for code, name in (("EU", "European Union"), ("US", "United States"), ("CN", "China"), ("VN", "Vietnam")):
        b.market(code, name)
    b.supplier("SUP-NPP", "Ningbo Precision Plastics Co., Ltd.", "CN")
    b.supplier("SUP-RHP", "Rhein Polymer Compounds GmbH", "DE")
    b.supplier("SUP-SFD", "Schwaben Federntechnik GmbH", "DE")
    b.supplier("SUP-EPD", "Lyon Elastomères SAS", "FR")
    b.supplier("SUP-HLM", "Hunan Lithium Materials Co., Ltd.", "CN")
    b.supplier("SUP-SZB", "Shenzhen Battery Electronics Co., Ltd.", "CN")
    b.supplier("SUP-ALC", "Alu Casting Czech s.r.o.", "CZ")
    b.supplier("SUP-RKB", "Rheinkabel GmbH", "DE")
    b.supplier("SUP-VNC", "Saigon Connector Co., Ltd.", "VN")

    b.substance("7439-92-1", "Lead", ec="231-100-4")
    b.substance("15365-14-7", "Lithium iron phosphate", ec="476-700-9")
    b.substance("21324-40-3", "Lithium hexafluorophosphate", ec="244-334-7")
    b.substance("65997-17-3", "Glass, oxide, chemicals (glass fibre)", ec="266-046-0")
    # UV-328, a UV stabiliser in plastics: on the REACH Candidate List (since 2014-12-17).
    b.substance("25973-55-1", "2-(2H-benzotriazol-2-yl)-4,6-ditertpentylphenol (UV-328)", ec="247-384-8")
    b.material("PBT+GF30", "Polybutylene terephthalate, 30 % glass fibre", substances=["65997-17-3"])
    b.material("PBT+GF25", "Polybutylene terephthalate, 25 % glass fibre", substances=["65997-17-3"])
    b.material("PA66+GF30", "Polyamide 66, 30 % glass fibre", substances=["65997-17-3"])
    b.material("1.4310", "Stainless spring steel X10CrNi18-8")
    b.material("EPDM-70", "EPDM rubber, 70 Shore A")
    b.material("LFP-C", "Lithium iron phosphate cathode powder, carbon coated", substances=["15365-14-7"])
    b.material("LiPF6-EC-DMC", "LiPF6 in EC/DMC electrolyte", substances=["21324-40-3"])
    b.material("FR4-ENIG", "FR-4 printed board, ENIG finish, SAC305 solder")
    b.material("AlSi10Mg", "Aluminium casting alloy AlSi10Mg")
    b.material(
        "TPE-V0", "Thermoplastic elastomer cable jacket, flame retardant, UV stabilised", substances=["25973-55-1"]
    )
    b.material("PA6-V0", "Polyamide 6, flame retardant")
    b.material("CuZn39Pb3", "Brass with up to 3.5 % lead (RoHS Annex III exemption 6(c))", substances=["7439-92-1"])

    for code, name in (
        ("MELT-TEMP", "Melt temperature"),
        ("HOLD-PRESS", "Holding pressure"),
        ("COOL-TIME", "Cooling time"),
        ("CLIP-FORCE", "Clip insertion force"),
        ("FORM-TEMP", "Formation temperature"),
        ("FORM-CURR", "Formation charge current"),
        ("FORM-VMAX", "Formation end-of-charge voltage"),
        ("BOLT-TORQUE", "Bolt torque"),
        ("CRIMP-HEIGHT", "Crimp height"),
        ("PULL-FORCE", "Crimp pull-out force"),
    ):
        b.parameter(code, name)


def _charging_port_cover(b: Builder) -> None:
    cover = b.product(
        "CPC-200",
        "EV charging-port cover assembly",
        categories=["vehicle_component", "article"],
        features=["automotive_supply_chain"],
        is_part=True,
    )
    flap = b.part("FLAP-2001", "Charging-port cover flap")
    b.part("CLIP-7731", "Latch clip", supplier="SUP-NPP")
    b.part("SPR-0045", "Torsion spring", supplier="SUP-SFD")
    b.part("SEAL-1202", "Cover seal", supplier="SUP-EPD")
    b.part("RES-PA66GF30", "PA66+GF30 moulding compound", supplier="SUP-RHP")
    b.bom(
        cover,
        "CPC-200",
        "C",
        [
            Line(10, "FLAP-2001", 1, material="PA66+GF30"),
            Line(20, "CLIP-7731", 2, material="PBT+GF30"),
            Line(30, "SPR-0045", 1, material="1.4310"),
            Line(40, "SEAL-1202", 1, material="EPDM-70"),
        ],
    )
    b.bom(flap, "FLAP-2001", "B", [Line(10, "RES-PA66GF30", "0.042", unit="KiloGM", material="PA66+GF30")])

    b.step("CPC-S10", "Injection moulding of the cover flap", routing_for=flap)
    b.step("CPC-S20", "Cover assembly", routing_for=cover)
    b.parameter_set(
        "CPC-S10",
        "v1",
        effective_from=_t("2024-01-15T00:00:00"),
        effective_until=_t("2024-09-01T00:00:00"),
        specs=[
            Spec("MELT-TEMP", 285, 5, "DEG_C"),
            Spec("HOLD-PRESS", 60, 3, "MegaPA"),
            Spec("COOL-TIME", 18, 1, "SEC"),
        ],
    )
    b.parameter_set(
        "CPC-S10",
        "v2",
        effective_from=_t("2024-09-01T00:00:00"),
        effective_until=None,
        specs=[
            Spec("MELT-TEMP", 275, 5, "DEG_C"),
            Spec("HOLD-PRESS", 65, 3, "MegaPA"),
            Spec("COOL-TIME", 20, 1, "SEC"),
        ],
    )
    b.parameter_set(
        "CPC-S20",
        "v1",
        effective_from=_t("2024-01-01T00:00:00"),
        effective_until=None,
        specs=[
            Spec("CLIP-FORCE", 45, 5, "N"),
        ],
    )
    b.equipment("IMM-07", "Injection moulding machine, 200 t clamp force")
    b.calibration(
        "CAL-IMM07-2024",
        "IMM-07",
        issuer="Rhein Calibration Services",
        valid_from=_d("2024-03-01"),
        valid_until=_d("2025-02-28"),
    )
    b.equipment("ASM-02", "Cover assembly station with force-monitored press")
    b.calibration(
        "CAL-ASM02-2024",
        "ASM-02",
        issuer="Rhein Calibration Services",
        valid_from=_d("2024-02-01"),
        valid_until=_d("2025-01-31"),
    )

    # Supplier lots and their evidence.
    b.lot("RHP-2409-118", "RES-PA66GF30", supplier="SUP-RHP", quantity=500)
    b.test_report(
        "RHP-COA-2409-118",
        lot="RHP-2409-118",
        issuer="Rhein Polymer Compounds QC laboratory",
        issued=_d("2024-09-05"),
        material="PA66+GF30",
        supplier="SUP-RHP",
    )
    for lot, issued, grade in ((CLIP_LOT, "2024-09-13", "PBT+GF25"), ("NPP-24-1001", "2024-10-01", "PBT+GF30")):
        b.lot(lot, "CLIP-7731", supplier="SUP-NPP", quantity=20000)
        b.test_report(
            f"CTI-NB-{lot}",
            lot=lot,
            issuer="CTI Ningbo Testing Laboratory",
            issued=_d(issued),
            material=grade,
            supplier="SUP-NPP",
        )
    b.declaration(
        "NPP-IPC1752-7731", supplier="SUP-NPP", part="CLIP-7731", issued=_d("2024-02-20"), material="PBT+GF30"
    )
    b.lot("SFD-2409-11", "SPR-0045", supplier="SUP-SFD", quantity=40000)
    b.declaration("SFD-ROHS-0045", supplier="SUP-SFD", part="SPR-0045", issued=_d("2024-01-10"), material="1.4310")
    b.lot("EPD-24-377", "SEAL-1202", supplier="SUP-EPD", quantity=30000)
    b.declaration("EPD-REACH-1202", supplier="SUP-EPD", part="SEAL-1202", issued=_d("2024-03-02"), material="EPDM-70")
    clip_lot = b.lot(CLIP_LOT, "CLIP-7731", supplier="SUP-NPP")
    b.inspection(
        "IQC-24-0913-01", subject=clip_lot, characteristic="Latch retention force", value=31.5, unit="N", verdict="pass"
    )

    # (a) flap moulded with the superseded parameter set v1 on 2024-09-17; v2 in force since 2024-09-01.
    b.run(
        "IM-240917-07",
        step="CPC-S10",
        equipment="IMM-07",
        start=_t("2024-09-17T06:00:00"),
        end=_t("2024-09-17T14:00:00"),
        consumed=[b.lot("RHP-2409-118", "RES-PA66GF30", supplier="SUP-RHP")],
        produced=[b.lot("FLP-240917", "FLAP-2001")],
        parameter_set=("CPC-S10", "v1"),
        actuals=[("MELT-TEMP", "284.2", "DEG_C"), ("HOLD-PRESS", "60.4", "MegaPA"), ("COOL-TIME", "18.1", "SEC")],
    )
    b.run(
        "AS-240918-02",
        step="CPC-S20",
        equipment="ASM-02",
        start=_t("2024-09-18T06:00:00"),
        end=_t("2024-09-18T13:30:00"),
        consumed=[
            b.lot("FLP-240917", "FLAP-2001"),
            clip_lot,
            b.lot("SFD-2409-11", "SPR-0045"),
            b.lot("EPD-24-377", "SEAL-1202"),
        ],
        produced=[b.lot("CPC-240918", "CPC-200")],
        parameter_set=("CPC-S20", "v1"),
        actuals=[("CLIP-FORCE", "46.1", "N")],
    )
    # A later, healthy cover lot: v2 parameters, GF30 clips.
    b.run(
        "IM-241001-07",
        step="CPC-S10",
        equipment="IMM-07",
        start=_t("2024-10-01T06:00:00"),
        end=_t("2024-10-01T14:00:00"),
        consumed=[b.lot("RHP-2409-118", "RES-PA66GF30")],
        produced=[b.lot("FLP-241001", "FLAP-2001")],
        parameter_set=("CPC-S10", "v2"),
        actuals=[("MELT-TEMP", "275.8", "DEG_C"), ("HOLD-PRESS", "64.7", "MegaPA"), ("COOL-TIME", "20.2", "SEC")],
    )
    b.run(
        "AS-241002-02",
        step="CPC-S20",
        equipment="ASM-02",
        start=_t("2024-10-02T06:00:00"),
        end=_t("2024-10-02T13:30:00"),
        consumed=[
            b.lot("FLP-241001", "FLAP-2001"),
            b.lot("NPP-24-1001", "CLIP-7731"),
            b.lot("SFD-2409-11", "SPR-0045"),
            b.lot("EPD-24-377", "SEAL-1202"),
        ],
        produced=[b.lot("CPC-241002", "CPC-200")],
        parameter_set=("CPC-S20", "v1"),
        actuals=[("CLIP-FORCE", "44.6", "N")],
    )


def _battery_pack(b: Builder) -> None:
    pack = b.product(
        "BP-75",
        "75 kWh LFP traction battery pack",
        categories=["battery", "vehicle_component"],
        features=["ev_traction_battery", "automotive_supply_chain", "electronic_control"],
        is_part=True,
    )
    cell = b.part("CELL-LFP-280", "LFP prismatic cell 280 Ah")
    b.part("CAT-LFP", "LFP cathode powder", supplier="SUP-HLM")
    b.part("ELY-LIPF6", "Electrolyte, LiPF6 1 mol/L", supplier="SUP-HLM")
    b.part("BMS-400", "Battery management board", supplier="SUP-SZB")
    b.part("HSG-BP75", "Pack housing", supplier="SUP-ALC")
    b.bom(
        pack,
        "BP-75",
        "D",
        [
            Line(10, "CELL-LFP-280", 104),
            Line(20, "BMS-400", 1, material="FR4-ENIG", designators=["A1"]),
            Line(30, "HSG-BP75", 1, material="AlSi10Mg"),
        ],
    )
    b.bom(
        cell,
        "CELL-LFP-280",
        "A",
        [
            Line(10, "CAT-LFP", "0.52", unit="KiloGM", material="LFP-C"),
            Line(20, "ELY-LIPF6", "0.31", unit="KiloGM", material="LiPF6-EC-DMC"),
        ],
    )
    b.step("CELL-S30", "Cell formation", routing_for=cell)
    b.step("BP-S10", "Pack assembly", routing_for=pack)
    b.parameter_set(
        "CELL-S30",
        "v3",
        effective_from=_t("2024-05-01T00:00:00"),
        effective_until=None,
        specs=[
            Spec("FORM-TEMP", 45, 2, "DEG_C"),
            Spec("FORM-CURR", 28, 1, "A"),
            Spec("FORM-VMAX", "3.65", "0.02", "V"),
        ],
    )
    b.parameter_set(
        "BP-S10",
        "v2",
        effective_from=_t("2024-03-01T00:00:00"),
        effective_until=None,
        specs=[
            Spec("BOLT-TORQUE", 9, "0.5", "N-M"),
        ],
    )
    b.equipment("FC-12", "Cell formation cabinet, 512 channels")
    b.calibration(
        "CAL-FC12-2023",
        "FC-12",
        issuer="Changsha Metrology Institute",
        valid_from=_d("2023-07-01"),
        valid_until=_d("2024-06-30"),
    )
    b.equipment("PA-LINE-2", "Pack assembly line 2, torque-controlled nutrunners")
    b.calibration(
        "CAL-PAL2-2024",
        "PA-LINE-2",
        issuer="Rhein Calibration Services",
        valid_from=_d("2024-04-01"),
        valid_until=_d("2025-03-31"),
    )

    b.lot("HLM-2407-33", "CAT-LFP", supplier="SUP-HLM", quantity=2000)
    b.test_report(
        "HLM-COA-2407-33",
        lot="HLM-2407-33",
        issuer="Hunan Lithium Materials QC laboratory",
        issued=_d("2024-07-20"),
        material="LFP-C",
        supplier="SUP-HLM",
    )
    b.declaration("HLM-IPC1752-CAT", supplier="SUP-HLM", part="CAT-LFP", issued=_d("2024-01-15"), material="LFP-C")
    b.lot("HLM-2407-E07", "ELY-LIPF6", supplier="SUP-HLM", quantity=1500)
    b.lot("SZB-2407-118", "BMS-400", supplier="SUP-SZB", quantity=500)
    b.declaration(
        "SZB-IPC1752-BMS400", supplier="SUP-SZB", part="BMS-400", issued=_d("2024-02-01"), material="FR4-ENIG"
    )
    b.lot("ALC-24-0731", "HSG-BP75", supplier="SUP-ALC", quantity=300)

    # Formation within calibration (June) for VIN A's pack, and after expiry (August) for VIN B's.
    for run_id, lot, start, temps in (
        ("FM-240610-12", "CL-240610-B", "2024-06-10T08:00:00", ("45.1", "27.9", "3.65")),
        ("FM-240802-12", CELL_LOT, "2024-08-02T08:00:00", ("45.3", "28.2", "3.64")),
    ):
        begin = _t(start)
        b.run(
            run_id,
            step="CELL-S30",
            equipment="FC-12",
            start=begin,
            end=begin + dt.timedelta(hours=18),
            consumed=[b.lot("HLM-2407-33", "CAT-LFP"), b.lot("HLM-2407-E07", "ELY-LIPF6")],
            produced=[b.lot(lot, "CELL-LFP-280", quantity=1040)],
            parameter_set=("CELL-S30", "v3"),
            actuals=[("FORM-TEMP", temps[0], "DEG_C"), ("FORM-CURR", temps[1], "A"), ("FORM-VMAX", temps[2], "V")],
        )
    for run_id, lot, serial, start in (
        ("PA-240615-02", "CL-240610-B", "BP75-24-000981", "2024-06-15T07:00:00"),
        ("PA-240815-02", CELL_LOT, "BP75-24-001337", "2024-08-15T07:00:00"),
    ):
        begin = _t(start)
        b.run(
            run_id,
            step="BP-S10",
            equipment="PA-LINE-2",
            start=begin,
            end=begin + dt.timedelta(hours=2),
            consumed=[b.lot(lot, "CELL-LFP-280"), b.lot("SZB-2407-118", "BMS-400"), b.lot("ALC-24-0731", "HSG-BP75")],
            produced=[b.unit(serial, product="BP-75")],
            parameter_set=("BP-S10", "v2"),
            actuals=[("BOLT-TORQUE", "9.1", "N-M")],
        )


def _charging_cable(b: Builder) -> None:
    cable = b.product(
        "CC-T2-32A",
        "Type 2 EV charging cable, 32 A, 7 m",
        categories=["electrical_equipment", "ev_charging_equipment"],
        # A mode 3 cable assembly with no active electronics: inherently benign equipment,
        # outside the EMC Directive (2014/30/EU Art. 2(2)(d)).
        features=["low_voltage_range", "consumer_use", "passive_electrical"],
        is_part=True,
    )
    b.part("CBL-5G6", "Charging cable 5G6 + signal, TPE jacket", supplier="SUP-RKB")
    b.part("PLG-T2", "Type 2 plug housing", supplier="SUP-VNC")
    b.part("CNT-T2", "Type 2 contact set", supplier="SUP-VNC")
    b.bom(
        cable,
        "CC-T2-32A",
        "B",
        [
            Line(10, "CBL-5G6", 7, unit="M", material="TPE-V0"),
            Line(20, "PLG-T2", 2, material="PA6-V0"),
            Line(30, "CNT-T2", 2, material="CuZn39Pb3", designators=["L1", "L2", "L3", "N", "PE", "CP", "PP"]),
        ],
    )
    b.step("CC-S10", "Contact crimping and plug assembly", routing_for=cable)
    b.parameter_set(
        "CC-S10",
        "v2",
        effective_from=_t("2024-06-01T00:00:00"),
        effective_until=None,
        specs=[
            Spec("CRIMP-HEIGHT", "2.35", "0.05", "MilliM"),
            Spec("PULL-FORCE", 650, 100, "N"),
        ],
    )
    b.equipment("CA-03", "Servo crimping press with crimp-force monitoring")
    b.calibration(
        "CAL-CA03-2024",
        "CA-03",
        issuer="Rhein Calibration Services",
        valid_from=_d("2024-05-15"),
        valid_until=_d("2025-05-14"),
    )
    b.lot("RKB-24-8812", "CBL-5G6", supplier="SUP-RKB", quantity=5000)
    b.test_report(
        "RKB-TR-24-8812",
        lot="RKB-24-8812",
        issuer="Rheinkabel materials laboratory",
        issued=_d("2024-09-20"),
        material="TPE-V0",
        supplier="SUP-RKB",
    )
    b.declaration("RKB-IPC1752-5G6", supplier="SUP-RKB", part="CBL-5G6", issued=_d("2024-01-05"), material="TPE-V0")
    b.lot("VNC-24-0915", "PLG-T2", supplier="SUP-VNC", quantity=10000)
    b.test_report(
        "VNC-TR-24-0915",
        lot="VNC-24-0915",
        issuer="QUATEST 3 Ho Chi Minh City",
        issued=_d("2024-09-18"),
        material="PA6-V0",
        supplier="SUP-VNC",
    )
    b.lot("VNC-24-0916", "CNT-T2", supplier="SUP-VNC", quantity=70000)
    b.declaration("VNC-IPC1752-CNT", supplier="SUP-VNC", part="CNT-T2", issued=_d("2024-02-10"), material="CuZn39Pb3")
    begin = _t("2024-10-01T09:00:00")
    b.run(
        "CA-241001-03",
        step="CC-S10",
        equipment="CA-03",
        start=begin,
        end=begin + dt.timedelta(minutes=25),
        consumed=[b.lot("RKB-24-8812", "CBL-5G6"), b.lot("VNC-24-0915", "PLG-T2"), b.lot("VNC-24-0916", "CNT-T2")],
        produced=[b.unit(CABLE_SERIAL, product="CC-T2-32A")],
        parameter_set=("CC-S10", "v2"),
        actuals=[("CRIMP-HEIGHT", "2.36", "MilliM"), ("PULL-FORCE", "655", "N")],
    )


def _vehicles_and_complaints(b: Builder) -> None:
    vehicle = b.product("QX-EV5", "QX EV5 electric SUV", categories=["vehicle"], features=["ev_traction_battery"])
    b.bom(
        vehicle,
        "QX-EV5",
        "F",
        [
            Line(1010, "CPC-200", 1),
            Line(2010, "BP-75", 1),
        ],
    )
    b.step("VEH-S90", "Vehicle final assembly", routing_for=vehicle)
    b.parameter_set(
        "VEH-S90",
        "v5",
        effective_from=_t("2024-01-01T00:00:00"),
        effective_until=None,
        specs=[
            Spec("BOLT-TORQUE", 120, 6, "N-M"),
        ],
    )
    b.equipment("VA-LINE-1", "Final assembly line 1, torque-controlled tools")
    b.calibration(
        "CAL-VAL1-2024",
        "VA-LINE-1",
        issuer="Rhein Calibration Services",
        valid_from=_d("2024-01-10"),
        valid_until=_d("2025-01-09"),
    )
    for run_id, vin, cover_lot, pack, start, torque in (
        ("VA-241104-4711", VIN_A, "CPC-240918", "BP75-24-000981", "2024-11-04T10:12:00", "121.5"),
        ("VA-241120-5128", VIN_B, "CPC-241002", "BP75-24-001337", "2024-11-20T14:40:00", "119.2"),
    ):
        begin = _t(start)
        b.run(
            run_id,
            step="VEH-S90",
            equipment="VA-LINE-1",
            start=begin,
            end=begin + dt.timedelta(minutes=90),
            consumed=[b.lot(cover_lot, "CPC-200"), b.unit(pack, product="BP-75")],
            produced=[b.unit(vin, product="QX-EV5", vin=True)],
            parameter_set=("VEH-S90", "v5"),
            actuals=[("BOLT-TORQUE", torque, "N-M")],
        )

    b.failure_mode("FM-RATTLE", "Rattle / loose part", "异响／零件松动")
    b.failure_mode("FM-ODOUR", "Odour in cabin", "车内异味")
    b.failure_mode("FM-DISCOLOUR", "Discolouration", "变色")
    b.complaint(
        COMPLAINT_A,
        serial=VIN_A,
        received=_d("2025-03-11"),
        channel="dealer",
        market="EU",
        texts={"en": "Charging port cover rattles when driving over 80 km/h", "de": "Ladeklappe klappert ab 80 km/h"},
        failure_mode="FM-RATTLE",
    )
    b.complaint(
        COMPLAINT_B,
        serial=VIN_B,
        received=_d("2025-04-02"),
        channel="call centre",
        market="CN",
        texts={"zh": "车内空气有异味，充电后更明显", "en": "Cabin air smells, worse after charging"},
        failure_mode="FM-ODOUR",
    )
    b.complaint(
        COMPLAINT_C,
        serial=CABLE_SERIAL,
        received=_d("2025-05-06"),
        channel="app",
        market="EU",
        texts={
            "fr": "La gaine du câble s'est légèrement décolorée au soleil",
            "en": "Cable jacket slightly discoloured in the sun",
        },
        failure_mode="FM-DISCOLOUR",
    )
    b.capa(
        "CAPA-2025-011",
        complaint=COMPLAINT_A,
        title="Clip material deviation at SUP-NPP; re-release of moulding parameters",
        opened=_d("2025-03-14"),
    )
