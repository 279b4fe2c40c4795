"""The charts in the explorer, in headless Chromium (Debian's chromium, never downloaded).

From a complaint's trace the user opens the formation run, follows the SPC link of its
temperature parameter (a process step's chart), then the Pareto link of the complaint;
both charts are drawn from the graph by the server and shown as SVG under the page's
strict CSP. Screenshots: test-artifacts/explorer-spc-chart.png, explorer-pareto.png.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from qualitas.auth import AuthStore
from qualitas.chat._inbound import AnomalyReport, record_anomaly
from qualitas.demo import COMPLAINT_B
from qualitas.edge_adapters import spc
from qualitas.edge_adapters._model import Observation
from qualitas.edge_adapters.graph import observation_triples, write_batch
from qualitas.graphql.app import create_app
from qualitas.settings import Settings
from qualitas.store import GraphStore, open_store
from qualitas.workbench import charts
from tests.chat.robots import serve_asgi
from tests.conftest import load_demo

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _formation_temperatures() -> list[float]:
    """Cabinet FC-12's temperature every 20 minutes of run FM-240802-12: in control for
    30 readings, then the drift an expired calibration lets through."""
    base = [
        45.3,
        45.1,
        45.4,
        45.2,
        45.0,
        45.3,
        45.5,
        45.2,
        45.1,
        45.3,
        45.4,
        45.2,
        45.0,
        45.1,
        45.3,
        45.2,
        45.4,
        45.3,
        45.1,
        45.2,
        45.5,
        45.3,
        45.2,
        45.0,
        45.2,
        45.3,
        45.1,
        45.4,
        45.2,
        45.3,
    ]
    return [*base, 45.6, 45.8, 45.7, 45.9, 46.1, 46.0, 46.3, 46.2, 46.6, 46.4]


@pytest.fixture(scope="module")
def store() -> Iterator[GraphStore]:
    current = open_store(None)
    load_demo(current)
    start = dt.datetime(2024, 8, 2, 8, 20, tzinfo=dt.UTC).timestamp()
    triples = []
    for i, value in enumerate(_formation_temperatures()):
        obs = Observation(
            equipment="FC-12",
            parameter="FORM-TEMP",
            value=value,
            ts=start + 1200 * i,
            unit="DEG_C",
            run_id="FM-240802-12",
            signal="fc12.temperature",
        )
        triples += observation_triples(obs, agent="fc12-edge")
    write_batch(current, triples, source="edge:fc12:test", agent="fc12-edge")
    record_anomaly(
        current, AnomalyReport("slack", "m1", "smell at formation", "li", 1.73e9, failure_mode="FM-ODOUR"), audit=None
    )
    yield current
    current.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, store: GraphStore) -> Iterator[tuple[str, str]]:
    settings = Settings(store=tmp_path_factory.mktemp("charts") / "store")
    users = AuthStore(settings.auth_db_path)
    try:
        users.add_user("engineer", "engineer")
        key = users.create_key("engineer", label="charts explorer test").secret
    finally:
        users.close()
    with serve_asgi(create_app(settings, store=store)) as base:
        yield base, key


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium; playwright never downloads one here")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield launched
        launched.close()


def test_spc_chart_and_pareto_from_a_complaint_trace(
    server: tuple[str, str], browser: Browser, store: GraphStore
) -> None:
    base, key = server
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page: Page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            problems.append(message.text)

    page.on("console", console)
    try:
        page.goto(f"{base}/")
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        page.fill("#api-key", key)
        page.click("#signin")
        expect(page.locator("#whoami")).to_have_text("Signed in as engineer (engineer).")
        page.fill("#trace-id", COMPLAINT_B)
        page.click("#trace-submit")
        run = page.locator('#graph [data-kind="ProductionRun"][data-label="FM-240802-12"]')
        run.click()
        link = page.locator('#details-body a[data-parameter="FORM-TEMP"]')
        expect(link).to_have_attribute("href", "#charts/spc?parameter=FORM-TEMP&chart=individuals&step=CELL-S30")
        link.click()

        view = page.locator("#chart-view")
        expect(view).to_have_attribute("data-kind", "individuals", timeout=30_000)
        series = [p.value for p in charts.parameter_series(store, parameter="FORM-TEMP", step="CELL-S30")]
        assert len(series) == 42  # two MES actuals of the step's runs and the 40 edge readings
        lim = spc.individuals_limits(series[:25])  # the default baseline of a long series
        flagged = sorted({v.index for v in spc.run_rule_violations(series, center=lim.center, sigma=lim.sigma)})
        assert flagged and min(flagged) >= 32, "only the drift after the calibration expired is flagged"
        expect(view).to_have_attribute("data-points", "42")
        expect(view).to_have_attribute("data-marks", str(len(flagged)))
        marked = page.eval_on_selector_all("#chart-view svg [id^='violation-x-']", "els => els.map(e => e.id)")
        assert sorted(int(i.rsplit("-", 1)[1]) for i in marked) == flagged
        # drawn in colour, not black: the presentation attributes survived the CSP
        stroke = page.eval_on_selector("#chart-view svg #ucl path", "e => getComputedStyle(e).stroke")
        assert stroke == "rgb(192, 57, 43)"
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#charts").screenshot(path=str(ARTIFACTS / "explorer-spc-chart.png"))

        page.evaluate("window.scrollTo(0, 0)")
        page.click("#pareto-link")
        expect(view).to_have_attribute("data-kind", "pareto", timeout=30_000)
        bars = charts.failure_mode_counts(store)
        expect(view).to_have_attribute("data-points", str(len(bars)))
        assert {(b.label.split()[0], b.complaints, b.defects) for b in bars} >= {("FM-ODOUR", 1, 1)}
        assert page.locator("#chart-view svg [id^='bar-']:not([id$='-defects'])").count() == len(bars)
        page.locator("#charts").screenshot(path=str(ARTIFACTS / "explorer-pareto.png"))
        for name in ("explorer-spc-chart.png", "explorer-pareto.png"):
            assert (ARTIFACTS / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert problems == []
    finally:
        context.close()
