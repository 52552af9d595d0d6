"""Every command, run as users run it: output, exit codes and one-line errors."""
import json
import subprocess
import sys

import pytest

from conftest import run_cli


def test_drugs_lists_every_drug_with_class_and_mechanism():
    res = run_cli("drugs", "--format", "json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert len(rows) == 16
    assert {"drug", "class", "primary_mechanism"} <= set(rows[0])


def test_drugs_class_filter_and_table_output():
    res = run_cli("drugs", "--class", "maoi")
    assert res.returncode == 0
    assert [line.split()[0] for line in res.stdout.splitlines()] == ["phenelzine", "tranylcypromine"]


def test_drug_imipramine_json_lists_sert_and_net_with_sources():
    res = run_cli("drug", "imipramine", "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    b = out["profile"]["binding"]
    for target, kd in (("SERT", 1.4), ("NET", 37)):  # Tatsumi 1997 (fact B01)
        assert b[target]["value"] == kd
        assert b[target]["refs"] and set(b[target]["refs"]) <= set(out["references"])
    assert out["references"]["tatsumi1997"]["pmid"] == "9537821"


def test_drug_text_output_names_references():
    res = run_cli("drug", "ketamine")
    assert res.returncode == 0
    assert "NMDA" in res.stdout and "ebert1997" in res.stdout and "references:" in res.stdout


def _drug_names():
    from adpharm.knowledge import query
    return list(query.list_drugs()["drug"])


@pytest.mark.parametrize("name", _drug_names())
def test_drug_text_carries_the_marks_the_guide_shows(name):
    """Every line of `adpharm drug NAME` that prints a fact marked unverified, calibrated or with a stated
    confidence says so, as the guide does, and references whose record was not checked say that too."""
    from typer.testing import CliRunner

    from adpharm.cli.main import app
    from adpharm.knowledge import query
    prof = query.profile(name)
    text = CliRunner().invoke(app, ["drug", name]).stdout
    facts = [prof["primary_mechanism"], *prof.get("binding", {}).values(),
             *(v for v in prof.get("pk", {}).values() if v), *([prof["onset"]] if prof.get("onset") else []),
             *prof.get("adverse_effects", [])]
    for mark, has in (("unverified", lambda f: not f.get("verified", True)),
                      ("calibrated", lambda f: f.get("basis") == "calibrated"),
                      ("confidence", lambda f: bool(f.get("confidence")))):
        want = sum(has(f) for f in facts)
        got = sum(1 for line in text.split("references:")[0].splitlines() if mark in line.split("[")[0])
        assert got == want, (mark, text)
    refs = query.references()
    unchecked = [k for k in query.collect_refs(prof) if not refs[k].get("checked", True)]
    assert text.split("references:")[1].count("(record not checked)") == len(unchecked)


def test_compare_unknown_name_exits_2_with_one_line_naming_it_and_what_is_close():
    res = run_cli("compare", "ketamine", "ketamin3")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "'ketamin3'" in lines[0] and "'ketamine'" in lines[0]
    assert res.stdout == ""


@pytest.mark.parametrize("a, b", [("ketamine", "imipramine"), ("ketamine", "ssri"), ("esketamine", "tca"),
                                  ("sertraline", "phenelzine")])
@pytest.mark.slow
def test_compare_pairs_return_every_section(a, b):
    res = run_cli("compare", a, b, "--format", "json")
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    for section in ("at_a_glance", "binding", "pharmacokinetics", "pathways", "efficacy", "side_effects",
                    "protocols", "workflow", "references", "notice"):
        assert d[section], section
    assert "Research use only" in d["notice"]


def test_compare_bad_format_exits_2():
    res = run_cli("compare", "ketamine", "imipramine", "--format", "docx")
    assert res.returncode == 2
    assert "--format" in res.stderr and "'docx'" in res.stderr


@pytest.mark.slow
def test_compare_writes_files_atomically_and_infers_format(tmp_path):
    out = tmp_path / "sub" / "guide.md"
    res = run_cli("compare", "ketamine", "imipramine", "--out", str(out))
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert text.startswith("> **Research use only")
    assert "| Onset of antidepressant action |" in text
    assert not list(out.parent.glob(".*.tmp"))


@pytest.mark.slow
def test_compare_unwritable_output_exits_2_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = run_cli("compare", "ketamine", "imipramine", "--out", str(blocker / "guide.html"))
    assert res.returncode == 2
    assert "--out" in res.stderr
    assert blocker.read_text() == "x"


def test_unknown_name_leaves_no_output_file(tmp_path):
    out = tmp_path / "g.html"
    res = run_cli("compare", "ketamine", "nosuchdrug", "--out", str(out))
    assert res.returncode == 2
    assert not out.exists()


def test_pdf_without_out_is_rejected():
    res = run_cli("compare", "ketamine", "imipramine", "--format", "pdf")
    assert res.returncode == 2 and "--out" in res.stderr


def test_every_output_kind_has_the_same_mode_under_the_same_umask(tmp_path):
    """Issue 38: the streamed CSV of pk simulate once came out 0600 while the guide was 0644; every file
    adpharm writes goes through one atomic writer (io.atomic_open) and gets the umask's ordinary mode."""
    import os
    import stat
    outs = {"stream.csv": ["pk", "simulate", "--drug", "sertraline", "--regimen", "50 mg po daily", "--hours", "24",
                           "--n", "3", "--seed", "1", "--format", "csv"],
            "pk.json": ["pk", "simulate", "--drug", "sertraline", "--regimen", "50 mg po daily", "--hours", "24",
                        "--format", "json"],
            "nm.csv": ["pk", "simulate", "--drug", "sertraline", "--regimen", "50 mg po daily", "--hours", "24",
                       "--format", "nonmem"],
            "trial.csv": ["trial", "simulate", "ssri-mdd-8wk", "--n-per-arm", "3", "--seed", "1", "--format", "csv"],
            "guide.md": ["compare", "sertraline", "phenelzine", "--format", "md"]}
    modes = {}
    for name, args in outs.items():
        f = tmp_path / name
        r = run_cli(*args, "--out", str(f))
        assert r.returncode == 0, (name, r.stderr)
        modes[name] = stat.S_IMODE(f.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert set(modes.values()) == {0o666 & ~umask}, modes


@pytest.mark.parametrize("args, expected", [
    (("trial", "power", "ssri-mdd-8wk", "--n-per-arm", "10", "--target-power", "0.8"),
     "adpharm: error: give --n-per-arm or --target-power, not both"),
    (("mechanism", "simulate", "--drug", "ketamine", "--regimen", "0.5 mg/kg iv over 40 min", "--days", "2",
      "--remission-threshold", "99", "--seed", "1"),
     "adpharm: error: --remission-threshold: 99.0 must be between 0 and 60 MADRS points"),
    (("drugs", "--class", "ketamine"), "adpharm: error: --class: 'ketamine' is a drug, not a class"),
    (("pk", "simulate", "--drug", "ketamine", "--regimen", "0.5 mg/kg iv over 40 min", "--hours", "-1"),
     "adpharm: error: --hours: -1 must be positive"),
])
def test_engine_errors_name_the_flag_the_user_typed(args, expected):
    """Issue 38, item 2: the engines name the parameter (``target_power``, ``remission_threshold``,
    ``drug_class``, ``hours``); the command line shows the flag, even where the two are spelt differently."""
    r = run_cli(*args)
    assert r.returncode == 2 and r.stderr.strip() == expected, r.stderr


@pytest.mark.parametrize("argv,absent", [
    (["drug", "ketamine", "--format", "json"], ["adpharm.assays", "adpharm.transcriptomics", "adpharm.cli.meta"]),
    (["protocols"], ["adpharm.assays", "adpharm.cli.pk", "adpharm.evidence"]),
])
def test_a_command_imports_only_its_own_module(argv, absent):
    """`adpharm drug ketamine` builds the command line with its own command only: the assays, the
    transcriptomics and the other command modules are never imported, so start-up costs what it needs."""
    code = ("import sys; from adpharm.cli.main import run; sys.argv = ['adpharm', *%r]\n"
            "try:\n    run()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print(sorted(m for m in sys.modules if m.startswith('adpharm')))" % (argv,))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    loaded = r.stdout.strip().splitlines()[-1]
    for mod in absent:
        assert f"'{mod}" not in loaded, mod
