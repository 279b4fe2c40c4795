"""``qualitas regulations list|show|validate`` and ``qualitas impact`` (typer).

Mount: ``app.add_typer(regulations.cli.app, name="regulations")`` and
``app.command("impact")(regulations.cli.impact)`` in ``qualitas/cli.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from qualitas.errors import QualitasError, mapping_for
from qualitas.regulations.catalog import Regulation, load_catalog, validate_catalog
from qualitas.regulations.impact import ImpactReport, catalog_impact

app = typer.Typer(help="The regulation catalog.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _record_json(r: Regulation) -> dict[str, Any]:
    d = _plain(r)
    d["title"] = {t.lang: t.text for t in r.titles}
    del d["titles"]
    return d


def _fail(exc: QualitasError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(mapping_for(exc).exit_code)


@app.command("list")
def list_(
    market: Annotated[str | None, typer.Option(help="Only records for this market.")] = None,
    status: Annotated[str | None, typer.Option(help="in_force, repealed, adopted_not_yet_applicable.")] = None,
    json_: JsonFlag = False,
) -> None:
    """List the catalog's records."""
    try:
        catalog = load_catalog(strict=False)
    except QualitasError as exc:
        raise _fail(exc) from exc
    rows = [r for r in catalog if (not market or market.upper() in r.markets or "GLOBAL" in r.markets)
            and (not status or r.status == status)]
    if json_:
        typer.echo(json.dumps({"version": catalog.version, "count": len(rows),
                               "regulations": [_record_json(r) for r in rows]}, ensure_ascii=False, indent=1))
        return
    for r in rows:
        typer.echo(f"{r.id:48} {r.identifier:32} {r.status:26} {','.join(r.markets)}")
    typer.echo(f"{len(rows)} records (catalog {catalog.version})")


@app.command("show")
def show(regulation_id: str, json_: JsonFlag = False) -> None:
    """Show one record."""
    try:
        r = load_catalog(strict=False).get(regulation_id)
    except QualitasError as exc:
        raise _fail(exc) from exc
    if json_:
        typer.echo(json.dumps(_record_json(r), ensure_ascii=False, indent=1))
        return
    typer.echo(f"{r.id}: {r.identifier} ({r.identifier_type}) {r.status}")
    for t in r.titles:
        typer.echo(f"  title[{t.lang}]: {t.text}")
    typer.echo(f"  markets: {', '.join(r.markets)}  type: {r.instrument_type}")
    typer.echo(f"  scope: categories {', '.join(r.categories)}; features {', '.join(r.features) or '-'}")
    typer.echo(f"  source: {r.source_url}  verified: {r.verified}")


@app.command("validate")
def validate(
    path: Annotated[Path | None, typer.Option(help="A catalog version folder (default: the package catalog).")] = None,
    json_: JsonFlag = False,
) -> None:
    """Validate the catalog; exit 65 when it has problems."""
    try:
        report = validate_catalog(path)
    except QualitasError as exc:
        raise _fail(exc) from exc
    if json_:
        typer.echo(json.dumps(_plain(report) | {"ok": report.ok}, ensure_ascii=False, indent=1))
    else:
        for issue in report.issues:
            typer.echo(str(issue))
        typer.echo(f"catalog {report.version}: {report.count} records, {len(report.issues)} problem(s)")
    if not report.ok:
        raise typer.Exit(65)


def _print_impact(rep: ImpactReport) -> None:
    d = rep.diff
    typer.echo(f"catalog {d.from_version} -> {d.to_version}: {len(d.added)} added, "
               f"{len(d.removed)} removed, {len(d.changed)} changed")
    for s in d.substances:
        typer.echo(f"  {s.regulation_id}: substance {s.kind} {s.name} ({', '.join(s.cas)})")
    for lim in d.limits:
        typer.echo(f"  {lim.regulation_id}: limit {lim.kind} {lim.substance} "
                   f"{lim.old_max_percent_w_w} -> {lim.new_max_percent_w_w} % w/w")
    for p in rep.parts:
        typer.echo(f"part {p.part_number}: materials {', '.join(p.materials)}; substances "
                   f"{', '.join(p.substances)}; suppliers {', '.join(p.suppliers) or '-'}")
    for b in rep.bom_positions:
        typer.echo(f"BOM {b.bom_owner}/{b.revision} pos {b.position}: {b.part_number} ({b.material}) "
                   f"-> {', '.join(b.products)}")
    for pr in rep.products:
        typer.echo(f"product {pr.model}: markets {', '.join(pr.markets)}")
    for req in rep.declaration_requests:
        typer.echo(f"request to {req.supplier_id}: {req.text}")


def impact(
    from_version: Annotated[str, typer.Option("--from", help="The older catalog version.")],
    to_version: Annotated[str, typer.Option("--to", help="The newer catalog version.")],
    json_: JsonFlag = False,
    versions_dir: Annotated[list[Path] | None, typer.Option(help="More folders holding catalog versions.")] = None,
) -> None:
    """What a catalog change touches: substances, materials, parts, suppliers, BOM
    positions, products and markets, and the supplier declaration requests to send."""
    from qualitas.settings import get_settings
    from qualitas.store import open_store

    try:
        store = open_store(get_settings().store)
        try:
            rep = catalog_impact(store, from_version, to_version, search=versions_dir or ())
        finally:
            store.close()
    except QualitasError as exc:
        raise _fail(exc) from exc
    if json_:
        typer.echo(json.dumps(_plain(rep), ensure_ascii=False, indent=1))
    else:
        _print_impact(rep)


def register(root: typer.Typer) -> None:
    """Mount ``regulations`` and ``impact`` on the ``qualitas`` command."""
    root.add_typer(app, name="regulations")
    root.command("impact")(impact)
