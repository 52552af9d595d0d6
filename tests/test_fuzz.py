"""The fuzz suite (issue 26): mutated copies of real files through every file-reading command.

Each example takes a real file (``../shared/data``, or a table built from it), mutates it the way
instruments, spreadsheets and full disks do (truncation, flipped bytes, a byte-order mark, semicolons or
tabs for commas, Windows line ends, a blank cell, a formula label, a 100 kB label, a dropped column or
line, Latin-1 text) and runs the command as a user would. Only two outcomes are allowed:

* exit 0, and the JSON on stdout parses strictly (no NaN, no Infinity);
* exit 2, every line on stderr an ``adpharm: error:`` naming the file.

Anything else (a traceback, exit 1, invalid JSON, an error without the file's name) fails the test and
Hypothesis prints the smallest mutation that does it. The ``ci`` profile (the default, derandomised so
every run tries the same examples) keeps this to a minute or two; ``--hypothesis-profile nightly`` runs
many more, randomly.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from adpharm.cli.main import app
from conftest import data, strict_json

from adpharm import datasets

pytestmark = pytest.mark.slow



# ---------------------------------------------------------------- mutations
def _text_mutation(data: bytes, op: str, u: float, v: float) -> bytes:
    """One mutation of a text table; ``u`` and ``v`` in [0, 1) choose where."""
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    row = 1 + int(u * max(len(lines) - 1, 1)) if len(lines) > 1 else 0
    cells = lines[row].split(",") if lines else [""]
    col = int(v * len(cells))
    if op == "truncate":
        return data[: int(u * len(data))]
    if op == "flip":
        i = int(u * max(len(data) - 1, 0))
        return data[:i] + bytes([int(v * 256)]) + data[i + 1:] if data else data
    if op == "bom":
        return b"\xef\xbb\xbf" + data
    if op == "semicolon":
        return data.replace(b",", b";")
    if op == "tab":
        return data.replace(b",", b"\t")
    if op == "crlf":
        return data.replace(b"\n", b"\r\n")
    if op == "latin1":
        return text.replace("e", "é").encode("latin-1", errors="replace")
    if op == "drop_line" and lines:
        return "\n".join(lines[:row] + lines[row + 1:]).encode()
    if op == "drop_column":
        return "\n".join(",".join(c for j, c in enumerate(ln.split(",")) if j != col) for ln in lines).encode()
    if op in ("blank", "formula", "long_label", "text_number") and lines:
        cells[col] = {"blank": "", "formula": "=HYPERLINK(\"x\")", "long_label": "L" * 100_000,
                      "text_number": "n/a"}[op]
        lines[row] = ",".join(cells)
        return "\n".join(lines).encode()
    if op == "header_only":
        return (lines[0] + "\n").encode() if lines else b""
    if op == "empty":
        return b""
    return data


TEXT_OPS = ["truncate", "flip", "bom", "semicolon", "tab", "crlf", "latin1", "drop_line", "drop_column", "blank",
            "formula", "long_label", "text_number", "header_only", "empty"]
BINARY_OPS = ["truncate", "flip", "flip", "empty"]


def _binary_mutation(data: bytes, op: str, u: float, v: float) -> bytes:
    return _text_mutation(data, op, u, v) if op in ("truncate", "flip", "empty") else data


# ---------------------------------------------------------------- the oracle
def _check(args: list[str], path) -> None:
    res = CliRunner().invoke(app, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), \
        f"{args}: {type(res.exception).__name__}: {res.exception}"
    if res.exit_code == 0:
        if "json" in args:
            strict_json(res.stdout)
        return
    assert res.exit_code == 2, f"{args}: exit {res.exit_code}: {res.stderr[-500:]}"
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("adpharm: error:") for ln in lines), res.stderr[-500:]
    assert any(str(path) in ln or path.name in ln for ln in lines), f"no file named in: {res.stderr[-500:]}"
    assert all(len(ln) < 2000 for ln in lines), "an error line repeats a huge label"
    if res.stdout.strip().startswith("{"):
        strict_json(res.stdout)


def _write(tmp_path_factory, name: str, data: bytes):
    d = tmp_path_factory.mktemp("fuzz")
    p = d / name
    p.write_bytes(data)
    return p


mutation = st.tuples(st.sampled_from(TEXT_OPS), st.floats(0, 0.999), st.floats(0, 0.999))


# ---------------------------------------------------------------- seeds: real files
def _meta_seed() -> bytes:
    from adpharm.evidence.bundled import linde2015_pairwise
    t = linde2015_pairwise("SSRI", "Placebo")
    return t[["study", "ai", "n1i", "ci", "n2i"]].to_csv(index=False).encode()


def _trial_seed() -> bytes:
    from adpharm.trials.simulate import simulate_trial
    return simulate_trial("ssri-mdd-8wk", 8, seed=3).data.to_csv(index=False).encode()


#: the real files mutated by the assay fuzzers (each test skips, naming its dataset, where it is not here)
SEEDS = {"fst_ovx": "ovx2016_FST", "fst_bins": "behaviopy_forcedswim_bins", "spt": "behaviopy_sucrosepreference"}
BLOT_IMAGES = sorted(n for n in datasets.names("western") if datasets.get(n).file.lower().endswith((".png", ".tif", ".jpg")))


@given(seed=st.sampled_from(["fst_ovx", "fst_bins"]), m=mutation)
def test_fuzz_assay_fst(tmp_path_factory, seed, m):
    p = _write(tmp_path_factory, "fst.csv", _text_mutation(data(SEEDS[seed]).read_bytes(), *m))
    _check(["assay", "fst", str(p), "--format", "json"], p)


@given(m=mutation)
def test_fuzz_assay_spt(tmp_path_factory, m):
    p = _write(tmp_path_factory, "spt.csv", _text_mutation(data(SEEDS["spt"]).read_bytes(), *m))
    _check(["assay", "spt", str(p), "--format", "json"], p)


@given(m=mutation)
def test_fuzz_meta_run(tmp_path_factory, m):
    p = _write(tmp_path_factory, "meta.csv", _text_mutation(_meta_seed(), *m))
    _check(["meta", "run", str(p), "--measure", "OR", "--format", "json"], p)


@given(m=mutation)
def test_fuzz_trial_analyze(tmp_path_factory, m):
    p = _write(tmp_path_factory, "trial.csv", _text_mutation(_trial_seed(), *m))
    _check(["trial", "analyze", str(p), "--format", "json"], p)


@given(image=st.sampled_from(BLOT_IMAGES),
       m=st.tuples(st.sampled_from(BINARY_OPS), st.floats(0, 0.999), st.floats(0, 0.999)))
def test_fuzz_assay_western(tmp_path_factory, image, m):
    src = data(image)
    p = _write(tmp_path_factory, src.name, _binary_mutation(src.read_bytes(), *m))
    _check(["assay", "western", str(p), "--lanes", "4", "--format", "json"], p)


@given(m=st.tuples(st.sampled_from(BINARY_OPS), st.floats(0, 0.999), st.floats(0, 0.999)))
def test_fuzz_assay_ltp(tmp_path_factory, m):
    base, post = data("nphys_LTDap5_2018_01_25_0000"), data("nphys_LTDap5_2018_01_25_0004")
    p = _write(tmp_path_factory, "baseline.abf", _binary_mutation(base.read_bytes(), *m))
    _check(["assay", "ltp", "--baseline", str(p), "--post", str(post), "--format", "json"], p)


@given(m=mutation)
def test_fuzz_assay_ltp_manifest(tmp_path_factory, m):
    """The group manifest (issue 40): one real slice's rows, mutated; the recordings beside it."""
    d = tmp_path_factory.mktemp("fuzz")
    rows = []
    for n, role in (("0001", "pp_pre"), ("0004", "baseline"), ("0006", "post")):
        src = data(f"nphys_LTDap5_2018_01_25_{n}")
        (d / src.name).write_bytes(src.read_bytes())
        rows.append(f"{src.name},P21f-AP5W_12,2018_01_25,AP5,{role}")
    rows.append(f"{data('nphys_LTDap5_2018_01_25_0004').name},S2,A2,AP5,baseline")
    rows.append(f"{data('nphys_LTDap5_2018_01_25_0006').name},S2,A2,AP5,post")
    seed = ("file,slice,animal,group,role\n" + "\n".join(rows) + "\n").encode()
    p = d / "slices.csv"
    p.write_bytes(_text_mutation(seed, *m))
    _check(["assay", "ltp", "--manifest", str(p), "--format", "json"], p)


def test_mutations_do_what_they_say():
    data = b"a,b\n1,2\n3,4\n"
    assert _text_mutation(data, "bom", 0, 0).startswith(b"\xef\xbb\xbf")
    assert _text_mutation(data, "semicolon", 0, 0) == b"a;b\n1;2\n3;4\n"
    assert _text_mutation(data, "truncate", 0.5, 0) == data[: len(data) // 2]
    assert b"=HYPERLINK" in _text_mutation(data, "formula", 0.0, 0.0)
    assert len(_text_mutation(data, "long_label", 0.0, 0.0)) > 100_000
    assert re.match(rb"a\n1\n3", _text_mutation(data, "drop_column", 0.0, 0.99))
    assert _text_mutation(data, "empty", 0, 0) == b""
    assert np.isfinite(len(pd.DataFrame()))
