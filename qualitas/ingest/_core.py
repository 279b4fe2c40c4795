"""What every parser shares: the load context, typed field access with precise errors,
duplicate-key and reference checks that stream, and ``simulate`` / ``execute``.

Layers::

    simulate / execute ── Source (file, store, checks) ── parser's triples() generator
                                 └── store.load_triples (one transaction, one named graph)

A parser is a generator of triples. ``execute`` hands the generator to
``store.load_triples``, which writes into a staging graph inside one transaction: when
the generator raises (a bad row, an unknown lot), nothing becomes visible. The
generator never holds the whole file: rows are read one by one, duplicate keys are
found with a fixed-size bit set (plus a confirming re-read only when it fires), and
references are checked against the store at the end of the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from rdflib import URIRef
from rdflib.term import Node

from qualitas.errors import InputError, ValidationError
from qualitas.ingest._bounds import bad_character, number_problem
from qualitas.ingest._units import UnknownUnitError, qudt_unit, split_quantity
from qualitas.store import GraphStore, LoadResult, Progress

if TYPE_CHECKING:  # _tabular imports this module
    from qualitas.ingest._tabular import ColumnMap

Triple = tuple[Node, Node, Node]
TripleSource = Callable[["Source"], Iterator[Triple]]


@dataclass(frozen=True)
class PlannedLoad:
    """What a load would do, from a dry run: nothing is written.

    ``status`` is ``add``, ``replace``, ``unchanged`` or ``refused`` (then ``message``
    says why, naming the file, the row or element and the field).
    """

    source: str
    format: str
    status: str
    triples: int
    message: str | None = None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class CountingReader(io.RawIOBase):
    """A binary reader that reports progress as (bytes done, bytes total)."""

    def __init__(self, raw: BinaryIO, total: int, progress: Progress | None) -> None:
        self._raw, self._total, self._progress, self.done = raw, total, progress, 0
        self._reported = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer) or 0  # type: ignore[attr-defined]
        self.done += n
        if self._progress is not None and (n == 0 or self.done - self._reported >= 1 << 20):
            self._reported = self.done
            self._progress(self.done, self._total)
        return n


# ---------------------------------------------------------------- checks


class KeyGuard:
    """Finds duplicate business keys in one pass with memory independent of the rows.

    A Bloom filter with one bit per byte of the file (so 1/8 of the file size, at
    least 8 KiB) remembers the keys seen; a key it may have seen before becomes a
    candidate. Candidates are confirmed by re-reading the keys (``rescan``) only when
    there are any, so a clean file is read once and a file with a duplicate names
    both rows.
    """

    _HASHES = 3

    def __init__(self, size_hint: int) -> None:
        bits = 1 << max(16, (max(size_hint, 1) - 1).bit_length())
        self._mask = bits - 1
        self._bits = bytearray(bits // 8)
        self.candidates: dict[tuple[str, str], object] = {}

    def _positions(self, kind: str, key: str) -> Iterator[int]:
        digest = hashlib.blake2b(f"{kind}\x00{key}".encode(), digest_size=8 * self._HASHES).digest()
        for i in range(self._HASHES):
            yield int.from_bytes(digest[8 * i : 8 * i + 8], "little") & self._mask

    def add(self, kind: str, key: str, where: object) -> None:
        seen = True
        for pos in self._positions(kind, key):
            byte, bit = pos >> 3, 1 << (pos & 7)
            if not self._bits[byte] & bit:
                seen = False
                self._bits[byte] |= bit
        if seen and (kind, key) not in self.candidates:
            self.candidates[(kind, key)] = where


@dataclass
class Source:
    """One file being loaded: where errors point, and the checks that span rows."""

    path: Path
    store: GraphStore
    format: str
    progress: Progress | None = None
    options: dict[str, object] = field(default_factory=dict)
    _guard: KeyGuard | None = None
    _defined: set[str] = field(default_factory=set)
    _wanted: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    _rescan: Callable[[], Iterable[tuple[str, str, str]]] | None = None

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def open_binary(self) -> CountingReader:
        return CountingReader(self.path.open("rb"), self.size, self.progress)  # type: ignore[arg-type]

    def invalid(
        self, message: str, *, where: str | None = None, field: str | None = None, line: int | None = None
    ) -> ValidationError:
        """A ValidationError whose message names the file (and line, when known), the
        row/element and the field."""
        parts = [f"{self.path}:{line}" if line else str(self.path)]
        if where:
            parts.append(where)
        if field:
            parts.append(f"field {field!r}")
        return ValidationError(
            ": ".join([", ".join(parts), message]), file=str(self.path), line=line, where=where, field=field
        )

    def line_of(self, text: str) -> int | None:
        """The first line of the file that holds ``text`` (streamed), for formats whose
        parser gives no line numbers (XML, JSON, RDF); None for a spreadsheet, or when
        the text is not there verbatim."""
        if not text or self.path.suffix.lower() in (".xlsx", ".xlsm"):
            return None
        needle = text.encode("utf-8")
        with self.path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                if needle in line:
                    return number
        return None

    @contextlib.contextmanager
    def identifiers(self, *, where: str, field: str, value: str | None = None) -> Iterator[None]:
        """Turn an identifier check's error (``qualitas.ontology.identifiers``, GS1
        parsing) raised inside the block into one naming this file, its line, ``where``
        and ``field``. ``value`` is the text as the file has it, to find the line by."""
        try:
            yield
        except ValidationError as exc:
            if "identifier" not in exc.context:
                raise
            tabular = self.path.suffix.lower() in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
            line = None if tabular else self.line_of(value or str(exc.context.get("value") or ""))
            raise self.invalid(exc.message, where=where, field=field, line=line) from None

    # -------------------------------------------------------------- duplicates

    def unique(self, kind: str, key: str, *, where: str, field: str) -> None:
        """Refuse a second record with the same business key (checked in ``finish``)."""
        if self._guard is None:
            self._guard = KeyGuard(self.size)
        self._guard.add(kind, key, (where, field))

    def rescan_keys(self, rescan: Callable[[], Iterable[tuple[str, str, str]]]) -> None:
        """How to re-read (kind, key, where) for every keyed record, to confirm duplicates."""
        self._rescan = rescan

    # -------------------------------------------------------------- references

    def define(self, iri: URIRef) -> None:
        """``iri`` is described by this file, so references to it resolve."""
        key = str(iri)
        self._defined.add(key)
        self._wanted.pop(key, None)

    def require(self, iri: URIRef, *, label: str, where: str, field: str) -> None:
        """``iri`` must be defined by this file (anywhere in it) or exist in the store."""
        key = str(iri)
        if key not in self._defined and key not in self._wanted:
            self._wanted[key] = (label, where, field)

    def finish(self) -> None:
        """Run the checks that need the whole file; raise on the first failure."""
        self._check_duplicates()
        self._check_references()

    def _check_duplicates(self) -> None:
        guard = self._guard
        if guard is None or not guard.candidates:
            return
        if self._rescan is None:  # pragma: no cover - every keyed parser sets a rescan
            raise InputError(f"{self.path}: duplicate keys and no way to locate them")
        first: dict[tuple[str, str], str] = {}
        for kind, key, where in self._rescan():
            if (kind, key) not in guard.candidates:
                continue
            if (kind, key) in first:
                raise self.invalid(
                    f"duplicate {kind} {key!r} (first in {first[(kind, key)]})",
                    where=where,
                    field=guard.candidates[(kind, key)][1],  # type: ignore[index]
                )
            first[(kind, key)] = where

    def _check_references(self) -> None:
        wanted = {k: v for k, v in self._wanted.items() if k not in self._defined}
        if not wanted:
            return
        found: set[str] = set()
        keys = sorted(wanted)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            values = " ".join(f"<{k}>" for k in chunk)
            rows = self.store.select(f"SELECT DISTINCT ?x WHERE {{ VALUES ?x {{ {values} }} ?x ?p ?o }}")
            found.update(str(r["x"]) for r in rows)
        missing = [(v, k) for k, v in wanted.items() if k not in found]
        if missing:
            (label, where, field_name), _ = min(missing, key=lambda m: _order(m[0][1]))
            raise self.invalid(f"unknown {label}: neither in this file nor in the store", where=where, field=field_name)


def _order(where: str) -> tuple[int, str]:
    digits = "".join(ch for ch in where if ch.isdigit())
    return (int(digits) if digits else 0, where)


# ---------------------------------------------------------------- typed access


_TRUE = {"true", "yes", "y", "1", "pass", "passed", "ok", "是", "合格"}
_FALSE = {"false", "no", "n", "0", "fail", "failed", "nok", "否", "不合格"}


@dataclass
class Record:
    """One row (CSV, XLSX) or object (JSON) with typed getters that name the field on error."""

    source: Source
    where: str
    values: dict[str, object]

    def error(self, message: str, field: str | None = None) -> ValidationError:
        return self.source.invalid(message, where=self.where, field=field)

    def identifiers(self, field: str, value: str | None = None) -> contextlib.AbstractContextManager[None]:
        """A bad identifier (GTIN, CAS, EC, K-number, EPC) checked in the block becomes an
        error naming this record and ``field``; see :meth:`Source.identifiers`."""
        return self.source.identifiers(where=self.where, field=field, value=value)

    def identifier(self, name: str, check: Callable[[str], str], *, required: bool = False) -> str | None:
        """The text of ``name`` passed through ``check`` (e.g. ``identifiers.check_cas``)."""
        value = self.text(name, required=required)
        if value is None:
            return None
        checked = value
        with self.identifiers(name, value):
            checked = check(value)
        return checked

    def raw(self, name: str) -> object:
        value = self.values.get(name)
        if isinstance(value, str):
            problem = bad_character(value)  # NUL and other control characters, lone surrogates
            if problem:
                raise self.error(problem, name)
            value = value.strip()
            return value or None
        return value

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise self.error("is empty; a value is required", name)
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, dict | list):
            raise self.error(f"expected text, got {type(value).__name__}", name)
        return str(value)

    def need(self, name: str) -> str:
        value = self.text(name)
        assert value is not None
        return value

    def decimal(self, name: str, *, required: bool = True) -> Decimal | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise self.error("is empty; a number is required", name)
            return None
        if isinstance(value, bool):
            raise self.error(f"expected a number, got {value!r}", name)
        if isinstance(value, int | Decimal):
            return self._bounded(Decimal(value), name)
        if isinstance(value, float):
            return self._bounded(Decimal(repr(value)), name)
        try:
            number, unit = split_quantity(str(value))
        except ValueError:
            raise self.error(f"expected a number, got {value!r}", name) from None
        if unit:
            raise self.error(f"expected a number, got {value!r}", name)
        return self._bounded(number, name)

    def _bounded(self, number: Decimal, name: str) -> Decimal:
        """``number``, if it is finite and within what a 64-bit float holds: a value
        such as 1e400 (or NaN, or infinity from a JSON ``1e400``) would overflow every
        consumer that computes with it."""
        problem = number_problem(number)
        if problem:
            raise self.error(problem, name)
        return number

    def quantity(self, name: str, unit_field: str | None = None) -> tuple[Decimal, str | None]:
        """A number with a unit, from one cell (``0.042 kg``) or two (value, unit column).

        Returns the value and the QUDT unit local name (None for pieces).
        """
        value = self.raw(name)
        if value is None:
            raise self.error("is empty; a quantity is required", name)
        unit_text = self.text(unit_field, required=False) if unit_field else None
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
            inline = ""
        else:
            try:
                number, inline = split_quantity(str(value))
            except ValueError:
                raise self.error(f"expected a quantity such as '2' or '0.5 kg', got {value!r}", name) from None
        if inline and unit_text and inline != unit_text:
            raise self.error(f"unit {inline!r} in the value disagrees with unit {unit_text!r}", name)
        self._bounded(number, name)
        text, where_field = (inline, name) if inline else (unit_text or "", unit_field or name)
        try:
            return number, qudt_unit(text)
        except UnknownUnitError as exc:
            raise self.error(str(exc), where_field) from None

    def unit(self, name: str, *, required: bool = True) -> str | None:
        text = self.text(name, required=required)
        if text is None:
            return None
        try:
            unit = qudt_unit(text)
        except UnknownUnitError as exc:
            raise self.error(str(exc), name) from None
        if unit is None and required:
            raise self.error(f"{text!r} is not a physical unit", name)
        return unit

    def integer(self, name: str, *, required: bool = True) -> int | None:
        number = self.decimal(name, required=required)
        if number is None:
            return None
        if number != number.to_integral_value():
            raise self.error(f"expected a whole number, got {number}", name)
        return int(number)

    def date(self, name: str, *, required: bool = True) -> dt.date | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise self.error("is empty; a date (YYYY-MM-DD) is required", name)
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = str(value).replace("/", "-").replace(".", "-")
        try:
            return dt.date.fromisoformat(text[:10]) if len(text) >= 10 else dt.date.fromisoformat(text)
        except ValueError:
            raise self.error(f"expected a date (YYYY-MM-DD), got {value!r}", name) from None

    def datetime(self, name: str, *, required: bool = True) -> dt.datetime | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise self.error("is empty; a date and time (ISO 8601) is required", name)
            return None
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime.combine(value, dt.time())
        text = str(value).replace("Z", "+00:00")
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            raise self.error(f"expected a date and time (ISO 8601), got {value!r}", name) from None

    def boolean(self, name: str, *, required: bool = True) -> bool | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise self.error("is empty; true or false is required", name)
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self.error(f"expected true or false, got {value!r}", name)

    def items(self, name: str) -> list[str]:
        """A list: a JSON array, or text split on ``;``, ``|``, ``,``, ``，``, ``、`` or spaces."""
        value = self.values.get(name)
        if value is None:
            return []
        for item in value if isinstance(value, list) else [value]:
            problem = bad_character(str(item))
            if problem:
                raise self.error(problem, name)
        if isinstance(value, list):
            return [str(v).strip() for v in value if str(v).strip()]
        text = str(value)
        for sep in ("；", "，", "、", "|", ";", ","):
            text = text.replace(sep, " ")
        return [item for item in text.split() if item]


def decimal_or_none(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


# ---------------------------------------------------------------- simulate / execute


def source_identity(path: Path, source: str | None = None) -> str:
    """The source a file's batch is known by: ``source`` when the user names one
    (``--source``), else the file's absolute path. Never the bare file name: two
    plants' ``bom.csv`` are two sources."""
    if source is None:
        return str(Path(path).resolve())
    named = source.strip()
    if not named or any(ord(ch) < 32 for ch in named):
        raise InputError(f"{path}: --source {source!r} is not a usable source name", file=str(path))
    return named


