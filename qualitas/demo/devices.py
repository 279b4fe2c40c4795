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

The OX-50 and its makers are invented; its predicate is a real clearance from FDA's
public 510(k) database (K131021, Nonin Medical, Inc., cleared 2013-09-11), recorded
with the URL of its database record. The GTIN uses GS1 prefix 952, which GS1 keeps for
demonstrations and examples, with a valid check digit (GS1 General Specifications 7.9).

(e') AG-125 is also placed on the EU market (Machinery Directive 2006/42/EC, EMC,
    RoHS). Its maker is in China, so it names an EU authorised representative who may
    compile the technical file (2006/42/EC Annex II 1.A(2)). Its technical file is not
    on file: the EU route stays incomplete, and the EU pack DRAFT.
"""

from __future__ import annotations

import datetime as dt

from rdflib import RDF, XSD, Literal, URIRef
from rdflib.namespace import DCTERMS

from qualitas.demo.compliance import ANNA_KELLER, document, eu_declaration_of_conformity, person
from qualitas.ontology import Q, mint
from qualitas.ontology.builder import Builder, Line

#: Organisations and predicate devices have no business-key kind of their own in ``mint``.
_ID = "https://w3id.org/qualitas/id/"
_MOBILITY = "QDM"
_MEDICAL = "QDMED"
_TOOLS = "QDT"


def _add(b: Builder, s: URIRef, p: URIRef, o: URIRef | Literal) -> None:
    b.sink((s, p, o))


def organisation(b: Builder, key: str, name: str, address: str, country: str, *, telephone: str,
                 contact: str, contact_node: URIRef | None = None) -> URIRef:
    """An organisation with its address and ISO 3166-1 alpha-2 ``country``; ``contact`` stays one
    string for older readers, ``contact_node`` is the same person as a ``q:Person``."""
    iri = URIRef(_ID + "organisation/" + key)
    _add(b, iri, RDF.type, URIRef("http://www.w3.org/ns/prov#Organization"))
    _add(b, iri, Q.name, Literal(name))
    _add(b, iri, Q.address, Literal(address))
    _add(b, iri, Q.country, Literal(country))
    _add(b, iri, Q.telephone, Literal(telephone))
    _add(b, iri, Q.contactPerson, Literal(contact))
    if contact_node is not None:
        _add(b, iri, Q.contact, contact_node)
    return iri


MARIA_LOPEZ = ("QDMED-MLOPEZ", "Maria Lopez", {
    "en": "Regulatory Affairs Manager", "de": "Managerin Regulatory Affairs",
    "fr": "Responsable des affaires réglementaires", "zh": "法规事务经理", "vi": "Quản lý Các vấn đề Pháp quy"})
CHEN_WEI = ("QDT-CHENWEI", "Chen Wei", {
    "en": "Quality Manager", "de": "Qualitätsmanager", "fr": "Responsable qualité", "zh": "质量经理",
    "vi": "Trưởng phòng Chất lượng"})

#: GTIN-14 with GS1 prefix 952 (demonstrations and examples); check digit 4 per GS1 GenSpecs 7.9.
OX50_GTIN = "09520012345674"
#: The predicate device: FDA 510(k) database record, as published.
PREDICATE_K_NUMBER = "K131021"
PREDICATE_SOURCE = "https://www.accessdata.fda.gov/scripts/cdrh/cfdocs/cfpmn/pmn.cfm?ID=K131021"


def build(b: Builder) -> None:
    """Write the pack demo data through ``b`` (after the scenario and its compliance facts)."""
    mobility = organisation(b, _MOBILITY, "Qualitas Demo Mobility GmbH",
                             "Industriestraße 12, 70565 Stuttgart", "DE",
                             telephone="+49 711 555 0100", contact="Dr. Anna Keller, Head of Compliance",
                             contact_node=person(b, *ANNA_KELLER))
    for model in ("CPC-200", "BP-75", "CC-T2-32A", "QX-EV5"):
        _add(b, mint("product", model), Q.manufacturedBy, mobility)
    _oximeter(b)
    _grinder(b)


def _oximeter(b: Builder) -> None:
    maker = organisation(b, _MEDICAL, "Qualitas Demo Medical Inc.",
                          "4100 Harbor Drive, Suite 210, San Diego, CA 92101", "US",
                          telephone="+1 619 555 0142", contact="Maria Lopez, Regulatory Affairs Manager",
                          contact_node=person(b, *MARIA_LOPEZ))
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
            "Same as the predicate (Nonin Model 3230, K131021): red and infrared transmissive "
            "photoplethysmography at the fingertip, spot-checking of SpO2 and pulse rate, self-contained finger "
            "device powered by two AAA cells. OX-50: 660 nm / 905 nm, SpO2 range 70-100 % with accuracy ±2 %, "
            "pulse rate 30-240 bpm, PC/ABS housing, medical-grade silicone finger pad. Differences: OLED display "
            "instead of LCD, no Bluetooth radio, infrared wavelength 905 nm instead of 910 nm; no effect on "
            "safety or effectiveness (see performance data)."
        ),
        Q.udiDi: OX50_GTIN,
        Q.issuingAgency: "GS1",
        Q.udiProductionIdentifier: "lot number; expiration date",
        Q.gtin: OX50_GTIN,
    }
    for prop, value in facts.items():
        _add(b, device, prop, Literal(value))
    _add(b, device, URIRef("http://purl.org/dc/terms/description"), Literal(
        "Battery-powered fingertip oximeter: a red and an infrared LED shine through the fingertip onto a "
        "photodiode; SpO2 is computed from the ratio of pulsatile absorbances and shown with pulse rate and a "
        "perfusion bar on an OLED display."))
    # FDA 510(k) database: K131021, device name "PULSE OXIMETER" (the Nonin Model 3230 finger pulse
    # oximeter), applicant Nonin Medical, Inc., decision date 2013-09-11, 21 CFR 870.2700.
    predicate = URIRef(_ID + "predicate-device/" + PREDICATE_K_NUMBER)
    _add(b, predicate, RDF.type, URIRef("http://www.w3.org/ns/prov#Entity"))
    _add(b, predicate, Q.name, Literal("PULSE OXIMETER (Nonin Model 3230 finger pulse oximeter)"))
    _add(b, predicate, Q.clearanceNumber, Literal(PREDICATE_K_NUMBER))
    _add(b, predicate, Q.clearanceHolder, Literal("Nonin Medical, Inc."))
    _add(b, predicate, Q.decisionDate, Literal("2013-09-11", datatype=XSD.date))
    _add(b, predicate, Q.regulationNumber, Literal("21 CFR 870.2700"))
    _add(b, predicate, DCTERMS.source, URIRef(PREDICATE_SOURCE))
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
        # Labels carry the country of origin (made in the United States).
        document(b, number, doc_type=doc_type, about=device, issued=issued, note=note,
                 country="US" if doc_type in ("label", "labeling") else None)
    # The test reports the performance data of the 510(k) summary rests on.
    for number, doc_type, standard in (
        ("CB-OX-50-60601-1", "cb_test_report", "int-iec-60601-1"),
        ("TR-OX-50-60601-1-2", "test_report", "int-iec-60601-1-2-2014"),
        ("TR-OX-50-80601-2-61", "test_report", "int-iso-80601-2-61-2017"),
    ):
        document(b, number, doc_type=doc_type, about=device, issued=dt.date(2025, 6, 30), references=(standard,))
    _add(b, device, Q.marking, Literal("udi"))
    waiver = document(b, "NA-P65MARK-OX-50", doc_type="marking_not_applicable", about=device, issued=issued,
                      note="Not applicable: no Proposition 65 listed chemical above the safe harbour level.")
    _add(b, waiver, Q.marking, Literal("prop65_warning"))


def _grinder(b: Builder) -> None:
    maker = organisation(b, _TOOLS, "Qualitas Demo Tools (Suzhou) Co., Ltd. / 启迪示范工具（苏州）有限公司",
                          "88 Xinghu Street, Suzhou Industrial Park, Jiangsu 215000", "CN",
                          telephone="+86 512 5555 0188", contact="Chen Wei, Quality Manager",
                          contact_node=person(b, *CHEN_WEI))
    importer = organisation(b, "QDT-VN", "Công ty TNHH Dụng cụ Qualitas Việt Nam",
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
    _grinder_eu(b, tool)
    b.part("MOT-900", "Universal motor 900 W", supplier="SUP-VNC")
    b.part("GBX-AG", "Bevel gearbox housing", supplier="SUP-ALC")
    b.bom(tool, "AG-125", "A", [Line(10, "MOT-900", 1), Line(20, "GBX-AG", 1, material="AlSi10Mg")])


def _grinder_eu(b: Builder, tool: URIRef) -> None:
    """AG-125 on the EU market: CE marking under the Machinery Directive, EMC and RoHS, with the
    EU authorised representative a maker outside the Union names (2006/42/EC Art. 2(j), Annex II 1.A(2))."""
    _add(b, tool, Q.market, mint("market", "EU"))
    _add(b, tool, Q.marking, Literal("ce_marking"))
    representative = organisation(b, "QDT-EU", "Qualitas Demo EU Representative B.V.",
                                  "Voorbeeldstraat 12, 5611 AB Eindhoven", "NL",
                                  telephone="+31 40 555 0170", contact="Sanne de Vries, Authorised Representative")
    _add(b, tool, Q.authorisedRepresentative, representative)
    eu_declaration_of_conformity(
        b, "DoC-AG-125-2025-01", about=tool, issued=dt.date(2025, 3, 1), place="Suzhou",
        signatory=person(b, *CHEN_WEI),
        references=("eu-machinery-directive-2006-42", "eu-emc-2014-30", "eu-rohs-2011-65"))
