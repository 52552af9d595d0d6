"""Meta-regression, subgroups, leave1out, cumul, regtest and network meta-analysis agree with R's
metafor to 1e-6.

Pinned values: tests/data/metafor_extras.json, written by validation/metafor/run_metafor_extras.R
(R 4.2.2, metafor 3.8.1, metadat 1.2.0), e.g.
    bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
    rma(yi, vi, mods = ~ ablat + year, data = bcg, method = M, test = T, control = ctrl)
    leave1out(rma(yi, vi, data = bcg)); cumul(rma(yi, vi, data = bcg), order = bcg$year)
    regtest(res, model = "rma"); regtest(res, model = "lm")
    rma.mv(yi, V, mods = X, intercept = FALSE, method = "FE")                       # network, GLS
    rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2)   # network, REML
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import linalg

from adpharm.evidence import cumul, escalc, leave1out, network, regtest, rma, subgroups
from adpharm.evidence import bundled
from adpharm.evidence.meta import METHODS

DATA = Path(__file__).resolve().parents[1] / "data"
REF = json.loads((DATA / "metafor_extras.json").read_text())
BCG = pd.read_csv(DATA / "metafor_inputs_bcg_moderators.csv")
ES = escalc("RR", BCG)
FORMULAS = {"ablat_year": ["ablat", "year"], "alloc": ["alloc"]}


def close(a, b, rel=1e-6, abs_=1e-8):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rel, atol=abs_)


@pytest.mark.parametrize("test", ("z", "knha"))
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("formula", FORMULAS)
def test_meta_regression_matches_metafor(formula, method, test):
    ref = REF[f"metareg_{formula}_{method}_{test}"]
    res = rma(ES, method=method, test=test, mods=BCG[FORMULAS[formula]])
    c = res.coef
    close(c["estimate"], ref["estimate"])
    close(c["se"], ref["se"])
    close(c.iloc[:, 2], ref["stat"])
    close(c["pval"], ref["pval"])
    close(c["ci_lb"], ref["ci_lb"])
    close(c["ci_ub"], ref["ci_ub"])
    for q in ("tau2", "QE", "QEp", "QM", "QMp", "I2", "H2"):
        close(getattr(res, q), ref[q])
    if method != "FE":
        close(res.R2, ref["R2"])


@pytest.mark.parametrize("method", ("DL", "REML"))
def test_subgroups_match_metafor(method):
    ref = REF[f"subgroup_alloc_{method}"]
    res = subgroups(ES, BCG["alloc"], method=method)
    close([res.groups[g].beta for g in ref["groups"]], ref["beta"])
    close([res.groups[g].se for g in ref["groups"]], ref["se"])
    close([res.groups[g].tau2 for g in ref["groups"]], ref["tau2"])
    close(res.Qb, ref["Qb"])
    close(res.Qbp, ref["Qbp"])


def test_leave1out_matches_metafor():
    ref = REF["leave1out_REML"]
    t = leave1out(rma(ES, method="REML")).table
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("ci_lb", "ci_lb"), ("ci_ub", "ci_ub"),
                         ("Q", "Q"), ("tau2", "tau2"), ("I2", "I2")):
        close(t[ours], ref[theirs])


def test_cumul_matches_metafor():
    ref = REF["cumul_REML_year"]
    t = cumul(rma(ES, method="REML"), order=BCG["year"]).table
    for q in ("estimate", "se", "ci_lb", "ci_ub", "tau2"):
        close(t[q], np.array(ref[q], float))


@pytest.mark.parametrize("model", ("rma", "lm"))
def test_regtest_matches_metafor(model):
    ref = REF[f"regtest_{model}"]
    r = regtest(rma(ES, method="REML"), model=model)
    close([r.stat, r.pval, r.limit_estimate, r.limit_ci_lb, r.limit_ci_ub],
          [ref["stat"], ref["pval"], ref["limit"], ref["limit_ci_lb"], ref["limit_ci_ub"]])


# ---------------------------------------------------------------- network meta-analysis
@pytest.fixture(scope="module")
def linde():
    arms, _ = bundled.linde2015()
    return arms


def _order(res, treatments):
    return [res.treatments[1:].index(t) for t in treatments]


def test_network_common_effect_matches_metafor_rma_mv(linde):
    ref = REF["network_linde"]
    res = network(linde, model="common")
    assert res.reference == "Placebo"
    assert len(res.studies) == ref["n_studies"] and sum(len(s.y) for s in res.studies) == ref["n_contrasts"]
    idx = _order(res, ref["treatments"])
    close(res.beta[idx], ref["FE"]["beta"])
    close(np.sqrt(np.diag(res.vcov))[idx], ref["FE"]["se"])
    close(res.Q, ref["FE"]["QE"])


def test_network_random_effects_reml_matches_metafor_rma_mv(linde):
    ref = REF["network_linde"]
    res = network(linde, model="random", method="REML")
    idx = _order(res, ref["treatments"])
    close(res.tau2, ref["REML"]["tau2"], rel=1e-6)
    close(res.beta[idx], ref["REML"]["beta"], rel=1e-6)
    close(np.sqrt(np.diag(res.vcov))[idx], ref["REML"]["se"], rel=1e-6)


def test_common_effect_network_is_exactly_the_gls_solution(linde):
    """Closed form: beta = (X' V^-1 X)^-1 X' V^-1 y, built here independently from the arm counts."""
    res = network(linde, model="common")
    others = res.treatments[1:]
    ys, rows, blocks = [], [], []
    for study, g in linde.groupby("study", sort=False):
        x, n, t = g["xi"].to_numpy(float), g["ni"].to_numpy(float), list(g["treatment"])
        if ((x == 0) | (x == n)).any():
            x, n = x + 0.5, n + 1
        logit, var = np.log(x / (n - x)), 1 / x + 1 / (n - x)
        b = t.index("Placebo") if "Placebo" in t else 0
        o = [i for i in range(len(t)) if i != b]
        ys += [logit[i] - logit[b] for i in o]
        blocks.append(np.diag(var[o]) + var[b])
        for i in o:
            r = np.zeros(len(others))
            r[others.index(t[i])] = 1
            if t[b] != "Placebo":
                r[others.index(t[b])] -= 1
            rows.append(r)
    y, X, V = np.array(ys), np.array(rows), linalg.block_diag(*blocks)
    Vi = np.linalg.inv(V)
    beta = np.linalg.solve(X.T @ Vi @ X, X.T @ Vi @ y)
    np.testing.assert_allclose(res.beta, beta, rtol=1e-12, atol=1e-14)


def test_two_arm_network_reduces_to_pairwise_meta_analysis():
    """With two treatments the network is a pairwise meta-analysis: FE and DL equal rma's."""
    df = pd.read_csv(DATA / "metafor_inputs_linde_tca_placebo_OR.csv")
    arms = pd.concat([df.assign(treatment="TCA", xi=df.ai, ni=df.n1i), df.assign(treatment="Placebo", xi=df.ci, ni=df.n2i)])
    es = escalc("OR", df)
    for model, method, rmethod in (("common", "REML", "FE"), ("random", "DL", "DL"), ("random", "REML", "REML")):
        net = network(arms[["study", "treatment", "xi", "ni"]], model=model, method=method)
        pw = rma(es, method=rmethod)
        b, se = net.contrast("TCA", "Placebo")
        close([b, se, net.tau2], [pw.beta, pw.se, pw.tau2], rel=1e-9)


def test_contrast_level_input_gives_the_arm_level_answer(linde):
    """A multi-arm study entered as all its pairwise contrasts recovers the arm-level covariance."""
    arm = network(linde, model="common")
    rows = []
    for study, g in linde.groupby("study", sort=False):
        x, n, t = g["xi"].to_numpy(float), g["ni"].to_numpy(float), list(g["treatment"])
        if ((x == 0) | (x == n)).any():
            x, n = x + 0.5, n + 1
        lo, v = np.log(x / (n - x)), 1 / x + 1 / (n - x)
        for i, j in [(i, j) for i in range(len(t)) for j in range(i + 1, len(t))]:
            rows.append({"study": study, "treat1": t[i], "treat2": t[j], "yi": lo[i] - lo[j], "sei": np.sqrt(v[i] + v[j])})
    con = network(pd.DataFrame(rows), model="common")
    close(con.beta, arm.beta, rel=1e-9)
    close(con.vcov, arm.vcov, rel=1e-9)


def test_contrasts_do_not_depend_on_the_reference(linde):
    a = network(linde, model="random", reference="Placebo")
    b = network(linde, model="random", reference="SSRI")
    close(a.contrast("TCA", "SSRI"), b.contrast("TCA", "SSRI"), rel=1e-8)
    close(a.tau2, b.tau2, rel=1e-8)


def test_pscores_average_one_half_and_rank_hypericum_first(linde):
    p = network(linde).pscores()
    assert np.mean(list(p.values())) == pytest.approx(0.5, abs=1e-12)  # Rücker & Schwarzer 2015, property of P-scores
    assert next(iter(p)) == "Hypericum"


def test_design_decomposition_adds_up(linde):
    r = network(linde, model="common")
    assert r.Q_het + r.Q_inc == pytest.approx(r.Q, rel=1e-12)
    assert r.df_het + r.df_inc == r.df
    assert 0 < r.Q_het < r.Q


def test_nodesplit_back_calculation_is_consistent(linde):
    """Network precision = direct precision + indirect precision (König et al. 2013)."""
    ns = network(linde, model="common").nodesplit()
    both = ns.dropna(subset=["indirect"])
    close(1 / both["network_se"] ** 2, 1 / both["direct_se"] ** 2 + 1 / both["indirect_se"] ** 2, rel=1e-9)
    assert "TCA vs rMAO-A" in ns.index or "rMAO-A vs TCA" in ns.index
