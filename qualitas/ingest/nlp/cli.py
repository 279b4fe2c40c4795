"""``qualitas nlp``: extract warning letters and NMPA notices, and load them into the store.

Mounted by ``qualitas.cli`` through its PLUGINS list (``register(app)``).
"""

from __future__ import annotations

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
            cli._print_json(result)
            return
        cli.out.print(f"[bold]{result.firm or '?'}[/bold] {result.date or ''} ref {result.reference or '-'}")
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
