"""`adpharm assay ltp`: field-EPSP potentiation or depression from slice recordings."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import pandas as pd
import typer

from ..assays import batch, exclusions, fst, fst_video, ltp, ltp_groups, spt, western
from ..assays.ephys import read_recording
from ..errors import AdpharmInputError, check_option
from ..figures import FORMATS as FIGURE_FORMATS
from ..io import read_table
from .common import check_plot_path, emit_beside, error_line, fail, handle_errors, save_plot, warn

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Lab assays: forced swim (fst), sucrose preference (spt), Western blots (western), slice electrophysiology (ltp).")


EXCLUDE = typer.Option(None, "--exclude", help="Comma-separated IDs to leave out of every statistic (needs --reason).")
REASON = typer.Option(None, "--reason", help="Why the --exclude IDs are left out; listed in every output.")
EXCLUDE_SLICES = typer.Option(None, "--exclude", help="Comma-separated slice IDs to leave out (with --manifest; needs --reason).")


@app.command("ltp")
@handle_errors
def ltp_cmd(baseline: List[Path] = typer.Option([], "--baseline", help="Baseline recording(s), ABF or CSV, in order (one slice)."),
            post: List[Path] = typer.Option([], "--post", help="Post-induction recording(s), in order (one slice)."),
            manifest: Optional[Path] = typer.Option(None, "--manifest", help="CSV for a group analysis: file, slice, animal, group, role "
                                                    "(baseline, post, pp_pre, pp_post, io_pre, io_post)[, channel, exclude]."),
            control: Optional[str] = typer.Option(None, "--control", help="Reference group (with --manifest; default: the first group)."),
            channel: Optional[int] = typer.Option(None, "--channel", help="ABF channel (default 0, or the manifest's channel column)."),
            window_min: float = typer.Option(10.0, "--window-min", help="Final window for the change (minutes)."),
            bin_min: float = typer.Option(1.0, "--bin-min", help="Time-course bin width for group means (minutes, with --manifest)."),
            slope_window: str = typer.Option("20-60", "--slope-window", help="Falling-phase fractions for the slope, e.g. 20-60 or 10-90."),
            baseline_sweeps: int = typer.Option(20, "--baseline-sweeps", help="Normalise to the last N baseline sweeps."),
            pp: List[Path] = typer.Option([], "--pp", help="Paired-pulse recording(s) (ratio pulse 2 / pulse 1)."),
            io_file: Optional[Path] = typer.Option(None, "--io", help="Input-output series recording."),
            exclude: Optional[str] = EXCLUDE_SLICES, reason: Optional[str] = REASON,
            plot: Optional[Path] = typer.Option(None, "--plot", help="Write the time course (.svg, .png or .pdf)."),
            out: Optional[Path] = typer.Option(None, "--out", help="With --manifest: folder for slices.csv, timecourse.csv, "
                                               "results.json, prism.csv, methods.md and timecourse.svg."),
            fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Normalised fEPSP slope time course and the change over the final window (LTP or LTD): one slice
    from --baseline/--post, or groups of slices nested in animals from --manifest."""
    check_option("fmt", fmt, ("text", "json"))
    check_plot_path(plot)
    if baseline_sweeps < 1:
        fail(f"--baseline-sweeps: {baseline_sweeps} must be at least 1")
    if channel is not None and channel < 0:
        fail(f"--channel: {channel} is not a channel number")
    fractions = ltp.parse_window(slope_window)
    if manifest is not None:
        if baseline or post or pp or io_file is not None:
            fail("give --manifest or --baseline/--post/--pp/--io, not both")
        return _ltp_groups(manifest, control, channel, window_min, bin_min, fractions, baseline_sweeps,
                           exclusions.parse(exclude, reason), plot, fmt, out)
    if not baseline or not post:
        fail("give --baseline and --post (one slice), or --manifest (groups of slices)")
    for flag, given in (("--exclude", exclude), ("--control", control), ("--out", out)):
        if given:
            fail(f"{flag} needs --manifest (a group analysis)")
    ch = {"channel": channel or 0}
    res = ltp.analyse([read_recording(p, **ch) for p in baseline], [read_recording(p, **ch) for p in post],
                      window_min=window_min, fractions=fractions, baseline_sweeps=baseline_sweeps)
    if pp:
        res.paired_pulse_ratio = {str(p): ltp.paired_pulse(read_recording(p, **ch), fractions) for p in pp}
    if io_file is not None:
        res.io_curve = ltp.io_curve(read_recording(io_file, **ch), fractions)
    if plot is not None:
        save_plot(res.plot(), plot)
    emit_beside(res, fmt)
    if fmt != "json":
        warn(res.warnings)


