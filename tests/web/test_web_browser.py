"""Click through every page of the web app in Debian's Chromium (Playwright), as a new user would.

A real uvicorn server on a free loopback port; real files from ../shared/data are uploaded; the
console must stay free of errors; screenshots are kept in build/browser-screenshots/.
Skipped with a message when Chromium or Playwright is missing.
"""
import shutil
import socket
import threading
import time

import pytest
from conftest import REPO, data

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pw = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
uvicorn = pytest.importorskip("uvicorn", reason="web extra not installed")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed: browser test skipped")]
SHOTS = REPO / "build" / "browser-screenshots"


@pytest.fixture(scope="module")
def server():
    from adpharm.web.app import create_app
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    t.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = ctx.new_page()
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
    ctx.close()


def test_home_and_every_nav_link(page, server):
    page.goto(server + "/")
    for label, heading in [("Drugs", "Drugs"), ("Compare", "Compare"), ("Simulate", "Simulate a regimen"),
                           ("Trials", "Virtual trials"), ("Evidence", "Meta-analysis"), ("Assays", "Lab assays"),
                           ("Transcriptomics", "Signature comparison")]:
        page.click(f"nav >> text={label}")
        assert page.locator("h1").inner_text() == heading
        assert "Research use only" in page.locator(".notice").inner_text()
    assert page.errors == [], page.errors


def test_drug_search_and_profile(page, server):
    page.goto(server + "/drugs")
    page.fill("#drug-search", "ketamine")
    visible = page.locator("#drug-table tbody tr:visible")
    assert visible.count() == 2                      # esketamine and ketamine
    page.click("text=Ketamine (racemic)")
    assert "NMDA" in page.locator("#binding").inner_text()
    assert page.locator("#references li").count() > 3
    assert page.errors == [], page.errors


def test_compare_read_and_download(page, server):
    page.goto(server + "/compare")
    page.select_option("#side-a", "esketamine")
    page.select_option("#side-b", "imipramine")
    page.click("text=Read the guide")
    page.wait_for_selector("#guide-title", timeout=120_000)
    frame = page.frame_locator("#guide")
    frame.locator("#pathway-glutamatergic svg").wait_for(timeout=60_000)
    with page.expect_download() as dl:
        page.click("#dl-md")
    path = dl.value.path()
    assert dl.value.suggested_filename == "esketamine-vs-imipramine.md"
    assert "Research use only" in open(path, encoding="utf-8").read()
    assert page.errors == [], page.errors


def test_simulate_draws_three_interactive_plots(page, server):
    page.goto(server + "/simulate")
    page.select_option("#sim-drug", "ketamine")
    page.fill("#sim-regimen", "0.5 mg/kg iv over 40 min")
    page.fill("#sim-days", "7")
    page.fill("#sim-n", "20")
    page.click("#sim-run")
    page.wait_for_function("document.getElementById('sim-status').textContent.startsWith('Done')", timeout=60_000)
    for pid in ("plot-conc", "plot-occ", "plot-madrs"):
        assert page.locator(f"#{pid} .main-svg").count() >= 1, pid
    assert "seed 1" in page.locator("#sim-provenance").inner_text()
    assert page.errors == [], page.errors
    page.fill("#sim-regimen", "banana")
    page.click("#sim-run")
    page.wait_for_selector("#sim-status.error")
    assert "no dose found" in page.locator("#sim-status").inner_text()
    # the browser logs the refused request itself; nothing else may appear
    assert all("status of 400" in e for e in page.errors), page.errors


def test_trials_simulate_and_cancel_power(page, server):
    page.goto(server + "/trials")
    page.select_option("#trial-protocol", "ketamine-crossover")
    page.fill("#trial-n", "10")
    page.click("#trial-run")
    page.wait_for_function("document.getElementById('trial-status').textContent.startsWith('Done')", timeout=60_000)
    assert page.locator("#trial-table tbody tr").count() > 2
    page.select_option("#trial-protocol", "ssri-mdd-8wk")
    page.fill("#trial-n", "20")
    page.fill("#power-reps", "400")
    page.click("#power-run")
    page.wait_for_function("document.getElementById('power-progress').value > 0", timeout=60_000)
    page.click("#power-cancel")
    page.wait_for_function("document.getElementById('power-status').textContent.startsWith('Cancelled')", timeout=60_000)
    assert page.errors == [], page.errors


def test_evidence_bundled_forest(page, server):
    page.goto(server + "/evidence")
    page.select_option("#meta-a", "SSRI")
    page.select_option("#meta-b", "Placebo")
    page.click("#meta-run")
    page.wait_for_selector("#forest svg")
    assert page.locator("#forest svg").bounding_box()["width"] > 300
    assert "SSRI vs Placebo" in page.locator("#meta-title").inner_text()
    assert page.errors == [], page.errors


def test_assays_upload_a_real_file(page, server):
    page.goto(server + "/assays")
    page.select_option("#assay-kind", "fst")
    page.set_input_files("#assay-file", str(data("behaviopy_forcedswim_bins")))
    page.click("#assay-run")
    page.wait_for_selector("#assay-summary")
    assert page.locator("#assay-summary tbody tr").count() >= 2
    assert page.locator("#assay-figure svg").count() == 1
    assert "primary test: Welch's t test" in page.locator("#assay-lines").inner_text()
    # a malformed upload gives its message above the form, which stays on the page (issue 40)
    page.goto(server + "/assays")
    page.select_option("#assay-kind", "western")
    page.set_input_files("#assay-file", str(data("behaviopy_forcedswim_bins")))
    page.click("#assay-run")
    assert "not an accepted file type" in page.locator("#form-error").inner_text()
    assert page.locator("#assay-form").count() == 1
    assert all("status of 400" in e for e in page.errors), page.errors


def test_transcriptomics_upload_two_tables(page, server):
    page.goto(server + "/transcriptomics")
    page.set_input_files("#tx-disease", str(data("flxmetade_DESeq_Control.v.Stress_GSE205325_converted")))
    page.set_input_files("#tx-drug", str(data("flxmetade_DESeq_Fl.v.Stress_GSE205325_converted")))
    page.fill("input[name=disease_contrast]", "treatment,S,C")
    page.fill("input[name=drug_contrast]", "treatment,F,S")
    page.click("#tx-run")
    page.wait_for_selector("#rrho svg", timeout=60_000)
    assert "98 %" in page.locator("#reversal-naive").inner_text()
    assert page.errors == [], page.errors
