"""Preranked GSEA (issue 40, item 5): the enrichment score against its definition (Subramanian et al. 2005,
the running sum written out), the null's calibration on random sets, and the real GSE202172 fluoxetine
table on BrainGMT (PROVENANCE §T3) through the command line."""
import json

import numpy as np
import pandas as pd
import pytest
from conftest import data, run_cli

from adpharm.errors import AdpharmInputError
from adpharm.transcriptomics.gsea import enrichment_score, gsea


def _running_sum_es(stats: np.ndarray, in_set: np.ndarray) -> float:
    """The definition, step by step: walk down the ranking, +|r|/NR on a hit, -1/(N-Nh) on a miss; ES is
    the largest deviation from zero."""
    order = np.argsort(-stats, kind="stable")
    s, hit = stats[order], in_set[order]
    nr, miss = np.abs(s[hit]).sum(), 1.0 / (len(s) - hit.sum())
    run, best = 0.0, 0.0
    for v, h in zip(s, hit):
        run += abs(v) / nr if h else -miss
        if abs(run) > abs(best):
            best = run
    return best


def test_enrichment_score_by_hand_and_against_the_running_sum():
    r = pd.Series([5.0, 4, 3, 2, 1], index=list("abcde"))
    assert enrichment_score(r, {"a", "c"}) == pytest.approx(5 / 8 - 1 / 3 + 3 / 8)      # 2/3 at gene c
    assert enrichment_score(r, {"d", "e"}) == pytest.approx(-1.0)                        # all misses first
    rng = np.random.default_rng(4)
    for _ in range(20):
        stats = rng.normal(size=300)
        mask = rng.random(300) < 0.1
        r = pd.Series(stats, index=[f"g{i}" for i in range(300)])
        assert enrichment_score(r, set(r.index[mask])) == pytest.approx(_running_sum_es(stats, mask), abs=1e-12)


def test_planted_sets_are_found_and_random_sets_are_not():
    rng = np.random.default_rng(11)
    r = pd.Series(rng.normal(size=3000), index=[f"g{i}" for i in range(3000)])
    order = list(r.sort_values().index)
    sets = {"top": order[-60:], "bottom": order[:60]}
    sets |= {f"random{i}": list(rng.choice(r.index, 40, replace=False)) for i in range(60)}
    res = gsea(r, sets, permutations=1000, seed=2).table.set_index("set")
    assert res.loc["top", "NES"] > 2 and res.loc["bottom", "NES"] < -2
    assert res.loc["top", "pval"] < 0.003 and res.loc["bottom", "pval"] < 0.003       # ~1/(500 + 1): the smallest p
    rand = res.drop(index=["top", "bottom"])
    assert (rand["pval"] < 0.05).mean() < 0.15                    # about 5 % expected under the null
    assert rand["padj"].min() > 0.05


def test_bad_input():
    r = pd.Series(np.arange(100.0), index=[f"g{i}" for i in range(100)])
    with pytest.raises(AdpharmInputError, match="same gene identifiers"):
        gsea(r, {"s": ["x1", "x2"]}, min_size=2)
    with pytest.raises(AdpharmInputError, match="permutations"):
        gsea(r, {"s": list(r.index[:20])}, permutations=5)


@pytest.mark.slow
def test_real_fluoxetine_table_on_braingmt_through_the_cli(tmp_path):
    de = data("flxmetade_GSE202172_Singlehoused_Vs_Singlehoused_Flx")
    gmt = data("braingmt_BrainGMTv2_MouseOrthologs")
    res = run_cli("transcriptomics", "enrich", str(de), "--gmt", str(gmt), "--ranked", "--permutations", "500",
                  "--out", str(tmp_path / "gsea.csv"), "--format", "json")
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert d["provenance"]["ranked_genes"] > 15000 and d["provenance"]["sets_tested"] > 500
    t = pd.read_csv(tmp_path / "gsea.csv")
    assert len(t) == d["provenance"]["sets_tested"] and t["padj"].between(0, 1).all()
    # the leading edge lies on the side of the ranking the score says
    from adpharm.transcriptomics.readers import read_de
    ranking = read_de(de).ranking()
    for row in d["results"][:10]:
        signs = np.sign(ranking[row["leading_edge"]])
        assert (signs == np.sign(row["ES"])).mean() > 0.9
    rat = data("flxmetade_DESeq_Control.v.Stress_GSE205325_converted")      # Ensembl rat IDs, mouse symbols
    res = run_cli("transcriptomics", "enrich", str(rat), "--gmt", str(gmt), "--ranked")
    assert res.returncode == 2 and "same gene identifiers" in res.stderr and len(res.stderr.strip().splitlines()) == 1
