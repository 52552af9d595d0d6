"""Pin ImageJ's rolling-ball background on the test image to tests/data/imagej_rolling_ball.json.

Needs Java and ImageJ's ij.jar (Debian: `apt-get install imagej`, which puts it in /usr/share/java).
Run from the repository root: `.venv/bin/python validation/imagej/regenerate.py [path/to/ij.jar]`.
The test image is drawn by `test_image()` (no random numbers), saved as an 8-bit and a 16-bit TIFF.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE.parent.parent / "tests" / "data" / "imagej_rolling_ball.json"
#: (radius, light background, presmooth, bit depth)
CONFIGS = [(5, False, False, 8), (8, True, True, 8), (20, True, False, 8), (50, True, True, 8), (50, False, True, 8),
           (150, True, True, 8), (50, True, True, 16)]
ROWS, COLS = slice(None, None, 15), slice(None, None, 20)


def test_image(bit_depth: int = 8) -> np.ndarray:
    """A 90 x 160 blot-like image: an uneven light background, five dark bands, deterministic noise."""
    y, x = np.mgrid[0:90, 0:160].astype(float)
    field = 200 - 0.25 * x - 0.15 * y + 10 * np.sin(x / 30)
    for centre, depth in zip((25, 55, 85, 115, 140), (90, 60, 120, 40, 100)):
        field -= depth * np.exp(-((x - centre) / 8) ** 2 - ((y - 45) / 5) ** 2)
    noise = ((x.astype(int) * 7919 + y.astype(int) * 104729) % 13) - 6
    img = np.clip(np.round(field + noise), 0, 255)
    return img.astype(np.uint8) if bit_depth == 8 else (img * 257).astype(np.uint16)


def imagej_background(jar: str, image: np.ndarray, radius: float, light: bool, presmooth: bool) -> np.ndarray:
    from PIL import Image
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["javac", "-cp", jar, "-d", d, str(HERE / "RB.java")], check=True)
        Image.fromarray(image).save(f"{d}/in.tif")
        subprocess.run(["java", "-Djava.awt.headless=true", "-cp", f"{jar}:{d}", "RB", f"{d}/in.tif", str(radius),
                        str(int(light)), str(int(presmooth)), f"{d}/out.txt"], check=True)
        return np.loadtxt(f"{d}/out.txt")


def main(jar: str = "/usr/share/java/ij.jar") -> None:
    out = {"imagej": "ImageJ 1.53t (Debian imagej 1.53t-1), BackgroundSubtracter.rollingBallBackground",
           "rows": "every 15th row from 0", "cols": "every 20th column from 0", "configs": []}
    for radius, light, presmooth, depth in CONFIGS:
        bg = imagej_background(jar, test_image(depth), radius, light, presmooth)
        out["configs"].append({"radius": radius, "light_background": light, "presmooth": presmooth, "bit_depth": depth,
                               "mean": float(bg.mean()), "grid": bg[ROWS, COLS].round(4).tolist()})
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(*sys.argv[1:])
