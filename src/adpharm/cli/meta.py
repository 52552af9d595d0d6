"""`adpharm meta run|network|indirect`: pairwise, network and indirect meta-analysis."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import check_option
from ..evidence import bundled, registry, network
from ..evidence.effect_sizes import MEASURES
from ..evidence.continuous import continuous_arms, pool_continuous
from ..evidence.indirect import POPULATION_CLASSES, bundled_indirect, indirect_from_arms
from ..evidence.meta import METHODS
from ..io import read_table
from ..knowledge import query
from ..knowledge.schema import FAMILIES, WINDOWS
from ..evidence.pairwise import meta_analysis
from .common import check_plot_path, emit_result, fail, handle_errors, save_plot, warn

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Meta-analysis: pairwise (run), bundled trials by time window (pool), network (network) "
                       "and indirect (indirect).")
BUNDLED_NETWORKS = ("cipriani2018", "linde2015")
#: the outcome names of the Linde 2015 network (the registry's vocabulary; the old names still work)
LINDE_OUTCOMES = {"response": "responders", "remission": "remitters", "responders": "responders",
                  "remitters": "remitters"}


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
        cumul_by: Optional[str] = typer.Option(None, "--cumul", help="Cumulative meta-analysis ordered by this column (e.g. year)."),
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
    res = meta_analysis(read_table(data), measure, method=method, test="knha" if knha else "z", level=level,
                        subgroup=subgroup, mods=[c.strip() for c in mods.split(",")] if mods else (), loo=loo,
                        cumul_by=cumul_by, egger=egger, source=str(data))
    if forest:
        save_plot(res.plot(), forest, "--forest")
    if funnel:
        save_plot(res.funnel(), funnel, "--funnel")
    emit_result(res, fmt, None)
    warn(res.warnings)


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
        res = registry.registry_network(outcome, published_only=published_only, method=method, level=level)
    elif bundled_name is not None:
        check_option("outcome", outcome, tuple(LINDE_OUTCOMES))
        res = bundled.linde2015_network(LINDE_OUTCOMES[outcome], reference=reference, model=model, method=method,
                                        level=level)
    else:
        res = network(read_table(data), reference=reference, model=model, method=method, level=level,
                      source=str(data))
    if graph:
        save_plot(res.plot(), graph, "--graph")
    emit_result(res, fmt, None)
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
    elif window is not None or population is not None:
        fail("--window and --population choose legs of the bundled trials; a --data file gives its own legs")
    else:
        res = indirect_from_arms(read_table(data), a, b, via, measure=measure, method=method, level=level,
                                 source=str(data))
    emit_result(res, fmt, None)
    if res.estimable:
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
        if forest and res.result is None:
            fail(f"--forest: a forest plot needs at least two pooled trials (have {res.k})")
    else:
        res = bundled.pool_binary(a, vs, window, outcome, "OR", method, level, include_unverified, keep)
        if res.pooled is None:
            fail(f"no bundled trial reports {outcome} for {a} vs {vs}{' at ' + res.window if res.window else ''}")
        if forest and res.pooled.result is None:
            fail("--forest: a forest plot needs at least two pooled trials (have 1)")
    if forest:
        save_plot(res.plot(), forest, "--forest")
    emit_result(res, fmt, None)
