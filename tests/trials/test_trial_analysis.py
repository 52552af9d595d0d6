"""Responders, time to response, ANCOVA/LOCF and the crossover analysis, against closed forms and R."""
import json
import math

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, run_cli
from adpharm.errors import AdpharmInputError
from adpharm.trials.analysis import analyse, binary_comparison, crossover_analysis, read_trial_csv

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them

DATA = REPO / "tests" / "data" / "trials"


def test_binary_comparison_closed_form_and_fisher_from_r():
    r = binary_comparison(27, 40, 3, 40)
    assert r["odds_ratio"] == pytest.approx((27 * 37) / (13 * 3))
    se = math.sqrt(1 / 27 + 1 / 13 + 1 / 3 + 1 / 37)                      # Woolf
    assert r["or_ci_lb"] == pytest.approx(math.exp(math.log(27 * 37 / 39) - 1.959963985 * se))
    assert r["risk_difference"] == pytest.approx(0.6)
    assert r["nnt"] == pytest.approx(1 / 0.6)
    assert r["nnt_ci"] == pytest.approx(sorted([1 / r["rd_ci_ub"], 1 / r["rd_ci_lb"]]))   # Altman 1998
    # R 4.2.2: fisher.test(matrix(c(27, 13, 3, 37), 2))$p.value
    assert r["fisher_p"] == pytest.approx(2.78060133045e-08, rel=1e-9)


def test_nnt_interval_through_infinity_when_rd_includes_zero():
    r = binary_comparison(6, 20, 5, 20)
    assert r["nnt_ci"] is None and "through infinity" in r["nnt_note"]


def test_zero_cell_gets_the_half_correction():
    r = binary_comparison(5, 10, 0, 10)
    assert r["odds_ratio"] == pytest.approx((5.5 * 10.5) / (5.5 * 0.5))


def _long(rows):
    return pd.DataFrame(rows, columns=["subject", "arm", "visit", "baseline", "value"])


def test_time_to_response_and_logrank_match_r_survival():
    """Hand-made trial: first response at day 1, 3, 3, 7 and one censored (arm a); 3, 7 and three
    censored at day 7 (arm b). R 4.2.2 survival 3.4: survdiff(Surv(t, e) ~ g) chisq 1.93779904306."""
    rows = []
    firsts = {"a": [1, 3, 3, 7, None], "b": [3, 7, None, None, None]}
    for arm, fs in firsts.items():
        for i, f in enumerate(fs):
            s = f"{arm}{i}"
            rows.append((s, arm, "baseline", 30, 30))
            for day in (1, 3, 7):
                rows.append((s, arm, f"day{day}", 30, 12 if (f is not None and day >= f) else 25))
    res = analyse(_long(rows), reference="b")
    lr = res.survival["logrank"][0]
    assert lr["chi2"] == pytest.approx(1.93779904306, rel=1e-8)
    assert lr["p"] == pytest.approx(0.163907709961, rel=1e-8)
    a = res.survival["arms"]["a"]
    assert a["events"] == 4 and a["median_days"] == 3.0
    assert a["cumulative_response"]["7"] == pytest.approx(0.8)


def test_ancova_locf_carries_the_last_observation_forward():
    import statsmodels.formula.api as smf
    rng = np.random.default_rng(3)
    rows, locf = [], []
    for i in range(40):
        arm = "drug" if i % 2 else "placebo"
        b = float(rng.normal(30, 4))
        vals = [b - 3 - (arm == "drug") * 2 * k + rng.normal(0, 2) for k in (1, 2, 3)]
        stop = 3 if i % 5 else 1 + i % 2          # every fifth patient leaves early
        rows.append((f"s{i}", arm, "baseline", b, b))
        for k, v in zip(("week2", "week4", "week6")[:stop], vals[:stop]):
            rows.append((f"s{i}", arm, k, b, v))
        locf.append({"arm": arm, "baseline": b, "change": vals[stop - 1] - b})
    res = analyse(_long(rows), reference="placebo")
    ref = smf.ols("change ~ C(arm, Treatment('placebo')) + baseline", data=pd.DataFrame(locf)).fit()
    a = res.ancova_locf[0]
    assert a["visit"] == "week6"
    assert a["estimate"] == pytest.approx(ref.params.iloc[1], abs=1e-10)
    assert a["se"] == pytest.approx(ref.bse.iloc[1], abs=1e-10)


def test_crossover_analysis_removes_the_period_effect():
    """Closed form: change = period effect (period 2: +2) + treatment (-6 on ketamine) + subject noise
    that cancels within subjects; the period-adjusted estimate is exactly -6 with two sequences."""
    rows = []
    for i in range(8):
        seq = ["ketamine", "placebo"] if i % 2 == 0 else ["placebo", "ketamine"]
        for k, arm in enumerate(seq):
            b = 30 + i
            ch = (2 if k == 1 else 0) + (-6 if arm == "ketamine" else 0) + 0.1 * i
            rows += [{"subject": f"s{i}", "arm": arm, "period": k + 1, "visit": "baseline", "baseline": b, "value": b},
                     {"subject": f"s{i}", "arm": arm, "period": k + 1, "visit": "day1", "baseline": b, "value": b + ch}]
    d = pd.DataFrame(rows)
    est = crossover_analysis(d, "placebo", ["baseline", "day1"])
    assert len(est) == 1 and est[0]["estimate"] == pytest.approx(-6.0)
    res = analyse(d)
    assert res.design == "crossover" and res.reference == "placebo"