#: Files up to this size are read whole to tell whitespace-only content from data.
_EMPTY_PROBE = 64 * 1024


def check_not_empty(path: Path) -> None:
    """Refuse a file with nothing in it (0 bytes, or only white space): loading it
    would replace a batch with nothing. Retracting a source is ``qualitas retract``."""
    size = path.stat().st_size
    if size == 0 or (size <= _EMPTY_PROBE and not path.read_bytes().strip(b" \t\r\n\x0b\x0c\xef\xbb\xbf")):
        what = "0 bytes" if size == 0 else "only white space"
        raise InputError(
            f"{path}: the file is empty ({what}); nothing was loaded "
            "(to remove a loaded source, run `qualitas retract SOURCE`)",
            file=str(path),
        )


def no_data(path: Path) -> InputError:
    """The error for a file that parses but gives no triples (a header row only, prefixes only)."""
    return InputError(
        f"{path}: no data: the file gives 0 triples; nothing was loaded "
        "(to remove a loaded source, run `qualitas retract SOURCE`)",
        file=str(path),
    )


class ReplaceRefused(InputError):
    """The source is already loaded with other content and the caller did not ask to replace it."""


def plan_source(store: GraphStore, path: Path, source: str, sha: str, *, replace: bool) -> str:
    """``add``, ``unchanged`` or ``replace`` for loading content ``sha`` as ``source``;
    a replace must be asked for (``replace=True``, ``--replace``): otherwise it is
    refused with an error naming the batch it would replace."""
    batch = store.batch(source)
    if batch is not None:
        if batch.sha256 == sha:
            return "unchanged"
        if not replace:
            raise ReplaceRefused(
                f"{path}: source {source!r} is already loaded with other content "
                f"({batch.triples} triples, sha256 {batch.sha256[:12]}, loaded {batch.loaded_at:%Y-%m-%d %H:%M} "
                f"by {batch.agent}, graph <{batch.graph}>); pass --replace to replace it, "
                "or --source NAME to load it as another source",
                file=str(path),
                source=source,
                graph=batch.graph,
            )
        return "replace"
    return "add"


