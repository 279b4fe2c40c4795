"""Evaluate the warning-letter extractor on the development corpus.

    .venv/bin/python scripts/evaluate_nlp.py [FOLDER] [--only SET] [--split]

``--only SET`` scores only the answer-key entries of that set (entries without ``set`` are
``dev``, the letters the rules were developed on; ``heldout`` and ``heldout-2`` were added
later, see the corpus SOURCES.md); ``--split`` prints each set's scores after the overall ones.

Prints precision / recall / F1 of charged citations, subsystem accuracy, other-reference
precision / recall and letters per second; exits 1 below the issue's thresholds
(F1 >= 0.95, subsystem accuracy >= 0.9).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qualitas.ingest.nlp import extract_file
from qualitas.ingest.nlp.evaluate import Evaluation, answer_key_sets, evaluate_corpus

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "warning_letters"


def _report(ev: Evaluation, title: str) -> None:
    print(f"== {title}")
    print(f"letters: {ev.letters}")
    print(f"charged citations: precision {ev.precision:.3f} recall {ev.recall:.3f} F1 {ev.f1:.3f} "
          f"(tp {ev.true_positives}, fp {ev.false_positives}, fn {ev.false_negatives})")
    print(f"subsystem accuracy: {ev.subsystem_accuracy:.3f} ({ev.subsystem_correct}/{ev.subsystem_total})")
    print(f"other references: precision {ev.other_precision:.3f} recall {ev.other_recall:.3f}")
    print(f"speed: {ev.letters_per_second:.1f} letters/s ({ev.seconds:.3f} s)")
    for e in ev.errors:
        print("  " + e)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Score the warning-letter extractor.")
    parser.add_argument("folder", nargs="?", type=Path, default=CORPUS)
    parser.add_argument("--only", metavar="SET", default=None, help="score one answer-key set only")
    parser.add_argument("--split", action="store_true", help="also score dev and held-out separately")
    args = parser.parse_args(argv)
    extract_file(next(args.folder.glob("*.txt")))  # build the pipeline once, outside the timing
    ev = evaluate_corpus(args.folder, only=args.only)
    _report(ev, args.only or "all letters")
    if args.split and args.only is None:
        for name in answer_key_sets(args.folder):
            _report(evaluate_corpus(args.folder, only=name), name)
    return 0 if ev.f1 >= 0.95 and ev.subsystem_accuracy >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
