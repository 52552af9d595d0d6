"""Forced swim test from video, on generated videos with per-frame truth (PROVENANCE.md §5)."""
import json

import numpy as np
import pytest

import fstvideo
from conftest import run_cli

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them

pytest.importorskip("cv2")
from adpharm.assays import fst_video  # noqa: E402

FPS = 25.0


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """A 6-min, 480x360, 25 fps MPEG-4 side view with ripples, jitter and flicker."""
    path = tmp_path_factory.mktemp("fstvideo") / "mouse.mp4"
    truth = fstvideo.write(path, fps=FPS, seed=0)
    return path, truth, fstvideo.per_minute(truth, FPS)


@pytest.fixture(scope="module")
def motion(video):
    return fst_video.motion_index(video[0])


def test_calibrated_threshold_recovers_immobility_per_minute(video, motion):
    _, truth, truth_min = video
    mo, fps = motion
    assert fps == FPS and len(mo) == len(truth)
    th = fst_video.calibrate(mo, fps, {2: truth_min[1], 5: truth_min[4]})   # two hand-scored minutes
    imm = fst_video.immobile_frames(mo, fps, th)
    est = fst_video.per_minute(imm, fps)
    assert np.abs(est - truth_min).max() < 0.05, (est, truth_min)
    assert est[2:].mean() == pytest.approx(truth_min[2:].mean(), abs=0.03)     # the minutes 3-6 score
    assert (imm == truth).mean() > 0.95


def test_uncalibrated_otsu_threshold_is_close(motion, video):
    mo, fps = motion
    est = fst_video.per_minute(fst_video.immobile_frames(mo, fps, fst_video.otsu_threshold(mo, fps)), fps)
    assert np.abs(est - video[2]).max() < 0.10
    assert est[0] < 0.15 and est[2:].mean() > 0.5        # the rise from minute 1 to minutes 3-6


def test_minimum_bout_rule_closed_form():
    fps = 10.0
    mo = np.ones(600)
    mo[100:115] = 0        # 1.5 s still: under 2 s, not immobility
    mo[200:230] = 0        # 3 s still: immobility
    imm = fst_video.immobile_frames(mo, fps, 0.5, min_bout_s=2.0, smooth_s=0)
    assert imm.sum() == 30 and imm[200:230].all()


def test_cli_with_calibration_file(video, tmp_path):
    path, _, truth_min = video
    cal = tmp_path / "handscored.csv"
    cal.write_text(f"minute,immobility\n2,{truth_min[1] * 60:.1f}\n5,{truth_min[4] * 60:.1f}\n")  # seconds of 60
    r = run_cli("assay", "fst", str(path), "--calibrate", str(cal), "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)["results"][str(path)]
    assert d["threshold_method"].startswith("calibrated")
    assert d["score_minutes_3_6"] == pytest.approx(truth_min[2:].mean(), abs=0.03)


def test_manifest_of_videos_pools_groups(tmp_path):
    rows = ["file,animal,group"]
    slow = (0.02, 0.10, 0.20, 0.25, 0.25, 0.30)          # drug: less immobility
    for i, (group, target) in enumerate([("vehicle", fstvideo.TARGET)] * 2 + [("drug", slow)] * 2):
        fstvideo.write(tmp_path / f"m{i}.avi", fps=10.0, size=(240, 180), seed=20 + i, target=target)   # 10 fps: what a cheap camera gives
        rows.append(f"m{i}.avi,m{i},{group}")
    rows.append("gone.avi,m9,drug")
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    r = run_cli("assay", "fst", "--manifest", str(tmp_path / "manifest.csv"), "--control", "vehicle",
                "--out", str(out), "--format", "json")
    assert r.returncode == 2 and "gone.avi: no such file" in r.stderr
    d = json.loads(r.stdout)
    scores = {row["animal"]: row["score"] for row in d["table"]}
    assert set(scores) == {"m0", "m1", "m2", "m3"}
    assert max(scores["m2"], scores["m3"]) < min(scores["m0"], scores["m1"])
    assert d["statistics"]["comparison"] == "drug vs vehicle"
    assert {"results.csv", "groups.svg", "motion_m0.svg"} <= {p.name for p in out.iterdir()}


def test_truncated_video_and_bad_roi_exit_2(video, tmp_path):
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(video[0].read_bytes()[:200_000])
    r = run_cli("assay", "fst", str(bad))
    assert r.returncode == 2 and f"{bad}: not a readable video" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1          # FFmpeg's own diagnostics are silenced
    r = run_cli("assay", "fst", str(video[0]), "--roi", "0,0,900,900")
    assert r.returncode == 2 and "--roi: 0,0,900,900 is outside" in r.stderr
