"""Action Priority (AP) from the AIAG & VDA FMEA Handbook's table, shipped as data.

The handbook (1st ed., 2019) replaces the risk priority number with one table, "Action
Priority (AP) for DFMEA and PFMEA": for each severity band and occurrence band, the
priority (High, Medium, Low) for each detection band. The table lives in
``action_priority.yaml`` with its source and a ``verified`` flag saying how it was
checked; this module only reads it, checks that it covers every (S, O, D) from 1 to 10
exactly once, and looks values up. Code never hard-codes a cell.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from qualitas.errors import ConfigError, ValidationError

Priority = Literal["H", "M", "L"]
FmeaKind = Literal["PFMEA", "DFMEA"]
AP_FILE = Path(__file__).with_name("action_priority.yaml")
RATINGS = range(1, 11)


@dataclass(frozen=True)
class Band:
    low: int
    high: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


@dataclass(frozen=True)
class ApRow:
    severity: Band
    occurrence: Band
    #: (detection band, priority) from the worst detection (7-10) to the best (1)
    cells: tuple[tuple[Band, Priority], ...]


@dataclass(frozen=True)
class ApTable:
    id: str
    title: str
    applies_to: tuple[str, ...]
    source: dict[str, str]
    verified: bool
    verification: str
    rows: tuple[ApRow, ...]
    meaning: dict[str, str]

    def lookup(self, severity: int, occurrence: int, detection: int) -> Priority:
        for row in self.rows:
            if severity in row.severity and occurrence in row.occurrence:
                for band, priority in row.cells:
                    if detection in band:
                        return priority
        raise ConfigError(f"AP table {self.id} has no cell for S{severity} O{occurrence} D{detection}")


def _band(text: object, where: str) -> Band:
    raw = str(text).strip()
    low, _, high = raw.partition("-")
    try:
        band = Band(int(low), int(high or low))
    except ValueError:
        raise ConfigError(f"{AP_FILE}: {where}: {raw!r} is not a rating band such as 7-10 or 1") from None
    if not (1 <= band.low <= band.high <= 10):
        raise ConfigError(f"{AP_FILE}: {where}: band {raw} outside 1-10")
    return band


def _table(raw: dict[str, Any]) -> ApTable:
    tid = str(raw["id"])
    detection = [_band(b, f"{tid}.detection_bands") for b in raw["detection_bands"]]
    rows = []
    for i, (s, o, cells) in enumerate(raw["rows"]):
        where = f"{tid}.rows[{i}]"
        if len(cells) != len(detection) or any(c not in ("H", "M", "L") for c in cells):
            raise ConfigError(f"{AP_FILE}: {where}: needs {len(detection)} cells of H, M or L")
        rows.append(ApRow(_band(s, where), _band(o, where), tuple(zip(detection, cells, strict=True))))
    table = ApTable(
        id=tid,
        title=str(raw["title"]),
        applies_to=tuple(raw["applies_to"]),
        source={k: str(v) for k, v in raw["source"].items()},
        verified=bool(raw["verified"]),
        verification=str(raw.get("verification", "")),
        rows=tuple(rows),
        meaning={k: str(v) for k, v in raw.get("meaning", {}).items()},
    )
    for s in RATINGS:  # every combination in exactly one cell: a gap or an overlap is a data error
        for o in RATINGS:
            for d in RATINGS:
                hits = sum(
                    1
                    for row in table.rows
                    if s in row.severity and o in row.occurrence
                    for band, _ in row.cells
                    if d in band
                )
                if hits != 1:
                    raise ConfigError(f"{AP_FILE}: table {tid}: S{s} O{o} D{d} is in {hits} cells, not 1")
    return table


@functools.lru_cache(maxsize=1)
def ap_tables() -> dict[str, ApTable]:
    """The AP tables by FMEA kind (PFMEA, DFMEA), read once from ``action_priority.yaml``."""
    raw = yaml.safe_load(AP_FILE.read_text(encoding="utf-8"))
    out: dict[str, ApTable] = {}
    for item in raw["tables"]:
        table = _table(item)
        for kind in table.applies_to:
            out[kind] = table
    return out


def check_rating(value: object, field: str) -> int:
    """A rating 1..10 (an int, or a whole number written as text); else a ValidationError naming ``field``."""
    if isinstance(value, bool):
        raise ValidationError(f"{field}: {value!r} is not a rating from 1 to 10", field=field)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationError(f"{field}: {value!r} is not a rating from 1 to 10", field=field) from None
    if number not in RATINGS:
        raise ValidationError(f"{field}: {number} is not a rating from 1 to 10", field=field)
    return number


def action_priority(severity: int, occurrence: int, detection: int, *, kind: FmeaKind = "PFMEA") -> Priority:
    """H, M or L for a failure chain's S, O and D, from the handbook's table for ``kind``."""
    s = check_rating(severity, "severity")
    o = check_rating(occurrence, "occurrence")
    d = check_rating(detection, "detection")
    try:
        table = ap_tables()[kind]
    except KeyError:
        raise ValidationError(f"FMEA kind {kind!r} is not PFMEA or DFMEA", field="kind") from None
    return table.lookup(s, o, d)


__all__ = ["ApTable", "FmeaKind", "Priority", "action_priority", "ap_tables", "check_rating"]
