"""The empirical-Bayes prior of transcriptomics.shrinkage against its optimality conditions (closed form)."""
import numpy as np

from adpharm.transcriptomics.shrinkage import posterior_mean


def _problem(seed=0, n=8000):
    rng = np.random.default_rng(seed)
    truth = np.where(rng.random(n) < 0.85, 0.0, rng.normal(0, 1.5, n))
    se = rng.uniform(0.2, 1.0, n)
    return truth + rng.normal(0, se), se, truth


def test_mixture_weights_satisfy_the_kkt_conditions_and_beat_long_em():
    # The weights maximise f(w) = Σᵢ log Σₖ Lᵢₖ wₖ + 9 log w₀ on the simplex. At the optimum every
    # component with weight has ∂f/∂wₖ = n + 9 (the Lagrange multiplier), and none without weight
    # exceeds it (Karush-Kuhn-Tucker); EM, run 5,000 steps from uniform weights, gets no higher.
    x, se, _ = _problem()
    pm, prior = posterior_mean(x, se)
    s, w = np.array(prior["scales"]), np.array(prior["weights"])
    var = se[:, None] ** 2 + s[None, :] ** 2
    lik = np.exp(-0.5 * (np.log(2 * np.pi * var) + x[:, None] ** 2 / var))
    c = np.zeros(len(s))
    c[0] = 9.0
    grad = lik.T @ (1 / (lik @ w)) + c / np.maximum(w, 1e-300)
    total = len(x) + 9.0
    on = w > 1e-4
    assert np.allclose(grad[on], total, rtol=1e-4)
    assert (grad[~on] <= total * (1 + 1e-4)).all()
    em = np.full(len(s), 1 / len(s))
    for _ in range(5000):
        p = lik * em
        p /= p.sum(axis=1, keepdims=True)
        em = (p.sum(axis=0) + c) / total

    def f(v):
        return np.sum(np.log(lik @ v)) + 9 * np.log(v[0])
    assert f(w) >= f(em) - 1e-6


def test_posterior_means_shrink_towards_zero_and_recover_the_null_fraction():
    # Known truth: 85 % of the effects are exactly zero. The posterior mean lies between 0 and the
    # observation, and it is closer to the truth than the observation is (mean squared error).
    x, se, truth = _problem(seed=3)
    pm, prior = posterior_mean(x, se)
    assert abs(prior["null_weight"] - 0.85) < 0.05
    assert (np.abs(pm) <= np.abs(x) + 1e-12).all() and (np.sign(pm) * np.sign(x) >= 0).all()
    assert np.mean((pm - truth) ** 2) < 0.5 * np.mean((x - truth) ** 2)
