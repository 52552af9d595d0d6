"""Western blot (and stained gel) densitometry from an image: the steps an ImageJ "Gels" analysis
does by hand, reproducibly.

1. Read the image (8/16-bit TIFF, PNG, JPEG; grey, RGB or a two-colour LI-COR scan), choose the
   channel, and turn pixel values into signal so that bands are high: dark bands on a light
   background are inverted; bright bands on dark (fluorescence) are kept.
2. Crop to the membrane and correct a small rotation, given or estimated (the angle that makes
   the row projection sharpest, as for deskewing scanned text).
3. Find the lanes from the column profile, or divide the crop into ``lanes`` equal lanes.
4. Take each lane's profile down the gel as a Gaussian-weighted mean across the lane, so the
   lane centre counts more than its edges, which neighbouring lanes can bleed into (Harman et al.
   2020).
5. Subtract the background: lane-local (the median of the rows outside the band) or a rolling ball
   over the whole crop on raw intensities, as ImageJ's Subtract Background computes it
   (:mod:`adpharm.assays.rolling_ball`; Sternberg 1983).
6. Find the band window: the rows around the strongest band where any lane's profile is above a
   fraction of the peak, so that a band that smears or shifts in one lane is still integrated in
   full. A window can also be given.
7. Integrate the density in the window, flag lanes with saturated pixels (their densities are not
   used in ratios), and normalise: to a loading control (another strip, channel or image on the
   same lanes), phospho/total, and fold change against the control group.

References
----------
Gassmann M, Grenacher B, Rohde B, Vogel J (2009). Quantifying Western blots: pitfalls of
densitometry. Electrophoresis 30:1845-1855. doi:10.1002/elps.200800720
Harman JL, Reardon PN, Costello SM, et al. (2020). Evolution of multifunctionality through a
pleiotropic substitution in the innate immune protein S100A9. eLife 9:e54100.
doi:10.7554/eLife.54100 (gelquant: Gaussian-weighted lane profiles)
Sternberg SR (1983). Biomedical image processing. Computer 16:22-34. doi:10.1109/MC.1983.1654163
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError
from ..display import NotebookDisplay
from . import reporting, rolling_ball

CHANNELS = ("gray", "red", "green", "blue")
BACKGROUNDS = ("lane", "rolling-ball", "none")
SATURATED_FRACTION = 0.002   # design choice: a lane with more saturated band pixels than this is flagged
BAND_TOLERANCE = 0.1         # band window: rows where some lane is above this fraction of the peak (gelquant default)


@dataclass
class BlotImage:
    """One channel of a blot image as signal in [0, 1] (bands high) with its saturation mask."""

    path: str
    signal: np.ndarray
    saturated: np.ndarray
    bit_depth: int
    inverted: bool
    channel: str
    #: the raw value of full scale (255 for 8-bit, 65535 for 16-bit): ``signal * full_scale`` is the
    #: raw intensity (inverted for dark bands), the scale a rolling ball's radius is defined on
    full_scale: float = 255.0


#: Largest image read, in pixels (a 10,000 x 10,000 scan); above it the reader refuses with a message
#: instead of decompressing (a 250 KB PNG can declare 15,000 x 15,000). ``assay western --max-pixels``
#: raises it.
MAX_PIXELS = 100_000_000


def read_image(path: str | Path, channel: str = "gray", invert: bool | None = None,
               max_pixels: int | None = None) -> BlotImage:
    """Read a blot image and return the chosen channel as signal (bands high).

    ``invert=None`` decides from the image: a light background (median above half scale) means
    dark bands, which are inverted. Saturated pixels are those at the extreme of the range on the
    signal side (0 for dark bands, full scale for bright bands).
    """
    from PIL import Image, UnidentifiedImageError
    p = Path(path)
    if channel not in CHANNELS:
        raise AdpharmInputError(f"{channel!r} is not one of {', '.join(CHANNELS)}", field="channel")
    if not p.is_file():
        raise AdpharmInputError(f"{p}: no such file")
    limit = MAX_PIXELS if max_pixels is None else int(max_pixels)
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < limit:
        Image.MAX_IMAGE_PIXELS = limit       # Pillow's own ceiling must not undercut an explicit limit

    def too_big(pixels: int) -> AdpharmInputError:
        return AdpharmInputError(f"{p}: image of {pixels:,} pixels is above the limit of {limit:,} "
                                 "(raise max_pixels if the scan is genuine)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as im:      # reads the header only
                if im.size[0] * im.size[1] > limit:
                    raise too_big(im.size[0] * im.size[1])
                im.load()
                raw = np.asarray(im)
                mode = im.mode
    except AdpharmInputError:
        raise
    except Image.DecompressionBombError as exc:   # Pillow's check when the header is read
        n = re.search(r"\d+", str(exc))
        raise too_big(int(n.group()) if n else limit + 1) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, MemoryError) as exc:
        raise AdpharmInputError(f"{p}: not a readable image ({str(exc)[:120] or type(exc).__name__})") from None
    if raw.ndim not in (2, 3) or min(raw.shape[:2]) < 8:
        raise AdpharmInputError(f"{p}: image of shape {raw.shape} is not a blot image")
    if raw.dtype == np.uint8:
        full, depth = 255.0, 8
    elif raw.dtype in (np.uint16, np.int32) or mode.startswith("I"):
        full, depth = 65535.0, 16
    elif raw.dtype == bool:
        raise AdpharmInputError(f"{p}: a 1-bit image carries no densities")
    else:
        full, depth = float(np.nanmax(raw)) or 1.0, 32
    x = raw.astype(float)
    if x.ndim == 3:
        rgb = x[..., :3] if x.shape[2] >= 3 else np.repeat(x[..., :1], 3, axis=2)
        if channel == "gray":   # ITU-R BT.709 luma, as gelquant and ImageJ's weighted conversion
            x = rgb @ np.array([0.2126, 0.7152, 0.0722])
        else:
            x = rgb[..., CHANNELS.index(channel) - 1]
    elif channel != "gray":
        raise AdpharmInputError(f"{channel} asked of a single-channel image {p}", field="channel")
    if invert is None:
        invert = bool(np.median(x) > full / 2)
    extreme = 0.0 if invert else full
    saturated = np.isclose(x, extreme)
    sig = (full - x) / full if invert else x / full
    return BlotImage(str(p), sig, saturated, depth, invert, channel, full)


def parse_box(text: str, field: str = "crop") -> tuple[int, int, int, int]:
    """``x0,y0,x1,y1`` in pixels."""
    try:
        v = [int(float(s)) for s in text.split(",")]
    except ValueError:
        v = []
    if len(v) != 4 or v[2] <= v[0] or v[3] <= v[1] or min(v) < 0:
        raise AdpharmInputError(f"{text!r} is not x0,y0,x1,y1 with x1 > x0 and y1 > y0", field=field)
    return v[0], v[1], v[2], v[3]


def parse_lanes(text: str | int, field: str = "lanes") -> int | list[tuple[int, int]]:
    """``8`` (equal lanes across the crop) or explicit lane columns ``x0-x1,x0-x1,...`` (crop pixels).

    Examples
    --------
    >>> parse_lanes("3"), parse_lanes("0-40, 50-90")
    (3, [(0, 40), (50, 90)])
    """
    t = str(text).strip()
    if t.isdigit():
        return int(t)
    lanes = []
    for part in t.split(","):
        a, _, b = part.strip().partition("-")
        try:
            x0, x1 = int(float(a)), int(float(b))
        except ValueError:
            raise AdpharmInputError(f"{text!r} is not a lane count or x0-x1,x0-x1,... lane columns",
                                    field=field) from None
        if not 0 <= x0 < x1:
            raise AdpharmInputError(f"lane {part.strip()!r} needs x1 > x0 >= 0", field=field)
        lanes.append((x0, x1))
    ordered = sorted(lanes)
    if any(b[0] < a[1] for a, b in zip(ordered, ordered[1:])):
        raise AdpharmInputError(f"lanes {text!r} overlap", field=field)
    return lanes


#: The largest lane count a form may ask for: two of the largest common gels (26 wells,
#: :data:`MAX_PLAUSIBLE_LANES`) side by side in one scan, rounded down to 48.
MAX_LANE_COUNT = 48


def check_lane_count(text: str, field: str = "lanes") -> None:
    """Refuse a lane count that is not a whole number from 1 to :data:`MAX_LANE_COUNT` (empty: detect lanes).

    Examples
    --------
    >>> check_lane_count("12"), check_lane_count("")
    (None, None)
    """
    if text and not (text.isdigit() and 1 <= int(text) <= MAX_LANE_COUNT):
        raise AdpharmInputError(f"{text!r} must be a whole number from 1 to {MAX_LANE_COUNT}", field=field)


def parse_rows(text: str, field: str = "band_rows") -> tuple[int, int]:
    """``y0-y1`` (rows of the crop)."""
    try:
        a, b = (int(float(s)) for s in text.split("-"))
    except ValueError:
        raise AdpharmInputError(f"{text!r} is not y0-y1", field=field) from None
    if b <= a or a < 0:
        raise AdpharmInputError(f"{text!r} needs y1 > y0 >= 0", field=field)
    return a, b


def deskew_angle(sig: np.ndarray, max_deg: float = 5.0, step_deg: float = 0.25) -> float:
    """Rotation (degrees, counter-clockwise) that makes bands horizontal: the angle maximising the
    variance of the row projection."""
    from skimage.transform import rotate
    small = sig[::2, ::2] if min(sig.shape) > 200 else sig
    best, best_v = 0.0, -np.inf
    for a in np.arange(-max_deg, max_deg + step_deg / 2, step_deg):
        v = np.var(rotate(small, a, mode="edge", preserve_range=True).mean(axis=1))
        if v > best_v + 1e-15:
            best, best_v = float(a), v
    return best


def find_lanes(sig: np.ndarray, n: int | None = None, min_pitch_px: int = 12) -> list[tuple[int, int]]:
    """Lane column bounds ``(x0, x1)``: ``n`` equal lanes across the crop when ``n`` is given,
    otherwise peaks of the smoothed column profile, each lane 80 % of the local pitch."""
    w = sig.shape[1]
    if n is not None:
        if n < 1 or n > w // 3:
            raise AdpharmInputError(f"{n} lanes do not fit in a crop {w} px wide", field="lanes")
        return [(int(w * k / n), int(w * (k + 1) / n)) for k in range(n)]
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks
    rows = gaussian_filter1d(sig.mean(axis=1), 2.0)
    rows -= np.median(rows)
    band = rows >= 0.5 * rows.max() if rows.max() > 0 else np.ones(len(rows), bool)
    col = gaussian_filter1d(sig[band].mean(axis=0), 2.0)   # across the band rows only
    col -= np.median(col)
    span = col.max() - col.min()
    peaks, _ = find_peaks(col, distance=min_pitch_px, prominence=0.05 * span if span > 0 else None)
    if len(peaks) == 0:
        raise AdpharmInputError("no lanes found in the crop; give their number", field="lanes")
    pitch = np.diff(peaks).min() if len(peaks) > 1 else min(w, 40)
    half = max(2, int(0.4 * pitch))
    return [(max(0, int(c) - half), min(w, int(c) + half)) for c in peaks]


def lane_profile(sig: np.ndarray, x0: int, x1: int) -> np.ndarray:
    """Mean of each row across the lane, Gaussian-weighted to the lane centre (the 1st-99th
    percentile span of a standard normal across the lane width, as in Harman et al. 2020)."""
    from scipy import stats
    wts = stats.norm.pdf(np.linspace(stats.norm.ppf(0.01), stats.norm.ppf(0.99), x1 - x0))
    return sig[:, x0:x1] @ wts / wts.sum()


def band_window(profiles: np.ndarray, tolerance: float = BAND_TOLERANCE) -> tuple[int, int]:
    """Rows ``[y0, y1)`` around the strongest band where some lane exceeds ``tolerance`` x peak."""
    top = profiles.max(axis=0)
    peak = int(np.argmax(top))
    if top[peak] <= 0:
        raise AdpharmInputError("no band above background in the crop")
    above = top > tolerance * top[peak]
    y0 = peak
    while y0 > 0 and above[y0 - 1]:
        y0 -= 1
    y1 = peak + 1
    while y1 < len(top) and above[y1]:
        y1 += 1
    return y0, y1


def _lane_baselines(profiles: np.ndarray, window: tuple[int, int] | None) -> np.ndarray:
    """Background under each lane's profile (lanes x rows).

    The median of the rows flanking the band window (a band's height above and below, past a small
    gap) on each side, joined by a straight line across the band, so that a background that slopes
    down the gel is followed and other bands in the crop are not taken for background. With one
    flank only, its median; without a window yet, the median of the whole lane.
    """
    n = profiles.shape[1]
    if window is None:
        return np.repeat(np.median(profiles, axis=1)[:, None], n, axis=1)
    h = window[1] - window[0]
    pad, flank = max(2, h // 4), max(5, h)
    above = np.arange(max(0, window[0] - pad - flank), max(0, window[0] - pad))
    below = np.arange(min(n, window[1] + pad), min(n, window[1] + pad + flank))
    sides = [(r.mean(), np.median(profiles[:, r], axis=1)) for r in (above, below) if len(r) >= 3]
    if not sides:
        return np.repeat(np.median(profiles, axis=1)[:, None], n, axis=1)
    if len(sides) == 1:
        return np.repeat(sides[0][1][:, None], n, axis=1)
    (ya, ma), (yb, mb) = sides
    y = np.arange(n)
    return ma[:, None] + (mb - ma)[:, None] * (y[None, :] - ya) / (yb - ya)


@dataclass
class Strip:
    """Densities of one band across the lanes (one strip, channel or image)."""

    name: str
    image: BlotImage
    crop: tuple[int, int, int, int]
    angle_deg: float
    lanes: list[tuple[int, int]]
    window: tuple[int, int]
    profiles: np.ndarray
    background: np.ndarray
    density: np.ndarray
    saturated_fraction: np.ndarray
    #: the cropped, rotated signal before background subtraction (for the geometry checks)
    crop_signal: np.ndarray | None = None

    @property
    def saturated(self) -> np.ndarray:
        return self.saturated_fraction > SATURATED_FRACTION


def quantify(image: BlotImage, crop: tuple[int, int, int, int] | None = None, lanes: int | Sequence | None = None,
             band_rows: tuple[int, int] | None = None, background: str = "lane", rolling_radius_px: float = 50.0,
             rotate_deg: float | None = 0.0, tolerance: float = BAND_TOLERANCE, name: str = "target") -> Strip:
    """Integrated density of the band in each lane of one strip (see the module docstring)."""
    if background not in BACKGROUNDS:
        raise AdpharmInputError(f"{background!r} is not one of {', '.join(BACKGROUNDS)}", field="background")
    h, w = image.signal.shape
    crop = crop or (0, 0, w, h)
    if crop[2] > w or crop[3] > h:
        raise AdpharmInputError(f"{','.join(map(str, crop))} is outside the {w}x{h} image {image.path}", field="crop")
    x0, y0, x1, y1 = crop
    sig = image.signal[y0:y1, x0:x1]
    sat = image.saturated[y0:y1, x0:x1].astype(float)
    angle = deskew_angle(sig) if rotate_deg is None else float(rotate_deg)
    if angle:
        from skimage.transform import rotate
        sig = rotate(sig, angle, mode="edge", preserve_range=True)
        sat = rotate(sat, angle, mode="constant", order=0, preserve_range=True)
    raw = sig
    if background == "rolling-ball":   # on raw intensities, as ImageJ's Subtract Background
        sig = sig - rolling_ball.background(sig * image.full_scale, rolling_radius_px) / image.full_scale
    bounds = list(lanes) if isinstance(lanes, (list, tuple)) else find_lanes(sig, lanes)
    for a, b in bounds:
        if not 0 <= a < b <= sig.shape[1]:
            raise AdpharmInputError(f"lane bounds {a}-{b} are outside the crop (width {sig.shape[1]})")
    prof = np.vstack([lane_profile(sig, a, b) for a, b in bounds])
    base = np.zeros_like(prof)
    if band_rows is not None:
        if band_rows[1] > sig.shape[0]:
            raise AdpharmInputError(f"{band_rows[0]}-{band_rows[1]} is beyond the crop height {sig.shape[0]}",
                                    field="band_rows")
        window = band_rows
    if background == "lane":
        base = _lane_baselines(prof, band_rows)
    if band_rows is None:
        window = band_window(prof - base, tolerance)
        if background == "lane":       # re-estimate the background away from the band found
            base = _lane_baselines(prof, window)
            window = band_window(prof - base, tolerance)
    r0, r1 = window
    widths = np.array([b - a for a, b in bounds], float)
    density = (prof[:, r0:r1] - base[:, r0:r1]).sum(axis=1) * widths
    satf = np.array([sat[r0:r1, a:b].mean() for a, b in bounds])
    return Strip(name, image, crop, angle, bounds, window, prof, base, density, satf, raw)


@dataclass
class WesternResult(NotebookDisplay):
    """Per-lane densities of the target (and loading control / total protein) with ratios."""

    target: Strip
    loading: Strip | None = None
    total: Strip | None = None
    groups: list[str] | None = None
    control: str | None = None
    reference_lane: int = 1
    warnings: list[str] = field(default_factory=list)
    #: strip name -> where the target lies in that strip's image (images from other files only)
    registration: dict[str, Registration] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        t = self.target
        df = pd.DataFrame({"lane": np.arange(1, len(t.lanes) + 1), "density": t.density, "saturated": t.saturated,
                           "saturated_fraction": t.saturated_fraction,
                           "x0": [a + t.crop[0] for a, _ in t.lanes], "x1": [b + t.crop[0] for _, b in t.lanes]})
        if self.groups is not None:
            df.insert(1, "group", self.groups)
        value = pd.Series(np.where(t.saturated, np.nan, t.density), index=df.index)
        for other, col, ratio in ((self.total, "total", "phospho_to_total"), (self.loading, "loading", "ratio_to_loading")):
            if other is not None:   # phospho/total first, then to the loading control
                df[f"{col}_density"] = other.density
                df[f"{col}_saturated"] = other.saturated
                value = value / np.where(~other.saturated & (other.density > 0), other.density, np.nan)
                df[ratio] = value
        df["normalised"] = value
        ref = value.iloc[self.reference_lane - 1]
        df[f"relative_to_lane{self.reference_lane}"] = value / ref if np.isfinite(ref) and ref > 0 else np.nan
        if self.groups is not None and self.control is not None:
            ctrl = value[df["group"] == self.control].mean()
            df["fold_change"] = value / ctrl if np.isfinite(ctrl) and ctrl > 0 else np.nan
        return df

    def statistics(self) -> dict[str, Any] | None:
        if self.groups is None:
            return None
        from . import stats as gstats
        df = self.table().dropna(subset=["normalised"])
        counts = df.groupby("group").size()
        if len(counts) < 2 or (counts < 2).any():
            return {"not_done": "needs at least two groups with two unsaturated lanes each"}
        col = "fold_change" if "fold_change" in df else "normalised"
        return gstats.compare_groups(df, col, "group", control=self.control, unit="lane")

    def to_dict(self) -> dict[str, Any]:
        t = self.target
        strips = {k: s for k, s in (("target", t), ("loading", self.loading), ("total", self.total)) if s is not None}
        return {"source": t.image.path,
                "lanes": [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                          for r in self.table().to_dict(orient="records")],
                "strips": {k: {"image": s.image.path, "channel": s.image.channel, "bit_depth": s.image.bit_depth,
                               "inverted": s.image.inverted, "crop": list(s.crop), "rotation_deg": s.angle_deg,
                               "band_rows": [int(s.window[0]), int(s.window[1])],
                               "saturated_lanes": [i + 1 for i in np.flatnonzero(s.saturated)],
                               **({"registered": self.registration[k].to_dict()} if k in self.registration else {})}
                           for k, s in strips.items()},
                "statistics": self.statistics(), "warnings": self.warnings,
                "provenance": {"adpharm": __version__,
                               "method": "Gaussian-weighted lane profiles, integrated density over the band window"}}

    def text(self) -> str:
        """The lanes' table and statistics, how each loading or total image was registered, the exclusions."""
        reg = [f"{key}: {getattr(self, key).image.path} registered to the target "
               f"({'phase correlation' if r.estimated else 'given offset'}): target (x, y) is its "
               f"(x {r.dx_px:+d}, y {r.dy_px:+d}), overlap r = {r.r:.2f}" for key, r in self.registration.items()]
        return reporting.result_text(self, reg)

    def summary(self) -> pd.DataFrame:
        return self.table().set_index("lane")

    def plot(self, ax=None):
        """The cropped strip with the detected lanes (boxes) and band window, saturated lanes in red."""
        from ..figures import pyplot
        plt = pyplot()
        from matplotlib.patches import Rectangle
        t = self.target
        x0, y0, x1, y1 = t.crop
        ax = ax or plt.subplots(figsize=(max(3, (x1 - x0) / 60), max(2, (y1 - y0) / 60)))[1]
        ax.imshow(t.image.signal[y0:y1, x0:x1], cmap="gray_r", aspect="auto")
        for i, (a, b) in enumerate(t.lanes):
            color = "#c22" if t.saturated[i] else "#26c"
            ax.add_patch(Rectangle((a, t.window[0]), b - a, t.window[1] - t.window[0], fill=False, ec=color, lw=1))
            ax.text((a + b) / 2, t.window[0] - 2, str(i + 1), ha="center", va="bottom", fontsize=7, color=color)
        ax.set_title(Path(t.image.path).name + (f" (rotated {t.angle_deg:+.2f} deg)" if t.angle_deg else ""), fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        return ax

    def plot_profiles(self, ax=None):
        """Each lane's profile down the gel (as ImageJ's Gels > Plot Lanes draws them) with its
        background and the band window shaded, so the integrated area can be checked by eye."""
        from ..figures import pyplot
        plt = pyplot()
        t = self.target
        n = len(t.lanes)
        if ax is None:
            fig, axes = plt.subplots(1, n, figsize=(min(1.4 * n, 14), 2.6), sharey=True, squeeze=False)
            axes = axes[0]
        else:
            axes = [ax] * n
        rows = np.arange(t.profiles.shape[1])
        r0, r1 = t.window
        for i, a in enumerate(axes):
            color = "#c22" if t.saturated[i] else "#26c"
            a.plot(t.profiles[i], rows, color=color, lw=1)
            a.plot(t.background[i], rows, color="grey", lw=0.8, ls="--")
            a.fill_betweenx(rows[r0:r1], t.background[i][r0:r1], t.profiles[i][r0:r1], color=color, alpha=0.25, lw=0)
            a.set_title(f"lane {i + 1}", fontsize=7)
            a.tick_params(labelsize=6)
        axes[0].invert_yaxis()
        axes[0].set_ylabel("row of the crop")
        axes[0].figure.supxlabel("signal (fraction of full scale); dashed: background", fontsize=7)
        return axes[0]

    def figures(self) -> dict[str, Any]:
        """Per-file figures for a batch: name -> function returning an Axes."""
        return {"blot": self.plot, "profiles": self.plot_profiles}


#: below this correlation of the overlapping signals a registration is reported as doubtful
MIN_REGISTRATION_R = 0.3


@dataclass
class Registration:
    """Where the target's pixels lie in another image: target (x, y) is other (x + dx, y + dy)."""

    dx_px: int
    dy_px: int
    r: float                  # correlation of the two signals where they overlap, at that offset
    estimated: bool           # False when the offset was given

    def to_dict(self) -> dict[str, Any]:
        return {"dx_px": self.dx_px, "dy_px": self.dy_px, "overlap_r": round(self.r, 4),
                "method": "phase correlation" if self.estimated else "given"}


def register(target: BlotImage, other: BlotImage, offset_px: tuple[int, int] | None = None) -> Registration:
    """The translation that maps ``target`` onto ``other`` (an image of the same membrane framed
    differently: a reprobe, another exposure or scanner), by phase correlation of the two signals
    padded to a common size, and the correlation of the signals where they overlap at that offset.

    References
    ----------
    Kuglin CD, Hines DC (1975). The phase correlation image alignment method. Proceedings of the
    IEEE International Conference on Cybernetics and Society, 163-165.

    Guizar-Sicairos M, Thurman ST, Fienup JR (2008). Efficient subpixel image registration
    algorithms. Optics Letters 33(2):156-158. doi:10.1364/OL.33.000156
    """
    a, b = target.signal, other.signal
    if offset_px is None:
        from skimage.registration import phase_cross_correlation
        h, w = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])

        def pad(x: np.ndarray) -> np.ndarray:
            out = np.full((h, w), float(np.median(x)))
            out[:x.shape[0], :x.shape[1]] = x
            return out
        shift = phase_cross_correlation(pad(b), pad(a), normalization="phase")[0]
        dy, dx = (int(round(float(v))) for v in shift)
        # the shift is found modulo the padded size; take the representative with the larger overlap
        dy = dy - h if dy > h // 2 else dy
        dx = dx - w if dx > w // 2 else dx
    else:
        dx, dy = offset_px
    ya, xa = max(0, -dy), max(0, -dx)
    yb, xb = min(a.shape[0], b.shape[0] - dy), min(a.shape[1], b.shape[1] - dx)
    r = 0.0
    if yb - ya > 1 and xb - xa > 1:
        pa, pb = a[ya:yb, xa:xb].ravel(), b[ya + dy:yb + dy, xa + dx:xb + dx].ravel()
        if pa.std() > 0 and pb.std() > 0:
            r = float(np.corrcoef(pa, pb)[0, 1])
    return Registration(int(dx), int(dy), r, offset_px is None)


