"""Calibrate the clinical mapping of the cascade model (the parameters marked ``calibrated``).

Targets (and only these; everything else the model says is prediction):
- placebo arms: Daly 2018 period-1 placebo (MADRS change -5.7 at 24 h and -4.9 at day 8 from 35.0;
  responders 1/33 at 24 h and 2/33 at day 8) and Kocsis 1988 placebo (3/25 responders at 6 weeks);
- Zarate 2006, one 0.5 mg/kg infusion over 40 min: 71 % response and 29 % remission at day 1,
  35 % still responding at 1 week (clinical_trials.md, status V*/M: unverified);
- Kocsis 1988, imipramine titrated up to 300 mg/day: 45 % response (ITT) at 6 weeks.

The plasticity state is linear in the two weights, so the cascade is solved once per spine time
constant on a common set of virtual patients and the weights and the patient-level distributions
are fitted by weighted least squares on the rates (binomial standard errors).

Run:  .venv/bin/python validation/mechanism/calibrate.py   (prints the values for cascade.yaml)
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from adpharm.mechanism.drive import DriveStepper, pk_component
from adpharm.mechanism.integrate import integrate
from adpharm.mechanism.model import load
from adpharm.mechanism.symptoms import draw_patients, madrs, remitters, responders
from adpharm.pharmacology.simulate import draw_covariates

N, SEED = 3000, 20061
KETAMINE = ("ketamine", "0.5 mg/kg iv over 40 min")
IMIPRAMINE = ("imipramine", "50 mg po daily titrate to 300 mg over 3 weeks")
model = load()


def components(reg, days, tau_spine_h):
    p = model.parameter_values({"tau_spine_h": tau_spine_h})
    times = np.arange(0, days * 24 + 1, 24.0)
    rng = np.random.default_rng(SEED)
    cov = draw_covariates(N, rng)
    st = DriveStepper([pk_component(*reg, times[-1], cov, rng)], N, list(model.inputs))
    out = integrate(model, p, st, times, ["synaptic_protein_frac", "spine_density_frac", "new_neuron_frac"])
    return times, out["synaptic_protein_frac"] + out["spine_density_frac"], out["new_neuron_frac"]


def rates(times, plast, p, day):
    pts = draw_patients(N, times.size, p, np.random.default_rng(SEED + 1))
    s = madrs(pts, plast, times, p)
    i = int(np.argmin(abs(times - day * 24)))
    return (responders(s, pts.baseline)[:, i].mean(), remitters(s)[:, i].mean(), s[:, i].mean() - pts.baseline.mean())


def residuals(x, ket, imi):
    med, lsd, tau, sens, wg, wn = x
    p = model.parameter_values({"placebo_max_median_frac": med, "placebo_logit_sd": lsd, "placebo_tau_days": tau,
                                "sensitivity_log_sd": sens})
    t_k, g_k, n_k = ket
    t_i, g_i, n_i = imi
    zero = np.zeros_like(g_k)
    r = []
    def add(obs, target, n):
        r.append((obs - target) / np.sqrt(max(target * (1 - target), 0.02) / n))
    pr1, _, pc1 = rates(t_k, zero, p, 1)
    pr8, _, pc8 = rates(t_k, zero, p, 8)
    pr42, _, _ = rates(t_i, np.zeros_like(g_i), p, 42)
    add(pr1, 1 / 33, 33); add(pr8, 2 / 33, 33); add(pr42, 3 / 25, 25)
    r.append((pc1 + 5.7) / 1.79); r.append((pc8 + 4.9) / 1.74)
    kr1, km1, _ = rates(t_k, wg * g_k + wn * n_k, p, 1)
    kr7, _, _ = rates(t_k, wg * g_k + wn * n_k, p, 7)
    add(kr1, 0.71, 17); add(km1, 0.29, 17); add(kr7, 0.35, 17)
    ir42, _, _ = rates(t_i, wg * g_i + wn * n_i, p, 42)
    add(ir42, 0.45, 29)
    return np.array(r)


def main():
    best = None
    imi_cache = {}
    for tau_spine in (48.0, 72.0, 96.0, 120.0, 168.0):
        ket = components(KETAMINE, 8, tau_spine)
        imi = imi_cache.setdefault(tau_spine, components(IMIPRAMINE, 42, tau_spine))
        fit = least_squares(residuals, x0=[0.15, 1.0, 0.5, 1.0, 3.0, 1.0], args=(ket, imi),
                            bounds=([0.01, 0.1, 0.02, 0.1, 0.01, 0.001], [0.6, 3.0, 10.0, 3.0, 100.0, 100.0]),
                            diff_step=0.05)
        cost = float(np.sum(fit.fun ** 2))
        print(f"tau_spine_h={tau_spine:g}: chi2={cost:.3f} x={np.round(fit.x, 4).tolist()}")
        if best is None or cost < best[0]:
            best = (cost, tau_spine, fit)
    cost, tau_spine, fit = best
    names = ["placebo_max_median_frac", "placebo_logit_sd", "placebo_tau_days", "sensitivity_log_sd",
             "w_glutamatergic", "w_neurogenesis"]
    print(f"\nbest: tau_spine_h = {tau_spine:g} (chi2 {cost:.3f})")
    for k, v in zip(names, fit.x):
        print(f"  {k}: {v:.4g}")
    print("residuals (SE units):", np.round(fit.fun, 2).tolist())


if __name__ == "__main__":
    main()
