"""Readers on the real files of ../shared/data/transcriptomics (facts from its PROVENANCE.md)."""
import gzip

import pandas as pd
import pytest
from conftest import data

from adpharm import datasets

from adpharm.errors import AdpharmInputError
from adpharm.transcriptomics.readers import (read_counts, read_de, read_gene_lists, read_gmt, read_samples,
                                             map_orthologs)



def test_rat_counts_shape_and_bom():
    # PROVENANCE §T2: 32,883 genes × 21 samples, UTF-8 BOM before "Geneid", 8,723 all-zero genes,
    # 21,533 with total > 5, library sizes 17.5–49.0 M.
    c = read_counts(data("flxmetade_GSE205325_CUS_Rats_Counts"))
    assert c.shape == (32883, 21)
    assert list(c.columns[:3]) == ["C1", "C2", "C3"]
    assert int((c.sum(axis=1) == 0).sum()) == 8723
    assert int((c.sum(axis=1) > 5).sum()) == 21533
    lib = c.sum() / 1e6
    assert 17.4 < lib.min() < 17.6 and 48.9 < lib.max() < 49.1


def test_geo_raw_tar_drops_htseq_summary_rows_and_matches_the_sheet_by_file_name():
    # PROVENANCE §T3: 32 files, 24,067 rows each of which 5 are HTSeq summary rows without "__";
    # after dropping them 24,062 genes, 3,035 all-zero, library sizes 9.8–64.8 M (median 26 M).
    c = read_counts(data("flxmetade_GSE202172_RAW"))
    assert c.shape == (24062, 32)
    assert "no_feature" not in c.index
    assert int((c.sum(axis=1) == 0).sum()) == 3035
    lib = c.sum() / 1e6
    assert 9.7 < lib.min() < 9.9 and 64.7 < lib.max() < 64.9 and 25 < lib.median() < 27
    sheet = read_samples(data("flxmetade_GSE202172_sample_metadata_converted"), list(c.columns))
    assert sheet.key == "count_file"
    assert set(sheet.column("sample_type")) == {"Immunoprecipitation (IP)", "Input"}


def test_de_table_quirks_trailing_space_and_trailing_comma():
    # PROVENANCE §T3: one file has "log2FoldChange " with a trailing space, another ends every
    # line with a comma; 1,071 genes at padj < 0.05 in Flx vs Sh, 364 in Sh vs Gh.
    flx = read_de(data("flxmetade_GSE202172_Singlehoused_Vs_Singlehoused_Flx"))
    assert len(flx.table) == 17088 and len(flx.signature(0.05)) == 1071
    sh = read_de(data("flxmetade_GSE202172_Singlehoused_Vs_Grouphousedhoused"))
    assert len(sh.signature(0.05)) == 364
    assert len(sh.signature(0.05, "up")) == 213
    for f in map(data, datasets.names("transcriptomics", "flxmetade_GSE202172_")):
        if "_Vs_" not in f.name:
            continue
        assert read_de(f).table["log2FoldChange"].notna().all(), f.name


def test_authors_deseq2_table():
    # PROVENANCE §T2: 21,533 rows, 54 at padj < 0.05 (27 up, 27 down), 80 p = NA, 4,665 padj = NA.
    d = read_de(data("flxmetade_DESeq_Control.v.Stress_GSE205325_converted"))
    assert len(d.table) == 21533
    assert len(d.signature(0.05, "up")) == 27 and len(d.signature(0.05, "down")) == 27
    assert int(d.table["pvalue"].isna().sum()) == 80 and int(d.table["padj"].isna().sum()) == 4665


def test_brain_gmt_quirks():
    # PROVENANCE §T1: 918 sets, CRLF, padded to 2,093 columns, 44 quoted names, 16 names twice,
    # 7 empty sets. PROVENANCE gives set sizes as the fields after the name, which include the
    # source URL (HC ketamine Up "[43]": its line has 44 non-empty fields = name + URL + 42 genes),
    # so each set holds one gene fewer than the bracket.
    sets = read_gmt(data("braingmt_BrainGMTv2_MouseOrthologs"))
    assert len(sets) == 918 - 7
    assert sum(k.endswith("#2") for k in sets) == 16
    assert not any(k.startswith('"') for k in sets)
    pre = "Gemma_GSE81672_Ketamine_and_Imipramine_Reverse_Transcriptional_Signatures_of_Susceptibility_and_Induce_Resilience-Specific_Gene_Expression_Profiles_"
    hk = sets[pre + "HC_treatment_ketamine_Up"]
    assert len(hk) == 43 - 1 and hk[:3] == ["Vipr2", "Tnnt1", "Shox2"]
    assert len(sets[pre + "NACC_treatment_imipramine_Down"]) == 2 - 1
    assert len(sets["Bagot_2017_StressSusceptibleVsCTRL_HC"]) == 17 - 1


def test_ragged_gene_lists():
    # PROVENANCE §T4: DDG lists SFTU 4,818, SFRC 5,130, SFNC 2,681, SFRN 1,804; universe 17,849.
    lists = read_gene_lists(data("flxmetade_GSE43261-DDGDElist"))
    assert {k: len(v) for k, v in lists.items()} == {"SFTU": 4818, "SFRC": 5130, "SFNC": 2681, "SFRN": 1804}
    assert len(next(iter(read_gene_lists(data("flxmetade_GSE43261-DEbackground")).values()))) == 17849


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("body, reason", [
    ("gene,a,b\ng1,5,-2\ng2,1,1\n", "sample 'b', gene 'g1': count -2 is negative"),
    ("gene,a,b\ng1,5,2.5\ng2,1,1\n", "sample 'b', gene 'g1': count 2.5 is not an integer"),
    ("gene,a,b\ng1,5,x\ng2,1,1\n", "sample 'b', gene 'g1': count 'x' is missing or not a number"),
    ("gene,a,b\ng1,5,1\ng1,1,1\n", "gene 'g1' occurs more than once"),
])
def test_malformed_counts_name_the_cell(tmp_path, body, reason):
    with pytest.raises(AdpharmInputError, match=reason):
        read_counts(_write(tmp_path / "c.csv", body))


def test_sample_missing_from_sheet(tmp_path):
    f = _write(tmp_path / "s.csv", "sample,group\na,control\n")
    with pytest.raises(AdpharmInputError, match="sample 'b' of the counts is missing from the sheet"):
        read_samples(f, ["a", "b"])


def test_gzip_tsv_counts_and_orthologs(tmp_path):
    f = tmp_path / "c.tsv.gz"
    f.write_bytes(gzip.compress(b"gene\ta\tb\nENSRNOG1\t1\t2\n__no_feature\t9\t9\n"))
    c = read_counts(f)
    assert c.shape == (1, 2) and c.loc["ENSRNOG1", "b"] == 2
    de = tmp_path / "de.csv"
    pd.DataFrame({"gene": ["r1", "r2", "r3"], "log2FoldChange": [1, -1, 0.5], "pvalue": [0.01, 0.2, 0.5]}).to_csv(de, index=False)
    orth = _write(tmp_path / "o.csv", "rat,mouse\nr1,M1\nr2,M2\nr2,M2b\nr3,M3\n")
    m = map_orthologs(read_de(de), orth)
    assert list(m.table.index) == ["M1", "M3"]            # r2 is one-to-many: dropped
    assert m.meta["orthologs"]["dropped"] == 1
