"""Benchmark: warning-letter NLP throughput on one core (not a test).

    python bench/nlp.py [--letters 2000] [--files 360] [--buckets 8] [--json PATH]

* extraction letters/s: :func:`extract_letter` (citations with sentences and offsets,
  charges, letter facts, relations with the spaCy blank pipeline, IMDRF codes) over the
  corpus texts (``tests/fixtures/warning_letters``) repeated to ``--letters``, against the
  bare citation regex pass (:func:`find_citations`) over the same texts in the same process;
* ``qualitas nlp load`` letters/s: ``--files`` letter files (the corpus copied under new
  names) into an on-disk store, first load (read, extract, write, and one audit record per
  changed file, which fsyncs the trail) and rerun (every file skipped by its sha256: the
  store must be left unchanged); then the same with ``--buckets`` (files in that many
  batches, one audit record each).

Wall-clock figures on a shared machine move with its load; ``extract_letters_per_cpu_s``
(letters per second of this process's CPU time, i.e. of the one core it is pinned to) does
not, and is the figure the goal is checked against.

The process is pinned to one core (``os.sched_setaffinity``) where the OS allows it.
Prints the figures and writes ``bench/out/nlp.json`` (or ``--json``). The goal of issue 17
is >= 100 letters/s for extraction on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = REPO / "tests" / "fixtures" / "warning_letters"
OUT = Path(__file__).parent / "out"


def _pin() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        return "not pinned (no sched_setaffinity)"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=2000)
    parser.add_argument("--files", type=int, default=360)
    parser.add_argument("--buckets", type=int, default=8)
    parser.add_argument("--json", type=Path, default=OUT / "nlp.json")
    args = parser.parse_args(argv)
    pinned = _pin()

    from typer.testing import CliRunner

    from qualitas.cli import app
    from qualitas.ingest.nlp import extract_letter, find_citations

    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    work = [texts[i % len(texts)] for i in range(args.letters)]
    extract_letter(texts[0])  # build the spaCy pipeline and load the tables outside the timing

    t0 = time.perf_counter()
    for text in work:
        find_citations(text)
    bare = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    for text in work:
        extract_letter(text)
    full, full_cpu = time.perf_counter() - t0, time.process_time() - c0

    tmp = Path(tempfile.mkdtemp(prefix="qualitas-nlp-bench-"))
    try:
        folder = tmp / "letters"
        folder.mkdir()
        sources = sorted(CORPUS.glob("*.txt"))
        for i in range(args.files):
            shutil.copyfile(sources[i % len(sources)], folder / f"{i:05d}-{sources[i % len(sources)].name}")
        runner = CliRunner()
        timings: dict[str, float] = {}
        rerun_counts: dict[str, object] = {}
        for mode, extra in (("per_file", []), ("buckets", ["--buckets", str(args.buckets)])):
            cmd = ["--store", str(tmp / f"store-{mode}"), "nlp", "load", *extra, "--json", str(folder)]
            t0, c0 = time.perf_counter(), time.process_time()
            first = runner.invoke(app, cmd)
            timings[mode], timings[f"{mode}_cpu"] = time.perf_counter() - t0, time.process_time() - c0
            t0 = time.perf_counter()
            again = runner.invoke(app, cmd)
            timings[f"{mode}_rerun"] = time.perf_counter() - t0
            if first.exit_code or again.exit_code:
                print(first.output, again.output, file=sys.stderr)
                return 1
            rerun_counts[mode] = json.loads(again.stdout)["counts"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    figures = {
        "machine": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; {pinned}",
        "letters": args.letters,
        "find_citations_letters_per_s": round(args.letters / bare, 1),
        "extract_letters_per_s": round(args.letters / full, 1),
        "extract_letters_per_cpu_s": round(args.letters / full_cpu, 1),
        "ratio_extract_vs_citation_regex": round(full / bare, 1),
        "load_files": args.files,
        "load_letters_per_s": round(args.files / timings["per_file"], 1),
        "load_letters_per_cpu_s": round(args.files / timings["per_file_cpu"], 1),
        "reload_letters_per_s": round(args.files / timings["per_file_rerun"], 1),
        "load_buckets": args.buckets,
        "load_buckets_letters_per_s": round(args.files / timings["buckets"], 1),
        "load_buckets_letters_per_cpu_s": round(args.files / timings["buckets_cpu"], 1),
        "reload_buckets_letters_per_s": round(args.files / timings["buckets_rerun"], 1),
        "reload_counts": rerun_counts,
        "goal_extract_letters_per_s": 100,
        "goal_met": args.letters / full_cpu >= 100,
    }
    for k, v in figures.items():
        print(f"{k}: {v}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
