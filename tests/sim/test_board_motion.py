"""The hand-held calibration board: it moves, is rendered where the truth says (colour, IR, depth; global and
rolling shutters), hides and is hidden by the rest of the scene, and is off unless a rig asks for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rigsync.core.errors import RigFileError
from rigsync.core.frame import StreamKind
from rigsync.core.geometry import Pose
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers.sim.board_motion import BoardMotion
from rigsync.drivers.sim.board_truth import board_face, board_sighting
from rigsync.drivers.sim.scene import BoardSide, CameraView, Scene, SceneConfig
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.spec import loads_rig

SMALL = Intrinsics.from_hfov(320, 240, 70.0)
MOTION = BoardMotion(center_m=(0.0, 0.0, 0.8), reach_m=(0.15, 0.15, 0.1), seed=3)
TIMES_NS = [0, 1_300_000_000, 2_600_000_000, 4_100_000_000, 5_700_000_000, 7_300_000_000]


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene(SceneConfig(seed=3, board_motion=MOTION))


def _errors(scene: Scene, view: CameraView, image: Any, start_ns: int, end_ns: int, line_ns: float,
            rolling_truth: bool = True) -> tuple[BoardSide, np.ndarray]:
    """Distances (px) from each detected ChArUco corner to the truth's projection."""
    truth = board_sighting(scene, view, start_ns, end_ns, line_ns if rolling_truth else 0.0)
    board = scene.charuco_board(truth.side)
    corners, ids, _, _ = cv2.aruco.CharucoDetector(board).detectBoard(image)
    assert ids is not None and len(ids) >= 6, f"board not detected at {start_ns} ns"
    if not rolling_truth:  # the truth of a global shutter at the frame's middle row
        mid = start_ns + round(line_ns * (view.intrinsics.height - 1) / 2)
        truth = board_sighting(scene, view, mid, mid + end_ns - start_ns, 0.0)
    return truth.side, np.linalg.norm(corners.reshape(-1, 2) - truth.corners_px[ids.ravel()], axis=1)


def test_board_moves_and_tilts_along_a_smooth_seeded_path() -> None:
    """The pose changes over time, smoothly (no jump between 1 ms steps), tilts both ways, and repeats per seed."""
    t = np.arange(0, 20_000_000_000, 1_000_000)
    rotation, translation = MOTION.pose(t, (0.56, 0.4))
    steps = np.linalg.norm(np.diff(translation, axis=0), axis=1)
    assert steps.max() < 0.5e-3 and np.ptp(translation[:, 0]) > 0.25
    tilt = np.degrees(np.arcsin(rotation[:, 2, 2]))  # the board normal against the horizontal: forward/back tilt
    assert tilt.min() < -30 and tilt.max() > 30
    again = BoardMotion(center_m=(0.0, 0.0, 0.8), reach_m=(0.15, 0.15, 0.1), seed=3).pose(t[:5], (0.56, 0.4))
    other = BoardMotion(center_m=(0.0, 0.0, 0.8), reach_m=(0.15, 0.15, 0.1), seed=4).pose(t[:5], (0.56, 0.4))
    assert np.array_equal(again[1], translation[:5]) and not np.allclose(other[1], translation[:5])


def test_detected_corners_match_truth_global_shutter_320(scene: Scene) -> None:
    """At 320x240, detected corners lie within 0.3 px RMS of the truth projected with the camera's intrinsics."""
    view = scene.view(Pose((0.1, -0.85, 0.9), (0.0, 0.0, 0.8)), SMALL)
    renderer = scene.renderer(view, StreamKind.COLOR, "bgr8")
    errors = np.concatenate([_errors(scene, view, renderer.render(t), t, t, 0.0)[1] for t in TIMES_NS])
    assert float(np.sqrt(np.mean(errors**2))) < 0.3


def test_detected_corners_match_truth_to_hundredths_at_high_resolution(scene: Scene) -> None:
    """At 1280x960 (the geometry without the detector's small-image noise) corners lie within 0.1 px RMS, half
    of them within 0.06 px."""
    view = scene.view(Pose((0.0, -1.2, 0.8), (0.0, 0.0, 0.8)), Intrinsics.from_hfov(1280, 960, 70.0))
    renderer = scene.renderer(view, StreamKind.COLOR, "rgb8")
    errors = np.concatenate([_errors(scene, view, renderer.render(t), t, t, 0.0)[1] for t in TIMES_NS])
    assert float(np.sqrt(np.mean(errors**2))) < 0.1 and float(np.median(errors)) < 0.06


