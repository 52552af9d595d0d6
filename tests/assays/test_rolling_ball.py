"""The rolling-ball background against ImageJ 1.53t (issue 40, item 3): pinned values of ImageJ's
BackgroundSubtracter on a test image (validation/imagej/regenerate.py; the Java call in
validation/imagej/RB.java), the whole image live where Java and ImageJ are installed, and the
Western-blot use on raw intensities (gelquant, Harman et al. 2020)."""
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from adpharm.assays.rolling_ball import background, subtract_background
from adpharm.errors import AdpharmInputError

REPO = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((REPO / "tests" / "data" / "imagej_rolling_ball.json").read_text())
IJ_JAR = Path("/usr/share/java/ij.jar")   # Debian's imagej package; the live test skips without it


def _validation():
    spec = importlib.util.spec_from_file_location("ij_regenerate", REPO / "validation" / "imagej" / "regenerate.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["ij_regenerate"] = mod
    spec.loader.exec_module(mod)
    return mod


V = _validation()
IDS = [f"r{c['radius']}-{'light' if c['light_background'] else 'dark'}-{'smooth' if c['presmooth'] else 'raw'}-"
       f"{c['bit_depth']}bit" for c in REFERENCE["configs"]]


@pytest.mark.parametrize("cfg", REFERENCE["configs"], ids=IDS)
def test_background_matches_imagej_pinned(cfg):
    """ImageJ 1.53t, rollingBallBackground(ip, radius, createBackground=true, light, useParaboloid=false,
    presmooth, correctCorners=true) on the 32-bit test image; every 15th row and 20th column pinned."""
    img = V.test_image(cfg["bit_depth"])
    bg = background(img, cfg["radius"], cfg["light_background"], cfg["presmooth"])
    scale = 257.0 if cfg["bit_depth"] == 16 else 1.0
    assert np.abs(bg[V.ROWS, V.COLS] - np.array(cfg["grid"])).max() < 2e-3 * scale
    assert bg.mean() == pytest.approx(cfg["mean"], abs=1e-3 * scale)


def test_background_matches_imagej_live_on_the_whole_image(tmp_path):
    if not IJ_JAR.is_file() or shutil.which("javac") is None:
        pytest.skip("ImageJ (/usr/share/java/ij.jar, `apt-get install imagej`) or a JDK is not installed")
    for cfg in REFERENCE["configs"][:4]:
        img = V.test_image(cfg["bit_depth"])
        want = V.imagej_background(str(IJ_JAR), img, cfg["radius"], cfg["light_background"], cfg["presmooth"])
        got = background(img, cfg["radius"], cfg["light_background"], cfg["presmooth"])
        assert np.abs(got - want).max() < 2e-3, cfg


def test_a_flat_field_has_itself_as_background_and_a_band_survives():
    img = np.full((40, 60), 180.0)
    assert np.allclose(background(img, 20, light_background=True), 180.0)
    img[15:25, 20:30] = 100.0
    out = subtract_background(img, 50, light_background=True, presmooth=False)
    assert out[20, 25] == pytest.approx(80.0, abs=1.0) and np.abs(out[:5]).max() < 1e-9


@pytest.mark.parametrize("bad, needle", [(np.zeros(5), "2-D image"), (np.full((5, 5), np.nan), "non-finite")])
def test_bad_input_is_a_clear_error(bad, needle):
    with pytest.raises(AdpharmInputError, match=needle):
        background(bad, 10)
    with pytest.raises(AdpharmInputError, match="radius"):
        background(np.ones((5, 5)), -1)
