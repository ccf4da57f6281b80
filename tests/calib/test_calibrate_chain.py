"""``rigsync calibrate`` on calib_chain (cam-a and cam-c see the board only with cam-b, mostly part of it), 30 s:
every camera calibrated, each pose and each pair's relative pose within the issue's 2 mm / 0.1 deg of the truth."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from rigsync.calib import geometry as g
from rigsync.cli.main import main
from rigsync.core.calibration import load_calibration
from rigsync.spec import load_rig

RIG = Path(__file__).resolve().parents[2] / "examples" / "calib_chain.toml"


@pytest.mark.slow
def test_chain_rig_within_2_mm_and_a_tenth_of_a_degree(tmp_path: Path) -> None:
    """Before the corners were refined again (calib/board.py) cam-a was written 3.1 mm / 0.11 deg off cam-b and
    cam-c was left out; now all three, each within 1 mm / 0.05 deg after the rig-file fit, pairs within 2 mm / 0.1 deg,
    exit 0. Every held-out RMS under 0.5 px; cam-a's is the joint one (cam-b, its only neighbour, never sees as much of
    the board as cam-a in a held-out frameset, so cam-a cannot be measured left out of the board's fit)."""
    rec = tmp_path / "chain.mcap"
    assert main(["capture", str(RIG), "--fast", "--seconds", "30", "--out", str(rec), "--quiet"]) == 0
    assert main(["calibrate", str(rec), "-o", str(tmp_path / "c.json")]) == 0
    cal = load_calibration(tmp_path / "c.json")
    assert sorted(c.key for c in cal.cameras) == ["cam-a/color", "cam-b/color", "cam-c/color"]
    methods = {c.key: c.held_out.method for c in cal.cameras if c.held_out is not None}
    assert methods == {"cam-a/color": "joint", "cam-b/color": "leave-camera-out", "cam-c/color": "leave-camera-out"}
    assert all(c.held_out is not None and c.held_out.rms_px < 0.5 for c in cal.cameras), cal.cameras
    rig = load_rig(RIG)
    solved, truth = {}, {}
    for cam in cal.cameras:
        solved[cam.key] = g.pose(np.array(cam.rotation).reshape(3, 3), cam.translation_m)
        pose = rig.device(cam.device).pose
        assert pose is not None
        truth[cam.key] = g.camera_to_world(pose)
        assert np.linalg.norm(solved[cam.key][:3, 3] - truth[cam.key][:3, 3]) < 0.001, cam.key
        assert g.angle_deg(solved[cam.key][:3, :3], truth[cam.key][:3, :3]) < 0.05, cam.key
    for a, b in itertools.combinations(sorted(solved), 2):
        got, want = g.inverse(solved[a]) @ solved[b], g.inverse(truth[a]) @ truth[b]
        assert np.linalg.norm(got[:3, 3] - want[:3, 3]) < 0.002, (a, b)
        assert g.angle_deg(got[:3, :3], want[:3, :3]) < 0.1, (a, b)
