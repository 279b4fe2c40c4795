"""``qualitas regulations list|show|validate|upcoming`` and ``qualitas impact`` (typer).

Mount: ``app.add_typer(regulations.cli.app, name="regulations")`` and
``app.command("impact")(regulations.cli.impact)`` in ``qualitas/cli.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from qualitas.errors import QualitasError, mapping_for
from qualitas.regulations.catalog import (
    Catalog,
    DateChange,
    Regulation,
    date_changes,
    load_catalog,
    validate_catalog,
)
from qualitas.regulations.impact import ImpactReport, catalog_impact

app = typer.Typer(help="The regulation catalog.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
OnOption = Annotated[
    dt.datetime | None,
    typer.Option("--on", formats=["%Y-%m-%d"], help="The date statuses are judged on (default today)."),
]


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


def _record_json(r: Regulation, on: dt.date) -> dict[str, Any]:
    d = _plain(r)
    d["title"] = {t.lang: t.text for t in r.titles}
    del d["titles"]
    d["status"] = r.status_on(on)
    d["status_on"] = on.isoformat()
    return d


def _day(on: dt.datetime | None) -> dt.date:
    return on.date() if on is not None else dt.date.today()


def _fail(exc: QualitasError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(mapping_for(exc).exit_code)


@app.command("list")
def list_(
    market: Annotated[str | None, typer.Option(help="Only records for this market.")] = None,
    status: Annotated[str | None, typer.Option(help="in_force, repealed, adopted_not_yet_applicable.")] = None,
    on: OnOption = None,
    json_: JsonFlag = False,
) -> None:
    """List the catalog's records, with each one's status on --on (default today)."""
    day = _day(on)
    try:
        catalog = load_catalog(strict=False)
    except QualitasError as exc:
        raise _fail(exc) from exc
    rows = [r for r in catalog if (not market or market.upper() in r.markets or "GLOBAL" in r.markets)
            and (not status or r.status_on(day) == status)]
    if json_:
        typer.echo(json.dumps({"version": catalog.version, "on": day.isoformat(), "count": len(rows),
                               "regulations": [_record_json(r, day) for r in rows]}, ensure_ascii=False, indent=1))
        return
    for r in rows:
        typer.echo(f"{r.id:48} {r.identifier:32} {r.status_on(day):26} {','.join(r.markets)}")
    typer.echo(f"{len(rows)} records (catalog {catalog.version}, status on {day})")


@app.command("show")
def show(regulation_id: str, on: OnOption = None, json_: JsonFlag = False) -> None:
    """Show one record."""
    day = _day(on)
    try:
        r = load_catalog(strict=False).get(regulation_id)
    except QualitasError as exc:
        raise _fail(exc) from exc
    if json_:
        typer.echo(json.dumps(_record_json(r, day), ensure_ascii=False, indent=1))
        return
    typer.echo(f"{r.id}: {r.identifier} ({r.identifier_type}) {r.status_on(day)} on {day}")
    for key, value in r.dates.items():
        typer.echo(f"  {key}: {value}  ({r.date_source(key)})")
    for a in r.article_dates:
        dates = ", ".join(f"{k} {v}" for k, v in a.dates.items())
        typer.echo(f"  {a.articles}: {dates}  ({a.source or r.source_url})")
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


_WINDOW = re.compile(r"^(\d+)\s*([dwmy]?)$")
_UNIT_DAYS = {"d": 1, "": 1, "w": 7, "m": 30, "y": 365}


def _window(text: str) -> dt.timedelta:
    m = _WINDOW.match(text.strip().lower())
    if not m:
        raise typer.BadParameter(f"{text!r}: give a number of days, weeks, months or years, e.g. 180d, 26w, 6m")
    return dt.timedelta(days=int(m.group(1)) * _UNIT_DAYS[m.group(2)])


@dataclasses.dataclass(frozen=True)
class _Touch:
    model: str
    market: str
    reason: str


def _products_touched(catalog: Catalog, changes: tuple[DateChange, ...]) -> tuple[dict[int, list[_Touch]], int]:
    """For each change (by index), the store's products the changed record applies to on
    the day before or on the date, in each market the product is placed on (or, when the
    product records none, each market of the record)."""
    from qualitas.cli import open_for_reading
    from qualitas.regulations.applicability import evaluate, product_profile

    with open_for_reading() as store:
        rows = store.select("PREFIX q: <https://w3id.org/qualitas/ontology#>\n"
                            "SELECT DISTINCT ?model WHERE { ?p a q:Product ; q:modelNumber ?model } ORDER BY ?model")
        profiles = [product_profile(store, str(row["model"])) for row in rows]
    by_id = catalog.by_id
    touched: dict[int, list[_Touch]] = {}
    for i, c in enumerate(changes):
        r = by_id[c.regulation_id]
        for p in profiles:
            markets = p.markets or tuple(m for m in r.markets if m != "GLOBAL") or ("EU",)
            for market in markets:
                for day in (c.on - dt.timedelta(days=1), c.on):
                    rep = evaluate(catalog, p, market, day)
                    hit = next((a for a in (*rep.applicable, *rep.upcoming)
                                if a.id == r.id or r.id in a.replaces), None)
                    if hit is not None:
                        touched.setdefault(i, []).append(_Touch(p.model, market, str(hit.reason)))
                        break
    return touched, len(profiles)


@app.command("upcoming")
def upcoming(
    within: Annotated[str, typer.Option(help="The window after --on: days (180d), weeks (26w), months (6m).")] = "180d",
    on: OnOption = None,
    json_: JsonFlag = False,
) -> None:
    """What changes in the window: applications, repeals, ends of transition and
    per-article dates, and which products in the store each change touches."""
    day = _day(on)
    end = day + _window(within)
    try:
        catalog = load_catalog(strict=False)
        changes = date_changes(catalog, day, end)
        touched, products = _products_touched(catalog, changes)
    except QualitasError as exc:
        raise _fail(exc) from exc
    if json_:
        typer.echo(json.dumps({
            "version": catalog.version, "from": day.isoformat(), "to": end.isoformat(),
            "products_in_store": products,
            "changes": [_plain(c) | {"products": [_plain(t) for t in touched.get(i, [])]}
                        for i, c in enumerate(changes)],
        }, ensure_ascii=False, indent=1))
        return
    typer.echo(f"catalog {catalog.version}: {len(changes)} change(s) from {day} to {end}")
    if not products:
        typer.echo("the store holds no products: no product is touched")
    for i, c in enumerate(changes):
        what = f" [{c.articles}]" if c.articles else ""
        typer.echo(f"{c.on} {c.regulation_id} ({c.identifier}) {c.kind}{what}: "
                   f"{c.status_before} -> {c.status_after}  {c.source}")
        for t in touched.get(i, []):
            typer.echo(f"    product {t.model} in {t.market}: {t.reason}")


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
    from qualitas.cli import open_for_reading

    try:
        with open_for_reading() as store:
            rep = catalog_impact(store, from_version, to_version, search=versions_dir or ())
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
