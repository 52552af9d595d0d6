"""Two-way and repeated-measures ANOVA on the real FST files, against R."""
import numpy as np
import pandas as pd
import pytest

from conftest import data
from adpharm.assays.design import two_way_anova
from adpharm.assays.stats import mixed_anova
from adpharm.errors import AdpharmInputError



def _ts():
    d = pd.read_csv(data("behaviopy_forcedswim_ts"))
    return d.rename(columns={"Identifier": "id", "Immobility Ratio": "imm", "Interval [1 min]": "minute",
                             "Treatment": "trt"})


def test_mixed_anova_matches_r_aov_on_the_fluoxetine_minutes():
    """R 4.2.2: summary(aov(imm ~ trt * minute + Error(id / minute), d)) on behaviopy_forcedswim_ts.csv
    (id, minute, trt as factors): trt F 0.2561606193 p 0.6164694986; minute F 36.30701848 p 3.030809371e-24;
    trt:minute F 2.938081078 p 0.01466422344 (df 1/30, 5/150, 5/150)."""
    r = {e["effect"]: e for e in mixed_anova(_ts(), "imm", "id", "minute", "trt")["effects"]}
    assert r["trt"]["F"] == pytest.approx(0.2561606193, rel=1e-8)
    assert r["trt"]["pval"] == pytest.approx(0.6164694986, rel=1e-8)
    assert (r["trt"]["df"], r["trt"]["df_error"]) == (1, 30)
    assert r["minute"]["F"] == pytest.approx(36.30701848, rel=1e-8)
    assert r["minute"]["pval"] == pytest.approx(3.030809371e-24, rel=1e-6)
    assert r["trt:minute"]["F"] == pytest.approx(2.938081078, rel=1e-8)
    assert r["trt:minute"]["pval"] == pytest.approx(0.01466422344, rel=1e-8)
    eps = r["minute"]["gg_epsilon"]
    assert 1 / 5 <= eps <= 1 and r["minute"]["pval_gg"] >= r["minute"]["pval"]


def test_greenhouse_geisser_is_one_for_two_levels():
    d = _ts()
    d = d[d["minute"].isin([3, 4])]
    r = mixed_anova(d, "imm", "id", "minute")["effects"][0]
    assert r["gg_epsilon"] == pytest.approx(1.0)
    # two levels: the repeated-measures F is the square of the paired t
    from scipy import stats
    w = d.pivot(index="id", columns="minute", values="imm")
    assert r["F"] == pytest.approx(stats.ttest_rel(w[3], w[4]).statistic ** 2)


def test_two_way_anova_type_ii_matches_r_on_the_ovx_strains():
    """R 4.2.2 on ovx2016_FST.csv: Type II F = SS(effect | other) / df / MS_resid(full model), from
    anova(lm(PctImb ~ TREATMENT + STRAIN)), anova(lm(PctImb ~ STRAIN + TREATMENT)), anova(lm(PctImb ~ STRAIN * TREATMENT)):
    STRAIN F 4.939542491 (df 35), TREATMENT F 4.188041592 (df 1), STRAIN:TREATMENT F 0.7993512741 p 0.7895627055 (df 35), residual df 547."""
    d = pd.read_csv(data("ovx2016_FST"))
    r = two_way_anova(d, "PctImb", "STRAIN", "TREATMENT")
    e = {x["effect"]: x for x in r["effects"]}
    assert e["STRAIN"]["F"] == pytest.approx(4.939542491, rel=1e-8) and e["STRAIN"]["df"] == 35
    assert e["TREATMENT"]["F"] == pytest.approx(4.188041592, rel=1e-8) and e["TREATMENT"]["df"] == 1
    assert e["STRAIN:TREATMENT"]["F"] == pytest.approx(0.7993512741, rel=1e-8)
    assert e["STRAIN:TREATMENT"]["pval"] == pytest.approx(0.7895627055, rel=1e-8)
    assert r["residual_df"] == 547


def test_bad_repeated_measures_input():
    d = _ts()
    with pytest.raises(AdpharmInputError, match="needs exactly one 'imm' at every level"):
        mixed_anova(d[~((d["id"] == d["id"].iloc[0]) & (d["minute"] == 6))], "imm", "id", "minute", "trt")
    with pytest.raises(AdpharmInputError, match="missing column 'dose'"):
        two_way_anova(d, "imm", "trt", "dose")


