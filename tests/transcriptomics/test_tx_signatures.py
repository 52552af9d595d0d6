"""Differential expression, reversal, RRHO and overlap against the authors' results and known truths."""
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import data

import bagotgen
from adpharm.transcriptomics.contrasts import NBGroupMeans, artefact_correlation
from adpharm.transcriptomics.overlap import bh_adjust, enrichment, overlap
from adpharm.transcriptomics.readers import read_counts, read_de, read_gmt, read_samples
from adpharm.transcriptomics.reversal import region_reversal, reversal
from adpharm.transcriptomics.rrho import by_adjust_log10, rrho

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them

RAT = "flxmetade_GSE205325_CUS_Rats_Counts"
AUTH_SC = "flxmetade_DESeq_Control.v.Stress_GSE205325_converted"
AUTH_FS = "flxmetade_DESeq_Fl.v.Stress_GSE205325_converted"


@pytest.fixture(scope="module")
def rat(tmp_path_factory):
    """Counts and a sheet from PROVENANCE §T2's group codes (C control, S stress, F fluoxetine, …)."""
    c = read_counts(data(RAT))
    f = tmp_path_factory.mktemp("rat") / "samples.csv"
    pd.DataFrame({"sample": c.columns, "treatment": [s.rstrip("0123456789") for s in c.columns]}).to_csv(f, index=False)
    return c, read_samples(f, list(c.columns))


def test_pydeseq2_agrees_with_the_authors_deseq2(rat):
    # PROVENANCE §T2: authors' DESeq2 (~ treatment, all 21 samples, row sum > 5) finds 54 genes at
    # padj < 0.05 for stress vs control; an independent PyDESeq2 refit finds 65 and its log2FC
    # correlate with the authors' at r = 0.988. Issue 9: same range, correlation above 0.95.
    pytest.importorskip("pydeseq2")
    from adpharm.transcriptomics.de import differential_expression
    c, s = rat
    res = differential_expression(c, s, "~ treatment", ("treatment", "S", "C"), min_total_count=6, n_cpus=2)
    summ = res.summary().iloc[0]
    assert 40 <= summ["significant"] <= 90
    ours = res.de_table()
    auth = read_de(data(AUTH_SC))
    both = ours.table.join(auth.table, rsuffix="_authors", how="inner").dropna(subset=["log2FoldChange", "log2FoldChange_authors"])
    assert len(both) > 21000
    assert np.corrcoef(both["log2FoldChange"], both["log2FoldChange_authors"])[0, 1] > 0.95
    shared = set(ours.signature(0.05)) & set(auth.signature(0.05))
    assert len(shared) >= 0.7 * len(auth.signature(0.05))
    assert set(res.table["contrast_numerator"]) == {"S"}
    # the tidy table names its contrast, so `reversal` can find shared references without options
    assert ours.contrast == ("treatment", "S", "C")


def test_artefact_correlation_closed_form_and_by_simulation():
    # For S − C against D − S with equal n the noise correlation is −1/2 (closed form); with
    # n_S = 2 n_C = 2 n_D it is −(1/2)/sqrt((1/2+1)(1+1/2)) = −1/3.
    assert artefact_correlation(("g", "S", "C"), ("g", "D", "S"), {"S": 3, "C": 3, "D": 3}) == pytest.approx(-0.5)
    assert artefact_correlation(("g", "S", "C"), ("g", "D", "S"), {"S": 6, "C": 3, "D": 3}) == pytest.approx(-1 / 3)
    assert artefact_correlation(("g", "S", "C"), ("g", "D", "C"), {"S": 3, "C": 3, "D": 3}) == pytest.approx(0.5)
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.negative_binomial(10, 10 / (10 + 200), (20000, 9)), columns=[f"s{i}" for i in range(9)])
    gm = NBGroupMeans.fit(x, pd.Series(["C"] * 3 + ["S"] * 3 + ["D"] * 3, index=x.columns),
                          pd.Series(1.0, index=x.columns), pd.Series(0.1, index=x.index))
    a, b = gm.contrast(("g", "S", "C"))["log2FoldChange"], gm.contrast(("g", "D", "S"))["log2FoldChange"]
    assert np.corrcoef(a, b)[0, 1] == pytest.approx(-0.5, abs=0.02)


