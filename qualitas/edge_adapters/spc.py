"""Statistical process control: charts, run rules, capability, and a streaming monitor.

Pure functions over sequences of floats (no I/O), after Montgomery, *Introduction to
Statistical Quality Control* (7th ed.) and NIST/SEMATECH e-Handbook §6.3
(https://www.itl.nist.gov/div898/handbook/pmc/section3/pmc3.htm):

- individuals (I-MR) chart: sigma = MR-bar / d2 (d2 = 1.128 for n = 2)
- X-bar/R chart: limits X-double-bar +- A2 R-bar, R chart D3 R-bar .. D4 R-bar
- EWMA: z_i = lambda x_i + (1 - lambda) z_{i-1}, exact time-varying limits
- tabular CUSUM: C+ = max(0, x - (mu0 + K) + C+), C- likewise, alarm at H (K, H in sigma)
- Western Electric rules (WECO handbook, 1956) and Nelson's eight rules (J. Quality
  Technology 16(4), 1984)
- Cp = (USL - LSL) / 6 sigma_within, Cpk = min(USL - mu, mu - LSL) / 3 sigma_within;
  Pp and Ppk with the overall standard deviation

:class:`SpcMonitor` applies them one sample at a time with limits frozen from a
baseline window, emitting :class:`RawHit` for the transient filter.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from qualitas.edge_adapters._model import RawHit

# Control chart constants for subgroup sizes 2..10 (Montgomery, Appendix VI).
_A2 = {2: 1.880, 3: 1.023, 4: 0.729, 5: 0.577, 6: 0.483, 7: 0.419, 8: 0.373, 9: 0.337, 10: 0.308}
_D3 = {2: 0.0, 3: 0.0, 4: 0.0, 5: 0.0, 6: 0.0, 7: 0.076, 8: 0.136, 9: 0.184, 10: 0.223}
_D4 = {2: 3.267, 3: 2.574, 4: 2.282, 5: 2.114, 6: 2.004, 7: 1.924, 8: 1.864, 9: 1.816, 10: 1.777}
_D2 = {2: 1.128, 3: 1.693, 4: 2.059, 5: 2.326, 6: 2.534, 7: 2.704, 8: 2.847, 9: 2.970, 10: 3.078}

WESTERN_ELECTRIC = ("we1", "we2", "we3", "we4")
NELSON = ("nelson1", "nelson2", "nelson3", "nelson4", "nelson5", "nelson6", "nelson7", "nelson8")

RULE_TEXT = {
    "we1": "one point beyond 3 sigma",
    "we2": "two of three points beyond 2 sigma on one side",
    "we3": "four of five points beyond 1 sigma on one side",
    "we4": "eight points in a row on one side of the centre line",
    "nelson1": "one point beyond 3 sigma",
    "nelson2": "nine points in a row on one side of the centre line",
    "nelson3": "six points in a row steadily increasing or decreasing",
    "nelson4": "fourteen points in a row alternating up and down",
    "nelson5": "two of three points beyond 2 sigma on one side",
    "nelson6": "four of five points beyond 1 sigma on one side",
    "nelson7": "fifteen points in a row within 1 sigma of the centre line",
    "nelson8": "eight points in a row with none within 1 sigma",
    "ewma": "EWMA statistic beyond its control limit",
    "cusum": "CUSUM beyond its decision interval",
    "range": "subgroup range beyond the R chart limit",
}


@dataclass(frozen=True)
class Limits:
    """Centre line, sigma and 3-sigma limits of a chart's plotted statistic."""

    center: float
    sigma: float
    ucl: float
    lcl: float


@dataclass(frozen=True)
class IndividualsLimits(Limits):
    mr_bar: float = 0.0
    mr_ucl: float = 0.0


