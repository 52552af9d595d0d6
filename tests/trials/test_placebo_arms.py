"""Every bundled protocol's placebo arm against the published placebo arms of its population (issue 19):
response and, where published, remission, as the mean over simulated trials of the protocol's own size."""
import pytest

from conftest import data
from placebo_reference import PUBLISHED, published_range, simulated

from adpharm.knowledge.loader import bundled as bundled_kb
from adpharm.trials.protocol import bundled

pytestmark = pytest.mark.slow


def test_every_bundled_protocol_has_published_placebo_arms_with_known_references():
    assert set(PUBLISHED) == set(bundled())
    refs = bundled_kb().references
    for entry in PUBLISHED.values():
        assert all(r in refs for r in entry["refs"])
        for outcome in ("response", "remission"):
            assert all(a["ref"] in refs for a in entry.get(outcome) or [])


@pytest.mark.parametrize("protocol", sorted(PUBLISHED))
def test_placebo_arm_lies_in_the_published_range_for_its_population(protocol):
    sim = simulated(protocol)
    checked = 0
    for outcome in ("response", "remission"):
        rng = published_range(protocol, outcome, data("linde2015_classes_primary_care"))
        if rng is None:
            continue
        mean, _ = sim[outcome]
        assert rng["low"] <= mean <= rng["high"], (outcome, mean, rng)
        checked += 1
    assert checked >= 1


def test_linde_prediction_interval_closed_form():
    """Two identical arms: tau^2 = 0, so the interval is the pooled logit +- 1.96 times its SE."""
    import numpy as np
    from placebo_reference import prediction_interval
    pooled, lo, hi = prediction_interval(np.array([40.0, 40.0]), np.array([100.0, 100.0]))
    y, v = np.log(40.5 / 60.5), 1 / 40.5 + 1 / 60.5
    se = np.sqrt(v / 2)
    assert pooled == pytest.approx(1 / (1 + np.exp(-y)), rel=1e-12)
    assert lo == pytest.approx(1 / (1 + np.exp(-(y - 1.959963984540054 * se))), rel=1e-9)
    assert hi == pytest.approx(1 / (1 + np.exp(-(y + 1.959963984540054 * se))), rel=1e-9)
