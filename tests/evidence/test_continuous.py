"""Continuous outcomes of the bundled trials (issue 20): per-trial MD/SMD with the method named,
crossover trials, time windows kept apart, reproduction of published pooled figures, and metafor.

Pinned R output: tests/data/metafor_continuous_reference.json, written by
validation/metafor/run_metafor_continuous.R (R 4.2.2, metafor 3.8.1), e.g.
    es <- escalc("SMD", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=arms)
    rma(yi, vi, data=es, method="DL");  rma(yi=yi, sei=sei, data=yi, method="REML")
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adpharm.errors import AdpharmInputError
from adpharm.evidence import bundled
from adpharm.evidence.continuous import combine_groups, continuous_table, pool_continuous
from adpharm.knowledge import query
from adpharm.knowledge.schema import FAMILIES, WINDOWS
from tests.conftest import run_cli

DATA = Path(__file__).resolve().parents[1] / "data"
REF = json.loads((DATA / "metafor_continuous_reference.json").read_text())


def _row(t, study):
    r = t.rows.set_index("study").loc[study]
    return r


def test_combine_groups_equals_the_moments_of_the_pooled_sample():
    """The Cochrane formula for combining groups is exact: it gives the mean and SD (n - 1) of the union."""
    rng = np.random.default_rng(3)
    parts = [rng.normal(m, s, n) for m, s, n in ((1.0, 2.0, 11), (4.0, 1.0, 7), (-2.0, 3.0, 23))]
    n, m, s = combine_groups(np.array([len(p) for p in parts]), np.array([p.mean() for p in parts]),
                             np.array([p.std(ddof=1) for p in parts]))
    allx = np.concatenate(parts)
    assert (n, m, s) == pytest.approx((len(allx), allx.mean(), allx.std(ddof=1)), rel=1e-12)


def test_aspire_i_and_ii_pooled_lsmd_is_reproduced_from_the_bundled_rows():
    """Canuso 2021 (pooled ASPIRE I+II, PMC8407443): LSMD at 24 h -3.8 (95 % CI -5.75 to -1.89). The two
    trials' own LSMDs (-3.8 and -3.9, SE 1.39 each) pooled with common-effect weights give the same to 0.05."""
    p = pool_continuous("esketamine", "placebo", "24h", "MD", method="FE", studies=["aspire1", "aspire2"])
    assert p.k == 2 and p.scale == "MADRS"
    assert (p.estimate, p.ci_lb, p.ci_ub) == pytest.approx((-3.8, -5.75, -1.89), abs=0.05)


def test_transform_pooled_response_is_reproduced_within_its_window():
    """TRANSFORM-1+2 day-28 response 182/310 vs 94/208 (transform_pooled2021), in the week-4 window only."""
    t = bundled.comparison(bundled.trial_arms(), "esketamine", "ad_placebo", window="week4")
    assert (t["ai"].sum(), t["n1i"].sum(), t["ci"].sum(), t["n2i"].sum()) == (182, 310, 94, 208)
    assert bundled.comparison(bundled.trial_arms(), "esketamine", "ad_placebo", window="24h").empty


def test_daly_doses_combined_against_the_shared_placebo_lie_among_the_per_dose_lsmds():
    """Daly 2018 Table 1, 24 h: LS mean differences from placebo -9.1, -10.0, -10.7 (28, 56, 84 mg). The three
    dose arms combined (Cochrane) against the one placebo arm give a difference between the smallest and largest."""
    r = _row(continuous_table("esketamine", "placebo", "24h"), "daly2018")
    assert -10.7 <= r["md"] <= -9.1
    assert "arms combined" in r["md_method"]


def test_crossover_methods_are_stated_per_trial():
    t = continuous_table("ketamine", "placebo", "24h")
    assert "paired within-patient difference" in _row(t, "lapidus2014")["md_method"]
    # Lapidus 2014: 7.6 (95 % CI 3.9-11.3) in ketamine's favour, SE from the CI
    assert _row(t, "lapidus2014")["md"] == -7.6
    assert _row(t, "lapidus2014")["md_se"] == pytest.approx((11.3 - 3.9) / (2 * 1.959964), rel=1e-6)
    b = _row(continuous_table("ketamine", "placebo", "day2-3"), "berman2000")
    assert "analysed as parallel groups (Elbourne 2002" in b["md_method"]
    assert b["md_se"] ** 2 == pytest.approx(10 ** 2 / 7 + 12 ** 2 / 7)