@dataclass(frozen=True)
class XbarRLimits(Limits):
    """``sigma`` is the standard error of a subgroup mean; ``sigma_within`` of one value."""

    n: int = 2
    r_bar: float = 0.0
    r_ucl: float = 0.0
    r_lcl: float = 0.0
    sigma_within: float = 0.0


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def individuals_limits(baseline: Sequence[float]) -> IndividualsLimits:
    """I-MR limits from a baseline of at least two values."""
    if len(baseline) < 2:
        raise ValueError("an individuals baseline needs at least two values")
    center = _mean(baseline)
    mrs = [abs(b - a) for a, b in pairwise(baseline)]
    mr_bar = _mean(mrs)
    sigma = mr_bar / _D2[2] if mr_bar > 0 else 1e-12
    return IndividualsLimits(center, sigma, center + 3 * sigma, center - 3 * sigma, mr_bar, _D4[2] * mr_bar)


def xbar_r_limits(subgroups: Sequence[Sequence[float]]) -> XbarRLimits:
    """X-bar/R limits from equal-size subgroups (n = 2..10)."""
    n = len(subgroups[0]) if subgroups else 0
    if n not in _A2 or any(len(g) != n for g in subgroups):
        raise ValueError("X-bar/R needs equal subgroups of 2 to 10 values")
    xbb = _mean([_mean(g) for g in subgroups])
    r_bar = _mean([max(g) - min(g) for g in subgroups])
    within = r_bar / _D2[n] if r_bar > 0 else 1e-12
    se = within / math.sqrt(n)
    return XbarRLimits(
        xbb, se, xbb + _A2[n] * r_bar, xbb - _A2[n] * r_bar, n, r_bar, _D4[n] * r_bar, _D3[n] * r_bar, within
    )


@dataclass(frozen=True)
class EwmaPoint:
    z: float
    ucl: float
    lcl: float

    @property
    def out(self) -> bool:
        return not self.lcl <= self.z <= self.ucl


def ewma(values: Sequence[float], *, center: float, sigma: float, lam: float = 0.2, L: float = 3.0) -> list[EwmaPoint]:
    """EWMA statistics with the exact limits mu0 +- L sigma sqrt(lam/(2-lam) (1-(1-lam)^2i))."""
    z, out = center, []
    for i, x in enumerate(values, start=1):
        z = lam * x + (1 - lam) * z
        w = L * sigma * math.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * i)))
        out.append(EwmaPoint(z, center + w, center - w))
    return out


@dataclass(frozen=True)
class CusumPoint:
    upper: float
    lower: float
    h: float

    @property
    def out(self) -> bool:
        return self.upper > self.h or self.lower > self.h


def cusum(values: Sequence[float], *, center: float, sigma: float, k: float = 0.5, h: float = 5.0) -> list[CusumPoint]:
    """Tabular CUSUM with reference value K = k sigma and decision interval H = h sigma."""
    hi = lo = 0.0
    out = []
    for x in values:
        hi = max(0.0, x - (center + k * sigma) + hi)
        lo = max(0.0, (center - k * sigma) - x + lo)
        out.append(CusumPoint(hi, lo, h * sigma))
    return out


@dataclass(frozen=True)
class Capability:
    mean: float
    sigma_within: float
    sigma_overall: float
    cp: float
    cpk: float
    pp: float
    ppk: float


def capability(
    values: Sequence[float], *, lsl: float | None, usl: float | None, sigma_within: float | None = None
) -> Capability:
    """Cp/Cpk (within sigma, from moving ranges unless given) and Pp/Ppk (overall sigma).
    A one-sided specification gives Cp = Pp = nan and the one-sided Cpk."""
    if len(values) < 2:
        raise ValueError("capability needs at least two values")
    mu = _mean(values)
    overall = math.sqrt(sum((v - mu) ** 2 for v in values) / (len(values) - 1)) or 1e-12
    within = sigma_within if sigma_within is not None else individuals_limits(values).sigma

    def indices(s: float) -> tuple[float, float]:
        sides = []
        if usl is not None:
            sides.append((usl - mu) / (3 * s))
        if lsl is not None:
            sides.append((mu - lsl) / (3 * s))
        p = (usl - lsl) / (6 * s) if usl is not None and lsl is not None else math.nan
        return p, min(sides) if sides else math.nan

    cp, cpk = indices(within)
    pp, ppk = indices(overall)
    return Capability(mu, within, overall, cp, cpk, pp, ppk)


# ---------------------------------------------------------------- run rules


