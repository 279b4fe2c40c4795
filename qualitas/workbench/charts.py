"""Charts a quality engineer looks at rather than reads: SPC, Pareto, Ishikawa, 5-Why, FMEA risk.

Drawn with matplotlib (https://matplotlib.org/stable/api/figure_api.html) on a bare
:class:`~matplotlib.figure.Figure` (no pyplot, no global state, safe in a worker
thread), rendered to SVG for the explorer and PNG or PDF for reports. Nothing is
downloaded and no browser is needed.

The numbers come from :mod:`qualitas.edge_adapters.spc` (limits, EWMA, CUSUM, the
Western Electric and Nelson run rules); this module only draws them:

===============  ==========================================================================
chart            what is drawn
===============  ==========================================================================
individuals      values, centre line, UCL/LCL from the moving range (MR-bar / d2)
xbar_r           subgroup means with X-double-bar +- A2 R-bar, and the R chart (D3, D4)
ewma             the EWMA statistic with its exact, time-varying limits
cusum            tabular C+ and C- (drawn below zero) against the decision interval H
pareto           counts by failure mode (complaints and defects stacked), cumulative %
ishikawa         the effect at the head, one bone per category (6M), causes on the bones
five_why         a problem and its why-chains as a tree, root causes highlighted
fmea_matrix      items on a severity x occurrence grid, coloured by Action Priority
===============  ==========================================================================

Every mark a test or a user looks for carries an SVG id (matplotlib's ``gid``):
``violation-<panel>-<index>`` for a point where a rule fired (``panel`` is ``x``, ``r``,
``ewma`` or ``cusum``), ``bar-<n>``, ``bone-<n>``, ``cause-<n>-<m>``, ``why-<path>``,
``risk-<n>``. The SVG is rewritten so it needs no inline CSS (``style`` attributes become
SVG presentation attributes and the ``<style>`` element goes), so the explorer can show it
under its ``Content-Security-Policy: default-src 'self'``.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qualitas.edge_adapters import spc
from qualitas.errors import InputError, MissingExtraError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from qualitas.store import GraphStore

Format = Literal["svg", "png", "pdf"]
ChartKind = Literal["individuals", "xbar_r", "ewma", "cusum"]
FORMATS: tuple[Format, ...] = ("svg", "png", "pdf")
SPC_CHARTS: tuple[ChartKind, ...] = ("individuals", "xbar_r", "ewma", "cusum")

_BLUE = "#1f5f99"
_RED = "#c0392b"
_GREY = "#5d6d7e"
_AP_COLOURS = {"H": "#d64541", "M": "#f1a33c", "L": "#4caf6e"}
_AP_BACKGROUND = {"H": "#f7d4d2", "M": "#fcebcf", "L": "#dcefe2"}
_DPI = 110
#: Where the n-th dot in one matrix cell goes, relative to the cell's centre.
_SPREAD = (
    (0.0, 0.0),
    (0.28, 0.0),
    (-0.28, 0.0),
    (0.0, 0.28),
    (0.0, -0.28),
    (0.28, 0.28),
    (-0.28, -0.28),
    (0.28, -0.28),
    (-0.28, 0.28),
)


def _figure(width: float, height: float) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - the extra is part of [all] and [test]
        raise MissingExtraError("matplotlib", extra="charts") from exc
    return Figure(figsize=(width, height), dpi=_DPI, layout="constrained")


# ---------------------------------------------------------------- the rendered chart


@dataclass(frozen=True)
class Mark:
    """A point a rule flagged: which panel, which point (0-based), which rules, its value."""

    panel: str
    index: int
    rules: tuple[str, ...]
    value: float

    @property
    def gid(self) -> str:
        return f"violation-{self.panel}-{self.index}"


@dataclass
class Chart:
    """A drawn chart: the figure, what kind it is and what was marked on it."""

    kind: str
    title: str
    figure: Figure
    marks: tuple[Mark, ...] = ()
    #: Numbers a caller may want next to the picture (limits, counts), by name.
    facts: dict[str, Any] = field(default_factory=dict)

    def render(self, fmt: Format = "svg") -> bytes:
        """The chart as SVG (CSP-safe, see the module docstring), PNG or PDF bytes.
        The same input gives the same bytes (no dates, fixed SVG id salt)."""
        if fmt not in FORMATS:
            raise InputError(f"chart format {fmt!r} is not one of {', '.join(FORMATS)}", field="format")
        import matplotlib

        buf = io.BytesIO()
        rc: dict[str, Any] = {"svg.hashsalt": "qualitas", "svg.fonttype": "none", "pdf.fonttype": 42}
        metadata: dict[str, Any] = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {}}[fmt]
        with matplotlib.rc_context(rc):  # type: ignore[arg-type]
            self.figure.savefig(buf, format=fmt, metadata=metadata, facecolor="white")
        data = buf.getvalue()
        return _inline_styles(data) if fmt == "svg" else data

    def svg(self) -> str:
        return self.render("svg").decode("utf-8")

    def save(self, path: Path | str) -> Path:
        """Write the chart; the format is the file's suffix (.svg, .png, .pdf)."""
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise InputError(f"{path}: the file name must end in .svg, .png or .pdf", file=str(path))
        path.write_bytes(self.render(fmt))
        return path