def test_a_crossover_without_the_data_a_method_needs_is_named_not_dropped():
    """Zarate 2006 (crossover, response percentages only) is named with its reason, with or without unverified
    values; Phillips 2019 (crossover vs midazolam, numbers completing only) likewise."""
    for flag in (False, True):
        p = pool_continuous("ketamine", "placebo", "24h", include_unverified=flag)
        assert any(n.startswith("zarate2006") for n in p.notes)
    p = pool_continuous("ketamine", "midazolam", "24h")
    assert any(n.startswith("phillips2019") and "no mean change" in n for n in p.notes)
    r = run_cli("meta", "pool", "ketamine", "--vs", "midazolam", "--window", "day2-3", "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["k"] == 0 and out["estimate"] is None and any("fava2020" in n for n in out["notes"])


def test_windows_are_never_pooled_together():
    """Daly 2018 reports at 2 h, 24 h and day 8: each time point lands in its own window's pool only."""
    seen = {}
    for w in WINDOWS:
        t = continuous_table("nmda_antagonist", "placebo", w)
        if len(t.rows):
            assert set(t.rows["window"]) == {w}
            seen[w] = set(t.rows["study"])
    assert {w for w, s in seen.items() if "daly2018" in s} == {"2-4h", "24h", "day7"}


def test_unverified_values_stay_out_unless_asked_and_are_flagged_when_in():
    """TRANSFORM-2's arm SDs are from memory (M): its SMD exists only with include_unverified, flagged."""
    t = continuous_table("esketamine", "ad_placebo", "week4")
    assert pd.isna(_row(t, "transform2")["smd"]) and bool(_row(t, "transform2")["verified"])
    assert any(e["study"] == "transform1" for e in t.excluded)
    tu = continuous_table("esketamine", "ad_placebo", "week4", include_unverified=True)
    r = _row(tu, "transform2")
    assert r["smd"] < 0 and not bool(r["verified"])
    assert any(e["study"] == "transform1" and "SE" in e["reason"] for e in tu.excluded)


def test_md_pools_one_scale_and_smd_one_kind_of_score():
    p = pool_continuous("ketamine", "placebo", "day2-3", "MD")
    assert p.studies == ["lii2023"] and any("Berman 2000" in n and "HDRS-25" in n for n in p.notes)
    s = pool_continuous("ketamine", "placebo", "day2-3", "SMD")
    assert s.studies == ["berman2000"] and any("Lii 2023" in n and "10.5.2" in n for n in s.notes)


def test_ketamine_vs_midazolam_smd_beside_wilkinson_2019():
    """Wilkinson 2019 (patient-level analysis of the midazolam-controlled trials): day-1 effect size d = 0.7
    (95 % CI 0.4-0.9) for ketamine vs midazolam. The bundled trial gives the same size and direction."""
    p = pool_continuous("ketamine", "midazolam", "24h", "SMD")
    assert 0.4 <= -p.estimate <= 0.9


def test_ketamine_vs_placebo_at_24h_points_the_way_of_the_published_meta_analyses():
    """Han 2016 (nine saline-controlled trials): ketamine arms respond 52.2 % at 24 h; the bundled trials'
    ketamine arms respond within a binomial SE of it, and both MD and OR favour ketamine."""
    t = bundled.comparison(bundled.trial_arms(), "ketamine", "placebo", window="24h")
    p, n = t["ai"].sum() / t["n1i"].sum(), t["n1i"].sum()
    assert abs(p - 0.522) <= np.sqrt(0.522 * 0.478 / n)
    md = pool_continuous("ketamine", "placebo", "24h", "MD", method="DL")
    assert md.ci_ub < 0


@pytest.mark.parametrize("measure", ["MD", "SMD"])
def test_bundled_arm_records_match_metafor_escalc(measure):
    """The arm-based records' per-trial MD/SMD equal metafor's escalc on the same arms (SDs of Murrough 2013
    from SE x sqrt(n), to 5 decimals in the pinned input)."""
    ref = REF[f"arms_{measure}"]
    arms = pd.read_csv(DATA / "metafor_inputs_continuous_arms.csv")
    ours = {"berman2000": _row(continuous_table("ketamine", "placebo", "day2-3"), "berman2000"),
            "murrough2013": _row(continuous_table("ketamine", "midazolam", "24h"), "murrough2013"),
            "lii2023_day1": _row(continuous_table("ketamine", "placebo", "24h"), "lii2023"),
            "correia_melo2020": _row(continuous_table("ketamine", "esketamine", "24h"), "correia_melo2020")}
    col, se = ("md", "md_se") if measure == "MD" else ("smd", "smd_se")
    for i, study in enumerate(arms["study"]):
        if study not in ours or pd.isna(ours[study][col]):
            continue
        assert ours[study][col] == pytest.approx(ref["yi"][i], rel=1e-5)
        assert ours[study][se] ** 2 == pytest.approx(ref["vi"][i], rel=1e-5)


@pytest.mark.parametrize("method", ["DL", "REML"])
@pytest.mark.parametrize("measure", ["MD", "SMD"])
def test_meta_run_on_metafor_arm_columns_matches_r(measure, method):
    r = run_cli("meta", "run", str(DATA / "metafor_inputs_continuous_arms.csv"), "--measure", measure,
                "--method", method, "--format", "json")
    assert r.returncode == 0, r.stderr
    out, ref = json.loads(r.stdout), REF[f"arms_{measure}"][method]
    for q in ("beta", "se", "ci_lb", "ci_ub", "tau2", "I2", "Q"):
        assert out[q] == pytest.approx(ref[q], rel=1e-6, abs=1e-9), q


@pytest.mark.parametrize("method", ["DL", "REML", "FE"])
def test_meta_run_on_yi_sei_matches_r(method):
    r = run_cli("meta", "run", str(DATA / "metafor_inputs_continuous_yi.csv"), "--method", method, "--format", "json")
    assert r.returncode == 0, r.stderr
    out, ref = json.loads(r.stdout), REF["yi_sei"][method]
    for q in ("beta", "se", "ci_lb", "ci_ub", "tau2", "I2", "Q"):
        assert out[q] == pytest.approx(ref[q], rel=1e-6, abs=1e-9), q


def test_yi_sei_input_is_the_bundled_esketamine_24h_table():
    """The pinned yi,sei input is the bundled esketamine-vs-placebo 24 h MD table, so R checks our pooling."""
    t = continuous_table("esketamine", "placebo", "24h").rows.set_index("study")
    pinned = pd.read_csv(DATA / "metafor_inputs_continuous_yi.csv").set_index("study")
    for s, r in pinned.iterrows():
        assert (t.loc[s, "md"], t.loc[s, "md_se"]) == pytest.approx((r["yi"], r["sei"]), abs=1e-6)
    p = pool_continuous("esketamine", "placebo", "24h", "MD", method="REML")
    assert p.estimate == pytest.approx(REF["yi_sei"]["REML"]["beta"], abs=1e-5)


SIDES = sorted(query.list_drugs()["drug"]) + sorted(set(query.list_drugs()["class"])) + list(FAMILIES)


@pytest.mark.slow
@pytest.mark.parametrize("side", SIDES)
def test_meta_pool_runs_for_every_drug_class_and_family(side):
    """Every bundled drug, class and family: a pooled table or a one-line error (exit 2), never a traceback."""
    for outcome in ("MD", "responders"):
        r = run_cli("meta", "pool", side, "--outcome", outcome, "--format", "json")
        assert r.returncode in (0, 2), r.stderr
        if r.returncode == 2:
            assert r.stderr.count("\n") == 1 and "no bundled trial" in r.stderr
        else:
            out = json.loads(r.stdout)
            assert out["window"] in WINDOWS and out["k"] >= 0


def test_meta_pool_bad_input_is_one_line_exit_2():
    for args, msg in ((["ketamine", "--window", "week9"], "--window"), (["nonesuch"], "unknown"),
                      (["esketamine", "--trials", "nope"], "--trials"), (["ketamine", "--outcome", "OR"], "--outcome"),
                      (["ketamine", "--vs", "nonesuch"], "unknown")):
        r = run_cli("meta", "pool", *args)
        assert r.returncode == 2 and msg in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)


