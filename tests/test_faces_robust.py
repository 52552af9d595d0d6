"""Faces that never break on hostile files: a decompression bomb, text in a numeric column, a
formula-like label, errors that name their file in a batch (issue 26)."""
import re
import struct
import zlib

import pandas as pd
import pytest

from adpharm.io import csv_text, spreadsheet_safe
from conftest import run_cli


def _png_declaring(path, width, height):
    """A valid small PNG whose header declares ``width`` x ``height`` (what a 250 KB bomb looks like to a
    reader that trusts the header)."""
    PIL = pytest.importorskip("PIL.Image")
    PIL.new("L", (16, 16), 200).save(path)
    raw = bytearray(path.read_bytes())
    ihdr = raw.index(b"IHDR")
    raw[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    raw[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(raw[ihdr:ihdr + 17])))
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("side", [15000, 9000, 12000])
def test_image_above_the_pixel_limit_is_refused_naming_the_file(tmp_path, side):
    """15000^2 trips Pillow's own bomb check, 12000^2 only adpharm's 100 M pixel limit; 9000^2 is under it
    (and fails later, as a truncated image, still naming the file)."""
    png = _png_declaring(tmp_path / "huge.png", side, side)
    r = run_cli("assay", "western", str(png))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("adpharm: error:") and "huge.png" in r.stderr
    if side * side > 100_000_000:
        assert "above the limit" in r.stderr and "--max-pixels" in r.stderr


@pytest.mark.slow
def test_max_pixels_option_lowers_and_checks_the_limit(tmp_path):
    png = _png_declaring(tmp_path / "blot.png", 100, 100)
    r = run_cli("assay", "western", str(png), "--max-pixels", "5000")
    assert r.returncode == 2 and "10,000 pixels is above the limit of 5,000" in r.stderr
    r = run_cli("assay", "western", str(png), "--max-pixels", "3")
    assert r.returncode == 2 and "--max-pixels" in r.stderr


def test_text_in_the_optional_time_column_names_row_and_column(tmp_path):
    f = tmp_path / "trial.csv"
    f.write_text("subject,arm,visit,baseline,value,time_h\n1,placebo,day1,30,25,24\n2,drug,day1,31,20,soon\n")
    r = run_cli("trial", "analyze", str(f))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{f}: row 3: column time_h: 'soon' is not a number" in r.stderr


@pytest.mark.parametrize("text, safe", [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+cmd", "'+cmd"),
                                        ("@SUM(A1)", "'@SUM(A1)"), ("-2.5", "-2.5"), ("Control", "Control"),
                                        ("-vehicle", "'-vehicle")])
def test_spreadsheet_safe_follows_the_owasp_rule(text, safe):
    assert spreadsheet_safe(text) == safe


def test_results_csv_neutralises_formula_labels(tmp_path):
    table = tmp_path / "fst.csv"
    pd.DataFrame({"animal": range(6), "group": ["=1+1"] * 3 + ["Control"] * 3,
                  "immobility": [0.5, 0.6, 0.7, 0.2, 0.3, 0.25]}).to_csv(table, index=False)
    out = tmp_path / "out"
    r = run_cli("assay", "fst", str(table), "--control", "Control", "--out", str(out))
    assert r.returncode == 0, r.stderr
    written = pd.read_csv(out / "results.csv")
    assert set(written["group"]) == {"'=1+1", "Control"}
    assert csv_text(pd.DataFrame({"a": ["=x"], "b": [1.5]})) == "a,b\n'=x,1.5\n"


