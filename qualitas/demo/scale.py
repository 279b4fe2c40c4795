"""A scaled data set with the demo's shape, for benchmarks.

``generate(units=N, out=FILE)`` writes N-Triples: product models with three-level
BOMs (product -> assemblies -> components -> raw material), suppliers with test
reports (about 2 % of component lots carry a material deviation), equipment with
yearly calibration certificates (some lapse), versioned parameter sets, assembly
lots, serial units from final-assembly runs with actual parameters, and complaints
on about 3 % of units. About 30 distinct triples per unit: 35,000 units give
~1M triples, 350,000 units ~10M.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qualitas.ontology import mint
from qualitas.ontology.builder import Builder, Line, Spec, Triple, nt_sink

ASSEMBLIES = 6
COMPONENTS = 8
UNITS_PER_ASSEMBLY_LOT = 100
UNITS_PER_COMPONENT_LOT = 500
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
CUTOVER = dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
GRADES = (
    "PBT+GF30",
    "PA66+GF30",
    "PC-ABS",
    "PP-T20",
    "AlSi10Mg",
    "1.4301",
    "CuZn39Pb3",
    "FR4-ENIG",
    "EPDM-70",
    "TPE-V0",
)


@dataclass(frozen=True)
class ScaleStats:
    triples: int
    units: int
    lots: int
    runs: int
    complaints: int
    models: int


def generate(*, units: int, out: Path, seed: int = 42, progress: Callable[[int], None] | None = None) -> ScaleStats:
    rng = random.Random(seed)
    models = max(1, min(50, units // 5000))
    counter = {"triples": 0, "lots": 0, "runs": 0, "complaints": 0}
    with Path(out).open("w", encoding="utf-8") as fh:
        write = nt_sink(fh)

        def sink(triple: Triple) -> None:
            counter["triples"] += 1
            write(triple)

        b = Builder(sink)
        _master(b, rng)
        equipment = [f"GEN-EQ-{i:03d}" for i in range(40)]
        for i, eid in enumerate(equipment):
            b.equipment(eid, f"Generated machine {i}")
            lapse = i % 13 == 0  # some machines' calibration lapses in the second half-year
            b.calibration(
                f"GEN-CAL-{eid}-1",
                eid,
                issuer="Generated Calibration Lab",
                valid_from=dt.date(2023, 7, 1),
                valid_until=dt.date(2024, 6, 30),
            )
            if not lapse:
                b.calibration(
                    f"GEN-CAL-{eid}-2",
                    eid,
                    issuer="Generated Calibration Lab",
                    valid_from=dt.date(2024, 7, 1),
                    valid_until=dt.date(2025, 6, 30),
                )
        for m in range(models):
            _model(b, m, rng)

        per_model = [units // models + (1 if m < units % models else 0) for m in range(models)]
        done = 0
        for m, count in enumerate(per_model):
            assembly_lots: list[str] = []
            component_lots: dict[tuple[int, int], str] = {}
            for n in range(count):
                when = START + dt.timedelta(minutes=2 * done)
                if n % UNITS_PER_COMPONENT_LOT == 0:
                    for a in range(ASSEMBLIES):
                        for c in range(COMPONENTS):
                            component_lots[(a, c)] = _component_lot(b, m, a, c, n, when, rng)
                            counter["lots"] += 1
                if n % UNITS_PER_ASSEMBLY_LOT == 0:
                    assembly_lots = []
                    for a in range(ASSEMBLIES):
                        assembly_lots.append(_assembly_run(b, m, a, n, when, component_lots, equipment, rng))
                        counter["lots"] += 1
                        counter["runs"] += 1
                serial = f"GEN-{m:02d}-{n:08d}"
                unit = b.unit(serial, product=f"GEN-M{m:02d}")
                step = f"GEN-M{m:02d}-FINAL"
                version = "v2" if when >= CUTOVER and rng.random() > 0.01 else "v1"
                b.run(
                    f"GEN-RUN-{m:02d}-{n:08d}",
                    step=step,
                    equipment=equipment[(m * 7 + n) % len(equipment)],
                    start=when,
                    end=when + dt.timedelta(minutes=3),
                    consumed=[mint("lot", lot) for lot in assembly_lots],  # described by their run
                    produced=[unit],
                    parameter_set=(step, version),
                    actuals=[
                        ("GEN-TORQUE", f"{rng.gauss(12, 0.3):.2f}", "N-M"),
                        ("GEN-TEMP", f"{rng.gauss(40 if version == 'v1' else 41, 0.8):.1f}", "DEG_C"),
                    ],
                )
                counter["runs"] += 1
                if rng.random() < 0.03:
                    counter["complaints"] += 1
                    b.complaint(
                        f"GEN-C{counter['complaints']:07d}",
                        serial=serial,
                        received=(when + dt.timedelta(days=rng.randint(20, 300))).date(),
                        channel=rng.choice(("dealer", "app", "call centre")),
                        market=rng.choice(("EU", "US", "CN", "VN")),
                        texts={
                            "en": rng.choice(("Rattle from the front", "Intermittent fault", "Odour after charging"))
                        },
                    )
                done += 1
                if progress is not None and done % 1000 == 0:
                    progress(done)
        if progress is not None:
            progress(done)
    return ScaleStats(counter["triples"], units, counter["lots"], counter["runs"], counter["complaints"], models)


def _master(b: Builder, rng: random.Random) -> None:
    for code, name in (("EU", "European Union"), ("US", "United States"), ("CN", "China"), ("VN", "Vietnam")):
        b.market(code, name)
    for s in range(40):
        b.supplier(f"GEN-SUP-{s:02d}", f"Generated Supplier {s}", rng.choice(("CN", "DE", "VN", "US", "CZ")))
    for grade in GRADES:
        b.material(grade, f"Generated material {grade}")
    b.parameter("GEN-TORQUE", "Fastening torque")
    b.parameter("GEN-TEMP", "Process temperature")


def _model(b: Builder, m: int, rng: random.Random) -> None:
    model = f"GEN-M{m:02d}"
    product = b.product(
        model, f"Generated product {m}", categories=["electrical_equipment"], features=["low_voltage_range"]
    )
    lines = []
    for a in range(ASSEMBLIES):
        assembly = f"{model}-A{a}"
        part = b.part(assembly, f"Assembly {a} of {model}")
        lines.append(Line(10 * (a + 1), assembly, 1))
        comp_lines = []
        for c in range(COMPONENTS):
            number = f"{model}-A{a}-C{c}"
            comp = b.part(number, f"Component {c}", supplier=f"GEN-SUP-{(m + a * COMPONENTS + c) % 40:02d}")
            comp_lines.append(Line(10 * (c + 1), number, rng.randint(1, 4), material=GRADES[(a + c) % len(GRADES)]))
            if c % 4 == 0:
                b.bom(comp, number, "A", [Line(10, f"GEN-RAW-{GRADES[(a + c) % len(GRADES)]}", "0.05", unit="KiloGM")])
        b.bom(part, assembly, "A", comp_lines)
        step = f"{assembly}-ASSY"
        b.step(step, f"Assembly {a}", routing_for=part)
        for version, start, until in (("v1", START - dt.timedelta(days=30), CUTOVER), ("v2", CUTOVER, None)):
            b.parameter_set(
                step,
                version,
                effective_from=start,
                effective_until=until,
                specs=[Spec("GEN-TORQUE", 8 if version == "v1" else 8.5, "0.5", "N-M")],
            )
    b.bom(product, model, "A", lines)
    step = f"{model}-FINAL"
    b.step(step, "Final assembly", routing_for=product)
    for version, start, until in (("v1", START - dt.timedelta(days=30), CUTOVER), ("v2", CUTOVER, None)):
        b.parameter_set(
            step,
            version,
            effective_from=start,
            effective_until=until,
            specs=[Spec("GEN-TORQUE", 12, 1, "N-M"), Spec("GEN-TEMP", 40 if version == "v1" else 41, 3, "DEG_C")],
        )
    for grade in GRADES:
        b.part(f"GEN-RAW-{grade}", f"Raw material {grade}")


def _component_lot(b: Builder, m: int, a: int, c: int, n: int, when: dt.datetime, rng: random.Random) -> str:
    number = f"GEN-M{m:02d}-A{a}-C{c}"
    lot = f"GL-{m:02d}{a}{c}-{n // UNITS_PER_COMPONENT_LOT:05d}"
    supplier = f"GEN-SUP-{(m + a * COMPONENTS + c) % 40:02d}"
    b.lot(lot, number, supplier=supplier, quantity=UNITS_PER_COMPONENT_LOT * 4)
    if c % 2 == 0:
        designed = GRADES[(a + c) % len(GRADES)]
        reported = GRADES[(a + c + 1) % len(GRADES)] if rng.random() < 0.02 else designed
        b.test_report(
            f"TR-{lot}", lot=lot, issuer="Generated Lab", issued=when.date(), material=reported, supplier=supplier
        )
    return lot


def _assembly_run(
    b: Builder,
    m: int,
    a: int,
    n: int,
    when: dt.datetime,
    component_lots: dict[tuple[int, int], str],
    equipment: list[str],
    rng: random.Random,
) -> str:
    assembly = f"GEN-M{m:02d}-A{a}"
    lot = f"AL-{m:02d}{a}-{n // UNITS_PER_ASSEMBLY_LOT:06d}"
    step = f"{assembly}-ASSY"
    start = when - dt.timedelta(hours=6)
    b.run(
        f"GEN-ARUN-{m:02d}{a}-{n // UNITS_PER_ASSEMBLY_LOT:06d}",
        step=step,
        equipment=equipment[(m * 3 + a * 5) % len(equipment)],
        start=start,
        end=start + dt.timedelta(hours=2),
        consumed=[mint("lot", component_lots[(a, c)]) for c in range(COMPONENTS)],  # described once
        produced=[b.lot(lot, assembly, quantity=UNITS_PER_ASSEMBLY_LOT)],
        parameter_set=(step, "v2" if start >= CUTOVER else "v1"),
        actuals=[("GEN-TORQUE", f"{rng.gauss(8.5 if start >= CUTOVER else 8.0, 0.15):.2f}", "N-M")],
    )
    return lot
