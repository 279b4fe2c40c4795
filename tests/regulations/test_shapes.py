"""Every requirement shape holds on a conforming example and fails on a violating one."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from pyshacl import validate
from rdflib import Graph, URIRef
from rdflib.namespace import SH

from qualitas.regulations import _shapegen
from qualitas.regulations.catalog import default_catalog
from qualitas.regulations.requirements import (
    load_requirement_shapes,
    requirement_index,
    shape_subgraph,
    shapes_for,
)

PREFIXES = """\
@prefix q: <https://w3id.org/qualitas/ontology#> .
@prefix id: <https://w3id.org/qualitas/id/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix feat: <https://w3id.org/qualitas/id/category/feature/> .
"""
QRS = "https://w3id.org/qualitas/regulations/shapes#"
EXAMPLES = yaml.safe_load((Path(__file__).parent / "shape_examples.yaml").read_text(encoding="utf-8"))
SHAPES = load_requirement_shapes()
INDEX = requirement_index(SHAPES)


def _generated_example(name: str, *, conforms: bool) -> str:
    """Examples for the generated limit and Art. 33 shapes, from the shape's own data."""
    if name.endswith("--art33-communication"):
        entry = "id:entry/E a q:CompositionEntry ; q:substance id:substance/25973-55-1 ; q:massFraction 0.004 .\n"
        entry += "id:declaration/D q:hasCompositionEntry id:entry/E ; q:declarationFor id:part/X .\n"
        if conforms:
            entry += 'id:document/C q:about id:part/X ; dcterms:type "reach_art33_communication" .\n'
        return entry
    cas = name.rsplit("--limit-", 1)[1]
    shape = URIRef(QRS + name)
    limit = next(
        Decimal(str(o)) for _, _, o in shape_subgraph(shape, SHAPES).triples((None, SH.maxInclusive, None))
    )
    value = limit / 2 if conforms else limit * 2
    return f"id:entry/E a q:CompositionEntry ; q:substance id:substance/{cas} ; q:massFraction {value} .\n"


def _example(name: str, *, conforms: bool) -> str:
    if name in EXAMPLES:
        return EXAMPLES[name]["conforms" if conforms else "violates"]
    return _generated_example(name, conforms=conforms)


def _turtle(data: str) -> str:
    """Examples write ``id:kind/key``; Turtle local names cannot hold a slash."""
    return PREFIXES + re.sub(r"\bid:([\w/%+-]+)", r"<https://w3id.org/qualitas/id/\1>", data)


def _check(name: str, data: str) -> tuple[bool, set[str]]:
    shape = URIRef(QRS + name)
    ok, report, _ = validate(
        Graph().parse(data=_turtle(data), format="turtle"),
        shacl_graph=shape_subgraph(shape, SHAPES), advanced=True,
    )
    sources = {str(s) for s in report.objects(None, SH.sourceShape)}
    return ok, sources


def test_at_least_sixty_shapes_each_linked_to_a_catalog_regulation_with_en_and_zh_messages() -> None:
    assert len(INDEX) >= 60
    ids = {r.id for r in default_catalog()}
    for req in INDEX:
        assert req.regulation_id in ids, req.iri
        assert req.clause, req.iri
        assert req.message_en and req.message_zh, req.iri
    assert sum(not r.sparql for r in INDEX) > 50  # SHACL Core first


def test_generated_shapes_are_up_to_date() -> None:
    assert _shapegen.OUT.read_text(encoding="utf-8") == _shapegen.render()


def test_shapes_for_selects_the_shapes_of_the_given_regulations() -> None:
    g = shapes_for({"eu-lvd-2014-35"})
    names = {str(s) for s in g.subjects(SH.targetClass, None)}
    assert QRS + "lvd-ce-marking" in names
    assert QRS + "ccc-mark" not in names


@pytest.mark.parametrize("name", sorted(r.iri[len(QRS):] for r in INDEX))
@pytest.mark.parametrize("case", ["conforms", "violates"])
def test_shape(name: str, case: str) -> None:
    ok, sources = _check(name, _example(name, conforms=case == "conforms"))
    if case == "conforms":
        assert ok, name
    else:
        assert not ok, name
        assert sources, name
