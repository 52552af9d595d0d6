"""Virtual populations: seeded, chunk-invariant, with percentiles and phenotype mixtures."""
import numpy as np
import pytest

from adpharm.errors import AdpharmInputError
from adpharm.pharmacology.simulate import PHENOTYPE_FREQUENCIES, PatientCovariates, iter_profiles, simulate


def test_same_seed_same_numbers_whatever_the_chunk_size():
    a = simulate("imipramine", "150 mg po daily", hours=96, n=50, seed=7, chunk_size=7)
    b = simulate("imipramine", "150 mg po daily", hours=96, n=50, seed=7, chunk_size=50)
    assert np.array_equal(a.conc_ng_per_ml, b.conc_ng_per_ml)
    c = simulate("imipramine", "150 mg po daily", hours=96, n=50, seed=8)
    assert not np.array_equal(a.conc_ng_per_ml, c.conc_ng_per_ml)


def test_percentiles_and_lognormal_spread_of_clearance():
    """CV 34 % on escitalopram clearance (M08): the AUC spread matches a log-normal with that CV."""
    res = simulate("escitalopram", "10 mg po", hours=600, step_h=1, n=4000, seed=1)
    auc = res.nca.query("analyte == 'escitalopram'")["auc_ng_h_per_ml"].to_numpy()
    omega = np.sqrt(np.log1p(0.34 ** 2))
    assert np.std(np.log(auc)) == pytest.approx(omega, rel=0.06)
    s = res.summary().set_index(["analyte", "measure"])
    row = s.loc[("escitalopram", "cmax_ng_per_ml")]
    assert row["p5"] < row["p50"] < row["p95"]


def test_mixed_phenotypes_follow_the_published_frequencies():
    res = simulate("desipramine", "50 mg po", hours=24, n=20_000, seed=3, keep_profiles=False)
    freq = res.covariates["cyp2d6_phenotype"].value_counts(normalize=True)
    assert freq.get("NM", 0) == pytest.approx(1.0)  # default: all normal metabolisers
    res = simulate("desipramine", "50 mg po", hours=24, n=20_000, seed=3,
                   covariates=PatientCovariates(phenotype="mixed"), keep_profiles=False)
    freq = res.covariates["cyp2d6_phenotype"].value_counts(normalize=True)
    for ph, p in PHENOTYPE_FREQUENCIES.items():
        assert freq[ph] == pytest.approx(p, abs=0.01)


def test_streamed_table_equals_the_kept_profiles():
    kw = dict(drug="ketamine", regimen="0.5 mg/kg iv over 40 min", n=5, seed=11, hours=6, step_h=0.5)
    res = simulate(kw["drug"], kw["regimen"], n=5, seed=11, hours=6, step_h=0.5)
    streamed = __import__("pandas").concat(iter_profiles(dict(kw), chunk_size=2), ignore_index=True)
    tidy = res.tidy()
    assert list(tidy.columns) == ["subject", "time_h", "analyte", "conc_ng_per_ml"]
    np.testing.assert_array_equal(streamed["conc_ng_per_ml"].to_numpy(), tidy["conc_ng_per_ml"].to_numpy())


def test_weight_based_doses_scale_with_weight():
    light = simulate("ketamine", "0.5 mg/kg iv over 40 min", covariates=PatientCovariates(weight_kg=50), hours=4)
    heavy = simulate("ketamine", "0.5 mg/kg iv over 40 min", covariates=PatientCovariates(weight_kg=100), hours=4)
    assert heavy.summary().iloc[0]["value"] > light.summary().iloc[0]["value"]


@pytest.mark.parametrize("kw, part", [
    ({"n": 0}, "n: 0"), ({"weight_kg": -3}, "weight: -3 kg"), ({"phenotype": "XM"}, "phenotype: 'XM'"),
    ({"hours": -1}, "hours: -1"), ({"age_y": 300}, "age: 300"),
])
def test_bad_population_options(kw, part):
    covariates = {k: kw.pop(k) for k in ("weight_kg", "phenotype", "age_y") if k in kw}
    with pytest.raises(AdpharmInputError) as exc:
        simulate("imipramine", "50 mg po", covariates=PatientCovariates(**covariates), **kw)
    assert part in str(exc.value)
