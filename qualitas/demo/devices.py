"""Demo products for the market document packs (issue 6), and the manufacturer facts
the packs print for every demo product.

(d) Fingertip pulse oximeter OX-50: an FDA class II device (21 CFR 870.2700, product
    code DQA) with what a 510(k) summary (21 CFR 807.92) and a UDI summary (21 CFR 830)
    need: predicate device, intended use, technological characteristics, performance
    data, UDI-DI and GS1 as issuing agency, and the QMS records the QMSR asks for.
    Its US documents are complete: its US pack is final.
(e) Angle grinder AG-125 sold in Vietnam with a Vietnamese label but only an English
    instruction manual: Decree 43/2017/ND-CP asks for instructions in Vietnamese, so the
    VN gap report and the VN labelling pack catch it.

The predicate device and its 510(k) number are invented for the demo.
"""

from __future__ import annotations

import datetime as dt

from rdflib import RDF, Literal, URIRef

from qualitas.demo.compliance import document
from qualitas.ontology import Q, mint
from qualitas.ontology.builder import Builder, Line

#: Organisations and predicate devices have no business-key kind of their own in ``mint``.
_ID = "https://w3id.org/qualitas/id/"
_MOBILITY = "QDM"
_MEDICAL = "QDMED"
_TOOLS = "QDT"


def _add(b: Builder, s: URIRef, p: URIRef, o: URIRef | Literal) -> None:
    b.sink((s, p, o))


def _organisation(b: Builder, key: str, name: str, address: str, country: str, *, telephone: str,
                  contact: str) -> URIRef:
    iri = URIRef(_ID + "organisation/" + key)
    _add(b, iri, RDF.type, URIRef("http://www.w3.org/ns/prov#Organization"))
    _add(b, iri, Q.name, Literal(name))
    _add(b, iri, Q.address, Literal(address))
    _add(b, iri, Q.country, Literal(country))
    _add(b, iri, Q.telephone, Literal(telephone))
    _add(b, iri, Q.contactPerson, Literal(contact))
    return iri


def build(b: Builder) -> None:
    """Write the pack demo data through ``b`` (after the scenario and its compliance facts)."""
    mobility = _organisation(b, _MOBILITY, "Qualitas Demo Mobility GmbH",
                             "Industriestraße 12, 70565 Stuttgart, Germany", "DE",
                             telephone="+49 711 555 0100", contact="Dr. Anna Keller, Head of Compliance")
    for model in ("CPC-200", "BP-75", "CC-T2-32A", "QX-EV5"):
        _add(b, mint("product", model), Q.manufacturedBy, mobility)
    _oximeter(b)
    _grinder(b)


