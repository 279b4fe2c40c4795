"""The data tables of the NLP room: subsystems by CFR section, and the QMSR map."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data"


@cache
def _yaml(name: str) -> Any:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


def subsystem_labels() -> dict[str, dict[str, str]]:
    return dict(_yaml("subsystems.yaml")["labels"])


def subsystem_for(citation: str) -> str | None:
    """The subsystem of a normalised citation (``21 CFR 820.100(a)`` -> ``capa``), by the
    longest section or paragraph prefix in ``data/subsystems.yaml``."""
    body = citation.removeprefix("21 CFR ").removeprefix("Part ")
    table: dict[str, str] = _yaml("subsystems.yaml")["sections"]
    key = body
    while "(" in key:  # most specific paragraph first: 820.35(a) before 820.35
        if key in table:
            return table[key]
        key = key[: key.rfind("(")]
    if key in table:
        return table[key]
    return table.get(key.split(".")[0])


def nmpa_subsystem(text: str) -> str | None:
    """The subsystem of a Chinese finding, by the first keyword of ``nmpa_keywords`` it contains."""
    best: tuple[int, str] | None = None
    for word, label in _yaml("subsystems.yaml")["nmpa_keywords"].items():
        at = text.find(word)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, label)
    return best[1] if best else None


def iso13485_clauses(citation: str) -> tuple[str, ...]:
    """ISO 13485:2016 clauses an old Part 820 citation maps to (most specific entry that
    matches: ``820.30(g)`` before ``820.30``); empty for non-820 citations."""
    body = citation.removeprefix("21 CFR ")
    if not body.startswith("820."):
        return ()
    table: dict[str, dict[str, Any]] = _yaml("qmsr_iso13485.yaml")["sections"]
    key = body
    while key:
        if key in table:
            return tuple(table[key]["iso"])
        if "(" not in key:
            break
        key = key[: key.rfind("(")]
    return ()


def qmsr_table() -> dict[str, dict[str, Any]]:
    return dict(_yaml("qmsr_iso13485.yaml")["sections"])
