"""The web app's pages and JSON API in-process (FastAPI TestClient): content, provenance, safety."""
import json
import time

import pytest
from conftest import data

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them

pytest.importorskip("fastapi")
pytest.importorskip("multipart")
from webclient import client  # noqa: E402

HTML = {"accept": "text/html"}
PAGES = ["/", "/drugs", "/drugs/imipramine", "/compare", "/simulate", "/trials", "/evidence", "/assays", "/transcriptomics"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders_and_says_research_use_only(url):
    r = client().get(url, headers=HTML)
    assert r.status_code == 200
    assert "Research use only" in r.text and "<nav>" in r.text
    assert r.headers["x-content-type-options"] == "nosniff"


def test_drug_profile_has_cited_tables():
    t = client().get("/drugs/imipramine", headers=HTML).text
    # imipramine's SERT Kd of 1.4 nM carries tatsumi1997 (knowledge base, Tatsumi et al. 1997)
    assert 'id="binding"' in t and "1.4" in t and "#ref-tatsumi1997" in t
    assert 'id="ref-tatsumi1997"' in t
    d = client().get("/api/drugs/imipramine").json()
    assert d["profile"]["binding"]["SERT"]["refs"] == ["tatsumi1997", "iversen2006"]


@pytest.mark.parametrize("drug", ["ketamine", "tranylcypromine", "phenelzine", "imipramine", "escitalopram"])
def test_drug_page_marks_flags_as_the_cli_does(drug):
    """The web drug page carries the marks of `adpharm drug NAME` (issue 22): unverified, record not
    checked, confidence; an irreversible inhibitor's KI is named an inactivation constant."""
    from adpharm.knowledge import query
    t = client().get(f"/drugs/{drug}", headers=HTML).text
    refs = query.references()
    prof = query.profile(drug)
    values = list(prof.get("binding", {}).values()) + [v for v in prof.get("pk", {}).values() if v]
    for v in values:
        m = query.marks(v, refs).strip(" ()")
        if m:
            assert m in t, (drug, m)
    for k in query.collect_refs(prof):
        if not refs[k].get("checked", True):
            assert "record not checked" in t
    if drug == "tranylcypromine":
        assert "inactivation constant of an irreversible inhibitor" in t


def test_drug_search_filters_server_side():
    t = client().get("/drugs?q=esketamine", headers=HTML).text
    assert "Esketamine" in t and "Phenelzine" not in t
    assert [r["drug"] for r in client().get("/api/drugs?class=nmda").json()] == ["esketamine", "ketamine"]


def test_unknown_drug_is_a_404_with_suggestions_not_a_traceback():
    r = client().get("/drugs/imipramin", headers=HTML)
    assert r.status_code == 404 and "did you mean" in r.text and "Traceback" not in r.text
    r = client().get("/api/drugs/imipramin")
    assert r.status_code == 404 and "imipramine" in r.json()["error"]


def test_compare_page_and_downloads():
    c = client()
    t = c.get("/compare?a=ketamine&b=imipramine", headers=HTML).text
    assert "Ketamine (racemic) vs Imipramine" in t and 'id="dl-md"' in t
    html = c.get("/compare/guide?a=ketamine&b=imipramine&format=html&download=1")
    assert html.headers["content-disposition"] == 'attachment; filename="ketamine-vs-imipramine.html"'
    assert "Research use only" in html.text and html.text.count("<svg") >= 4
    md = c.get("/compare/guide?a=ketamine&b=imipramine&format=md")
    assert md.headers["content-type"].startswith("text/markdown") and "Research use only" in md.text
    js = c.get("/api/compare?a=ketamine&b=imipramine").json()
    assert js["a"]["name"] == "Ketamine (racemic)" and js["b"]["name"] == "Imipramine"
    assert c.get("/compare/guide?a=ketamine&b=nosuchdrug").status_code == 404
    assert c.get("/compare/guide?a=ketamine&b=imipramine&format=docx").status_code == 422


def test_compare_pdf_has_the_figures():
    pytest.importorskip("weasyprint")
    pdf = client().get("/compare/guide?a=ketamine&b=imipramine&format=pdf&download=1")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    # the guide's pathway diagrams and plots are vector drawings: a PDF with them is far larger than text alone
    assert len(pdf.content) > 100_000


def test_simulate_returns_curves_with_provenance_and_warns_on_high_doses():
    c = client()
    d = c.post("/api/simulate", json={"drug": "ketamine", "regimen": "0.5 mg/kg iv over 40 min", "days": 7,
                                      "n": 20, "seed": 3}).json()
    assert set(d["pk"]["conc_ng_per_ml"]) == {"ketamine", "norketamine"}
    band = d["pk"]["conc_ng_per_ml"]["ketamine"]
    assert len(band["median"]) == len(d["pk"]["time_h"]) and max(band["p95"]) >= max(band["median"])
    assert "NMDA" in d["occupancy"]["percent"]
    assert d["madrs"]["drug"]["median"][0] == pytest.approx(d["madrs"]["placebo"]["median"][0], abs=3)
    assert d["provenance"]["mechanism"]["seed"] == 3 and d["provenance"]["mechanism"]["model"]
    again = c.post("/api/simulate", json={"drug": "ketamine", "regimen": "0.5 mg/kg iv over 40 min", "days": 7,
                                          "n": 20, "seed": 3}).json()
    assert again["madrs"] == d["madrs"]                      # same seed, same numbers
    hi = c.post("/api/simulate", json={"drug": "ketamine", "regimen": "50 mg/kg iv over 40 min", "days": 2, "n": 2, "seed": 1})
    assert hi.status_code == 200 and any("above" in w for w in hi.json()["warnings"])


@pytest.mark.parametrize("body, status, words", [
    ({"drug": "ketamine", "regimen": "banana"}, 400, "no dose found"),
    ({"drug": "ketamine", "regimen": "0.5 mg/kg iv", "n": 100000}, 422, "n: Input should be less than or equal to 200"),
    ({"drug": "ketamine", "regimen": "0.5 mg/kg iv", "days": -1}, 422, "days"),
    ({"drug": "<script>", "regimen": "1 mg po"}, 422, "drug"),
    ({"drug": "aspirin", "regimen": "1 mg po"}, 404, "aspirin"),
])
def test_simulate_bad_fields_give_one_line_messages(body, status, words):
    r = client().post("/api/simulate", json=body)
    assert r.status_code == status and words in r.json()["error"]
    assert "\n" not in r.json()["error"] and "Traceback" not in r.text


def test_trial_simulation_and_a_cancellable_power_job():
    c = client()
    d = c.post("/api/trials/simulate", json={"protocol": "ketamine-crossover", "n_per_arm": 10, "seed": 2}).json()
    assert d["protocol"] == "ketamine-crossover" and d["series"] and d["provenance"]["seed"] == 2
    job = c.post("/api/jobs/power", json={"protocol": "ssri-mdd-8wk", "n_per_arm": 20, "reps": 400, "seed": 1})
    assert job.status_code == 202
    jid = job.json()["id"]
    for _ in range(200):
        j = c.get(f"/api/jobs/{jid}").json()
        if j["done"] > 0:
            break
        time.sleep(0.05)
    assert j["state"] == "running" and 0 < j["done"] < 400 and j["total"] == 400
    assert c.delete(f"/api/jobs/{jid}").status_code == 200
    for _ in range(200):
        j = c.get(f"/api/jobs/{jid}").json()
        if j["state"] != "running":
            break
        time.sleep(0.05)
    assert j["state"] == "cancelled" and j["done"] < 400
    small = c.post("/api/jobs/power", json={"protocol": "ketamine-crossover", "n_per_arm": 10, "reps": 4, "seed": 1}).json()
    for _ in range(600):
        j = c.get(f"/api/jobs/{small['id']}").json()
        if j["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert j["state"] == "done" and 0 <= j["result"]["power"] <= 1 and j["result"]["provenance"]["seed"] == 1
    assert c.get("/api/jobs/nope").status_code == 404


def test_meta_api_matches_the_cli_engine():
    # BCG-like toy rows; the estimate equals the engine's rma on the same rows (one mechanism).
    rows = [{"study": "a", "ai": 4, "n1i": 123, "ci": 11, "n2i": 139}, {"study": "b", "ai": 6, "n1i": 306, "ci": 29, "n2i": 303},
            {"study": "c", "ai": 3, "n1i": 231, "ci": 11, "n2i": 220}]
    d = client().post("/api/meta", json={"data": rows, "measure": "RR", "method": "DL"}).json()
    import pandas as pd

    from adpharm.evidence import escalc, rma
    ref = rma(escalc("RR", pd.DataFrame(rows)), method="DL")
    assert d["beta"] == pytest.approx(ref.beta) and d["k"] == 3 and d["forest_svg"].startswith("<svg")
    bad = client().post("/api/meta", json={"data": [{"study": "a", "ai": -1, "n1i": 10, "ci": 1, "n2i": 10}], "measure": "RR"})
    assert bad.status_code == 400 and "ai" in bad.json()["error"]


def test_evidence_page_bundled_and_uploaded():
    c = client()
    t = c.post("/evidence", data={"source": "bundled", "a": "TCA", "b": "Placebo", "outcome": "responders",
                                  "measure": "RR", "method": "REML"}, headers=HTML).text
    assert 'id="forest"' in t and "Linde 2015" in t
    f = data("linde2015_classes_primary_care")
    up = c.post("/evidence", data={"source": "upload", "measure": "RR", "method": "REML"},
                files={"file": ("linde.csv", f.read_bytes(), "text/csv")}, headers=HTML)
    assert up.status_code == 400 and "linde.csv" in up.text         # arm-level file: not metafor's columns
    assert "/tmp/" not in up.text and "upload-0" not in up.text      # the temporary name never shows


def test_assay_uploads_real_files():
    c = client()
    fst = data("behaviopy_forcedswim_bins")
    d = c.post("/api/assays/fst", files={"file": (fst.name, fst.read_bytes(), "text/csv")}).json()
    assert d["kind"] == "fst" and d["summary"] and d["figure_svg"].startswith("<svg")
    abf = [data("nphys_LTDctrl_2018_08_13_2005"), data("nphys_LTDctrl_2018_08_13_2011")]
    r = c.post("/api/assays/ltp", files={"file": (abf[0].name, abf[0].read_bytes()), "post": (abf[-1].name, abf[-1].read_bytes())})
    assert r.status_code == 200, r.text
    assert "change_percent" in json.dumps(r.json()["result"])


def test_assays_page_reads_like_the_command_line():
    """Issue 40: the page dropped row labels (no group names, no LTP windows) and showed the tests and
    warnings only in a JSON dump. Now the summary keeps its labels and the CLI's lines are on the page."""
    import re
    c = client()
    fst = data("behaviopy_forcedswim_ts")
    t = c.post("/assays", data={"kind": "fst", "control": "Control"}, files={"file": (fst.name, fst.read_bytes(), "text/csv")},
               headers=HTML).text
    table = t[t.index('id="assay-summary"'):t.index("</table>", t.index('id="assay-summary"'))]
    assert "<th>group</th>" in table and "<td>Control</td>" in table and "<td>Fluoxetine</td>" in table
    lines = re.search(r'<pre id="assay-lines"[^>]*>(.*?)</pre>', t, re.S).group(1)
    assert "primary test: Welch&#39;s t test (unit: animal; n Control 14, Fluoxetine 18)" in lines
    assert "group:minute: F(5, 150) = 2.938" in lines and "p(GG) = 0.0216" in lines
    assert "flag: identical minute profiles: animals 56, 75, 76, 77, 78, 79, 80" in lines
    b, p = data("nphys_LTDctrl_2018_08_13_2007"), data("nphys_LTDctrl_2018_08_13_2009")
    t = c.post("/assays", data={"kind": "ltp"}, files={"file": (b.name, b.read_bytes()), "post": (p.name, p.read_bytes())},
               headers=HTML).text
    assert "<th>window</th>" in t and "<td>last 10 min</td>" in t and "change over the last 10 min: -2" in t
    assert "warning: baseline runs up" in t


def test_western_form_takes_a_crop():
    """Issue 40: the web form had no crop; the gelquant replicate-1 crop gives the CLI's fractions."""
    gel = data("gelquant_gel-example")
    d = client().post("/api/assays/western", data={"lanes": "5", "crop": "30,300,205,480"},
                      files={"file": (gel.name, gel.read_bytes(), "image/png")}).json()
    rel = [row["relative_to_lane1"] for row in d["summary"]]
    assert rel == pytest.approx([1.0, 0.547, 0.364, 0.214, 0.127], abs=0.005)
    assert d["summary"][0]["lane"] == 1                     # the row label survives
    r = client().post("/assays", data={"kind": "western", "crop": "30,300"},
                      files={"file": (gel.name, gel.read_bytes(), "image/png")}, headers=HTML)
    assert r.status_code == 400 and "crop: &#39;30,300&#39; is not x0,y0,x1,y1" in r.text


@pytest.mark.parametrize("form, files, words", [
    ({"kind": "spt"}, {"file": ("cages.csv", b"a,b\n1,2\n", "text/csv")}, "cages.csv: missing column"),
    ({"kind": "fst"}, None, "file: choose a file to upload"),
    ({"kind": "western", "lanes": "99"}, {"file": ("b.png", b"\x89PNG\r\n\x1a\n", "image/png")}, "lanes: &#39;99&#39; must be"),
    ({"kind": "qpcr"}, {"file": ("x.csv", b"a\n1\n", "text/csv")}, "kind: Input should be"),
])
def test_a_form_error_is_shown_above_the_form(form, files, words):
    r = client().post("/assays", data=form, files=files, headers=HTML)
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith("text/html")
    assert 'id="form-error"' in r.text and words in r.text and 'id="assay-form"' in r.text


@pytest.mark.parametrize("name, data, words", [
    ("blot.exe", b"MZ\x90\x00", "not an accepted file type"),
    ("blot.png", b"GIF89a....", "the content is not a png file"),
    ("blot.png", b"", "the file is empty"),
    ("../../etc/passwd.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "passwd.png"),
])
def test_malformed_uploads_give_messages(name, data, words):
    r = client().post("/api/assays/western", files={"file": (name, data)})
    assert r.status_code == 400 and words in r.json()["error"]
    assert "/etc" not in r.json()["error"]


def test_engine_errors_name_the_users_file_not_the_temporary_one():
    r = client().post("/api/assays/fst", files={"file": ("mice.csv", b"x,y\n1,2\n")})
    assert r.status_code == 400 and r.json()["error"].startswith("mice.csv: missing column 'animal'")
    assert "upload-" not in r.json()["error"]


def test_upload_size_limit():
    small = client(max_upload_bytes=1000)
    r = small.post("/api/assays/fst", files={"file": ("big.csv", b"animal,group,immobility\n" + b"1,a,1\n" * 1000)})
    assert r.status_code == 413 and "upload limit" in r.json()["error"]


def test_transcriptomics_page_with_real_tables():
    a = data("flxmetade_DESeq_Control.v.Stress_GSE205325_converted")
    b = data("flxmetade_DESeq_Fl.v.Stress_GSE205325_converted")
    t = client().post("/transcriptomics", headers=HTML,
                      files={"disease": (a.name, a.read_bytes()), "drug": (b.name, b.read_bytes())},
                      data={"disease_contrast": "treatment,S,C", "drug_contrast": "treatment,F,S"})
    assert t.status_code == 200, t.text[:500]
    assert "Shared reference" in t.text and 'id="reversal-honest"' in t.text


def test_openapi_schema_lists_the_api():
    s = client().get("/api/openapi.json").json()
    assert {"/api/simulate", "/api/compare", "/api/meta", "/api/jobs/power", "/api/assays/{kind}"} <= set(s["paths"])
    assert "Research use only" in s["info"]["description"]


def test_evidence_upload_in_metafor_columns_and_the_bundled_api(tmp_path):
    # The uploaded rows are the bundled Linde 2015 TCA-vs-placebo table written out as CSV: the
    # page must give the same pooled estimate as the bundled route (one engine, two doors).
    from adpharm.evidence.bundled import linde2015_pairwise
    csv = linde2015_pairwise("TCA", "Placebo").to_csv(index=False).encode()
    c = client()
    page = c.post("/evidence", data={"source": "upload", "measure": "RR", "method": "REML"},
                  files={"file": ("tca.csv", csv, "text/csv")}, headers=HTML)
    assert page.status_code == 200 and 'id="forest"' in page.text and "uploaded tca.csv" in page.text
    bundled = c.get("/api/meta/bundled?a=TCA&b=Placebo").json()
    assert bundled["k"] == 8 and f"{bundled['beta']:.3f}" in page.text
    assert c.get("/api/meta/bundled?a=TCA&b=TCA").status_code == 400
    assert c.get("/api/meta/bundled?a=TCA&b=Unicorn").status_code == 400


def test_api_gives_what_the_command_line_gives():
    # One function behind both doors: the API's PK/occupancy and indirect comparison equal the CLI's JSON.
    from conftest import run_cli
    api = client().post("/api/pk", json={"drug": "imipramine", "regimen": "75 mg po daily", "hours": 72, "n": 1}).json()
    cli = json.loads(run_cli("pk", "occupancy", "--drug", "imipramine", "--regimen", "75 mg po daily", "--hours", "72",
                             "--format", "json").stdout)
    assert api["occupancy"] == cli["occupancy"] and api["summary"] == cli["summary"]
    ind = client().get("/api/meta/indirect?a=ssri&b=tca").json()
    cli = json.loads(run_cli("meta", "indirect", "ssri", "tca", "--via", "placebo", "--format", "json").stdout)
    assert ind["beta"] == pytest.approx(cli["beta"]) and ind["se"] == pytest.approx(cli["se"])
    assert ind["certainty"] == cli["certainty"]
    no = client().get("/api/meta/indirect?a=ketamine&b=imipramine").json()
    cli = json.loads(run_cli("meta", "indirect", "ketamine", "imipramine", "--format", "json").stdout)
    assert no["estimable"] is False and no["reasons"] == cli["reasons"]
    mech = client().post("/api/mechanism", json={"drug": "ketamine", "regimen": "0.5 mg/kg iv over 40 min", "days": 7, "n": 10})
    assert mech.status_code == 200 and mech.json()["provenance"]["seed"] == 1
    net = client().get("/api/meta/network").json()
    assert "Placebo" in net["treatments"] and net["k"] > 30


def test_tdm_api_gives_what_the_command_line_gives_and_bad_input_is_a_400():
    from conftest import run_cli
    body = {"drug": "imipramine", "regimen": "150 mg po daily", "measured_ng_per_ml": 60, "n": 200}
    api = client().post("/api/pk/tdm", json=body)
    assert api.status_code == 200
    d = api.json()
    cli = json.loads(run_cli("pk", "tdm", "--drug", "imipramine", "--regimen", "150 mg po daily", "--measured", "60",
                             "--n", "200", "--format", "json").stdout)
    assert d["expected_ng_per_ml"] == cli["expected_ng_per_ml"] and d["verdict"] == cli["verdict"]
    assert d["svg"].lstrip().startswith("<svg") and "Research use only" in d["provenance"]["notice"]
    for bad, status in [({"regimen": "150 mg po"}, 400), ({"sample_h": 30}, 400), ({"drug": "nosuch"}, 404),
                        ({"measured_ng_per_ml": -1}, 422)]:
        r = client().post("/api/pk/tdm", json={**body, **bad})
        assert r.status_code == status and "error" in r.json()
    page = client().get("/simulate", headers=HTML).text
    assert 'id="tdm-form"' in page and "imipramine" in page and 'name="unit"' in page


def test_tdm_api_takes_each_analyte_in_nmol_per_l_and_proposes_a_dose():
    body = {"drug": "imipramine", "regimen": "150 mg po daily", "measured": "imipramine=428,desipramine=357",
            "unit": "nmol/L", "n": 200}
    d = client().post("/api/pk/tdm", json=body).json()
    assert d["unit"] == "nmol/L" and "expected_nmol_per_l" in d
    assert {p["quantity"] for p in d["measured"]} == {"imipramine", "desipramine", "imipramine + desipramine"}
    assert d["dose_proposal"]["dose_mg_per_day"] > 0 and "dose proposal" in d["text"]
    for bad, status in [({"measured": "nordoxepin=3"}, 400), ({"unit": "mg/L"}, 422),
                        ({"since_start_h": 48, "sample_h": 3}, 400)]:
        r = client().post("/api/pk/tdm", json={**body, **bad})
        assert r.status_code == status and "error" in r.json(), (bad, r.status_code)


def test_a_result_names_the_users_file_and_never_the_servers_folder():
    """Issue 40: POST /api/assays/western reported the temporary upload path as its source; every string of a
    result now names the user's file instead."""
    import io

    import numpy as np
    from PIL import Image
    img = np.full((60, 120), 230, dtype=np.uint8)
    for x0 in (10, 50, 90):
        img[25:35, x0:x0 + 20] = 60            # three dark bands on a light membrane
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    r = client().post("/api/assays/western", files={"file": ("my blot.png", buf.getvalue())}, data={"lanes": "3"})
    assert r.status_code == 200, r.text
    text = json.dumps(r.json())
    assert "adpharm-upload" not in text and "upload-0" not in text
    assert r.json()["result"]["source"] == "my blot.png"


def test_the_app_is_one_thin_router_per_area():
    """Issue 38, item 7: every route lives in its area's router (drugs, compare, simulate, trials, jobs,
    evidence, assays, transcriptomics, site); the app module holds only the safety nets."""
    import inspect
    import re

    import adpharm.web.app as web_app
    from adpharm.web.routers import AREAS
    by_area = {a.__name__.rsplit(".", 1)[1]: {(r.path, m) for r in a.router(None).routes for m in r.methods}
               for a in AREAS}
    assert set(by_area) == {"site", "drugs", "compare", "simulate", "trials", "jobs", "evidence", "assays",
                            "transcriptomics"} and all(by_area.values())
    by_path = set().union(*by_area.values())
    assert len(by_path) >= 35
    assert not re.search(r"@\w+\.(get|post|put|delete)\(", inspect.getsource(web_app))
    served = client().get("/api/openapi.json").json()["paths"]
    assert {p for p, _ in by_path if p.startswith("/api/") and p != "/api/openapi.json"} == set(served)
    assert ("/api/assays/{kind}", "POST") in by_path and ("/assays", "POST") in by_path


def test_an_engine_error_names_its_field_in_the_json():
    """Issue 38, item 2: the web returns the engine's parameter as ``field`` (the CLI shows its flag)."""
    r = client().post("/api/assays/western", files={"file": ("blot.png", b"\x89PNG\r\n\x1a\n", "image/png")},
                      data={"lanes": "99"})
    assert r.status_code == 400 and r.json()["field"] == "lanes" and "from 1 to 48" in r.json()["error"]
