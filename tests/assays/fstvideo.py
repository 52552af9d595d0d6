"""Synthetic forced-swim videos with per-frame ground truth, drawn to the specification in
../shared/data/PROVENANCE.md section 5 (the one public sample video could not be had).

A side view of a transparent cylinder with a water line and one dark mouse. The mouse
alternates mobile bouts (swimming or climbing: the body moves and the legs paddle) and
immobile bouts of at least 2 s (floating: a slow drift). Immobility rises from about 5 % in
minute 1 to 50-65 % in minutes 3-6. Distractors: water ripples, camera jitter, lighting
flicker and sensor noise; MPEG-4 compression.
"""
from __future__ import annotations

import numpy as np

# target immobile fraction per minute (behaviopy_forcedswim_ts.csv controls run 0.05 -> 0.6)
TARGET = (0.05, 0.30, 0.50, 0.58, 0.62, 0.65)


def labels(fps: float, seed: int, minutes: int = 6, target=TARGET) -> np.ndarray:
    """Per-frame immobility (True): each minute holds immobile bouts of 2-8 s adding up to about
    its target fraction, separated by mobile gaps."""
    rng = np.random.default_rng(seed)
    out = []
    for m in range(minutes):
        total = float(np.clip(target[min(m, len(target) - 1)] * 60 * (1 + rng.normal(0, 0.1)), 0, 54))
        bouts = []
        while total - sum(bouts) >= 2:
            bouts.append(min(total - sum(bouts), rng.uniform(2, 8)))
        gaps = rng.dirichlet(np.ones(len(bouts) + 1)) * (60 - sum(bouts))
        for g, b in zip(gaps, bouts + [0.0]):
            out += [False] * int(round(g * fps)) + [True] * int(round(b * fps))
        out = out[:int(round((m + 1) * 60 * fps))]
        out += [False] * (int(round((m + 1) * 60 * fps)) - len(out))
    return np.array(out, bool)


def write(path, fps: float = 25.0, size=(480, 360), seed: int = 0, minutes: int = 6, target=TARGET) -> np.ndarray:
    """Write the video (MPEG-4 in .mp4, MJPEG in .avi) and return the per-frame truth."""
    import cv2
    w, h = size
    rng = np.random.default_rng(seed + 1)
    truth = labels(fps, seed, minutes, target)
    fourcc = cv2.VideoWriter_fourcc(*("MJPG" if str(path).endswith(".avi") else "mp4v"))
    vw = cv2.VideoWriter(str(path), fourcc, fps, (w, h), False)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ys, xs = np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32)
    noise = rng.normal(0, 2.0, (61, h, w)).astype(np.float32)
    cx0, cx1 = int(w * 0.3), int(w * 0.7)                # cylinder walls
    water = int(h * 0.35)
    base = np.full((h, w), 200, np.float32)
    base[water:, cx0:cx1] = 170                           # water
    base[:, cx0:cx0 + 3] = 120
    base[:, cx1 - 3:cx1] = 120
    base[water:water + 2, cx0:cx1] = 140                  # water line
    x, y, vx = (cx0 + cx1) / 2, water + 18.0, 0.0
    phase = 0.0
    for i, imm in enumerate(truth):
        t = i / fps
        if imm:
            vx *= 0.8
            x += vx + rng.normal(0, 0.05)
            kick = 0.0
        else:
            vx = np.clip(vx + rng.normal(0, 0.8), -4, 4)
            x += vx
            phase += 1.3
            kick = 4.0 * np.sin(phase)
        x = np.clip(x, cx0 + 30, cx1 - 30)
        if x in (cx0 + 30, cx1 - 30):
            vx = -vx
        frame = base.copy()
        rx = np.sin(0.15 * xs + 2.0 * t)                                          # water shimmer,
        ry = np.sin(0.2 * ys[water:] - 1.5 * t)                                   # separable
        frame[water:, cx0:cx1] += 3.0 * np.outer(ry, rx[cx0:cx1])
        x0, y0 = int(x) - 40, int(y) - 20                                         # draw the mouse locally
        lx, ly = xx[y0:y0 + 45, x0:x0 + 80], yy[y0:y0 + 45, x0:x0 + 80]
        body = ((lx - x) / 22) ** 2 + ((ly - y) / 9) ** 2 < 1
        body |= ((lx - x - 20 * np.sign(vx or 1)) / 8) ** 2 + ((ly - y + 5) / 7) ** 2 < 1       # head
        body |= (np.abs(lx - x + 8) < 3) & (ly > y + 6) & (ly < y + 18 + kick)                  # legs
        body |= (np.abs(lx - x - 10) < 3) & (ly > y + 6) & (ly < y + 18 - kick)
        frame[y0:y0 + 45, x0:x0 + 80][body] = 45
        frame *= 1 + 0.02 * np.sin(2 * np.pi * 0.7 * t)                          # lighting flicker
        frame += noise[i % len(noise)]                                            # sensor noise
        if rng.random() < 0.1:                                                    # camera jitter
            frame = np.roll(frame, (int(rng.integers(-1, 2)), int(rng.integers(-1, 2))), axis=(0, 1))
        vw.write(np.clip(frame, 0, 255).astype(np.uint8))
    vw.release()
    return truth


def per_minute(truth: np.ndarray, fps: float) -> np.ndarray:
    n = int(round(60 * fps))
    return np.array([truth[k * n:(k + 1) * n].mean() for k in range(len(truth) // n)])