def analyse(image: BlotImage, crop=None, lanes=None, band_rows=None, background: str = "lane",
            loading: tuple[BlotImage, tuple[int, int] | None] | None = None,
            total: tuple[BlotImage, tuple[int, int] | None] | None = None,
            groups: Sequence[str] | None = None, control: str | None = None, rotate_deg: float | None = 0.0,
            rolling_radius_px: float = 50.0, reference_lane: int = 1,
            offset_px: tuple[int, int] | None = None) -> WesternResult:
    """Quantify the target band and, on the same lanes, a loading control and/or total protein.

    ``loading`` and ``total`` are ``(image, band_rows)``: another channel of the same scan, the same
    image with a different band window (a strip cut from the membrane), or another image file. An
    image from another file is registered to the target (:func:`register`; ``offset_px`` = (dx, dy)
    gives the offset instead), and the target's crop and lanes are read at the registered place, so
    a reprobe imaged with a different frame is normalised lane by lane.

    Examples
    --------
    >>> from adpharm import datasets
    >>> path = datasets.locate("gelquant_gel-example")
    >>> r = analyse(read_image(path), crop=(30, 300, 205, 480), lanes=5)   # doctest: +SKIP
    >>> len(r.summary())                                                  # doctest: +SKIP
    5
    """
    kw = dict(crop=crop, background=background, rotate_deg=rotate_deg, rolling_radius_px=rolling_radius_px)
    tgt = quantify(image, lanes=lanes, band_rows=band_rows, name="target", **kw)
    if not 1 <= reference_lane <= len(tgt.lanes):
        raise AdpharmInputError(f"reference lane {reference_lane} is not one of the {len(tgt.lanes)} lanes")
    if groups is not None and len(groups) != len(tgt.lanes):
        raise AdpharmInputError(f"{len(groups)} labels for {len(tgt.lanes)} lanes", field="groups")
    if control is not None and (groups is None or control not in groups):
        raise AdpharmInputError(f"{control!r} is not one of the lane groups", field="control")
    res = WesternResult(target=tgt, groups=list(groups) if groups is not None else None, control=control,
                        reference_lane=reference_lane)
    for key, spec in (("loading", loading), ("total", total)):
        if spec is not None:
            img, rows = spec
            other_kw = kw
            if img.path != image.path or offset_px is not None:
                reg = register(image, img, offset_px)
                res.registration[key] = reg
                x0, y0, x1, y1 = tgt.crop
                moved = (x0 + reg.dx_px, y0 + reg.dy_px, x1 + reg.dx_px, y1 + reg.dy_px)
                h, w = img.signal.shape
                if moved[0] < 0 or moved[1] < 0 or moved[2] > w or moved[3] > h:
                    raise AdpharmInputError(
                        f"{img.path}: the target's crop {','.join(map(str, tgt.crop))} lies at "
                        f"{','.join(map(str, moved))} in this {w}x{h} image (offset {reg.dx_px}, {reg.dy_px} px), "
                        f"outside it; image the whole region or give the offset")
                other_kw = dict(kw, crop=moved)
                if reg.r < MIN_REGISTRATION_R:
                    res.warnings.append(f"{key}: {img.path} registered to the target with a weak match (r = "
                                        f"{reg.r:.2f} at offset {reg.dx_px}, {reg.dy_px} px); check the lanes in the "
                                        f"overlay or give the offset")
            setattr(res, key, quantify(img, lanes=tgt.lanes, band_rows=rows, name=key, **other_kw))
    for k, s in (("target", tgt), ("loading", res.loading), ("total", res.total)):
        if s is not None:
            res.warnings += [f"{k}: {w}" for w in geometry_warnings(s, detected=not isinstance(lanes, (int, list, tuple)))]
        if s is not None and s.saturated.any():
            res.warnings.append(f"{k}: lanes {', '.join(str(i + 1) for i in np.flatnonzero(s.saturated))} have "
                                f"saturated pixels in the band; their densities are under-estimates and are left "
                                f"out of the ratios (re-image with a shorter exposure)")
    return res