def _run(src: Source, triples: TripleSource, *, last_check: Callable[[], object] | None = None) -> Iterator[Triple]:
    """The parser's triples, then the whole-file checks; ``last_check`` runs after the
    content passed, still before anything becomes visible."""
    count = 0
    for triple in triples(src):
        count += 1
        yield triple
    src.finish()
    if count == 0:
        raise no_data(src.path)
    if last_check is not None:
        last_check()
    if src.progress is not None:
        src.progress(src.size, src.size)


def simulate(
    path: Path,
    store: GraphStore,
    *,
    format: str,
    triples: TripleSource,
    options: dict[str, object] | None = None,
    source: str | None = None,
    replace: bool = False,
) -> PlannedLoad:
    """Validate ``path`` completely and say what loading it would do; write nothing.

    ``source`` names the batch (default: the file's absolute path); a changed file of a
    loaded source is ``refused`` unless ``replace``."""
    path = Path(path)
    if not path.is_file():
        return PlannedLoad(str(path), format, "refused", 0, f"{path}: no such file")
    try:
        name = source_identity(path, source)
        check_not_empty(path)
        sha = sha256_file(path)
        status = plan_source(store, path, name, sha, replace=True)
    except InputError as exc:
        return PlannedLoad(source or str(path.resolve()), format, "refused", 0, str(exc))
    if status == "unchanged":
        return PlannedLoad(name, format, status, 0)
    src = Source(path, store, format, options=dict(options or {}))
    seen: set[int] = set()
    try:
        for triple in _run(src, triples, last_check=lambda: plan_source(store, path, name, sha, replace=replace)):
            seen.add(hash(triple))
    except InputError as exc:
        return PlannedLoad(name, format, "refused", 0, str(exc))
    return PlannedLoad(name, format, status, len(seen))


