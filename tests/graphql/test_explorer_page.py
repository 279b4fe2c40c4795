"""The trace explorer page at ``/`` in headless Chromium.

A real uvicorn server on loopback serves the app with the demo store; Debian's
``chromium`` (installed by ``.ci/run``; never downloaded by playwright) loads the page,
signs in with an API key, types a complaint id and reads the drawn SVG nodes through
their ``data-node-id`` / ``data-kind`` / ``data-failed`` attributes. A screenshot is kept
in ``test-artifacts/trace-explorer.png``.

The tests use playwright's sync API in plain (non-async) test functions, so they never
run inside pytest-asyncio's event loop.
"""

from __future__ import annotations

import itertools
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, expect, sync_playwright

from qualitas.auth import AuthStore
from qualitas.demo import CELL_LOT, COMPLAINT_A, COMPLAINT_B
from qualitas.graphql.app import create_app
from qualitas.settings import Settings
from qualitas.store import GraphStore
from tests.graphql.serving import serve_app

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = REPO / "test-artifacts" / "trace-explorer.png"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NODES_JS = """els => els.map(e => ({
  id: e.getAttribute('data-node-id'), kind: e.getAttribute('data-kind'),
  label: e.getAttribute('data-label'), failed: e.getAttribute('data-failed')}))"""


@dataclass(frozen=True)
class ExplorerApp:
    app: FastAPI
    #: The key the page signs in with; None where the server reads anonymously.
    api_key: str | None


def _app(settings: Settings, store: GraphStore) -> ExplorerApp:
    """The app under test and the API key of its user: the one place users and keys are made.

    The user has the ``compliance`` role, which may read traces and gap reports and
    generate and download packs.
    """
    users = AuthStore(settings.auth_db_path)
    try:
        users.add_user("explorer", "compliance")
        key = users.create_key("explorer", label="trace explorer page test")
    finally:
        users.close()
    return ExplorerApp(app=create_app(settings, store=store), api_key=key.secret)


@dataclass(frozen=True)
class Server:
    base: str
    api_key: str | None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_store: GraphStore) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("explorer")
    under_test = _app(Settings(store=root / "store"), demo_store)
    with serve_app(under_test.app) as base:
        yield Server(base=base, api_key=under_test.api_key)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the trace explorer test drives Debian's chromium package, "
            "which .ci/run installs (apt-get install chromium); playwright never downloads a browser here."
        )
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@dataclass
class PageProblems:
    """JavaScript errors and CSP violations seen while a test ran."""

    errors: list[str]


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, PageProblems]]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    problems = PageProblems(errors=[])
    tab = context.new_page()
    tab.on("pageerror", lambda exc: problems.errors.append(f"page error: {exc}"))

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            problems.errors.append(f"console: {message.text}")

    def dialog(opened: Dialog) -> None:
        problems.errors.append(f"dialog: {opened.message}")
        opened.dismiss()

    tab.on("console", console)
    tab.on("dialog", dialog)
    yield tab, problems
    context.close()