def test_analyze_from_a_simulated_file_through_the_cli(tmp_path):
    f = tmp_path / "sim.csv"
    run_cli("trial", "simulate", "imipramine-chronic", "--seed", "2", "--format", "csv", "--out", str(f))
    r = run_cli("trial", "analyze", str(f), "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    c = d["mmrm"]["contrasts"]
    assert [x["visit"] for x in c] == ["week1", "week2", "week3", "week4", "week5", "week6"]
    for x in c:
        assert set(x) == {"visit", "arm", "estimate", "se", "df", "ci_lb", "ci_ub", "p"}
        assert x["arm"] == "imipramine"
    assert d["mmrm"]["reference"] == "placebo"
    assert {r["endpoint"] for r in d["responders"]} == {"response", "remission"}
    assert d["survival"]["logrank"][0]["arm"] == "imipramine"
    assert d["ancova_locf"][0]["method"].startswith("ANCOVA")


@pytest.mark.parametrize("text,reason", [
    ("subject,arm,visit,value\n1,a,w1,3\n", "missing column(s) baseline"),
    ("subject,arm,visit,baseline,value\n1,a,w1,30,abc\n", "row 2: column value: 'abc' is not a number"),
    ("subject,arm,visit,baseline,value\n1,a,w1,30,20\n1,a,w1,30,21\n", "has visit 'w1' twice"),
    ("subject,arm,visit,baseline,value\n1,a,w1,30,20\n1,a,w2,31,21\n", "more than one baseline"),
    ("", "the file is empty"),
])
def test_bad_data_files_exit_2_with_file_and_reason(tmp_path, text, reason):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(AdpharmInputError, match="bad.csv"):
        read_trial_csv(f)
    r = run_cli("trial", "analyze", str(f))
    assert r.returncode == 2 and reason in r.stderr and "bad.csv" in r.stderr
    assert r.stdout == ""


def test_bad_options_exit_2(tmp_path):
    f = DATA / "three_arm_own.csv"
    r = run_cli("trial", "analyze", str(f), "--reference", "sham")
    assert r.returncode == 2 and "'sham' is not an arm" in r.stderr
    r = run_cli("trial", "analyze", str(f), "--visit", "week9")
    assert r.returncode == 2 and "week9" in r.stderr
    r = run_cli("trial", "analyze", str(tmp_path / "none.csv"))
    assert r.returncode == 2 and "not found" in r.stderr


def test_figures_from_the_command_line(tmp_path):
    csv, sim_svg, mmrm_png = tmp_path / "s.csv", tmp_path / "s.svg", tmp_path / "m.png"
    r = run_cli("trial", "simulate", "ssri-mdd-8wk", "--n-per-arm", "15", "--seed", "1", "--format", "csv",
                "--out", str(csv), "--plot", str(sim_svg))
    assert r.returncode == 0, r.stderr
    assert sim_svg.read_text().lstrip().startswith("<?xml") and "research use only" in sim_svg.read_text()
    r = run_cli("trial", "analyze", str(csv), "--plot", str(mmrm_png))
    assert r.returncode == 0 and "Warning" not in r.stderr, r.stderr
    assert mmrm_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = run_cli("trial", "analyze", str(csv), "--plot", str(tmp_path / "m.txt"))
    assert r.returncode == 2 and "--plot" in r.stderr and not (tmp_path / "m.txt").exists()


def test_crossover_carryover_check_moves_by_exactly_an_added_carryover():
    """Grizzle's carry-over test compares subjects' period totals between sequences (Jones and Kenward 2014,
    section 2.5): adding c to the second-period ratings of the active-first sequence moves the carry-over
    estimate by exactly c and biases the period-adjusted effect by c / 2 (both closed forms)."""
    from adpharm.trials.analysis import check_trial_data, crossover_analysis
    from adpharm.trials.simulate import simulate_trial
    d = check_trial_data(simulate_trial("ketamine-crossover", 20, seed=1).data)
    first = d[d["period"] == 1].groupby("subject")["arm"].first()
    ab = first[first == "ketamine"].index
    row = lambda data: next(r for r in crossover_analysis(data, "placebo", ["day1"]) if r["visit"] == "day1")  # noqa: E731
    before = row(d)
    shifted = d.copy()
    hit = shifted["subject"].isin(ab) & (shifted["period"] == 2) & (shifted["visit"] == "day1")
    shifted.loc[hit, "value"] += 3.0
    after = row(shifted)
    assert after["carryover_estimate"] - before["carryover_estimate"] == pytest.approx(3.0)
    assert after["estimate"] - before["estimate"] == pytest.approx(-1.5)
    assert 0 <= before["carryover_p"] <= 1
