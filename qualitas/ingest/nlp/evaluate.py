"""Score extraction against a hand-made answer key: precision, recall and F1 of charged
citations (micro-averaged over letters), subsystem accuracy over the gold charged
citations that were found, and letters per second."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from qualitas.ingest.nlp import extract_file

__all__ = ["Evaluation", "evaluate_corpus"]


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


def evaluate_corpus(folder: Path, *, key_file: str = "answer_key.yaml") -> Evaluation:
    """Run the extractor over every letter the key lists in ``folder`` and score it."""
    key = yaml.safe_load((folder / key_file).read_text(encoding="utf-8"))
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
    return Evaluation(n, tp, fp, fn, p, r, f, sub_ok, sub_n, sub_ok / sub_n if sub_n else 1.0, op, orr,
                      seconds, n / seconds if seconds else float("inf"), tuple(errors))