def _rule_at(rule: str, z: Sequence[float], x: Sequence[float]) -> bool:
    """Whether ``rule`` fires at the last point; ``z`` are (x - centre) / sigma, oldest first."""

    def last(n: int) -> Sequence[float] | None:
        return z[-n:] if len(z) >= n else None

    def k_of_n_beyond(k: int, n: int, s: float) -> bool:
        w = last(n)
        if w is None:
            return False
        # the point that completes the pattern must itself be one of the k (WECO practice)
        up = sum(v > s for v in w) >= k and w[-1] > s
        down = sum(v < -s for v in w) >= k and w[-1] < -s
        return up or down

    def same_side(n: int) -> bool:
        w = last(n)
        return w is not None and (all(v > 0 for v in w) or all(v < 0 for v in w))

    if rule in ("we1", "nelson1"):
        return abs(z[-1]) > 3
    if rule in ("we2", "nelson5"):
        return k_of_n_beyond(2, 3, 2)
    if rule in ("we3", "nelson6"):
        return k_of_n_beyond(4, 5, 1)
    if rule == "we4":
        return same_side(8)
    if rule == "nelson2":
        return same_side(9)
    if rule == "nelson3":
        if len(x) < 6:
            return False
        d = [b - a for a, b in zip(x[-6:], x[-5:], strict=False)]
        return all(v > 0 for v in d) or all(v < 0 for v in d)
    if rule == "nelson4":
        if len(x) < 14:
            return False
        d = [b - a for a, b in zip(x[-14:], x[-13:], strict=False)]
        return all(a * b < 0 for a, b in pairwise(d))
    if rule == "nelson7":
        w = last(15)
        return w is not None and all(abs(v) < 1 for v in w)
    if rule == "nelson8":
        w = last(8)
        return w is not None and all(abs(v) > 1 for v in w) and any(v > 1 for v in w) and any(v < -1 for v in w)
    raise ValueError(f"unknown run rule {rule!r}; known: {WESTERN_ELECTRIC + NELSON}")


def expand_rules(names: Sequence[str]) -> tuple[str, ...]:
    """``["nelson"]`` -> the eight Nelson rules; ``["western_electric"]`` -> the four WE rules."""
    out: list[str] = []
    for name in names:
        key = name.lower().replace("-", "_")
        group = {"nelson": NELSON, "western_electric": WESTERN_ELECTRIC, "we": WESTERN_ELECTRIC}.get(key)
        for rule in group or (key,):
            if rule not in RULE_TEXT:
                raise ValueError(f"unknown SPC rule {name!r}")
            if rule not in out:
                out.append(rule)
    return tuple(out)


@dataclass(frozen=True)
class Violation:
    index: int
    rule: str
    value: float

    @property
    def text(self) -> str:
        return RULE_TEXT[self.rule]


def run_rule_violations(
    values: Sequence[float], *, center: float, sigma: float, rules: Sequence[str] = NELSON
) -> list[Violation]:
    """Every (index, rule) where a run rule fires over a whole series."""
    rules = expand_rules(rules)
    z = [(v - center) / sigma for v in values]
    out = []
    for i in range(len(values)):
        for rule in rules:
            if _rule_at(rule, z[: i + 1], values[: i + 1]):
                out.append(Violation(i, rule, values[i]))
    return out


# ---------------------------------------------------------------- streaming monitor


