"""MMRM against R's nlme::gls (pinned and live) and against closed-form special cases."""
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from adpharm.errors import AdpharmInputError
from adpharm.trials.mmrm import mmrm

DATA = REPO / "tests" / "data" / "trials"
R_SCRIPT = DATA / "mmrm_gls.R"

# R 4.2.2, nlme 3.1-162:
#   d <- read.csv("imipramine_chronic_seed3_n60.csv"); d$change <- d$value - d$baseline; (baseline visit dropped)
#   gls(change ~ baseline + visit * arm, data = d, correlation = corSymm(form = ~ k | subject),
#       weights = varIdent(form = ~ 1 | visit), method = "REML",
#       control = glsControl(msMaxIter = 1000, msTol = 1e-12, tolerance = 1e-10))
#   contrast imipramine - placebo at each visit: arm + visit:arm coefficients, SE from vcov(fit)
#   (the full call is tests/data/trials/mmrm_gls.R)
R_IMIPRAMINE = {  # visit: (estimate, se)
    "week1": (0.6435291720, 0.3816167834), "week2": (-1.6041314641, 0.4487433333),
    "week3": (-3.3805408730, 0.6313948184), "week4": (-6.1048733464, 0.8643886157),
    "week5": (-8.3924610012, 1.0352872785), "week6": (-10.0138860168, 1.1379435624)}
R_IMIPRAMINE_LOGLIK = -1338.62295849
# same call on three_arm_own.csv (reference placebo), a three-arm data set of our own with
# intermittent and monotone missing visits (made by numpy seed 20261121; see the test data README)
R_THREE_ARM = {
    ("high", "week2"): (-3.7240663905, 1.2779772282), ("high", "week4"): (-3.7310107855, 1.4310946650),
    ("high", "week6"): (-7.9871774856, 1.6065726374), ("high", "week1"): (-1.6163149552, 1.1648928016),
    ("low", "week2"): (-3.2250287745, 1.2927476369), ("low", "week4"): (-2.7704080753, 1.4306741272),
    ("low", "week6"): (-4.6876985769, 1.6619809500), ("low", "week1"): (-1.7730013989, 1.1869334133)}
R_THREE_ARM_LOGLIK = -818.18014059


# same call with the randomisation stratum as a main effect (``Rscript mmrm_gls.R DATA placebo stratum``:
#   gls(change ~ baseline + visit * arm + stratum, ...), stratum a factor) on
#   ketamine_trd_iv_strata_seed2_n40.csv: adpharm's ketamine-trd-iv (cascade model 2.5, 40 per arm, seed 2),
#   randomised within severity strata (MADRS < 30 moderate, >= 30 severe), with its dropout
R_STRATA = {"24h": (-11.9769592156, 2.1526241805), "72h": (-14.2663827746, 2.1082457404),
            "day7": (-6.3558871166, 2.0506057269), "day14": (-4.4679353192, 2.1002198098),
            "day21": (-11.1251850212, 2.2655106391)}
R_STRATA_LOGLIK = -1297.85583344


def _check(fit, pinned, key):
    c = fit.contrasts.set_index(["arm", "visit"])
    assert len(c) == len(pinned)
    for k, (est, se) in pinned.items():
        row = c.loc[key(k)]
        assert abs(row["estimate"] - est) < 1e-4, (k, row["estimate"], est)
        assert abs(row["se"] - se) < 1e-4, (k, row["se"], se)


def test_matches_nlme_gls_on_a_simulated_trial_with_dropout():
    d = pd.read_csv(DATA / "imipramine_chronic_seed3_n60.csv")
    fit = mmrm(d, reference="placebo", baseline_by_visit=False)   # the R calls: one common slope
    _check(fit, R_IMIPRAMINE, lambda v: ("imipramine", v))
    assert fit.converged
    assert abs(fit.loglik_reml - R_IMIPRAMINE_LOGLIK) < 1e-4   # same REML likelihood, constants included


def test_matches_nlme_gls_on_three_arms_with_intermittent_missing_visits():
    d = pd.read_csv(DATA / "three_arm_own.csv")
    fit = mmrm(d, reference="placebo", baseline_by_visit=False)   # the R calls: one common slope
    _check(fit, R_THREE_ARM, lambda k: k)
    assert abs(fit.loglik_reml - R_THREE_ARM_LOGLIK) < 1e-4


