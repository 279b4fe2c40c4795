"""Score extraction against a hand-made answer key: precision, recall and F1 of charged
citations (micro-averaged over letters), subsystem accuracy over the gold charged
citations that were found, and letters per second."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from qualitas.ingest.nlp import extract_file

__all__ = ["Evaluation", "answer_key_sets", "evaluate_corpus"]


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


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def answer_key_sets(folder: Path, *, key_file: str = "answer_key.yaml") -> tuple[str, ...]:
    """The answer-key sets in ``folder``'s key, in order of first appearance (``dev`` for
    entries without ``set``)."""
    key = yaml.safe_load((folder / key_file).read_text(encoding="utf-8"))
    return tuple(dict.fromkeys(e.get("set", "dev") for e in key["letters"]))


def evaluate_corpus(folder: Path, *, key_file: str = "answer_key.yaml", only: str | None = None) -> Evaluation:
    """Run the extractor over every letter the key lists in ``folder`` and score it.

    ``only`` restricts scoring to the key entries whose ``set`` matches (entries without a
    ``set`` belong to ``"dev"``, the letters the rules were developed on; ``"heldout"`` are
    letters added afterwards, ``"heldout-2"`` a second such batch)."""
    key = yaml.safe_load((folder / key_file).read_text(encoding="utf-8"))
    if only is not None:
        key["letters"] = [e for e in key["letters"] if e.get("set", "dev") == only]
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
    )