@dataclass
class SpcMonitor:
    """One signal's chart, updated one sample at a time.

    The first ``baseline`` points (values for individuals, subgroups for X-bar/R) set
    the limits unless ``center`` and ``sigma`` are given; afterwards each plotted
    point is checked against the run rules, EWMA and CUSUM, and every rule that
    fires yields a :class:`RawHit` keyed ``<signal>/<rule>``.
    """

    signal: str
    chart: str = "individuals"  # or "xbar_r"
    subgroup: int = 5
    baseline: int = 25
    rules: tuple[str, ...] = ("nelson1", "nelson2", "nelson3", "nelson5", "nelson6")
    center: float | None = None
    sigma: float | None = None
    ewma_lambda: float | None = 0.2
    ewma_l: float = 3.0
    cusum_k: float | None = 0.5
    cusum_h: float = 5.0
    lsl: float | None = None
    usl: float | None = None
    limits: Limits | None = None
    points: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    _z: deque[float] = field(default_factory=lambda: deque(maxlen=15))
    _x: deque[float] = field(default_factory=lambda: deque(maxlen=15))
    _group: list[float] = field(default_factory=list)
    _baseline_points: list[list[float]] = field(default_factory=list)
    _ewma: float | None = None
    _ewma_i: int = 0
    _cu_hi: float = 0.0
    _cu_lo: float = 0.0
    violations: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rules = expand_rules(self.rules)
        if self.center is not None and self.sigma is not None:
            self.limits = Limits(self.center, self.sigma, self.center + 3 * self.sigma, self.center - 3 * self.sigma)

    @property
    def ready(self) -> bool:
        return self.limits is not None

    def update(self, value: float, *, ts: float, source: str = "") -> list[RawHit]:
        self.values.append(value)
        if self.chart == "xbar_r":
            self._group.append(value)
            if len(self._group) < self.subgroup:
                return []
            group, self._group = self._group, []
            return self._point(_mean(group), ts, source, spread=max(group) - min(group), group=group)
        return self._point(value, ts, source)

    def _point(
        self, x: float, ts: float, source: str, *, spread: float = 0.0, group: list[float] | None = None
    ) -> list[RawHit]:
        if self.limits is None:
            self._baseline_points.append(group if group is not None else [x])
            if len(self._baseline_points) >= self.baseline:
                if self.chart == "xbar_r":
                    self.limits = xbar_r_limits(self._baseline_points)
                else:
                    self.limits = individuals_limits([g[0] for g in self._baseline_points])
            return []
        lim = self.limits
        self.points.append(x)
        z = (x - lim.center) / lim.sigma
        self._z.append(z)
        self._x.append(x)
        fired = [r for r in self.rules if _rule_at(r, list(self._z), list(self._x))]
        if self.ewma_lambda is not None:
            lam = self.ewma_lambda
            self._ewma_i += 1
            self._ewma = lam * x + (1 - lam) * (self._ewma if self._ewma is not None else lim.center)
            w = self.ewma_l * lim.sigma * math.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * self._ewma_i)))
            if abs(self._ewma - lim.center) > w:
                fired.append("ewma")
        if self.cusum_k is not None:
            self._cu_hi = max(0.0, x - (lim.center + self.cusum_k * lim.sigma) + self._cu_hi)
            self._cu_lo = max(0.0, (lim.center - self.cusum_k * lim.sigma) - x + self._cu_lo)
            if max(self._cu_hi, self._cu_lo) > self.cusum_h * lim.sigma:
                fired.append("cusum")
        if isinstance(lim, XbarRLimits) and not lim.r_lcl <= spread <= lim.r_ucl:
            fired.append("range")
        for rule in fired:
            self.violations[rule] = self.violations.get(rule, 0) + 1
        return [RawHit(f"{self.signal}/{r}", source or self.signal, ts, x, RULE_TEXT[r]) for r in fired]

    def rule_keys(self) -> list[str]:
        extra = [r for r, on in (("ewma", self.ewma_lambda), ("cusum", self.cusum_k)) if on is not None]
        if self.chart == "xbar_r":
            extra.append("range")
        return [f"{self.signal}/{r}" for r in (*self.rules, *extra)]

    def summary(self) -> SpcSummary:
        lim = self.limits
        cap = None
        if len(self.values) >= 2 and (self.lsl is not None or self.usl is not None):
            within = lim.sigma_within if isinstance(lim, XbarRLimits) else (lim.sigma if lim else None)
            cap = capability(self.values, lsl=self.lsl, usl=self.usl, sigma_within=within)
        n = len(self.values)
        mu = _mean(self.values) if n else math.nan
        sd = math.sqrt(sum((v - mu) ** 2 for v in self.values) / (n - 1)) if n > 1 else math.nan
        return SpcSummary(
            signal=self.signal,
            chart=self.chart,
            n=n,
            mean=mu,
            std_dev=sd,
            limits=lim,
            cp=cap.cp if cap else None,
            cpk=cap.cpk if cap else None,
            violations=dict(self.violations),
        )


