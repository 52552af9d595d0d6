"""The README table of published results the clinical mapping was not calibrated on: the model's value for each,
computed the way the tests compute it (same protocols, sizes and seeds), so the table can be regenerated after a
recalibration. The tests (tests/mechanism/test_mechanism_predictions.py, tests/trials/test_trial_simulate.py,
tests/mechanism/test_mechanism_onset.py) hold the pass/fail rules; this prints the numbers.

Run:  .venv/bin/python validation/mechanism/predictions.py
"""
from __future__ import annotations

import numpy as np

from adpharm.mechanism.model import load
from adpharm.mechanism.simulate import early_onset, simulate
from adpharm.trials.power import power
from adpharm.trials.simulate import simulate_trials


def trials(protocol, n_per_arm, seeds):
    return [t.summary().set_index(["arm", "visit"]) for t in simulate_trials(protocol, n_per_arm, list(seeds))]


def over(ts, key, stat):
    vals = np.array([t.loc[key, stat] for t in ts])
    return float(vals.mean()), float(vals.std(ddof=1))


def pct(mean, sd=None):
    return f"{100 * mean:.0f} %" + ("" if sd is None else f" (SD {100 * sd:.0f} %)")


def day(res, d, col):
    return float(res.summary().set_index("day").loc[d, col])


def main():
    print(f"cascade model {load().version}")
    rows = []
    ssri = trials("ssri-mdd-8wk", 100, range(500, 520))
    rows.append(("placebo response, 8-week MDD trials (week 8, observed cases)",
                 pct(*over(ssri, ("placebo", "week8"), "response_rate"))))
    rows.append(("antidepressant response, same trials", pct(*over(ssri, ("sertraline", "week8"), "response_rate"))))
    diff = [t.loc[("placebo", "week8"), "madrs_mean"] - t.loc[("sertraline", "week8"), "madrs_mean"] for t in ssri]
    rows.append(("SSRI minus placebo, MADRS at week 8", f"{np.mean(diff):.1f}"))
    p, d = [], []
    for t in trials("ssri-mdd-8wk", 100, range(900, 980)):
        p.append(t.loc[("placebo", "week8"), "response_rate"])
        d.append(t.loc[("sertraline", "week8"), "response_rate"])
    p, d = np.array(p), np.array(d)
    nnt = [1 / float(np.mean(d[m] - p[m])) for m in (p < 0.3, (p >= 0.3) & (p < 0.4), p >= 0.4)]
    rows.append(("NNT by placebo response < 30 / 30-40 / >= 40 %", " / ".join(f"{x:.1f}" for x in nnt)))
    pw = power("ssri-mdd-8wk", 100, n_per_arm=100, seed=1, workers=0)
    rows.append(("trials of ~100 per arm that succeed (100 replicates, seed 1)",
                 f"{pct(pw.power)} (CI {100 * pw.ci_lb:.0f}-{100 * pw.ci_ub:.0f} %)"))
    for drug, reg in (("sertraline", "50 mg po daily"), ("escitalopram", "10 mg po daily"),
                      ("imipramine", "75 mg po daily titrate to 150 mg over 2 weeks")):
        e = early_onset(simulate((drug, reg), 42, n=2000, seed=1).summary())
        rows.append((f"{drug} {reg}: week-1 RR of a 50 % reduction; week-1 share of the week-6 difference",
                     f"{e['week1_relative_risk']:.2f}; {100 * e['week1_share']:.0f} %"))
    imi = simulate(("imipramine", "75 mg po daily titrate to 150 mg over 2 weeks"), 42, n=2000, seed=12)
    rows.append(("imipramine, responders over placebo at week 6 (primary care)",
                 f"+{100 * (day(imi, 42, 'response_rate') - day(imi, 42, 'placebo_response_rate')):.1f} points"))
    st = [t.loc[("placebo", "week6"), "response_rate"] for t in trials("imipramine-chronic", 200, [1993, 1994, 1995])]
    rows.append(("Stewart 1993 placebo (chronic), week 6", pct(float(np.mean(st)))))
    s93 = simulate(("imipramine", "50 mg po daily titrate to 200 mg over 2 weeks"), 42, n=3000, seed=1993,
                   population="mdd-outpatient")
    rows.append(("Stewart 1993 imipramine, week 6", pct(day(s93, 42, "response_rate"))))
    chronic = trials("imipramine-chronic", 300, range(500, 520))
    rows.append(("Kocsis 1988 imipramine after washout, week 6", pct(*over(chronic, ("imipramine", "week6"),
                                                                           "response_rate"))))
    mdz = trials("ketamine-vs-midazolam", 100, range(500, 510))
    rows.append(("midazolam arms, responders at 24 h", pct(*over(mdz, ("midazolam", "24h"), "response_rate"))))
    mur = trials("ketamine-vs-midazolam", 24, range(500, 520))
    k, m = over(mur, ("ketamine", "24h"), "change_mean")[0], over(mur, ("midazolam", "24h"), "change_mean")[0]
    rows.append(("ketamine minus midazolam, 24 h", f"{m - k:.1f}"))
    for dose in (28, 56, 84):
        r = simulate(("esketamine", f"{dose} mg intranasal"), 2, n=3000, seed=2018, population="trd")
        rows.append((f"Daly 2018 esketamine {dose} mg minus placebo, 24 h", f"{-day(r, 1, 'separation'):.1f}"))
    lap = simulate(("ketamine", "50 mg intranasal"), 2, n=3000, seed=2014, population="trd")
    rows.append(("Lapidus 2014 intranasal ketamine: responders; minus saline, 24 h",
                 f"{pct(day(lap, 1, 'response_rate'))}; {day(lap, 1, 'separation'):.1f}"))
    can = simulate(("esketamine", "84 mg intranasal"), 2, n=3000, seed=2019, population="suicidal-inpatient")
    rows.append(("Canuso 2018 esketamine 84 mg minus placebo, 24 h", f"{-day(can, 1, 'separation'):.1f}"))
    asp = simulate(("esketamine", "84 mg intranasal"), 2, n=3000, seed=2020, population="suicidal-inpatient")
    rows.append(("ASPIRE I and II esketamine minus placebo, 24 h", f"{-day(asp, 1, 'separation'):.1f}"))
    tr = trials("esketamine-trd-in", 110, range(500, 512))
    rows.append(("TRANSFORM placebo + new antidepressant, day 28", pct(*over(tr, ("placebo", "day28"), "response_rate"))))
    rows.append(("TRANSFORM esketamine arms, day 28", pct(*over(tr, ("esketamine", "day28"), "response_rate"))))
    rows.append(("TRANSFORM esketamine arms, day 2", pct(*over(tr, ("esketamine", "day2"), "response_rate"))))
    e, p_ = over(tr, ("esketamine", "day28"), "change_mean")[0], over(tr, ("placebo", "day28"), "change_mean")[0]
    rows.append(("TRANSFORM esketamine minus placebo, day 28 (mean change)", f"{e - p_:.1f}"))
    ket = trials("ketamine-trd-iv", 2000, [3])[0]
    rows.append(("ketamine-trd-iv at 2,000 per arm, 24 h: mean change ketamine / placebo",
                 f"{ket.loc[('ketamine', '24h'), 'change_mean']:.1f} / {ket.loc[('placebo', '24h'), 'change_mean']:.1f}"))
    for label, value in rows:
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
