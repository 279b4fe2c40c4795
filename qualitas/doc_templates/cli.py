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


def pack(
    product: Annotated[str, typer.Argument(help="Model number (or IRI) of the product.")],
    market: Annotated[str, typer.Option("--market", help="Target market: EU, US, CN or VN.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the pack ZIP into.")],
    lang: Annotated[str | None, typer.Option("--lang", help="Languages, comma-separated (EU: en,de,fr).")] = None,
    date: Annotated[str | None, typer.Option("--date", help="Date to judge on (YYYY-MM-DD; default today).")] = None,
    final: Annotated[bool, typer.Option("--final", help="Issue final documents (needs an override if there are "
                                        "open findings).")] = False,
    override_by: Annotated[str | None, typer.Option("--override-by", help="Who decides the override.")] = None,
    override_reason: Annotated[str | None, typer.Option("--override-reason", help="Why.")] = None,
) -> None:
    """Market document pack (DOCX + PDF documents, gap report, SHACL evidence, manifest) as a ZIP."""
    from qualitas import cli as root
    from qualitas.doc_templates.pack import build_pack
    from qualitas.store import open_store

    try:
        try:
            on = dt.date.fromisoformat(date) if date else None
        except ValueError as exc:
            raise InputError(f"--date: not a date (YYYY-MM-DD): {date!r}") from exc
        if (override_by or override_reason) and not final:
            raise InputError("--override-by/--override-reason go with --final")
        languages = [x.strip() for x in lang.split(",") if x.strip()] if lang else None
        settings = root._settings()
        store = open_store(settings.store, read_only=not final)
        try:
            from qualitas.audit import open_audit_log, record_pack_generated, state_digest

            before = state_digest(store)
            result = build_pack(store, product, market, out_dir=out, languages=languages, on=on, final=final,
                                override_by=override_by, override_reason=override_reason)
            record_pack_generated(
                open_audit_log(settings),
                result.path,
                actor=root._agent(settings),
                before=before,
                after=state_digest(store),
                why=override_reason,
            )
        finally:
            store.close()
    except QualitasError as exc:
        if root._state.debug:
            raise
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(mapping_for(exc).exit_code) from None
    findings = result.manifest["findings"]["open"]
    typer.echo(f"{result.path}: {result.status.upper()} pack {result.manifest['product']['model']} / "
               f"{result.manifest['market']}, {len(result.files)} files, {findings} open findings", err=True)
    sys.stdout.write(str(result.path) + "\n")


def verify_pack_command(
    path: Annotated[Path, typer.Argument(help="The pack ZIP to verify.")],
) -> None:
    """Verify a pack: file hashes, manifest digest, and a pySHACL re-run against the enclosed report."""
    from qualitas.doc_templates.verify import PackVerificationError, verify_pack

    result = verify_pack(path)
    for check in result.checks:
        if not check.ok or check.name in ("manifest digest", "shacl"):
            typer.echo(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}", err=True)
    if not result.ok:
        exc = PackVerificationError(f"{path}: pack does not verify ({len(result.failures)} failed checks)")
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(mapping_for(exc).exit_code)
    typer.echo(f"{path}: pack {result.pack_id} verifies ({len(result.checks)} checks)")


def register(app: typer.Typer) -> None:
    app.command("gap")(gap)
    app.command("pack")(pack)
    app.command("verify-pack")(verify_pack_command)
