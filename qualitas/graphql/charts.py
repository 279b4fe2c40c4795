"""GraphQL over the workbench charts: ``ChartQuery`` merged into the root Query.

Each field returns the chart as SVG (what the explorer shows; no inline CSS, so it works
under the page's Content-Security-Policy) with the marks and counts a page can list next to
it. Resolvers translate only: the numbers come from :mod:`qualitas.workbench.charts`.
"""

from __future__ import annotations

import json
from typing import Any

import strawberry
from strawberry.types import Info

from qualitas.errors import InputError, QualitasError
from qualitas.graphql._errors import graphql_error
from qualitas.workbench import charts

_BASELINE = 25  # as SpcMonitor's default baseline: limits from the first 25 points, later ones judged


@strawberry.type
class ChartMark:
    panel: str = strawberry.field(description="x (the plotted statistic), r (range), ewma or cusum.")
    index: int = strawberry.field(description="The point's position, 0 = oldest.")
    rules: list[str]
    value: float


@strawberry.type
class ChartImage:
    kind: str
    title: str
    svg: str = strawberry.field(description="The chart as standalone SVG.")
    points: int = strawberry.field(description="How many values or bars the chart draws.")
    marks: list[ChartMark] = strawberry.field(description="Points where a rule fired, as circled on the chart.")
    facts: str = strawberry.field(description="Limits, counts and the like, as a JSON object.")


def _image(chart: charts.Chart, points: int) -> ChartImage:
    return ChartImage(
        kind=chart.kind,
        title=chart.title,
        svg=chart.svg(),
        points=points,
        marks=[ChartMark(panel=m.panel, index=m.index, rules=list(m.rules), value=m.value) for m in chart.marks],
        facts=json.dumps(chart.facts, default=str, ensure_ascii=False),
    )


def _run(thunk: Any) -> ChartImage:
    try:
        return thunk()  # type: ignore[no-any-return]
    except QualitasError as exc:
        raise graphql_error(exc) from exc


@strawberry.type
class ChartQuery:
    @strawberry.field(
        description="A control chart (individuals, xbar_r, ewma, cusum) of a process parameter's observed values "
        "(MES actuals and edge observations, oldest first), or of an edge signal; optionally of one process step "
        "or one piece of equipment. Rules: Nelson and Western Electric names as the edge configuration takes them. "
        "Limits come from the first `baseline` points: by default the first 25 (the edge monitor's baseline) when "
        "there are 35 or more, else all."
    )
    def spc_chart(
        self,
        info: Info,
        parameter: str | None = None,
        signal: str | None = None,
        step: str | None = None,
        equipment: str | None = None,
        chart: str = "individuals",
        subgroup: int = 5,
        baseline: int | None = None,
        rules: list[str] | None = None,
    ) -> ChartImage:
        def make() -> ChartImage:
            series = charts.parameter_series(
                info.context["store"], parameter=parameter, signal=signal, step=step, equipment=equipment
            )
            if len(series) < 2:
                raise InputError(f"{parameter or signal}: fewer than two observed values to chart", field="parameter")
            where = " ".join(x for x in (step and f"step {step}", equipment and f"on {equipment}") if x)
            title = f"{parameter or signal}" + (f" ({where})" if where else "")
            drawn = charts.spc_chart(
                [p.value for p in series],
                chart=chart,  # type: ignore[arg-type]
                title=title,
                subgroup=subgroup,
                baseline=baseline if baseline is not None else (_BASELINE if len(series) >= 35 else None),
                rules=rules or ["nelson"],
            )
            return _image(drawn, len(series))

        return _run(make)

    @strawberry.field(description="Pareto of complaints and defects by failure mode, from the graph.")
    def pareto_chart(self, info: Info) -> ChartImage:
        def make() -> ChartImage:
            bars = charts.failure_mode_counts(info.context["store"])
            return _image(charts.pareto_chart(bars), len(bars))

        return _run(make)

    @strawberry.field(description="The risk matrix (severity x occurrence, coloured by Action Priority) of an FMEA.")
    def fmea_risk_matrix(self, info: Info, fmea_id: str) -> ChartImage:
        def make() -> ChartImage:
            from qualitas.workbench.fmea import load_fmea

            fmea = load_fmea(info.context["store"], fmea_id)
            return _image(charts.fmea_chart(fmea), len(fmea.chains))

        return _run(make)