def _ltp_groups(manifest, control, channel, window_min, bin_min, fractions, baseline_sweeps, excluded, plot, fmt, out):
    """``assay ltp --manifest``: every slice, the group time courses and the nested comparison."""
    slices = ltp_groups.read_manifest(manifest)       # its errors name the manifest already
    try:
        res = ltp_groups.analyse_groups(slices, control=control, window_min=window_min, fractions=fractions,
                                        baseline_sweeps=baseline_sweeps, bin_min=bin_min, exclude=excluded,
                                        channel=channel)
    except AdpharmInputError as exc:
        fail(f"{manifest}: {exc}")
    if plot is not None:
        save_plot(res.plot(), plot)
    if out is not None:
        try:
            res.write(out)
        except OSError as exc:
            fail(f"--out {out}: cannot write ({exc.strerror})")
    emit_beside(res, fmt)
    if fmt != "json":
        warn(res.warnings)
    for e in res.errors:
        error_line(f"{manifest}: {e}")
    if res.errors:
        raise typer.Exit(2)


def _file_geometry(e) -> dict:
    """The blot geometry a manifest gives one file: ``crop`` (x0,y0,x1,y1), ``lanes`` (a count or lane
    columns x0-x1,...) and ``band_rows`` (y0-y1), from its row (or, with per-lane rows, its first row)."""
    labels = dict(e.labels)
    if e.lane_labels is not None and len(e.lane_labels):
        labels.update(e.lane_labels.iloc[0].dropna().to_dict())
    out = {}
    for key, parse in (("crop", western.parse_box), ("lanes", western.parse_lanes), ("band_rows", western.parse_rows)):
        text = str(labels.get(key, "")).strip()
        if text and text.lower() != "nan":
            out[key] = parse(text, key)      # the key is the field; batch.run names the manifest row and the file
    return out


def _entries(files: List[Path], manifest: Optional[Path]) -> list:
    if manifest is not None and files:
        fail("give files or --manifest, not both")
    if manifest is None and not files:
        fail("no files given (list them, or give --manifest)")
    return batch.read_manifest(manifest) if manifest is not None else [batch.Entry(f, None, {}) for f in files]


def _finish(res: "batch.BatchResult", fmt: str, out: Optional[Path], single: bool = False) -> None:
    """Print the results (text or JSON), write --out, report failed files; exit 2 if any failed."""
    if out is not None and res.results:
        try:
            res.write(out)
        except OSError as exc:
            fail(f"--out {out}: cannot write ({exc.strerror})")
    shown = next(iter(res.results.values())) if single and len(res.results) == 1 and not res.errors else res
    emit_beside(res, fmt, d=shown.to_dict() if fmt == "json" else None)
    if fmt != "json":
        for r in res.results.values():
            warn(getattr(r, "warnings", []))
        if out is not None and res.results:
            typer.echo(f"wrote {out}/results.csv, statistics.json, results.json, prism.csv, methods.md and figures")
    for e in res.errors:
        error_line(e)
    if res.errors:
        raise typer.Exit(2)


def _tabular(assay: str, entries, analyse, tidy, value: str, ylabel: str, control, fmt, out,
             excluded: list | None = None, unit: str = "animal", statistics=None):
    """Analyse tables (and, for fst, videos) file by file; pooled statistics with a manifest. Every
    ``--exclude`` identifier must be found in at least one file (when a file failed, it may have held
    the identifier, so the failure is reported instead)."""
    check_option("fmt", fmt, ("text", "json"))
    pooled = any(e.row is not None for e in entries)
    res = batch.run(assay, entries, lambda e: analyse(e, pooled), tidy, value, ylabel, control, pooled, statistics)
    found = {x["id"] for x in res.exclusions}
    missing = [x.id for x in excluded or [] if x.id not in found]
    if missing and res.results and not res.errors:
        fail(f"--exclude: {missing[0]!r} is not {'an' if unit[0] in 'aeiou' else 'a'} {unit} in any of the files")
    _finish(res, fmt, out)


FILES = typer.Argument(None, help="Data files (or give --manifest).")
MANIFEST = typer.Option(None, "--manifest", help="CSV: file, animal, group, treatment, ... (one row per file).")
OUT = typer.Option(None, "--out", help="Folder for results.csv, statistics.json, results.json, prism.csv (Prism column table), methods.md (ARRIVE-style draft) and figures.")