def test_nb_group_means_with_deseq2_dispersions_reproduce_the_authors_tables(rat):
    # The authors' R DESeq2 (~ treatment over all 21 samples, row sum > 5; PROVENANCE §T2) against
    # NBGroupMeans with adpharm's DESeq2-style dispersions for the same design: on the signature genes
    # the log2 fold changes agree to 1e-3 (measured 6e-4) and the standard errors to 2 % (1.4 %).
    from adpharm.transcriptomics.reversal import counts_model
    c, s = rat
    fit, disp = counts_model(c, s, "treatment", min_total_count=6)
    assert disp.meta["genes"] == 21533 and disp.meta["samples"] == 21      # PROVENANCE: 21,533 rows
    gm = fit(s.column("treatment"))
    for name, contrast in ((AUTH_SC, ("treatment", "S", "C")), (AUTH_FS, ("treatment", "F", "S"))):
        auth = read_de(data(name), ",".join(contrast))
        j = gm.contrast(contrast).join(auth.table, rsuffix="_authors", how="inner").dropna(
            subset=["log2FoldChange", "log2FoldChange_authors"])
        sig = [g for g in auth.signature(0.05) if g in j.index]
        assert len(sig) >= len(auth.signature(0.05)) - 1
        assert (j.loc[sig, "log2FoldChange"] - j.loc[sig, "log2FoldChange_authors"]).abs().max() < 1e-3
        assert (j.loc[sig, "lfcSE"] / j.loc[sig, "lfcSE_authors"] - 1).abs().max() < 0.02
        assert (j["lfcSE"] / j["lfcSE_authors"] - 1).abs().median() < 0.01
        assert np.corrcoef(j["log2FoldChange"], j["log2FoldChange_authors"])[0, 1] > 0.999


