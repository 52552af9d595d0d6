"""`adpharm transcriptomics de|reversal|regions|rrho|overlap|enrich`: signatures from counts to reversal."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import pandas as pd
import typer

from ..errors import AdpharmInputError, check_option
from ..io import atomic_write, csv_text
from ..transcriptomics.de import MIN_TOTAL_COUNT
from .common import check_plot_path, emit_beside, fail, handle_errors, save_plot, warn

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Transcriptomic signatures: differential expression (de), reversal of a disease signature "
                       "(reversal, regions), rank-rank overlap (rrho), list overlap (overlap), gene-set enrichment (enrich).")

FMT = typer.Option("text", "--format", help="text or json.")
PLOT = typer.Option(None, "--plot", help="Write the figure (.svg, .png or .pdf).")
MIN_COUNT = typer.Option(MIN_TOTAL_COUNT, "--min-count", help="Keep genes with at least this many reads over the fitted samples.")
CPUS = typer.Option(1, "--cpus", help="Processes for PyDESeq2.")


def _write_csv(table: pd.DataFrame, out: Optional[Path]) -> None:
    if out is None:
        return
    try:
        atomic_write(out, csv_text(table))
    except OSError as exc:
        fail(f"--out {out}: cannot write ({exc.strerror})")


def _subset(items: List[str]) -> dict[str, str]:
    out = {}
    for s in items:
        if "=" not in s:
            fail(f"--subset: {s!r} must be COLUMN=VALUE")
        k, v = s.split("=", 1)
        out[k.strip()] = v.strip()
    return out


@app.command("de")
@handle_errors
def de_cmd(counts: Path = typer.Argument(..., help="Count matrix: CSV/TSV (gzip ok; genes × samples) or a GEO RAW tar of per-sample count files."),
           samples: Path = typer.Option(..., "--samples", help="Sample sheet (CSV/TSV): one row per sample, a column naming the samples."),
           design: str = typer.Option("~ group", "--design", help="Design formula over sheet columns, e.g. '~ group' or '~ batch + group'."),
           contrast: str = typer.Option(..., "--contrast", help="FACTOR,NUMERATOR,REFERENCE, e.g. group,stress,control."),
           by: Optional[str] = typer.Option(None, "--by", help="Fit each value of this sheet column separately (e.g. region)."),
           subset: List[str] = typer.Option([], "--subset", help="Keep samples with COLUMN=VALUE (repeatable)."),
           alpha: float = typer.Option(0.05, "--alpha", help="FDR for independent filtering and the counts reported."),
           min_total_count: int = MIN_COUNT,
           shrink: bool = typer.Option(False, "--shrink", help="Add apeGLM-style shrunken log2 fold changes."),
           out: Optional[Path] = typer.Option(None, "--out", help="Write the tidy DE table (CSV)."),
           plot: Optional[Path] = PLOT,
           ma: bool = typer.Option(False, "--ma", help="Plot an MA plot instead of a volcano."),
           cpus: int = CPUS,
           fmt: str = FMT) -> None:
    """Differential expression with PyDESeq2 (DESeq2's model), per region with --by."""
    from ..transcriptomics.de import differential_expression
    from ..transcriptomics.readers import parse_contrast, read_counts, read_samples
    check_option("fmt", fmt, ("text", "json"))
    check_plot_path(plot)
    spec = parse_contrast(contrast)
    c = read_counts(counts)
    sheet = read_samples(samples, list(c.columns))
    res = differential_expression(c, sheet, design, spec, by=by, alpha=alpha, min_total_count=min_total_count,
                                  shrink=shrink, n_cpus=max(cpus, 1), subset=_subset(subset))
    _write_csv(res.table, out)
    if plot is not None:
        save_plot(res.plot("ma" if ma else "volcano"), plot)
    emit_beside(res, fmt)
    if out and fmt != "json":
        typer.echo(f"wrote {out}")


@app.command("reversal")
@handle_errors
def reversal_cmd(disease: Path = typer.Option(..., "--disease", help="DE table of the disease contrast (e.g. stress vs control)."),
                 drug: Path = typer.Option(..., "--drug", help="DE table of the drug contrast (drug vs stress, or drug vs control)."),
                 disease_contrast: Optional[str] = typer.Option(None, "--disease-contrast", help="FACTOR,NUMERATOR,REFERENCE of --disease, if the table does not say."),
                 drug_contrast: Optional[str] = typer.Option(None, "--drug-contrast", help="FACTOR,NUMERATOR,REFERENCE of --drug, if the table does not say."),
                 counts: Optional[Path] = typer.Option(None, "--counts", help="The counts behind the tables: DESeq2's fold changes re-estimated "
                                                       "from them, the interval over animals and the permutation null."),
                 samples: Optional[Path] = typer.Option(None, "--samples", help="Sample sheet (group sizes; needed with --counts)."),
                 alpha: float = typer.Option(0.05, "--alpha", help="Disease signature: genes at padj < alpha."),
                 permutations: int = typer.Option(200, "--permutations", help="At most this many relabellings (all when fewer)."),
                 seed: int = typer.Option(0, "--seed", help="Seed for the bootstrap and sampled relabellings."),
                 orthologs: Optional[Path] = typer.Option(None, "--orthologs", help="Two-column table mapping --drug's genes to --disease's (other species)."),
                 subset: List[str] = typer.Option([], "--subset", help="With --counts: keep samples with COLUMN=VALUE (repeatable), e.g. sample_type=Input."),
                 min_total_count: int = MIN_COUNT,
                 out: Optional[Path] = typer.Option(None, "--out", help="Write the per-gene table (CSV)."),
                 plot: Optional[Path] = PLOT, fmt: str = FMT) -> None:
    """Does the drug reverse the disease signature? The naive score beside an honest one."""
    from ..transcriptomics.readers import map_orthologs, read_counts, read_de, read_samples
    from ..transcriptomics.reversal import reversal
    check_option("fmt", fmt, ("text", "json"))
    check_plot_path(plot)
    if counts is not None and samples is None:
        fail("--counts needs --samples")
    if subset and counts is None:
        fail("--subset needs --counts and --samples (the tables are already estimated)")
    a = read_de(disease, disease_contrast)
    b = read_de(drug, drug_contrast)
    if orthologs is not None:
        b = map_orthologs(b, orthologs)
    c = read_counts(counts) if counts is not None else None
    sheet = None
    if samples is not None:
        sheet = read_samples(samples, list(c.columns) if c is not None else None)
    res = reversal(a, b, alpha=alpha, counts=c, samples=sheet, permutations=permutations, seed=seed,
                   subset=_subset(subset), min_total_count=min_total_count)
    _write_csv(res.genes, out)
    if plot is not None:
        save_plot(res.plot(), plot)

    if fmt != "json":
        warn(res.warnings)
    emit_beside(res, fmt)


@app.command("regions")
@handle_errors
def regions_cmd(counts: Path = typer.Argument(..., help="Count matrix over all regions and groups."),
                samples: Path = typer.Option(..., "--samples", help="Sample sheet with region and group columns."),
                region: str = typer.Option("region", "--region", help="Sheet column naming the brain region."),
                group: str = typer.Option("group", "--group", help="Sheet column naming the group."),
                control: str = typer.Option("control", "--control", help="Unstressed control group."),
                disease: str = typer.Option("susceptible", "--disease", help="Stressed (disease) group."),
                drugs: str = typer.Option(..., "--drugs", help="Comma-separated drug groups (stressed, treated), e.g. ketamine,imipramine."),
                alpha: float = typer.Option(0.05, "--alpha", help="Disease signature: BH-adjusted p < alpha per region."),
                seed: int = typer.Option(0, "--seed", help="Seed for the bootstrap."),
                subset: List[str] = typer.Option([], "--subset", help="Keep samples with COLUMN=VALUE (repeatable), e.g. sex=F."),
                signature: str = typer.Option("wald", "--signature", help="Disease signature per region: wald (Wald test of the "
                                              "NB group means with DESeq2 dispersions, BH) or deseq2 (a full PyDESeq2 run per "
                                              "region: independent filtering and Cook's outliers too)."),
                de_tables: List[str] = typer.Option([], "--de", help="REGION=FILE: the user's own disease DE table for a region "
                                                    "(repeatable); its genes at padj < alpha are the signature."),
                min_total_count: int = MIN_COUNT, cpus: int = CPUS,
                out: Optional[Path] = typer.Option(None, "--out", help="Write the region × drug table (CSV)."),
                plot: Optional[Path] = typer.Option(None, "--plot", help="Write the heat map (.svg, .png or .pdf)."),
                fmt: str = FMT) -> None:
    """How much of each region's disease signature each drug reverses, naive and honest, with intervals."""
    from ..transcriptomics.readers import read_counts, read_samples
    from ..transcriptomics.reversal import SIGNATURE_SOURCE, region_reversal
    check_option("fmt", fmt, ("text", "json"))
    check_plot_path(plot)
    drug_list = [d.strip() for d in drugs.split(",") if d.strip()]
    if not drug_list:
        fail("--drugs: give at least one drug group")
    check_option("signature", signature, ("wald", "deseq2"))
    if de_tables and signature != "wald":
        fail("give --signature deseq2 or --de tables, not both")
    c = read_counts(counts)
    sheet = read_samples(samples, list(c.columns)).subset(_subset(subset))
    c = c[list(sheet.table.index)]
    sigs, source = None, SIGNATURE_SOURCE
    if de_tables:
        from ..transcriptomics.readers import read_de
        sigs = {}
        for item in de_tables:
            reg, sep, f = item.partition("=")
            if not sep or not reg.strip() or not f.strip():
                fail(f"--de: {item!r} must be REGION=FILE")
            if reg.strip() not in sheet.levels(region):
                fail(f"--de: region {reg.strip()!r} is not in column {region!r} ({', '.join(sheet.levels(region))})")
            sigs[reg.strip()] = read_de(Path(f.strip())).signature(alpha)
        source = "the user's DE tables (padj < alpha)"
    elif signature == "deseq2":
        from ..transcriptomics.de import differential_expression
        de = differential_expression(c, sheet, f"~ {group}", (group, disease, control), by=region, alpha=alpha,
                                     min_total_count=min_total_count, n_cpus=max(cpus, 1))
        t = de.table
        sigs = {str(r): list(g.loc[g["padj"] < alpha, "gene"]) for r, g in t.groupby(region)}
        source = f"{de.meta['engine']} per region (padj < alpha)"
    res = region_reversal(c, sheet, region, group, control, disease, drug_list, alpha=alpha, seed=seed,
                          signatures=sigs, signature_source=source, min_total_count=min_total_count)
    _write_csv(res.table, out)
    if plot is not None:
        save_plot(res.plot(), plot)
    emit_beside(res, fmt)


def _ranking(path: Path, contrast: Optional[str] = None):
    from ..transcriptomics.readers import read_de
    return read_de(path, contrast).ranking()


@app.command("rrho")
@handle_errors
def rrho_cmd(a: Path = typer.Argument(..., help="First DE table (ranked by -log10 p × sign of log2FC)."),
             b: Path = typer.Argument(..., help="Second DE table."),
             step: Optional[int] = typer.Option(None, "--step", help="Grid step in genes (default: n/100)."),
             permutations: int = typer.Option(0, "--permutations", help="Permutations for family-wise p of each quadrant."),
             seed: int = typer.Option(0, "--seed", help="Seed for the permutations."),
             a_contrast: Optional[str] = typer.Option(None, "--a-contrast", help="FACTOR,NUMERATOR,REFERENCE of the first table (to check for a shared group)."),
             b_contrast: Optional[str] = typer.Option(None, "--b-contrast", help="FACTOR,NUMERATOR,REFERENCE of the second table."),
             plot: Optional[Path] = PLOT, fmt: str = FMT) -> None:
    """Rank-rank hypergeometric overlap (RRHO2) in all four directions, BY-adjusted."""
    from ..transcriptomics.readers import read_de
    from ..transcriptomics.rrho import rrho_tables
    check_option("fmt", fmt, ("text", "json"))
    check_plot_path(plot)
    if permutations < 0:
        fail(f"--permutations: {permutations} must not be negative")
    ta, tb = read_de(a, a_contrast), read_de(b, b_contrast)
    res = rrho_tables(ta, tb, step=step, names=(a.name[:48], b.name[:48]), permutations=permutations, seed=seed)
    warn(res.warnings)
    if plot is not None:
        save_plot(res.plot(), plot)
    emit_beside(res, fmt)


def _gene_lists(path: Path, alpha: float) -> tuple[dict[str, list[str]], list[str] | None]:
    """Named lists from a DE table (up and down signatures; its tested genes are a universe),
    a GMT file, or a gene-list file."""
    from ..transcriptomics.readers import read_de, read_gene_lists, read_gmt
    name = path.name.lower()
    if name.endswith((".gmt", ".gmt.txt")):
        return read_gmt(path), None
    try:
        de = read_de(path)
    except AdpharmInputError:
        return read_gene_lists(path), None
    tested = list(de.table.index[de.table["pvalue"].notna()])
    return {f"{path.name}:up": de.signature(alpha, "up"), f"{path.name}:down": de.signature(alpha, "down")}, tested


@app.command("overlap")
@handle_errors
def overlap_cmd(files: List[Path] = typer.Argument(..., help="DE tables (their up and down signatures), gene-list files or GMT files."),
                universe: Optional[Path] = typer.Option(None, "--universe", help="Gene list of the universe; default: genes tested in every DE table given."),
                select: List[str] = typer.Option([], "--set", help="Only these list names (repeatable; e.g. a GMT set name)."),
                alpha: float = typer.Option(0.05, "--alpha", help="Signature threshold for DE tables (padj)."),
                plot: Optional[Path] = PLOT, fmt: str = FMT) -> None:
    """Hypergeometric overlap of gene lists within a stated universe."""
    from ..transcriptomics.overlap import overlap
    from ..transcriptomics.readers import read_gene_lists
    check_option("fmt", fmt, ("text", "json"))
    check_plot_path(plot)
    lists, universes = {}, []
    for f in files:
        ls, tested = _gene_lists(f, alpha)
        lists.update(ls)
        if tested is not None:
            universes.append(set(tested))
    if select:
        missing = [s for s in select if s not in lists]
        if missing:
            fail(f"--set: no list named {missing[0]!r}")
        lists = {k: lists[k] for k in select}
    if len(lists) < 2:
        fail("overlap: need at least two gene lists")
    if universe is not None:
        U = set(next(iter(read_gene_lists(universe).values())))
    elif universes:
        U = set.intersection(*universes)
    else:
        fail("--universe: no DE table was given, so the universe must be stated (a gene-list file)")
    res = overlap(lists, U)
    if plot is not None:
        save_plot(res.plot(), plot)
    emit_beside(res, fmt)


@app.command("enrich")
@handle_errors
def enrich_cmd(signature: Path = typer.Argument(..., help="DE table (up and down signatures) or a gene-list file."),
               gmt: Path = typer.Option(..., "--gmt", help="Gene-set collection (GMT)."),
               universe: Optional[Path] = typer.Option(None, "--universe", help="Universe gene list; default: the DE table's tested genes."),
               alpha: float = typer.Option(0.05, "--alpha", help="Signature threshold for a DE table (padj)."),
               min_size: Optional[int] = typer.Option(None, "--min-size", help="Skip sets with fewer genes in the universe "
                                                      "(default 3; 15 with --ranked, as fgsea)."),
               max_size: int = typer.Option(500, "--max-size", help="With --ranked: skip sets with more ranked genes."),
               ranked: bool = typer.Option(False, "--ranked", help="Ranked enrichment (preranked GSEA on -log10 p x sign of "
                                           "log2FC of every gene) instead of the overlap test of a thresholded signature."),
               permutations: int = typer.Option(1000, "--permutations", help="With --ranked: random sets per set size."),
               seed: int = typer.Option(0, "--seed", help="With --ranked: seed of the null."),
               top: int = typer.Option(20, "--top", help="Rows to print."),
               out: Optional[Path] = typer.Option(None, "--out", help="Write all results (CSV)."),
               plot: Optional[Path] = PLOT, fmt: str = FMT) -> None:
    """Enrichment of a signature in a GMT collection: over-representation (hypergeometric, BH per
    signature) or, with --ranked, preranked GSEA over every gene (BH over the collection)."""
    from ..transcriptomics.overlap import enrichment
    from ..transcriptomics.readers import read_de, read_gene_lists, read_gmt
    check_option("fmt", fmt, ("text", "json"))
    check_plot_path(plot)
    sets = read_gmt(gmt)
    if ranked:
        from ..transcriptomics.gsea import gsea
        res = gsea(read_de(signature).ranking(), sets, min_size=15 if min_size is None else min_size,
                   max_size=max_size, permutations=permutations, seed=seed, collection=gmt.name)
        _write_csv(res.table.assign(leading_edge=res.table["leading_edge"].str.join(";")), out)
        if plot is not None:
            save_plot(res.plot(), plot)
        d = res.to_dict()
        if top > 0:
            d["results"] = d["results"][:top]
        emit_beside(res, fmt, d=d, text=res.text(top))
        return
    min_size = 3 if min_size is None else min_size
    lists, tested = _gene_lists(signature, alpha)
    if universe is not None:
        U = set(next(iter(read_gene_lists(universe).values())))
    elif tested is not None:
        U = set(tested)
    else:
        fail("--universe: a gene-list signature needs a stated universe")
    res = enrichment(lists, sets, U, min_size=min_size, collection=gmt.name)
    _write_csv(res.table, out)
    if plot is not None:
        save_plot(res.plot(), plot)
    d = res.to_dict()
    if top > 0:
        d["results"] = d["results"][:top]
    emit_beside(res, fmt, d=d, text=res.text(top))
