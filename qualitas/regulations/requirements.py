"""The SHACL shapes of machine-checkable requirements (``shapes/*.ttl``) and their index.

Each shape is a ``q:Requirement`` that a regulation points to with ``q:hasRequirement``
and that names its clause with ``q:clause``; its ``sh:message`` is given in English
and Chinese. The gap report picks the shapes of the regulations that apply
(:func:`shapes_for`) and validates the product's focus subgraph with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF, SH

from qualitas.ontology.vocab import Q

SHAPES_DIR = Path(__file__).parent / "shapes"
_REG = "https://w3id.org/qualitas/id/regulation/"


@dataclass(frozen=True)
class RequirementShape:
    iri: str
    regulation_id: str
    clause: str
    message_en: str
    message_zh: str
    sparql: bool  # True when the shape needs SHACL-SPARQL


def load_requirement_shapes(folder: Path = SHAPES_DIR) -> Graph:
    """Every requirement shape, as one graph."""
    g = Graph()
    for path in sorted(folder.glob("*.ttl")):
        g.parse(path, format="turtle")
    return g


@lru_cache(maxsize=1)
def _shapes() -> Graph:
    return load_requirement_shapes()


def requirement_index(graph: Graph | None = None) -> tuple[RequirementShape, ...]:
    """One entry per shape: its regulation, clause and messages."""
    g = graph if graph is not None else _shapes()
    out = []
    for shape in sorted(set(g.subjects(RDF.type, SH.NodeShape)), key=str):
        regs = [str(s) for s in g.subjects(Q.hasRequirement, shape) if str(s).startswith(_REG)]
        msgs = {m.language: str(m) for m in g.objects(shape, SH.message)}  # type: ignore[attr-defined]
        out.append(RequirementShape(
            iri=str(shape), regulation_id=regs[0][len(_REG):] if regs else "",
            clause=str(g.value(shape, Q.clause) or ""), message_en=msgs.get("en", ""),
            message_zh=msgs.get("zh", ""), sparql=(shape, SH.sparql, None) in g,
        ))
    return tuple(out)


def shape_subgraph(shape: URIRef, graph: Graph | None = None) -> Graph:
    """The triples describing ``shape``: its own and those of the blank nodes it uses."""
    g = graph if graph is not None else _shapes()
    out = Graph()
    todo: list[URIRef | BNode] = [shape]
    seen: set[URIRef | BNode] = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for p, o in g.predicate_objects(node):
            out.add((node, p, o))
            if isinstance(o, BNode):
                todo.append(o)
    return out


def shapes_for(regulation_ids: set[str] | frozenset[str], graph: Graph | None = None) -> Graph:
    """The shapes of the given regulations, ready for pySHACL."""
    g = graph if graph is not None else _shapes()
    out = Graph()
    for req in requirement_index(g):
        if req.regulation_id in regulation_ids:
            out += shape_subgraph(URIRef(req.iri), g)
    return out
