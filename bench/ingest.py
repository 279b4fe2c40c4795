"""Ingest throughput: bulk N-Triples into the store on disk, and each tabular format,
against rdflib in the same process.

**Bulk** (``--units``, default 35,000: ~1M triples): the scaled demo data set as
N-Triples, loaded by ``OxigraphStore.load_file`` into a new store on disk holding the
ontology (as ``qualitas init`` leaves it), the bulk way (batch graph, live data, PROV-O
metadata, all or nothing), against
``rdflib.Graph().parse`` of the same file (parse + add, in memory). Prints triples/s,
wall clock and CPU seconds of both, the ratio, and where the store's time went (its
``BulkProfile``: scan, pipeline with the batch-graph and live stages, count, commit).
``--transactional`` also loads the same file the transactional way (as Turtle: batch
graph, then one SPARQL update copying it into the live data), the way every file loaded
before issue 15. ``--engine`` also times the engine alone, each in a new store: one
``Store.bulk_load`` of the whole file into a named graph, and one into the default graph
(the two loads the bulk way makes, chunk by chunk, side by side): the floor. ``--json
PATH`` writes ``load_triples_per_s`` and ``load_ratio_rdflib`` (and the rest) for ``make
bench``.

**Formats** (``--rows``, default 20,000): for each format, generate a file of that many
records, load it with the ingest parser into an in-memory Oxigraph store (``execute``:
parse, validate, one transaction), and compare triples/s with rdflib parsing the same
triples serialised as Turtle into a ``Graph`` (parse + add). Prints a table with the
ratio (>1: ingest is faster). ``--skip-formats`` leaves this part out.

    python bench/ingest.py --units 35000 --rows 20000 [--transactional] [--engine] [--json PATH]

The figures depend on the machine and on what else runs on it: the load average at the
start and at the end is printed (and written) with them.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from qualitas.demo.scale import generate
from qualitas.ingest import FORMATS
from qualitas.ingest._core import Source
from qualitas.ingest.bom import triples as bom_triples
from qualitas.ingest.complaints import triples as complaint_triples
from qualitas.ingest.epcis import triples as epcis_triples
from qualitas.ingest.mes import run_triples
from qualitas.ingest.test_reports import report_triples
from qualitas.ontology import ONTOLOGY_FILE
from qualitas.store import OxigraphStore, open_store


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


def _timed(call: Callable[[], object]) -> tuple[object, float, float]:
    """``call()``, its wall-clock seconds and this process's CPU seconds (all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def engine(data: Path, tmp: Path, triples: int) -> dict[str, float]:
    """pyoxigraph's bulk loader alone, into a named graph and into the default graph."""
    figures: dict[str, float] = {}
    for name, graph in (("named_graph", ox.NamedNode("https://example.com/batch")), ("default_graph", None)):
        where = tmp / f"engine-{name}"
        raw = ox.Store(str(where))
        load = functools.partial(raw.bulk_load, path=data, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
        _, wall, cpu = _timed(load)
        del raw, load
        shutil.rmtree(where)
        print(
            f"  engine alone, bulk_load into the {name.replace('_', ' ')}: {wall:.1f} s, {cpu:.1f} s CPU "
            f"({triples / wall:,.0f} triples/s)"
        )
        figures[f"engine_{name}_s"], figures[f"engine_{name}_cpu_s"] = round(wall, 2), round(cpu, 2)
    return figures


def _new_store(path: Path) -> OxigraphStore:
    """A new store holding the ontology, as ``qualitas init`` leaves it."""
    store = OxigraphStore(path)
    store.load_file(ONTOLOGY_FILE, format="turtle", source="qualitas-ontology.ttl", agent="bench")
    return store


def bulk(units: int, *, transactional: bool, with_engine: bool) -> dict[str, object]:
    """Bulk N-Triples: the store's load against rdflib's, in this process."""
    figures: dict[str, object] = {"load_avg_1m_at_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory(prefix="qualitas-bench-ingest-") as tmp:
        data = Path(tmp) / "data.nt"
        stats = generate(units=units, out=data)
        size_mb = data.stat().st_size / 2**20
        with OxigraphStore(None) as probe:
            ontology = probe.load_file(ONTOLOGY_FILE, format="turtle", source="ontology", agent="bench").triples
        print(f"bulk: {data.name}, {size_mb:.0f} MB, {stats.triples:,} lines, {units:,} units")
        store = _new_store(Path(tmp) / "store")
        result, ox_wall, ox_cpu = _timed(lambda: store.load_file(data, agent="bench"))
        triples = result.triples  # type: ignore[attr-defined]
        profile = store.last_bulk_profile
        assert profile is not None, "the file did not go the bulk way"
        assert store.triple_count() == triples + ontology
        store.close()
        shutil.rmtree(Path(tmp) / "store")
        print(
            f"  oxigraph, bulk way: {triples:,} triples in {ox_wall:.1f} s ({triples / ox_wall:,.0f} triples/s), "
            f"{ox_cpu:.1f} s CPU"
        )
        phases = {k: round(v, 2) if isinstance(v, float) else v for k, v in dataclasses.asdict(profile).items()}
        print(
            f"    scan {profile.scan:.2f} s | pipeline {profile.pipeline:.2f} s ({profile.chunks} chunks; "
            f"batch graph {profile.batch_graph:.2f} s and live {profile.live:.2f} s, side by side) | "
            f"count {profile.count:.2f} s ({profile.counted_by}) | commit {profile.commit:.2f} s | "
            f"CPU {profile.cpu:.2f} s"
        )
        figures.update(
            load_triples_per_s=round(triples / ox_wall),
            load_cpu_triples_per_s=round(triples / ox_cpu),
            load_s=round(ox_wall, 2),
            load_cpu_s=round(ox_cpu, 2),
            load_triples=triples,
            load_file_mb=round(size_mb, 1),
            load_phases_s=phases,
        )
        if with_engine:
            figures.update(engine(data, Path(tmp), triples))
        if transactional:
            turtle = data.rename(data.with_suffix(".ttl"))
            store = _new_store(Path(tmp) / "store-tx")
            _, tx_wall, tx_cpu = _timed(lambda: store.load_file(turtle, agent="bench"))
            store.close()
            shutil.rmtree(Path(tmp) / "store-tx")
            data = turtle.rename(data)
            print(
                f"  oxigraph, transactional way: {tx_wall:.1f} s ({triples / tx_wall:,.0f} triples/s), "
                f"{tx_cpu:.1f} s CPU; bulk way {tx_wall / ox_wall:.2f}x faster"
            )
            figures.update(
                load_transactional_triples_per_s=round(triples / tx_wall), load_transactional_s=round(tx_wall, 2)
            )
        graph, rdf_wall, rdf_cpu = _timed(lambda: Graph().parse(data, format="nt"))
        rdf_triples = len(graph)  # type: ignore[arg-type]
        del graph
        print(
            f"  rdflib parse+add: {rdf_triples:,} triples in {rdf_wall:.1f} s ({rdf_triples / rdf_wall:,.0f} "
            f"triples/s), {rdf_cpu:.1f} s CPU"
        )
        print(f"  ratio rdflib / oxigraph: {rdf_wall / ox_wall:.2f}x wall clock, {rdf_cpu / ox_cpu:.2f}x CPU")
        figures.update(
            load_ratio_rdflib=round(rdf_wall / ox_wall, 2),
            load_ratio_rdflib_cpu=round(rdf_cpu / ox_cpu, 2),
            rdflib_triples_per_s=round(rdf_triples / rdf_wall),
        )
    figures["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(f"  load average {figures['load_avg_1m_at_start']} at the start, {figures['load_avg_1m_at_end']} at the end")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--units", type=int, default=35_000, help="bulk N-Triples: units of the scaled demo data")
    parser.add_argument("--transactional", action="store_true", help="also load the bulk file the transactional way")
    parser.add_argument("--engine", action="store_true", help="also time pyoxigraph's bulk loader alone")
    parser.add_argument("--skip-formats", action="store_true", help="only the bulk N-Triples part")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the bulk figures to PATH as JSON")
    args = parser.parse_args()
    figures = bulk(args.units, transactional=args.transactional, with_engine=args.engine)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if not args.skip_formats:
        formats(args.rows)


def formats(rows_wanted: int) -> None:
    print(f"{'format':<12} {'rows':>7} {'triples':>9} {'ingest t/s':>11} {'rdflib t/s':>11} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (make, filename, to_triples) in CASES.items():
            # rdflib's Turtle parser slows down more than linearly on EPCIS-sized
            # documents (hundreds of thousands of fragment IRIs), so EPCIS runs at 1/10.
            rows = rows_wanted // 10 if name == "epcis" else rows_wanted
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
            print(f"{name:<12} {rows:>7} {result.triples:>9} {ours:>11,.0f} {theirs:>11,.0f} {ours / theirs:>6.2f}")


if __name__ == "__main__":
    main()
