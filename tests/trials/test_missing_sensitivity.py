"""Issue 37 item 3: reference-based multiple imputation and the tipping point, checked against closed forms:
Rubin's rules and the Barnard-Rubin degrees of freedom (Rubin 1987; Barnard & Rubin 1999), the equivalence
of MAR imputation with direct likelihood under the same model (Little & Rubin 2002), identities of the
reference-based strategies (Carpenter, Roger & Kenward 2013) and the linearity of a delta adjustment."""
import json

import numpy as np
import pytest

from adpharm.errors import AdpharmInputError
from adpharm.trials.missing import rubin, sensitivity
from adpharm.trials.mmrm import mmrm
from adpharm.trials.simulate import simulate_trial
from conftest import run_cli

VISITS = ["week1", "week2", "week4", "week6", "week8"]


@pytest.fixture(scope="module")
def trial():
    return simulate_trial("ssri-mdd-8wk", 150, seed=2).data


def test_rubins_rules_and_barnard_rubin_df_by_hand():
    q, u, m, dfc = np.array([-4.0, -3.0, -5.0, -4.5]), np.array([1.2, 1.0, 1.1, 1.3]), 4, 100.0
    r = rubin(q, u, df_complete=dfc)
    w, b = u.mean(), q.var(ddof=1)
    t = w + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t
    nu_old = (m - 1) / lam ** 2
    nu_obs = (dfc + 1) / (dfc + 3) * dfc * (1 - lam)
    assert r.estimate == pytest.approx(q.mean()) and r.se == pytest.approx(np.sqrt(t))
    assert r.df == pytest.approx(1 / (1 / nu_old + 1 / nu_obs))
    with pytest.raises(AdpharmInputError, match="at least 2"):
        rubin([1.0], [1.0], 10)


def test_mar_imputation_lands_on_the_direct_likelihood_estimate(trial):
    """Under MAR, imputation from the model and direct likelihood estimate the same thing (Little & Rubin 2002,
    ch. 10): the MI estimate with many imputations is within a fifth of an SE of the MMRM's (per-arm against a
    common covariance, and Monte Carlo error, are the differences)."""
    r = sensitivity(trial, "placebo", "sertraline", "week8", VISITS, imputations=100, seed=3)
    f = mmrm(trial, reference="placebo")
    c = f.contrasts[f.contrasts["visit"] == "week8"].iloc[0]
    assert abs(r.strategies["MAR"].estimate - c["estimate"]) < 0.2 * c["se"]
    assert r.strategies["MAR"].se == pytest.approx(c["se"], rel=0.15)


def test_strategies_coincide_when_no_active_patient_is_missing(trial):
    """J2R and CR change only the active arm's imputations: with every active patient seen at every visit the
    three strategies give the same completed data, so the same estimate to the last digit."""
    seen = trial.groupby("subject")["visit"].nunique()
    full = seen[seen == len(VISITS) + 1].index
    d = trial[(trial["arm"] == "placebo") | trial["subject"].isin(full)]
    r = sensitivity(d, "placebo", "sertraline", "week8", VISITS, imputations=10, seed=4)
    assert r.n_missing["sertraline"] == 0 and r.n_missing["placebo"] > 0
    est = {k: v.estimate for k, v in r.strategies.items()}
    assert est["MAR"] == est["J2R"] == est["CR"]


def test_jump_to_reference_moves_the_estimate_towards_no_effect(trial):
    r = sensitivity(trial, "placebo", "sertraline", "week8", VISITS, imputations=60, seed=5)
    mar, j2r = r.strategies["MAR"].estimate, r.strategies["J2R"].estimate
    assert mar < j2r < 0           # the active arm's dropouts lose their benefit after dropout
    # the tipping curve is exactly linear in delta (ANCOVA is linear in the outcome; same imputations throughout)
    c = r.tipping_curve
    assert len(c) >= 3 and np.allclose(np.diff(c["estimate"], 2), 0, atol=1e-9)
    assert r.tipping_delta is not None and c["delta"].iloc[-2] <= r.tipping_delta <= c["delta"].iloc[-1]


def test_cli_sensitivity_and_its_bad_input(tmp_path):
    f = tmp_path / "t.csv"
    run_cli("trial", "simulate", "ssri-mdd-8wk", "--n-per-arm", "60", "--seed", "2", "--format", "csv", "--out", str(f))
    r = run_cli("trial", "analyze", str(f), "--protocol", "ssri-mdd-8wk", "--sensitivity", "--imputations", "10",
                "--format", "json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)["sensitivity"][0]
    assert set(s["strategies"]) == {"MAR", "J2R", "CR"} and s["provenance"]["imputations"] == 10
    # data without dropout: nothing to impute
    d = simulate_trial("ssri-mdd-8wk", 30, seed=2).data
    keep = d.groupby("subject")["visit"].transform("nunique") == len(VISITS) + 1
    g = tmp_path / "complete.csv"
    d[keep].to_csv(g, index=False)
    r = run_cli("trial", "analyze", str(g), "--sensitivity")
    assert r.returncode == 2 and "nothing to impute" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    # a crossover
    h = tmp_path / "x.csv"
    run_cli("trial", "simulate", "ketamine-crossover", "--n-per-arm", "20", "--seed", "1", "--format", "csv", "--out", str(h))
    r = run_cli("trial", "analyze", str(h), "--sensitivity")
    assert r.returncode == 2 and "crossover" in r.stderr and "Traceback" not in r.stderr
