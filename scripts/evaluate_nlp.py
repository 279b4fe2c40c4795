"""Evaluate the warning-letter extractor on the development corpus.

    .venv/bin/python scripts/evaluate_nlp.py [FOLDER] [--only SET] [--split] [--frozen]

``--only SET`` scores only the answer-key entries of that set (entries without ``set`` are
``dev``, the letters the rules were developed on; ``heldout`` and ``heldout-2`` were added
later, ``heldout-3`` and ``dev-2`` for issue 17, see the corpus SOURCES.md); ``--split``
prints each set's scores after the overall ones; ``--frozen`` scores the frozen held-out
split of ``heldout_split.yaml`` (never tuned on).

Prints precision / recall / F1 of charged citations, subsystem accuracy, other-reference
precision / recall, the firm / date / reference / issuing office / inspection accuracy over
the entries that state them, and letters per second; exits 1 below the issue's thresholds
(F1 >= 0.95, subsystem accuracy >= 0.9, firm 100 %). A set with nothing to score (no charged
citation in its key entries nor in the extraction) says "nothing to score" instead of a
charged-citation score, and exits 1 when it is the only one asked for.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qualitas.ingest.nlp import extract_file
from qualitas.ingest.nlp.evaluate import Evaluation, answer_key_sets, evaluate_corpus, frozen_split

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "warning_letters"


def _scorable(ev: Evaluation) -> bool:
    """Whether there is anything to score: with no charged citation in the key and none
    extracted, precision, recall and F1 are undefined (not 1.000)."""
    return ev.true_positives + ev.false_positives + ev.false_negatives > 0


def _facts(ev: Evaluation) -> None:
    parts = [f"{name} {f.correct}/{f.total}" for name, f in ev.facts.items() if f.total]
    if parts:
        print("facts: " + ", ".join(parts))


def _report(ev: Evaluation, title: str) -> None:
    print(f"== {title}")
    print(f"letters: {ev.letters}")
    if ev.letters == 0:
        print("nothing to score: no letter in this split")
        return
    if not _scorable(ev):
        print("nothing to score: no charged citation in the answer key or the extraction")
        _facts(ev)
        for e in ev.errors:
            print("  " + e)
        return
    print(
        f"charged citations: precision {ev.precision:.3f} recall {ev.recall:.3f} F1 {ev.f1:.3f} "
        f"(tp {ev.true_positives}, fp {ev.false_positives}, fn {ev.false_negatives})"
    )
    print(f"subsystem accuracy: {ev.subsystem_accuracy:.3f} ({ev.subsystem_correct}/{ev.subsystem_total})")
    print(f"other references: precision {ev.other_precision:.3f} recall {ev.other_recall:.3f}")
    _facts(ev)
    print(f"speed: {ev.letters_per_second:.1f} letters/s ({ev.seconds:.3f} s)")
    for e in ev.errors:
        print("  " + e)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Score the warning-letter extractor.")
    parser.add_argument("folder", nargs="?", type=Path, default=CORPUS)
    parser.add_argument("--only", metavar="SET", default=None, help="score one answer-key set only")
    parser.add_argument("--split", action="store_true", help="also score dev and held-out separately")
    parser.add_argument("--frozen", action="store_true", help="score the frozen held-out split only")
    args = parser.parse_args(argv)
    extract_file(next(args.folder.glob("*.txt")))  # build the pipeline once, outside the timing
    files = frozen_split(args.folder) if args.frozen else None
    ev = evaluate_corpus(args.folder, only=args.only, files=files)
    _report(ev, "frozen held-out split" if args.frozen else args.only or "all letters")
    if args.split and args.only is None:
        for name in answer_key_sets(args.folder):
            _report(evaluate_corpus(args.folder, only=name), name)
    firm = ev.facts.get("firm")
    firm_ok = firm is None or firm.total == 0 or firm.correct == firm.total
    if not _scorable(ev):
        if args.only is not None:
            print(f"(the answer key's sets: {', '.join(answer_key_sets(args.folder))})")
        return 1  # no score, so no evidence the thresholds are met
    return 0 if ev.f1 >= 0.95 and ev.subsystem_accuracy >= 0.9 and firm_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
