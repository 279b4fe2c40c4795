"""Score extraction against a hand-made answer key: precision, recall and F1 of charged
citations (micro-averaged over letters), subsystem accuracy over the gold charged
citations, the share of letters whose firm, date, reference, issuing office and inspection
periods match the key (each over the entries that state it), and letters per second."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from qualitas.ingest.nlp import extract_file

__all__ = ["Evaluation", "FactScore", "answer_key_sets", "evaluate_corpus", "frozen_split"]


@dataclass(frozen=True)
class FactScore:
    """How many key entries that state a fact the extractor got exactly right."""

    correct: int
    total: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None


@dataclass(frozen=True)
class Evaluation:
    letters: int
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float
    subsystem_correct: int
    subsystem_total: int
    subsystem_accuracy: float
    other_precision: float
    other_recall: float
    seconds: float
    letters_per_second: float
    errors: tuple[str, ...]
    facts: dict[str, FactScore] = field(default_factory=dict)


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def answer_key_sets(folder: Path, *, key_file: str = "answer_key.yaml") -> tuple[str, ...]:
    """The answer-key sets in ``folder``'s key, in order of first appearance (``dev`` for
    entries without ``set``)."""
    key = yaml.safe_load((folder / key_file).read_text(encoding="utf-8"))
    return tuple(dict.fromkeys(e.get("set", "dev") for e in key["letters"]))


def frozen_split(folder: Path, *, split_file: str = "heldout_split.yaml") -> tuple[str, ...]:
    """The files of the frozen held-out split (``heldout_split.yaml``)."""
    return tuple(yaml.safe_load((folder / split_file).read_text(encoding="utf-8"))["files"])


def _as_date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(str(value)) if value is not None else None


def evaluate_corpus(
    folder: Path,
    *,
    key_file: str = "answer_key.yaml",
    only: str | None = None,
    files: tuple[str, ...] | None = None,
) -> Evaluation:
    """Run the extractor over every letter the key lists in ``folder`` and score it.

    ``only`` restricts scoring to the key entries whose ``set`` matches (entries without a
    ``set`` belong to ``"dev"``, the letters the rules were developed on; ``"heldout"`` are
    letters added afterwards, ``"heldout-2"`` a second such batch)."""
    key = yaml.safe_load((folder / key_file).read_text(encoding="utf-8"))
    if only is not None:
        key["letters"] = [e for e in key["letters"] if e.get("set", "dev") == only]
    if files is not None:
        key["letters"] = [e for e in key["letters"] if e["file"] in files]
    facts = {name: [0, 0] for name in ("firm", "date", "reference", "office", "inspections")}
    tp = fp = fn = sub_ok = sub_n = otp = ofp = ofn = 0
    errors: list[str] = []
    started = time.perf_counter()
    for entry in key["letters"]:
        letter = extract_file(folder / entry["file"])
        gold = {c["citation"]: c["subsystem"] for c in entry.get("charged") or ()}
        pred = {v.citation: v.subsystem for v in letter.violations}
        tp += len(gold.keys() & pred.keys())
        fp += len(pred.keys() - gold.keys())
        fn += len(gold.keys() - pred.keys())
        for c in sorted(pred.keys() - gold.keys()):
            errors.append(f"{entry['file']}: extra charged {c}")
        for c in sorted(gold.keys() - pred.keys()):
            errors.append(f"{entry['file']}: missed charged {c}")
        for c, label in gold.items():
            sub_n += 1
            if pred.get(c) == label:
                sub_ok += 1
            elif c in pred:
                errors.append(f"{entry['file']}: {c} subsystem {pred[c]} != {label}")
        got = {
            "firm": letter.firm,
            "date": letter.date,
            "reference": letter.reference,
            "office": letter.issuing_office,
            "inspections": [[i.start, i.end] for i in letter.inspections],
        }
        for name, value in got.items():
            if name not in entry:
                continue
            want = entry[name]
            if name == "date":
                want = _as_date(want)
            elif name == "inspections":
                want = [[_as_date(a), _as_date(b)] for a, b in want]
            facts[name][1] += 1
            if value == want:
                facts[name][0] += 1
            else:
                errors.append(f"{entry['file']}: {name} {value!r} != {want!r}")
        g_other, p_other = set(entry.get("other") or ()), set(letter.other_references)
        otp += len(g_other & p_other)
        ofp += len(p_other - g_other)
        ofn += len(g_other - p_other)
    seconds = time.perf_counter() - started
    p, r, f = _prf(tp, fp, fn)
    op, orr, _ = _prf(otp, ofp, ofn)
    n = len(key["letters"])
    return Evaluation(
        n,
        tp,
        fp,
        fn,
        p,
        r,
        f,
        sub_ok,
        sub_n,
        sub_ok / sub_n if sub_n else 1.0,
        op,
        orr,
        seconds,
        n / seconds if seconds else float("inf"),
        tuple(errors),
        {name: FactScore(ok, total) for name, (ok, total) in facts.items()},
    )
