"""Prism column tables and ARRIVE-style methods paragraphs (issue 40, item 2) from the real files:
the same numbers as the text and JSON, the exclusions with their reasons, the unit and n per group."""
import pandas as pd
import pytest

from adpharm.assays.reporting import methods_paragraph, prism_columns
from adpharm.errors import AdpharmInputError
from conftest import data, run_cli

DUPLICATED = "56,75,76,77,78,79,80"


def test_fst_out_folder_has_prism_table_and_methods_with_the_exclusions(tmp_path):
    """The issue's example: excluding the seven copied profiles gives n 10 vs 15, Welch p 0.24 and the
    group x minute interaction p(GG) 0.0376; the paragraph says all of it, the Prism table holds the animals."""
    res = run_cli("assay", "fst", str(data("behaviopy_forcedswim_ts")), "--control", "Control", "--exclude", DUPLICATED,
                  "--reason", "duplicated profile", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "o" / "methods.md").read_text()
    assert "The experimental unit was the animal (n = Control 10, Fluoxetine 15)." in text
    assert "7 animals (56, 75, 76, 77, 78, 79, 80) were excluded before analysis: duplicated profile." in text
    assert "by Welch's t test, with Hedges' g" in text and "p = 0.24." in text
    assert "group:minute interaction gave F(5, 115) = 2.62, p = 0.0376 (Greenhouse-Geisser corrected)" in text
    prism = pd.read_csv(tmp_path / "o" / "prism.csv")
    assert list(prism.columns) == ["Control", "Fluoxetine"] and prism.count().tolist() == [10, 15]
    tidy = pd.read_csv(tmp_path / "o" / "results.csv")
    assert sorted(prism["Fluoxetine"].dropna()) == pytest.approx(sorted(tidy.loc[tidy.group == "Fluoxetine", "score"]))


def test_spt_methods_name_the_cage_and_ovx_the_design(tmp_path):
    run_cli("assay", "spt", str(data("behaviopy_sucrosepreference")), "--out", str(tmp_path / "s"))
    text = (tmp_path / "s" / "methods.md").read_text()
    assert "The experimental unit was the cage (n = Fluoxetine 2, Control 3). No cages were excluded." in text
    run_cli("assay", "fst", str(data("ovx2016_FST")), "--out", str(tmp_path / "f"))
    text = (tmp_path / "f" / "methods.md").read_text()
    assert "fractional logit (quasi-binomial GLM)" in text and "adjusted for STRAIN and BATCH" in text
    assert "interaction p = 0.00965" in text


def test_prism_columns_and_a_paragraph_without_a_test():
    t = pd.DataFrame({"group": ["a", "b", "b"], "v": [1.0, 2.0, None]})
    assert prism_columns(t, "v").to_dict(orient="list") == {"a": [1.0], "b": [2.0]}
    with pytest.raises(AdpharmInputError, match="missing column 'w'"):
        prism_columns(t, "w")
    text = methods_paragraph("LTP", "the final-window change", {"not_done": "group 'AP5' has 1 animal"})
    assert "No group test was run (group 'AP5' has 1 animal)." in text and "adpharm" in text
