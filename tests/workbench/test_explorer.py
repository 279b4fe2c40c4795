"""The explorer's quality workbench panel in headless Chromium (Debian's chromium, as the
trace explorer test): a traced complaint brings its FMEAs, control plan and CAPAs, and
``#workbench/step/CELL-S30`` links to a process step's. Screenshot in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from qualitas.auth import AuthStore
from qualitas.graphql.app import create_app
from qualitas.settings import Settings
from qualitas.workbench.capa import capa_from_complaint, save_capa
from qualitas.workbench.fmea import save_fmea
from qualitas.workbench.wizard import build_fmea, read_answers
from tests.workbench.stores import ANSWERS, REPO, demo_store, serve_http

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = REPO / "test-artifacts" / "workbench.png"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    store, trail, settings = demo_store(tmp_path_factory.mktemp("wb-explorer"))
    save_fmea(store, build_fmea(store, read_answers(ANSWERS)).fmea, agent="tests", audit=trail)
    save_capa(
        store,
        capa_from_complaint(store, "CMP-2025-0057", by="tests", capa_id="CAPA-2025-057"),
        agent="tests",
        change="open",
        audit=trail,
    )
    users = AuthStore(settings.auth_db_path)
    try:
        users.add_user("viewer", "auditor")
        key = users.create_key("viewer", label="workbench page test").secret
    finally:
        users.close()
    try:
        with serve_http(create_app(Settings(store=settings.store), store=store)) as base:
            yield base, key
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium; playwright downloads no browser")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield launched
        launched.close()


def _signed_in(browser: Browser, base: str, key: str, hash_: str = "") -> Page:
    page = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{base}/")
    page.fill("#api-key", key)
    page.click("#signin")
    expect(page.locator("#whoami")).to_have_text("Signed in as viewer (auditor).")
    if hash_:
        page.evaluate("h => { window.location.hash = h }", hash_)
    page.errors = errors  # type: ignore[attr-defined]
    return page


def test_a_traced_complaint_brings_its_fmea_control_plan_and_capa(server: tuple[str, str], browser: Browser) -> None:
    base, key = server
    page = _signed_in(browser, base, key)
    page.fill("#trace-id", "CMP-2025-0057")
    page.click("#trace-submit")
    view = page.locator("#workbench-view")
    expect(view).to_have_attribute("data-fmeas", "PFMEA-CELL-S30")
    expect(view).to_have_attribute("data-capas", "CAPA-2025-057")
    expect(view).to_have_attribute("data-items", "4")
    expect(view.locator("table").nth(1)).to_contain_text("45 ± 2 °C (parameter set v3)")
    expect(view.locator("table").nth(1)).to_contain_text("SPC individuals (I-MR) chart of formation.temperature")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.locator("#workbench").screenshot(path=str(SCREENSHOT))
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_step_link_and_an_unknown_product(server: tuple[str, str], browser: Browser) -> None:
    base, key = server
    page = _signed_in(browser, base, key, "#workbench/step/CELL-S30")
    expect(page.locator("#workbench-view")).to_have_attribute("data-items", "4")
    page.select_option("#workbench-kind", "product")
    page.fill("#workbench-id", "<img src=x onerror=alert(1)>")
    page.click("#workbench-show")
    expect(page.locator("#workbench-view")).to_have_attribute("data-fmeas", "")
    assert page.locator("#workbench img").count() == 0  # ids are text, never markup
    assert page.errors == []  # type: ignore[attr-defined]