def _oximeter(b: Builder) -> None:
    maker = _organisation(b, _MEDICAL, "Qualitas Demo Medical Inc.",
                          "4100 Harbor Drive, Suite 210, San Diego, CA 92101, USA", "US",
                          telephone="+1 619 555 0142", contact="Maria Lopez, Regulatory Affairs Manager")
    device = b.product("OX-50", "Fingertip pulse oximeter OX-50", categories=["medical_device"],
                       features=["fda_class_ii", "measuring_function"])
    _add(b, device, Q.manufacturedBy, maker)
    _add(b, device, Q.market, mint("market", "US"))
    facts = {
        Q.deviceClass: "II",
        Q.productCode: "DQA",
        Q.regulationNumber: "21 CFR 870.2700",
        Q.classificationName: "Oximeter",
        Q.commonName: "Pulse oximeter",
        Q.intendedUse: (
            "The OX-50 is a non-invasive fingertip pulse oximeter intended for spot-checking of functional oxygen "
            "saturation of arterial haemoglobin (SpO2) and pulse rate of adult and paediatric patients (> 30 kg) "
            "in hospitals, clinics and the home. It is not intended for continuous monitoring."
        ),
        Q.technologicalCharacteristics: (
            "Same as the predicate: two-wavelength (660 nm / 905 nm) transmissive photoplethysmography, "
            "SpO2 range 70-100 %, accuracy ±2 % (70-100 %), pulse rate 30-240 bpm; powered by two AAA alkaline "
            "cells; PC/ABS housing, medical-grade silicone finger pad. Difference: OLED display instead of LED; "
            "no effect on safety or effectiveness (see performance data)."
        ),
        Q.udiDi: "00860012345672",
        Q.issuingAgency: "GS1",
        Q.udiProductionIdentifier: "lot number; expiration date",
        Q.gtin: "00860012345672",
    }
    for prop, value in facts.items():
        _add(b, device, prop, Literal(value))
    _add(b, device, URIRef("http://purl.org/dc/terms/description"), Literal(
        "Battery-powered fingertip oximeter: a red and an infrared LED shine through the fingertip onto a "
        "photodiode; SpO2 is computed from the ratio of pulsatile absorbances and shown with pulse rate and a "
        "perfusion bar on an OLED display."))
    predicate = URIRef(_ID + "predicate-device/K000000")
    _add(b, predicate, RDF.type, URIRef("http://www.w3.org/ns/prov#Entity"))
    _add(b, predicate, Q.name, Literal("OxiCheck 300 fingertip pulse oximeter (demo predicate)"))
    _add(b, predicate, Q.clearanceNumber, Literal("K000000"))
    _add(b, predicate, Q.clearanceHolder, Literal("Example Oximetry Corp."))
    _add(b, device, Q.predicateDevice, predicate)

    b.part("OXS-660905", "Dual-wavelength SpO2 sensor (660/905 nm)", supplier="SUP-SZB")
    b.part("OXH-PCABS", "Housing, PC/ABS")
    b.bom(device, "OX-50", "A", [Line(10, "OXS-660905", 1, material="FR4-ENIG"), Line(20, "OXH-PCABS", 1)])

    issued = dt.date(2025, 9, 30)
    perf = ("ISO 80601-2-61:2017 accuracy study (desaturation, 12 healthy subjects, Arms 1.8 %); IEC 60601-1 and "
            "IEC 60601-1-2 test reports; ISO 10993-5/-10 biocompatibility of the finger pad. Conclusion: as safe and "
            "as effective as the predicate.")
    for number, doc_type, note in (
        ("510K-OX-50", "premarket_notification_510k", perf),
        ("FEI-3012345678", "establishment_registration", None),
        ("LIST-OX-50", "device_listing", None),
        ("QM-QDMED-07", "quality_manual", "Quality manual rev. 7: ISO 13485:2016 as incorporated by the QMSR."),
        ("MDF-OX-50", "medical_device_file", None),
        ("DHF-OX-50", "design_history", None),
        ("CF-QDMED", "complaint_files", None),
        ("CAPA-QDMED", "capa_records", None),
        ("MDR-PROC-QDMED", "mdr_procedures", None),
        ("MDR-FILES-QDMED", "mdr_event_files", None),
        ("CR-PROC-QDMED", "correction_removal_reports", None),
        ("CR-REC-QDMED", "correction_removal_records", None),
        ("LBL-OX-50-US", "labeling", None),
        ("IFU-OX-50-EN", "instructions_for_use", None),
        ("GUDID-OX-50", "gudid_submission", None),
        ("RMF-OX-50", "risk_management_file", None),
        ("BEP-OX-50", "biological_evaluation_plan", None),
        ("BER-OX-50", "biological_evaluation_report", None),
        ("RMP-OX-50", "risk_management_plan", None),
        ("RMR-OX-50", "risk_management_report", None),
        ("P11-AT-QDMED", "audit_trails", None),
        ("P11-SC-QDMED", "signature_controls", None),
        ("P11-VAL-QDMED", "system_validation_records", None),
        ("LBL-OX-50-EN", "label", None),
        ("K000001", "510k_clearance", "Demo clearance letter (invented number)."),
        ("SD-OX-50", "supplier_declarations", None),
        ("TSCA-REC-OX-50", "recordkeeping", None),
        ("P65-EA-OX-50", "exposure_assessment", "No listed chemical above the safe harbour level; no warning needed."),
        ("RECALL-SOP-QDMED", "recall_strategy", "Recall procedure SOP-RC-01; no recall to date."),
        ("NA-RC-OX-50", "recall_communications", "Not applicable: the device has never been recalled."),
        ("NA-RS-OX-50", "recall_status_reports", "Not applicable: the device has never been recalled."),
        ("NA-IDE-OX-50", "ide_application", "Not applicable: substantial equivalence rests on nonclinical data "
                                             "and a non-significant-risk accuracy study (21 CFR 812.2(b))."),
        ("NA-IP-OX-50", "investigational_plan", "Not applicable: no significant-risk investigation."),
        ("NA-IA-OX-50", "investigator_agreements", "Not applicable: no significant-risk investigation."),
        ("NA-TSCA-OX-50", "tsca_import_certification", "Not applicable: made in the United States."),
    ):
        document(b, number, doc_type=doc_type, about=device, issued=issued, note=note)
    _add(b, device, Q.marking, Literal("udi"))
    waiver = document(b, "NA-P65MARK-OX-50", doc_type="marking_not_applicable", about=device, issued=issued,
                      note="Not applicable: no Proposition 65 listed chemical above the safe harbour level.")
    _add(b, waiver, Q.marking, Literal("prop65_warning"))


