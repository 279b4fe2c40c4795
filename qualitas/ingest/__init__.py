"""Ingest: turn files into batches in the store, one transaction and one named graph each.

``load_paths`` is what ``qualitas load`` calls. One module per source, each with a
dry run (``simulate``) and ``execute``:

================  =================  =========================================
format            module             files
================  =================  =========================================
``bom``           ``bom``            multi-level BOM, CSV / XLSX
``ipc1752``       ``ipc1752``        IPC-1752A declaration, XML (classes C, D)
``epcis``         ``epcis``          GS1 EPCIS 2.0 JSON / JSON-LD
``mes``           ``mes``            MES production runs, CSV / XLSX / JSON
``process-spec``  ``mes``            parameter sets (versions, effective dates)
``test-report``   ``test_reports``   supplier test reports / CoA
``calibration``   ``test_reports``   calibration certificates
``complaint``     ``complaints``     customer / field complaints
``turtle`` ...    ``rdf``            RDF as it is (Turtle, N-Triples, JSON-LD, RDF/XML)
================  =================  =========================================

The format is detected from the suffix and, for ``.csv``/``.xlsx``/``.json``/
``.jsonld``/``.xml``, from the content (header row, top-level keys, root element);
``format=`` overrides it. Every load is one transaction into one named graph with
PROV-O provenance. A batch is known by its source: the file's absolute path, or a
name given with ``source`` (``--source``), never the bare file name. Reloading an
unchanged file is a no-op; a changed file replaces its own source's graph and nothing
else, and only when asked (``replace``, ``--replace``); an empty file is refused; a
refused file leaves the store as it was.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from qualitas.errors import InputError
from qualitas.ingest import bom, complaints, epcis, ipc1752, mes, rdf, test_reports
from qualitas.ingest._core import PlannedLoad, ReplaceRefused, check_not_empty, source_identity
from qualitas.ingest._tabular import ColumnMap, header_fields, load_mapping
from qualitas.store import FORMATS as RDF_SUFFIXES
from qualitas.store import GraphStore, LoadResult, Progress

__all__ = [
    "FORMATS",
    "Format",
    "PlannedLoad",
    "ReplaceRefused",
    "detect_format",
    "load_mapping",
    "load_paths",
    "source_identity",
]


@dataclass(frozen=True)
class Format:
    """A format by name: how to dry-run it and how to load it."""

    name: str
    simulate: Callable[..., PlannedLoad]
    execute: Callable[..., LoadResult]
    columns: ColumnMap | None = None  # header fields, for CSV/XLSX detection
    required: tuple[str, ...] = ()
    description: str = ""


def _rdf(name: str) -> Format:
    return Format(
        name,
        lambda path, store, *, source=None, replace=False: rdf.simulate(
            path, store, format=name, source=source, replace=replace
        ),
        lambda store, path, *, agent, progress=None, source=None, replace=False: rdf.execute(
            store, path, agent=agent, format=name, progress=progress, source=source, replace=replace
        ),
        description=f"RDF ({name}) as it is",
    )


#: Formats by name (the registry ``--format`` chooses from).
FORMATS: dict[str, Format] = {
    "bom": Format(
        "bom", bom.simulate, bom.execute, bom.DEFAULT_COLUMNS, ("part", "quantity"), "multi-level bill of materials"
    ),
    "ipc1752": Format("ipc1752", ipc1752.simulate, ipc1752.execute, description="IPC-1752A declaration"),
    "epcis": Format("epcis", epcis.simulate, epcis.execute, description="GS1 EPCIS 2.0 JSON-LD events"),
    "mes": Format("mes", mes.simulate, mes.execute, mes.RUN_COLUMNS, mes.RUN_REQUIRED, "MES production runs"),
    "process-spec": Format(
        "process-spec",
        mes.simulate_specs,
        mes.execute_specs,
        mes.SPEC_COLUMNS,
        mes.SPEC_REQUIRED,
        "process specifications (parameter sets)",
    ),
    "test-report": Format(
        "test-report",
        test_reports.simulate,
        test_reports.execute,
        test_reports.REPORT_COLUMNS,
        test_reports.REPORT_REQUIRED,
        "supplier test reports",
    ),
    "calibration": Format(
        "calibration",
        test_reports.simulate_calibrations,
        test_reports.execute_calibrations,
        test_reports.CALIBRATION_COLUMNS,
        test_reports.CALIBRATION_REQUIRED,
        "calibration certificates",
    ),
    "complaint": Format(
        "complaint",
        complaints.simulate,
        complaints.execute,
        complaints.COLUMNS,
        complaints.REQUIRED,
        "customer complaints",
    ),
    **{name: _rdf(name) for name in rdf.FORMATS},
}

#: JSON top-level keys -> format.
_JSON_KEYS = {
    "runs": "mes",
    "parameter_sets": "process-spec",
    "test_reports": "test-report",
    "calibrations": "calibration",
    "complaints": "complaint",
}


def _detect_table(path: Path) -> str | None:
    best, score = None, 0
    for fmt in FORMATS.values():
        if fmt.columns is None:
            continue
        present = header_fields(path, fmt.columns)
        if not set(fmt.required) <= present:
            continue
        if fmt.name == "bom" and not present & {"level", "parent"}:
            continue
        if len(present) > score:
            best, score = fmt.name, len(present)
    return best


def _head(path: Path, size: int = 64 * 1024) -> str:
    with path.open("rb") as fh:
        return fh.read(size).decode("utf-8", errors="replace")


def detect_format(path: Path, explicit: str | None = None) -> str:
    """The format name for ``path``: ``explicit`` if given, else by suffix and content."""
    if explicit:
        if explicit not in FORMATS:
            raise InputError(f"{path}: unknown format {explicit!r}; expected one of {sorted(FORMATS)}", file=str(path))
        return explicit
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(f"{path}: no such file", file=str(path))
    if suffix in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm"):
        found = _detect_table(path)
        if found:
            return found
        raise InputError(
            f"{path}: cannot tell which export this is from its header row; pass --format "
            f"({', '.join(n for n, f in FORMATS.items() if f.columns)})",
            file=str(path),
        )
    if suffix in (".json", ".jsonld", ".json-ld"):
        head = _head(path)
        if '"epcisBody"' in head or '"EPCISDocument"' in head or '"EPCISQueryDocument"' in head:
            return "epcis"
        for key, name in _JSON_KEYS.items():
            if f'"{key}"' in head:
                return name
        if suffix != ".json" or '"@context"' in head:
            return "jsonld"
    if suffix == ".xml" or suffix in (".rdf", ".owl"):
        head = _head(path, 4096)
        if "MainDeclaration" in head:
            return "ipc1752"
        if suffix == ".xml" and "rdf:RDF" in head:
            return "rdfxml"
    if suffix in RDF_SUFFIXES:
        return RDF_SUFFIXES[suffix][1]
    raise InputError(f"{path}: cannot tell the format from the suffix {suffix!r}; pass --format", file=str(path))


def _accepted(fmt: Format, options: Mapping[str, object]) -> dict[str, object]:
    """The options ``fmt`` takes; an option it does not take is an error, not a no-op."""
    given = {k: v for k, v in options.items() if v is not None}
    params = inspect.signature(fmt.execute).parameters
    unknown = sorted(k for k in given if k not in params)
    if unknown:
        raise InputError(f"format {fmt.name!r} takes no option {', '.join(unknown)}", format=fmt.name)
    return given


def load_paths(
    store: GraphStore,
    paths: Iterable[Path],
    *,
    format: str | None = None,
    agent: str,
    dry_run: bool = False,
    progress: Callable[[Path], Progress | None] | None = None,
    options: Mapping[str, object] | None = None,
    source: str | None = None,
    replace: bool = False,
) -> list[LoadResult | PlannedLoad]:
    """Load each file as its own batch (its own transaction), in order.

    A batch is known by its source: the file's absolute path, or ``source`` (one file
    only). Loading changed content for a source already loaded is refused unless
    ``replace``; an empty file is refused (``qualitas retract`` removes a source).

    With ``dry_run`` nothing is written: every file is validated and reported as
    ``add``, ``replace``, ``unchanged`` or ``refused`` (with the reason). Otherwise a
    file that fails stops the run with its error; files loaded before it stay loaded
    (each is a complete batch) and the failing one leaves no trace.

    ``options`` go to the parser: ``columns`` (a column mapping, see
    :func:`load_mapping`), ``encoding``, ``sheet``, ``revision``, ``root`` — each only
    for the formats that take it.
    """
    paths = [Path(p) for p in paths]
    if source is not None and len(paths) != 1:
        raise InputError(f"--source names one file's batch; {len(paths)} files were given")
    results: list[LoadResult | PlannedLoad] = []
    for path in paths:
        identity = {"source": source, "replace": replace}
        if dry_run:
            try:
                if path.is_file():
                    check_not_empty(path)
                fmt = FORMATS[detect_format(path, format)]
                kwargs = _accepted(fmt, options or {})
            except InputError as exc:
                results.append(PlannedLoad(source or str(path.resolve()), format or "?", "refused", 0, str(exc)))
                continue
            results.append(fmt.simulate(path, store, **kwargs, **identity))
            continue
        if path.is_file():
            check_not_empty(path)  # before detection: an empty .csv has no header to detect
        fmt = FORMATS[detect_format(path, format)]
        kwargs = _accepted(fmt, options or {})
        results.append(
            fmt.execute(store, path, agent=agent, progress=progress(path) if progress else None, **kwargs, **identity)
        )
    return results
