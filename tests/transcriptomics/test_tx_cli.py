"""`adpharm transcriptomics ...` as users run it: JSON, figures, and bad input (exit 2, nothing written)."""
import json

import pandas as pd
import pytest
from conftest import data, run_cli

import bagotgen

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them



@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Two regions of the Bagot-shaped generator, 800 genes (100 in the signature): quick enough for PyDESeq2 in a test."""
    d = tmp_path_factory.mktemp("tx")
    c, sheet, truth = bagotgen.generate(n_genes=800, n_signature=100, seed=7)
    keep = sheet["region"].isin(["HC", "NAc"]).to_numpy()
    c.loc[:, keep].to_csv(d / "counts.csv.gz")
    sheet[keep].to_csv(d / "samples.csv", index=False)
    return d


def test_de_by_region_writes_a_tidy_table_and_a_volcano(small):
    pytest.importorskip("pydeseq2")
    out, fig = small / "de.csv", small / "volcano.svg"
    r = run_cli("transcriptomics", "de", str(small / "counts.csv.gz"), "--samples", str(small / "samples.csv"),
                "--design", "~ group", "--contrast", "group,susceptible,control", "--by", "region",
                "--out", str(out), "--plot", str(fig), "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert {row["region"] for row in d["summary"]} == {"HC", "NAc"}
    assert all(row["significant"] > 30 for row in d["summary"])
    assert "Research use only" in d["notice"]
    t = pd.read_csv(out)
    assert {"gene", "region", "log2FoldChange", "padj", "contrast_reference"} <= set(t.columns)
    assert fig.read_text().startswith("<?xml")
    # the written table feeds `reversal` without contrast options: the shared reference is found
    r2 = run_cli("transcriptomics", "de", str(small / "counts.csv.gz"), "--samples", str(small / "samples.csv"),
                 "--contrast", "group,ketamine,susceptible", "--subset", "region=HC", "--out", str(small / "ket.csv"))
    assert r2.returncode == 0, r2.stderr
    hc = t[t.region == "HC"].drop(columns="region")
    hc.to_csv(small / "sus_hc.csv", index=False)
    r3 = run_cli("transcriptomics", "reversal", "--disease", str(small / "sus_hc.csv"), "--drug", str(small / "ket.csv"),
                 "--format", "json")
    assert r3.returncode == 0, r3.stderr
    d3 = json.loads(r3.stdout)
    assert d3["shared_reference"]["detected"] and "susceptible" in d3["shared_reference"]["groups"]


def test_regions_heat_map_and_table(small):
    heat, out = small / "heat.png", small / "regions.csv"
    r = run_cli("transcriptomics", "regions", str(small / "counts.csv.gz"), "--samples", str(small / "samples.csv"),
                "--drugs", "ketamine,imipramine", "--plot", str(heat), "--out", str(out), "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["regions"]
    assert len(rows) == 4 and all({"r", "ci_low", "ci_high", "r_naive", "verdict"} <= set(x) for x in rows)
    assert heat.read_bytes()[:4] == b"\x89PNG" and len(pd.read_csv(out)) == 4
    # --subset as in `de` (issue 40): one region kept, so two rows (one per drug)
    r = run_cli("transcriptomics", "regions", str(small / "counts.csv.gz"), "--samples", str(small / "samples.csv"),
                "--drugs", "ketamine,imipramine", "--subset", "region=HC", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert {x["region"] for x in json.loads(r.stdout)["regions"]} == {"HC"}


def test_rrho_and_reversal_on_the_rat_tables(tmp_path):
    a = data("flxmetade_DESeq_Control.v.Stress_GSE205325_converted")
    b = data("flxmetade_DESeq_Fl.v.Stress_GSE205325_converted")
    r = run_cli("transcriptomics", "rrho", str(a), str(b), "--plot", str(tmp_path / "rrho.png"), "--format", "json")
    assert r.returncode == 0, r.stderr
    assert {q["quadrant"] for q in json.loads(r.stdout)["quadrants"]} == {"up_up", "down_down", "up_down", "down_up"}
    r = run_cli("transcriptomics", "reversal", "--disease", str(a), "--drug", str(b))
    assert r.returncode == 0 and "shared reference not checked" in r.stdout
    r = run_cli("transcriptomics", "reversal", "--disease", str(a), "--drug", str(b), "--disease-contrast",
                "treatment,S,C", "--drug-contrast", "treatment,F,S", "--plot", str(tmp_path / "rev.svg"))
    assert r.returncode == 0 and "shared reference detected" in r.stdout and "naive: 98%" in r.stdout


def test_enrich_and_overlap_commands(tmp_path):
    gmt = data("braingmt_BrainGMTv2_MouseOrthologs")
    de = data("flxmetade_GSE202172_Singlehoused_Vs_Singlehoused_Flx")
    r = run_cli("transcriptomics", "enrich", str(de), "--gmt", str(gmt), "--top", "5", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    # the universe is the genes the table tested: 17,088 rows (PROVENANCE §T3) less 203 with p = NA
    assert d["universe"] == 17088 - 203 and len(d["results"]) == 5
    lists = data("flxmetade_GSE43261-DDGDElist")
    r = run_cli("transcriptomics", "overlap", str(lists), "--universe", str(data("flxmetade_GSE43261-DEbackground")),
                "--set", "SFRC", "--set", "SFNC", "--format", "json")
    assert r.returncode == 0, r.stderr
    o = json.loads(r.stdout)
    assert o["universe"] == 17849 and o["overlaps"][0]["p_enrichment"] < 1e-10


@pytest.mark.parametrize("body, sheet, message", [
    ("gene,a,b,c,d\ng1,5,-2,3,3\n", None, "sample 'b', gene 'g1': count -2 is negative"),
    ("gene,a,b,c,d\ng1,5,2.5,3,3\n", None, "count 2.5 is not an integer"),
    ("gene,a,b,c,d\ng1,5,2,3,3\n", "sample,group\na,x\nb,x\nc,y\n", "sample 'd' of the counts is missing from the sheet"),
])
def test_malformed_counts_exit_2_and_write_nothing(tmp_path, body, sheet, message):
    (tmp_path / "c.csv").write_text(body)
    (tmp_path / "s.csv").write_text(sheet or "sample,group\na,x\nb,x\nc,y\nd,y\n")
    out = tmp_path / "de.csv"
    r = run_cli("transcriptomics", "de", str(tmp_path / "c.csv"), "--samples", str(tmp_path / "s.csv"),
                "--contrast", "group,y,x", "--out", str(out))
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr and not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--contrast", "group,y"], "must be FACTOR,NUMERATOR,REFERENCE"),
    (["--contrast", "group,z,x"], "group has no level 'z'"),
    (["--contrast", "dose,y,x"], "factor 'dose' is not in the design"),
    (["--contrast", "group,y,x", "--design", "group"], "must be a formula starting with '~'"),
    (["--contrast", "group,y,x", "--plot", "v.gif"], "plot files must end in .svg, .png or .pdf"),
])
def test_bad_options_exit_2(tmp_path, args, message):
    (tmp_path / "c.csv").write_text("gene,a,b,c,d\n" + "".join(f"g{i},{i},{i + 1},{i + 2},{i}\n" for i in range(20)))
    (tmp_path / "s.csv").write_text("sample,group\na,x\nb,x\nc,y\nd,y\n")
    r = run_cli("transcriptomics", "de", str(tmp_path / "c.csv"), "--samples", str(tmp_path / "s.csv"), *args)
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_reversal_counts_without_samples_and_unknown_group(tmp_path):
    de = tmp_path / "d.csv"
    pd.DataFrame({"gene": [f"g{i}" for i in range(10)], "log2FoldChange": range(10), "pvalue": [0.01] * 10}).to_csv(de, index=False)
    r = run_cli("transcriptomics", "reversal", "--disease", str(de), "--drug", str(de), "--counts", str(de))
    assert r.returncode == 2 and "--counts needs --samples" in r.stderr
    (tmp_path / "s.csv").write_text("sample,group\na,x\nb,y\n")
    r = run_cli("transcriptomics", "reversal", "--disease", str(de), "--drug", str(de), "--samples", str(tmp_path / "s.csv"),
                "--disease-contrast", "group,stress,x", "--drug-contrast", "group,d,stress")
    assert r.returncode == 2 and "disease contrast group 'stress' has no samples" in r.stderr


def test_enrich_with_identifiers_that_match_nothing_says_so(tmp_path):
    """Issue 40: a GMT whose gene identifiers match none of the signature's universe printed an empty table; it is
    now one line naming the mismatch, exit 2, nothing written."""
    (tmp_path / "sets.gmt").write_text("SET_A\tdesc\tENSG000001\tENSG000002\tENSG000003\n"
                                       "SET_B\tdesc\tENSG000004\tENSG000005\tENSG000006\n")
    (tmp_path / "sig.txt").write_text("Bdnf\nFos\nArc\nEgr1\n")
    (tmp_path / "universe.txt").write_text("Bdnf\nFos\nArc\nEgr1\nNpas4\nHomer1\n")
    out = tmp_path / "enrich.csv"
    r = run_cli("transcriptomics", "enrich", str(tmp_path / "sig.txt"), "--gmt", str(tmp_path / "sets.gmt"),
                "--universe", str(tmp_path / "universe.txt"), "--out", str(out))
    assert r.returncode == 2, r.stdout
    assert "none of the 2 sets" in r.stderr and "same gene identifiers" in r.stderr and r.stderr.count("\n") == 1
    assert not out.exists()


def test_rrho_warns_of_a_shared_group_and_of_a_filtered_table(tmp_path):
    """Issue 40: the rat tables Control.v.Stress and Fl.v.Stress share the Stress group; with their contrasts given
    RRHO says so (expected noise correlation -0.50 with equal groups); without them it says it did not check. A
    table cut to p <= 0.05 is named as filtered."""
    a = data("flxmetade_DESeq_Control.v.Stress_GSE205325_converted")
    b = data("flxmetade_DESeq_Fl.v.Stress_GSE205325_converted")
    r = run_cli("transcriptomics", "rrho", str(a), str(b), "--a-contrast", "treatment,S,C", "--b-contrast",
                "treatment,F,S", "--format", "json")
    assert r.returncode == 0, r.stderr
    w = json.loads(r.stdout)["warnings"]
    assert any("share group 'S'" in x and "-0.50" in x for x in w), w
    r = run_cli("transcriptomics", "rrho", str(a), str(b))
    assert r.returncode == 0 and "shared reference group not checked" in r.stderr
    import pandas as pd
    t = pd.read_csv(a)
    pcol = next(c for c in t.columns if c.lower() in ("pvalue", "p.value", "pval"))
    t[t[pcol] <= 0.05].to_csv(tmp_path / "cut.csv", index=False)
    r = run_cli("transcriptomics", "rrho", str(tmp_path / "cut.csv"), str(b), "--format", "json")
    assert r.returncode == 0, r.stderr
    assert any("looks filtered" in x for x in json.loads(r.stdout)["warnings"])


@pytest.fixture(scope="module")
def trap(tmp_path_factory):
    """GSE202172 (PROVENANCE §T3): bacTRAP IP and input samples of every group, one sheet. A `group`
    column joins housing, treatment and behaviour: Gh (group housed), Sh (single housed), Flx (Sh + Flx)."""
    sheet = pd.read_csv(data("flxmetade_GSE202172_sample_metadata_converted"))
    sheet["group"] = ["Gh" if h.startswith("group") else "Sh" if t == "Vehicle" else "Flx" if b == "normal" else "FlxA"
                      for h, t, b in zip(sheet.housing, sheet.treatment, sheet.behavior)]
    f = tmp_path_factory.mktemp("trap") / "sheet.csv"
    sheet.to_csv(f, index=False)
    return ["transcriptomics", "reversal", "--disease", str(data("flxmetade_GSE202172_Singlehoused_Vs_Grouphousedhoused")),
            "--drug", str(data("flxmetade_GSE202172_Singlehoused_Vs_Singlehoused_Flx")), "--disease-contrast", "group,Sh,Gh",
            "--drug-contrast", "group,Flx,Sh", "--counts", str(data("flxmetade_GSE202172_RAW")), "--samples", str(f),
            "--permutations", "5"]


def test_reversal_from_counts_names_pooled_trap_and_input_and_takes_a_subset(trap):
    """Issue 40: `reversal --counts` mixed TRAP (IP) and input samples without a word. Now the pooled
    column is named (once, not again for the description column that aliases it), and --subset keeps one.
    Each run fits DESeq2's dispersions over the kept samples (32 or 16 libraries), hence the longer timeout."""
    r = run_cli(*trap, timeout=400)
    assert r.returncode == 0, r.stderr
    warned = [x for x in r.stderr.splitlines() if x.startswith("adpharm: warning:")]
    assert len(warned) == 1 and "samples differ in 'sample_type' (Immunoprecipitation (IP), Input)" in warned[0]
    assert "smallest attainable p" in r.stdout and "interval over animals: delete-one jackknife over 24 samples" in r.stdout
    r = run_cli(*trap, "--subset", "sample_type=Immunoprecipitation (IP)", "--format", "json", timeout=400)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["warnings"] == [] and d["provenance"]["subset"] == {"sample_type": "Immunoprecipitation (IP)"}
    assert d["provenance"]["dispersions"]["samples"] == 16 and d["animal_jackknife"]["df"] == 9
    r = run_cli(*trap, "--subset", "sample_type=TRAP")
    assert r.returncode == 2 and "subset: no sample has sample_type = 'TRAP' (values: Immunoprecipitation (IP), Input)" \
        in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_reversal_subset_needs_counts():
    de = data("flxmetade_DESeq_Control.v.Stress_GSE205325_converted")
    r = run_cli("transcriptomics", "reversal", "--disease", str(de), "--drug", str(de), "--subset", "sex=F")
    assert r.returncode == 2 and "--subset needs --counts" in r.stderr


