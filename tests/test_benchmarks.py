"""Every script in benchmarks/ runs at its smallest workload (a smoke run, not a timing).

The benchmarks back the README's speed claims; none of them ran in the suite, so an API change once
broke ``mechanism_million.py`` unseen. Each one is run here as users run it, in a subprocess, with the
smallest sizes its options allow, and must exit 0 and print the line its claim is read from. Timings are
not asserted (speed claims are ratios measured in one run, never timed tests)."""
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"

#: script -> (smallest arguments, text the output must contain)
SMOKE = {
    "dispersions_vs_pydeseq2.py": (["--reps", "1", "--workloads", "small"], "adpharm fit_dispersions"),
    "mechanism_million.py": (["--sizes", "100", "--rr-patients", "3", "--whole-max", "100", "--chunk", "50"],
                             "streamed p/s"),
    "mechanism_vs_roadrunner.py": (["--sizes", "20", "--rr-patients", "3", "--days", "7"], "adpharm p/s"),
    "meta_vs_metafor.py": (["--reps", "2"], "adpharm rma REML"),
    "mmrm_vs_nlme.py": (["--sizes", "20", "--fits", "1"], "adpharm s/fit"),
    "population_pk.py": (["--n", "200", "--sample", "5", "--chunk", "100"], "speed ratio"),
    "trial_power.py": (["--reps", "2", "--n-per-arm", "10"], "identical replicates: True"),
    "virtual_registry.py": (["--split", "calibration", "--drugs", "citalopram", "--chunk-size", "2"],
                            "identical results in every run: True"),
    "web_load.py": (["--clients", "2", "--seconds", "1"], "errors 0"),
}


def test_every_benchmark_has_a_smoke_run():
    assert {p.name for p in BENCH.glob("*.py")} == set(SMOKE)


@pytest.mark.parametrize("script", sorted(SMOKE))
def test_benchmark_runs_at_its_smallest_workload(script):
    args, expected = SMOKE[script]
    r = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    assert expected in r.stdout, r.stdout[-2000:]
    assert "Traceback" not in r.stderr
