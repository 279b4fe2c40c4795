"""Compliance facts of the demo: documents, markings, markets and material declarations.

They make the gap reports of the demo meaningful:

* CC-T2-32A (charging cable) is the healthy product: placed on the EU market with
  every document and marking its EU regulations ask for, IPC-1752A class D material
  declarations with mass fractions (UV-328 in the TPE jacket above 0.1 % w/w, with the
  REACH Art. 33 communication) and a class C declaration for the CuZn39Pb3 contacts,
  whose lead relies on RoHS Annex III exemption 6(c).
* CPC-200 (charging-port cover) is a passive vehicle part: no CE route, so no EU
  declaration of conformity. It carries what vehicle makers and type approval ask for:
  an IMDS record, REACH Art. 33 information, an ELV Annex II statement and a PPAP part
  submission warrant.
* BP-75 (battery pack) carries the CE marking and its EU declaration of conformity under
  the Batteries Regulation (EU) 2023/1542.

EU declarations of conformity on file carry their number, place (language-tagged) and
date of issue, and their signatory as a ``q:Person`` with job titles in every pack
language.

Documents follow Dublin Core: ``dcterms:type`` (a document code as the catalog's
``required_documents`` spells it), ``dcterms:language``, ``q:about`` the product.
A compliance team that decides a requirement does not bite records that decision as a
document of the required type with ``dcterms:description`` saying why (a justified
non-applicability statement), so the evidence trail stays in the graph.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

from rdflib import RDF, XSD, Literal, URIRef
from rdflib.namespace import DCTERMS

from qualitas.ontology import Q, mint
from qualitas.ontology.builder import Builder

_ISSUED = dt.date(2024, 10, 15)


def _add(b: Builder, s: URIRef, p: URIRef, o: URIRef | Literal) -> None:
    b.sink((s, p, o))


def document(
    b: Builder,
    number: str,
    *,
    doc_type: str,
    about: URIRef,
    language: str = "en",
    issued: dt.date = _ISSUED,
    references: Iterable[str] = (),
    note: str | None = None,
    country: str | None = None,
    issuer: str | None = None,
) -> URIRef:
    """A ``q:Document`` of ``doc_type`` about ``about`` (product or part)."""
    iri = mint("document", number)
    _add(b, iri, RDF.type, Q.Document)
    _add(b, iri, Q.documentNumber, Literal(number))
    _add(b, iri, DCTERMS.type, Literal(doc_type))
    _add(b, iri, DCTERMS.language, Literal(language))
    _add(b, iri, DCTERMS.issued, Literal(issued.isoformat(), datatype=XSD.date))
    _add(b, iri, Q.about, about)
    for regulation in references:
        _add(b, iri, DCTERMS.references, mint("regulation", regulation))
    if note:
        _add(b, iri, DCTERMS.description, Literal(note, lang="en"))
    if country:
        _add(b, iri, Q.country, Literal(country))
    if issuer:
        _add(b, iri, Q.issuer, Literal(issuer))
    return iri


#: People and organisations have no business-key kind of their own in ``mint``.
_ID = "https://w3id.org/qualitas/id/"


def person(b: Builder, key: str, name: str, job_titles: Mapping[str, str]) -> URIRef:
    """A ``q:Person`` with a plain ``q:name`` and ``q:jobTitle`` in each language of ``job_titles``."""
    iri = URIRef(_ID + "person/" + key)
    _add(b, iri, RDF.type, Q.Person)
    _add(b, iri, Q.name, Literal(name))
    for lang, title in job_titles.items():
        _add(b, iri, Q.jobTitle, Literal(title, lang=lang))
    return iri


#: Places of issue as each pack language writes them.
PLACES: Mapping[str, Mapping[str, str]] = {
    "Stuttgart": {"en": "Stuttgart", "de": "Stuttgart", "fr": "Stuttgart", "zh": "斯图加特", "vi": "Stuttgart"},
    "Suzhou": {"en": "Suzhou", "de": "Suzhou", "fr": "Suzhou", "zh": "苏州", "vi": "Tô Châu"},
}

ANNA_KELLER = ("QDM-AKELLER", "Dr. Anna Keller", {
    "en": "Head of Compliance", "de": "Leiterin Compliance", "fr": "Responsable de la conformité",
    "zh": "合规负责人", "vi": "Trưởng bộ phận Tuân thủ"})


def eu_declaration_of_conformity(
    b: Builder,
    number: str,
    *,
    about: URIRef,
    issued: dt.date,
    place: str,
    signatory: URIRef,
    references: Iterable[str],
) -> URIRef:
    """An EU declaration of conformity on file (Decision 768/2008/EC Annex III): its number, the
    Union harmonisation legislation it declares conformity with, place and date of issue, signatory."""
    iri = document(b, number, doc_type="eu_declaration_of_conformity", about=about, issued=issued,
                   references=references)
    for lang, city in PLACES[place].items():
        _add(b, iri, Q.placeOfIssue, Literal(city, lang=lang))
    _add(b, iri, Q.signatory, signatory)
    return iri


def composition(
    b: Builder,
    declaration: str,
    *,
    material: str,
    material_mass_g: str | None = None,
    substances: Iterable[tuple[str, str]] = (),
    categories: Iterable[tuple[str, bool, str | None]] = (),
    declaration_class: str = "D",
) -> None:
    """IPC-1752A composition entries of ``declaration`` (as the ingest parser writes them):
    the homogeneous ``material`` (with its mass), substances ``(cas, mass fraction)`` and
    class C substance categories ``(name, above threshold, RoHS exemption or None)``."""
    decl = mint("declaration", declaration)
    mat = mint("material", material)
    _add(b, decl, Q.declarationClass, Literal(declaration_class))
    _add(b, decl, Q.declaresMaterial, mat)
    entry = mint("declaration", declaration, "material", material)
    _add(b, decl, Q.hasCompositionEntry, entry)
    _add(b, entry, RDF.type, Q.CompositionEntry)
    _add(b, entry, Q.material, mat)
    if material_mass_g is not None:
        _add(b, entry, Q.quantity, Literal(Decimal(material_mass_g), datatype=XSD.decimal))
        _add(b, entry, Q.unit, URIRef("http://qudt.org/vocab/unit/GM"))
    for cas, fraction in substances:
        sub = mint("declaration", declaration, "material", material, "substance", cas)
        _add(b, decl, Q.hasCompositionEntry, sub)
        _add(b, sub, RDF.type, Q.CompositionEntry)
        _add(b, sub, Q.material, mat)
        _add(b, sub, Q.substance, mint("substance", cas))
        _add(b, sub, Q.massFraction, Literal(Decimal(fraction), datatype=XSD.decimal))
    for name, above, exemption in categories:
        cat = mint("declaration", declaration, "category", "EU RoHS", name)
        _add(b, decl, Q.hasCompositionEntry, cat)
        _add(b, cat, RDF.type, Q.CompositionEntry)
        _add(b, cat, Q.material, mat)
        _add(b, cat, Q.substanceCategory, Literal(name))
        _add(b, cat, Q.aboveThreshold, Literal(above))
        if exemption:
            ex = mint("declaration", declaration, "exemption", "EU RoHS Annex III", exemption)
            _add(b, ex, RDF.type, Q.Exemption)
            _add(b, ex, Q.code, Literal(exemption))
            _add(b, ex, Q.identifier, Literal("EU RoHS Annex III"))
            _add(b, cat, Q.claimsExemption, ex)
            _add(b, decl, Q.claimsExemption, ex)


_ROHS_CATEGORIES = (
    "Lead/Lead Compounds",
    "Mercury/Mercury Compounds",
    "Cadmium/Cadmium Compounds",
    "Hexavalent Chromium/Hexavalent Chromium Compounds",
    "Polybrominated Biphenyls (PBBs)",
    "Polybrominated Diphenylethers (PBDEs)",
)


def build(b: Builder) -> None:
    """Write the compliance facts of the demo through ``b`` (after the scenario)."""
    _substances(b)
    _cable(b)
    _cover(b)
    _battery(b)


def _substances(b: Builder) -> None:
    b.substance("7440-50-8", "Copper", ec="231-159-6")
    b.substance("7440-66-6", "Zinc", ec="231-175-3")
    b.substance("9003-18-3", "Polybutylene terephthalate")
    b.substance("32131-17-2", "Polyamide 66")
    b.substance("25038-54-4", "Polyamide 6")
    b.substance("7439-89-6", "Iron", ec="231-096-4")
    b.substance("7440-47-3", "Chromium", ec="231-157-5")
    b.substance("7440-02-0", "Nickel", ec="231-111-4")
    b.substance("25038-36-2", "EPDM rubber")


def _cable(b: Builder) -> None:
    cable = mint("product", "CC-T2-32A")
    _add(b, cable, Q.market, mint("market", "EU"))
    for marking in ("ce_marking", "crossed_out_wheeled_bin"):
        _add(b, cable, Q.marking, Literal(marking))
    # Only the CE-marking acts that apply: a passive cable assembly is outside the EMC Directive
    # (2014/30/EU Art. 2(2)(d), inherently benign equipment). The LVD standard applied is EN IEC 61851-1
    # (the catalog has no EN 62196 entry yet; EN 55032, a multimedia EMC standard, never belonged here).
    signatory = person(b, *ANNA_KELLER)
    eu_declaration_of_conformity(b, "DoC-CC-T2-32A-2024-01", about=cable, issued=_ISSUED, place="Stuttgart",
                                 signatory=signatory,
                                 references=("eu-lvd-2014-35", "eu-rohs-2011-65", "eu-en-iec-61851-1-2019"))
    document(b, "TF-CC-T2-32A", doc_type="technical_documentation", about=cable)
    document(b, "IFU-CC-T2-32A-EN", doc_type="instructions_and_safety_information", about=cable)
    document(b, "IFU-CC-T2-32A-DE", doc_type="instructions_and_safety_information", about=cable, language="de")
    document(b, "DPP-CC-T2-32A", doc_type="digital_product_passport", about=cable)
    document(b, "SVHC-CC-T2-32A", doc_type="svhc_declaration", about=cable)
    document(b, "SCIP-CC-T2-32A", doc_type="scip_notification", about=cable, references=("eu-waste-framework-2008-98",))
    document(b, "WEEE-REG-DE-12345678", doc_type="producer_registration", about=cable)
    document(b, "WEEE-RI-CC-T2-32A", doc_type="recycling_information", about=cable)
    na = "Not applicable: the cable is an article; it contains no hazardous mixture needing {what}."
    document(b, "NA-SDS-CC-T2-32A", doc_type="safety_data_sheet", about=cable, note=na.format(what="an SDS"))
    document(b, "NA-CLP-CC-T2-32A", doc_type="clp_label", about=cable, note=na.format(what="a CLP label"))
    document(b, "NA-FGAS-CC-T2-32A", doc_type="f_gas_label_information", about=cable,
             note="Not applicable: the cable contains no fluorinated greenhouse gases.")
    document(b, "NA-DIISO-CC-T2-32A", doc_type="training_records", about=cable,
             note="Not applicable: no diisocyanates are used in making or installing the cable.")
    for number, mark, why in (
        ("NA-GHS-CC-T2-32A", "ghs_pictograms", "the cable is an article, not a hazardous substance or mixture"),
        ("NA-FGASMARK-CC-T2-32A", "f_gas_label", "the cable contains no fluorinated greenhouse gases"),
    ):
        na_doc = document(b, number, doc_type="marking_not_applicable", about=cable, note=f"Not applicable: {why}.")
        _add(b, na_doc, Q.marking, Literal(mark))
    # REACH Art. 33(1): the jacket carries UV-328 and the contacts lead, both SVHC above 0.1 % w/w.
    for part in ("CBL-5G6", "CNT-T2"):
        document(b, f"ART33-{part}", doc_type="reach_art33_communication", about=mint("part", part),
                 references=("eu-reach-1907-2006",))
    # Class D declarations with the composition of each homogeneous material.
    composition(b, "RKB-IPC1752-5G6", material="TPE-V0", material_mass_g="820",
                substances=[("25973-55-1", "0.003")])
    composition(b, "VNC-IPC1752-CNT", material="CuZn39Pb3", material_mass_g="36",
                substances=[("7440-50-8", "0.58"), ("7440-66-6", "0.385")],
                categories=[(name, name.startswith("Lead"), "6(c)" if name.startswith("Lead") else None)
                            for name in _ROHS_CATEGORIES])
    for number, part, material, mass, subs in (
        ("VNC-IPC1752-PLG", "PLG-T2", "PA6-V0", "120", [("25038-54-4", "0.82")]),
    ):
        b.declaration(number, supplier="SUP-VNC", part=part, issued=dt.date(2024, 2, 10), material=material)
        composition(b, number, material=material, material_mass_g=mass, substances=subs)


def _cover(b: Builder) -> None:
    cover = mint("product", "CPC-200")
    _add(b, cover, Q.market, mint("market", "EU"))
    _add(b, cover, Q.market, mint("market", "CN"))
    maker = "Qualitas Demo Mobility GmbH"
    document(b, "IMDS-CPC-200", doc_type="imds_material_data", about=cover, issuer=maker)
    document(b, "SVHC-CPC-200", doc_type="svhc_declaration", about=cover)
    # What vehicle makers and type approval ask of a passive part (no CE marking, no EU DoC).
    document(b, "R33-CPC-200-2024-01", doc_type="reach_article_33_information", about=cover,
             issued=dt.date(2024, 10, 1), issuer=maker, references=("eu-reach-1907-2006",),
             note="REACH Art. 33(1) information for the CPC-200 cover assembly (BOM revision C): no substance "
                  "of the Candidate List is present above 0.1 % w/w in any article of the assembly, based on "
                  "the supplier declarations NPP-IPC1752-7731, SFD-ROHS-0045 and EPD-REACH-1202.")
    document(b, "ELV-CPC-200-2024-01", doc_type="elv_annex_ii_statement", about=cover,
             issued=dt.date(2024, 10, 1), issuer=maker, references=("eu-elv-2000-53",),
             note="ELV Directive 2000/53/EC Art. 4(2)(a) and Annex II: the assembly contains no lead, mercury, "
                  "cadmium or hexavalent chromium above the Annex II maximum concentration values; no Annex II "
                  "exemption is claimed.")
    document(b, "PSW-CPC-200-C-01", doc_type="ppap_part_submission_warrant", about=cover,
             issued=dt.date(2024, 2, 26), issuer=maker,
             note="Part submission warrant, AIAG PPAP 4th edition, submission level 3, for drawing CPC-200 "
                  "revision C: initial submission, approved by the vehicle plant.")
    composition(b, "NPP-IPC1752-7731", material="PBT+GF30", material_mass_g="3.2",
                substances=[("9003-18-3", "0.7"), ("65997-17-3", "0.3")])
    composition(b, "SFD-ROHS-0045", material="1.4310", material_mass_g="1.1",
                substances=[("7439-89-6", "0.72"), ("7440-47-3", "0.18"), ("7440-02-0", "0.08")])
    composition(b, "EPD-REACH-1202", material="EPDM-70", material_mass_g="4.5",
                substances=[("25038-36-2", "0.6")])


def _battery(b: Builder) -> None:
    pack = mint("product", "BP-75")
    _add(b, pack, Q.market, mint("market", "EU"))
    _add(b, pack, Q.market, mint("market", "CN"))
    for marking in ("ce_marking", "separate_collection_symbol"):
        _add(b, pack, Q.marking, Literal(marking))
    # Regulation (EU) 2023/1542 Art. 18 and Annex IX: the battery's own EU declaration of conformity.
    eu_declaration_of_conformity(b, "DoC-BP-75-2024-01", about=pack, issued=_ISSUED, place="Stuttgart",
                                 signatory=person(b, *ANNA_KELLER), references=("eu-batteries-2023-1542",))
    document(b, "TF-BP-75", doc_type="technical_documentation", about=pack)
    composition(b, "HLM-IPC1752-CAT", material="LFP-C", material_mass_g="520",
                substances=[("15365-14-7", "0.97")])
    composition(b, "SZB-IPC1752-BMS400", material="FR4-ENIG", material_mass_g="180",
                substances=[("7440-50-8", "0.22")],
                categories=[(name, False, None) for name in _ROHS_CATEGORIES])
