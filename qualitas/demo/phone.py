"""Demo smartphone QP-6 for the repairability score (issue 5, item 4).

(f) Smartphone QP-6 sold in the EU, with the repair data the EU energy label's
    repairability class needs (Regulation (EU) 2023/1669 Annex IV point 5): for each
    priority part the number of disassembly steps, the fastener type and the tool
    type; the guaranteed years of software updates; the supplier's declared
    spare-parts and repair-information scores; and its French repairability index
    points. Worked by hand (tests/reasoning/test_repairability.py): R = 3.6425,
    class B; French index 67.5 / 10 = 6.75. Its EU declaration of conformity covers the
    Radio Equipment Directive 2014/53/EU, RoHS 2011/65/EU and the smartphone ecodesign
    Regulation (EU) 2023/1670, which applies from 20 June 2025.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from rdflib import RDF, Literal, URIRef
from rdflib.namespace import XSD

from qualitas.demo.compliance import eu_declaration_of_conformity, person
from qualitas.demo.devices import organisation
from qualitas.ontology import Q, mint
from qualitas.ontology.builder import Builder

MODEL = "QP-6"

#: (priority part, disassembly steps, fastener type, tool type)
PARTS: tuple[tuple[str, int, str, str], ...] = (
    ("battery", 4, "resupplied", "basic"),
    ("display_assembly", 8, "reusable", "basic"),
    ("back_cover", 2, "reusable", "none"),
    ("front_camera", 12, "removable", "supplied_with_product"),
    ("rear_camera", 10, "reusable", "basic"),
    ("charging_port", 16, "resupplied", "commercially_available"),
    ("mechanical_button", 14, "removable", "basic"),
    ("microphone", 5, "reusable", "basic"),
    ("speaker", 6, "reusable", "supplied_with_spare_part"),
)
SOFTWARE_UPDATE_YEARS = Decimal(6)
SPARE_PARTS_SCORE = 4
REPAIR_INFORMATION_SCORE = 4
FRENCH_POINTS: tuple[tuple[str, Decimal], ...] = (
    ("documentation", Decimal("16")),
    ("disassembly", Decimal("13.5")),
    ("spare_parts_availability", Decimal("15")),
    ("spare_parts_price", Decimal("9")),
    ("product_specific", Decimal("14")),
)


def _add(b: Builder, s: URIRef, p: URIRef, o: URIRef | Literal) -> None:
    b.sink((s, p, o))


def build(b: Builder) -> None:
    """Write the smartphone and its repair data through ``b``."""
    phone = b.product(MODEL, "QP-6 smartphone", categories=["smartphone_tablet"],
                      features=["battery_powered", "consumer_use", "radio_transmitter", "network_connected",
                                "wired_charging"])
    _add(b, phone, Q.market, mint("market", "EU"))
    signatory = person(b, "QDE-JWEBER", "Jonas Weber", {
        "en": "Head of Product Compliance", "de": "Leiter Produktkonformität",
        "fr": "Responsable de la conformité des produits", "zh": "产品合规负责人",
        "vi": "Trưởng bộ phận Tuân thủ Sản phẩm"})
    maker = organisation(b, "QDE", "Qualitas Demo Electronics GmbH", "Industriestraße 14, 70565 Stuttgart",
                         "DE", telephone="+49 711 555 0200", contact="Jonas Weber, Head of Product Compliance",
                         contact_node=signatory)
    _add(b, phone, Q.manufacturedBy, maker)
    eu_declaration_of_conformity(
        b, "DoC-QP-6-2025-01", about=phone, issued=dt.date(2025, 6, 20), place="Stuttgart", signatory=signatory,
        references=("eu-red-2014-53", "eu-rohs-2011-65", "eu-ecodesign-smartphones-2023-1670"))
    for code, steps, fastener, tool in PARTS:
        node = mint("product", MODEL, "repair", code)
        _add(b, phone, Q.hasPriorityPartRepair, node)
        _add(b, node, RDF.type, Q.PriorityPartRepair)
        _add(b, node, Q.priorityPart, Literal(code))
        _add(b, node, Q.disassemblySteps, Literal(steps, datatype=XSD.integer))
        _add(b, node, Q.fastenerType, Literal(fastener))
        _add(b, node, Q.toolType, Literal(tool))
    _add(b, phone, Q.softwareUpdateYears, Literal(SOFTWARE_UPDATE_YEARS, datatype=XSD.decimal))
    _add(b, phone, Q.sparePartsScore, Literal(SPARE_PARTS_SCORE, datatype=XSD.integer))
    _add(b, phone, Q.repairInformationScore, Literal(REPAIR_INFORMATION_SCORE, datatype=XSD.integer))
    for code, points in FRENCH_POINTS:
        node = mint("product", MODEL, "repair-index-fr", code)
        _add(b, phone, Q.hasRepairCriterionScore, node)
        _add(b, node, RDF.type, Q.RepairCriterionScore)
        _add(b, node, Q.criterion, Literal(code))
        _add(b, node, Q.points, Literal(points, datatype=XSD.decimal))
