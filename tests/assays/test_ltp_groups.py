"""LTP/LTD group analysis (issue 40, item 4): `assay ltp --manifest` on the three real nphys slices
(../shared/data/ephys, PROVENANCE.md section 1a: two control slices with LTD, one AP5 slice without),
on generated slices nested in animals with known truth, and the nested comparison against R's nlme."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from adpharm.assays import ltp, ltp_groups
from adpharm.assays.ephys import read_abf
from adpharm.assays.nested import nested_comparison
from adpharm.errors import AdpharmInputError
from conftest import data, run_cli, strict_json

pytest.importorskip("pyabf")

#: the three slices of PROVENANCE 1a, each from its own animal (recorded on different days)
REAL = {
    "P28f-CS_27": ("2018_08_13", "control", {"io_pre": ["2005"], "pp_pre": ["2006"], "baseline": ["2007"],
                                             "post": ["2009"], "pp_post": ["2010"], "io_post": ["2011"]},
                   "nphys_LTDctrl_2018_08_13_"),
    "P28f-CS_19": ("2018_01_28", "control", {"io_pre": ["0009"], "pp_pre": ["0010", "0011"],
                                             "baseline": ["0012", "0013"], "post": ["0015"], "pp_post": ["0016"],
                                             "io_post": ["0017"]}, "nphys_LTDctrl2_2018_01_28_"),
    "P21f-AP5W_12": ("2018_01_25", "AP5", {"io_pre": ["0000"], "pp_pre": ["0001"],
                                           "baseline": ["0002", "0003", "0004"], "post": ["0006"],
                                           "pp_post": ["0007"], "io_post": ["0008"]}, "nphys_LTDap5_2018_01_25_"),
}


def _real_manifest(folder, rows=None):
    """A manifest naming copies of the real files by relative path (the manifest's folder)."""
    out = []
    for sl, (animal, group, roles, prefix) in REAL.items():
        for role, numbers in roles.items():
            for n in numbers:
                src = data(prefix + n)
                shutil.copy(src, folder / src.name)
                out.append({"file": src.name, "slice": sl, "animal": animal, "group": group, "role": role})
    df = pd.DataFrame(out if rows is None else rows(out))
    df.to_csv(folder / "slices.csv", index=False)
    return folder / "slices.csv"


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ltp")
    m = _real_manifest(folder)
    return m, ltp_groups.analyse_groups(ltp_groups.read_manifest(m), control="control")


def test_real_slices_as_a_group_reproduce_each_slice(real):
    """Per slice, the group mode gives what one-slice analysis gives; PROVENANCE 1a: the first control slice
    -28 % over the last 10 min (authors -23.7 %), the AP5 slice +0.5 %, the second control slice weaker LTD."""
    _, r = real
    s = r.slices.set_index("slice")["last_window_percent"]
    assert 68 < s["P28f-CS_27"] < 80
    assert 97 < s["P21f-AP5W_12"] < 104
    assert s["P28f-CS_27"] < s["P28f-CS_19"] < 95
    one = ltp.analyse([read_abf(data("nphys_LTDctrl_2018_08_13_2007"))], [read_abf(data("nphys_LTDctrl_2018_08_13_2009"))])
    assert s["P28f-CS_27"] == pytest.approx(100 + one.change_percent, abs=1e-9)
    # paired-pulse facilitation before conditioning and not after (PROVENANCE: ~1.2-1.3 pre, ~1.0 post)
    pp = r.slices.set_index("slice")
    assert pp.loc["P28f-CS_27", "ppr_pre"] > 1.1 and pp.loc["P28f-CS_27", "ppr_post"] < 1.05


def test_real_group_time_course_bins_and_traces(real):
    _, r = real
    tc = r.timecourse
    ctrl = tc[tc.group == "control"].set_index("bin_min")
    # 1-min bins aligned on induction: the last baseline bin is -1, the first post bin 0
    assert ctrl.loc[-1.0, "n"] == 2 and ctrl.loc[0.0, "n"] == 2
    assert ctrl.loc[-1.0, "mean"] == pytest.approx(100, abs=3)          # normalised to the last 20 sweeps
    # the group mean of a bin is the mean of the slices' bin means, its SEM over slices
    sc = r.slice_timecourse
    x = sc[(sc.group == "control") & (sc.bin_min == 30.0)]["percent"].to_numpy()
    assert ctrl.loc[30.0, "mean"] == pytest.approx(x.mean()) and ctrl.loc[30.0, "sem"] == pytest.approx(x.std(ddof=1) / np.sqrt(2))
    assert r.timecourse[r.timecourse.group == "AP5"]["sem"].isna().all()      # one slice: no SEM
    # averaged traces: the control fEPSP is smaller in the final window than at baseline (LTD), AP5's is not
    tr = r.traces[r.traces.t_ms.between(2, 8)]
    peak = tr.groupby(["group", "phase"])["mv"].min()
    assert peak["control", "final"] > peak["control", "baseline"] + 0.1
    assert abs(peak["AP5", "final"] - peak["AP5", "baseline"]) < 0.15
    # input-output curves: pre-conditioning slopes grow in magnitude with the step; CS_19 stopped at 7 steps
    io = r.io[(r.io.group == "control") & (r.io.when == "pre")].set_index("step")
    assert io.loc[10, "n"] == 1 and io.loc[7, "n"] == 2 and io.loc[10, "slope_mean"] < io.loc[2, "slope_mean"]


def test_real_group_cli_text_json_and_one_animal_group(real, tmp_path):
    m, _ = real
    res = run_cli("assay", "ltp", "--manifest", str(m), "--control", "control", "--plot", str(tmp_path / "g.png"))
    assert res.returncode == 0, res.stderr
    assert "3 slices from 3 animals" in res.stdout and "unit of analysis: animal" in res.stdout
    assert "statistics: not done (group 'AP5' has 1 animal" in res.stdout     # never a test on n = 1
    assert "runs up" in res.stderr and (tmp_path / "g.png").stat().st_size > 5000
    res = run_cli("assay", "ltp", "--manifest", str(m), "--format", "json")
    d = strict_json(res.stdout)
    assert {"slices", "groups", "timecourse", "traces", "io_curves", "statistics", "exclusions"} <= set(d)
    assert d["control"] == "control" and "not_done" in d["statistics"]
    res = run_cli("assay", "ltp", "--manifest", str(m), "--out", str(tmp_path / "o"))
    assert res.returncode == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["methods.md", "prism.csv", "results.json", "slices.csv",
                                                                  "timecourse.csv", "timecourse.svg"]
    text = (tmp_path / "o" / "methods.md").read_text()
    assert "n = control: 2 animals, 2 slices; AP5: 1 animal, 1 slice" in text and "No group test was run" in text
    assert pd.read_csv(tmp_path / "o" / "prism.csv").count().tolist() == [2, 1]


def test_excluding_a_slice_is_logged(real):
    m, _ = real
    res = run_cli("assay", "ltp", "--manifest", str(m), "--exclude", "P28f-CS_19", "--reason", "baseline unstable",
                  "--format", "json")
    d = json.loads(res.stdout)
    assert [s["slice"] for s in d["slices"]] == ["P28f-CS_27", "P21f-AP5W_12"]
    assert d["exclusions"] == [{"id": "P28f-CS_19", "unit": "slice", "reason": "baseline unstable"}]
    res = run_cli("assay", "ltp", "--manifest", str(m), "--exclude", "P28f-CS_19", "--reason", "baseline unstable")
    assert "excluded 1 slice (P28f-CS_19): baseline unstable" in res.stdout


@pytest.mark.parametrize("edit,needle", [
    (lambda rows: [r | {"animal": ""} if r["slice"] == "P28f-CS_19" else r for r in rows],
     "slice 'P28f-CS_19' has no animal (column 'animal'); slices are nested in animals"),
    (lambda rows: [r | {"role": "tetanus"} if r["file"].endswith("2006.abf") else r for r in rows],
     "role 'tetanus' is not one of"),
    (lambda rows: [r | {"group": "AP5"} if r["file"].endswith("2009.abf") else r for r in rows],
     "slice 'P28f-CS_27' is given groups 'control' and 'AP5'"),
    (lambda rows: [r for r in rows if not r["file"].endswith("0006.abf")], "slice 'P21f-AP5W_12' has no 'post' file"),
    (lambda rows: [{k: v for k, v in r.items() if k != "role"} for r in rows], "missing column 'role'"),
])
def test_manifest_errors_are_one_line_naming_manifest_line_and_field(tmp_path, edit, needle):
    m = _real_manifest(tmp_path, edit)
    res = run_cli("assay", "ltp", "--manifest", str(m))
    assert res.returncode == 2 and needle in res.stderr and str(m) in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not res.stdout


@pytest.mark.parametrize("args,needle", [
    (["--exclude", "S9", "--reason", "x"], "exclude: 'S9' is not a slice in the manifest"),
    (["--control", "vehicle"], "control group 'vehicle' is not among"),
    (["--bin-min", "0"], "bin_min: 0.0 must be positive"),
    (["--baseline", "b.abf"], "give --manifest or --baseline/--post/--pp/--io, not both"),
    (["--exclude", "P28f-CS_19"], "every exclusion needs a reason"),
    (["--out", "/dev/null/x"], "--out /dev/null/x: cannot write"),
])
def test_group_option_errors(real, args, needle):
    m, _ = real
    res = run_cli("assay", "ltp", "--manifest", str(m), *args)
    assert res.returncode == 2 and needle in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_a_slice_that_fails_is_reported_and_the_others_go_on(tmp_path):
    m = _real_manifest(tmp_path)
    (tmp_path / "nphys_LTDap5_2018_01_25_0006.abf").write_bytes(b"ABF2" + b"\0" * 100)
    res = run_cli("assay", "ltp", "--manifest", str(m), "--format", "json")
    assert res.returncode == 2
    assert [s["slice"] for s in json.loads(res.stdout)["slices"]] == ["P28f-CS_27", "P28f-CS_19"]
    assert "slice P21f-AP5W_12" in res.stderr and "0006.abf" in res.stderr and str(m) in res.stderr


# ------------------------------------------------ units: a voltage-clamp current is not an fEPSP
def test_a_voltage_clamp_recording_in_pA_is_refused_naming_its_voltage_channels():
    """PROVENANCE 1b: pyabf_f1.abf is a whole-cell EPSC train (channel 0 in pA); its depressing 50 Hz
    train was once reported as paired-pulse facilitation (ratio 1.42) in "mV/ms"."""
    rec = read_abf(data("pyabf_f1"), channel=0)
    for f in (lambda: ltp.paired_pulse(rec), lambda: ltp.io_curve(rec), lambda: ltp.analyse([rec], [rec])):
        with pytest.raises(AdpharmInputError, match=r"channel 0 is a voltage-clamp current \(pA\).*2 IN 2 \(mV\), 3 IN 3 \(mV\)"):
            f()
    p = str(data("pyabf_f1"))
    res = run_cli("assay", "ltp", "--baseline", p, "--post", p, "--pp", p)
    assert res.returncode == 2 and "voltage-clamp current (pA)" in res.stderr and len(res.stderr.splitlines()) == 1
    # the auxiliary voltage channel holds no fEPSP: an error, not a number
    res = run_cli("assay", "ltp", "--baseline", p, "--post", p, "--channel", "2")
    assert res.returncode == 2 and "pyabf_f1.abf" in res.stderr and len(res.stderr.splitlines()) == 1


# ------------------------------------------------ generated slices nested in animals, known truth
@pytest.mark.slow
def test_generated_groups_recover_the_difference_with_animals_as_the_unit(tmp_path):
    """Two groups x 3 animals x 2 slices (ltpgen, ABF1 at 20 kHz): each animal has its own LTP level, so
    slices of an animal resemble each other. The mixed model's difference is the difference of the true
    group means, tested on 6 - 2 = 4 between-animal degrees of freedom."""
    import ltpgen
    levels = {"vehicle": [0.25, 0.40, 0.32], "drug": [0.62, 0.80, 0.70]}
    rows, truth, seed = [], [], 10
    for group, animal_levels in levels.items():
        for a, lvl in enumerate(animal_levels):
            for k in range(2):
                seed += 1
                e = ltpgen.experiment(tmp_path, ltp_fraction=lvl + 0.02 * (-1) ** k, seed=seed, fs_khz=20.0)
                sl, an = f"s{seed}", f"{group[0]}{a}"
                rows += [{"file": e[r].name, "slice": sl, "animal": an, "group": group, "role": r}
                         for r in ("baseline", "post")]
                truth.append({"slice": sl, "animal": an, "group": group, "pct": 100 + e["truth_percent"]})
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    res = run_cli("assay", "ltp", "--manifest", str(tmp_path / "m.csv"), "--control", "vehicle", "--format", "json")
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    got = pd.DataFrame(d["slices"]).set_index("slice")["last_window_percent"]
    t = pd.DataFrame(truth).set_index("slice")
    assert np.allclose(got[t.index], t["pct"], rtol=0.02)               # each slice within 2 % of its truth
    c = d["statistics"]["primary"]["comparisons"][0]
    want = t.groupby("group")["pct"].mean()
    assert c["comparison"] == "drug vs vehicle" and c["df"] == 4.0
    assert c["estimate"] == pytest.approx(want["drug"] - want["vehicle"], abs=3.0)
    assert c["pval"] < 0.01 and d["statistics"]["primary"]["n"] == {"vehicle": 3, "drug": 3}
    assert d["statistics"]["icc"] > 0.5                                  # animals differ more than their slices
    res = run_cli("assay", "ltp", "--manifest", str(tmp_path / "m.csv"), "--control", "vehicle")
    assert "primary test: linear mixed model, random intercept per animal (REML) (unit: animal (slices nested); " \
           "n vehicle 3, drug 3)" in res.stdout
    assert "between-animal share of variance (ICC)" in res.stdout
    run_cli("assay", "ltp", "--manifest", str(tmp_path / "m.csv"), "--control", "vehicle", "--out", str(tmp_path / "o"))
    text = (tmp_path / "o" / "methods.md").read_text()
    assert "by a linear mixed model, random intercept per animal (REML)" in text and "drug vs vehicle" in text


# ------------------------------------------------ the nested comparison against R (nlme)
NESTED = pd.DataFrame({
    "group": ["veh"] * 9 + ["drug"] * 10,
    "animal": ["a1"] * 3 + ["a2"] * 2 + ["a3"] * 3 + ["a4"] + ["b1"] * 2 + ["b2"] * 3 + ["b3"] * 2 + ["b4"] + ["b5"] * 2,
    "pct": [80.2, 84.5, 77.1, 90.3, 88.0, 76.4, 79.9, 74.0, 86.6,
            101.2, 96.8, 95.1, 97.3, 92.2, 104.4, 108.9, 99.0, 93.5, 90.1]})


def test_nested_comparison_matches_nlme():
    """R 4.2.2, nlme 3.1:
    d$group <- relevel(factor(d$group), "veh")
    m <- lme(pct ~ group, random = ~1 | animal, data = d, method = "REML")
    summary(m)$tTable["groupdrug", ]  -> 15.13977539  3.823485220  7  3.959679328  5.463909466e-03
    intervals(m, which = "fixed")      -> 6.09866951 to 24.18088126
    VarCorr(m)                         -> animal 27.897433, residual 8.545994"""
    r = nested_comparison(NESTED, "pct", "group", "animal", control="veh")
    c = r["primary"]["comparisons"][0]
    assert c["estimate"] == pytest.approx(15.13977539, rel=1e-5)
    assert c["se"] == pytest.approx(3.823485220, rel=1e-4)
    assert c["df"] == 7 and c["pval"] == pytest.approx(5.463909466e-03, rel=1e-3)
    assert (c["ci_low"], c["ci_high"]) == pytest.approx((6.09866951, 24.18088126), rel=1e-4)
    assert (r["variance"]["between"], r["variance"]["within"]) == pytest.approx((27.897433, 8.545994), rel=1e-4)
    assert r["n"]["drug"] == {"animals": 5, "slices": 10}


def test_nested_comparison_matches_nlme_live(tmp_path):
    """The same fit run by R now, where R with nlme is installed (skipped otherwise)."""
    import subprocess
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed")
    data_csv = tmp_path / "d.csv"
    d = NESTED.assign(pct=NESTED["pct"] + np.where(NESTED["animal"] == "b3", -9.0, 0.0))   # a second data set
    d.to_csv(data_csv, index=False)
    code = (f'suppressMessages(library(nlme)); d <- read.csv("{data_csv}"); d$group <- relevel(factor(d$group), "veh"); '
            'm <- lme(pct ~ group, random = ~1 | animal, data = d, method = "REML"); '
            'cat(format(summary(m)$tTable["groupdrug", ], digits = 12))')
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"R nlme is not available: {out.stderr.strip()[:80]}")
    est, se, df, t, p = map(float, out.stdout.split())
    c = nested_comparison(d, "pct", "group", "animal", control="veh")["primary"]["comparisons"][0]
    assert (c["estimate"], c["se"], c["df"], c["t"], c["pval"]) == pytest.approx((est, se, df, t, p), rel=1e-3)


def test_one_slice_per_animal_is_welch_and_one_animal_is_not_tested():
    d = NESTED.drop_duplicates("animal")
    r = nested_comparison(d, "pct", "group", "animal", control="veh")
    assert r["primary"]["test"] == "Welch's t test" and "animals compared directly" in r["primary"]["notes"][0]
    one = NESTED[NESTED.animal.isin(["a1", "a2", "b1"])]
    r = nested_comparison(one, "pct", "group", "animal", control="veh")
    assert "primary" not in r and "group 'drug' has 1 animal" in r["not_done"]
    crossed = NESTED.assign(animal=np.where(NESTED.index < 2, "b1", NESTED.animal))
    with pytest.raises(AdpharmInputError, match="animal 'b1' appears in two groups"):
        nested_comparison(crossed, "pct", "group", "animal")
