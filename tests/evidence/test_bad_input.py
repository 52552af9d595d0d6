"""Malformed meta-analysis input gets a clear error naming the column or row, never a silent number."""
import pandas as pd
import pytest

from adpharm.errors import AdpharmInputError
from adpharm.evidence import escalc, rma


def test_missing_column_is_named():
    df = pd.DataFrame({"study": ["a", "b"], "ai": [3, 4], "ci": [1, 2], "n2i": [20, 20]})
    with pytest.raises(AdpharmInputError, match=r"trials\.csv: missing columns: need bi and di, or n1i and n2i"):
        escalc("OR", df, source="trials.csv")


def test_negative_count_is_named_with_its_row():
    df = pd.DataFrame({"ai": [3, -4], "n1i": [20, 20], "ci": [1, 2], "n2i": [20, 20]})
    with pytest.raises(AdpharmInputError, match=r"column 'ai' row 2: negative count -4"):
        escalc("RR", df)


def test_events_above_total_are_rejected():
    df = pd.DataFrame({"ai": [3, 25], "n1i": [20, 20], "ci": [1, 2], "n2i": [20, 20]})
    with pytest.raises(AdpharmInputError, match=r"row 2: events ai=25 exceed the total n1i=20"):
        escalc("OR", df)


def test_non_numeric_cell_is_named():
    df = pd.DataFrame({"ai": [3, "x"], "n1i": [20, 20], "ci": [1, 2], "n2i": [20, 20]})
    with pytest.raises(AdpharmInputError, match=r"column 'ai' row 2: 'x' is not a number"):
        escalc("OR", df)


def test_single_study_is_refused():
    es = escalc("OR", pd.DataFrame({"ai": [3], "n1i": [20], "ci": [1], "n2i": [20]}))
    with pytest.raises(AdpharmInputError, match="at least 2 studies, got 1"):
        rma(es)


def test_few_studies_warn_in_the_result():
    es = escalc("OR", pd.DataFrame({"ai": [3, 5, 9], "n1i": [20, 20, 30], "ci": [1, 2, 4], "n2i": [20, 21, 30]}))
    assert any("only 3 studies" in w for w in rma(es, method="REML").warnings)


def test_unknown_measure_and_method_are_rejected_before_any_work():
    df = pd.DataFrame({"yi": [0.1, 0.2], "vi": [0.01, 0.02]})
    with pytest.raises(AdpharmInputError, match=r"measure: 'HR' is not one of"):
        escalc("HR", df)
    with pytest.raises(AdpharmInputError, match=r"method: 'EB' is not one of"):
        rma(escalc("OR", df), method="EB")


def test_zero_cells_get_metafor_continuity_correction_only_where_needed():
    # metafor escalc(add=1/2, to="only0"): 0/10 vs 5/10 -> log OR of (0.5*5.5)/(10.5*5.5)
    import math
    es = escalc("OR", pd.DataFrame({"ai": [0, 4], "n1i": [10, 10], "ci": [5, 5], "n2i": [10, 10]}))
    assert es.yi[0] == pytest.approx(math.log((0.5 * 5.5) / (10.5 * 5.5)))
    assert es.yi[1] == pytest.approx(math.log((4 * 5) / (6 * 5)))