def test_a_content_error_in_a_batch_names_its_file(tmp_path):
    one = tmp_path / "one_group.csv"
    pd.DataFrame({"animal": range(3), "group": ["Control"] * 3, "immobility": [0.5, 0.6, 0.7]}).to_csv(one, index=False)
    r = run_cli("assay", "fst", str(one), "--control", "Control")
    assert r.returncode == 2 and str(one) in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("args, needle", [
    (["meta", "run", "x.csv", "--bogus"], "No such option: --bogus"),
    (["pk", "tdm", "--drug", "imipramine"], "Missing option '--regimen'"),
    (["pk", "tdm", "--drug", "imipramine", "--regimen", "150 mg po daily", "--n", "many"], "--n"),
    (["drugs", "--class"], "--class"),
])
def test_usage_errors_are_one_line_exit_2(args, needle):
    """Click's usage box is replaced by the CLI's one-line error (issue 23)."""
    r = run_cli(*args)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("adpharm: error:") and needle in r.stderr and r.stderr.count("\n") == 1


def test_version_and_bare_groups():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip()
    r = run_cli("pk")
    assert r.returncode == 0 and "tdm" in r.stdout


def test_meta_run_fits_precomputed_effects_without_a_measure(tmp_path):
    """metafor fits yi/sei without a measure (its generic outcome): rma(yi, sei = sei, method = "REML")
    on these three studies gives beta 0.5026 (inverse-variance; tau^2 = 0 here)."""
    import json
    f = tmp_path / "m.csv"
    f.write_text("study,yi,sei\na,0.5,0.2\nb,0.3,0.25\nc,0.8,0.3\n")
    r = run_cli("meta", "run", str(f), "--method", "REML", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    w = [1 / 0.2 ** 2, 1 / 0.25 ** 2, 1 / 0.3 ** 2]
    assert d["beta"] == pytest.approx(sum(wi * y for wi, y in zip(w, [0.5, 0.3, 0.8])) / sum(w), rel=1e-6)
    arms = tmp_path / "arms.csv"
    arms.write_text("study,ai,bi,ci,di\na,1,2,3,4\nb,2,3,4,5\n")
    r = run_cli("meta", "run", str(arms))
    assert r.returncode == 2 and "--measure: one of OR" in r.stderr and str(arms) in r.stderr


def _strict(text):
    import json

    def refuse(token):
        raise ValueError(f"{token} is not JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("args", [
    ["assay", "fst", "{const}", "--control", "Control", "--format", "json"],
    ["pk", "simulate", "--drug", "imipramine", "--regimen", "50 mg po", "--hours", "2", "--format", "json"],
])
def test_json_output_is_strict_even_where_statistics_are_undefined(tmp_path, args):
    """Constant scores (no variance) and a 2-hour window (no terminal phase): undefined numbers are null,
    never the token NaN (one NaN-safe writer, adpharm.io.json_text)."""
    const = tmp_path / "const.csv"
    const.write_text("animal,group,immobility\n" + "".join(f"{i},{'Control' if i < 3 else 'Drug'},0.5\n" for i in range(6)))
    r = run_cli(*[a.replace("{const}", str(const)) for a in args])
    assert r.returncode == 0, r.stderr
    assert "NaN" not in r.stdout and "Infinity" not in r.stdout
    _strict(r.stdout)


def _flatten(real, column, value, out):
    """A copy of a real file with every value of ``column`` set to ``value`` (no variance anywhere)."""
    df = pd.read_csv(real)
    df[column] = value
    df.to_csv(out, index=False)
    return out


@pytest.mark.parametrize("assay, real, column, value", [
    ("fst", "ovx2016_FST", "PctImb", 25.0),
    ("fst", "behaviopy_forcedswim_bins", "Immobility Ratio", 0.5),
    ("spt", "behaviopy_sucrosepreference", "Sucrose Preference Ratio", 0.7),
])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_constant_scores_in_real_files_give_null_tests_with_a_reason_and_a_clean_stderr(tmp_path, assay, real, column,
                                                                                          value, fmt):
    """Real files flattened to one value: exit 0, no numerical warning on stderr, the tests null with a note
    (not Shapiro's p = 1 or a NaN t), no NaN token in either format."""
    from conftest import data
    src = data(real)
    f = _flatten(src, column, value, tmp_path / "flat.csv")
    r = run_cli("assay", assay, str(f), "--format", fmt)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert not re.search(r"\bnan\b|\binf\b|infinity", r.stdout, flags=re.I)
    if fmt == "text":
        assert "no group varies" in r.stdout
        return
    st = next(iter(_strict(r.stdout)["results"].values()))["statistics"]
    assert all(v is None for v in st["normality"].values())
    assert any("no group varies" in n for n in st["notes"])
    assert all(st.get(k) is None for k in ("student_t", "welch_t", "hedges_g", "anova", "kruskal") if k in st)


