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
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from qualitas.errors import ConfigError, InputError, QualitasError, StoreBusyError, mapping_for
from qualitas.settings import Settings, store_location
from qualitas.store import GraphStore, LoadResult, open_store

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
    store_path: str | None = None
    debug: bool = False


_state = _State()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.callback()
def _main(
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Store directory, or a remote store's URL: http(s):// for SPARQL 1.1, bolt:// or neo4j(+s):// "
            "for Neo4j (default: $QUALITAS_STORE or ./.qualitas/store).",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    _state.store_path = store
    _state.debug = debug


def _settings() -> Settings:
    if _state.store_path is not None:
        # Built, not copied: the validators take a login out of the URL (user:password@).
        return Settings(store=store_location(_state.store_path))
    return Settings()


def _agent(settings: Settings) -> str:
    return settings.agent or getpass.getuser()


@contextmanager
def _open(*, read_only: bool = False) -> Iterator[GraphStore]:
    settings = _settings()
    with _open_at(settings.store, read_only=read_only, settings=settings) as store:
        yield store


@contextmanager
def _open_at(path: Path | str, *, read_only: bool = False, settings: Settings | None = None) -> Iterator[GraphStore]:
    store = open_store(path, read_only=read_only, settings=settings)
    try:
        yield store
    finally:
        store.close()


def open_for_reading() -> AbstractContextManager[GraphStore]:
    """The store named by this invocation's ``--store`` (else the settings), opened
    read-only, for the sub-commands defined in other modules (``regulations upcoming``,
    ``impact``). The option is read from the running command's root context, not from
    module state, so a sub-application invoked on its own never sees an earlier
    invocation's store."""
    import click

    ctx = click.get_current_context(silent=True)
    store = ctx.find_root().params.get("store") if ctx is not None else None
    settings = Settings(store=store_location(store)) if store is not None else Settings()
    return _open_at(settings.store, read_only=True, settings=settings)


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


def _ensure_ontology(store: GraphStore, agent: str) -> LoadResult:
    from qualitas.ontology import ONTOLOGY_FILE

    return store.load_file(ONTOLOGY_FILE, format="turtle", source="qualitas-ontology.ttl", agent=agent)


@app.command()
def init() -> None:
    """Create the store (if missing) and load the ontology into it."""

    def action() -> None:
        from qualitas.audit import audited_load, open_audit_log

        settings = _settings()
        with _open() as store:
            trail = open_audit_log(settings)
            with audited_load(trail, store, actor=_agent(settings), source="qualitas-ontology.ttl") as loaded:
                loaded.results = [_ensure_ontology(store, _agent(settings))]
            out.print(f"store ready at {settings.store} ({store.triple_count()} triples)")

    _run(action)


@app.command()
def load(
    files: Annotated[list[Path], typer.Argument(help="Files to load, each as its own batch.")],
    format: Annotated[str | None, typer.Option("--format", help="Format name when the suffix does not tell.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report; write nothing.")] = False,
    source: Annotated[
        str | None,
        typer.Option("--source", help="Name the batch's source (one file); default: the file's absolute path."),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a source already loaded with other content.")
    ] = False,
    columns: Annotated[
        Path | None, typer.Option("--columns", help="YAML column mapping (field: [header, ...]) for CSV/XLSX exports.")
    ] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="CSV encoding (default: detected).")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX worksheet.")] = None,
    revision: Annotated[str | None, typer.Option("--revision", help="BOM revision where rows give none.")] = None,
    root: Annotated[str | None, typer.Option("--root", help="Top assembly when a BOM lists only components.")] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="QUALITAS_API_KEY",
            show_envvar=True,
            help="API key for handing the files to a running server that holds the store.",
        ),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (goes into the audit record).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Load files: RDF (Turtle, N-Triples, JSON-LD, RDF/XML), BOM CSV/XLSX, IPC-1752A XML,
    GS1 EPCIS 2.0 JSON-LD, MES runs and process specs, test reports, calibration
    certificates and complaints (CSV/JSON). Each file is one batch, known by its
    absolute path (or --source); changed content for a loaded source needs --replace;
    run `--format` names with `qualitas formats`. While `qualitas serve` holds the store,
    the files go to the server (loadFiles), authenticated with --api-key."""
    from qualitas import ingest

    def action() -> None:
        settings = _settings()
        if source is not None and len(files) != 1:
            raise InputError(f"--source names one file's batch; {len(files)} files were given")
        sources = [ingest.source_identity(path, source) for path in files]
        options = {
            "columns": ingest.load_mapping(columns) if columns else None,
            "encoding": encoding,
            "sheet": sheet,
            "revision": revision,
            "root": root,
        }
        try:
            store = open_store(settings.store, settings=settings)
        except StoreBusyError:
            _load_through_server(
                settings,
                files,
                sources=sources,
                options=options,
                format=format,
                dry_run=dry_run,
                replace=replace,
                api_key=api_key,
                reason=reason,
                json_out=json_out,
            )
            return
        results: list[Any] = []
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
                disable=json_out or not err.is_terminal,
            ) as bar:

                def progress(path: Path) -> Callable[[int, int], None]:
                    if json_out or not err.is_terminal:
                        return _plain_progress(path)
                    task = bar.add_task(f"loading {path.name}", total=path.stat().st_size if path.exists() else None)
                    return lambda done, total: bar.update(task, completed=done, total=total)

                from qualitas.audit import audited_load, open_audit_log

                trail = None if dry_run else open_audit_log(settings)
                # Each file is one unit: its batch and its audit record (kill -9 between
                # files leaves every committed file recorded, see qualitas.audit._pending).
                for path, name in zip(files, sources, strict=True):
                    with audited_load(
                        trail, store, actor=_agent(settings), source=name, paths=[path], format=format, why=reason
                    ) as loaded:
                        loaded.results = ingest.load_paths(
                            store,
                            [path],
                            format=format,
                            agent=_agent(settings),
                            dry_run=dry_run,
                            progress=progress,
                            options=options,
                            source=source,
                            replace=replace,
                        )
                    results.extend(loaded.results)
                    if not json_out:
                        _print_load(loaded.results[0])
        finally:
            store.close()
        if json_out:
            _print_json(results)
            return
        _print_summary(results)

    _run(action)


def _print_load(r: Any) -> None:
    """``SOURCE: added (N triples)``, ``SOURCE: replaced (N triples -> M triples)``, ..."""
    reason = f": {r.message}" if getattr(r, "message", None) else ""
    if r.status in ("replaced", "retracted"):
        counts = f"{r.previous_triples} triples -> {r.triples} triples"
    else:
        counts = f"{r.triples} triples"
    out.print(f"{r.source}: {r.status} ({counts}){reason}", highlight=False, soft_wrap=True)


def _print_summary(results: list[Any]) -> None:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    out.print("summary: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())), highlight=False)


def _load_through_server(
    settings: Settings,
    files: list[Path],
    *,
    sources: list[str],
    options: dict[str, object],
    format: str | None,
    dry_run: bool,
    replace: bool,
    api_key: str | None,
    reason: str | None,
    json_out: bool,
) -> None:
    """The store is held by a running server: hand the files to it (loadFiles) and show
    its progress, or say exactly what to do."""
    from qualitas.ingest.remote import load_via_server, ready, remote_error, running_server

    note = running_server(settings.store)
    if note is None:
        raise StoreBusyError(
            f"the store {settings.store} is held open for writing by another process; if it is `qualitas "
            "serve`, start it again with this version (it then announces itself and `qualitas load` hands "
            "it the files), otherwise wait for that process to finish"
        )
    given = sorted(k for k, v in options.items() if v is not None)
    if given:
        raise InputError(
            f"the store is held by the server at {note.url}, and --{', --'.join(given)} cannot be sent to it; "
            "stop the server and run this command again"
        )
    for path in files:
        if not path.is_file():
            raise InputError(f"{path}: no such file", file=str(path))
    reporters = [_plain_progress(path, min_bytes=0) for path in files]

    def progress(index: int, done: int, total: int | None) -> None:
        if not json_out and total:
            reporters[index](done, total)

    ready(note, api_key)
    if not json_out:
        err.print(f"the store is held by the server at {note.url}; handing it {len(files)} file(s)", highlight=False)
    results = load_via_server(
        note,
        files,
        api_key=api_key,
        sources=sources,
        format=format,
        dry_run=dry_run,
        replace=replace,
        reason=reason,
        progress=progress,
    )
    done = [r for r in results if r.status != "failed"]
    if json_out:
        _print_json(done)
    else:
        for r in done:
            _print_load(r)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise remote_error(failed[0].error_code, failed[0].message or "the load failed")
    if not json_out:
        _print_summary(done)


@app.command()
def retract(
    source: Annotated[str, typer.Argument(help="The source to remove: as loaded (absolute path or --source name).")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (goes into the audit record).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Remove a loaded source's batch (audited). A path is matched by its absolute form,
    so `qualitas retract plantA/bom.csv` works from where it was loaded."""

    def action() -> None:
        from qualitas.audit import audited_load, open_audit_log
        from qualitas.errors import NotFoundError

        settings = _settings()
        with _open() as store:
            name = source if store.batch(source) is not None else str(Path(source).resolve())
            if store.batch(name) is None:
                raise NotFoundError(f"no loaded source {source!r}; `qualitas batches` lists them", source=source)
            with audited_load(
                open_audit_log(settings), store, actor=_agent(settings), source=name, why=reason, action="retract"
            ) as done:
                done.results = [store.retract(name)]
        result = done.results[0]
        if json_out:
            _print_json(result)
        else:
            _print_load(result)

    _run(action)


