"""Action Priority against the AIAG & VDA FMEA Handbook's table, typed here line by line
as the handbook prints it (effect S, occurrence O, detection D -> AP), not from our data."""

from __future__ import annotations

import copy

import pytest
import yaml

from qualitas.errors import ConfigError, ValidationError
from qualitas.workbench.ap import AP_FILE, _table, action_priority, ap_tables

# Table "Action Priority (AP) for DFMEA and PFMEA", AIAG & VDA FMEA Handbook, 1st ed. 2019:
# one line per (S band, O band, D band). D bands: 7-10 low/very low ability to detect,
# 5-6 moderate, 2-4 high, 1 very high.
HANDBOOK = """
9-10 8-10 7-10 H | 9-10 8-10 5-6 H | 9-10 8-10 2-4 H | 9-10 8-10 1 H
9-10 6-7 7-10 H  | 9-10 6-7 5-6 H  | 9-10 6-7 2-4 H  | 9-10 6-7 1 H
9-10 4-5 7-10 H  | 9-10 4-5 5-6 H  | 9-10 4-5 2-4 H  | 9-10 4-5 1 M
9-10 2-3 7-10 H  | 9-10 2-3 5-6 M  | 9-10 2-3 2-4 L  | 9-10 2-3 1 L
9-10 1 1-10 L
7-8 8-10 7-10 H  | 7-8 8-10 5-6 H  | 7-8 8-10 2-4 H  | 7-8 8-10 1 H
7-8 6-7 7-10 H   | 7-8 6-7 5-6 H   | 7-8 6-7 2-4 H   | 7-8 6-7 1 M
7-8 4-5 7-10 H   | 7-8 4-5 5-6 M   | 7-8 4-5 2-4 M   | 7-8 4-5 1 M
7-8 2-3 7-10 M   | 7-8 2-3 5-6 M   | 7-8 2-3 2-4 L   | 7-8 2-3 1 L
7-8 1 1-10 L
4-6 8-10 7-10 H  | 4-6 8-10 5-6 H  | 4-6 8-10 2-4 M  | 4-6 8-10 1 M
4-6 6-7 7-10 M   | 4-6 6-7 5-6 M   | 4-6 6-7 2-4 M   | 4-6 6-7 1 L
4-6 4-5 7-10 M   | 4-6 4-5 5-6 L   | 4-6 4-5 2-4 L   | 4-6 4-5 1 L
4-6 2-3 1-10 L
4-6 1 1-10 L
2-3 8-10 7-10 M  | 2-3 8-10 5-6 M  | 2-3 8-10 2-4 L  | 2-3 8-10 1 L
2-3 1-7 1-10 L
1 1-10 1-10 L
"""


def _band(text: str) -> range:
    low, _, high = text.partition("-")
    return range(int(low), int(high or low) + 1)


def _handbook_cells() -> dict[tuple[int, int, int], str]:
    cells: dict[tuple[int, int, int], str] = {}
    for line in HANDBOOK.strip().splitlines():
        for entry in line.split("|"):
            s, o, d, ap = entry.split()
            for si in _band(s):
                for oi in _band(o):
                    for di in _band(d):
                        assert (si, oi, di) not in cells, f"typed twice: S{si} O{oi} D{di}"
                        cells[(si, oi, di)] = ap
    return cells


def test_the_typed_handbook_table_covers_every_combination_once() -> None:
    assert len(_handbook_cells()) == 1000


@pytest.mark.parametrize("kind", ["PFMEA", "DFMEA"])
def test_every_combination_matches_the_handbook(kind: str) -> None:
    wrong = [
        f"S{s} O{o} D{d}: {action_priority(s, o, d, kind=kind)} != {ap}"  # type: ignore[arg-type]
        for (s, o, d), ap in sorted(_handbook_cells().items())
        if action_priority(s, o, d, kind=kind) != ap  # type: ignore[arg-type]
    ]
    assert wrong == []


def test_published_examples() -> None:
    # RPN 96 both ways, different priorities (the handbook's argument against the RPN)
    assert action_priority(8, 6, 2) == "H"
    assert action_priority(2, 6, 8) == "L"
    assert action_priority(10, 1, 10) == "L"  # O 1: low whatever S and D


def test_table_carries_its_source_and_verification() -> None:
    table = ap_tables()["PFMEA"]
    assert table is ap_tables()["DFMEA"]
    assert "AIAG & VDA FMEA Handbook" in table.source["title"]
    assert table.source["edition"] == "1st edition, 2019"
    assert isinstance(table.verified, bool) and table.verification
    assert set(table.meaning) == {"H", "M", "L"}


@pytest.mark.parametrize("bad", [0, 11, "x", True])
def test_ratings_outside_1_to_10_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError, match="severity"):
        action_priority(bad, 5, 5)  # type: ignore[arg-type]


def test_a_table_with_a_gap_or_an_overlap_does_not_load() -> None:
    raw = yaml.safe_load(AP_FILE.read_text(encoding="utf-8"))["tables"][0]
    gap = copy.deepcopy(raw)
    gap["rows"] = [r for r in gap["rows"] if not (r[0] == "4-6" and r[1] == "6-7")]
    with pytest.raises(ConfigError, match=r"S4 O6 D1 is in 0 cells"):
        _table(gap)
    overlap = copy.deepcopy(raw)
    overlap["rows"].append(["9-10", "1", ["L", "L", "L", "L"]])
    with pytest.raises(ConfigError, match="in 2 cells"):
        _table(overlap)