def test_a_contrast_naming_an_unknown_arm_is_rejected_with_file_and_field(data_copy):
    from adpharm.knowledge import loader
    p = data_copy / "continuous.yaml"
    p.write_text(p.read_text().replace("vs: saline IN, estimate: -7.6", "vs: saline, estimate: -7.6"))
    with pytest.raises(AdpharmInputError, match=r"continuous.yaml: field \[0\].*saline"):
        loader.load(data_copy)


def test_guide_efficacy_names_trials_time_point_and_population_for_every_pooled_number():
    from adpharm.report.comparison import compare
    eff = compare("ketamine", "imipramine", simulate=False).sections["efficacy"]
    rows = eff["pooled"]["a"] + eff["pooled"]["b"]
    assert rows
    for r in rows:
        assert r["window_label"] and (r["k"] == 0 or (r["trials"] and r["population"]))
    md = [r for r in eff["pooled"]["a"] if r["kind"] == "MD" and r["comparator"] == "placebo" and r["window"] == "24h"]
    assert md and md[0]["k"] >= 2 and "negative favours ketamine" in md[0]["estimate"]["value"]
    assert eff["indirect"]["windows"] == {"a": "24 h (day 1)", "b": "week 6-8"} and not eff["indirect"]["estimable"]
    glance = {r["attribute"]: r for r in compare("ketamine", "imipramine", simulate=False).sections["at_a_glance"]}
    row = glance["Efficacy at the primary endpoint"]
    assert "response vs placebo, 24 h" in row["a"]["value"] and "Lapidus 2014" in row["a"]["value"]
    assert "week 6-8" in row["b"]["value"] and "pool of 2 trials" in row["b"]["value"]
    assert row["a"]["note"].startswith("rule: 24 h after one infusion")


