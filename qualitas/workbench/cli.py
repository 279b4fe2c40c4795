"""``qualitas fmea ...`` and ``qualitas capa ...``: the quality workbench on the command line.

Mounted by ``qualitas/cli.py`` through its ``PLUGINS`` list (``register(app)``). Every
write is one audited batch (``workbench.fmea.*``, ``workbench.capa.*``); every query
takes ``--json``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from qualitas.errors import InputError, ValidationError

fmea_app = typer.Typer(
    help="FMEA (AIAG & VDA 2019): wizard, worksheet import/export, control plan.", no_args_is_help=True
)
capa_app = typer.Typer(help="CAPA records: 8D, 5-Why, PDCA with closure rules.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why (goes into the audit record).")]
ReplaceOpt = Annotated[bool, typer.Option("--replace", help="Replace an FMEA of that id saved with other content.")]


def _root() -> Any:
    from qualitas import cli as root

    return root


def _who() -> tuple[str, Any]:
    root = _root()
    settings = root._settings()
    return root._agent(settings), settings


def _trail(settings: Any) -> Any:
    from qualitas.audit import open_audit_log

    return open_audit_log(settings)


# ---------------------------------------------------------------- fmea


def _numbers(text: str, count: int) -> list[int]:
    out = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= count:
            raise InputError(f"{part!r} is not a number from 1 to {count}")
        out.append(int(part) - 1)
    return out


def _interactive_answers(store: Any) -> dict[str, Any]:
    from qualitas.workbench.wizard import failure_library, process_steps, propose

    steps = process_steps(store)
    if not steps:
        raise InputError("the graph has no process steps (load data first, e.g. `qualitas demo load`)")
    for i, (code, name) in enumerate(steps, start=1):
        typer.echo(f"  {i:2}. {code}  {name}")
    step = steps[_numbers(typer.prompt("Process step (number)"), len(steps))[0]]
    fmea_id = typer.prompt("FMEA id", default=f"PFMEA-{step[0]}")
    title = typer.prompt("Title", default=f"{step[1]} PFMEA")
    edge = typer.prompt(
        "Edge config (YAML) for the control plan's SPC columns (empty: none)", default="", show_default=False
    )
    library = failure_library(store)
    for i, f in enumerate(library, start=1):
        seen = f" (complaints: {', '.join(f.complaints)})" if f.complaints else ""
        typer.echo(f"  {i:2}. {f.code}  {f.name}{seen}")
    ticked = _numbers(typer.prompt("Failure types (numbers, comma-separated)"), len(library))
    from qualitas.edge_adapters.config import load_config

    config = load_config(Path(edge)) if edge else None
    types = []
    for index in ticked:
        mode = library[index]
        typer.echo(f"\n{mode.code} {mode.name}")
        effect = typer.prompt("  Failure effect")
        severity = typer.prompt("  Severity (1-10)", type=int)
        proposals = propose(store, step[0], failure_mode=mode.code, edge=config)
        for i, p in enumerate(proposals, start=1):
            typer.echo(f"  {i:2}. [{p.id}] {p.cause}")
            for note in p.evidence:
                typer.echo(f"        evidence: {note}")
        chosen = _numbers(
            typer.prompt("  Accept proposals (numbers, comma-separated)", default="", show_default=False),
            len(proposals),
        )
        causes: list[dict[str, Any]] = []
        for i in chosen:
            typer.echo(f"  {proposals[i].cause}")
            causes.append(
                {
                    "proposal": proposals[i].id,
                    "occurrence": typer.prompt("    Occurrence (1-10)", type=int),
                    "detection": typer.prompt("    Detection (1-10)", type=int),
                }
            )
        while own := typer.prompt("  Another cause of your own (empty: done)", default="", show_default=False):
            causes.append(
                {
                    "cause": own,
                    "occurrence": typer.prompt("    Occurrence (1-10)", type=int),
                    "detection": typer.prompt("    Detection (1-10)", type=int),
                    "prevention_control": typer.prompt("    Prevention control", default="", show_default=False),
                    "detection_control": typer.prompt("    Detection control", default="", show_default=False),
                }
            )
        if not causes:
            raise InputError(f"{mode.code}: no cause chosen")
        types.append({"mode": mode.code, "effect": effect, "severity": severity, "causes": causes})
    answers: dict[str, Any] = {"fmea": {"id": fmea_id, "title": title}, "step": step[0], "failure_types": types}
    if edge:
        answers["edge_config"] = str(Path(edge).resolve())
    return answers


@fmea_app.command("new")
def fmea_new(
    answers_file: Annotated[Path | None, typer.Option("--from", help="Answers in YAML (see examples/fmea/).")] = None,
    reason: ReasonOpt = None,
    replace: ReplaceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Wizard: process step, failure types, severity; causes and controls proposed from the graph;
    writes the FMEA and its control plan items (interactive without --from)."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.fmea import save_fmea
        from qualitas.workbench.wizard import build_fmea, parse_answers, read_answers

        agent, settings = _who()
        with root._open() as store:
            if answers_file is not None:
                answers = read_answers(answers_file)
            else:
                answers = parse_answers(_interactive_answers(store), where="wizard")
            result = build_fmea(store, answers)
            loaded = save_fmea(
                store,
                result.fmea,
                agent=agent,
                audit=_trail(settings),
                why=reason,
                action="workbench.fmea.new",
                replace=replace,
            )
        fmea = result.fmea
        if json_out:
            root._print_json({"fmea": fmea, "status": loaded.status, "graph": loaded.graph})
            return
        high = sum(c.action_priority == "H" for c in fmea.chains)
        root.out.print(
            f"FMEA {fmea.id}: {loaded.status}, {len(fmea.chains)} failure chains ({high} with AP H), "
            f"{len(fmea.control_plan)} control plan items for {answers.step}",
            highlight=False,
        )

    root._run(action)


@fmea_app.command("propose")
def fmea_propose(
    step: Annotated[str, typer.Argument(help="Process step code (q:code), e.g. CELL-S30.")],
    mode: Annotated[
        str | None, typer.Option("--mode", help="Failure mode code: adds its complaints' trace findings.")
    ] = None,
    edge_config: Annotated[Path | None, typer.Option("--edge-config", help="Edge YAML for detection controls.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Causes and controls the graph proposes for a process step (what the wizard offers)."""
    root = _root()

    def action() -> None:
        from qualitas.edge_adapters.config import load_config
        from qualitas.workbench.wizard import propose

        config = load_config(edge_config) if edge_config else None
        with root.open_for_reading() as store:
            proposals = propose(store, step, failure_mode=mode, edge=config)
        if json_out:
            root._print_json(proposals)
            return
        for p in proposals:
            root.out.print(f"{p.id}  {p.cause}", highlight=False, markup=False)
            root.out.print(f"    work element: {p.work_element} ({p.category})", highlight=False, markup=False)
            if p.prevention_control:
                root.out.print(f"    prevention: {p.prevention_control}", highlight=False, markup=False)
            if p.detection_control:
                root.out.print(f"    detection: {p.detection_control}", highlight=False, markup=False)
            for note in p.evidence:
                root.out.print(f"    evidence: {note}", highlight=False, markup=False)

    root._run(action)


