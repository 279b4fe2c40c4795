"""The ``qualitas`` command.

Every query command takes ``--json`` for scripts (keys in camelCase, the same shape
as the GraphQL API). Errors print one line and exit with the code from
``qualitas.errors.ERROR_TABLE``; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import hashlib
import importlib
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from qualitas.errors import QualitasError, mapping_for
from qualitas.settings import Settings
from qualitas.store import GraphStore, open_store

app = typer.Typer(
    help="Qualitas: knowledge-graph compliance and trace server.", no_args_is_help=True, pretty_exceptions_enable=False
)
demo_app = typer.Typer(help="The bundled demo data set.", no_args_is_help=True)
trace_app = typer.Typer(help="Reverse trace (complaint) and forward trace (lot).", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(trace_app, name="trace")

out = Console()
err = Console(stderr=True)


@dataclasses.dataclass
class _State:
    store_path: Path | None = None
    debug: bool = False


_state = _State()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.callback()
def _main(
    store: Annotated[
        Path | None, typer.Option("--store", help="Store directory (default: $QUALITAS_STORE or ./.qualitas/store).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    _state.store_path = store
    _state.debug = debug


def _settings() -> Settings:
    settings = Settings()
    if _state.store_path is not None:
        settings = settings.model_copy(update={"store": _state.store_path})
    return settings


def _agent(settings: Settings) -> str:
    return settings.agent or getpass.getuser()


@contextmanager
def _open(*, read_only: bool = False) -> Iterator[GraphStore]:
    store = open_store(_settings().store, read_only=read_only)
    try:
        yield store
    finally:
        store.close()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def to_jsonable(value: Any) -> Any:
    """Dataclasses as camelCase dicts; dates ISO; decimals as strings (like GraphQL)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_camel(f.name): to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2) + "\n")


def _run(action: Callable[[], None]) -> None:
    try:
        action()
    except QualitasError as exc:
        if _state.debug:
            raise
        err.print(f"[red]error:[/red] {exc.message}", highlight=False, markup=True, soft_wrap=True)
        raise typer.Exit(mapping_for(exc).exit_code) from None


# ---------------------------------------------------------------- store set-up


def _ensure_ontology(store: GraphStore, agent: str) -> None:
    from qualitas.ontology import ONTOLOGY_FILE

    store.load_file(ONTOLOGY_FILE, format="turtle", source="qualitas-ontology.ttl", agent=agent)


@app.command()
def init() -> None:
    """Create the store (if missing) and load the ontology into it."""

    def action() -> None:
        settings = _settings()
        with _open() as store:
            _ensure_ontology(store, _agent(settings))
            out.print(f"store ready at {settings.store} ({store.triple_count()} triples)")

    _run(action)


