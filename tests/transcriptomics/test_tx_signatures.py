"""Differential expression, reversal, RRHO and overlap against the authors' results and known truths."""
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import data

import bagotgen
from adpharm.transcriptomics.contrasts import GroupMeans, artefact_correlation
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
    x = pd.DataFrame(rng.normal(5, 0.3, (20000, 9)), columns=[f"s{i}" for i in range(9)])
    gm = GroupMeans.fit(x, pd.Series(["C"] * 3 + ["S"] * 3 + ["D"] * 3, index=x.columns))
    a, b = gm.contrast(("g", "S", "C"))["log2FoldChange"], gm.contrast(("g", "D", "S"))["log2FoldChange"]
    assert np.corrcoef(a, b)[0, 1] == pytest.approx(-0.5, abs=0.02)


def test_rat_reversal_naive_versus_honest(rat):
    # PROVENANCE §T2: the authors' stress and fluoxetine contrasts share the Stress group; over the
    # 54 stress DEGs 98 % have opposite sign (Spearman −0.88), much of it the shared-reference
    # artefact; against the control group the signs mostly persist (91 % same sign in the refit).
    c, s = rat
    a, b = read_de(data(AUTH_SC), "treatment,S,C"), read_de(data(AUTH_FS), "treatment,F,S")
    res = reversal(a, b, counts=c, samples=s, seed=1)
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
    d = res.to_dict()
    assert d["honest"]["method"] and d["naive"]["opposite_sign_fraction"] > 0.95
    # without counts, the tables' lfcSE still give an honest estimate, and the artefact is named
    res2 = reversal(a, b, seed=1)
    assert res2.shared_reference["detected"] and not res2.permutation
    assert np.isfinite(res2.honest["r"])


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
