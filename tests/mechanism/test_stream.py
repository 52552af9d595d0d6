"""Large populations in chunks (issue 21): the streamed statistics equal those of the concatenated
chunks (exact for means, SDs and rates; within one histogram bin for percentiles)."""
import json

import numpy as np
import pytest

from adpharm.errors import AdpharmInputError
from adpharm.mechanism.simulate import simulate
from adpharm.mechanism.stream import BIN_WIDTH_MADRS, chunk_sizes, simulate_streamed
from tests.conftest import run_cli

pytestmark = pytest.mark.slow

REG = [("sertraline", "100 mg po daily")]


def test_streamed_statistics_equal_those_of_the_concatenated_chunks():
    n, chunk, seed = 300, 120, 7
    s = simulate_streamed(REG, 21, n=n, seed=seed, chunk=chunk)
    sizes = chunk_sizes(n, chunk)
    parts = [simulate(REG, 21, n=m, seed=ss) for m, ss in zip(sizes, np.random.SeedSequence(seed).spawn(len(sizes)))]
    drug = np.concatenate([p.madrs for p in parts])
    pbo = np.concatenate([p.madrs_placebo for p in parts])
    base = np.concatenate([p.baseline for p in parts])
    assert s.n == n == drug.shape[0]
    np.testing.assert_allclose(s.drug.mean, drug.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.drug.sd, drug.std(axis=0, ddof=1), rtol=1e-10)
    np.testing.assert_allclose(s.placebo.mean, pbo.mean(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(s.drug.responders, (drug <= 0.5 * base[:, None]).sum(axis=0))
    np.testing.assert_array_equal(s.placebo.remitters, (pbo <= s.remission_threshold).sum(axis=0))
    srt = np.sort(drug, axis=0)
    for q in (5, 50, 95):
        # np.percentile interpolates between order statistics j and j + 1; the histogram reads the bin holding
        # order statistic ceil(q n): they differ by at most a bin plus the local gap between order statistics
        j = int(np.floor(q / 100 * (n - 1)))
        gap = srt[min(j + 2, n - 1)] - srt[max(j - 1, 0)]
        assert np.all(np.abs(s.drug.percentile(q) - np.percentile(drug, q, axis=0)) <= BIN_WIDTH_MADRS + gap + 1e-9)
    want = sum(p.states["plasticity"] * p.n for p in parts) / n
    np.testing.assert_allclose(s.states["plasticity"], want, rtol=1e-12)


def test_chunking_changes_only_sampling_noise():
    """Two chunkings of the same population size agree within sampling error at week 3."""
    a = simulate_streamed(REG, 21, n=2000, seed=1, chunk=2000).summary().iloc[-1]
    b = simulate_streamed(REG, 21, n=2000, seed=2, chunk=400).summary().iloc[-1]
    se = np.hypot(a["madrs_sd"], b["madrs_sd"]) / np.sqrt(2000)
    assert abs(a["madrs_mean"] - b["madrs_mean"]) < 4 * se


@pytest.mark.parametrize("n, chunk", [(2, 2), (5, 2), (1_000_000, 20_000), (40_001, 20_000), (7, 100)])
def test_chunk_sizes_cover_n_with_chunks_of_at_least_two(n, chunk):
    sizes = chunk_sizes(n, chunk)
    assert sum(sizes) == n and max(sizes) <= chunk + 1 and min(sizes) >= 2 and max(sizes) - min(sizes) <= 1


def test_bad_chunk_or_size_is_rejected():
    with pytest.raises(AdpharmInputError, match="chunk"):
        chunk_sizes(10, 1)
    with pytest.raises(AdpharmInputError, match="n: "):
        simulate_streamed(REG, 7, n=1)


def test_cli_streams_with_chunk_and_refuses_per_patient_outputs(tmp_path):
    r = run_cli("mechanism", "simulate", "--drug", "ketamine", "--regimen", "0.5 mg/kg iv over 40 min", "--days", "3",
                "--n", "300", "--chunk", "100", "--seed", "1", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["provenance"]["n"] == 300 and d["provenance"]["streamed"]["chunks"] == 3
    assert set(d["madrs"]) == {"mean", "sd", "p5", "p50", "p95"}
    bad = run_cli("mechanism", "simulate", "--drug", "ketamine", "--regimen", "0.5 mg/kg iv over 40 min", "--days",
                  "3", "--n", "300", "--chunk", "100", "--format", "csv")
    assert bad.returncode == 2 and "streamed" in bad.stderr and bad.stderr.count("\n") == 1
