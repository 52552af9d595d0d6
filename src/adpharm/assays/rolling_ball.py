"""Rolling-ball background, as ImageJ's Process > Subtract Background computes it.

A ball of radius ``radius`` (pixels, in the units of the pixel values) rolls under the intensity
surface; the top of the volume it reaches is the background (Sternberg 1983). The ball is in
intensity units, so the same radius means a different ball on a 0-1 and a 0-255 scale: run it on
the image's raw intensities (0-255 for 8-bit, 0-65535 for 16-bit), as ImageJ does.

The steps follow ImageJ 1.53 (BackgroundSubtracter, rolling ball, not the sliding paraboloid):

1. a light background (dark bands) is inverted first;
2. unless disabled, the image is smoothed by a 3 x 3 mean (edge pixels repeated);
3. for radius > 10 the image is shrunk by 2 (radius <= 30), 4 (<= 100) or 8, taking the minimum
   of each block, and the ball radius is divided by the same factor;
4. the ball is the cap ``z = sqrt(r^2 - dx^2 - dy^2)`` (0 where negative) on a square whose
   half-width is the radius trimmed by 24 % (radius <= 30), 32 % (<= 100) or 40 %; it rolls with its
   centre anywhere within that half-width of the image, which is a grey-scale opening by this
   non-flat element over the pixels inside the image;
5. a shrunk background is enlarged by bilinear interpolation between block centres, extrapolated
   linearly beyond the outermost centres.

Checked against ImageJ 1.53t's ``BackgroundSubtracter.rollingBallBackground`` on a test image for
radii 5, 8, 20, 50 and 150, light and dark background, with and without smoothing: the same
background to float precision (``tests/assays/test_rolling_ball.py``; the Java call is in
``validation/imagej/``).

References
----------
Sternberg SR (1983). Biomedical image processing. Computer 16:22-34. doi:10.1109/MC.1983.1654163
Schneider CA, Rasband WS, Eliceiri KW (2012). NIH Image to ImageJ: 25 years of image analysis.
Nat Methods 9:671-675. doi:10.1038/nmeth.2089
"""
from __future__ import annotations

import numpy as np

from ..errors import AdpharmInputError
from ..lazy import lazy_module

__all__ = ["background", "subtract_background", "shrink_factor"]

ndi = lazy_module("scipy.ndimage")


def shrink_factor(radius: float) -> tuple[int, int]:
    """ImageJ's shrink factor and ball trim (per cent of the radius) for a rolling-ball ``radius``.

    Examples
    --------
    >>> shrink_factor(5), shrink_factor(50), shrink_factor(150)
    ((1, 24), (4, 32), (8, 40))
    """
    if radius <= 10:
        return 1, 24
    if radius <= 30:
        return 2, 24
    if radius <= 100:
        return 4, 32
    return 8, 40