def test_back_face_seen_from_behind_in_ir(scene: Scene) -> None:
    """A camera behind the board sees the back face (markers 17..33) in IR, where the back's truth projects it."""
    view = scene.view(Pose((0.1, 0.85, 0.9), (0.0, 0.0, 0.8)), SMALL)
    renderer = scene.renderer(view, StreamKind.IR, "mono8")
    errors = []
    for t in TIMES_NS:
        assert board_face(scene, view, t) is BoardSide.BACK
        side, e = _errors(scene, view, renderer.render(t), t, t, 0.0)
        assert side is BoardSide.BACK
        errors.append(e)
    assert float(np.sqrt(np.mean(np.concatenate(errors) ** 2))) < 0.3


def test_rolling_shutter_shows_each_row_at_its_own_time() -> None:
    """A waved board seen by a rolling shutter matches the truth at each row's time, not at one time for all rows."""
    fast = Scene(SceneConfig(seed=3, board_motion=BoardMotion(center_m=(0.0, 0.0, 0.8), reach_m=(0.15, 0.15, 0.1),
                                                              speed=4.0, seed=3)))
    view = fast.view(Pose((0.1, -0.85, 0.9), (0.0, 0.0, 0.8)), SMALL)
    renderer = fast.renderer(view, StreamKind.COLOR, "rgb8")
    line_ns = 30_000_000 / 240  # a 30 ms readout
    rolling, frozen = [], []
    for t in TIMES_NS:
        image = renderer.render(t, exposure_end_ns=t + 4_000_000, line_ns=line_ns)
        rolling.append(_errors(fast, view, image, t, t + 4_000_000, line_ns)[1])
        frozen.append(_errors(fast, view, image, t, t + 4_000_000, line_ns, rolling_truth=False)[1])
    rms_rolling = float(np.sqrt(np.mean(np.concatenate(rolling) ** 2)))
    rms_frozen = float(np.sqrt(np.mean(np.concatenate(frozen) ** 2)))
    assert rms_rolling < 0.3 and rms_frozen > 2 * rms_rolling


def test_depth_shows_the_board_and_the_board_hides_the_panel(scene: Scene) -> None:
    """Depth at the board's centre is its camera z (to the mm); where the board passes, the static world is hidden."""
    view = scene.view(Pose((0.1, -0.85, 0.9), (0.0, 0.0, 0.8)), SMALL)
    depth = scene.renderer(view, StreamKind.DEPTH, "16UC1")
    static = scene.raster(view).depth_mm
    for t in TIMES_NS[:3]:
        rotation, translation = scene.board_pose(t, BoardSide.FRONT)
        centre = rotation @ np.array([0.28, 0.2, 0.0]) + translation
        (u, v), z = (a[0] for a in view.project(centre))
        image = depth.render(t)
        assert abs(int(image[round(v), round(u)]) - z * 1000) <= 1.5
        assert np.count_nonzero(image != static) > 1000


def test_static_world_in_front_hides_the_board() -> None:
    """Where the timecode box is nearer than the board, depth keeps the box; the board only replaces farther things."""
    scene = Scene(SceneConfig(seed=3, board_motion=BoardMotion(center_m=(0.4, 0.7, 1.3), reach_m=(0.0, 0.0, 0.0),
                                                               tilt_deg=0.0, seed=3)))
    view = scene.view(Pose((0.0, -2.0, 1.3), (0.0, 0.0, 1.3)), SMALL)
    image = scene.renderer(view, StreamKind.DEPTH, "16UC1").render(0)
    static = scene.raster(view).depth_mm
    rotation, translation = scene.board_pose(0)
    m = scene.config.board_margin_m
    outline = np.array([[-m, -m, 0], [0.56 + m, -m, 0], [0.56 + m, 0.4 + m, 0], [-m, 0.4 + m, 0]]) @ rotation.T
    corners, _ = view.project(outline + translation)
    behind = np.zeros(static.shape, np.uint8)
    cv2.fillConvexPoly(behind, np.rint(corners).astype(np.int32), 1)
    changed = image != static
    assert changed.sum() > 500 and np.all((image[changed] < static[changed]) | (static[changed] == 0))
    hidden = (behind == 1) & ~changed & (static > 0) & (static < 2000)  # the box, nearer than the board
    assert hidden.sum() > 500


