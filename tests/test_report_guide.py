"""The comparison guide: content traceable to sources, diagrams, and self-contained rendering."""
import math
import re

import pytest

from adpharm.report import diagrams
from adpharm.report.comparison import _risk_ratio, compare
from adpharm.report.render import render

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them


@pytest.fixture(scope="module")
def guide():
    return compare("ketamine", "imipramine")


def _cells(obj, path="$"):
    """Every cell (a dict holding 'value' and 'refs') in the comparison, with its JSON path."""
    if isinstance(obj, dict):
        if "value" in obj and "refs" in obj:
            yield path, obj
        for k, v in obj.items():
            yield from _cells(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _cells(v, f"{path}[{i}]")


def test_every_nonempty_cell_has_a_value_and_resolvable_references(guide):
    d = guide.to_dict()
    keys = {r["key"] for r in d["references"]}
    cells = list(_cells({k: v for k, v in d.items() if k != "references"}))
    assert len(cells) > 100
    for path, c in cells:
        assert str(c["value"]).strip(), path
        assert c["refs"], path
        assert set(c["refs"]) <= keys, (path, set(c["refs"]) - keys)


def test_at_a_glance_has_the_rows_readers_expect(guide):
    rows = {r["attribute"]: r for r in guide.to_dict()["at_a_glance"]}
    for attr in ("Primary mechanism", "Neurotransmitter system", "Onset of antidepressant action",
                 "Efficacy in treatment-resistant depression", "Key signalling pathways", "Administration"):
        assert rows[attr]["a"] and rows[attr]["b"], attr
    # onset comes from cited mechanism facts: hours for ketamine (X10), weeks for imipramine (X21)
    # each says what it measures (issue 39)
    onset_a, onset_b = (rows["Onset of antidepressant action"][k]["value"] for k in "ab")
    assert onset_a.startswith("2-24 hours (first separation") and onset_b.startswith("2-3 weeks (first separation")


def test_references_are_numbered_in_order_of_first_use(guide):
    refs = guide.to_dict()["references"]
    assert [r["number"] for r in refs] == list(range(1, len(refs) + 1))
    assert all(r["citation"] for r in refs)


def test_risk_ratio_matches_closed_form():
    # Kocsis 1988: imipramine 13/29 vs placebo 3/25. RR = (13/29)/(3/25) = 3.7356;
    # SE(log RR) = sqrt(1/13 - 1/29 + 1/3 - 1/25) = 0.57946 (Katz log method).
    rr, lo, hi = _risk_ratio(13, 29, 3, 25)
    assert rr == pytest.approx(3.7356, abs=1e-4)
    se = math.sqrt(1 / 13 - 1 / 29 + 1 / 3 - 1 / 25)
    assert lo == pytest.approx(rr * math.exp(-1.959964 * se), rel=1e-9)
    assert (round(lo, 3), round(hi, 3)) == (1.200, 11.631)


def test_efficacy_rows_come_from_bundled_trials(guide):
    eff = guide.to_dict()["efficacy"]
    imi = {r["trial"]: r for r in eff["trials"]["b"]}
    assert imi["kocsis1988"]["response"]["value"] == "13/29 (44.8 %)"
    ket = {r["trial"]: r for r in eff["trials"]["a"]}
    assert ket["su2023"]["comparator_response"]["value"] == "5/42 (11.9 %)"
    # a value the source table marks M (memory) is flagged unverified
    assert ket["zarate2006"]["response"]["verified"] is False


def test_drug_without_own_trials_falls_back_to_class_level_trials():
    d = compare("sertraline", "phenelzine").to_dict()
    rows = d["efficacy"]["trials"]["a"]
    assert rows and all(r["class_level"] for r in rows)
    assert all(r["trial"].startswith("linde2015_") for r in rows)


def test_builtin_layout_draws_every_node_and_edge():
    d = compare("ketamine", "imipramine", diagram_engine="builtin").to_dict()
    for p in d["pathways"]:
        assert p["engine"] == "builtin"
        assert p["svg"].startswith("<svg") and p["svg"].rstrip().endswith("</svg>")
        assert p["svg"].count("marker-end=\"url(#") == len(p["edges"])
    glut = next(p for p in d["pathways"] if p["id"] == "glutamatergic")
    assert "mTORC1" in " ".join(diagrams.svg_text(glut["svg"]))


def test_builtin_layering_puts_every_edge_downward_except_reversed_cycles():
    nodes = [{"id": x, "label": x, "kind": "process"} for x in "abcd"]
    edges = [{"source": s, "target": t, "effect": "activates", "timescale": ""}
             for s, t in [("a", "b"), ("b", "c"), ("c", "b"), ("c", "d")]]
    layer, back = diagrams._layers([n["id"] for n in nodes], [(e["source"], e["target"]) for e in edges])
    assert back == {("c", "b")}
    assert layer == {"a": 0, "b": 1, "c": 2, "d": 3}


@pytest.mark.skipif(diagrams.shutil.which("dot") is None, reason="Graphviz 'dot' not installed; built-in layout is used")
def test_graphviz_layout_when_available():
    d = compare("ketamine", "imipramine", diagram_engine="graphviz").to_dict()
    assert all(p["engine"] == "graphviz" and "<svg" in p["svg"] for p in d["pathways"])


def test_html_is_self_contained_with_notice_and_diagrams(guide):
    html = render(guide, "html")
    assert html.count("Research use only") >= 2
    assert len(re.findall(r"<figure id=\"pathway-", html)) == 2
    forests = html.count('<figure class="forest">')
    assert forests >= 2  # pooled ketamine vs placebo and imipramine vs placebo (k = 2 each)
    assert html.count("<svg") == 4 + forests  # two pathways + workflow + simulated course + forest plots
    assert not re.search(r"<(script|link|img|iframe)\b", html)  # nothing fetched, nothing executed
    assert re.search(r'<sup class="cite">\[<a href="#ref-\d+">', html)


def test_pathway_edge_sources_name_the_nodes_as_the_diagrams_do(guide):
    """The list of edge sources under each pathway diagram uses the node labels, not internal ids."""
    from adpharm.knowledge import query
    html = render(guide, "html")
    for key, pw in query.pathways().items():
        figure = html[html.index(f'<figure id="pathway-{key}">'):]
        sources = figure[figure.index("Edge sources:"):figure.index("</figure>")]
        for n in pw["nodes"]:
            assert not re.search(rf"\b{re.escape(n['id'])}\b", re.sub(r"<[^>]+>", "", sources)) or n["id"] in n["label"]
        e = pw["edges"][0]
        label = {n["id"]: n["label"] for n in pw["nodes"]}
        assert f"{label[e['source']]} &rarr; {label[e['target']]}" in sources


def test_markdown_renders_every_section(guide):
    md = render(guide, "md")
    for h in ("## At a glance", "## Signalling pathways", "## Binding affinities", "## Comparative efficacy",
              "## Side-effect profiles", "## Experimental protocols", "## References"):
        assert h in md
    for protocol in ("Forced swim test", "Sucrose preference test", "Ketamine IV protocol",
                     "Imipramine protocol", "Western blot", "slice electrophysiology"):
        assert protocol in md


def test_summary_and_to_dict(guide):
    df = guide.summary()
    assert list(df.columns) == ["attribute", "Ketamine (racemic)", "Imipramine"]
    assert guide.to_dict()["provenance"]["adpharm_version"]


def test_efficacy_pools_the_bundled_trials_and_compares_indirectly(guide):
    """Imipramine vs placebo: Kocsis 1988 (13/29 vs 3/25) and Stewart 1993 (22/48 vs 9/52), pooled by
    DerSimonian-Laird; the guide shows the risk ratio (rma's), keeps the odds ratio in JSON, and the indirect
    comparison through placebo is not estimable (24 h vs week 6-8; TRD vs chronic depression)."""
    import numpy as np
    import pandas as pd

    from adpharm.evidence import escalc, rma
    eff = guide.to_dict()["efficacy"]
    imi = next(r for r in eff["pooled"]["b"] if r["outcome"] == "Response" and r["comparator"] == "placebo")
    assert imi["k"] == 2 and set(imi["trials"]) == {"kocsis1988", "stewart1993"}
    table = pd.DataFrame({"ai": [13, 22], "n1i": [29, 48], "ci": [3, 9], "n2i": [25, 52]})
    rr = rma(escalc("RR", table), method="DL")
    assert imi["estimate"]["value"].startswith(f"RR {np.exp(rr.beta):.2f} (95 % CI {np.exp(rr.ci_lb):.2f}-")
    orr = rma(escalc("OR", table), method="DL")
    assert imi["odds_ratio"]["estimate"] == pytest.approx(np.exp(orr.beta), rel=1e-12)
    assert "dersimonian1986" in imi["estimate"]["refs"] and "kocsis1988" in imi["estimate"]["refs"]
    assert imi["trial_labels"] == "Kocsis 1988; Stewart 1993"
    ind = eff["indirect"]
    assert ind["a"] == "ketamine" and ind["b"] == "imipramine" and ind["estimable"] is False
    assert [r.split(":")[0] for r in ind["reasons"]] == ["time window", "population"]
    html = render(guide, "html")
    assert '<ul id="not-estimable">' in html and "Not estimable." in html


def test_pooled_efficacy_falls_back_to_the_class():
    d = compare("sertraline", "ketamine").to_dict()["efficacy"]
    ssri = next(r for r in d["pooled"]["a"] if r["outcome"] == "Response" and r["comparator"] == "placebo")
    assert ssri["class_level"] and ssri["k"] == 7  # the seven Linde 2015 SSRI-placebo trials (Table 2)


def test_guide_shows_the_simulated_course_of_both_drugs(guide):
    d = guide.to_dict()
    sim = d["simulation"]
    rows = {r["drug"]: r for r in sim["rows"]}
    assert set(rows) == {"ketamine", "imipramine"}
    assert rows["ketamine"]["onset_day"] == 1
    day1 = {r: next(x for x in rows[r]["days"] if x["day"] == 1)["separation"] for r in rows}
    assert day1["ketamine"] > 2 > day1["imipramine"]
    # imipramine separates in week 1 with a minority of its later effect; ketamine's day 1 is several times more
    early = rows["imipramine"]["early_onset"]
    assert 0.2 <= early["week1_share"] <= 0.5 and day1["ketamine"] > 3 * early["week1_separation"]
    assert "cascade model" in sim["model"] and sim["seed"] == d["provenance"]["simulation"]["seed"]
    assert {"zarate2006", "kocsis1988"} <= set(sim["refs"])
    html = render(guide, "html")
    assert 'id="simulation"' in html and "Simulated by the mechanism model, not observed" in html
    assert '<figure class="course"><svg' in html


def test_guide_names_a_side_it_cannot_simulate():
    # duloxetine has a PK set but no regimen to simulate in the knowledge base
    sim = compare("sertraline", "duloxetine").to_dict()["simulation"]
    assert [r["drug"] for r in sim["rows"]] == ["sertraline"] and sim["missing"] == ["Duloxetine"]


def test_compare_ketamine_maoi_simulates_both_sides():
    """Issue 22: the MAOI class is simulated (phenelzine, its first member with a regimen), onset in weeks."""
    sim = compare("ketamine", "maoi").to_dict()["simulation"]
    rows = {r["drug"]: r for r in sim["rows"]}
    assert set(rows) == {"ketamine", "phenelzine"} and sim["missing"] == []
    assert rows["ketamine"]["onset_day"] == 1
    early = rows["phenelzine"]["early_onset"]
    assert early["week1_share"] < 0.6 and early["reference_separation"] > 2 * early["week1_separation"] / 1.2


def test_simulated_course_figure_is_byte_reproducible(guide):
    # salted SVG ids and no date: the same guide gives the same bytes (run twice, in-process cache cleared)
    from adpharm.report import simulation
    first = guide.to_dict()["simulation"]["svg"]
    simulation._simulate.cache_clear()
    again = compare("ketamine", "imipramine").to_dict()["simulation"]["svg"]
    assert first == again and 'id="' in first


def test_guide_renders_the_executable_trial_protocols(guide):
    ids = [t["id"] for t in guide.to_dict()["trial_protocols"]]
    assert ids == ["imipramine-chronic", "ketamine-crossover", "ketamine-trd-iv", "ketamine-vs-midazolam"]
    html = render(guide, "html")
    assert 'id="trial-imipramine-chronic"' in html and "adpharm trial simulate ketamine-trd-iv" in html
    assert "14-day single-blind placebo lead-in" in html
    assert "## Trial protocols that run" in render(guide, "md")


def _sides():
    from adpharm.web.services import side_names
    return [s["id"] for s in side_names()]


@pytest.mark.parametrize("side", _sides())
def test_every_bundled_drug_and_class_builds_and_renders(side):
    """Every side of the compare menu builds a guide (against its pair partner) and renders: a profile
    with an onset given as a single value (citalopram) once ended in a traceback."""
    other = "imipramine" if side != "imipramine" else "ketamine"
    c = compare(side, other, simulate=False)
    html, md = render(c, "html"), render(c, "md")
    assert "Research use only" in html and "NaN" not in md
    assert c.sections["at_a_glance"][3]["a"] is None or c.sections["at_a_glance"][3]["a"]["value"]


def test_the_simulated_course_from_a_forked_worker_is_the_one_simulated_in_process():
    """`adpharm compare` simulates in a worker process while it pools the evidence; same seed, same numbers and
    figure bytes. A daemonic process (a web worker) may not fork, so it simulates in process."""
    import multiprocessing as mp

    from adpharm.knowledge import query
    from adpharm.report.simulation import simulated_course, start_course
    con = query.database()
    pa, pb = query.profile("esketamine", con), query.profile("sertraline", con)
    background = start_course(pa, pb, background=True)()
    assert background == simulated_course(pa, pb)
    proc = mp.current_process()
    was, proc.daemon = proc.daemon, True
    try:
        result = start_course(pa, pb, background=True)
        assert mp.active_children() == []          # nothing forked: it runs when asked, in this process
        assert result() == background
    finally:
        proc.daemon = was