@fmea_app.command("import")
def fmea_import(
    path: Annotated[Path, typer.Argument(help="Worksheet (.xlsx or .csv; column mapping in the README).")],
    fmt: Annotated[str | None, typer.Option("--format", help="xlsx or csv (default: from the name).")] = None,
    reason: ReasonOpt = None,
    replace: ReplaceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Import an FMEA worksheet: every line checked first; a bad line names its row and
    column and nothing is stored."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.worksheet import read_worksheet_file, save_imported

        agent, settings = _who()
        imported = read_worksheet_file(path, format=fmt)
        with root._open() as store:
            loaded = save_imported(store, imported, agent=agent, audit=_trail(settings), why=reason, replace=replace)
        if json_out:
            root._print_json(loaded)
        else:
            root.out.print(
                f"FMEA {imported.fmea.id}: {loaded.status}, {len(imported.fmea.chains)} failure chains from {path}",
                highlight=False,
            )

    root._run(action)


@fmea_app.command("export")
def fmea_export(
    fmea_id: Annotated[str, typer.Argument(help="FMEA id.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (.xlsx or .csv); CSV to standard output without it.")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="xlsx or csv (default: from --out's name).")] = None,
) -> None:
    """Export an FMEA as the worksheet (same columns as import)."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.fmea import load_fmea
        from qualitas.workbench.worksheet import format_of, write_worksheet

        kind = format_of(out, fmt) if out is not None else (fmt or "csv")
        if out is None and kind != "csv":
            raise InputError("--format xlsx needs --out FILE")
        with root.open_for_reading() as store:
            data = write_worksheet(load_fmea(store, fmea_id), format=kind)
        if out is None:
            sys.stdout.write(data.decode("utf-8-sig"))
        else:
            out.write_bytes(data)
            root.err.print(f"{out}: FMEA {fmea_id} worksheet", highlight=False)

    root._run(action)


@fmea_app.command("show")
def fmea_show(fmea_id: Annotated[str, typer.Argument(help="FMEA id.")], json_out: JsonOpt = False) -> None:
    """One FMEA: its failure chains with S/O/D, AP and actions."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.fmea import load_fmea

        with root.open_for_reading() as store:
            fmea = load_fmea(store, fmea_id)
        if json_out:
            root._print_json(fmea)
            return
        table = Table(title=f"{fmea.kind} {fmea.id}: {fmea.title}" + (f" ({fmea.item})" if fmea.item else ""))
        for header in (
            "Row",
            "Step",
            "Failure effect",
            "S",
            "Failure mode",
            "Failure cause",
            "O",
            "D",
            "AP",
            "Actions",
        ):
            table.add_column(header, overflow="fold")
        for c in fmea.chains:
            table.add_row(
                c.row,
                c.step_code or c.process_step,
                c.failure_effect,
                str(c.severity),
                c.failure_mode,
                c.failure_cause,
                str(c.occurrence),
                str(c.detection),
                c.action_priority,
                "; ".join(f"{a.description} ({a.responsible}, {a.status})" for a in c.actions),
            )
        root.out.print(table)

    root._run(action)