def test_sphere_in_front_of_board_hides_it_and_behind_is_hidden() -> None:
    """The sphere and the board are depth-tested against each other in every frame."""
    config = SceneConfig(seed=3, board_motion=BoardMotion(center_m=(0.0, 0.0, 0.55), reach_m=(0.0, 0.0, 0.0),
                                                          tilt_deg=0.0, seed=3))
    scene = Scene(config)
    view = scene.view(Pose((0.0, -2.5, 0.6), (0.0, 0.0, 0.55)), SMALL)
    renderer = scene.renderer(view, StreamKind.DEPTH, "16UC1")
    seen = {True: 0, False: 0}
    for t in range(0, 4_000_000_000, 50_000_000):
        centre = np.array(scene.object_position_m(t))
        if abs(centre[0]) > 0.15:  # not in line with the board
            continue
        (u, v), z = (a[0] for a in view.project(centre))
        near_m = renderer.render(t)[round(v), round(u)] / 1000.0
        in_front = bool(centre[1] < 0)
        seen[in_front] += 1
        if in_front:  # the sphere's front surface
            assert abs(near_m - (z - config.object_radius_m)) < 0.02
        else:  # the board, well before the sphere
            assert near_m < z - config.object_radius_m - 0.5
    assert seen[True] > 0 and seen[False] > 0


def test_default_scene_keeps_the_upright_board() -> None:
    """Without board motion the board stands still, upright: board_pose is board_to_world at every time."""
    scene = Scene(SceneConfig(seed=3))
    for side in BoardSide:
        for t in (0, 5_000_000_000):
            r, t_m = scene.board_pose(t, side)
            r0, t0 = scene.board_to_world(side)
            assert np.array_equal(r, r0) and np.array_equal(t_m, t0)


EXAMPLE = Path(__file__).parents[2] / "examples" / "calib_three.toml"


def _with_board(board: str) -> str:
    """calib_three.toml with its [sim.board] table replaced by ``board`` (TOML lines under [sim], or a table)."""
    text = EXAMPLE.read_text()
    start = text.index("\n[sim.board]\n")
    text = text[:start] + text[text.index("[[hosts]]"):]
    if board.startswith("["):
        return f"{text}\n{board}\n"
    return text.replace("[sim]\n", f"[sim]\n{board}\n", 1)


def test_rig_file_board_table_reaches_the_scene() -> None:
    """[sim.board] sets the scene's board motion (wave: 4 x the speed); ``board = true`` the defaults; absent: none."""
    table = ('[sim.board]\nmotion = "wave"\ncenter_m = [0.1, -0.5, 1.0]\nreach_m = [0.2, 0.1, 0.05]\n'
             'tilt_deg = 30\nheading_deg = 90\nspin_s = 10')
    cases = [(table, BoardMotion(center_m=(0.1, -0.5, 1.0), reach_m=(0.2, 0.1, 0.05), tilt_deg=30.0,
                                 heading_deg=90.0, spin_period_s=10.0, speed=4.0, seed=120)),
             ("board = true", BoardMotion(center_m=(0.0, 0.0, 0.9), seed=120)), ("board = false", None), ("", None)]
    for board, motion in cases:
        rig = loads_rig(_with_board(board), "r.toml")
        assert SimWorld(rig, build_plan(rig)).scene.config.board_motion == motion


@pytest.mark.parametrize(("board", "field", "allowed"), [
    ('[sim.board]\nmotion = "fast"', "sim.board.motion", "slow, wave"),
    ("[sim.board]\ntilt_deg = 95", "sim.board.tilt_deg", "0 to 80"),
    ("[sim.board]\nreach_m = [0.1, -0.1, 0.1]", "sim.board.reach_m", "0 to 10"),
    ("[sim.board]\nspeed = 2", "sim.board.speed", "motion"),
    ('board = "yes"', "sim.board", None),
])
def test_bad_board_settings_name_the_field(board: str, field: str, allowed: str | None) -> None:
    """A bad [sim.board] value is refused with the file, the field path and what is allowed."""
    with pytest.raises(RigFileError) as err:
        loads_rig(_with_board(board), "r.toml")
    assert err.value.file == "r.toml" and err.value.field == field, str(err.value)
    if allowed is not None:
        assert allowed in (err.value.allowed or ""), str(err.value)
