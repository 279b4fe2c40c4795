"""Generate ``vocab.py`` from ``qualitas.ttl``: ``python -m qualitas.ontology._vocabgen``.

The generated ``Q`` namespace is an rdflib ``DefinedNamespace`` with ``_fail = True``,
so a misspelled term (``Q.Prodcut``) raises at import or first use instead of
minting a silent, wrong IRI.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rdflib import OWL, RDF, Graph, URIRef

HERE = Path(__file__).parent
ONTOLOGY_FILE = HERE / "qualitas.ttl"
VOCAB_FILE = HERE / "vocab.py"
NAMESPACE = "https://w3id.org/qualitas/ontology#"

_KINDS = (
    (OWL.Class, "classes"),
    (OWL.ObjectProperty, "object properties"),
    (OWL.DatatypeProperty, "datatype properties"),
)


def render() -> str:
    graph = Graph().parse(ONTOLOGY_FILE)
    lines = [
        "# DO NOT EDIT: generated from qualitas.ttl by `python -m qualitas.ontology._vocabgen`.",
        '"""The Qualitas ontology terms as an rdflib ``DefinedNamespace`` (typos fail)."""',
        "",
        "from rdflib import Namespace, URIRef",
        "from rdflib.namespace import DefinedNamespace",
        "",
        "",
        "class Q(DefinedNamespace):",
        '    """Terms of https://w3id.org/qualitas/ontology#."""',
        "",
        "    _fail = True",
        f'    _NS = Namespace("{NAMESPACE}")',
    ]
    for rdf_type, title in _KINDS:
        names = sorted(
            str(s)[len(NAMESPACE) :]
            for s in graph.subjects(RDF.type, rdf_type)
            if isinstance(s, URIRef) and str(s).startswith(NAMESPACE)
        )
        lines.append("")
        lines.append(f"    # {title}")
        lines.extend(f"    {name}: URIRef" for name in names)
    return "\n".join(lines) + "\n"


def main() -> int:
    VOCAB_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {VOCAB_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