@pytest.mark.parametrize("edit, where", [
    (lambda d: d[4]["arms"][0].update(se=1.0), r"\[4\]\.arms\.0.*sd or se, not both"),
    (lambda d: d[4]["arms"][0].update(drug="ketaminex"), r"\[4\]\.arms\[0\]\.drug: unknown drug 'ketaminex'"),
    (lambda d: d[4].update(window="week2"), r"\[4\]\.window"),
    (lambda d: d[4].update(refs=["ghost2001"]), r"\[4\]\.refs: unknown reference key 'ghost2001'"),
    (lambda d: d[0]["contrasts"][0].update(ci=[-3.0, -1.0]), r"\[0\]\.contrasts\.0.*not inside its CI"),
])
def test_bad_continuous_records_are_rejected_with_the_field_named(data_copy, edit, where):
    import yaml
    from adpharm.knowledge import loader
    p = data_copy / "continuous.yaml"
    d = yaml.safe_load(p.read_text())
    edit(d)
    p.write_text(yaml.safe_dump(d, sort_keys=False))
    with pytest.raises(AdpharmInputError, match=r"continuous\.yaml: field " + where):
        loader.load(data_copy)


def test_pool_ratio_is_one_trials_wald_interval_or_the_random_effects_pool():
    """One trial: its own log odds ratio +- 1.96 SE (Lapidus 2014, 8/18 vs 1/18: OR = 8 x 17 / (10 x 1), no zero
    cell so no correction); two or more: rma on escalc('OR'), as the guide and `meta pool` report."""
    import math

    from adpharm.evidence import escalc, rma
    from adpharm.evidence.bundled import comparison, pool_ratio, trial_arms
    t = comparison(trial_arms("responders"), "ketamine", "placebo", window="24h")
    one = pool_ratio(t[t["study"] == "lapidus2014"], "OR")
    y, se = math.log(8 * 17 / (10 * 1)), math.sqrt(1 / 8 + 1 / 10 + 1 / 1 + 1 / 17)
    assert one.result is None and one.exp["estimate"] == pytest.approx(math.exp(y), rel=1e-12)
    assert (one.exp["ci_lb"], one.exp["ci_ub"]) == pytest.approx((math.exp(y - 1.959963984540054 * se),
                                                                 math.exp(y + 1.959963984540054 * se)), rel=1e-9)
    both = pool_ratio(t, "OR", method="DL")
    direct = rma(escalc("OR", t), method="DL").to_dict()["exp"]
    assert both.exp == direct and len(both.es) == 2



def test_pool_binary_is_the_one_way_to_pool_the_bundled_binary_trials():
    """Issue 38: ``pool_binary`` (the binary counterpart of ``pool_continuous``) reads the arms, the window
    and the two-by-two table once: Lapidus 2014 alone gives its closed-form OR (8 x 17 / (10 x 1)); the
    24 h pool is rma on escalc('OR'); the default window is the one most trials report; none is None."""
    import math

    from adpharm.evidence import escalc, rma
    one = bundled.pool_binary("ketamine", "placebo", "24h", studies=["lapidus2014"])
    assert one.k == 1 and one.pooled.result is None
    assert one.pooled.exp["estimate"] == pytest.approx(8 * 17 / (10 * 1), rel=1e-12)
    both = bundled.pool_binary("ketamine", "placebo", "24h", method="DL")
    assert both.pooled.exp == rma(escalc("OR", both.table), method="DL").to_dict()["exp"]
    assert both.to_dict()["exp"] == both.pooled.exp and list(both.summary().columns)[:5] == ["study", "ai", "n1i",
                                                                                             "ci", "n2i"]
    rr = bundled.pool_binary("ketamine", "placebo", "24h", measure="RR", study="label")
    assert rr.pooled.measure == "RR" and math.isfinite(rr.pooled.beta)
    default = bundled.pool_binary("ketamine", "placebo")
    assert default.window == bundled.primary_window(bundled.trial_arms(), "ketamine", "placebo")
    none = bundled.pool_binary("ketamine", "placebo", "acute-end")
    assert none.pooled is None and none.k == 0 and none.to_dict()["exp"] is None
    with pytest.raises(ValueError, match="at least two"):
        one.plot()
    with pytest.raises(AdpharmInputError, match="measure: 'SMD'"):
        bundled.pool_binary("ketamine", "placebo", measure="SMD")
