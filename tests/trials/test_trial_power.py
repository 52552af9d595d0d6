"""Power by simulation on Dask: the same replicates whatever the number of workers."""
import json

import pytest

from conftest import run_cli
from adpharm.errors import AdpharmInputError
from adpharm.trials.power import power, replicate_seeds

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them


def test_identical_results_for_0_1_and_2_workers():
    runs = [power("imipramine-chronic", 6, n_per_arm=8, seed=3, workers=w) for w in (0, 1, 2)]
    base = runs[0].replicates
    for r in runs[1:]:
        assert r.replicates[["rep", "seed", "estimate", "p", "success"]].equals(
            base[["rep", "seed", "estimate", "p", "success"]])
        assert r.power == runs[0].power
    assert runs[2].workers.startswith("Dask LocalCluster, 2 workers")


def test_replicate_seeds_do_not_depend_on_the_count():
    assert replicate_seeds(7, 10)[:4] != replicate_seeds(8, 10)[:4]
    assert len(set(replicate_seeds(7, 1000))) == 1000


def test_power_interval_is_clopper_pearson():
    """Clopper-Pearson by its definition: beta quantiles, with the closed forms at 0 and n successes
    (lower bound (alpha/2)^(1/n) when every replicate succeeds)."""
    from scipy import stats
    r = power("ketamine-vs-midazolam", 5, n_per_arm=4, seed=1, workers=0)
    k = int(r.replicates["success"].sum())
    lo = 0.025 ** (1 / 5) if k == 5 else (0.0 if k == 0 else stats.beta.ppf(0.025, k, 5 - k + 1))
    hi = 1 - 0.025 ** (1 / 5) if k == 0 else (1.0 if k == 5 else stats.beta.ppf(0.975, k + 1, 5 - k))
    assert (r.ci_lb, r.ci_ub) == pytest.approx((lo, hi), rel=1e-9)
    assert r.power == k / 5


@pytest.mark.slow
def test_target_power_search_reaches_the_target():
    """The search (doubling, then bisection to 2 %) ends at a size whose power reaches the target while the sizes
    just below it do not. The protocol's primary analysis is swapped for ANCOVA (LOCF) so that the 200 replicates
    per size the search requires cost seconds, not minutes of MMRM fits; the MMRM path has its own power tests."""
    from adpharm.trials.protocol import load_protocol
    proto = load_protocol("ketamine-vs-midazolam")
    endpoints = proto.endpoints.model_copy(update={"primary": proto.primary.model_copy(update={"analysis": "ancova"})})
    r = power(proto.model_copy(update={"endpoints": endpoints}), 200, target_power=0.8, seed=2, workers=0)
    assert len(r.search) >= 4 and r.search[0]["power"] < 0.8 <= r.search[-1]["power"]
    assert r.power >= 0.8
    smaller = [s for s in r.search if s["n_per_arm"] < r.n_per_arm]
    assert all(s["power"] < 0.8 for s in smaller if s["n_per_arm"] >= r.n_per_arm - max(1, int(0.02 * r.n_per_arm)))


def test_cli_power_json_contract():
    res = run_cli("trial", "power", "ketamine-crossover", "--reps", "4", "--n-per-arm", "4", "--seed", "1",
                  "--workers", "0", "--format", "json")
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    for k in ("power", "ci_lb", "ci_ub", "reps", "n_per_arm", "provenance"):
        assert k in d
    assert d["reps"] == 4 and d["n_per_arm"] == 4 and d["provenance"]["seed"] == 1
    assert "cascade model" in d["provenance"]["model"]
    assert "power n/arm 4" in res.stderr        # the progress bar


@pytest.mark.parametrize("args,msg", [
    (["--reps", "0"], "--reps"),
    (["--reps", "3", "--target-power", "1.5"], "--target-power"),
    (["--reps", "3", "--n-per-arm", "5", "--target-power", "0.8"], "not both"),
    (["--reps", "3", "--workers", "-1"], "--workers"),
    (["--reps", "3", "--scheduler", "tcp://127.0.0.1:1", "--workers", "1"], "give one"),
])
def test_cli_power_bad_arguments_exit_2(args, msg):
    r = run_cli("trial", "power", "ssri-mdd-8wk", *args)
    assert r.returncode == 2 and msg in r.stderr


def test_unreachable_scheduler_is_an_input_error():
    with pytest.raises(AdpharmInputError, match="cannot connect"):
        power("ssri-mdd-8wk", 2, scheduler="tcp://127.0.0.1:9", seed=0)


def test_power_json_carries_its_monte_carlo_error_and_the_estimated_effect():
    """Issue 37 item 1: power, its Monte Carlo SE and interval, the replicates, the mean and SD of the estimated
    effect and the share without an estimate, in JSON and text."""
    import json
    r = run_cli("trial", "power", "ssri-mdd-8wk", "--n-per-arm", "100", "--reps", "30", "--seed", "1", "--workers", "0",
                "--no-progress", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["mc_se"] == pytest.approx((d["power"] * (1 - d["power"]) / 30) ** 0.5)
    assert d["mean_estimate"] < 0 and d["sd_estimate"] > 0 and d["share_without_estimate"] == 0
    t = run_cli("trial", "power", "ssri-mdd-8wk", "--n-per-arm", "40", "--reps", "10", "--workers", "0", "--no-progress")
    assert "Monte Carlo SE" in t.stdout and "estimated effect over replicates: mean" in t.stdout


def test_a_search_with_too_few_replicates_is_refused_saying_why():
    r = run_cli("trial", "power", "ketamine-trd-iv", "--target-power", "0.8", "--reps", "20")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "too few for --target-power (at least 200" in r.stderr


@pytest.mark.slow
def test_null_gives_the_type_i_error_of_the_primary_analysis():
    """Every arm given the control (midazolam in both arms): the MMRM's two-sided rejection rate is 0.05 within
    2 Monte Carlo SE."""
    from adpharm.trials.power import power
    r = power("ketamine-vs-midazolam", 200, n_per_arm=60, seed=0, workers=0, null=True)
    d = r.to_dict()
    assert d["null"] and abs(d["type_i_error"] - 0.05) <= 2 * d["mc_se"] + 1e-9, d
    assert abs(d["mean_estimate"]) < 0.5


def test_null_needs_a_control_arm(tmp_path):
    from adpharm.trials.protocol import load_protocol
    p = load_protocol("ssri-mdd-8wk")
    text = (tmp_path / "x.yaml")
    import yaml
    raw = p.model_dump(mode="json", exclude_none=True)
    raw["arms"] = [{"id": "a", "treatments": [{"drug": "sertraline", "regimen": "50 mg po daily"}]},
                   {"id": "b", "treatments": [{"drug": "escitalopram", "regimen": "10 mg po daily"}]}]
    raw["id"] = "two-drugs"
    text.write_text(yaml.safe_dump(raw))
    r = run_cli("trial", "power", str(text), "--null", "--reps", "5", "--workers", "0")
    assert r.returncode == 2 and "has no placebo (control) arm" in r.stderr