def test_fst_per_minute_analysis_reports_the_minute_by_group_anova():
    from conftest import run_cli
    import json
    r = run_cli("assay", "fst", str(data("behaviopy_forcedswim_ts")), "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    res = next(iter(d["results"].values()))
    e = {x["effect"]: x for x in res["statistics"]["minute_by_group_anova"]["effects"]}
    assert set(e) == {"group", "minute", "group:minute"}
    assert e["group:minute"]["F"] == pytest.approx(2.938081078, rel=1e-8)      # R aov, as above


def test_grubbs_against_its_published_critical_value_and_a_planted_outlier():
    """Grubbs (1969) Table I: two-sided alpha 0.05, n = 10 gives G_crit 2.29 (one-sided 0.025 column)."""
    from adpharm.assays.stats import grubbs
    x = np.array([5.1, 4.9, 5.0, 5.2, 4.8, 5.05, 4.95, 5.15, 4.85, 7.5])
    r = grubbs(x)
    assert r["critical"] == pytest.approx(2.29, abs=0.005)
    assert r["outlier"] and r["index"] == 9
    assert not grubbs(x[:9])["outlier"]
    assert grubbs(np.ones(5)) is None


# R 4.2.2, car 3.1 on ovx2016_FST.csv, BATCH, STRAIN and TREATMENT as factors (TREATMENT levels SHAM, OVX), p = PctImb / 100:
#   car::Anova(glm(p ~ BATCH + STRAIN * TREATMENT, family = quasibinomial, data = d), type = 2, test = "F")
#   car::Anova(lm(PctImb ~ BATCH + STRAIN * TREATMENT, d), type = 2)
#   coef(summary(glm(p ~ BATCH + STRAIN + TREATMENT, family = quasibinomial, data = d)))["TREATMENTOVX", ]
OVX_QUASIBINOMIAL = {"BATCH": (63, 3.40626, 2.0136e-14), "STRAIN": (35, 4.22205, 2.2213e-13),
                     "TREATMENT": (1, 6.36001, 0.0119919), "TREATMENT:STRAIN": (35, 1.68442, 0.0096466)}
OVX_RAW = {"BATCH": (63, 3.07230, 3.7531e-12), "STRAIN": (35, 3.37316, 1.5019e-09),
           "TREATMENT": (1, 5.09264, 0.024473), "TREATMENT:STRAIN": (35, 1.03536, 0.415943)}
OVX_LOG_OR = (0.22935540705, 0.09459578717, 0.01566636860)     # estimate, SE, p


@pytest.mark.parametrize("family,value,expected", [("quasibinomial", "p", OVX_QUASIBINOMIAL),
                                                    ("gaussian", "PctImb", OVX_RAW)])
def test_design_anova_matches_car_on_the_ovx_strains_and_batches(family, value, expected):
    from adpharm.assays.design import design_anova
    d = pd.read_csv(data("ovx2016_FST")).assign(p=lambda x: x["PctImb"] / 100)
    r = design_anova(d, value, ["TREATMENT", "STRAIN"], ["BATCH"], family)
    assert r["residual_df"] == 484
    got = {e["effect"]: e for e in r["effects"]}
    for effect, (df, F, p) in expected.items():
        assert got[effect]["df"] == df
        assert got[effect]["F"] == pytest.approx(F, rel=1e-5)
        assert got[effect]["pval"] == pytest.approx(p, rel=1e-4)


def test_adjusted_odds_ratio_matches_the_quasibinomial_glm_and_its_interval():
    from scipy import stats
    from adpharm.assays.design import adjusted_effect
    d = pd.read_csv(data("ovx2016_FST")).assign(p=lambda x: x["PctImb"] / 100)
    (r,) = adjusted_effect(d, "p", "TREATMENT", "SHAM", ["STRAIN", "BATCH"], "quasibinomial")
    est, se, p = OVX_LOG_OR
    assert (r["estimate"], r["se"], r["pval"]) == pytest.approx((est, se, p), rel=1e-5)
    assert r["df"] == 619 - 1 - 35 - 63 - 1
    half = stats.t.ppf(0.975, r["df"]) * se      # t interval on the residual df
    assert (r["or_ci_low"], r["or_ci_high"]) == pytest.approx((np.exp(est - half), np.exp(est + half)), rel=1e-5)


def test_fst_on_the_ovx_table_puts_strain_and_batch_in_the_primary_test():
    """The issue's done-when: treatment analysed with strain and batch in the model (pinned to R above)."""
    from conftest import run_cli
    import json
    r = run_cli("assay", "fst", str(data("ovx2016_FST")), "--control", "SHAM", "--format", "json")
    assert r.returncode == 0, r.stderr
    st = next(iter(json.loads(r.stdout)["results"].values()))["statistics"]
    assert st["primary"]["unit"] == "animal" and st["primary"]["n"] == {"OVX": 305, "SHAM": 314}
    (c,) = st["primary"]["comparisons"]
    assert c["estimate"] == pytest.approx(np.exp(OVX_LOG_OR[0]), rel=1e-5)
    e = {x["effect"]: x for x in st["design"]["anova"]["effects"]}
    assert e["group:STRAIN"]["F"] == pytest.approx(OVX_QUASIBINOMIAL["TREATMENT:STRAIN"][1], rel=1e-5)
    assert "interaction p = 0.00965" in st["primary"]["notes"][0]
    text = run_cli("assay", "fst", str(data("ovx2016_FST")), "--control", "SHAM").stdout
    assert "primary test: fractional logit" in text and "adjusted for STRAIN and BATCH" in text
    assert "OVX vs SHAM: odds ratio of immobility 1.26 (95 % CI 1.04 to 1.51), p = 0.0157" in text


def test_batch_mode_runs_the_same_design_and_minute_statistics(tmp_path):
    """A manifest of one file per half of the animals, with strain and batch as manifest labels for the
    fluoxetine files: the pooled statistics carry the minute x group ANOVA (the same as one file) and the design."""
    from conftest import run_cli
    import json
    d = pd.read_csv(data("behaviopy_forcedswim_ts"))
    ids = sorted(d["Identifier"].unique())
    rows = []
    for i, chunk in enumerate((ids[::2], ids[1::2])):
        f = tmp_path / f"part{i}.csv"
        d[d["Identifier"].isin(chunk)].to_csv(f, index=False)
        rows.append({"file": f.name, "batch": f"b{i}"})
    pd.DataFrame(rows).to_csv(tmp_path / "manifest.csv", index=False)
    r = run_cli("assay", "fst", "--manifest", str(tmp_path / "manifest.csv"), "--control", "Control", "--format", "json")
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)["statistics"]
    e = {x["effect"]: x for x in st["minute_by_group_anova"]["effects"]}
    assert e["group:minute"]["F"] == pytest.approx(2.938081078, rel=1e-8)      # R aov, as above
    assert st["design"]["anova"]["blocks"] == ["batch"]
    assert [x["effect"] for x in st["design"]["anova"]["effects"]] == ["batch", "group"]
    assert st["primary"]["test"].endswith("adjusted for batch")