@app.command("fst")
@handle_errors
def fst_cmd(files: Optional[List[Path]] = typer.Argument(None, help="Scored tables (CSV) or videos (mp4, avi), or give --manifest."),
            manifest: Optional[Path] = MANIFEST, out: Optional[Path] = OUT,
            control: Optional[str] = typer.Option(None, "--control", help="Control group (e.g. vehicle) for the tests."),
            roi: Optional[str] = typer.Option(None, "--roi", help="Video: x0,y0,x1,y1 region of interest (the water)."),
            threshold: Optional[float] = typer.Option(None, "--threshold", help="Video: motion threshold (fraction of ROI pixels)."),
            calibrate: Optional[Path] = typer.Option(None, "--calibrate", help="Video: CSV of hand-scored minutes (minute, immobility)."),
            min_bout_s: float = typer.Option(fst_video.MIN_BOUT_S, "--min-bout-s", help="Video: shortest immobile bout (s)."),
            exclude: Optional[str] = EXCLUDE, reason: Optional[str] = REASON,
            fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Forced swim test from scored tables or video; a bad file is reported and the rest are analysed."""
    excl = exclusions.parse(exclude, reason)
    box = western.parse_box(roi, "roi") if roi else None
    cal = fst_video.read_calibration(calibrate) if calibrate else None

    def analyse(e, pooled):
        if e.path.suffix.lower() in fst_video.VIDEO_SUFFIXES:
            own = e.labels.get("calibration")     # a manifest may name each video's hand-scored minutes
            c = fst_video.read_calibration(e.resolve(own)) if own else cal
            return fst_video.analyse(e.path, box, threshold, c, min_bout_s)
        return fst.analyse(batch.with_labels(read_table(e.path), e.labels), control=control, source=str(e.path),
                           compare=not pooled, exclude=excl, strict_exclusions=len(entries) == 1)

    def tidy(e, r):
        if isinstance(r, fst_video.FSTVideoResult):
            pm = r.minutes()
            row = {"animal": e.labels.get("animal", e.path.stem), "group": e.labels.get("group", "unlabelled"),
                   "score": r.score, "immobile_fraction": r.score,
                   **{f"minute_{m:g}": v for m, v in zip(pm.minute, pm.immobility)}}
            return batch.with_labels(pd.DataFrame([row]), e.labels)
        return batch.with_labels(r.scores, e.labels)

    entries = _entries(files or [], manifest)
    _tabular("fst", entries, analyse, tidy, "score", "immobility score", control, fmt, out, excl,
             statistics=lambda t: fst.statistics(t, control))


@app.command("spt")
@handle_errors
def spt_cmd(files: Optional[List[Path]] = FILES, manifest: Optional[Path] = MANIFEST, out: Optional[Path] = OUT,
            threshold: float = typer.Option(spt.ANHEDONIA_THRESHOLD, "--threshold", help="Anhedonia below this preference."),
            max_intake_g: float = typer.Option(spt.MAX_INTAKE_G, "--max-intake-g", help="Flag sessions above this intake per animal."),
            control: Optional[str] = typer.Option(None, "--control", help="Control group for the tests."),
            exclude: Optional[str] = EXCLUDE, reason: Optional[str] = REASON,
            fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Sucrose preference: intake, preference, leak flags, side bias, anhedonia; batch as for fst."""
    excl = exclusions.parse(exclude, reason)
    entries = _entries(files or [], manifest)
    _tabular("spt", entries,
             lambda e, pooled: spt.analyse(batch.with_labels(read_table(e.path), e.labels), threshold, max_intake_g,
                                           control, source=str(e.path), compare=not pooled, exclude=excl,
                                           strict_exclusions=len(entries) == 1),
             lambda e, r: batch.with_labels(r.subjects, e.labels), "preference", "sucrose preference", control, fmt, out,
             excl, "subject")


@app.command("western")
@handle_errors
def western_cmd(images: Optional[List[Path]] = typer.Argument(None, help="Blot images: TIFF (8/16-bit), PNG or JPEG."),
                manifest: Optional[Path] = typer.Option(None, "--manifest", help="CSV: file[, lane], group, animal, ..."),
                out: Optional[Path] = OUT,
                crop: Optional[str] = typer.Option(None, "--crop", help="x0,y0,x1,y1 in pixels: the membrane or strip."),
                lanes: Optional[str] = typer.Option(None, "--lanes", help="Equal lanes across the crop (a number) or lane columns "
                                                    "x0-x1,x0-x1,... in crop pixels (default: detect)."),
                channel: str = typer.Option("gray", "--channel", help="gray, red, green or blue (two-colour scans)."),
                band_rows: Optional[str] = typer.Option(None, "--band-rows", help="y0-y1 band window in crop rows (default: detect)."),
                background: str = typer.Option("lane", "--background", help="lane, rolling-ball or none."),
                rolling_radius: float = typer.Option(50.0, "--rolling-radius", help="Rolling-ball radius (px)."),
                rotate: str = typer.Option("0", "--rotate", help="Rotation correction in degrees, or 'auto'."),
                loading: Optional[str] = typer.Option(None, "--loading", help="Loading control: lane:N, rows:Y0-Y1, channel:NAME[:Y0-Y1] or an image."),
                total: Optional[str] = typer.Option(None, "--total", help="Total protein for phospho/total: rows:Y0-Y1, channel:NAME[:Y0-Y1] or an image."),
                offset: Optional[str] = typer.Option(None, "--offset", help="DX,DY: where the target's pixels lie in a --loading or "
                                                     "--total image from another file (default: found by phase correlation)."),
                groups: Optional[str] = typer.Option(None, "--groups", help="Comma-separated group of each lane."),
                control: Optional[str] = typer.Option(None, "--control", help="Control group for fold change and tests."),
                plot: Optional[Path] = typer.Option(None, "--plot", help="Blot overlay (.svg, .png or .pdf; one image)."),
                fmt: str = typer.Option("text", "--format", help="text or json."),
                max_pixels: int = typer.Option(western.MAX_PIXELS, "--max-pixels",
                                               help="Largest image read, in pixels (guards against decompression bombs).")) -> None:
    """Band densitometry: lanes, bands, background, saturation, loading control, phospho/total, fold change."""
    check_option("fmt", fmt, ("text", "json"))
    if max_pixels < 64:
        fail(f"--max-pixels: {max_pixels} is too small for any blot image")
    check_option("background", background, western.BACKGROUNDS)
    try:
        rot = None if rotate == "auto" else float(rotate)
    except ValueError:
        fail(f"--rotate: {rotate!r} is not a number of degrees or 'auto'")
    box = western.parse_box(crop) if crop else None
    rows = western.parse_rows(band_rows) if band_rows else None
    lane_spec = western.parse_lanes(lanes) if lanes else None
    if total is not None and total.startswith("lane:"):
        fail("--total: lane:N is for --loading; give rows:, channel: or an image")
    offset_px = None
    if offset is not None:
        try:
            dx, dy = (int(v) for v in offset.split(","))
        except ValueError:
            fail(f"--offset: {offset!r} must be two whole numbers of pixels, DX,DY")
        offset_px = (dx, dy)
    entries = _entries(images or [], manifest)
    if plot is not None and (len(entries) != 1 or plot.suffix.lower().lstrip(".") not in FIGURE_FORMATS):
        fail(f"--plot {plot}: one image, and a file ending in .svg, .png or .pdf (use --out for batches)")

    def one(e):
        lane_groups = groups.split(",") if groups else None
        if e.lane_labels is not None and "group" in e.lane_labels:
            lab = e.lane_labels.sort_values("lane")
            lane_groups = lab["group"].astype(str).tolist()   # one label per lane, checked against the lanes found
        img = western.read_image(e.path, channel, max_pixels=max_pixels)
        ref, load_src = 1, None
        if loading is not None:
            src = western.strip_source(loading, img, max_pixels=max_pixels)
            ref, load_src = (src[1], None) if src[0] == "lane" else (1, src)
        tot = western.strip_source(total, img, "total", max_pixels=max_pixels) if total else None
        own = _file_geometry(e)          # a manifest's crop, lanes and band_rows for this file win
        return western.analyse(img, crop=own.get("crop", box), lanes=own.get("lanes", lane_spec),
                               band_rows=own.get("band_rows", rows), background=background, loading=load_src,
                               total=tot, groups=lane_groups, control=control, rotate_deg=rot,
                               rolling_radius_px=rolling_radius, reference_lane=ref, offset_px=offset_px)

    def tidy(e, r):
        t = r.table()
        if e.lane_labels is not None:
            t = t.drop(columns=[c for c in e.lane_labels.columns if c != "lane" and c in t]).merge(
                e.lane_labels, on="lane", how="left")
        return batch.with_labels(t, e.labels)

    value = "fold_change" if control else "normalised"
    stats_fn = (lambda t: batch.pooled_fold_changes(t, value, control)) if control else None
    res = batch.run("western", entries, one, tidy, value, "band density" + (" (fold change)" if control else ""),
                    control, pooled=manifest is not None, statistics=stats_fn)
    if plot is not None and res.results:
        save_plot(next(iter(res.results.values())).plot(), plot)
    _finish(res, fmt, out, single=manifest is None)
