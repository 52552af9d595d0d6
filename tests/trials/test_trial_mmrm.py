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
