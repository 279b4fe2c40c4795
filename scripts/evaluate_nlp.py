"""Evaluate the warning-letter extractor on the development corpus.

    .venv/bin/python scripts/evaluate_nlp.py [FOLDER]

Prints precision / recall / F1 of charged citations, subsystem accuracy, other-reference
precision / recall and letters per second; exits 1 below the issue's thresholds
(F1 >= 0.95, subsystem accuracy >= 0.9).
"""

from __future__ import annotations

import sys
from pathlib import Path

from qualitas.ingest.nlp import extract_file
from qualitas.ingest.nlp.evaluate import evaluate_corpus

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "warning_letters"


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else CORPUS
    extract_file(next(folder.glob("*.txt")))  # build the pipeline once, outside the timing
    ev = evaluate_corpus(folder)
    print(f"letters: {ev.letters}")
    print(f"charged citations: precision {ev.precision:.3f} recall {ev.recall:.3f} F1 {ev.f1:.3f} "
          f"(tp {ev.true_positives}, fp {ev.false_positives}, fn {ev.false_negatives})")
    print(f"subsystem accuracy: {ev.subsystem_accuracy:.3f} ({ev.subsystem_correct}/{ev.subsystem_total})")
    print(f"other references: precision {ev.other_precision:.3f} recall {ev.other_recall:.3f}")
    print(f"speed: {ev.letters_per_second:.1f} letters/s ({ev.seconds:.3f} s)")
    for e in ev.errors:
        print("  " + e)
    return 0 if ev.f1 >= 0.95 and ev.subsystem_accuracy >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