def _open(page: Page, server: Server) -> None:
    page.goto(f"{server.base}/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    if server.api_key is not None:
        page.fill("#api-key", server.api_key)
        page.click("#signin")
        expect(page.locator("#whoami")).to_have_text("Signed in as explorer (compliance).")


def _trace(page: Page, ident: str) -> None:
    page.fill("#trace-id", ident)
    page.click("#trace-submit")
    page.wait_for_selector("#graph svg [data-node-id], #message:not([hidden])")


def _nodes(page: Page) -> dict[str, dict[str, str]]:
    return {n["label"]: n for n in page.eval_on_selector_all("#graph [data-node-id]", NODES_JS)}


def _node(page: Page, kind: str, label: str) -> str:
    return f'#graph [data-kind="{kind}"][data-label="{label}"]'


def test_page_is_served_with_a_strict_csp(server: Server) -> None:
    page = httpx.get(f"{server.base}/", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'id="trace-form"' in page.text
    for asset, media in (("explorer.js", "javascript"), ("explorer.css", "text/css")):
        response = httpx.get(f"{server.base}/static/{asset}", timeout=10)
        assert response.status_code == 200
        assert media in response.headers["content-type"]
    assert httpx.get(f"{server.base}/static/../app.py", timeout=10).status_code == 404


def test_complaint_b_draws_the_expired_calibration(server: Server, page: tuple[Page, PageProblems]) -> None:
    tab, problems = page
    _open(tab, server)
    _trace(tab, COMPLAINT_B)
    nodes = _nodes(tab)
    expected = {
        COMPLAINT_B: "Complaint",
        "LFVEV5A26R0005128": "SerialUnit",
        CELL_LOT: "Lot",
        "FM-240802-12": "ProductionRun",
        "FC-12": "Equipment",
        "CAL-FC12-2023": "CalibrationCertificate",
    }
    assert {label: nodes[label]["kind"] for label in expected if label in nodes} == expected
    assert nodes["FC-12"]["failed"] == "true"
    assert nodes["CAL-FC12-2023"]["failed"] == "true"
    assert nodes["VA-LINE-1"]["failed"] == "false"  # a calibrated line stays unmarked
    assert nodes["LFVEV5A26R0005128"]["failed"] == "false"
    assert {n["kind"] for n in nodes.values()} >= {"Supplier", "SupplierDeclaration", "TestReport"}
    assert tab.locator(f"{_node(tab, 'Equipment', 'FC-12')} .badge").count() == 1

    tab.click(_node(tab, "Equipment", "FC-12"))
    details = tab.locator("#details-body")
    expect(details).to_contain_text("Cell formation cabinet, 512 channels")
    expect(details).to_contain_text("CAL-FC12-2023")
    expect(details).to_contain_text("2024-06-30")
    expect(details).to_contain_text("calibration_invalid")
    expect(details.locator('[lang="zh"]').first).to_contain_text("校准")
    expect(tab.locator(_node(tab, "Equipment", "FC-12"))).to_have_attribute("aria-pressed", "true")

    expect(tab.locator("#findings [data-finding-kind]")).to_have_count(1)
    expect(tab.locator("#findings")).to_contain_text("FC-12 was not in calibration during run FM-240802-12")
    expect(tab.locator("#summary")).to_contain_text("QX-EV5")

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.is_file()
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert SCREENSHOT.stat().st_size > 50_000  # a drawn graph, not a blank page
    assert problems.errors == []


def test_node_details_open_from_the_keyboard(server: Server, page: tuple[Page, PageProblems]) -> None:
    tab, problems = page
    _open(tab, server)
    _trace(tab, COMPLAINT_B)
    calibration = tab.locator(_node(tab, "CalibrationCertificate", "CAL-FC12-2023"))
    calibration.focus()
    tab.keyboard.press("Enter")
    details = tab.locator("#details-body")
    expect(details).to_contain_text("Valid until")
    expect(details).to_contain_text("2024-06-30")
    expect(details.locator("tr.failed")).to_have_count(1)
    assert "failed check" in (calibration.get_attribute("aria-label") or "")
    assert problems.errors == []


def test_complaint_a_marks_the_material_mismatch(server: Server, page: tuple[Page, PageProblems]) -> None:
    tab, problems = page
    _open(tab, server)
    _trace(tab, COMPLAINT_A)
    nodes = _nodes(tab)
    assert nodes["NPP-24-0913"]["kind"] == "Lot"
    assert nodes["NPP-24-0913"]["failed"] == "true"
    assert nodes["CTI-NB-NPP-24-0913"]["failed"] == "true"  # the test report that showed GF25
    assert nodes["IM-240917-07"]["failed"] == "true"  # parameters out of tolerance, old parameter set
    assert nodes["RHP-2409-118"]["failed"] == "false"

    tab.click(_node(tab, "Lot", "NPP-24-0913"))
    details = tab.locator("#details-body")
    expect(details).to_contain_text("PBT+GF25")
    expect(details).to_contain_text("PBT+GF30")
    expect(details).to_contain_text("Ningbo Precision Plastics")

    tab.click(_node(tab, "ProductionRun", "IM-240917-07"))
    expect(details).to_contain_text("Parameter set in force")
    expect(details.locator("tr.failed")).to_have_count(3)
    kinds = tab.locator("#findings [data-finding-kind]").evaluate_all(
        "els => els.map(e => e.getAttribute('data-finding-kind'))"
    )
    assert "material_mismatch" in kinds
    assert "parameter_set_outdated" in kinds
    assert problems.errors == []


def test_lot_id_shows_the_recall_scope(server: Server, page: tuple[Page, PageProblems]) -> None:
    tab, problems = page
    _open(tab, server)
    _trace(tab, CELL_LOT)
    expect(tab.locator("#summary")).to_contain_text(f"Recall scope of lot {CELL_LOT}")
    nodes = _nodes(tab)
    assert nodes[CELL_LOT]["kind"] == "Lot"
    assert nodes["BP75-24-001337"]["kind"] == "SerialUnit"
    assert nodes["LFVEV5A26R0005128"]["kind"] == "SerialUnit"
    assert nodes[COMPLAINT_B]["kind"] == "Complaint"

    tab.click(_node(tab, "Complaint", COMPLAINT_B))
    tab.click("#trace-this")
    expect(tab.locator(_node(tab, "Equipment", "FC-12"))).to_have_attribute("data-failed", "true")
    assert problems.errors == []


def test_unknown_complaint_shows_an_error(server: Server, page: tuple[Page, PageProblems]) -> None:
    tab, problems = page
    _open(tab, server)
    _trace(tab, "CMP-0000-0000")
    message = tab.locator("#message")
    expect(message).to_be_visible()
    expect(message).to_contain_text("no complaint with id 'CMP-0000-0000'")
    assert tab.locator("#graph [data-node-id]").count() == 0
    expect(tab.locator("#result")).to_be_hidden()

    tab.select_option("#trace-kind", "complaint")
    _trace(tab, "CMP-0000-0001")
    expect(message).to_contain_text("CMP-0000-0001")
    assert problems.errors == []


@pytest.mark.parametrize(
    "hostile",
    [
        '<img src=x onerror="window.__pwned=1">',
        '"><svg onload="window.__pwned=1">',
        "</script><script>window.__pwned=1</script>",
    ],
)
def test_hostile_ids_are_shown_as_text(server: Server, page: tuple[Page, PageProblems], hostile: str) -> None:
    tab, problems = page
    _open(tab, server)
    _trace(tab, hostile)
    message = tab.locator("#message")
    expect(message).to_contain_text(hostile)
    assert message.locator("img, svg, script").count() == 0
    assert tab.evaluate("() => window.__pwned") is None
    assert problems.errors == []


def test_auth_failures_are_explained(server: Server, page: tuple[Page, PageProblems]) -> None:
    tab, _ = page
    tab.goto(f"{server.base}/")
    expect(tab.locator("body")).to_have_attribute("data-ready", "true")
    # No key: the server refuses business data to anonymous callers.
    _trace(tab, COMPLAINT_B)
    expect(tab.locator("#message")).to_contain_text("sign in")
    assert tab.locator("#graph [data-node-id]").count() == 0

    # A wrong key: 401 from the server.
    tab.fill("#api-key", "qk_not-a-real-key")
    tab.click("#signin")
    expect(tab.locator("#whoami")).to_contain_text("not accepted")
    _trace(tab, COMPLAINT_B)
    expect(tab.locator("#message")).to_contain_text("API key was not accepted")

    # FORBIDDEN from GraphQL, as a role without the right gets it.
    tab.route(
        "**/graphql",
        lambda route: route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps(
                {
                    "data": None,
                    "errors": [{"message": "role 'edge' may not query trace", "extensions": {"code": "FORBIDDEN"}}],
                }
            ),
        ),
    )
    _trace(tab, COMPLAINT_B)
    expect(tab.locator("#message")).to_contain_text("Not allowed")
    expect(tab.locator("#message")).to_contain_text("role 'edge' may not query trace")


def test_key_stays_in_session_storage_and_sign_out_clears_it(server: Server, page: tuple[Page, PageProblems]) -> None:
    tab, _ = page
    if server.api_key is None:
        pytest.skip("the server under test reads anonymously; no key to sign in with")
    sent: list[str | None] = []
    tab.on("request", lambda r: sent.append(r.headers.get("authorization")) if r.url.endswith("/graphql") else None)
    _open(tab, server)
    _trace(tab, COMPLAINT_B)
    assert server.api_key not in tab.url
    assert tab.evaluate("() => sessionStorage.getItem('qualitas.apiKey')") == server.api_key
    assert f"Bearer {server.api_key}" in sent
    assert tab.locator("#api-key").input_value() == ""

    tab.click("#signout")
    expect(tab.locator("#whoami")).to_have_text("Signed out.")
    assert tab.evaluate("() => sessionStorage.getItem('qualitas.apiKey')") is None
    expect(tab.locator("#result")).to_be_hidden()


def test_gap_report_and_pack_download(server: Server, page: tuple[Page, PageProblems], tmp_path: Path) -> None:
    tab, problems = page
    _open(tab, server)
    _trace(tab, COMPLAINT_B)
    expect(tab.locator("#gap-product")).to_have_value("QX-EV5")
    expect(tab.locator("#gap-market")).to_have_value("CN")

    tab.click("#gap-run")
    gap = tab.locator("#gap-result")
    expect(gap).to_contain_text("Gap report: QX-EV5, CN", timeout=30_000)
    expect(gap).to_contain_text("Violated")
    expect(gap).to_contain_text("FC-12")
    with tab.expect_download() as json_download:
        tab.click("#gap-download")
    report = json.loads(Path(json_download.value.path()).read_text(encoding="utf-8"))
    assert (report["model"], report["market"]) == ("QX-EV5", "CN")

    tab.click("#pack-generate")
    expect(tab.locator("#pack-download")).to_be_visible(timeout=60_000)
    with tab.expect_download() as zip_download:
        tab.click("#pack-download")
    saved = tmp_path / zip_download.value.suggested_filename
    zip_download.value.save_as(saved)
    assert saved.name.startswith("QX-EV5-CN-") and saved.suffix == ".zip"
    with zipfile.ZipFile(saved) as zf:
        assert "manifest.json" in zf.namelist()
        assert "gap-report/gap-report.pdf" in zf.namelist()
    assert problems.errors == []


# ---------------------------------------------------------------- layout, failure paths, units (issue 14, item 22)

ARTIFACTS = REPO / "test-artifacts"
#: Complaint B's way to the expired calibration: complaint, vehicle, vehicle assembly, pack,
#: pack assembly, cell lot, formation run, formation cabinet, its certificate.
PATH_B = [
    COMPLAINT_B,
    "LFVEV5A26R0005128",
    "VA-241120-5128",
    "BP75-24-001337",
    "PA-240815-02",
    CELL_LOT,
    "FM-240802-12",
    "FC-12",
    "CAL-FC12-2023",
]
#: Complaint A's ways to the cover-flap lot with the wrong material (and its test report) and
#: to the injection moulding run with parameters out of tolerance.
PATHS_A = [
    [
        COMPLAINT_A,
        "LFVEV5A28R0004711",
        "VA-241104-4711",
        "CPC-240918",
        "AS-240918-02",
        "NPP-24-0913",
        "CTI-NB-NPP-24-0913",
    ],
    ["AS-240918-02", "FLP-240917", "IM-240917-07"],
]
EDGES_JS = """els => els.map(e => ({
  source: e.getAttribute('data-source'), target: e.getAttribute('data-target'),
  relation: e.getAttribute('data-relation'), path: e.getAttribute('data-failure-path'),
  stroke: getComputedStyle(e).stroke}))"""
#: Every box on the page whose content is wider than the box (cut off or spilling over),
#: and every node label whose drawn text is not the whole name.
OVERFLOW_JS = """() => {
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    if ((e.closest('svg') && !e.closest('foreignObject')) || e.closest('.visually-hidden')) continue;
    if (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1) {
      out.push(`${e.tagName}.${e.className}: ${e.textContent.slice(0, 60)}`);
    }
  }
  for (const g of document.querySelectorAll('#graph .node')) {
    const name = g.getAttribute('data-label');
    const label = g.querySelector('.node-text .label');
    if (!label || label.textContent !== name) out.push(`label of ${name} drawn as ${label && label.textContent}`);
    const box = g.querySelector('rect.box').getBoundingClientRect();
    const text = g.querySelector('.node-text').getBoundingClientRect();
    if (text.right > box.right + 1 || text.bottom > box.bottom + 1 ||
        text.left < box.left - 1 || text.top < box.top - 1) {
      out.push(`text of ${name} runs out of its box`);
    }
  }
  return out;
}"""


def _ids_by_label(page: Page) -> dict[str, str]:
    return {label: n["id"] for label, n in _nodes(page).items()}


def _red_edges(page: Page) -> list[dict[str, str]]:
    edges = page.eval_on_selector_all("#graph path.edge", EDGES_JS)
    return [e for e in edges if e["path"] == "true"]


def _assert_red_path(page: Page, labels: list[str]) -> None:
    ids = _ids_by_label(page)
    red = {frozenset((e["source"], e["target"])): e for e in _red_edges(page)}
    for a, b in itertools.pairwise(labels):
        edge = red.get(frozenset((ids[a], ids[b])))
        assert edge is not None, f"no red edge between {a} and {b}"
        assert edge["stroke"] == "rgb(220, 38, 38)", f"{a} - {b} is drawn {edge['stroke']}"


def test_the_path_to_each_failed_check_is_drawn_red(server: Server, page: tuple[Page, PageProblems]) -> None:
    tab, problems = page
    _open(tab, server)
    _trace(tab, COMPLAINT_B)
    _assert_red_path(tab, PATH_B)
    # Only that path is red: eight edges, no edge off it (not the vehicle line's calibration).
    ids = _ids_by_label(tab)
    assert len(_red_edges(tab)) == len(PATH_B) - 1
    on_path = {ids[label] for label in PATH_B}
    assert all({e["source"], e["target"]} <= on_path for e in _red_edges(tab))
    nodes = _nodes(tab)
    assert nodes["VA-241120-5128"]["failed"] == "false"  # on the way, not failed itself
    assert tab.locator(f'{_node(tab, "ProductionRun", "VA-241120-5128")}[data-on-path="true"]').count() == 1
    assert tab.locator(f'{_node(tab, "Equipment", "VA-LINE-1")}[data-on-path="false"]').count() == 1

    _trace(tab, COMPLAINT_A)
    expect(tab.locator("#summary")).to_contain_text(f"Complaint {COMPLAINT_A}")  # the new drawing, not B's
    for path in PATHS_A:
        _assert_red_path(tab, path)
    assert problems.errors == []


@pytest.mark.parametrize("width", [1440, 1024])
def test_layout_fits_the_window_with_whole_readable_names(server: Server, browser: Browser, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        _open(tab, server)
        _trace(tab, COMPLAINT_B)
        tab.click(_node(tab, "Equipment", "FC-12"))
        expect(tab.locator("#details-body")).to_contain_text("CAL-FC12-2023")

        scroll_width, inner_width = tab.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        assert scroll_width <= inner_width, f"the page scrolls sideways at {width} px: {scroll_width} > {inner_width}"
        assert tab.evaluate(OVERFLOW_JS) == []
        # Fit to width: the drawing never needs a scroll bar of its own.
        drawn, room = tab.evaluate(
            "() => [Number(document.querySelector('#graph svg').getAttribute('width')), "
            "document.querySelector('#graph').clientWidth]"
        )
        assert drawn <= room
        if width == 1440:
            # Readable: the labels are drawn at 11 px or more (12 px at actual size).
            scale, font = tab.evaluate(
                "() => { const s = document.querySelector('#graph svg');"
                " return [Number(s.getAttribute('width')) / Number(s.getAttribute('data-width')),"
                " parseFloat(getComputedStyle(document.querySelector('#graph .node-text .label')).fontSize)]; }"
            )
            assert font * scale >= 11, f"labels drawn at {font * scale:.1f} px"

        shot = ARTIFACTS / f"trace-explorer-{width}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 50_000

        # The lot view with its "Made by" table open fits as well.
        _trace(tab, CELL_LOT)
        expect(tab.locator("#summary")).to_contain_text(f"Recall scope of lot {CELL_LOT}")
        tab.click(_node(tab, "Lot", CELL_LOT))
        expect(tab.locator("#details-body table.made-by")).to_be_visible()
        assert tab.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
        assert tab.evaluate(OVERFLOW_JS) == []
        tab.screenshot(path=str(ARTIFACTS / f"trace-explorer-lot-{width}.png"), full_page=True)
        assert errors == []
    finally:
        context.close()


def test_units_are_shown_with_their_symbols(server: Server, page: tuple[Page, PageProblems]) -> None:
    tab, problems = page
    _open(tab, server)
    _trace(tab, COMPLAINT_A)
    tab.click(_node(tab, "ProductionRun", "IM-240917-07"))
    details = tab.locator("#details-body")
    for shown in ("18.1 s", "60.4 MPa", "284.2 °C", "275 ± 5 °C", "65 ± 3 MPa"):
        expect(details).to_contain_text(shown)
    expect(tab.locator("#findings")).to_contain_text("Melt temperature was 284.2 °C, outside 275 ± 5 °C")
    text = tab.locator("body").inner_text()
    for code in ("DEG_C", "MegaPA", " SEC"):
        assert code not in text
    assert problems.errors == []


def test_lot_view_links_to_the_bad_calibration(server: Server, page: tuple[Page, PageProblems]) -> None:
    tab, problems = page
    _open(tab, server)
    _trace(tab, CELL_LOT)
    expect(tab.locator("#summary")).to_contain_text("made in FM-240802-12 on FC-12")
    nodes = _nodes(tab)
    assert nodes["FC-12"]["failed"] == "true"
    assert nodes["CAL-FC12-2023"]["failed"] == "true"
    _assert_red_path(tab, [CELL_LOT, "FM-240802-12", "FC-12", "CAL-FC12-2023"])
    expect(tab.locator("#findings [data-finding-kind]")).to_have_count(1)
    expect(tab.locator("#findings [data-finding-kind='calibration_invalid']")).to_contain_text("CAL-FC12-2023")

    tab.click(_node(tab, "Lot", CELL_LOT))
    made_by = tab.locator("#details-body table.made-by")
    expect(made_by).to_contain_text("FM-240802-12")
    expect(made_by.locator("tr.failed")).to_have_count(1)
    link = made_by.locator(f'[data-select="{nodes["CAL-FC12-2023"]["id"]}"]')
    expect(link).to_have_text("CAL-FC12-2023")
    link.click()
    expect(tab.locator(_node(tab, "CalibrationCertificate", "CAL-FC12-2023"))).to_have_attribute("aria-pressed", "true")
    expect(tab.locator("#details-body")).to_contain_text("Valid until")
    expect(tab.locator("#details-body")).to_contain_text("2024-06-30")
    assert problems.errors == []


def test_a_note_about_findings_is_not_numbered_as_one(server: Server, page: tuple[Page, PageProblems]) -> None:
    tab, problems = page
    _open(tab, server)
    _trace(tab, "ALC-24-0731")  # a bought-in lot with no failed check
    expect(tab.locator("#summary")).to_contain_text("Recall scope of lot ALC-24-0731")
    expect(tab.locator("#findings li")).to_have_count(0)
    note = tab.locator("#findings-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("No failed checks on lot ALC-24-0731")

    _trace(tab, COMPLAINT_B)
    expect(tab.locator("#summary")).to_contain_text(f"Complaint {COMPLAINT_B}")
    expect(tab.locator("#findings li")).to_have_count(1)
    expect(note).to_be_hidden()
    assert problems.errors == []
