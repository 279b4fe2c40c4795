"""Ingest throughput per format, against rdflib parsing the equivalent Turtle.

For each format, generate a file of ``--rows`` records, load it with the ingest parser
into an in-memory Oxigraph store (``execute``: parse, validate, one transaction), and
compare triples/s with rdflib parsing the same triples serialised as Turtle into a
``Graph`` (parse + add). Prints a table with the ratio (>1: ingest is faster).

    python bench/ingest.py --rows 20000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rdflib import Graph

from qualitas.ingest import FORMATS
from qualitas.ingest._core import Source
from qualitas.ingest.bom import triples as bom_triples
from qualitas.ingest.complaints import triples as complaint_triples
from qualitas.ingest.epcis import triples as epcis_triples
from qualitas.ingest.mes import run_triples
from qualitas.ingest.test_reports import report_triples
from qualitas.store import open_store


def bom(path: Path, rows: int) -> Path:
    lines = ["Level,Part Number,Description,Qty,Unit,Ref Des,Material", "0,TOP,Top assembly,,,,"]
    for i in range(rows):
        if i % 50 == 0:
            lines.append(f"1,ASM-{i},Assembly {i},1,,,")
        lines.append(f"2,P-{i:06d},Part {i},{(i % 7) + 1},{'kg' if i % 3 == 0 else ''},R{i},PA66+GF30")
    path.write_text("\n".join(lines) + "\n")
    return path


def mes(path: Path, rows: int) -> Path:
    lines = ["run_id,step,equipment,start,end,consumed_lots,produced_lots,part,parameter_set,actuals"]
    for i in range(rows):
        consumed = "" if i == 0 else f"L-{i - 1:06d}"
        lines.append(
            f"R-{i:06d},S10,EQ-{i % 9},2025-01-01T06:00:00,2025-01-01T07:00:00,{consumed},L-{i:06d},P-1,v1,"
            f"TEMP={200 + i % 10} degC; PRESS={50 + i % 5} MPa"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def complaints(path: Path, rows: int) -> Path:
    lines = ["complaint_id,received,channel,serial,market,text,lang"]
    lines += [f"C-{i:07d},2025-03-01,dealer,SN-{i:08d},EU,Cover rattles at speed (case {i}),en" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def reports(path: Path, rows: int) -> Path:
    lines = ["report_number,lab,issued,lot,part,material,characteristic,value,unit,verdict"]
    lines += [
        f"TR-{i // 4},Lab,2025-01-01,LOT-{i // 4},P-1,PBT+GF30,C{i % 4},{i % 100}.5,MPa,pass" for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def epcis(path: Path, rows: int) -> Path:
    events = [
        {
            "type": "TransformationEvent",
            "eventID": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
            "eventTime": "2025-01-01T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "bizStep": "commissioning",
            "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
            "inputQuantityList": [
                {"epcClass": f"urn:epc:class:lgtin:4012345.011111.L{i}", "quantity": 10, "uom": "KGM"}
            ],
            "outputEPCList": [f"urn:epc:id:sgtin:4012345.077889.{i}"],
        }
        for i in range(rows)
    ]
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-01-01T00:00:00Z",
        "epcisBody": {"eventList": events},
    }
    path.write_text(json.dumps(document))
    return path


CASES: dict[str, tuple[Callable[[Path, int], Path], str, Callable]] = {  # type: ignore[type-arg]
    "bom": (bom, "bom.csv", bom_triples),
    "mes": (mes, "runs.csv", run_triples),
    "complaint": (complaints, "complaints.csv", complaint_triples),
    "test-report": (reports, "reports.csv", report_triples),
    "epcis": (epcis, "events.jsonld", epcis_triples),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    print(f"{'format':<12} {'rows':>7} {'triples':>9} {'ingest t/s':>11} {'rdflib t/s':>11} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (make, filename, to_triples) in CASES.items():
            # rdflib's Turtle parser slows down more than linearly on EPCIS-sized
            # documents (hundreds of thousands of fragment IRIs), so EPCIS runs at 1/10.
            rows = args.rows // 10 if name == "epcis" else args.rows
            path = make(Path(tmp) / filename, rows)
            with open_store(None) as store:
                start = time.perf_counter()
                result = FORMATS[name].execute(store, path, agent="bench")
                ingest_s = time.perf_counter() - start
                graph = Graph()
                for triple in to_triples(Source(path, store, name)):
                    graph.add(triple)
            turtle = graph.serialize(format="nt")  # N-Triples is Turtle; rdflib's pretty Turtle writer is slow
            start = time.perf_counter()
            Graph().parse(data=turtle, format="turtle")
            rdflib_s = time.perf_counter() - start
            ours, theirs = result.triples / ingest_s, len(graph) / rdflib_s
            print(
                f"{name:<12} {rows:>7} {result.triples:>9} {ours:>11,.0f} {theirs:>11,.0f} {ours / theirs:>6.2f}"
            )


if __name__ == "__main__":
    main()