def _ball(radius: float, trim_percent: int) -> np.ndarray:
    half = int(np.floor(radius - int(trim_percent * radius) // 100 + 0.5))   # ImageJ rounds half up
    d = np.arange(-half, half + 1, dtype=float)
    return np.sqrt(np.maximum(radius ** 2 - d[:, None] ** 2 - d[None, :] ** 2, 0.0))


def _shrink(x: np.ndarray, factor: int) -> np.ndarray:
    h, w = x.shape
    rows, cols = -(-h // factor), -(-w // factor)
    padded = np.full((rows * factor, cols * factor), np.inf)
    padded[:h, :w] = x
    return padded.reshape(rows, factor, cols, factor).min(axis=(1, 3))


def _roll(x: np.ndarray, ball: np.ndarray) -> np.ndarray:
    """Opening by the ball, with ball centres up to its half-width outside the image."""
    half = ball.shape[0] // 2
    padded = np.pad(x, half, constant_values=np.inf)
    lowest = ndi.grey_erosion(padded, structure=ball, mode="constant", cval=np.inf)   # min(x - z)
    lowest[~np.isfinite(lowest)] = -np.inf           # a centre whose ball covers no pixel touches nothing
    top = ndi.grey_dilation(lowest, structure=ball, mode="constant", cval=-np.inf)
    return top[half:-half, half:-half] if half else top


def _enlarge_axis(n: int, small: int, factor: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n)
    i = np.clip((x - factor // 2) // factor, 0, max(small - 2, 0))
    weight = 1.0 - ((x + 0.5) / factor - (i + 0.5))
    return i, weight


def _enlarge(small: np.ndarray, shape: tuple[int, int], factor: int) -> np.ndarray:
    if min(small.shape) < 2:                          # a strip one block thick: nothing to interpolate between
        return np.repeat(np.repeat(small, factor, axis=0), factor, axis=1)[:shape[0], :shape[1]]
    iy, wy = _enlarge_axis(shape[0], small.shape[0], factor)
    ix, wx = _enlarge_axis(shape[1], small.shape[1], factor)
    top = small[iy][:, ix] * wx + small[iy][:, ix + 1] * (1 - wx)
    bottom = small[iy + 1][:, ix] * wx + small[iy + 1][:, ix + 1] * (1 - wx)
    return top * wy[:, None] + bottom * (1 - wy[:, None])


def background(image: np.ndarray, radius: float = 50.0, light_background: bool = False,
               presmooth: bool = True) -> np.ndarray:
    """The rolling-ball background of ``image`` (raw intensities), as ImageJ's "Create background".

    Parameters
    ----------
    image : 2-D array
        Pixel values on their raw scale (0-255 for 8-bit, 0-65535 for 16-bit).
    radius : float
        Rolling-ball radius in pixels (ImageJ's default is 50).
    light_background : bool
        Dark objects on a light background (ImageJ's "Light background").
    presmooth : bool
        Smooth by a 3 x 3 mean before rolling (ImageJ's default; "Disable smoothing" is ``False``).

    Returns
    -------
    ndarray
        The background, same shape, float.

    Examples
    --------
    >>> y, x = np.mgrid[0:40, 0:60]
    >>> img = 20 + 0.5 * x + 100 * np.exp(-((x - 30) ** 2 + (y - 20) ** 2) / 8.0)   # a spot on a ramp
    >>> bg = background(img, radius=10, presmooth=False)
    >>> round(float(bg[20, 30]), 1), round(float(img[20, 30]), 1)   # under the spot: near the ramp's 35
    (38.1, 135.0)
    """
    x = np.asarray(image, dtype=float)
    if x.ndim != 2 or min(x.shape) < 1:
        raise AdpharmInputError(f"rolling ball: needs a 2-D image, got shape {x.shape}")
    if not np.isfinite(radius) or radius <= 0:
        raise AdpharmInputError(f"rolling ball radius: {radius} must be a positive number of pixels")
    if not np.isfinite(x).all():
        raise AdpharmInputError("rolling ball: the image has non-finite pixel values")
    y = -x if light_background else x.copy()
    if presmooth:
        y = ndi.uniform_filter(y, size=3, mode="nearest")
    factor, trim = shrink_factor(radius)
    small = _shrink(y, factor) if factor > 1 else y
    bg = _roll(small, _ball(radius / factor, trim))
    if factor > 1:
        bg = _enlarge(bg, y.shape, factor)
    return -bg if light_background else bg


def subtract_background(image: np.ndarray, radius: float = 50.0, light_background: bool = False,
                        presmooth: bool = True) -> np.ndarray:
    """``image`` minus its rolling-ball :func:`background`, in float (not clipped or rounded).

    With a light background the result is ``background - image``, so that dark bands become positive
    densities.

    Examples
    --------
    >>> img = np.full((30, 30), 200.0); img[12:18, 12:18] = 120.0      # a dark band on a light field
    >>> out = subtract_background(img, radius=10, light_background=True, presmooth=False)
    >>> round(float(out[15, 15]), 1), float(out[2, 2])     # the ball rises 0.5 into the 6-px band
    (79.5, 0.0)
    """
    bg = background(image, radius, light_background, presmooth)
    x = np.asarray(image, dtype=float)
    return bg - x if light_background else x - bg
