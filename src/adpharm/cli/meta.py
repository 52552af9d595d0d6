"""`adpharm meta run|network|indirect`: pairwise, network and indirect meta-analysis."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from .. import RESEARCH_NOTICE, __version__
from ..errors import AdpharmInputError, check_option
from ..evidence import bundled, cumul, registry, escalc, indirect, leave1out, network, regtest, rma, subgroups
from ..evidence.effect_sizes import MEASURES, arm_counts
from ..evidence.continuous import continuous_arms, pool_continuous
from ..evidence.indirect import POPULATION_CLASSES, bundled_indirect
from ..evidence.certainty import bias_from_notes, certainty_text, pooled_certainty
from ..evidence.meta import METHODS, small_k_warnings
from ..io import read_table
from ..knowledge import query
from ..knowledge.schema import FAMILIES, WINDOW_LABELS, WINDOWS
from .common import check_plot_path, emit_json, fail, handle_errors, print_notes, save_plot, table_text, warn

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Meta-analysis: pairwise (run), bundled trials by time window (pool), network (network) "
                       "and indirect (indirect).")
BUNDLED_NETWORKS = ("cipriani2018", "linde2015")
#: the outcome names of the Linde 2015 network (the registry's vocabulary; the old names still work)
LINDE_OUTCOMES = {"response": "responders", "remission": "remitters", "responders": "responders",
                  "remitters": "remitters"}


def _provenance() -> dict:
    return {"adpharm": __version__, "notice": RESEARCH_NOTICE}


def _emit_or_header(out: dict, fmt: str, header: str, table: pd.DataFrame) -> bool:
    """JSON on stdout (returns True: done), or the text header and table."""
    if fmt == "json":
        emit_json(out)
        return True
    typer.echo(header)
    typer.echo(table_text(table, ".4g", index=True))
    return False


def _columns(df: pd.DataFrame, names: list[str], source: str, option: str) -> pd.DataFrame:
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise AdpharmInputError(f"{source}: {option}: no column {missing[0]!r}")
    return df[names]


@app.command("run")
@handle_errors
def run(data: Path = typer.Argument(..., help="CSV with metafor's columns (ai,bi,ci,di | ai,n1i,ci,n2i | m1i,sd1i,n1i,m2i,sd2i,n2i | yi,vi | yi,sei)."),
        measure: Optional[str] = typer.Option(None, "--measure", help="OR, RR, RD, SMD or MD (optional with yi,vi or "
                                              "yi,sei: metafor's generic outcome)."),
        method: str = typer.Option("REML", "--method", help="REML, DL, PM, ML, HE, SJ or FE."),
        knha: bool = typer.Option(False, "--knha", help="Knapp-Hartung adjustment (t tests)."),
        level: float = typer.Option(0.95, "--level", help="Confidence level."),
        subgroup: Optional[str] = typer.Option(None, "--subgroup", help="Column defining subgroups."),
        mods: Optional[str] = typer.Option(None, "--mods", help="Comma-separated moderator columns (meta-regression)."),
        loo: bool = typer.Option(False, "--leave1out", help="Leave-one-out analysis."),
        cumulative: Optional[str] = typer.Option(None, "--cumul", help="Cumulative meta-analysis ordered by this column (e.g. year)."),
        egger: bool = typer.Option(False, "--egger", help="Egger's regression test for funnel asymmetry."),
        forest: Optional[Path] = typer.Option(None, "--forest", help="Write a forest plot (.svg, .png or .pdf)."),
        funnel: Optional[Path] = typer.Option(None, "--funnel", help="Write a funnel plot (.svg, .png or .pdf)."),
        fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Pairwise meta-analysis like metafor's escalc + rma."""
    check_option("fmt", fmt, ("text", "json"))
    if measure is not None:
        check_option("measure", measure, MEASURES)
    check_option("method", method, METHODS)
    check_plot_path(forest, "--forest")
    check_plot_path(funnel, "--funnel")
    df = read_table(data)
    src = str(data)
    es = escalc(measure, df, source=src)
    test = "knha" if knha else "z"
    res = rma(es, method=method, test=test, level=level)
    out = res.to_dict()
    sub = None
    if subgroup:
        sub = subgroups(es, list(_columns(df, [subgroup], src, "--subgroup")[subgroup]), method=method, test=test, level=level)
        out["subgroups"] = sub.to_dict()
    cols = [c.strip() for c in mods.split(",") if c.strip()] if mods else []
    if mods:
        out["meta_regression"] = rma(es, method=method, test=test, level=level,
                                     mods=_columns(df, cols, src, "--mods")).to_dict()
    if loo:
        out["leave1out"] = leave1out(res).to_dict()["rows"]
    if cumulative:
        out["cumul"] = cumul(res, order=pd.to_numeric(_columns(df, [cumulative], src, "--cumul")[cumulative],
                                                         errors="coerce").fillna(float("inf"))).to_dict()["rows"]
    eg = None
    if egger or funnel:
        eg = regtest(res) if len(es) >= 3 else None
        if egger:
            out["regtest"] = None if eg is None else eg.to_dict()
    small_k = small_k_warnings(res.k, egger=egger, n_moderators=len(cols) if mods else 0,
                               subgroup_sizes={g: r.k for g, r in sub.groups.items()} if sub else None)
    out["warnings"] = out.get("warnings", []) + small_k
    egger_p = (eg.pval if eg is not None else regtest(res).pval) if res.k >= 10 else None
    out["certainty"] = pooled_certainty(res.beta, res.se, res.tau2, res.k, ratio=res.ratio, egger_p=egger_p,
                                        level=level).to_dict()
    out["provenance"] = {**_provenance(), "input": src}
    if forest:
        save_plot((sub or res).plot(), forest, "--forest")
    if funnel:
        from ..evidence.plots import funnel as funnel_plot
        save_plot(funnel_plot(res, egger=eg), funnel, "--funnel")
    if _emit_or_header(out, fmt, f"{'Common-effect' if method == 'FE' else 'Random-effects'} meta-analysis "
                                 f"({method}, {es.measure}, k = {res.k})", res.summary()):
        return
    if knha:
        typer.echo(f"test (Knapp-Hartung): t = {out['tval']:.3f}, df = {out['df']}, p = {out['pval']:.4g}")
    if "exp" in out:
        e = out["exp"]
        typer.echo(f"exp: {e['estimate']:.3f} [{e['ci_lb']:.3f}, {e['ci_ub']:.3f}]; prediction interval "
                   f"[{e['pi_lb']:.3f}, {e['pi_ub']:.3f}]")
    else:
        typer.echo(f"estimate: {res.beta:.4g} [{res.ci_lb:.4g}, {res.ci_ub:.4g}]; prediction interval "
                   f"[{res.pi_lb:.4g}, {res.pi_ub:.4g}]")
    typer.echo(f"certainty: {certainty_text(out['certainty'])}")
    if sub:
        typer.echo("\nSubgroups\n" + table_text(sub.summary(), ".4g", index=True))
        typer.echo(f"Test for subgroup differences: Q = {sub.Qb:.3f}, df = {sub.Qb_df}, p = {sub.Qbp:.4g}")
    if mods:
        typer.echo("\nMeta-regression\n" + table_text(pd.DataFrame(out["meta_regression"]["coefficients"]).T, ".4g", index=True))
    if loo:
        typer.echo("\nLeave-one-out\n" + table_text(pd.DataFrame(out["leave1out"]).set_index("study"), ".4g", index=True))
    if cumulative:
        typer.echo("\nCumulative\n" + table_text(pd.DataFrame(out["cumul"]).set_index("study"), ".4g", index=True))
    if egger:
        typer.echo("\nEgger's test: " + ("needs at least 3 studies" if eg is None else
                                          f"z = {eg.stat:.3f}, p = {eg.pval:.4g}; limit estimate {eg.limit_estimate:.4f}"))
    warn(res.warnings + small_k)


