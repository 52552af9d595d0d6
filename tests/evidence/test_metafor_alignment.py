"""escalc + rma agree with R's metafor to 1e-6 for every estimator and test.

Pinned values: tests/data/metafor_reference.json, written by validation/metafor/run_metafor.R
(R 4.2.2, metafor 3.8.1, metadat 1.2.0), e.g. for each estimator M and test T:
    es  <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
    res <- rma(yi, vi, data = es, method = M, test = T,
               control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000, stepadj = 0.5))
    confint(res, control = list(tol = 1e-12, tau2.max = 1e7))  # Q-profile CI for tau^2
    predict(res)                                  # prediction interval
"""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adpharm.evidence import escalc, rma
from adpharm.evidence.meta import METHODS

DATA = Path(__file__).resolve().parents[1] / "data"
REF = json.loads((DATA / "metafor_reference.json").read_text())
DATASETS = [k for k in REF if not k.startswith("_")]
TESTS = ("z", "knha")
QUANTITIES = ("beta", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2", "I2", "H2", "Q", "QEp", "pi_lb", "pi_ub",
              "tau2_ci_lb", "tau2_ci_ub")


def _es(name):
    return escalc(REF[name]["measure"], pd.read_csv(DATA / f"metafor_inputs_{name}.csv"))


def test_reference_covers_every_combination():
    """The pinned grid is complete, so the check below cannot quietly shrink to the cases that pass."""
    assert set(DATASETS) == {"bcg_RR", "bcg_RD", "normand_SMD", "normand_MD", "linde_tca_placebo_OR"}
    for name in DATASETS:
        assert set(REF[name]["fits"]) == {f"{m}_{t}" for m in METHODS for t in TESTS}


@pytest.mark.parametrize("name", DATASETS)
def test_escalc_matches_metafor(name):
    es = _es(name)
    np.testing.assert_allclose(es.yi, REF[name]["yi"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(es.vi, REF[name]["vi"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", DATASETS)
def test_rma_matches_metafor(name, method, test):
    res = rma(_es(name), method=method, test=test).to_dict()
    ref = REF[name]["fits"][f"{method}_{test}"]
    assert res["k"] == ref["k"]
    for q in QUANTITIES:
        if ref[q] is None:
            continue
        assert res[q] == pytest.approx(ref[q], rel=1e-6, abs=1e-8), q


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R not installed: live metafor check skipped")
def test_live_r_agrees_with_the_pinned_file(tmp_path):
    """Where R is installed, metafor still gives the pinned numbers (catches drift in either side)."""
    code = ('suppressPackageStartupMessages({library(metafor); library(metadat)});'
            'es <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg);'
            'res <- rma(yi, vi, data=es, method="REML", control=list(threshold=1e-12));'
            'cat(sprintf("%.17g %.17g %.17g", res$beta[1], res$se, res$tau2))')
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        pytest.skip(f"metafor not available in R: {out.stderr.strip()[:200]}")
    beta, se, tau2 = map(float, out.stdout.split())
    ref = REF["bcg_RR"]["fits"]["REML_z"]
    assert (beta, se, tau2) == pytest.approx((ref["beta"], ref["se"], ref["tau2"]), rel=1e-10)
