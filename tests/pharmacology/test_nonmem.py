"""NONMEM-style datasets (issue 34): `pk simulate --format nonmem` and `trial simulate --format nonmem` write the
dosing and observation records that NONMEM, nlmixr2 and Monolix read; reading them back gives the same doses
and observations as the simulation."""
import numpy as np
import pandas as pd
import pytest

from adpharm.errors import AdpharmInputError
from adpharm.pharmacology.nonmem import COLUMNS, read_dataset
from adpharm.pharmacology.regimen import parse_regimen
from adpharm.pharmacology.simulate import PatientCovariates, simulate
from conftest import run_cli


@pytest.mark.parametrize("drug, regimen, weight", [("imipramine", "75 mg po daily", 70.0),
                                                   ("ketamine", "0.5 mg/kg iv over 40 min", 80.0),
                                                   ("esketamine", "56 mg intranasal twice weekly for 2 weeks", 70.0)])
def test_pk_dataset_round_trips_doses_and_observations(tmp_path, drug, regimen, weight):
    f = tmp_path / "pk.csv"
    r = run_cli("pk", "simulate", "--drug", drug, "--regimen", regimen, "--hours", "96", "--n", "3", "--seed", "4",
                "--weight", str(weight), "--format", "nonmem", "--out", str(f))
    assert r.returncode == 0, r.stderr
    d = read_dataset(f)
    assert list(d.columns[:8]) == list(COLUMNS)
    res = simulate(drug, regimen, hours=96, n=3, seed=4, covariates=PatientCovariates(weight_kg=weight), keep_profiles=True)
    events = parse_regimen(regimen).events(until_h=96 + 1e-9)
    for i in (1, 2, 3):
        doses = d[(d["ID"] == i) & (d["EVID"] == 1)]
        assert doses["TIME"].tolist() == [e.time_h for e in events]
        assert np.allclose(doses["AMT"], [float(e.dose_mg(weight)) for e in events])
        assert (doses["MDV"] == 1).all()
        inf = [e for e in events if e.duration_h > 0]
        if inf:
            assert np.allclose(doses["RATE"], [float(e.dose_mg(weight)) / e.duration_h for e in inf])
            assert (doses["CMT"] == 2).all()
        else:
            assert (doses["CMT"] == 1).all() and (doses["RATE"] == 0).all()
    obs = d[d["EVID"] == 0]
    tidy = res.tidy()
    for k, analyte in enumerate(res.analytes):
        got = obs[obs["CMT"] == 2 + k].sort_values(["ID", "TIME"])["DV"].to_numpy()
        want = tidy[tidy["analyte"] == analyte].sort_values(["subject", "time_h"])["conc_ng_per_ml"].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-9)      # written with 6 significant digits
    first = d.groupby("ID").head(1)
    assert (first["EVID"] == 1).all()          # at time 0 the dose comes before the observation


def test_trial_dataset_round_trips_ratings_and_arm_doses(tmp_path):
    f, g = tmp_path / "t.csv", tmp_path / "long.csv"
    for fmt, out in (("nonmem", f), ("csv", g)):
        r = run_cli("trial", "simulate", "ssri-mdd-8wk", "--n-per-arm", "6", "--seed", "2", "--format", fmt,
                    "--out", str(out))
        assert r.returncode == 0, r.stderr
    d, long = read_dataset(f), pd.read_csv(g)
    obs = d[d["EVID"] == 0]
    assert len(obs) == len(long) and (obs["DVID"] == 1).all() and (obs["CMT"] == 0).all()
    np.testing.assert_allclose(np.sort(obs["DV"].to_numpy()), np.sort(long["value"].to_numpy()), rtol=1e-5)
    sert = d[(d["EVID"] == 1)]
    assert set(sert["AMT"]) == {50.0} and (sert["DRUG"] == 1).all()
    per_subject = sert.groupby("ID").size()
    assert (per_subject == 56).all()        # 50 mg daily from hour 0, every dose before the week-8 visit (1344 h)
    assert set(d.loc[d["ID"].isin(per_subject.index), "ARM"]) == {1}


def test_crossover_and_bad_datasets_are_one_line_errors(tmp_path):
    r = run_cli("trial", "simulate", "ketamine-crossover", "--n-per-arm", "2", "--seed", "1", "--format", "nonmem")
    assert r.returncode == 2 and "crossover" in r.stderr and r.stderr.count("\n") == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("ID,TIME,AMT\n1,0,10\n")
    with pytest.raises(AdpharmInputError, match="bad.csv: missing column 'RATE'"):
        read_dataset(bad)
