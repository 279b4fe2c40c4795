"""``qualitas edge ...``: run the edge loop from a YAML file, inspect images.

Mounted by the root CLI through its ``PLUGINS`` list (``register(app)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from qualitas.errors import QualitasError, mapping_for

edge_app = typer.Typer(
    help="Edge: OPC UA, Modbus and vision in; SPC, rules and safe write-back out.", no_args_is_help=True
)
err = Console(stderr=True)
out = Console()


def register(app: typer.Typer) -> None:
    from qualitas.edge_adapters.vision.cli import vision_app

    edge_app.add_typer(vision_app, name="vision")
    app.add_typer(edge_app, name="edge")


def _fail(exc: QualitasError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc.message}", highlight=False, soft_wrap=True)
    return typer.Exit(mapping_for(exc).exit_code)


@edge_app.command("run")
def run(
    config_file: Annotated[Path, typer.Argument(help="Edge configuration (YAML).", metavar="CONFIG.yaml")],
    duration: Annotated[float | None, typer.Option("--duration", help="Stop after this many seconds.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide and record actions; write nothing.")] = False,
    store: Annotated[
        Path | None, typer.Option("--store", help="Store directory (default: config, then settings).")
    ] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not record to the graph.")] = False,
    chat: Annotated[
        Path | None,
        typer.Option("--chat", help="Send alarms to these chat robots (YAML; default: QUALITAS_CHAT_CONFIG)."),
    ] = None,
) -> None:
    """Run the edge loop with a live status line until Ctrl-C or --duration.

    With a chat configuration, every alarm goes to its robots from this process, a vision
    alarm with the frame it fired on."""
    from qualitas.audit import open_audit_log
    from qualitas.edge_adapters.config import load_config
    from qualitas.edge_adapters.runner import EdgeRunner
    from qualitas.settings import Settings
    from qualitas.store import open_store

    # asyncua warns about routine negotiation (e.g. a shorter session timeout); the status line says what matters
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    try:
        config = load_config(config_file)
        if dry_run:
            config = config.model_copy(update={"dry_run": True})
        settings = Settings()
        chat_config = None
        if chat is not None or settings.chat_config is not None:
            from qualitas.chat import load_chat_config

            chat_config = load_chat_config(chat or settings.chat_config)  # type: ignore[arg-type]
        graph = None if no_store else open_store(store or config.store or settings.store)
        # device writes go to the audit trail beside the store they are recorded in
        trail = (
            None
            if no_store
            else open_audit_log(settings.model_copy(update={"store": store or config.store or settings.store}))
        )
    except QualitasError as exc:
        raise _fail(exc) from None

    bridges: list[Any] = []

    async def main() -> EdgeRunner:
        runner = EdgeRunner(config, store=graph, audit=trail)
        bridge = None
        if chat_config is not None and chat_config.channels:
            from qualitas.chat import ChatBridge, ChatSender
            from qualitas.chat._app import place_of

            bridge = ChatBridge(chat_config, ChatSender(chat_config.channels), locations=place_of(chat_config))
            bridge.start(runner.hub.subscribe())
            bridges.append(bridge)
            await asyncio.sleep(0)  # the bridge subscribes before the first alarm
        try:
            await _run(runner)
        finally:
            if bridge is not None:
                await bridge.drain(lambda: runner.hub.published)
                await bridge.aclose()
        return runner

    async def _run(runner: EdgeRunner) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        if err.is_terminal:
            with Live(Text("starting ..."), console=err, refresh_per_second=4, transient=False) as live:
                await runner.run(duration=duration, stop=stop, on_status=lambda s: live.update(Text(s.line())))
        else:
            last = [0.0]

            def plain(status: object) -> None:
                if status.uptime_s - last[0] >= 5:  # type: ignore[attr-defined]
                    last[0] = status.uptime_s  # type: ignore[attr-defined]
                    sys.stderr.write(status.line() + "\n")  # type: ignore[attr-defined]

            await runner.run(duration=duration, stop=stop, on_status=plain)

    try:
        runner = asyncio.run(main())
    except QualitasError as exc:
        raise _fail(exc) from None
    finally:
        if graph is not None:
            graph.close()
    s = runner.status()
    out.print(
        f"run {config.run.id}: {s.samples} samples, {s.alarms} alarms, {s.actions} actions, {s.writes} writes, "
        f"{s.suppressed_fraction:.1%} of raw hits suppressed; raw series in {runner.series.path}",
        highlight=False,
    )
    for bridge in bridges:
        sent = len(bridge.delivered)
        errors = bridge.errors
        out.print(f"chat: {sent} messages delivered" + (f", {len(errors)} failed: {errors[0]}" if errors else ""))


@edge_app.command("inspect")
def inspect(
    source: Annotated[Path, typer.Argument(help="An image file or a folder of images.")],
    model: Annotated[Path | None, typer.Option("--model", help="ONNX model (default: the bundled one).")] = None,
) -> None:
    """Classify images with the vision model: one line per frame."""
    from qualitas.edge_adapters.vision.inference import VisionInspector

    try:
        inspector = VisionInspector(model)
        for verdict in inspector.inspect_many(source):
            out.print(
                f"{verdict.source}\t{verdict.label}\tvoid={verdict.void_probability:.3f}\t"
                f"burr={verdict.burr_probability:.3f}\t{verdict.elapsed_ms:.2f} ms",
                highlight=False,
            )
    except QualitasError as exc:
        raise _fail(exc) from None