@dataclass(frozen=True)
class SpcSummary:
    """What the graph keeps of a signal's run: statistics, limits, capability, rule counts."""

    signal: str
    chart: str
    n: int
    mean: float
    std_dev: float
    limits: Limits | None
    cp: float | None
    cpk: float | None
    violations: dict[str, int]


# ---------------------------------------------------------------- chart images


def _scale(values: Sequence[float], lo: float, hi: float, a: float, b: float) -> list[float]:
    span = (hi - lo) or 1.0
    return [b - (v - lo) / span * (b - a) for v in values]


def chart_svg(
    points: Sequence[float],
    limits: Limits,
    *,
    title: str = "",
    violations: Sequence[int] = (),
    width: int = 640,
    height: int = 240,
) -> str:
    """A control chart as standalone SVG (no plotting library): points, centre line,
    UCL/LCL, and the points where a rule fired in red."""
    pad_l, pad_r, pad_t, pad_b = 56, 12, 24, 24
    lo = min([*points, limits.lcl]) if points else limits.lcl
    hi = max([*points, limits.ucl]) if points else limits.ucl
    margin = (hi - lo) * 0.05 or 1.0
    lo, hi = lo - margin, hi + margin
    n = max(len(points) - 1, 1)
    xs = [pad_l + i * (width - pad_l - pad_r) / n for i in range(len(points))]
    ys = _scale(points, lo, hi, pad_t, height - pad_b)

    def y_of(v: float) -> float:
        return _scale([v], lo, hi, pad_t, height - pad_b)[0]

    bad = set(violations)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{pad_l}" y="15" font-weight="bold">{_esc(title)}</text>',
    ]
    for label, value, colour, dash in (
        ("UCL", limits.ucl, "#c0392b", "6 3"),
        ("CL", limits.center, "#2c3e50", ""),
        ("LCL", limits.lcl, "#c0392b", "6 3"),
    ):
        y = y_of(value)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{pad_l}" y1="{y:.1f}" x2="{width - pad_r}" y2="{y:.1f}" stroke="{colour}"{dash_attr}/>'
        )
        parts.append(f'<text x="4" y="{y + 4:.1f}" fill="{colour}">{label} {value:.4g}</text>')
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
        parts.append(f'<polyline points="{path}" fill="none" stroke="#2980b9" stroke-width="1.2"/>')
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            colour = "#e74c3c" if i in bad else "#2980b9"
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{3 if i in bad else 1.8}" fill="{colour}"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def chart_png(
    points: Sequence[float],
    limits: Limits,
    *,
    title: str = "",
    violations: Sequence[int] = (),
    width: int = 640,
    height: int = 240,
) -> bytes:
    """The same chart as PNG bytes, drawn with Pillow."""
    import io

    from PIL import Image, ImageDraw

    pad_l, pad_r, pad_t, pad_b = 56, 12, 24, 24
    lo = min([*points, limits.lcl]) if points else limits.lcl
    hi = max([*points, limits.ucl]) if points else limits.ucl
    margin = (hi - lo) * 0.05 or 1.0
    lo, hi = lo - margin, hi + margin
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((pad_l, 4), title, fill="black")
    for label, value, colour in (
        ("UCL", limits.ucl, "#c0392b"),
        ("CL", limits.center, "#2c3e50"),
        ("LCL", limits.lcl, "#c0392b"),
    ):
        y = _scale([value], lo, hi, pad_t, height - pad_b)[0]
        draw.line([(pad_l, y), (width - pad_r, y)], fill=colour, width=1)
        draw.text((2, y - 6), f"{label} {value:.4g}", fill=colour)
    n = max(len(points) - 1, 1)
    xs = [pad_l + i * (width - pad_l - pad_r) / n for i in range(len(points))]
    ys = _scale(points, lo, hi, pad_t, height - pad_b)
    if len(points) > 1:
        draw.line(list(zip(xs, ys, strict=True)), fill="#2980b9", width=1)
    bad = set(violations)
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        r = 3 if i in bad else 2
        draw.ellipse([x - r, y - r, x + r, y + r], fill="#e74c3c" if i in bad else "#2980b9")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
