"""The calibration example rigs give a calibrator what it needs, from the simulator's truth: over a short take
every camera sees the full board in many framesets, the board is detected where the truth puts it, the chain
rig's outer cameras never see the board together, and the free-running rig's framesets hold real motion."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rigsync.boards.charuco import sim_board
from rigsync.cli.main import main
from rigsync.drivers.sim._model import SIM_EPOCH_NS
from rigsync.drivers.sim.board_truth import board_sighting
from rigsync.drivers.sim.board_views import BoardViewCounts, count_board_views, in_step_framesets, rig_cameras
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.record.reader import open_recording
from rigsync.spec.loader import load_rig

EXAMPLES = Path(__file__).parents[2] / "examples"
SECONDS = 2.0


TAKE_S = 15.0


@pytest.fixture(scope="module")
def counts() -> dict[str, BoardViewCounts]:
    """The synced examples' board views over a TAKE_S take, every camera exposing at once at 30 fps (truth only)."""
    out = {}
    for name in ("calib_three", "calib_nine", "calib_chain"):
        rig = load_rig(EXAMPLES / f"{name}.toml")
        world = SimWorld(rig, build_plan(rig))
        cameras = rig_cameras(world)
        out[name] = count_board_views(world.scene, cameras, in_step_framesets(cameras, 33_333_333, 4_000_000,
                                                                                TAKE_S, start_ns=SIM_EPOCH_NS))
    return out


@pytest.fixture(scope="module")
def takes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The calibration examples whose recorded framesets and images are checked, captured for SECONDS (--fast)."""
    out = tmp_path_factory.mktemp("calib")
    names = ("calib_nine", "calib_freerun")
    for name in names:
        assert main(["capture", str(EXAMPLES / f"{name}.toml"), "--seconds", str(SECONDS), "--fast", "--quiet",
                     "--out", str(out / f"{name}.mcap")]) == 0
    return {name: out / f"{name}.mcap" for name in names}


@pytest.mark.parametrize(("name", "cameras", "at_least"), [("calib_three", 3, 0.5), ("calib_nine", 9, 0.3),
                                                           ("calib_chain", 3, 0.06)])
def test_every_camera_sees_the_full_board_in_many_framesets(
        counts: dict[str, BoardViewCounts], name: str, cameras: int, at_least: float) -> None:
    """Over the take, each camera sees the full board in at least the given share of the framesets."""
    c = counts[name]
    assert c.framesets == 450 and len(c.cameras) == cameras
    assert min(c.cameras.values()) >= at_least * c.framesets, c.cameras


def test_synced_rigs_have_pairs_that_share_the_full_board(counts: dict[str, BoardViewCounts]) -> None:
    """Every pair of calib_three, and every pair of ring neighbours of calib_nine, sees the full board at once."""
    three, nine = counts["calib_three"], counts["calib_nine"]
    assert len(three.pairs) == 3 and min(three.pairs.values()) >= 0.25 * three.framesets
    neighbours = [tuple(sorted(((f"k{i}", "color"), (f"k{(i + 1) % 9}", "color")))) for i in range(9)]
    assert all(nine.pairs[pair] >= 0.15 * nine.framesets for pair in neighbours), nine.pairs


def test_chain_outer_cameras_see_the_board_only_with_the_middle_one(counts: dict[str, BoardViewCounts]) -> None:
    """In calib_chain cam-a and cam-c never see any of the board in one frameset; each shares corners with cam-b."""
    c = counts["calib_chain"]
    assert c.seen_with_others("cam-c", {"cam-b"}) == 0
    assert c.seen_with_others("cam-a", {"cam-b"}) == 0
    assert counts["calib_three"].seen_with_others("cam-c", {"cam-b"}) > 100  # the count does see overlaps
    for outer in ("cam-a", "cam-c"):  # the check is not vacuous: each sees the board often
        assert sum(outer in {d for d, _ in seen} for seen in c.partial) > 60
    b, a, cc = ("cam-b", "color"), ("cam-a", "color"), ("cam-c", "color")
    assert c.shared[(a, b)] > 20 and c.shared[(b, cc)] > 20 and c.shared[(a, cc)] == 0


def test_freerun_framesets_hold_board_motion(takes: dict[str, Path]) -> None:
    """In calib_freerun the members of a frameset are milliseconds apart and the board moves centimetres between
    them (from the truth), unlike in the synced calib_nine."""
    def motion_mm(name: str) -> float:
        path = takes[name]
        rig = load_rig(EXAMPLES / f"{name}.toml")
        scene = SimWorld(rig, build_plan(rig)).scene
        with open_recording(path) as rec:
            truth = {(t.device, t.stream, t.seq): t.exposure_start_ns for t in rec.truth()}
            moved = []
            for fs in rec.framesets():
                starts = [truth[(m.device, m.stream, m.seq)] for m in fs.members]
                (_, t0), (_, t1) = (scene.board_pose(min(starts)), scene.board_pose(max(starts)))
                moved.append(float(np.linalg.norm(t1 - t0)) * 1000)
        return float(np.median(moved))
    assert motion_mm("calib_freerun") > 5.0
    assert motion_mm("calib_nine") < 0.1


@pytest.mark.parametrize("name", ["calib_nine", "calib_freerun"])
def test_recorded_images_show_the_board_where_the_truth_puts_it(
        takes: dict[str, Path], name: str) -> None:
    """In recorded images where the truth says a camera sees the full board, CharucoDetector finds it (most of the
    time) and its corners lie within 0.5 px RMS of the truth at each row's time (rolling shutters included)."""
    path = takes[name]
    rig = load_rig(EXAMPLES / f"{name}.toml")
    world = SimWorld(rig, build_plan(rig))
    cameras = rig_cameras(world)
    detectors = [cv2.aruco.CharucoDetector(b) for b in sim_board().to_cv2()]
    full = found = 0
    errors = []
    with open_recording(path) as rec:
        truth = {(t.device, t.stream, t.seq): (t.exposure_start_ns, t.exposure_end_ns) for t in rec.truth()}
        for i, (fs, images) in enumerate(rec.framesets_with_images()):
            if i % 8:
                continue
            for m in fs.members:
                key = (m.device, m.stream)
                camera = cameras[key]
                seen = board_sighting(world.scene, camera.view, *truth[(m.device, m.stream, m.seq)], camera.line_ns)
                if not (seen.full and seen.incidence_deg <= 60):
                    continue
                full += 1
                corners, ids, _, _ = detectors[0 if seen.side.value == "front" else 1].detectBoard(images[key].image)
                if ids is None or len(ids) < 12:
                    continue
                found += 1
                errors.append(np.linalg.norm(corners.reshape(-1, 2) - seen.corners_px[ids.ravel()], axis=1))
    assert full >= 10 and found >= 0.6 * full
    assert float(np.sqrt(np.mean(np.concatenate(errors) ** 2))) < 0.5