@app.command()
def load(
    files: Annotated[list[Path], typer.Argument(help="Files to load, each as its own batch.")],
    format: Annotated[str | None, typer.Option("--format", help="Format name when the suffix does not tell.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report; write nothing.")] = False,
    columns: Annotated[
        Path | None, typer.Option("--columns", help="YAML column mapping (field: [header, ...]) for CSV/XLSX exports.")
    ] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="CSV encoding (default: detected).")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX worksheet.")] = None,
    revision: Annotated[str | None, typer.Option("--revision", help="BOM revision where rows give none.")] = None,
    root: Annotated[str | None, typer.Option("--root", help="Top assembly when a BOM lists only components.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Load files: RDF (Turtle, N-Triples, JSON-LD, RDF/XML), BOM CSV/XLSX, IPC-1752A XML,
    GS1 EPCIS 2.0 JSON-LD, MES runs and process specs, test reports, calibration
    certificates and complaints (CSV/JSON). Each file is one batch; run `--format`
    names with `qualitas formats`."""
    from qualitas import ingest

    def action() -> None:
        settings = _settings()
        with (
            _open() as store,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
                disable=json_out or not err.is_terminal,
            ) as bar,
        ):

            def progress(path: Path) -> Callable[[int, int], None]:
                if json_out or not err.is_terminal:
                    return _plain_progress(path)
                task = bar.add_task(f"loading {path.name}", total=path.stat().st_size if path.exists() else None)
                return lambda done, total: bar.update(task, completed=done, total=total)

            options = {
                "columns": ingest.load_mapping(columns) if columns else None,
                "encoding": encoding,
                "sheet": sheet,
                "revision": revision,
                "root": root,
            }
            kwargs: dict[str, Any] = {
                "format": format,
                "agent": _agent(settings),
                "progress": progress,
                "options": options,
            }
            if dry_run:
                kwargs["dry_run"] = True
            from qualitas.audit import audited_load, open_audit_log

            trail = None if dry_run else open_audit_log(settings)
            with audited_load(trail, store, actor=_agent(settings), paths=files, format=format) as loaded:
                results = loaded.results = ingest.load_paths(store, files, **kwargs)
        if json_out:
            _print_json(results)
            return
        counts: dict[str, int] = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
            reason = f": {r.message}" if getattr(r, "message", None) else ""
            out.print(f"{r.source}: {r.status} ({r.triples} triples){reason}", highlight=False)
        out.print("summary: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())), highlight=False)

    _run(action)


_PLAIN_PROGRESS_MIN_BYTES = 4 << 20


def _plain_progress(path: Path) -> Callable[[int, int], None]:
    """Progress for logs (no terminal): one line on stderr per 10 % read, for files
    large enough to take a while."""
    last = [-1]

    def report(done: int, total: int) -> None:
        if total < _PLAIN_PROGRESS_MIN_BYTES:
            return
        tenth = min(10, done * 10 // total)
        if tenth > last[0]:
            last[0] = tenth
            sys.stderr.write(f"loading {path.name}: {tenth * 10}%\n")
            sys.stderr.flush()

    return report


@app.command()
def formats() -> None:
    """List the formats `load --format` accepts."""
    from qualitas.ingest import FORMATS

    table = Table("format", "what")
    for name, fmt in sorted(FORMATS.items()):
        table.add_row(name, fmt.description)
    out.print(table)


# ---------------------------------------------------------------- demo


def _demo_bytes() -> bytes:
    from qualitas.demo import demo_graph

    lines = sorted(demo_graph().serialize(format="nt").splitlines())
    return ("\n".join(line for line in lines if line.strip()) + "\n").encode()


@demo_app.command("load")
def demo_load(json_out: JsonOpt = False) -> None:
    """Load the bundled demo data set (once; a second run changes nothing)."""
    from qualitas.demo import demo_graph

    def action() -> None:
        from qualitas.audit import audited_load, open_audit_log

        settings = _settings()
        with _open() as store, audited_load(open_audit_log(settings), store, actor=_agent(settings)) as loaded:
            _ensure_ontology(store, _agent(settings))
            sha = hashlib.sha256(_demo_bytes()).hexdigest()
            result = store.load_triples(
                demo_graph(), source="qualitas-demo", sha256=sha, agent=_agent(settings), format="generated"
            )
            loaded.results = [result]
        if json_out:
            _print_json(result)
        else:
            out.print(f"demo data: {result.status} ({result.triples} triples) in {settings.store}", highlight=False)

    _run(action)


@demo_app.command("key")
def demo_key(
    user: Annotated[str, typer.Option("--user", help="The demo user (created with role admin if missing).")] = "demo",
) -> None:
    """An API key for trying the server (``make run`` calls this): the demo user's earlier
    demo keys are revoked, a new one is printed once."""

    def action() -> None:
        from qualitas.auth import AuthStore

        settings = _settings()
        users = AuthStore(settings.auth_db_path)
        try:
            if user not in {u.name for u in users.users()}:
                users.add_user(user, "admin")
            for key in users.keys(user=user):
                if key.label == "demo" and key.revoked_at is None:
                    users.revoke_key(key.key_id)
            issued = users.create_key(user, label="demo")
            role = users.user(user).role
        finally:
            users.close()
        err.print(
            f"API key for {user} ({role}); paste it into the page at http://{settings.host}:{settings.port}/ "
            f"or send 'Authorization: Bearer <key>':",
            highlight=False,
        )
        sys.stdout.write(issued.secret + "\n")

    _run(action)


@demo_app.command("generate")
def demo_generate(
    units: Annotated[int, typer.Option("--units", min=1, help="Number of finished serial units.")],
    out_file: Annotated[Path, typer.Option("--out", help="N-Triples file to write.")],
    seed: Annotated[int, typer.Option("--seed")] = 42,
) -> None:
    """Write a scaled data set (N-Triples) with the demo's shape, for benchmarks."""
    from qualitas.demo.scale import generate

    def action() -> None:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} units"),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("generating", total=units)
            stats = generate(
                units=units, out=out_file, seed=seed, progress=lambda done: bar.update(task, completed=done)
            )
        out.print(
            f"wrote {out_file}: {stats.triples} triples, {stats.units} units, {stats.lots} lots, "
            f"{stats.runs} runs, {stats.complaints} complaints",
            highlight=False,
        )

    _run(action)


# ---------------------------------------------------------------- queries


@app.command()
def products(json_out: JsonOpt = False) -> None:
    """List product models."""
    from qualitas.reasoning.products import list_products

    def action() -> None:
        with _open(read_only=True) as store:
            items = list_products(store, with_bom=json_out)  # the table shows no BOM lines
        if json_out:
            _print_json(items)
            return
        table = Table("model", "name", "categories", "features")
        for p in items:
            table.add_row(p.model_number, p.name or "", ", ".join(p.categories), ", ".join(p.features))
        out.print(table)

    _run(action)


@app.command()
def complaints(market: Annotated[str | None, typer.Option("--market")] = None, json_out: JsonOpt = False) -> None:
    """List complaints."""
    from qualitas.reasoning.products import list_complaints

    def action() -> None:
        with _open(read_only=True) as store:
            items = list_complaints(store, market=market)
        if json_out:
            _print_json(items)
            return
        table = Table("id", "received", "market", "serial", "product", "text")
        for c in items:
            text = next((t.text for t in c.texts if t.lang == "en"), c.texts[0].text if c.texts else "")
            table.add_row(c.complaint_id, str(c.received_on or ""), c.market or "", c.serial, c.product or "", text)
        out.print(table)

    _run(action)


@trace_app.command("complaint")
def trace_complaint(complaint_id: str, json_out: JsonOpt = False) -> None:
    """Reverse trace: complaint -> unit -> lots, suppliers, runs, equipment, calibration."""
    from qualitas.reasoning.trace import reverse_trace

    def action() -> None:
        with _open(read_only=True) as store:
            trace = reverse_trace(store, complaint_id)
        if json_out:
            _print_json(trace)
            return
        c = trace.complaint
        out.print(f"[bold]{c.complaint_id}[/bold] {c.received_on} {c.market or ''} unit {c.unit_serial}")
        for text in c.texts:
            out.print(f"  [{text.lang}] {text.text}", highlight=False)
        table = Table("run", "step", "start", "equipment", "calibrated", "param set used / in force")
        for r in trace.runs:
            eq = r.equipment
            table.add_row(
                r.run_id,
                r.step or "",
                r.started_at.isoformat(),
                eq.equipment_id if eq else "",
                ("yes" if eq.calibrated_at_run else "[red]NO[/red]") if eq else "",
                f"{r.parameter_set_used or '-'} / {r.parameter_set_in_force or '-'}",
            )
        out.print(table)
        lots = Table("lot", "part", "supplier", "test reports", "designed")
        for lot in trace.lots:
            lots.add_row(
                lot.lot_number,
                lot.part_number or "",
                lot.supplier.supplier_id if lot.supplier else "",
                ", ".join(f"{d.number}: {d.material}" for d in lot.test_reports),
                ", ".join(lot.designed_materials),
            )
        out.print(lots)
        if not trace.findings:
            out.print("[green]no findings[/green]")
        for f in trace.findings:
            out.print(f"[red]{f.severity.upper()}[/red] {f.kind}: {f.message_en}", highlight=False)

    _run(action)


@trace_app.command("lot")
def trace_lot(lot_id: str, json_out: JsonOpt = False) -> None:
    """Forward trace / recall scope: every lot and unit made from a lot."""
    from qualitas.reasoning.trace import recall_scope

    def action() -> None:
        with _open(read_only=True) as store:
            scope = recall_scope(store, lot_id)
        if json_out:
            _print_json(scope)
            return
        out.print(
            f"[bold]{scope.lot.lot_number}[/bold] ({scope.lot.part_number}): "
            f"{len(scope.lots)} lots, {len(scope.units)} units affected"
        )
        for lot in scope.lots:
            out.print(f"  lot {lot.lot_number} ({lot.part_number})", highlight=False)
        for unit in scope.units:
            cs = ", ".join(c.complaint_id for c in unit.complaints)
            out.print(f"  unit {unit.serial} ({unit.product})" + (f" complaints: {cs}" if cs else ""), highlight=False)

    _run(action)


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL)."""
    from qualitas.graphql.schema import sdl

    sys.stdout.write(sdl())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int | None, typer.Option("--port")] = None,
) -> None:
    """Serve the trace explorer at http://HOST:PORT/ and GraphQL (with GraphiQL in development) at /graphql."""
    import uvicorn

    from qualitas.graphql.app import create_app

    def action() -> None:
        settings = _settings()
        application = create_app(settings)
        base = f"http://{host or settings.host}:{port or settings.port}"
        ide = " (GraphiQL)" if settings.introspection_enabled else ""
        err.print(f"trace explorer at {base}/ · GraphQL{ide} at {base}/graphql", highlight=False)
        uvicorn.run(
            application,
            host=host or settings.host,
            port=port or settings.port,
            log_level="info",
            ws_max_size=settings.max_body_bytes,  # the body limit holds for WebSocket messages too
            timeout_keep_alive=5,
        )

    _run(action)


#: Rooms that add commands of their own: each module has ``register(app)``.
PLUGINS = (
    "qualitas.regulations.cli",
    "qualitas.doc_templates.cli",
    "qualitas.edge_adapters.cli",
    "qualitas.ingest.nlp.cli",
    "qualitas.auth.cli",
    "qualitas.audit.cli",
)


def _mount_optional() -> None:
    """Mount each room's commands; a room missing from this checkout is skipped,
    any other import error is a bug and surfaces."""
    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue
            raise
        module.register(app)


_mount_optional()


def main() -> None:
    app()


if __name__ == "__main__":
    # Run the imported module's app, not this __main__ copy: room commands read the
    # options (--store) from `qualitas.cli`'s state.
    from qualitas.cli import main as _module_main

    _module_main()