def test_randomisation_strata_as_covariates_match_nlme_gls():
    d = pd.read_csv(DATA / "ketamine_trd_iv_strata_seed2_n40.csv")
    fit = mmrm(d, reference="placebo", baseline_by_visit=False, covariates=["stratum"])
    _check(fit, R_STRATA, lambda v: ("ketamine", v))
    assert abs(fit.loglik_reml - R_STRATA_LOGLIK) < 1e-4
    assert fit.covariates == ["stratum"] and "stratum[severe]" in set(fit.coef["name"])
    assert fit.to_dict()["model"].endswith("+ stratum, unstructured covariance, REML")
    # least-squares means average over the strata in the subjects' proportions (emmeans "proportional")
    share = d.groupby("subject")["stratum"].first().eq("severe").mean()
    coef = fit.coef.set_index("name")["estimate"]
    ls = fit.lsmeans.set_index(["arm", "visit"]).loc[("placebo", "24h"), "estimate"]
    base = d.groupby("subject")["baseline"].first().mean()
    assert ls == pytest.approx(coef["visit[24h]"] + coef["baseline"] * base + coef["stratum[severe]"] * share, abs=1e-9)


def test_a_stratum_with_one_level_is_left_out_and_a_bad_covariate_is_a_clear_error():
    d = pd.read_csv(DATA / "ketamine_trd_iv_strata_seed2_n40.csv")
    one = mmrm(d.assign(stratum="all"), reference="placebo", covariates=["stratum"])
    assert one.covariates == [] and any("one level" in n for n in one.not_estimable)
    plain = mmrm(d, reference="placebo")
    assert np.allclose(one.contrasts["estimate"], plain.contrasts["estimate"])
    with pytest.raises(AdpharmInputError, match="covariate 'site' is not a column"):
        mmrm(d, reference="placebo", covariates=["site"])
    moved = d.copy()
    moved.loc[moved.index[1], "stratum"] = "severe" if moved.loc[moved.index[1], "stratum"] == "moderate" else "moderate"
    with pytest.raises(AdpharmInputError, match="changes within subject"):
        mmrm(moved, reference="placebo", covariates=["stratum"])


def _r_available():
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(nlme)"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _r_available(), reason="R with nlme not installed (apt-get install r-cran-nlme)")
@pytest.mark.parametrize("protocol,seed", [("ssri-mdd-8wk", 11), ("esketamine-trd-in", 4)])
def test_matches_live_nlme_gls_on_any_simulated_trial(tmp_path, protocol, seed):
    from adpharm.trials.simulate import simulate_trial
    d = simulate_trial(protocol, 40, seed=seed).data
    f = tmp_path / "d.csv"
    d.to_csv(f, index=False)
    out = subprocess.run(["Rscript", str(R_SCRIPT), str(f), "placebo"], capture_output=True, text=True, check=True)
    pinned = {}
    for line in out.stdout.strip().splitlines():
        parts = line.split(",")
        if parts[0] != "loglik":
            pinned[(parts[0], parts[1])] = (float(parts[2]), float(parts[3]))
    fit = mmrm(d, reference="placebo", baseline_by_visit=False)   # the R calls: one common slope
    _check(fit, pinned, lambda k: k)


@pytest.mark.skipif(not _r_available(), reason="R with nlme not installed (apt-get install r-cran-nlme)")
@pytest.mark.parametrize("protocol,seed", [("ketamine-trd-iv", 5), ("ssri-mdd-8wk", 6)])
def test_strata_match_live_nlme_gls_on_stratified_protocols(tmp_path, protocol, seed):
    from adpharm.trials.simulate import simulate_trial
    d = simulate_trial(protocol, 40, seed=seed).data
    assert "stratum" in d.columns and d["stratum"].nunique() > 1
    f = tmp_path / "d.csv"
    d.to_csv(f, index=False)
    out = subprocess.run(["Rscript", str(R_SCRIPT), str(f), "placebo", "stratum"], capture_output=True, text=True,
                         check=True)
    pinned = {tuple(p[:2]): (float(p[2]), float(p[3])) for p in (ln.split(",") for ln in out.stdout.split())
              if p[0] != "loglik"}
    _check(mmrm(d, reference="placebo", baseline_by_visit=False, covariates=["stratum"]), pinned, lambda k: k)


def test_one_visit_is_ancova_with_residual_df():
    """Closed form: with one post-baseline visit the MMRM is OLS, and Satterthwaite df = n - p exactly."""
    import statsmodels.formula.api as smf
    rng = np.random.default_rng(1)
    n = 50
    base = rng.normal(30, 4, n)
    arm = np.where(np.arange(n) % 2, "drug", "placebo")
    value = base - 5 - 3 * (arm == "drug") - 0.2 * (base - 30) + rng.normal(0, 4, n)
    d = pd.DataFrame({"subject": np.arange(n), "arm": arm, "visit": "week6", "baseline": base, "value": value})
    fit = mmrm(d, reference="placebo", baseline_by_visit=False)   # the R calls: one common slope
    ols = smf.ols("change ~ C(arm, Treatment('placebo')) + baseline", data=d.assign(change=value - base)).fit()
    name = "C(arm, Treatment('placebo'))[T.drug]"
    row = fit.contrasts.iloc[0]
    assert row["estimate"] == pytest.approx(ols.params[name], abs=1e-8)
    assert row["se"] == pytest.approx(ols.bse[name], abs=1e-6)
    assert row["df"] == pytest.approx(n - 3, abs=1e-3)