@fmea_app.command("list")
def fmea_list(
    item: Annotated[str | None, typer.Option("--item", help="Product model or part number.")] = None,
    step: Annotated[str | None, typer.Option("--step", help="Process step code.")] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="Failure mode code (e.g. a complaint's).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """FMEAs, by item, process step or failure mode."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.fmea import list_fmeas

        with root.open_for_reading() as store:
            rows = list_fmeas(store, item=item, step=step, failure_mode=mode)
        if json_out:
            root._print_json(rows)
            return
        for r in rows:
            root.out.print(
                f"{r.id}  {r.kind}  {r.title}  item {r.item or '-'}  steps {' '.join(r.steps) or '-'}  "
                f"{r.chains} chains (H {r.high}, M {r.medium}, L {r.low})",
                highlight=False,
            )

    root._run(action)


@fmea_app.command("control-plan")
def fmea_control_plan(
    process: Annotated[str, typer.Argument(help="Process step code (e.g. CELL-S30).")],
    json_out: JsonOpt = False,
    xlsx: Annotated[bool, typer.Option("--xlsx", help="Write an XLSX workbook.")] = False,
    pdf: Annotated[bool, typer.Option("--pdf", help="Write a PDF (A3 landscape).")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="File for --xlsx/--pdf (default: control-plan-PROCESS.xlsx/.pdf).")
    ] = None,
) -> None:
    """The control plan of a process step: every control plan item of the FMEAs about it."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.control_plan import render_control_plan, step_info
        from qualitas.workbench.fmea import control_plan_items

        if json_out + xlsx + pdf > 1:
            raise InputError("give one of --json, --xlsx, --pdf")
        with root.open_for_reading() as store:
            info = step_info(store, process)
            items = control_plan_items(store, step=process)
        if not items:
            raise ValidationError(
                f"process step {process} has no control plan items yet (create them with `qualitas fmea new`)",
                field="process",
            )
        title = f"Control plan — {info.code} {info.name}" + (f" ({info.item})" if info.item else "")
        if json_out:
            sys.stdout.write(render_control_plan(items, step=process, format="json", title=title).decode())
            return
        if xlsx or pdf:
            kind = "xlsx" if xlsx else "pdf"
            target = out or Path(f"control-plan-{process}.{kind}")
            target.write_bytes(render_control_plan(items, step=process, format=kind, title=title))
            root.err.print(f"{target}: control plan of {process}, {len(items)} items", highlight=False)
            sys.stdout.write(f"{target}\n")
            return
        table = Table(title=title)
        for header in (
            "No.",
            "Characteristic",
            "Specification",
            "Evaluation",
            "Sample",
            "Frequency",
            "Control method",
            "Reaction plan",
        ):
            table.add_column(header, overflow="fold")
        for i in items:
            table.add_row(
                i.key,
                i.characteristic,
                i.specification,
                i.evaluation_method,
                i.sample_size,
                i.sample_frequency,
                i.control_method,
                i.reaction_plan,
            )
        root.out.print(table)

    root._run(action)


@fmea_app.command("ap")
def fmea_ap(
    severity: Annotated[int, typer.Argument(help="S, 1-10.")],
    occurrence: Annotated[int, typer.Argument(help="O, 1-10.")],
    detection: Annotated[int, typer.Argument(help="D, 1-10.")],
    kind: Annotated[str, typer.Option("--kind", help="PFMEA or DFMEA.")] = "PFMEA",
    json_out: JsonOpt = False,
) -> None:
    """Action Priority for S, O and D from the handbook's table (and where the table comes from)."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.ap import action_priority, ap_tables

        ap = action_priority(severity, occurrence, detection, kind=kind)  # type: ignore[arg-type]
        table = ap_tables()[kind]
        if json_out:
            root._print_json(
                {"actionPriority": ap, "table": table.id, "source": table.source, "verified": table.verified}
            )
            return
        root.out.print(f"{ap}  ({table.title}; {table.source['title']}, {table.source['edition']})", highlight=False)

    root._run(action)


