"""Issue 37 item 2: every protocol states its primary estimand (ICH E9(R1)); simulate and analyze print the
primary result first under it, and both commands count remission by the protocol's rule."""
import json

import pandas as pd
import pytest
import yaml

from adpharm.trials.primary import primary_result, primary_test
from adpharm.trials.protocol import STRATEGIES, bundled, load_protocol
from adpharm.trials.simulate import simulate_trial
from conftest import run_cli

PROTOCOLS = sorted(bundled())


@pytest.mark.parametrize("name", PROTOCOLS)
def test_every_protocol_states_its_primary_estimand(name):
    p = load_protocol(name)
    e = p.estimand
    assert e is not None and (e.endpoint, e.visit) == (p.primary.kind, p.primary.visit)
    assert e.population and e.treatment and e.summary
    assert all(ev.strategy in STRATEGIES for ev in e.intercurrent_events)
    text = e.text()
    assert text.startswith("estimand (ICH E9(R1)):") and "intercurrent events:" in text


@pytest.mark.parametrize("name", PROTOCOLS)
def test_primary_result_is_the_power_engines_test(name):
    """The primary result printed by simulate is the analysis power counts (same estimate and p)."""
    p = load_protocol(name)
    trial = simulate_trial(p, 30, seed=4)
    r = primary_result(p, trial.data)
    est, pval = primary_test(p, trial.data)
    assert r.analysis["p"] == pval
    assert r.analysis["estimate"] == (-est if p.primary.kind in ("response", "remission") else est)
    d = trial.to_dict()
    assert d["estimand"]["endpoint"] == p.primary.kind and d["primary"]["visit"] == p.primary.visit


def test_simulate_and_analyze_print_the_estimand_and_primary_first_and_agree_on_remission(tmp_path):
    csv = tmp_path / "t.csv"
    r = run_cli("trial", "simulate", "esketamine-trd-in", "--n-per-arm", "40", "--seed", "2", "--format", "csv",
                "--out", str(csv))
    assert r.returncode == 0, r.stderr
    sim = run_cli("trial", "simulate", "esketamine-trd-in", "--n-per-arm", "40", "--seed", "2")
    lines = sim.stdout.splitlines()
    assert lines[3] == "estimand (ICH E9(R1)):" and lines[9].startswith("primary (change at day28")
    js = json.loads(run_cli("trial", "simulate", "esketamine-trd-in", "--n-per-arm", "40", "--seed", "2",
                            "--format", "json").stdout)
    ana = run_cli("trial", "analyze", str(csv), "--protocol", "esketamine-trd-in")
    assert ana.returncode == 0, ana.stderr
    out = ana.stdout.splitlines()
    assert out[1] == "estimand (ICH E9(R1)):" and out[7].startswith("primary (change at day28")
    # the same primary estimate in both commands
    assert f"{js['primary']['estimate']:.2f}" in out[7]
    # remission at day 28 by the protocol's rule (MADRS <= 12), observed cases, in both
    rem = next(x for x in out if x.startswith("remission at day28"))
    sim_rate = js["arms"]["esketamine"]["visits"]["day28"]["remission_rate"]
    assert f"observed cases {sim_rate:.3f}" in rem
    aj = json.loads(run_cli("trial", "analyze", str(csv), "--protocol", "esketamine-trd-in", "--format", "json").stdout)
    assert aj["estimand"]["visit"] == "day28" and aj["primary"]["method"].startswith("MMRM")


def test_estimand_naming_an_unknown_endpoint_is_one_line_exit_2(tmp_path):
    src = yaml.safe_load(bundled()["ssri-mdd-8wk"].read_text())
    src["estimand"]["visit"] = "week12"
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(src))
    r = run_cli("trial", "simulate", str(f))
    assert r.returncode == 2 and "estimand" in r.stderr and "week12" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_trial_protocols_lists_the_bundled_protocols():
    r = run_cli("trial", "protocols", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert [x["id"] for x in json.loads(r.stdout)] == PROTOCOLS


def test_mmrm_default_has_a_baseline_slope_per_visit(tmp_path):
    d = simulate_trial("ssri-mdd-8wk", 40, seed=3).data
    f = tmp_path / "t.csv"
    d.to_csv(f, index=False)
    on = json.loads(run_cli("trial", "analyze", str(f), "--format", "json").stdout)
    off = json.loads(run_cli("trial", "analyze", str(f), "--no-baseline-by-visit", "--format", "json").stdout)
    assert on["mmrm"]["baseline_by_visit"] is True and off["mmrm"]["baseline_by_visit"] is False
    assert pd.DataFrame(on["mmrm"]["contrasts"])["estimate"].tolist() != pd.DataFrame(off["mmrm"]["contrasts"])["estimate"].tolist()