_STYLE_ATTR = re.compile(rb'\sstyle="([^"]*)"')
_STYLE_ELEMENT = re.compile(rb"<style[^>]*>.*?</style>\s*", re.S)
_FONT = re.compile(r"^(?:(italic|oblique|normal)\s+)?(?:(\d{3}|bold|normal)\s+)?([\d.]+px)\s+(.+)$")


def _declarations(style: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for part in style.split(";"):
        name, _, value = part.partition(":")
        name, value = name.strip(), value.strip()
        if not name or not value:
            continue
        if name == "font":
            m = _FONT.match(value)
            if m:
                if m.group(1):
                    out.append(("font-style", m.group(1)))
                if m.group(2):
                    out.append(("font-weight", m.group(2)))
                out.append(("font-size", m.group(3)))
                out.append(("font-family", m.group(4).replace("'", "").replace('"', "")))
            continue
        if name == "white-space":
            out.append(("xml:space", "preserve"))
            continue
        out.append((name, value))
    return out


def _inline_styles(svg: bytes) -> bytes:
    """matplotlib's SVG with every ``style="a: b"`` turned into ``a="b"`` presentation
    attributes and the global ``<style>`` rule moved onto the root element: a page whose
    CSP has no ``'unsafe-inline'`` would drop inline styles and draw everything black.
    See https://www.w3.org/TR/SVG11/styling.html#UsingPresentationAttributes."""

    def attrs(match: re.Match[bytes]) -> bytes:
        decls = _declarations(match.group(1).decode("utf-8"))
        return b"".join(
            f' {name}="{value.replace("&", "&amp;").replace(chr(34), "&quot;")}"'.encode() for name, value in decls
        )

    svg = _STYLE_ELEMENT.sub(b"", svg)
    svg = _STYLE_ATTR.sub(attrs, svg)
    return svg.replace(b"<svg ", b'<svg stroke-linejoin="round" stroke-linecap="butt" ', 1)


# ---------------------------------------------------------------- SPC


def _rule_label(rule: str) -> str:
    if rule.startswith("nelson"):
        return "N" + rule[len("nelson") :]
    if rule.startswith("we"):
        return "WE" + rule[2:]
    return {"ewma": "EWMA", "cusum": "CUSUM", "range": "R"}.get(rule, rule)


def _marks_from(violations: Iterable[spc.Violation], panel: str) -> tuple[Mark, ...]:
    by_index: dict[int, list[str]] = {}
    values: dict[int, float] = {}
    for v in violations:
        by_index.setdefault(v.index, [])
        if v.rule not in by_index[v.index]:
            by_index[v.index].append(v.rule)
        values[v.index] = v.value
    return tuple(Mark(panel, i, tuple(rules), values[i]) for i, rules in sorted(by_index.items()))


def _draw_marks(ax: Axes, xs: Sequence[float], marks: Sequence[Mark]) -> None:
    previous: Mark | None = None
    for mark in marks:
        (dot,) = ax.plot(
            [xs[mark.index]], [mark.value], "o", ms=8, mfc="none", mec=_RED, mew=2, zorder=5, label="_nolegend_"
        )
        dot.set_gid(mark.gid)
        run_goes_on = previous is not None and previous.index == mark.index - 1 and previous.rules == mark.rules
        previous = mark
        if run_goes_on:  # a run of points flagged by the same rules is labelled once, at its start
            continue
        ax.annotate(
            ",".join(_rule_label(r) for r in mark.rules),
            (xs[mark.index], mark.value),
            xytext=(0, 9),
            textcoords="offset points",
            ha="center",
            fontsize=7,
            color=_RED,
        )


def _limit_lines(ax: Axes, n: int, *, center: float, ucl: float, lcl: float | None, fmt: str = "{:.4g}") -> None:
    x0, x1 = 0.5, n + 0.5
    for gid, y, colour, style, name in (
        ("ucl", ucl, _RED, "--", "UCL"),
        ("cl", center, "#2c3e50", "-", "CL"),
        ("lcl", lcl, _RED, "--", "LCL"),
    ):
        if y is None or not math.isfinite(y):
            continue
        (line,) = ax.plot([x0, x1], [y, y], style, color=colour, lw=1)
        line.set_gid(gid)
        ax.annotate(
            f"{name} {fmt.format(y)}",
            (1.0, y),
            xycoords=("axes fraction", "data"),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
            color=colour,
        )
    ax.set_xlim(x0, x1)


def _series(ax: Axes, xs: Sequence[float], ys: Sequence[float], gid: str) -> None:
    (line,) = ax.plot(xs, ys, "-o", color=_BLUE, lw=1, ms=3)
    line.set_gid(gid)


def _rules_caption(fig: Figure, rules: Sequence[str], marks: Sequence[Mark]) -> None:
    fired = sorted({r for m in marks for r in m.rules}, key=lambda r: (len(r), r))
    checked = ", ".join(_rule_label(r) for r in rules)
    if fired:
        text = "Rules fired: " + "; ".join(f"{_rule_label(r)} {spc.RULE_TEXT[r]}" for r in fired)
    else:
        text = "No rule fired"
    fig.supxlabel(
        "\n".join(textwrap.wrap(f"{text}  (checked: {checked})", 150)), fontsize=7, color=_RED if fired else _GREY
    )


def spc_chart(
    values: Sequence[float],
    *,
    chart: ChartKind = "individuals",
    title: str = "",
    unit: str = "",
    subgroup: int = 5,
    baseline: int | None = None,
    rules: Sequence[str] = spc.NELSON,
    center: float | None = None,
    sigma: float | None = None,
    lam: float = 0.2,
    L: float = 3.0,
    k: float = 0.5,
    h: float = 5.0,
) -> Chart:
    """A control chart of ``values`` (oldest first).

    Limits come from the first ``baseline`` points (all of them when None) unless
    ``center`` and ``sigma`` are given (sigma of one value); ``xbar_r`` cuts the values into
    consecutive subgroups of ``subgroup`` (a short tail is left out). Every point where a run
    rule (``rules``, names as :func:`qualitas.edge_adapters.spc.expand_rules` takes them), the
    EWMA or the CUSUM fires is circled red and listed under the chart."""
    values = [float(v) for v in values]
    if chart not in SPC_CHARTS:
        raise InputError(f"unknown SPC chart {chart!r}; one of {', '.join(SPC_CHARTS)}", field="chart")
    rules = spc.expand_rules(rules)
    label = f"{title} ({unit})" if unit and title else title or unit
    if chart == "xbar_r":
        return _xbar_r(values, title=title, label=label, subgroup=subgroup, baseline=baseline, rules=rules)
    if len(values) < 2:
        raise InputError(f"an {chart} chart needs at least two values, got {len(values)}", field="values")
    base = values[:baseline] if baseline else values
    if center is None or sigma is None:
        lim = spc.individuals_limits(base)
        center, sigma = (lim.center if center is None else center), (lim.sigma if sigma is None else sigma)
    xs = list(range(1, len(values) + 1))
    if chart == "individuals":
        fig = _figure(8, 3.6)
        ax = fig.add_subplot()
        violations = spc.run_rule_violations(values, center=center, sigma=sigma, rules=rules)
        marks = _marks_from(violations, "x")
        _series(ax, xs, values, "points")
        _limit_lines(ax, len(values), center=center, ucl=center + 3 * sigma, lcl=center - 3 * sigma)
        _draw_marks(ax, xs, marks)
        ax.set_ylabel(label or "value")
        ax.set_xlabel("sample")
        ax.set_title(f"Individuals chart: {title}" if title else "Individuals chart", fontsize=10, loc="left")
        _rules_caption(fig, rules, marks)
        facts = {"center": center, "sigma": sigma, "ucl": center + 3 * sigma, "lcl": center - 3 * sigma}
        return Chart("individuals", title, fig, marks, facts)
    if chart == "ewma":
        points = spc.ewma(values, center=center, sigma=sigma, lam=lam, L=L)
        z = [p.z for p in points]
        marks = tuple(Mark("ewma", i, ("ewma",), p.z) for i, p in enumerate(points) if p.out)
        fig = _figure(8, 3.6)
        ax = fig.add_subplot()
        _series(ax, xs, z, "points")
        (u,) = ax.step(xs, [p.ucl for p in points], where="mid", color=_RED, ls="--", lw=1)
        (lo,) = ax.step(xs, [p.lcl for p in points], where="mid", color=_RED, ls="--", lw=1)
        u.set_gid("ucl")
        lo.set_gid("lcl")
        _limit_lines(ax, len(values), center=center, ucl=points[-1].ucl, lcl=points[-1].lcl)
        _draw_marks(ax, xs, marks)
        ax.set_ylabel(f"EWMA z (lambda={lam:g}, L={L:g})")
        ax.set_xlabel("sample")
        ax.set_title(f"EWMA chart: {title}" if title else "EWMA chart", fontsize=10, loc="left")
        _rules_caption(fig, ["ewma"], marks)
        return Chart("ewma", title, fig, marks, {"center": center, "sigma": sigma, "lambda": lam, "L": L})
    points_c = spc.cusum(values, center=center, sigma=sigma, k=k, h=h)
    marks = tuple(
        Mark("cusum", i, ("cusum",), p.upper if p.upper > p.h else -p.lower) for i, p in enumerate(points_c) if p.out
    )
    fig = _figure(8, 3.6)
    ax = fig.add_subplot()
    (up,) = ax.plot(xs, [p.upper for p in points_c], "-o", color=_BLUE, lw=1, ms=3, label="C+")
    (down,) = ax.plot(xs, [-p.lower for p in points_c], "-o", color="#7d3c98", lw=1, ms=3, label="-C-")
    up.set_gid("points")
    down.set_gid("points-lower")
    hh = h * sigma
    _limit_lines(ax, len(values), center=0.0, ucl=hh, lcl=-hh)
    _draw_marks(ax, xs, marks)
    ax.legend(loc="upper left", fontsize=7)
    ax.set_ylabel(f"CUSUM (K={k:g} sigma, H={h:g} sigma)")
    ax.set_xlabel("sample")
    ax.set_title(f"CUSUM chart: {title}" if title else "CUSUM chart", fontsize=10, loc="left")
    _rules_caption(fig, ["cusum"], marks)
    return Chart("cusum", title, fig, marks, {"center": center, "sigma": sigma, "k": k, "h": h, "H": hh})


def _xbar_r(
    values: Sequence[float], *, title: str, label: str, subgroup: int, baseline: int | None, rules: Sequence[str]
) -> Chart:
    groups = [list(values[i : i + subgroup]) for i in range(0, len(values) - subgroup + 1, subgroup)]
    if len(groups) < 2:
        raise InputError(
            f"an X-bar/R chart needs at least two subgroups of {subgroup}, got {len(values)} values", field="values"
        )
    try:
        lim = spc.xbar_r_limits(groups[:baseline] if baseline else groups)
    except ValueError as exc:
        raise InputError(str(exc), field="subgroup") from exc
    means = [sum(g) / len(g) for g in groups]
    ranges = [max(g) - min(g) for g in groups]
    xs = list(range(1, len(groups) + 1))
    x_marks = _marks_from(spc.run_rule_violations(means, center=lim.center, sigma=lim.sigma, rules=rules), "x")
    r_marks = tuple(Mark("r", i, ("range",), r) for i, r in enumerate(ranges) if not lim.r_lcl <= r <= lim.r_ucl)
    fig = _figure(8, 5.2)
    ax_x, ax_r = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    _series(ax_x, xs, means, "points")
    _limit_lines(ax_x, len(groups), center=lim.center, ucl=lim.ucl, lcl=lim.lcl)
    _draw_marks(ax_x, xs, x_marks)
    ax_x.set_ylabel(f"X-bar {label}".strip())
    ax_x.set_title(
        f"X-bar/R chart (n={lim.n}): {title}" if title else f"X-bar/R chart (n={lim.n})", fontsize=10, loc="left"
    )
    _series(ax_r, xs, ranges, "points-range")
    _limit_lines(ax_r, len(groups), center=lim.r_bar, ucl=lim.r_ucl, lcl=lim.r_lcl if lim.r_lcl > 0 else None)
    _draw_marks(ax_r, xs, r_marks)
    ax_r.set_ylabel("R")
    ax_r.set_xlabel("subgroup")
    marks = x_marks + r_marks
    _rules_caption(fig, [*rules, "range"], marks)
    facts = {"center": lim.center, "ucl": lim.ucl, "lcl": lim.lcl, "r_bar": lim.r_bar, "r_ucl": lim.r_ucl}
    return Chart("xbar_r", title, fig, marks, facts)


# ---------------------------------------------------------------- Pareto


@dataclass(frozen=True)
class ParetoBar:
    """One failure mode's count: complaints (field) and defects (in-house: inspections,
    anomalies raised at the line)."""

    label: str
    complaints: int = 0
    defects: int = 0

    @property
    def total(self) -> int:
        return self.complaints + self.defects


def pareto_chart(bars: Sequence[ParetoBar] | Mapping[str, int], *, title: str = "Failure modes") -> Chart:
    """Bars by failure mode, largest first (complaints and defects stacked), and the
    cumulative percentage with the 80 % line (Juran's vital few)."""
    items = [ParetoBar(k, v) for k, v in bars.items()] if isinstance(bars, Mapping) else list(bars)
    items = sorted((b for b in items if b.total > 0), key=lambda b: (-b.total, b.label))
    if not items:
        raise InputError("a Pareto chart needs at least one failure mode with a count above zero", field="counts")
    total = sum(b.total for b in items)
    fig = _figure(8, 4.2)
    ax = fig.add_subplot()
    xs = list(range(len(items)))
    complaints = [b.complaints for b in items]
    defects = [b.defects for b in items]
    c_bars = ax.bar(xs, complaints, color=_BLUE, label="complaints")
    d_bars = ax.bar(xs, defects, bottom=complaints, color="#85a9cc", label="defects")
    for i, (c, d) in enumerate(zip(c_bars, d_bars, strict=True)):
        c.set_gid(f"bar-{i}")
        d.set_gid(f"bar-{i}-defects")
        ax.annotate(
            str(items[i].total), (i, items[i].total), xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8
        )
    ax.set_xticks(xs, ["\n".join(textwrap.wrap(b.label, 16)) for b in items], fontsize=7)
    ax.set_ylabel("count")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    cum = ax.twinx()
    running, cumulative = 0, []
    for b in items:
        running += b.total
        cumulative.append(100.0 * running / total)
    (line,) = cum.plot(xs, cumulative, "-o", color=_RED, ms=3, lw=1)
    line.set_gid("cumulative")
    (eighty,) = cum.plot([-0.5, len(items) - 0.5], [80, 80], ":", color=_GREY, lw=1)
    eighty.set_gid("line-80")
    cum.set_ylim(0, 105)
    cum.set_ylabel("cumulative %")
    ax.set_xlim(-0.5, len(items) - 0.5)
    ax.legend(loc="center right", fontsize=7)
    ax.set_title(f"Pareto: {title} (n={total})", fontsize=10, loc="left")
    facts = {"total": total, "bars": [(b.label, b.complaints, b.defects) for b in items], "cumulative": cumulative}
    return Chart("pareto", title, fig, (), facts)


# ---------------------------------------------------------------- Ishikawa


#: The 6M categories of an Ishikawa diagram (Ishikawa, *Guide to Quality Control*, 1976).
SIX_M = ("Man", "Machine", "Method", "Material", "Measurement", "Environment")


def ishikawa_chart(effect: str, causes: Mapping[str, Sequence[str]], *, title: str = "") -> Chart:
    """A fishbone: the effect at the head, one bone per category (top and bottom in turn),
    each cause a short line on its bone. ``causes`` maps category to causes, for example
    ``{"Machine": ["FC-12 calibration expired"], "Method": [...]}``."""
    categories = [(c, list(v)) for c, v in causes.items()]
    if not categories:
        raise InputError("an Ishikawa diagram needs at least one category of causes", field="causes")
    n_top = (len(categories) + 1) // 2
    slots = max(n_top, len(categories) - n_top, 1)
    deepest = max((len(v) for _, v in categories), default=1)
    width = 3.2 + 2.6 * slots
    fig = _figure(width, 4.2 + 0.25 * max(deepest - 3, 0))
    ax = fig.add_subplot()
    ax.set_axis_off()
    spine_end = 2.6 * slots + 0.4
    (spine,) = ax.plot([0, spine_end], [0, 0], color="#2c3e50", lw=2.5)
    spine.set_gid("spine")
    ax.annotate(
        "",
        xy=(spine_end + 0.25, 0),
        xytext=(spine_end, 0),
        arrowprops={"arrowstyle": "-|>", "color": "#2c3e50", "lw": 2.5},
    )
    ax.text(
        spine_end + 0.35,
        0,
        "\n".join(textwrap.wrap(effect, 22)),
        va="center",
        ha="left",
        fontsize=9,
        fontweight="bold",
        bbox={"boxstyle": "round", "fc": "#fdebd0", "ec": "#e67e22"},
        gid="effect",
    )
    bone_len = 2.0 + 0.2 * max(deepest - 3, 0)
    for i, (category, items) in enumerate(categories):
        top = i % 2 == 0
        slot = i // 2
        x_base = 0.6 + 2.6 * slot + 1.6
        sign = 1 if top else -1
        x_tip, y_tip = x_base - 1.2, sign * bone_len
        (bone,) = ax.plot([x_tip, x_base], [y_tip, 0], color=_GREY, lw=1.5)
        bone.set_gid(f"bone-{i}")
        ax.text(
            x_tip,
            y_tip + sign * 0.15,
            category,
            ha="center",
            va="bottom" if top else "top",
            fontsize=9,
            fontweight="bold",
            color="#2c3e50",
        )
        for j, cause in enumerate(items):
            frac = (j + 1) / (len(items) + 1)
            x = x_tip + (x_base - x_tip) * (1 - frac)
            y = y_tip * frac
            (twig,) = ax.plot([x - 0.6, x], [y, y], color=_GREY, lw=0.8)
            twig.set_gid(f"cause-{i}-{j}")
            ax.text(x - 0.62, y, "\n".join(textwrap.wrap(cause, 26)), ha="right", va="center", fontsize=7)
    ax.set_xlim(-1.4, spine_end + 2.6)
    ax.set_ylim(-bone_len - 0.6, bone_len + 0.6)
    ax.set_title(f"Ishikawa: {title or effect}", fontsize=10, loc="left")
    facts = {"categories": [c for c, _ in categories], "causes": sum(len(v) for _, v in categories)}
    return Chart("ishikawa", title or effect, fig, (), facts)


# ---------------------------------------------------------------- 5-Why


@dataclass(frozen=True)
class WhyNode:
    """One answer to "why?"; ``children`` are the answers to why that is so. A leaf is a
    root cause (or ``root_cause`` says so explicitly)."""

    text: str
    children: tuple[WhyNode, ...] = ()
    root_cause: bool | None = None

    @property
    def is_root_cause(self) -> bool:
        return self.root_cause if self.root_cause is not None else not self.children


def why_tree(node: WhyNode | Mapping[str, Any] | str | Any) -> WhyNode:
    """A :class:`WhyNode` from a plain dict (``{"text": ..., "children": [...]}``, with
    ``why``/``answer`` accepted for ``text`` and ``whys`` for ``children``), a string, or any
    object with those attributes (a CAPA record's 5-Why step)."""
    if isinstance(node, WhyNode):
        return node
    if isinstance(node, str):
        return WhyNode(node)
    get: Callable[[str], Any]
    if isinstance(node, Mapping):
        get = node.get
    else:

        def get(name: str) -> Any:
            return getattr(node, name, None)

    text = get("text") or get("why") or get("answer")
    if not text:
        raise InputError("a 5-Why node needs a text", field="text")
    kids = get("children") or get("whys") or ()
    flag = get("root_cause")
    return WhyNode(str(text), tuple(why_tree(k) for k in kids), bool(flag) if flag is not None else None)


_STEP = 2.0  # horizontal distance between why levels, in data units


def five_why_chart(problem: str, whys: Sequence[WhyNode | Mapping[str, Any] | str], *, title: str = "") -> Chart:
    """The problem on the left, each why-chain to the right, one level per "why?". A chain
    given as a flat list of strings is one branch; nested dicts branch. Root causes are
    drawn with a red border."""
    roots = _why_roots(whys)
    if not roots:
        raise InputError("a 5-Why tree needs at least one answer to why", field="whys")
    tree = WhyNode(problem, tuple(roots), root_cause=False)
    positions: dict[str, tuple[float, float]] = {}
    nodes: dict[str, WhyNode] = {}
    leaves = [0]

    def place(node: WhyNode, path: str, depth: int) -> float:
        nodes[path] = node
        if not node.children:
            y = float(leaves[0])
            leaves[0] += 1
        else:
            ys = [place(child, f"{path}-{i}", depth + 1) for i, child in enumerate(node.children)]
            y = sum(ys) / len(ys)
        positions[path] = (float(depth), y)
        return y

    place(tree, "0", 0)
    depth = max(x for x, _ in positions.values())
    fig = _figure(2.3 * (depth + 1) + 0.4, 0.9 * leaves[0] + 0.9)
    ax = fig.add_subplot()
    ax.set_axis_off()
    for path, node in nodes.items():
        x, y = positions[path]
        for i in range(len(node.children)):
            cx, cy = positions[f"{path}-{i}"]
            ax.annotate(
                "",
                xy=(cx * _STEP - 0.72, -cy),
                xytext=(x * _STEP + 0.72, -y),
                arrowprops={"arrowstyle": "-|>", "color": _GREY, "lw": 1},
            )
    root_causes = 0
    for path, node in nodes.items():
        x, y = positions[path]
        is_problem = path == "0"
        is_root = not is_problem and node.is_root_cause
        root_causes += is_root
        label = node.text if is_problem else f"Why {path.count('-')}: {node.text}"
        ax.text(
            x * _STEP,
            -y,
            "\n".join(textwrap.wrap(label, 22)),
            ha="center",
            va="center",
            fontsize=7,
            bbox={
                "boxstyle": "round",
                "fc": "#fdebd0" if is_problem else "white",
                "ec": _RED if is_root else ("#e67e22" if is_problem else _GREY),
                "lw": 2 if is_root else 1,
            },
            gid=f"why-{path}" + ("-root" if is_root else ""),
        )
    ax.set_xlim(-0.9, depth * _STEP + 0.9)
    ax.set_ylim(-(leaves[0] - 1) - 0.7, 0.7)
    ax.set_title(f"5-Why: {title or problem}", fontsize=10, loc="left")
    return Chart(
        "five_why",
        title or problem,
        fig,
        (),
        {"nodes": len(nodes) - 1, "root_causes": root_causes, "depth": int(depth)},
    )


def _why_roots(whys: Sequence[WhyNode | Mapping[str, Any] | str]) -> list[WhyNode]:
    items = list(whys)
    if items and all(isinstance(w, str) for w in items):  # one flat chain: why 1 -> why 2 -> ...
        node: WhyNode | None = None
        for text in reversed(items):
            node = WhyNode(str(text), (node,) if node is not None else ())
        return [node] if node is not None else []
    return [why_tree(w) for w in items]


# ---------------------------------------------------------------- FMEA risk matrix


@dataclass(frozen=True)
class RiskItem:
    """One failure chain of an FMEA as the matrix shows it: a label, S, O, D and its
    Action Priority (H, M, L) from the AIAG-VDA tables."""

    label: str
    severity: int
    occurrence: int
    detection: int
    ap: str | None = None


def risk_item(item: RiskItem | Mapping[str, Any] | Any) -> RiskItem:
    """A :class:`RiskItem` from a dict or any object with ``label`` (or ``failure_mode``/
    ``mode``/``id``), ``severity``/``s``, ``occurrence``/``o``, ``detection``/``d`` and ``ap``."""
    if isinstance(item, RiskItem):
        return item
    if isinstance(item, Mapping):
        get: Callable[[str], Any] = item.get
    else:

        def get(name: str) -> Any:
            return getattr(item, name, None)

    def first(*names: str) -> Any:
        for name in names:
            value = get(name)
            if value is not None:
                return value
        return None

    label = first("label", "failure_mode", "mode", "id", "code")
    values = {}
    for key, names in (
        ("severity", ("severity", "s")),
        ("occurrence", ("occurrence", "o")),
        ("detection", ("detection", "d")),
    ):
        raw = first(*names)
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise InputError(
                f"risk item {label!r}: {key} must be a whole number 1..10, got {raw!r}", field=key
            ) from None
        if not 1 <= value <= 10:
            raise InputError(f"risk item {label!r}: {key} must be 1..10, got {value}", field=key)
        values[key] = value
    ap = first("ap", "action_priority")
    return RiskItem(
        str(label or "?"),
        values["severity"],
        values["occurrence"],
        values["detection"],
        str(getattr(ap, "value", ap)).upper()[:1] if ap is not None else None,
    )


def fmea_risk_matrix(
    items: Sequence[RiskItem | Mapping[str, Any] | Any],
    *,
    title: str = "FMEA risk matrix",
    ap_of: Callable[[int, int, int], str] | None = None,
) -> Chart:
    """Severity (rows) x occurrence (columns), one dot per failure chain, coloured by its
    Action Priority (H red, M amber, L green; grey when unknown). With ``ap_of`` (the AP
    table as a function of S, O, D) each cell is shaded with the AP it has at the worst
    detection (D = 10), so a dot in a red cell can only get better by prevention, not
    detection. AP per the AIAG-VDA FMEA Handbook (2019), section 3.5."""
    risks = [risk_item(i) for i in items]
    if ap_of is not None:
        risks = [
            r
            if r.ap
            else RiskItem(r.label, r.severity, r.occurrence, r.detection, ap_of(r.severity, r.occurrence, r.detection))
            for r in risks
        ]
    fig = _figure(7.2, 6.4)
    ax = fig.add_subplot()
    if ap_of is not None:
        from matplotlib.patches import Rectangle

        for s in range(1, 11):
            for o in range(1, 11):
                cell = Rectangle((o - 0.5, s - 0.5), 1, 1, fc=_AP_BACKGROUND.get(ap_of(s, o, 10), "white"), ec="none")
                ax.add_patch(cell)
    for v in range(1, 11):
        ax.axhline(v + 0.5, color="#d5d8dc", lw=0.5)
        ax.axvline(v + 0.5, color="#d5d8dc", lw=0.5)
    cells: dict[tuple[int, int], int] = {}
    counts = {"H": 0, "M": 0, "L": 0, "?": 0}
    for n, r in enumerate(risks):
        k = cells.get((r.severity, r.occurrence), 0)
        cells[(r.severity, r.occurrence)] = k + 1
        dx, dy = _SPREAD[k % len(_SPREAD)]
        colour = _AP_COLOURS.get(r.ap or "", "#95a5a6")
        counts[r.ap if r.ap in _AP_COLOURS else "?"] += 1
        (dot,) = ax.plot([r.occurrence + dx], [r.severity + dy], "o", ms=11, mfc=colour, mec="#2c3e50", mew=0.8)
        dot.set_gid(f"risk-{n}")
        ax.text(
            r.occurrence + dx,
            r.severity + dy,
            str(n + 1),
            ha="center",
            va="center",
            fontsize=6,
            color="white",
            fontweight="bold",
        )
    ax.set_xlim(0.5, 10.5)
    ax.set_ylim(0.5, 10.5)
    ax.set_xticks(range(1, 11))
    ax.set_yticks(range(1, 11))
    ax.set_xlabel("Occurrence (O)")
    ax.set_ylabel("Severity (S)")
    ax.set_title(f"{title}: " + ", ".join(f"AP {k} {v}" for k, v in counts.items() if v), fontsize=10, loc="left")
    legend = "\n".join(
        f"{n + 1}. {r.label} (S{r.severity} O{r.occurrence} D{r.detection} AP {r.ap or '?'})"
        for n, r in enumerate(risks[:20])
    )
    if legend:
        fig.text(
            1.0,
            0.0,
            legend,
            fontsize=6,
            ha="right",
            va="bottom",
            color="#2c3e50",
            transform=ax.transAxes,
            bbox={"fc": "white", "ec": "#d5d8dc", "alpha": 0.9},
        )
    return Chart("fmea_matrix", title, fig, (), {"items": len(risks), "ap": counts})


# ---------------------------------------------------------------- from the graph


@dataclass(frozen=True)
class SeriesPoint:
    value: float
    at: str | None
    run: str | None
    equipment: str | None


def parameter_series(
    store: GraphStore,
    *,
    parameter: str | None = None,
    signal: str | None = None,
    step: str | None = None,
    equipment: str | None = None,
    limit: int = 500,
) -> list[SeriesPoint]:
    """The observed values of one process parameter (``q:code``, e.g. ``FORM-TEMP``), oldest
    first: MES actuals of production runs (time: the run's start) and edge observations
    (time: ``sosa:resultTime``), optionally of one process step or one piece of equipment."""
    from rdflib import Literal

    from qualitas.ontology import mint

    if (parameter is None) == (signal is None):
        raise InputError("name either a parameter (its code) or an edge signal", field="parameter")
    if parameter is not None:
        where = [f"?o q:parameter {mint('parameter', parameter).n3()} ; q:value ?v ."]
    else:
        where = [f"?o q:signal {Literal(signal).n3()} ; q:value ?v ."]
    where.append("OPTIONAL { ?o <http://www.w3.org/ns/sosa/resultTime> ?rt }")
    where.append(
        "OPTIONAL { { ?run q:hasObservation ?o } UNION { ?o q:duringRun ?run } "
        "OPTIONAL { ?run q:startedAt ?st } OPTIONAL { ?run q:runId ?rid } "
        "OPTIONAL { ?run q:step ?step } OPTIONAL { ?run q:equipment ?req } }"
    )
    where.append("OPTIONAL { ?o q:onEquipment ?oeq }")
    where.append("BIND(COALESCE(?oeq, ?req) AS ?eq)")
    where.append("BIND(COALESCE(?rt, ?st) AS ?t)")
    if step is not None:
        where.append(f"FILTER(?step = {mint('step', step).n3()})")
    if equipment is not None:
        where.append(f"FILTER(?eq = {mint('equipment', equipment).n3()})")
    rows = store.select(
        "SELECT ?o ?v ?t ?rid ?eq WHERE { " + " ".join(where) + f" }} ORDER BY ?t ?o LIMIT {int(limit)}"
    )
    out = []
    for row in rows:
        try:
            value = float(str(row["v"]))
        except (TypeError, ValueError):
            continue  # a text actual (a recipe name) has no place on a control chart
        eq = row.get("eq")
        out.append(
            SeriesPoint(
                value,
                str(row["t"]) if row.get("t") is not None else None,
                str(row["rid"]) if row.get("rid") is not None else None,
                str(eq).rsplit("/", 1)[-1] if eq is not None else None,
            )
        )
    return out


def failure_mode_counts(store: GraphStore) -> list[ParetoBar]:
    """Complaints and defects per failure mode from the graph: every ``q:Complaint`` with a
    ``q:failureMode`` counts as a complaint; anything else that names a failure mode (an
    inspection result, a work order raised at the line) as a defect. The label is the
    failure mode's name, else its code."""
    rows = store.select(
        """SELECT ?fm (SAMPLE(?code) AS ?c) (SAMPLE(?name) AS ?n)
                  (COUNT(DISTINCT ?cx) AS ?complaints) (COUNT(DISTINCT ?dx) AS ?defects) WHERE {
            ?x q:failureMode ?fm .
            OPTIONAL { ?fm q:code ?code } OPTIONAL { ?fm q:name ?name }
            BIND(EXISTS { ?x a q:Complaint } AS ?isComplaint)
            BIND(IF(?isComplaint, ?x, ?none1) AS ?cx)
            BIND(IF(?isComplaint, ?none2, ?x) AS ?dx)
        } GROUP BY ?fm"""
    )
    out = []
    for row in rows:
        code = row.get("c") or str(row["fm"]).rsplit("/", 1)[-1]
        name = row.get("n")
        label = f"{code} {name}" if name else str(code)
        out.append(ParetoBar(label, int(str(row.get("complaints") or 0)), int(str(row.get("defects") or 0))))
    return sorted(out, key=lambda b: (-b.total, b.label))


def fmea_chart(fmea: Any) -> Chart:
    """The risk matrix of a :class:`qualitas.workbench.fmea.Fmea`: its failure chains, with the
    cells shaded by the AP table of its kind (:func:`qualitas.workbench.ap.action_priority`)."""
    from qualitas.workbench.ap import action_priority

    kind = fmea.kind

    def ap_of(s: int, o: int, d: int) -> str:
        return action_priority(s, o, d, kind=kind)

    items = [
        RiskItem(f"{c.failure_mode} <- {c.failure_cause}", c.severity, c.occurrence, c.detection, c.action_priority)
        for c in fmea.chains
    ]
    return fmea_risk_matrix(items, title=f"{fmea.kind} {fmea.id}: {fmea.title}", ap_of=ap_of)