# ---------------------------------------------------------------- capa


def _parse_at(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--at: not a date-time (YYYY-MM-DDTHH:MM:SS+00:00): {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


AtOpt = Annotated[str | None, typer.Option("--at", help="When (ISO 8601; default now).")]


def _change(capa_id: str, change: str, reason: str | None, edit: Any) -> Any:
    from qualitas.workbench.capa import load_capa, save_capa

    root = _root()
    agent, settings = _who()
    with root._open() as store:
        capa = edit(load_capa(store, capa_id), agent)
        save_capa(store, capa, agent=agent, change=change, audit=_trail(settings), why=reason)
    return capa


def _print_capa(capa: Any, json_out: bool) -> None:
    from qualitas.workbench.capa import STEP_TITLES

    root = _root()

    def say(text: str) -> None:
        root.out.print(text, highlight=False, markup=False)

    if json_out:
        root._print_json({"capa": capa, "nextSteps": list(capa.next_steps)})
        return
    say(f"{capa.id} {capa.method} ({capa.status}): {capa.title}")
    say(
        f"  opened by {capa.opened_by} at {capa.opened_at.isoformat()}; complaints "
        f"{', '.join(capa.complaints) or '-'}; failure modes {', '.join(capa.failure_modes) or '-'}"
    )
    for c in capa.candidates:
        say(f"  D4 candidate {c.key} [{c.kind}]{' (confirmed)' if c.confirmed else ''}: {c.message}")
    for s in capa.steps:
        verified = f"; verified by {s.verified_by} at {s.verified_at.isoformat()}" if s.verified_at else ""
        say(f"  {s.key} {STEP_TITLES.get(s.key, '')}: {s.text} ({s.by}, {s.at.isoformat()}{verified})")
        for e in s.evidence:
            say(f"      evidence: {e}")
    if capa.next_steps:
        say(f"  next: {', '.join(capa.next_steps)}")


@capa_app.command("new")
def capa_new(
    complaint: Annotated[
        str | None, typer.Option("--complaint", help="Complaint id: the CAPA starts from its trace.")
    ] = None,
    method: Annotated[str, typer.Option("--method", help="8D, 5-Why or PDCA.")] = "8D",
    title: Annotated[str | None, typer.Option("--title")] = None,
    capa_id: Annotated[str | None, typer.Option("--id", help="Default: the next CAPA-YYYY-NNN.")] = None,
    mode: Annotated[list[str] | None, typer.Option("--mode", help="Failure mode code (without --complaint).")] = None,
    run: Annotated[list[str] | None, typer.Option("--run", help="Production run id (without --complaint).")] = None,
    lot: Annotated[list[str] | None, typer.Option("--lot", help="Lot number (without --complaint).")] = None,
    at: AtOpt = None,
    reason: ReasonOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Open a CAPA; from a complaint, its reverse-trace findings become the D4 candidates."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.capa import capa_from_complaint, new_capa, next_capa_id, save_capa

        agent, settings = _who()
        when = _parse_at(at)
        with root._open() as store:
            if complaint:
                capa = capa_from_complaint(
                    store, complaint, by=agent, method=method, title=title, capa_id=capa_id, at=when
                )
            else:
                if not title:
                    raise InputError("a CAPA without --complaint needs --title")
                year = (when or dt.datetime.now(dt.UTC)).year
                capa = new_capa(
                    capa_id or next_capa_id(store, year),
                    method=method,
                    title=title,
                    by=agent,
                    at=when,
                    failure_modes=mode or (),
                    runs=run or (),
                    lots=lot or (),
                )
            save_capa(store, capa, agent=agent, change="open", audit=_trail(settings), why=reason, expect_new=True)
        _print_capa(capa, json_out)

    root._run(action)


@capa_app.command("step")
def capa_step(
    capa_id: Annotated[str, typer.Argument()],
    step: Annotated[
        str, typer.Argument(help="D0-D8, problem/why1-why5/root_cause/countermeasure, or plan/do/check/act.")
    ],
    text: Annotated[str, typer.Option("--text", help="What was done or found.")],
    evidence: Annotated[
        list[str] | None, typer.Option("--evidence", help="Evidence (a document, file or link); repeat for more.")
    ] = None,
    confirm: Annotated[
        list[str] | None, typer.Option("--confirm", help="D4: a candidate confirmed as root cause.")
    ] = None,
    cause: Annotated[list[str] | None, typer.Option("--cause", help="D4: a root cause of the team's own.")] = None,
    at: AtOpt = None,
    reason: ReasonOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record a step (who: you; when: now or --at; evidence), if the closure rules allow it."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.capa import record_step

        capa = _change(
            capa_id,
            "step",
            reason,
            lambda c, who: record_step(
                c,
                step,
                text=text,
                by=who,
                at=_parse_at(at),
                evidence=evidence or (),
                confirm=confirm or (),
                causes=cause or (),
            ),
        )
        _print_capa(capa, json_out)

    root._run(action)


@capa_app.command("verify")
def capa_verify(
    capa_id: Annotated[str, typer.Argument()],
    step: Annotated[str, typer.Argument(help="The step to verify (D6 for an 8D).")],
    evidence: Annotated[list[str] | None, typer.Option("--evidence", help="Evidence of the verification.")] = None,
    at: AtOpt = None,
    reason: ReasonOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Verify a recorded step (you are the verifier)."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.capa import verify_step

        capa = _change(
            capa_id,
            "verify",
            reason,
            lambda c, who: verify_step(c, step, by=who, at=_parse_at(at), evidence=evidence or ()),
        )
        _print_capa(capa, json_out)

    root._run(action)


@capa_app.command("close")
def capa_close(
    capa_id: Annotated[str, typer.Argument()], at: AtOpt = None, reason: ReasonOpt = None, json_out: JsonOpt = False
) -> None:
    """Close a CAPA if its closure rules hold (8D: D0-D8 recorded, D6 verified)."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.capa import close_capa

        capa = _change(capa_id, "close", reason, lambda c, who: close_capa(c, by=who, at=_parse_at(at)))
        _print_capa(capa, json_out)

    root._run(action)


@capa_app.command("show")
def capa_show(capa_id: Annotated[str, typer.Argument()], json_out: JsonOpt = False) -> None:
    """One CAPA with its steps, D4 candidates and what can be done next."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.capa import load_capa

        with root.open_for_reading() as store:
            capa = load_capa(store, capa_id)
        _print_capa(capa, json_out)

    root._run(action)


@capa_app.command("list")
def capa_list(
    complaint: Annotated[str | None, typer.Option("--complaint")] = None,
    step: Annotated[str | None, typer.Option("--step", help="Process step code.")] = None,
    product: Annotated[str | None, typer.Option("--product", help="Product model number.")] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="Failure mode code.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """CAPAs, by complaint, process step, product or failure mode."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.capa import list_capas

        with root.open_for_reading() as store:
            rows = list_capas(store, complaint=complaint, step=step, product=product, failure_mode=mode)
        if json_out:
            root._print_json(rows)
            return
        for r in rows:
            root.out.print(f"{r.id}  {r.method}  {r.status}  {r.title}", highlight=False)

    root._run(action)


@capa_app.command("effectiveness")
def capa_effectiveness(
    capa_id: Annotated[str, typer.Argument()],
    window_days: Annotated[int, typer.Option("--window-days", min=1, help="Days before and after.")] = 90,
    json_out: JsonOpt = False,
) -> None:
    """Complaints of the CAPA's failure modes before and after its corrective action was verified."""
    root = _root()

    def action() -> None:
        from qualitas.workbench.capa import effectiveness, load_capa

        with root.open_for_reading() as store:
            result = effectiveness(store, load_capa(store, capa_id), window_days=window_days)
        if json_out:
            root._print_json(result)
            return
        verdict = {True: "effective", False: "not effective", None: "not judged yet"}[result.effective]
        root.out.print(
            f"{capa_id}: {verdict}; {len(result.before)} complaint(s) in the {window_days} days before "
            f"{result.since or '-'}, {len(result.after)} after. {result.note}".strip(),
            highlight=False,
        )

    root._run(action)


def register(app: typer.Typer) -> None:
    app.add_typer(fmea_app, name="fmea")
    app.add_typer(capa_app, name="capa")
