"""``qualitas chart ...``: the workbench charts from the store, as SVG, PNG or PDF files for reports.

Mounted by the root CLI through its ``PLUGINS`` list (``register(app)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from qualitas.errors import InputError, QualitasError, mapping_for

chart_app = typer.Typer(
    help="Charts (SPC, Pareto, FMEA risk matrix) from the store, as SVG, PNG or PDF.", no_args_is_help=True
)
err = Console(stderr=True)
out = Console()


def register(app: typer.Typer) -> None:
    app.add_typer(chart_app, name="chart")


def _done(chart: object, path: Path, what: str) -> None:
    from qualitas.workbench.charts import Chart

    assert isinstance(chart, Chart)
    chart.save(path)
    marks = (
        f", {len(chart.marks)} points where a rule fired"
        if chart.kind in ("individuals", "xbar_r", "ewma", "cusum")
        else ""
    )
    out.print(f"wrote {path} ({what}{marks})", highlight=False)


def _fail(exc: QualitasError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc.message}", highlight=False, soft_wrap=True)
    return typer.Exit(mapping_for(exc).exit_code)


@chart_app.command("spc")
def spc_command(
    parameter: Annotated[str, typer.Argument(help="Process parameter code (FORM-TEMP) or edge signal (a.b).")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="File to write: .svg, .png or .pdf.")],
    step: Annotated[str | None, typer.Option("--step", help="Only runs of this process step.")] = None,
    equipment: Annotated[str | None, typer.Option("--equipment", help="Only this equipment.")] = None,
    chart: Annotated[str, typer.Option("--chart", help="individuals, xbar_r, ewma or cusum.")] = "individuals",
    subgroup: Annotated[int, typer.Option("--subgroup", help="Subgroup size of X-bar/R.")] = 5,
    baseline: Annotated[int | None, typer.Option("--baseline", help="Limits from the first N points.")] = None,
) -> None:
    """A control chart of a parameter's observed values, rule violations circled."""
    from qualitas.cli import open_for_reading
    from qualitas.workbench import charts

    try:
        with open_for_reading() as store:
            is_signal = "." in parameter
            series = charts.parameter_series(
                store,
                parameter=None if is_signal else parameter,
                signal=parameter if is_signal else None,
                step=step,
                equipment=equipment,
            )
        if len(series) < 2:
            raise InputError(f"{parameter}: fewer than two observed values to chart", field="parameter")
        title = parameter + (f" (step {step})" if step else "") + (f" on {equipment}" if equipment else "")
        drawn = charts.spc_chart(
            [p.value for p in series],
            chart=chart,  # type: ignore[arg-type]
            title=title,
            subgroup=subgroup,
            baseline=baseline,
        )
        _done(drawn, out_file, f"{len(series)} values")
    except QualitasError as exc:
        raise _fail(exc) from exc


@chart_app.command("pareto")
def pareto_command(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="File to write: .svg, .png or .pdf.")],
) -> None:
    """Pareto of complaints and defects by failure mode."""
    from qualitas.cli import open_for_reading
    from qualitas.workbench import charts

    try:
        with open_for_reading() as store:
            bars = charts.failure_mode_counts(store)
        _done(charts.pareto_chart(bars), out_file, f"{len(bars)} failure modes")
    except QualitasError as exc:
        raise _fail(exc) from exc


@chart_app.command("fmea")
def fmea_command(
    fmea_id: Annotated[str, typer.Argument(help="The FMEA's id.")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="File to write: .svg, .png or .pdf.")],
) -> None:
    """The FMEA's risk matrix: severity x occurrence, coloured by Action Priority."""
    from qualitas.cli import open_for_reading
    from qualitas.workbench import charts
    from qualitas.workbench.fmea import load_fmea

    try:
        with open_for_reading() as store:
            fmea = load_fmea(store, fmea_id)
        _done(charts.fmea_chart(fmea), out_file, f"{len(fmea.chains)} failure chains")
    except QualitasError as exc:
        raise _fail(exc) from exc