def _grinder(b: Builder) -> None:
    maker = _organisation(b, _TOOLS, "Qualitas Demo Tools (Suzhou) Co., Ltd. / 启迪示范工具（苏州）有限公司",
                          "88 Xinghu Street, Suzhou Industrial Park, Jiangsu 215000, China", "CN",
                          telephone="+86 512 5555 0188", contact="Chen Wei, Quality Manager")
    importer = _organisation(b, "QDT-VN", "Công ty TNHH Dụng cụ Qualitas Việt Nam",
                             "Số 12 Đường Nguyễn Huệ, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh", "VN",
                             telephone="+84 28 5555 0123", contact="Nguyễn Thị Lan")
    tool = b.product("AG-125", "Angle grinder 125 mm, 900 W", categories=["power_tool"],
                     features=["mains_powered", "low_voltage_range", "consumer_use"])
    _add(b, tool, Q.manufacturedBy, maker)
    _add(b, tool, Q.market, mint("market", "VN"))
    for marking in ("goods_label", "cr_mark"):
        _add(b, tool, Q.marking, Literal(marking))
    _add(b, tool, URIRef("http://purl.org/dc/terms/description"), Literal(
        "220-240 V ~ 50 Hz, 900 W, no-load speed 11 000 min⁻¹, disc Ø 125 mm, M14 spindle, 2.1 kg; class II "
        "double insulation."))
    label = document(b, "LBL-AG-125-VI", doc_type="label", about=tool, language="vi", country="CN",
                     issued=dt.date(2025, 3, 1))
    _add(b, label, Q.name, Literal("Máy mài góc 125 mm, 900 W"))
    _add(b, label, URIRef("http://purl.org/dc/terms/publisher"), importer)
    document(b, "IFU-AG-125-EN", doc_type="instructions_for_use", about=tool, language="en",
             issued=dt.date(2025, 3, 1))
    document(b, "DOC-AG-125-VN", doc_type="declaration_of_conformity", about=tool, issued=dt.date(2025, 3, 1),
             references=("vn-qcvn-4-2009-bkhcn",))
    document(b, "IQI-AG-125-2025", doc_type="import_quality_inspection_registration", about=tool,
             issued=dt.date(2025, 3, 5))
    for number, doc_type, regulation in (
        ("COC-AG-125-QCVN4", "certificate_of_conformity", "vn-qcvn-4-2009-bkhcn"),
        ("TR-AG-125-QCVN4", "test_report", "vn-qcvn-4-2009-bkhcn"),
        ("COC-AG-125-QCVN9", "certificate_of_conformity", "vn-qcvn-9-2012-bkhcn"),
        ("TR-AG-125-QCVN9", "test_report", "vn-qcvn-9-2012-bkhcn"),
    ):
        document(b, number, doc_type=doc_type, about=tool, issued=dt.date(2025, 2, 20), references=(regulation,))
    b.part("MOT-900", "Universal motor 900 W", supplier="SUP-VNC")
    b.part("GBX-AG", "Bevel gearbox housing", supplier="SUP-ALC")
    b.bom(tool, "AG-125", "A", [Line(10, "MOT-900", 1), Line(20, "GBX-AG", 1, material="AlSi10Mg")])