#: more lanes than any comb makes (26-well gels are the largest common format)
MAX_PLAUSIBLE_LANES = 26
#: two bands merge when the signal between their lane centres never falls below this share of the
#: smaller peak; a band straddles a lane boundary when the gap between bands (a dip below
#: CROSSING_FRACTION of the smaller peak) lies more than LANE_SHIFT_FRACTION of the pitch from it
MERGED_FRACTION = 0.9
CROSSING_FRACTION = 0.5
LANE_SHIFT_FRACTION = 0.3
#: a band is flat-topped (saturated without reaching full scale, as on film or JPEG) when its central
#: columns stay within this share of full scale of their maximum for at least FLAT_TOP_ROWS rows
FLAT_TOP_TOLERANCE = 0.015
FLAT_TOP_ROWS = 5


def geometry_warnings(strip: Strip, detected: bool = False) -> list[str]:
    """What a careful analyst would check by eye on a strip: an implausible number of detected lanes,
    bands that run into the neighbouring lane or sit off the lane centre, densities below zero, and
    bands whose tops are flat (saturated below full scale: film, JPEG, a scanner's own ceiling).

    Examples
    --------
    >>> y, x = np.mgrid[0:60, 0:100]
    >>> sig = np.exp(-((y - 30) / 4.0) ** 2) * ((x % 50 > 10) & (x % 50 < 40))
    >>> img = BlotImage("demo", sig, np.zeros_like(sig, bool), 8, False, "gray")
    >>> geometry_warnings(quantify(img, lanes=[(5, 45), (55, 95)]))
    []
    """
    out = []
    n = len(strip.lanes)
    if detected and n > MAX_PLAUSIBLE_LANES:
        out.append(f"{n} lanes detected, more than a gel has ({MAX_PLAUSIBLE_LANES} at most): the crop may hold "
                   "text, a ladder scale or several blots; crop the membrane or give the lane columns")
    neg = [i + 1 for i, d in enumerate(strip.density) if d < 0]
    if neg:
        out.append(f"lanes {', '.join(map(str, neg))} have a negative density (the band is below its background): "
                   "no band there, or the background rows overlap a band")
    if strip.crop_signal is None:
        return out
    r0, r1 = strip.window
    col = strip.crop_signal[r0:r1].mean(axis=0)
    col = col - np.percentile(col, 5)
    peaks = np.array([col[a:b].max() for a, b in strip.lanes])
    strong = peaks > 0.1 * peaks.max() if peaks.max() > 0 else np.zeros(n, bool)
    order = np.argsort([a for a, _ in strip.lanes])
    for i, j in zip(order, order[1:]):
        (a0, a1), (b0, b1) = strip.lanes[i], strip.lanes[j]
        ci, cj = (a0 + a1) // 2, (b0 + b1) // 2
        if not (strong[i] or strong[j]) or cj <= ci:
            continue
        seg = col[ci:cj + 1]
        dip = float(seg.min()) / max(min(peaks[i], peaks[j]), 1e-12)
        shift = (ci + int(np.argmin(seg)) - (a1 + b0) / 2) / (cj - ci)
        if strong[i] and strong[j] and dip > MERGED_FRACTION:
            out.append(f"the bands of lanes {i + 1} and {j + 1} merge (no dip between them: the signal stays at "
                       f"{dip:.0%} of the smaller peak); check the lane bounds")
        elif dip < CROSSING_FRACTION and abs(shift) > LANE_SHIFT_FRACTION:
            out.append(f"between lanes {i + 1} and {j + 1} the gap between bands lies {shift * (cj - ci):+.0f} px from "
                       "the lane boundary: a band straddles the two lanes and is split between them; give the lane "
                       "columns")
    flat = []
    for i, (a, b) in enumerate(strip.lanes):
        q = (b - a) // 3
        centre = strip.crop_signal[r0:r1, a + q:b - q] if b - a >= 3 else strip.crop_signal[r0:r1, a:b]
        top = centre.max()
        if not strong[i] or top < 0.5:
            continue
        runs = [_longest_run(c >= top - FLAT_TOP_TOLERANCE) for c in centre.T]
        if np.median(runs) >= FLAT_TOP_ROWS:
            flat.append(i + 1)
    if flat:
        out.append(f"lanes {', '.join(map(str, flat))}: flat-topped bands (at least {FLAT_TOP_ROWS} rows within "
                   f"{FLAT_TOP_TOLERANCE:.1%} of full scale of their peak): saturated below full scale, so their "
                   "densities are under-estimates; re-image with a shorter exposure")
    return out


def _longest_run(mask: np.ndarray) -> int:
    best = run = 0
    for v in mask:
        run = run + 1 if v else 0
        best = max(best, run)
    return best


def strip_source(spec: str, image: BlotImage, field: str = "loading", max_pixels: int | None = None):
    """Parse a loading-control or total-protein source for the target ``image``.

    ``lane:N`` (normalise to lane N), ``rows:Y0-Y1`` (another band window of the same image),
    ``channel:NAME[:Y0-Y1]`` (another channel of the same scan) or the path of another image taken
    with the same crop. Returns ``("lane", N)`` or ``(BlotImage, band_rows or None)``. Images are read
    with ``max_pixels`` (:func:`read_image`).
    """
    kind, _, rest = spec.partition(":")
    if kind == "lane":
        try:
            return "lane", int(rest)
        except ValueError:
            raise AdpharmInputError(f"{spec!r}: lane:N needs a lane number", field=field) from None
    if kind == "rows":
        return image, parse_rows(rest, field)
    if kind == "channel":
        name, _, rows = rest.partition(":")
        return read_image(image.path, name, max_pixels=max_pixels), (parse_rows(rows, field) if rows else None)
    return read_image(spec, image.channel, max_pixels=max_pixels), None
