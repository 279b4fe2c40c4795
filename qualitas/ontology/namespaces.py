"""Namespaces Qualitas reads and writes, and IRIs minted from business keys.

IRIs are stable and derived from business keys (part number, lot number, serial),
so ingesting the same record twice yields the same triples.
"""

from __future__ import annotations

from urllib.parse import quote

from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SH, SKOS, SOSA, XSD

from qualitas.ontology.vocab import Q

ID = Namespace("https://w3id.org/qualitas/id/")
GRAPH = Namespace("https://w3id.org/qualitas/graph/")
QUDT = Namespace("http://qudt.org/schema/qudt/")
UNIT = Namespace("http://qudt.org/vocab/unit/")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
EPCIS = Namespace("https://ref.gs1.org/epcis/")
CBV = Namespace("https://ref.gs1.org/cbv/")

#: The named graph holding PROV-O metadata about every ingest batch.
META_GRAPH = GRAPH["meta"]

PREFIXES: dict[str, str] = {
    "q": str(Q),
    "id": str(ID),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "prov": str(PROV),
    "sosa": str(SOSA),
    "sh": str(SH),
    "qudt": str(QUDT),
    "unit": str(UNIT),
    "eli": str(ELI),
    "epcis": str(EPCIS),
    "cbv": str(CBV),
}

#: Kinds of business object that get an IRI ``id/<kind>/<key>``.
KINDS = frozenset(
    {
        "product",
        "category",
        "bom",
        "bomline",
        "part",
        "material",
        "substance",
        "supplier",
        "declaration",
        "testreport",
        "calibration",
        "routing",
        "step",
        "parameter",
        "paramset",
        "paramspec",
        "equipment",
        "lot",
        "unit",
        "run",
        "observation",
        "inspection",
        "complaint",
        "failuremode",
        "capa",
        "regulation",
        "requirement",
        "market",
        "document",
    }
)


def mint(kind: str, *keys: str) -> URIRef:
    """The IRI of a business object, e.g. ``mint("lot", "NPP-24-0913")``.

    Keys are percent-encoded, so any business key (spaces, slashes, CJK) is safe.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown IRI kind {kind!r}; expected one of {sorted(KINDS)}")
    if not keys or any(not str(k).strip() for k in keys):
        raise ValueError(f"empty business key for {kind!r}")
    return ID[kind + "/" + "/".join(quote(str(k).strip(), safe="-._~") for k in keys)]


def sparql_prefixes() -> str:
    """``PREFIX`` lines for every namespace above, for SPARQL queries."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