@app.command()
def batches(json_out: JsonOpt = False) -> None:
    """List the loaded batches: source, format, triples, when and by whom."""

    def action() -> None:
        with _open(read_only=True) as store:
            items = store.batches()
        if json_out:
            _print_json(items)
            return
        table = Table("source", "format", "triples", "loaded", "by")
        for b in items:
            table.add_row(b.source, b.format, str(b.triples), b.loaded_at.isoformat(), b.agent)
        out.print(table)

    _run(action)


_PLAIN_PROGRESS_MIN_BYTES = 4 << 20


def _plain_progress(path: Path, *, min_bytes: int = _PLAIN_PROGRESS_MIN_BYTES) -> Callable[[int, int], None]:
    """Progress for logs (no terminal): one line on stderr per 10 % read, for files
    large enough to take a while."""
    last = [-1]

    def report(done: int, total: int) -> None:
        if total < min_bytes:
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
        trail, agent = open_audit_log(settings), _agent(settings)
        with _open() as store:
            # Two changes, each one unit with its own record: the ontology, then the demo data.
            with audited_load(trail, store, actor=agent, source="qualitas-ontology.ttl") as ontology:
                ontology.results = [_ensure_ontology(store, agent)]
            sha = hashlib.sha256(_demo_bytes()).hexdigest()
            with audited_load(trail, store, actor=agent, source="qualitas-demo") as loaded:
                result = store.load_triples(
                    demo_graph(), source="qualitas-demo", sha256=sha, agent=agent, format="generated"
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
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Processes answering reads: this one (the only writer) and WORKERS - 1 readers, each on a "
            "checkpoint of the committed store (see README, Serving).",
        ),
    ] = 1,
) -> None:
    """Serve the trace explorer at http://HOST:PORT/ and GraphQL (with GraphiQL in development) at /graphql."""
    import uvicorn

    from qualitas.graphql.app import create_app

    def action() -> None:
        from qualitas.audit import open_audit_log, reconcile
        from qualitas.ingest.remote import announce, withdraw

        settings = _settings()
        if workers > 1 and not isinstance(settings.store, Path):
            raise ConfigError(
                f"--workers {workers} needs the embedded store in a folder on disk; "
                f"{settings.store} is a remote store: serve it with one worker"
            )
        with _open() as store:  # changes a crash or a full disk left without their record get it now
            reconcile(open_audit_log(settings), store)
        application = create_app(settings, readers=workers - 1)
        base = f"http://{host or settings.host}:{port or settings.port}"
        ide = " (GraphiQL)" if settings.introspection_enabled else ""
        err.print(f"trace explorer at {base}/ · GraphQL{ide} at {base}/graphql", highlight=False)
        # `qualitas load` finds the server here while it holds the store, and hands it the files.
        # (A remote store is shared by design: no note, `load` writes to it directly.)
        if isinstance(settings.store, Path):
            announce(settings.store, url=base, ingest_dir=settings.ingest_dir)
        # uvicorn re-raises SIGTERM after its graceful shutdown; as SystemExit it lets the
        # note be withdrawn below (a note left by a killed server is ignored: its pid is gone).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            uvicorn.run(
                application,
                host=host or settings.host,
                port=port or settings.port,
                log_level="info",
                # the sans-I/O implementation: uvicorn's "auto" picks websockets.legacy, deprecated
                # since websockets 14 (and uvicorn may be held below the release that stops)
                ws="websockets-sansio",
                ws_max_size=settings.max_body_bytes,  # the body limit holds for WebSocket messages too
                timeout_keep_alive=5,
            )
        finally:
            if isinstance(settings.store, Path):
                withdraw(settings.store)

    _run(action)


#: Rooms that add commands of their own: each module has ``register(app)``.
PLUGINS = (
    "qualitas.regulations.cli",
    "qualitas.doc_templates.cli",
    "qualitas.edge_adapters.cli",
    "qualitas.ingest.nlp.cli",
    "qualitas.auth.cli",
    "qualitas.audit.cli",
    "qualitas.workbench.cli",
    "qualitas.chat.cli",
    "qualitas.workbench.charts_cli",
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
    from rich.markup import escape

    for arg in sys.argv[1:]:
        # bytes that are not UTF-8 arrive as lone surrogates (surrogateescape) and would
        # fail deep inside a query with a codec traceback
        if any("\ud800" <= ch <= "\udfff" for ch in arg):
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            error = InputError(f"the argument '{shown}' is not valid UTF-8 text")
            err.print("[red]error:[/red] " + escape(error.message), highlight=False, markup=True, soft_wrap=True)
            raise SystemExit(mapping_for(error).exit_code)
    app()


if __name__ == "__main__":
    # Run the imported module's app, not this __main__ copy: room commands read the
    # options (--store) from `qualitas.cli`'s state.
    from qualitas.cli import main as _module_main

    _module_main()