def test_a_defect_is_one_line_without_traceback(monkeypatch, capsys):
    """The entry point's last resort: an unexpected exception prints one line naming it, exit 1."""
    from adpharm.cli import main

    def broken(**_):
        raise ZeroDivisionError("division by zero inside an engine")
    monkeypatch.setattr(main, "build_app", lambda only=None: broken)
    monkeypatch.delenv("ADPHARM_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exc:
        main.run()
    err = capsys.readouterr().err
    assert exc.value.code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("adpharm: internal error: ZeroDivisionError: division by zero")


def test_a_two_megabyte_label_is_refused_fast_naming_file_row_and_column(tmp_path):
    """Issue 26: a 2 MB group label once took minutes and gigabytes (repeated into every figure and message)."""
    from conftest import data
    df = pd.read_csv(data("ovx2016_FST"))
    df.loc[2, "TREATMENT"] = "X" * 2_000_000
    f = tmp_path / "big.csv"
    df.to_csv(f, index=False)
    r = run_cli("assay", "fst", str(f), "--format", "json")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert f"{f}: row 3, column 'TREATMENT': a label of 2000000 characters (at most 1000)" in r.stderr


def test_an_oversized_table_is_refused_before_it_is_read(tmp_path, monkeypatch):
    import adpharm.io as io_mod
    from adpharm.errors import AdpharmInputError
    f = tmp_path / "t.csv"
    f.write_text("a,b\n" + "1,2\n" * 1000)
    monkeypatch.setattr(io_mod, "MAX_TABLE_BYTES", 1000)
    with pytest.raises(AdpharmInputError, match=r"t.csv: 4,004 bytes is above the 1,000-byte limit for a table"):
        io_mod.read_table(f)


@pytest.fixture(scope="module")
def fst_table(tmp_path_factory):
    """The real forced-swim table with a character that differs between the encodings, and what
    `assay fst` reads from it saved as a plain CSV (read once for every export below)."""
    import json

    from conftest import data
    df = pd.read_csv(data("ovx2016_FST"))
    df.loc[0, "STRAIN"] = "C57BL/6J é"
    ref = tmp_path_factory.mktemp("fst") / "ref.csv"
    df.to_csv(ref, index=False)
    table = json.loads(run_cli("assay", "fst", str(ref), "--format", "json").stdout)["table"]
    return df, [(r["animal"], r["group"], r["score"]) for r in table]


@pytest.mark.parametrize("sep, decimal, encoding", [(";", ",", "cp1252"), ("\t", ".", "utf-8-sig"), ("|", ".", "utf-8"),
                                                    (",", ".", "cp1252")])
def test_spreadsheet_exports_of_a_real_table_read_the_same(tmp_path, fst_table, sep, decimal, encoding):
    """The real forced-swim table exported as European Excel does (semicolons, decimal commas, Windows-1252),
    as TSV with a byte-order mark, or bar-separated: the same animals and scores as the original."""
    import json
    df, expected = fst_table
    f = tmp_path / "export.csv"
    df.to_csv(f, index=False, sep=sep, decimal=decimal, encoding=encoding)
    b = json.loads(run_cli("assay", "fst", str(f), "--format", "json").stdout)["table"]
    assert [(r["animal"], r["group"], r["score"]) for r in b] == expected
