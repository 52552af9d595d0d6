"""Synthetic Western blots with known band intensities, drawn to the specification in
../shared/data/PROVENANCE.md section 5 (no licensed BDNF / p-mTOR / mTOR blot could be had).

Lanes of 40-60 px at a pitch of 45-70 px with a ladder lane; bands Gaussian down the gel
(sigma 3-8 px), flat-topped across the lane with a "smile"; a background gradient and
rolling-ball-scale unevenness, speckles, noise, an optional rotation; dark bands on a light
background (chemiluminescence film style, clipping at 0) or bright on dark (LI-COR style,
clipping at full scale); 8- or 16-bit. Band darkness adds linearly to the background until it
clips, so the true integrated density of a band is proportional to its amount.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

# approximate migration (fraction of the gel height) by molecular weight on a 4-15 % gel
ROW_BY_KDA = {289: 0.10, 42: 0.52, 37: 0.57, 32: 0.62, 14: 0.86}
LADDER_KDA = (250, 150, 100, 75, 50, 37, 25, 20, 15)


@dataclass
class Blot:
    pixels: np.ndarray          # uint8 or uint16, rows x columns
    lane_x: list[tuple[int, int]]   # sample lanes (ladder excluded), columns
    band_y: dict[int, float]        # band centre row by kDa
    amounts: dict[int, np.ndarray]  # true amount per sample lane, by kDa


def draw(amounts: dict[int, list[float]], *, height: int = 320, lane_w: int = 48, pitch: int = 60,
         sigma_y: float = 5.0, smile_px: float = 2.0, rotate_deg: float = 0.0, bit_depth: int = 8,
         dark_bands: bool = True, scale: float = 0.35, seed: int = 0, ladder: bool = True,
         noise: float = 0.004) -> Blot:
    """A blot with one band per entry of ``amounts`` (kDa -> amount per sample lane)."""
    rng = np.random.default_rng(seed)
    n = len(next(iter(amounts.values())))
    n_lanes = n + int(ladder)
    width = pitch * n_lanes + pitch
    yy, xx = np.mgrid[0:height, 0:width].astype(float)
    signal = np.zeros((height, width))
    lanes, band_y = [], {}

    def band(xc: float, yc: float, amp: float, sy: float):
        u = (xx - xc) / (lane_w / 2)
        across = np.exp(-u ** 8)                           # flat-topped across the lane
        centre = yc + smile_px * np.clip(u, -1, 1) ** 2     # edges run ahead: the smile
        return amp * across * np.exp(-0.5 * ((yy - centre) / sy) ** 2)

    for k in range(n_lanes):
        xc = pitch + k * pitch
        if ladder and k == 0:
            for j, kda in enumerate(LADDER_KDA):
                signal += band(xc, height * (0.08 + 0.09 * j), 0.3, 2.0)
            continue
        lanes.append((int(xc - lane_w / 2), int(xc + lane_w / 2)))
        for kda, amt in amounts.items():
            band_y[kda] = height * ROW_BY_KDA[kda]
            signal += band(xc, band_y[kda], scale * amt[k - int(ladder)], sigma_y)
    # background: gradient + unevenness at rolling-ball scale, on the side bands push away from
    uneven = ndimage.gaussian_filter(rng.normal(size=(height, width)), 40)
    bg = 0.04 + 0.04 * xx / width + 0.5 * uneven / (np.abs(uneven).max() + 1e-12) * 0.02
    img = bg + signal
    specks = rng.random((height, width)) < 0.0008
    img[specks] += rng.uniform(0.1, 0.4, specks.sum())
    img += rng.normal(0, noise, img.shape)
    if rotate_deg:
        img = ndimage.rotate(img, rotate_deg, reshape=False, order=1, mode="nearest")
    img = np.clip(img, 0, 1)
    if dark_bands:
        img = 1 - img
    full = 255 if bit_depth == 8 else 65535
    px = np.round(img * full).astype(np.uint8 if bit_depth == 8 else np.uint16)
    return Blot(px, lanes, band_y, {k: np.asarray(v, float) for k, v in amounts.items()})


def save(blot: Blot, path) -> None:
    """Write as TIFF (8- or 16-bit) or PNG."""
    from PIL import Image
    Image.fromarray(blot.pixels).save(path)