def execute(
    store: GraphStore,
    path: Path,
    *,
    format: str,
    triples: TripleSource,
    agent: str,
    progress: Progress | None = None,
    options: dict[str, object] | None = None,
    source: str | None = None,
    replace: bool = False,
) -> LoadResult:
    """Load ``path`` as one batch: one transaction, one named graph, PROV-O metadata.

    The batch's source is ``source`` or the file's absolute path; loading changed
    content for a source already loaded needs ``replace=True`` (else
    :class:`ReplaceRefused`); an empty file, or one that gives no triples, is refused."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file", file=str(path))
    name = source_identity(path, source)
    check_not_empty(path)
    sha = sha256_file(path)
    if plan_source(store, path, name, sha, replace=True) == "unchanged":
        replace = True  # nothing to check: the store leaves an unchanged batch as it is
    src = Source(path, store, format, progress=progress, options=dict(options or {}))
    # The replace check comes after the content checks, so a bad file is named for its bad row first.
    check = None if replace else (lambda: plan_source(store, path, name, sha, replace=False))
    return store.load_triples(_run(src, triples, last_check=check), source=name, sha256=sha, agent=agent, format=format)


@dataclass(frozen=True)
class TableLoader:
    """``simulate`` and ``execute`` of a table export (CSV, XLSX or JSON) whose only
    options are a column mapping and an encoding: MES runs and specs, test reports,
    calibration certificates, complaints."""

    format: str
    triples: TripleSource

    def simulate(
        self,
        path: Path,
        store: GraphStore,
        *,
        columns: ColumnMap | None = None,
        encoding: str | None = None,
        source: str | None = None,
        replace: bool = False,
    ) -> PlannedLoad:
        """Dry run: validate the export and say what loading it would do; write nothing."""
        return simulate(
            path,
            store,
            format=self.format,
            triples=self.triples,
            options={"columns": columns, "encoding": encoding},
            source=source,
            replace=replace,
        )

    def execute(
        self,
        store: GraphStore,
        path: Path,
        *,
        agent: str,
        progress: Progress | None = None,
        columns: ColumnMap | None = None,
        encoding: str | None = None,
        source: str | None = None,
        replace: bool = False,
    ) -> LoadResult:
        """Load the export as one batch (see :func:`execute` for ``source`` and ``replace``)."""
        return execute(
            store,
            path,
            format=self.format,
            triples=self.triples,
            agent=agent,
            progress=progress,
            options={"columns": columns, "encoding": encoding},
            source=source,
            replace=replace,
        )
