"""The Qualitas ontology (OWL 2, Turtle), its vocabulary module and data-model shapes."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from qualitas.ontology.namespaces import (
    CBV,
    ELI,
    EPCIS,
    GRAPH,
    ID,
    META_GRAPH,
    PREFIXES,
    QUDT,
    UNIT,
    mint,
    sparql_prefixes,
)
from qualitas.ontology.vocab import Q

HERE = Path(__file__).parent
ONTOLOGY_FILE = HERE / "qualitas.ttl"
SHAPES_FILE = HERE / "shapes.ttl"

__all__ = [
    "CBV",
    "ELI",
    "EPCIS",
    "GRAPH",
    "ID",
    "META_GRAPH",
    "ONTOLOGY_FILE",
    "PREFIXES",
    "QUDT",
    "SHAPES_FILE",
    "UNIT",
    "Q",
    "load_ontology",
    "load_shapes",
    "mint",
    "sparql_prefixes",
]


def load_ontology() -> Graph:
    """The ontology as an in-memory rdflib graph."""
    return Graph().parse(ONTOLOGY_FILE, format="turtle")


def load_shapes() -> Graph:
    """The SHACL shapes of the data model as an in-memory rdflib graph."""
    return Graph().parse(SHAPES_FILE, format="turtle")
