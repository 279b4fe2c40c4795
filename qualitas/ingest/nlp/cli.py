"""``qualitas nlp``: extract warning letters and NMPA notices, and load them into the store.

Mounted by ``qualitas.cli`` through its PLUGINS list (``register(app)``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from qualitas.audit import LoadOutcome
    from qualitas.ingest.nlp import WarningLetter
    from qualitas.store import GraphStore

nlp_app = typer.Typer(help="Warning letters and NMPA notices into the defect-mode graph.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(nlp_app, name="nlp")


def _audited(
    store: GraphStore, letter: WarningLetter, path: Path, *, agent: str
) -> AbstractContextManager[LoadOutcome]:
    """A letter's batch and its ``load`` audit record, as one unit (see ``qualitas.audit``)."""
    from qualitas import cli
    from qualitas.audit import audited_load, open_audit_log
    from qualitas.ingest.nlp._graph import letter_key

    return audited_load(
        open_audit_log(cli._settings()),
        store,
        actor=agent,
        source=f"warning-letter:{letter_key(letter)}",
        paths=[path],
        format="warning-letter",
    )


@nlp_app.command("letter")
def letter(
    file: Annotated[Path, typer.Argument(help="A letter as plain text (FDA, English) or an NMPA notice (Chinese).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    load: Annotated[bool, typer.Option("--load/--no-load", help="Also load the letter into the store.")] = False,
) -> None:
    """Extract one letter: firm, date, charged citations with subsystems, other references, relations."""
    from qualitas import cli
    from qualitas.ingest.nlp import extract_file, load_letter

    def action() -> None:
        result = extract_file(file)
        if load:
            settings = cli._settings()
            agent = cli._agent(settings)
            with cli._open() as store, _audited(store, result, file, agent=agent) as loaded:
                loaded.results = [load_letter(store, result, agent=agent)]
        if json_out:
            data = cli.to_jsonable(result)
            if result.language == "en":
                data["qmsrEra"] = result.qmsr_era
                data["responseDue"] = cli.to_jsonable(result.response_due)
            cli._print_json(data)
            return
        cli.out.print(f"[bold]{result.firm or '?'}[/bold] {result.date or ''} ref {result.reference or '-'}")
        facts = [
            f"office: {result.issuing_office}" if result.issuing_office else "",
            "inspected " + ", ".join(f"{i.start} to {i.end}" for i in result.inspections) if result.inspections else "",
            f"respond by {result.response_due}" if result.response_due else "",
            "QMSR era" if result.qmsr_era else "",
        ]
        if any(facts):
            cli.out.print("; ".join(f for f in facts if f), highlight=False)
        if result.products:
            cli.out.print("products: " + "; ".join(result.products), highlight=False)
        for v in result.violations:
            iso = f" -> ISO 13485 {', '.join(v.iso13485)}" if v.iso13485 else ""
            cli.out.print(f"  CHARGED {v.citation} [{v.subsystem or '?'}]{iso}", highlight=False, markup=False)
        if result.other_references:
            cli.out.print("  other: " + ", ".join(result.other_references), highlight=False)
        for r in result.relations:
            cli.out.print(f"  {r.failure_mode} <- {r.mechanism} <- {r.design_weakness or '?'}", highlight=False)

    cli._run(action)


@nlp_app.command("letters")
def letters(
    folder: Annotated[Path, typer.Argument(help="A folder of letters (*.txt).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Extract every letter of a folder and load each into the store as its own batch."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from qualitas import cli
    from qualitas.errors import InputError
    from qualitas.ingest.nlp import extract_file, load_letter

    def action() -> None:
        files = sorted(folder.glob("*.txt"))
        if not folder.is_dir() or not files:
            raise InputError(f"no *.txt letters in {folder}", file=str(folder))
        agent = cli._agent(cli._settings())
        results = []
        with (
            cli._open() as store,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=cli.err,
                transient=True,
                disable=json_out or not cli.err.is_terminal,
            ) as bar,
        ):
            task = bar.add_task("letters", total=len(files))
            for path in files:
                bar.update(task, description=path.name[:40])
                letter = extract_file(path)
                with _audited(store, letter, path, agent=agent) as done:  # each letter: its batch and its record
                    done.results = [load_letter(store, letter, agent=agent)]
                loaded = done.results[0]
                results.append(
                    {
                        "file": path.name,
                        "firm": letter.firm,
                        "charged": list(letter.charged),
                        "status": loaded.status,
                        "triples": loaded.triples,
                    }
                )
                bar.advance(task)
        if json_out:
            cli._print_json(results)
            return
        for r in results:
            cli.out.print(
                f"{r['file']}: {r['status']} ({len(r['charged'])} charged, {r['triples']} triples)", highlight=False
            )

    cli._run(action)


_SUFFIXES = (".txt", ".html", ".htm", ".pdf")


def _letter_files(folder: Path) -> Iterator[Path]:
    """Letter files under ``folder`` (recursively), in a stable order, one at a time."""
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.lower().endswith(_SUFFIXES) and not name.startswith("."):
                yield Path(root) / name


@nlp_app.command("load")
def load(
    folder: Annotated[Path, typer.Argument(help="A folder of letters: .txt, .html/.htm, .pdf (subfolders too).")],
    buckets: Annotated[
        int,
        typer.Option(
            "--buckets",
            min=0,
            help="0: one batch (and audit record) per file. N > 0: files go to N batches by a hash of their "
            "path, each with one audit record; a bucket whose files are all unchanged is skipped, one with a "
            "changed file is read again whole. Use one setting per folder.",
        ),
    ] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Load a folder of letters, streamed one file at a time with a progress bar; files whose
    sha256 is already loaded are skipped without being extracted again, so a rerun on the
    same folder changes nothing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from qualitas import cli
    from qualitas.audit import audited_load, open_audit_log
    from qualitas.errors import InputError
    from qualitas.ingest.nlp import letter_text, load_letter_file
    from qualitas.ingest.nlp._graph import letter_graph

    def action() -> None:
        from rdflib import Graph

        if not folder.is_dir():
            raise InputError(f"{folder} is not a folder", file=str(folder))
        files = list(_letter_files(folder))
        if not files:
            raise InputError(f"no letters (.txt, .html, .pdf) in {folder}", file=str(folder))
        settings = cli._settings()
        agent = cli._agent(settings)
        log = open_audit_log(settings)
        counts: dict[str, int] = {}
        results = []

        def record(rel: str, status: str, triples: int, firm: str | None) -> None:
            counts[status] = counts.get(status, 0) + 1
            results.append({"file": rel, "status": status, "triples": triples, "firm": firm})

        with (
            cli._open() as store,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=cli.err,
                transient=True,
                disable=json_out or not cli.err.is_terminal,
            ) as bar,
        ):
            task = bar.add_task("letters", total=len(files))
            if buckets == 0:
                for path in files:
                    bar.update(task, description=path.name[:40])
                    rel = path.relative_to(folder).as_posix()
                    data = path.read_bytes()
                    digest = hashlib.sha256(data).hexdigest()
                    source = f"warning-letter-file:{rel}"
                    known = store.batch(source)
                    if known is not None and known.sha256 == digest:
                        record(rel, "unchanged", known.triples, None)
                    else:
                        letter = letter_text(path, data)
                        unit = audited_load(
                            log, store, actor=agent, source=source, paths=[path], format="warning-letter"
                        )
                        with unit as done:
                            done.results = [load_letter_file(store, letter, source=source, sha256=digest, agent=agent)]
                        record(rel, done.results[0].status, done.results[0].triples, letter.firm)
                    bar.advance(task)
            else:
                groups: dict[int, list[tuple[Path, str, str]]] = {}
                for path in files:  # a first pass hashes each file (read, hash, let go)
                    rel = path.relative_to(folder).as_posix()
                    bucket = int(hashlib.sha256(rel.encode()).hexdigest(), 16) % buckets
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                    groups.setdefault(bucket, []).append((path, rel, digest))
                for bucket in sorted(groups):
                    members = sorted(groups[bucket], key=lambda m: m[1])
                    listing = "".join(f"{rel}\t{digest}\n" for _, rel, digest in members)
                    digest = hashlib.sha256(listing.encode()).hexdigest()
                    source = f"warning-letter-files:{buckets}:{bucket}"
                    known = store.batch(source)
                    if known is not None and known.sha256 == digest:
                        for _, rel, _ in members:
                            record(rel, "unchanged", 0, None)
                        bar.advance(task, len(members))
                        continue
                    graph = Graph()
                    firms = []
                    for path, _, _ in members:
                        bar.update(task, description=path.name[:40])
                        letter = letter_text(path)
                        graph += letter_graph(letter)
                        firms.append(letter.firm)
                        bar.advance(task)
                    paths = [m[0] for m in members]
                    with audited_load(
                        log, store, actor=agent, source=source, paths=paths, format="warning-letter"
                    ) as done:
                        done.results = [
                            store.load_triples(
                                iter(graph), source=source, sha256=digest, agent=agent, format="warning-letter"
                            )
                        ]
                    for (_, rel, _), firm in zip(members, firms, strict=True):
                        record(rel, done.results[0].status, len(graph) // len(members), firm)
        if json_out:
            cli._print_json({"files": results, "counts": counts})
            return
        for r in results:
            if r["status"] != "unchanged":
                cli.out.print(f"{r['file']}: {r['status']} ({r['triples']} triples)", highlight=False)
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        cli.out.print(f"{len(files)} letters: {summary}", highlight=False)

    cli._run(action)


@nlp_app.command("classify")
def classify_texts(
    csv_file: Annotated[
        Path | None, typer.Argument(help="Customer reviews as CSV: id, text (en/de/zh), optional lang.")
    ] = None,
    complaints: Annotated[bool, typer.Option("--complaints", help="Classify the complaints in the store.")] = False,
    library: Annotated[
        Path | None,
        typer.Option(
            "--library",
            help="Failure-mode library as YAML (key, name, description, codes); "
            "default: the failure modes in the store.",
        ),
    ] = None,
    threshold: Annotated[float, typer.Option(help="Below this score a case goes to the review list.")] = 0.5,
    review_out: Annotated[Path | None, typer.Option("--review-out", help="Write the review list as CSV.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Classify complaint texts and reviews into the failure-mode library: each with the failure
    mode, a score, the evidence words and its IMDRF codes; low-confidence cases go to review."""
    import csv as csv_mod
    import dataclasses

    import yaml

    from qualitas import cli
    from qualitas.errors import InputError
    from qualitas.ingest.nlp import LibraryEntry, TextItem, classify, read_texts_csv
    from qualitas.ingest.nlp._graph import complaint_texts, failure_mode_library

    def action() -> None:
        if csv_file is None and not complaints:
            raise InputError("give a CSV of reviews, or --complaints for the complaints in the store")
        items: list[TextItem] = read_texts_csv(csv_file) if csv_file is not None else []
        lib: list[LibraryEntry]
        if library is not None:
            try:
                rows = yaml.safe_load(library.read_text(encoding="utf-8")) or []
            except (OSError, yaml.YAMLError) as exc:
                raise InputError(f"cannot read {library}: {exc}", file=str(library)) from exc
            if not isinstance(rows, list):
                raise InputError(f"{library}: expected a list of failure modes", file=str(library))
            lib = []
            for n, row in enumerate(rows, 1):
                if not isinstance(row, dict) or not row.get("name"):
                    raise InputError(f"{library}: entry {n} has no name", file=str(library))
                key = str(row.get("key") or row["name"])
                codes = tuple(str(c) for c in row.get("codes") or ())
                lib.append(LibraryEntry(key, str(row["name"]), str(row.get("description") or ""), codes))
        if library is None or complaints:
            with cli._open(read_only=True) as store:
                if library is None:
                    lib = failure_mode_library(store)
                if complaints:
                    items += complaint_texts(store)
        result = classify(items, lib, threshold=threshold)
        review = [c for c in result if c.review]
        if review_out is not None:
            with review_out.open("w", encoding="utf-8", newline="") as handle:
                w = csv_mod.writer(handle)
                w.writerow(["id", "language", "score", "imdrf", "reason", "text"])
                for c in review:
                    w.writerow([c.id, c.language, c.score, " ".join(c.imdrf), c.reason, c.text])
        if json_out:
            cli._print_json([dataclasses.asdict(c) for c in result])
            return
        for c in result:
            if not c.review:
                cli.out.print(
                    f"{c.id} [{c.language}] -> {c.name} (score {c.score}; {c.reason})", highlight=False, markup=False
                )
        if review:
            cli.out.print(f"review list ({len(review)}):", highlight=False)
            for c in review:
                cli.out.print(f"  {c.id} [{c.language}] {c.reason}: {c.text[:80]}", highlight=False, markup=False)

    cli._run(action)