def test_regions_signature_from_deseq2_or_the_users_tables(small, tmp_path):
    """Issue 40: `regions` found no signature where `de` (DESeq2) found one, because it tested count means.
    --signature deseq2 takes each region's signature from PyDESeq2; --de REGION=FILE from the user's table."""
    r = run_cli("transcriptomics", "regions", str(small / "counts.csv.gz"), "--samples", str(small / "samples.csv"),
                "--drugs", "ketamine", "--signature", "deseq2", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["provenance"]["signature"].startswith("PyDESeq2")
    de = run_cli("transcriptomics", "de", str(small / "counts.csv.gz"), "--samples", str(small / "samples.csv"),
                 "--contrast", "group,susceptible,control", "--subset", "region=HC", "--out", str(tmp_path / "hc.csv"))
    assert de.returncode == 0, de.stderr
    table = pd.read_csv(tmp_path / "hc.csv")
    n_hc = int((table["padj"] < 0.05).sum())
    r = run_cli("transcriptomics", "regions", str(small / "counts.csv.gz"), "--samples", str(small / "samples.csv"),
                "--drugs", "ketamine", "--de", f"HC={tmp_path / 'hc.csv'}", "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = {x["region"]: x for x in json.loads(r.stdout)["regions"]}
    assert rows["HC"]["signature_genes"] == n_hc > 3
    assert rows["NAc"]["signature_genes"] == 0 and "from the user's DE tables" in rows["NAc"]["verdict"]
    for args, words in ((["--de", "PFC=x.csv"], "--de: region 'PFC' is not in column 'region'"),
                        (["--signature", "means"], "--signature: 'means' is not one of"),
                        (["--de", "HC"], "--de: 'HC' must be REGION=FILE")):
        r = run_cli("transcriptomics", "regions", str(small / "counts.csv.gz"), "--samples", str(small / "samples.csv"),
                    "--drugs", "ketamine", *args)
        assert r.returncode == 2 and words in r.stderr, r.stderr
