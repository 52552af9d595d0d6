"""The guide opens in headless Chromium with no console errors and shows both pathway diagrams.

Uses Debian's Chromium (/usr/bin/chromium; `make test` installs it where the machine allows)
driven by Playwright; skipped with a message when either is missing.
"""
import shutil
import subprocess
import sys

import pytest

from conftest import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pw = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed: browser test skipped")]


@pytest.mark.parametrize("engine", ["auto", "builtin"])
def test_guide_opens_without_console_errors_and_shows_pathway_svgs(tmp_path, engine):
    from adpharm.report.comparison import compare
    from adpharm.report.render import render
    page_file = tmp_path / "guide.html"
    page_file.write_text(render(compare("ketamine", "imipramine", diagram_engine=engine), "html"))
    errors = []
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        page.goto(page_file.as_uri())
        for pid in ("glutamatergic", "monoaminergic"):
            svg = page.locator(f"#pathway-{pid} svg")
            assert svg.count() == 1
            box = svg.bounding_box()
            assert box and box["width"] > 200 and box["height"] > 200, pid
        assert "mTORC1" in page.locator("#pathway-glutamatergic").inner_text()
        assert "5-HT1A autoreceptor" in page.locator("#pathway-monoaminergic").inner_text()
        forest = page.locator("figure.forest svg").first
        fbox = forest.bounding_box()
        assert fbox and fbox["width"] > 300, "forest plot not rendered"
        assert "Indirect comparison" in page.locator("#indirect").inner_text()
        cbox = page.locator("figure.course svg").bounding_box()
        assert cbox and cbox["width"] > 400, "simulated course not rendered"
        page.screenshot(path=str(tmp_path / "guide.png"), full_page=False)
        browser.close()
    assert errors == []


def test_make_run_output_is_the_guide():
    """`make run`'s command writes build/ketamine-vs-imipramine.html (run here into a temp dir)."""
    res = subprocess.run([sys.executable, "-m", "adpharm.cli.main", "compare", "ketamine", "imipramine",
                          "--out", "build/ketamine-vs-imipramine.html"], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    html = (REPO / "build" / "ketamine-vs-imipramine.html").read_text()
    # two pathway diagrams, the workflow, the simulated course, and one forest plot per pooled comparison
    assert html.count("<svg") == 4 + html.count('<figure class="forest">')
    assert html.count('<figure class="forest">') >= 2
