"""``qualitas gap PRODUCT --market M [--date D] [--format F] [--out FILE]``.

Mounted by ``qualitas/cli.py`` through its ``PLUGINS`` list (``register(app)``).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from qualitas.errors import InputError, QualitasError, mapping_for


def gap(
    product: Annotated[str, typer.Argument(help="Model number (or IRI) of the product.")],
    market: Annotated[str, typer.Option("--market", help="Target market: EU, US, CN, VN, ...")],
    date: Annotated[str | None, typer.Option("--date", help="Date to judge on (YYYY-MM-DD; default today).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json, ttl, jsonld, html or pdf.")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="Write to FILE instead of standard output.")] = None,
) -> None:
    """Compliance gap report of a product for a market (SHACL on the product's focus subgraph)."""
    from qualitas import cli as root
    from qualitas.doc_templates.gap import FORMATS, render_gap
    from qualitas.reasoning.gap import gap_report
    from qualitas.store import open_store

    try:
        if fmt not in FORMATS:
            raise InputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", format=fmt)
        if fmt == "pdf" and out is None:
            raise InputError("--format pdf needs --out FILE")
        try:
            on = dt.date.fromisoformat(date) if date else None
        except ValueError as exc:
            raise InputError(f"--date: not a date (YYYY-MM-DD): {date!r}") from exc
        store = open_store(root._settings().store, read_only=True)
        try:
            report = gap_report(store, product, market, on=on)
        finally:
            store.close()
        data = render_gap(report, fmt)
    except QualitasError as exc:
        if root._state.debug:
            raise
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(mapping_for(exc).exit_code) from None
    if out is None:
        sys.stdout.write(data.decode())
    else:
        out.write_bytes(data)
        verdict = "conforms" if report.conforms else f"{len(report.findings)} findings"
        typer.echo(f"{out}: gap report {report.product.model} / {report.market}: {verdict}", err=True)


def register(app: typer.Typer) -> None:
    app.command("gap")(gap)
