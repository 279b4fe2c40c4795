"""A party's training data, read from its own graph: process parameters in, outcome out.

Each production run has actual parameter values (``q:hasObservation`` ->
``q:ParameterObservation`` with ``q:parameter`` and ``q:value``) and produces a lot
whose inspection (``q:InspectionResult`` ``q:inspects`` the lot) passed or failed.
:func:`read_party_data` turns that into rows ``x`` (one column per parameter in
:data:`PARAMETERS`) and ``y`` (1 = failed); these rows never leave the party's process.

:func:`party_triples` writes a synthetic party (the OEM or one supplier) with its own
operating window, so parties are not identically distributed: what a party never
runs, a local-only model cannot learn, which is the point of training together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from rdflib import RDF, XSD, Literal
from rdflib.term import Node

from qualitas.ontology import Q, mint
from qualitas.store import GraphStore


@dataclass(frozen=True)
class Parameter:
    """A process parameter of the shared specification: its name, nominal and scale
    (the tolerance half-width). Every party knows the specification, so features are
    standardised with it and no party's statistics are exchanged."""

    name: str
    nominal: float
    scale: float
    unit: str


PARAMETERS = (
    Parameter("weld.current", 180.0, 12.0, "A"),
    Parameter("weld.temperature", 245.0, 15.0, "Cel"),
    Parameter("press.force", 8.0, 1.2, "kN"),
    Parameter("cycle.time", 32.0, 4.0, "s"),
)

#: Where each synthetic party usually runs (offsets from nominal, in scales): the OEM
#: runs hot and fast, supplier A runs cold with a high force, supplier B near nominal.
PARTY_WINDOWS: dict[str, tuple[float, ...]] = {
    "oem": (0.8, 0.9, 0.0, -0.7),
    "supplier-a": (-0.9, -0.8, 0.8, 0.3),
    "supplier-b": (0.0, 0.1, -0.8, 0.6),
}

# the plant's physics, unknown to every party: failures far from nominal, worse when hot and short
_TRUE_LINEAR = np.array([0.6, 0.9, -0.4, -0.5])
_TRUE_QUADRATIC = np.array([0.9, 0.7, 0.6, 0.3])
_TRUE_BIAS = -2.6


def standardise(x: np.ndarray) -> np.ndarray:
    nominal = np.array([p.nominal for p in PARAMETERS])
    scale = np.array([p.scale for p in PARAMETERS])
    return (x - nominal) / scale


def true_failure_probability(x: np.ndarray) -> np.ndarray:
    z = standardise(x)
    logit = _TRUE_BIAS + z @ _TRUE_LINEAR + (z**2) @ _TRUE_QUADRATIC
    return 1.0 / (1.0 + np.exp(-logit))


def simulate(party: str, n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` runs of ``party`` (rows of parameter values, failed 0/1)."""
    rng = np.random.default_rng(seed)
    centre = np.array(PARTY_WINDOWS.get(party, (0.0,) * len(PARAMETERS)))
    z = centre + rng.normal(0.0, 0.75, size=(n, len(PARAMETERS)))
    nominal = np.array([p.nominal for p in PARAMETERS])
    scale = np.array([p.scale for p in PARAMETERS])
    x = np.round(nominal + z * scale, 3)
    y = (rng.random(n) < true_failure_probability(x)).astype(np.int64)
    return x, y


def party_triples(party: str, x: np.ndarray, y: np.ndarray) -> list[tuple[Node, Node, Node]]:
    """The runs as graph facts: run, parameter observations, produced lot, inspection."""
    out: list[tuple[Node, Node, Node]] = []
    for i, (row, failed) in enumerate(zip(x, y, strict=True)):
        key = f"{party}-{i:05d}"
        run, lot, insp = mint("run", key), mint("lot", key), mint("inspection", key)
        out += [
            (run, RDF.type, Q.ProductionRun),
            (run, Q.runId, Literal(key)),
            (run, Q.produced, lot),
            (lot, RDF.type, Q.Lot),
            (lot, Q.lotNumber, Literal(key)),
            (insp, RDF.type, Q.InspectionResult),
            (insp, Q.inspects, lot),
            (insp, Q.characteristic, Literal("end-of-line test")),
            (insp, Q.verdict, Literal("fail" if failed else "pass")),
        ]
        for p, value in zip(PARAMETERS, row, strict=True):
            obs = mint("observation", key, p.name)
            out += [
                (run, Q.hasObservation, obs),
                (obs, RDF.type, Q.ParameterObservation),
                (obs, Q.parameter, mint("parameter", p.name)),
                (obs, Q.value, Literal(Decimal(f"{value:.3f}"), datatype=XSD.decimal)),
            ]
    return out


def write_party(store: GraphStore, party: str, n: int, *, seed: int, agent: str = "federated-demo") -> int:
    """Load a synthetic party into ``store``; returns the number of runs."""
    from qualitas.edge_adapters.graph import batch_sha256

    x, y = simulate(party, n, seed=seed)
    triples = party_triples(party, x, y)
    store.load_triples(
        triples, source=f"federated-demo:{party}", sha256=batch_sha256(triples), agent=agent, format="nt"
    )
    return n


def read_party_data(store: GraphStore, parameters: Iterable[Parameter] = PARAMETERS) -> tuple[np.ndarray, np.ndarray]:
    """Rows of parameter values and outcomes of every run in ``store`` that has all of them."""
    params = list(parameters)
    columns = {str(mint("parameter", p.name)): i for i, p in enumerate(params)}
    rows = store.select(
        """SELECT ?run ?param ?value ?verdict WHERE {
            ?run a q:ProductionRun ; q:hasObservation ?obs ; q:produced ?lot .
            ?obs q:parameter ?param ; q:value ?value .
            ?insp q:inspects ?lot ; q:verdict ?verdict .
        }"""
    )
    values: dict[str, list[float | None]] = {}
    outcome: dict[str, int] = {}
    for r in rows:
        col = columns.get(str(r["param"]))
        if col is None:
            continue
        run = str(r["run"])
        values.setdefault(run, [None] * len(params))[col] = float(r["value"])  # type: ignore[arg-type]
        outcome[run] = max(outcome.get(run, 0), 1 if str(r["verdict"]).lower() == "fail" else 0)
    runs = sorted(run for run, v in values.items() if all(c is not None for c in v))
    x = np.array([values[run] for run in runs], dtype=np.float64).reshape(-1, len(params))
    y = np.array([outcome[run] for run in runs], dtype=np.int64)
    return x, y