@app.command("network")
@handle_errors
def network_cmd(data: Optional[Path] = typer.Argument(None, help="Arm-level (study,treatment,xi,ni) or contrast-level (study,treat1,treat2,yi,sei) CSV."),
                bundled_name: Optional[str] = typer.Option(None, "--bundled", help="Use a bundled network instead: "
                                                           "cipriani2018 (the GRISELDA registry, 522 trials) or linde2015."),
                outcome: str = typer.Option("response", "--outcome", help="Bundled network outcome: response, remission, "
                                            "dropout or dropout-ae (cipriani2018); response or remission (linde2015)."),
                published_only: bool = typer.Option(False, "--published-only", help="cipriani2018: leave out the "
                                                     "unpublished trials (sensitivity analysis for publication bias)."),
                reference: Optional[str] = typer.Option(None, "--reference", help="Reference treatment (default: placebo)."),
                model: str = typer.Option("random", "--model", help="common or random."),
                method: str = typer.Option("REML", "--method", help="tau^2 estimator: REML or DL."),
                level: float = typer.Option(0.95, "--level", help="Confidence level."),
                graph: Optional[Path] = typer.Option(None, "--graph", help="Write the network graph (.svg, .png or .pdf)."),
                fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Network meta-analysis (contrast-based, multi-arm aware, common or random effects).

    With --bundled cipriani2018 every estimate against placebo carries its certainty (CINeMA domains)."""
    check_option("fmt", fmt, ("text", "json"))
    check_option("model", model, ("common", "random"))
    check_option("method", method, ("REML", "DL"))
    check_plot_path(graph, "--graph")
    notes: list[str] = []
    if (data is None) == (bundled_name is None):
        fail("give DATA.csv or --bundled cipriani2018|linde2015 (one of them)")
    if bundled_name is not None:
        check_option("bundled_name", bundled_name, BUNDLED_NETWORKS)
    if published_only and bundled_name != registry.KEY:
        fail("--published-only applies to --bundled cipriani2018 (the registry marks unpublished trials)")
    if bundled_name == registry.KEY:
        check_option("outcome", outcome, registry.OUTCOMES)
        if reference not in (None, "placebo") or model != "random":
            fail("--bundled cipriani2018 fits the random-effects model against placebo (--reference placebo, --model random)")
        reg = registry.registry_network(outcome, published_only=published_only, method=method, level=level)
        res, out = reg.network, reg.to_dict()
        table = reg.summary()
        a = registry.attribution()
        out["provenance"] = {**_provenance(), "input": f"bundled {bundled_name}", "reference_key": registry.KEY,
                             "citation": a["citation"], "data_record": a["data_record"], "licence": a["licence"]}
        header_extra = f"; {outcome}{', published trials only' if published_only else ''}"
    else:
        if bundled_name is not None:
            check_option("outcome", outcome, tuple(LINDE_OUTCOMES))
            df, notes = bundled.linde2015(LINDE_OUTCOMES[outcome])
            src = f"bundled {bundled_name}"
        else:
            df, src = read_table(data), str(data)
        res = network(df, reference=reference, model=model, method=method, level=level, source=src)
        out = res.to_dict()
        out["data_notes"] = notes
        out["provenance"] = {**_provenance(), "input": src,
                             **({"reference_key": "linde2015", "citation": "Linde K et al. (2015) Ann Fam Med 13:69-79, doi:10.1370/afm.1687"}
                                if bundled_name else {})}
        table, header_extra = res.summary(), ""
    if graph:
        save_plot(res.plot(), graph, "--graph")
    if _emit_or_header(out, fmt, f"Network meta-analysis ({model} effects{', tau^2 by ' + method if model == 'random' else ''}), "
                                 f"{out['k']} studies, {len(res.treatments)} treatments, reference {res.reference}{header_extra}",
                       table):
        return
    d = out["design_by_treatment"]
    typer.echo(f"tau^2 = {res.tau2:.4g}; Q = {res.Q:.3f} (df {res.df}); within designs Q = {d['Q_het']:.3f} "
               f"(df {d['df_het']}); between designs (inconsistency) Q = {d['Q_inc']:.3f} (df {d['df_inc']}, "
               f"p = {d['Qp_inc'] if d['Qp_inc'] is None else format(d['Qp_inc'], '.3g')})")
    if bundled_name == registry.KEY:
        typer.echo("certainty: CINeMA domains by written rules (adpharm.evidence.certainty); --format json gives each "
                   "domain's judgement and reason")
        print_notes(out["data_notes"])
        typer.echo(f"data: {out['provenance']['citation']}; {out['provenance']['data_record']} (CC BY 4.0)")
    warn(res.warnings)


@app.command("indirect")
@handle_errors
def indirect_cmd(a: str = typer.Argument(..., help="First treatment (drug or class, e.g. ketamine)."),
                 b: str = typer.Argument(..., help="Second treatment (e.g. imipramine or tca)."),
                 via: str = typer.Option("placebo", "--via", help="Common comparator."),
                 data: Optional[Path] = typer.Option(None, "--data", help="Arm-level CSV (study,treatment,xi,ni[,population,timepoint,design,outcome]); default: the bundled trials."),
                 outcome: str = typer.Option("responders", "--outcome", help="responders or remitters (bundled trials)."),
                 measure: str = typer.Option("OR", "--measure", help="OR, RR or RD."),
                 method: str = typer.Option("REML", "--method", help="tau^2 estimator for pooling each leg."),
                 level: float = typer.Option(0.95, "--level", help="Confidence level."),
                 include_unverified: bool = typer.Option(False, "--include-unverified",
                                                         help="Use bundled counts from memory (status M), flagged."),
                 window: Optional[str] = typer.Option(None, "--window", help="Bundled trials: the time window of both "
                                                      "legs (default: each side's written endpoint rule)."),
                 population: Optional[str] = typer.Option(None, "--population", help="Bundled trials: keep one "
                                                          "population class on both legs."),
                 fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Adjusted indirect comparison (Bucher) of A and B through a common comparator, with a transitivity report.

    With the bundled trials each leg pools one time window, by default its licensed use's primary endpoint
    (esketamine day 28 with an oral antidepressant; ketamine 24 h; other drugs the end of the acute phase). When
    the legs differ in time window or population class the comparison is not estimable and says why."""
    check_option("fmt", fmt, ("text", "json"))
    check_option("measure", measure, ("OR", "RR", "RD"))
    check_option("method", method, METHODS)
    check_option("outcome", outcome, bundled.OUTCOMES)
    if window is not None:
        check_option("window", window, WINDOWS)
    if population is not None:
        check_option("population", population, POPULATION_CLASSES)
    if data is None:
        res = bundled_indirect(a, b, via, outcome=outcome, measure=measure, method=method, level=level,
                               include_unverified=include_unverified, window_a=window, window_b=window,
                               population=population)
        src = "bundled trials"
    elif window is not None or population is not None:
        fail("--window and --population choose legs of the bundled trials; a --data file gives its own legs")
    else:
        df = read_table(data)
        src = str(data)
        for c in ("study", "treatment", "xi", "ni"):
            if c not in df.columns:
                raise AdpharmInputError(f"{src}: missing column {c!r}: expected arm-level study, treatment, xi, ni")
        arm_counts(df, src)
        arms = df.assign(kind="drug", drug_class=None, arm=df["treatment"].astype(str), label=df["study"].astype(str),
                         verified=df["verified"] if "verified" in df.columns else True, status="",
                         refs=[[] for _ in range(len(df))])
        for c in ("design", "population", "timepoint", "outcome"):
            if c not in arms.columns:
                arms[c] = "not stated"
        res = indirect(bundled.comparison(arms, a, via), bundled.comparison(arms, b, via), a, b, via,
                       measure=measure, method=method, level=level, source=src)
    out = res.to_dict()
    out["provenance"] = {**_provenance(), "input": src}
    if not res.estimable:
        if fmt == "json":
            emit_json(out)
            return
        typer.echo(f"Indirect comparison (Bucher) of {a} vs {b} through {via}: not estimable")
        for r in res.reasons:
            typer.echo(f"  - {r}")
        typer.echo("Both legs must share the time window, the kind of comparator and the population class "
                   "(--window and --population choose them).")
        return
    if _emit_or_header(out, fmt, f"Indirect comparison (Bucher) of {a} vs {b} through {via}, {measure}:", res.summary()):
        return
    if "exp" in out:
        e = out["exp"]
        typer.echo(f"{a} vs {b}: {measure} {e['estimate']:.2f} [{e['ci_lb']:.2f}, {e['ci_ub']:.2f}]")
    typer.echo(f"certainty: {certainty_text(out['certainty'])}")
    if res.transitivity:
        typer.echo("Transitivity: the two legs differ, so this estimate is fragile:")
        for f in res.transitivity:
            typer.echo(f"  - {f['attribute']}: {f.get('a', '')} | {f.get('b', '')} ({f['why']})")
    warn(res.warnings)


POOL_OUTCOMES = ("MD", "SMD", "responders", "remitters")
#: the controls of the bundled trials (placebo includes saline and placebo spray + standard of care)
CONTROLS = ("placebo", "midazolam", "ad_placebo")


@app.command("pool")
@handle_errors
def pool_cmd(a: str = typer.Argument(..., help="Drug, class or family (ketamine, esketamine, nmda_antagonist, "
                                               "glutamatergic, imipramine, tca, ssri, monoaminergic)."),
             vs: str = typer.Option("placebo", "--vs", help="Comparator: placebo, midazolam, ad_placebo, or a drug."),
             window: Optional[str] = typer.Option(None, "--window", help=f"Time window: {', '.join(WINDOWS)} "
                                                  "(default: the one most trials of this comparison report)."),
             outcome: str = typer.Option("MD", "--outcome", help="MD, SMD, responders or remitters."),
             method: str = typer.Option("REML", "--method", help="REML, DL, PM, ML, HE, SJ or FE."),
             level: float = typer.Option(0.95, "--level", help="Confidence level."),
             trials: Optional[str] = typer.Option(None, "--trials", help="Comma-separated trial ids to keep "
                                                  "(e.g. aspire1,aspire2)."),
             include_unverified: bool = typer.Option(False, "--include-unverified",
                                                     help="Use values from memory (status M), flagged."),
             forest: Optional[Path] = typer.Option(None, "--forest", help="Write a forest plot (.svg, .png or .pdf)."),
             fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Pool the bundled trials of A against a comparator in one time window (never across windows).

    Continuous outcomes: each trial's MD and SMD with the method that produced it (reported LSMD,
    crossover paired difference, difference of arm means; crossovers without a correlation as
    parallel groups, Elbourne 2002); trials that cannot give one are named with the reason."""
    check_option("fmt", fmt, ("text", "json"))
    check_option("outcome", outcome, POOL_OUTCOMES)
    check_option("method", method, METHODS)
    if window is not None:
        check_option("window", window, WINDOWS)
    check_plot_path(forest, "--forest")
    keep = [t.strip() for t in trials.split(",") if t.strip()] if trials else None
    a = a if a in FAMILIES else query.resolve(a)[1]
    if vs not in CONTROLS:
        vs = query.resolve(vs)[1]
    if outcome in ("MD", "SMD"):
        w = window or bundled.primary_window(continuous_arms(), a, vs)
        if w is None:
            fail(f"no bundled trial reports a continuous outcome for {a} vs {vs}")
        res = pool_continuous(a, vs, w, outcome, method=method, level=level, include_unverified=include_unverified,
                              studies=keep)
        out = res.to_dict()
        if res.estimate is not None:
            used = res.table.rows[res.table.rows["study"].isin(res.studies)]
            out["certainty"] = pooled_certainty(
                res.estimate, res.se, 0.0 if res.result is None else res.result.tau2, res.k, ratio=False,
                bias=bias_from_notes(used.get("bias", [None] * len(used))),
                level=level).to_dict()
        out["provenance"] = {**_provenance(), **out["provenance"]}
        if forest:
            if res.result is None:
                fail(f"--forest: a forest plot needs at least two pooled trials (have {res.k})")
            save_plot(res.plot(), forest, "--forest")
        if fmt == "json":
            emit_json(out)
            return
        typer.echo(f"{a} vs {vs}, {WINDOW_LABELS[w]}: {outcome}"
                   f"{' (' + res.scale + ')' if res.scale and outcome == 'MD' else ''}, k = {res.k}")
        if len(res.table.rows):
            typer.echo(table_text(res.summary(), ".3g", na_rep="-"))
        if res.estimate is not None:
            typer.echo(f"pooled {outcome}: {res.estimate:.3f} [{res.ci_lb:.3f}, {res.ci_ub:.3f}] "
                       f"({out['method']}; negative favours {a})")
            typer.echo(f"certainty: {certainty_text(out['certainty'])}")
        else:
            typer.echo(f"pooled {outcome}: not estimable from the bundled trials")
        print_notes(res.notes)
        return
    pool = bundled.pool_binary(a, vs, window, outcome, "OR", method, level, include_unverified, keep)
    t, w, pooled = pool.table, pool.window, pool.pooled
    if pooled is None:
        fail(f"no bundled trial reports {outcome} for {a} vs {vs}{' at ' + w if w else ''}")
    es, res = pooled.es, pooled.result
    bias = bias_from_notes(t["bias"])
    d = pool.to_dict()
    out = {**{k: d[k] for k in ("a", "c", "window", "window_label", "outcome", "measure", "k", "trials", "fit")},
           "certainty": pooled_certainty(pooled.beta, pooled.se, pooled.tau2, len(es), ratio=True, bias=bias,
                                         level=level).to_dict(),
           "provenance": {**_provenance(), "source": "bundled trials.yaml (clinical_trials.md, Linde 2015)"},
           "exp": d["exp"]}
    if forest:
        if res is None:
            fail("--forest: a forest plot needs at least two pooled trials (have 1)")
        save_plot(pool.plot(), forest, "--forest")
    if fmt == "json":
        emit_json(out)
        return
    typer.echo(f"{a} vs {vs}, {WINDOW_LABELS[w]}: {outcome}, odds ratio, k = {len(es)}")
    typer.echo(table_text(pool.summary()))
    e = out["exp"]
    typer.echo(f"pooled OR: {e['estimate']:.3f} [{e['ci_lb']:.3f}, {e['ci_ub']:.3f}]")
    typer.echo(f"certainty: {certainty_text(out['certainty'])}")