def test_dispersions_match_pydeseq2_step_by_step(rat):
    # PyDESeq2 0.5 (Muzellec et al. 2023) fits the same steps gene by gene with scipy. Gene-wise
    # Cox-Reid estimates agree to 1e-5 (median); given PyDESeq2's trend and prior variance the MAP
    # estimates agree to 1e-5 too. The trend is where they part: adpharm's is the gamma-GLM maximum
    # likelihood fit (R's glm), PyDESeq2's an L-BFGS-B stop at a higher deviance, so the final
    # dispersions differ by 0.6 % (median) and the prior variance by 3 % (0.8 % and 5 % on 4,000 genes). Both run on the same
    # 2,000 genes drawn from the rat counts (PyDESeq2 takes a minute for all 21,533).
    pytest.importorskip("pydeseq2")
    import warnings
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.default_inference import DefaultInference
    from adpharm.transcriptomics import dispersion as D
    c, s = rat
    c = c[c.sum(axis=1) >= 6].sample(2000, random_state=1)
    groups = s.column("treatment").rename("treatment")
    ours = D.fit_dispersions(c, groups, 6)
    meta = pd.DataFrame({"treatment": pd.Categorical(groups)}, index=groups.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dds = DeseqDataSet(counts=ours.counts.T, metadata=meta, design="~ treatment",
                           inference=DefaultInference(n_cpus=1), quiet=True)
        for step in (dds.fit_size_factors, dds.fit_genewise_dispersions, dds.fit_dispersion_trend,
                     dds.fit_dispersion_prior, dds.fit_MAP_dispersions):
            step()
    def theirs(key):
        return pd.Series(np.asarray(dds.var[key], float), index=ours.counts.index)
    assert np.allclose(np.asarray(dds.obs["size_factors"], float), ours.size_factors.to_numpy(), rtol=1e-10)
    gw = (ours.genewise / theirs("genewise_dispersions") - 1).abs()
    assert gw.median() < 1e-5 and gw.quantile(0.9) < 1e-4
    final = (ours.dispersions / theirs("dispersions") - 1).abs()
    assert final.median() < 0.02
    assert ours.prior_variance == pytest.approx(float(dds.uns["prior_disp_var"]), rel=0.1)
    # the MAP step alone, with PyDESeq2's trend and prior variance, through the same objective
    y = ours.counts.to_numpy(float)
    sf = ours.size_factors.to_numpy()[None, :]
    idx = [np.flatnonzero((groups == g).to_numpy()) for g in sorted(groups.unique())]
    fitted = np.empty_like(y)
    for g in idx:
        fitted[:, g] = (y[:, g] / sf[:, g]).mean(axis=1, keepdims=True)
    mu = np.maximum(fitted * sf, D.MIN_MU)
    prior = (np.log(theirs("fitted_dispersions").to_numpy()), float(dds.uns["prior_disp_var"]))
    best = np.exp(D.maximise_log_dispersion(y, mu, idx, prior, 21.0))
    assert np.median(np.abs(best / theirs("MAP_dispersions").to_numpy() - 1)) < 1e-5


def test_rat_reversal_naive_versus_honest(rat):
    # PROVENANCE §T2: the authors' stress and fluoxetine contrasts share the Stress group; over the
    # 54 stress DEGs 98 % have opposite sign (Spearman −0.88), much of it the shared-reference
    # artefact; against the control group the signs mostly persist (91 % same sign in the refit).
    c, s = rat
    a, b = read_de(data(AUTH_SC), "treatment,S,C"), read_de(data(AUTH_FS), "treatment,F,S")
    res = reversal(a, b, counts=c, samples=s, seed=1, min_total_count=6)
    assert res.shared_reference["detected"] and list(res.shared_reference["groups"]) == ["S"]
    assert res.shared_reference["expected_null_correlation"] == pytest.approx(-0.5)
    assert res.naive["genes"] == 54
    assert res.naive["opposite_sign_fraction"] > 0.95
    assert res.naive["spearman"] == pytest.approx(-0.88, abs=0.01)
    assert res.all_genes["spearman"] == pytest.approx(-0.53, abs=0.01)
    assert res.independent["same_sign_fraction"] > 0.8          # the independent reference
    p = res.permutation
    assert p["exhaustive"] and p["relabellings"] == 20          # C(6, 3) relabellings of F and S
    # the honest verdict does not claim the reversal that the naive count suggests
    assert p["p_value"] >= 0.05
    assert res.verdict.startswith("no reversal established")
    # issue 40: 3 vs 3 animals allow 20 relabellings, so p cannot fall below 0.05; the words say so
    assert p["smallest_attainable_p"] == pytest.approx(0.05) and "smallest attainable permutation p is 0.05" in res.verdict
    # the interval over animals: nine leave-one-out fits on 3 × (3 − 1) = 6 df, wider than the genes' interval
    j = res.jackknife
    assert j["df"] == 6 and len(j["leave_one_out_r"]) == 9 and j["r"] == pytest.approx(res.honest["r"])
    assert j["ci_high"] - j["ci_low"] > res.honest["ci_high"] - res.honest["ci_low"]
    d = res.to_dict()
    assert d["honest"]["method"] and d["naive"]["opposite_sign_fraction"] > 0.95 and d["animal_jackknife"]["df"] == 6
    # issue 40: one statistic from counts and from tables. The tables alone (the authors' DESeq2)
    # give the same r (was 0.59 from tables against 0.78 from log-count means) and the same
    # conclusion: nothing is established for the animals.
    res2 = reversal(a, b, seed=1)
    assert res2.shared_reference["detected"] and not res2.permutation and not res2.jackknife
    assert res2.honest["r"] == pytest.approx(res.honest["r"], abs=0.02)
    assert res2.verdict.startswith("no reversal established for the animals")


def _correlated_animals(seed: int, n: int = 4, genes: int = 1500, signature: int = 150, r_true: float = 0.5,
                        tau: float = 0.4):
    """Control, stressed and drug groups of NB counts with a known reversed fraction, where each animal
    carries a shared factor u ~ N(0, tau²) that shifts every gene by its loading (co-expression): the
    genes' noise is correlated within an animal, as the bootstrap over genes assumes it is not."""
    rng = np.random.default_rng(seed)
    base = rng.lognormal(np.log(200), 1.2, genes)
    disp = 0.05 + 1 / np.sqrt(base)
    sig = rng.choice(genes, signature, replace=False)
    stress = np.zeros(genes)
    stress[sig] = rng.uniform(0.5, 1.5, signature) * rng.choice([-1, 1], signature)
    back = rng.random(signature) < r_true
    drug = stress.copy()
    drug[sig[back]] = 0.0
    loading = rng.normal(0, 1, genes)
    cols, labels = {}, []
    for g, level in (("C", np.zeros(genes)), ("S", stress), ("D", drug)):
        for k in range(n):
            mu = base * 2 ** (level + loading * rng.normal(0, tau))
            cols[f"{g}{k}"] = rng.negative_binomial(1 / disp, 1 / (1 + disp * mu))
            labels.append(g)
    counts = pd.DataFrame(cols, index=[f"g{i}" for i in range(genes)])
    return counts, pd.Series(labels, index=counts.columns), pd.Series(disp, index=counts.index), float(back.mean())


def test_animal_jackknife_covers_when_animals_share_noise_across_genes():
    # Known truth (the realised reversed fraction) in 30 generated data sets of 4 animals per group:
    # the interval over animals covers it at about its nominal 95 %, the bootstrap over genes does
    # not (it treats the genes of one animal as independent). Dispersions and size factors are the
    # generator's, so the check isolates the interval (measured: 28/30 against 22/30).
    from adpharm.transcriptomics.reversal import _estimate, _from_means, _posterior, animal_jackknife
    covered = {"animals": 0, "genes": 0}
    for rep in range(30):
        counts, groups, disp, truth = _correlated_animals(rep)
        sf = pd.Series(1.0, index=counts.columns)
        fit = lambda g: NBGroupMeans.fit(counts, g, sf, disp)          # noqa: E731
        m = fit(groups)
        dis = m.contrast(("f", "S", "C"))
        p = dis["pvalue"].dropna()
        sig = list(p.index[bh_adjust(p.to_numpy()) < 0.05])
        j = animal_jackknife(fit, groups, ("f", "S", "C"), ("f", "D", "S"), sig)
        b = _estimate(_from_means(m, ("f", "S", "C"), "D", 0.5)[sig].to_numpy(), _posterior(dis)[0][sig].to_numpy(),
                      0.5, 500, np.random.default_rng(rep))
        covered["animals"] += j["ci_low"] <= truth <= j["ci_high"]
        covered["genes"] += b["ci_low"] <= truth <= b["ci_high"]
    assert covered["animals"] >= 26, covered          # >= 87 %
    assert covered["genes"] <= 24, covered            # <= 80 %


@pytest.fixture(scope="module")
def bagot(tmp_path_factory):
    c, sheet, truth = bagotgen.generate()
    f = tmp_path_factory.mktemp("bagot") / "samples.csv"
    sheet.to_csv(f, index=False)
    return c, read_samples(f, list(c.columns)), truth


def test_generated_regions_recover_the_known_reversal(bagot):
    # Known truth: bagotgen.TRUE_REVERSAL (design values), realised fractions in `truth`.
    c, s, truth = bagot
    res = region_reversal(c, s, "region", "group", "control", "susceptible", ["ketamine", "imipramine"], seed=2)
    t = res.table.merge(truth, on=["region", "drug"])
    assert len(t) == 8
    err = (t["r"] - t["realised_r"]).abs()
    assert err.max() < 0.08, t[["region", "drug", "r", "realised_r"]]
    assert ((t["ci_low"] <= t["realised_r"] + 0.02) & (t["realised_r"] - 0.02 <= t["ci_high"])).all()
    # the region pattern of Bagot et al. 2017: ketamine more in HC, imipramine more in NAc and AMY
    r = t.set_index(["region", "drug"])["r"]
    assert r["HC", "ketamine"] > r["HC", "imipramine"] + 0.4
    assert r["NAc", "imipramine"] > r["NAc", "ketamine"] + 0.3
    assert t.set_index(["region", "drug"]).loc[("HC", "imipramine"), "verdict"].startswith("no reversal")


def test_generated_shared_reference_artefact_fools_the_naive_score_only(tmp_path):
    # Three animals per group and weaker effects (bagotgen seed 1): imipramine does nothing in HC
    # (true r = 0), yet most HC signature genes move "the other way" against the susceptible group.
    c, sheet, truth = bagotgen.generate(n_per_group=3, effect_log2=(0.3, 1.0), seed=1)
    sheet.to_csv(tmp_path / "s.csv", index=False)
    s = read_samples(tmp_path / "s.csv", list(c.columns))
    t = region_reversal(c, s, "region", "group", "control", "susceptible", ["imipramine"], seed=0).table
    hc = t.set_index("region").loc["HC"]
    assert hc["opposite_sign_fraction"] > 0.7
    assert hc["r"] < 0.3


def test_rrho_identical_and_reversed_rankings():
    rng = np.random.default_rng(0)
    genes = [f"g{i}" for i in range(2000)]
    a = pd.Series(rng.normal(size=2000), index=genes)
    same = rrho(a, a + rng.normal(0, 0.3, 2000))
    q = same.quadrants.set_index("quadrant")
    assert q.loc["up_up", "max_log10p_adj"] > 50 and q.loc["down_down", "max_log10p_adj"] > 50
    assert q.loc["up_down", "max_log10p_adj"] < 1 and q.loc["down_up", "max_log10p_adj"] < 1
    rev = rrho(a, -a + rng.normal(0, 0.3, 2000), permutations=20, seed=1).quadrants.set_index("quadrant")
    assert rev.loc["up_down", "max_log10p_adj"] > 50 and rev.loc["up_up", "max_log10p_adj"] < 1
    assert rev.loc["up_down", "p_permutation"] == pytest.approx(1 / 21)


def test_rrho_shows_the_shared_reference_on_the_authors_tables():
    # The two authors' contrasts share the Stress group: the discordant quadrants dominate.
    res = rrho(read_de(data(AUTH_SC)).ranking(), read_de(data(AUTH_FS)).ranking())
    q = res.quadrants.set_index("quadrant")["max_log10p_adj"]
    assert min(q["up_down"], q["down_up"]) > 100 > max(q["up_up"], q["down_down"])


def test_hypergeometric_overlap_closed_form():
    # 10 of 100 genes in A, 20 in B, 5 shared: P(X >= 5) for X ~ Hypergeom(100, 10, 20), from
    # R: phyper(4, 10, 90, 20, lower.tail = FALSE) = 0.02546 (4 s.f.)
    U = [f"g{i}" for i in range(100)]
    res = overlap({"A": U[:10], "B": U[5:25] + ["outside"]}, U)
    row = res.table.iloc[0]
    assert row["overlap"] == 5 and row["expected"] == pytest.approx(2.0)
    assert row["p_enrichment"] == pytest.approx(0.02546, rel=1e-3)
    assert res.dropped == {"A": 0, "B": 1}


def test_enrichment_of_the_gemma_sets():
    sets = read_gmt(data("braingmt_BrainGMTv2_MouseOrthologs"))
    pre = "Gemma_GSE81672_Ketamine_and_Imipramine_Reverse_Transcriptional_Signatures_of_Susceptibility_and_Induce_Resilience-Specific_Gene_Expression_Profiles_"
    # PROVENANCE §T1: Vipr2 and Rab37 are in HC imipramine Down and HC ketamine Up; the GSE81672
    # HC analysis covered 21,766 genes, used here as the universe size.
    U = set().union(*sets.values()) | {f"pad{i}" for i in range(21766)}
    U = set(list(sorted(U))[:21766]) | set(sets[pre + "HC_treatment_ketamine_Up"]) | set(sets[pre + "HC_treatment_imipramine_Down"])
    res = enrichment({"HC ketamine Up": sets[pre + "HC_treatment_ketamine_Up"]},
                     {k: v for k, v in sets.items() if k.startswith(pre)}, U, min_size=1)
    t = res.table.set_index("set")
    top = t.loc[pre + "HC_treatment_imipramine_Down"]
    assert {"Vipr2", "Rab37"} <= set(top["genes"].split(","))
    assert top["p_value"] < 1e-4


def _r(code: str) -> str:
    return subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R not installed: p.adjust check skipped")
def test_bh_and_by_match_r_p_adjust():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    vec = ",".join(map(str, p))
    bh = np.array(_r(f"cat(sprintf('%.15g', p.adjust(c({vec}), 'BH')))").split(), float)
    by = np.array(_r(f"cat(sprintf('%.15g', p.adjust(c({vec}), 'BY')))").split(), float)
    assert np.allclose(bh_adjust(p), bh, rtol=1e-9)
    assert np.allclose(10 ** by_adjust_log10(np.log10(p)), by, rtol=1e-9)