def test_complete_data_with_baseline_by_visit_is_per_visit_ancova():
    """Closed form: complete data and identical regressors at every visit (a multivariate regression):
    GLS equals OLS visit by visit, the REML covariance is S/(n - k), and Satterthwaite df = n - k."""
    import statsmodels.formula.api as smf
    rng = np.random.default_rng(2)
    n, visits = 40, ["week2", "week4", "week6"]
    S = np.array([[9, 5, 4], [5, 12, 7], [4, 7, 16.0]])
    rows = []
    for i in range(n):
        b = rng.normal(30, 4)
        arm = "drug" if i % 2 else "placebo"
        e = np.linalg.cholesky(S) @ rng.standard_normal(3)
        for j, v in enumerate(visits):
            rows.append({"subject": i, "arm": arm, "visit": v, "baseline": b,
                         "value": b - 2 * (j + 1) - (arm == "drug") * (j + 1) + e[j]})
    d = pd.DataFrame(rows)
    fit = mmrm(d, reference="placebo", baseline_by_visit=True)
    for v in visits:
        s = d[d["visit"] == v].assign(change=lambda x: x["value"] - x["baseline"])
        ols = smf.ols("change ~ C(arm, Treatment('placebo')) + baseline", data=s).fit()
        name = "C(arm, Treatment('placebo'))[T.drug]"
        row = fit.contrasts.set_index("visit").loc[v]
        assert row["estimate"] == pytest.approx(ols.params[name], abs=1e-6)
        assert row["se"] == pytest.approx(ols.bse[name], abs=1e-5)
        assert row["df"] == pytest.approx(n - 3, rel=1e-3)


def test_residual_df_option_and_bad_options():
    d = pd.read_csv(DATA / "three_arm_own.csv")
    fit = mmrm(d, reference="placebo", df_method="residual", baseline_by_visit=False)
    n_obs = int((d["visit"] != "baseline").sum())
    assert set(fit.contrasts["df"]) == {float(n_obs - (4 + 8 + 1))}
    with pytest.raises(AdpharmInputError, match="df method"):
        mmrm(d, df_method="kenward")
    with pytest.raises(AdpharmInputError, match="reference arm 'sham'"):
        mmrm(d, reference="sham")


def test_visit_with_no_patients_in_one_arm_is_reported_not_estimable():
    d = pd.read_csv(DATA / "three_arm_own.csv")
    d = d[~((d["arm"] == "high") & (d["visit"] == "week6"))]
    fit = mmrm(d, reference="placebo", baseline_by_visit=False)   # the R calls: one common slope
    assert ("high", "week6") not in set(zip(fit.contrasts["arm"], fit.contrasts["visit"]))
    assert any("high vs placebo at week6" in s for s in fit.not_estimable)


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["ketamine-trd-iv", "imipramine-chronic", "ssri-mdd-8wk", "esketamine-trd-in",
                                      "ketamine-vs-midazolam", "ketamine-crossover"])
def test_tiny_trials_never_crash_the_primary_analysis(protocol):
    """Issue 37 item 0: small simulated trials (2-5 per arm) once ended in LinAlgError when a BFGS step reached a
    covariance that was not numerically positive definite; such a step is now rejected, and a fit with no
    positive-definite optimum is a replicate without an estimate (counted), never an exception."""
    from adpharm.trials.power import power
    for n in (2, 3, 5):
        r = power(protocol, 8, n_per_arm=n, seed=n, workers=0)
        d = r.to_dict()
        assert 0 <= d["power"] <= 1 and 0 <= d["replicates_without_estimate"] <= 8


def test_a_fit_without_a_positive_definite_optimum_is_a_clear_error(monkeypatch):
    import numpy as np

    from adpharm.trials import mmrm as m
    from adpharm.trials.simulate import simulate_trial
    data = simulate_trial("ssri-mdd-8wk", 6, seed=1).data

    def broken(*a, **k):
        raise np.linalg.LinAlgError("Matrix is not positive definite")
    monkeypatch.setattr(m, "_fit", broken)
    with pytest.raises(m.MMRMNotConverged, match=r"MMRM: the fit did not converge \(12 subjects"):
        m.mmrm(data)
