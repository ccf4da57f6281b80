"""The solver against synthetic truth: a board moving in front of known cameras, corners projected with noise."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from tests.calib.synthetic import FRAME_NS, ring, views

from rigsync.calib import geometry as g
from rigsync.calib.origin import place
from rigsync.calib.solve import CalibrationError, solve
from rigsync.calib.views import FramesetViews


def _truth(cams):
    return {k: g.camera_to_world(p) for k, p in cams.items()}


def _pose_errors(sol, cams):
    placed = place("rig-file", sol.root, sol.rig_from_camera, sol.rig_from_board, _truth(cams))
    truth = _truth(cams)
    pos = {k: float(np.linalg.norm(m[:3, 3] - truth[k][:3, 3])) for k, m in placed.rig_from_camera.items()}
    ang = {k: g.angle_deg(m[:3, :3], truth[k][:3, :3]) for k, m in placed.rig_from_camera.items()}
    return pos, ang


@pytest.fixture(scope="module")
def five():
    cams = ring(5)
    fs, k = views(cams, 120, noise_px=0.1)
    return cams, fs, k, solve(fs, sorted(cams), k, {}, 0.1)


def test_poses_match_truth_within_2mm_and_a_tenth_of_a_degree(five):
    """Five cameras, 0.1 px corner noise: every camera within 2 mm and 0.1 deg of truth after the rig fit."""
    cams, _, _, sol = five
    pos, ang = _pose_errors(sol, cams)
    assert set(pos) == set(cams) and not sol.disconnected
    assert max(pos.values()) < 0.002, pos
    assert max(ang.values()) < 0.1, ang


def test_held_out_error_measures_the_noise(five):
    """Held-out RMS per camera is near the corner noise (0.1 px per axis: ~0.14 px), on 1/7 of the framesets."""
    cams, fs, _, sol = five
    assert len(sol.held_out) == len([i for i in range(len(fs)) if i % 7 == 3])
    assert not set(sol.held_out) & set(sol.used)
    for key in cams:
        e = sol.errors[key]
        assert 0.10 < e.rms_px < 0.2, (key, e)
        assert e.p95_px > e.rms_px


def test_a_wrong_pose_shows_in_the_held_out_error(five):
    """The held-out error is measured from the other cameras' board: a camera moved 1 cm shows > 0.5 px."""
    from rigsync.calib.holdout import held_out_errors, split

    _, fs, k, sol = five
    _, held = split([f for f in fs if len(f.views) >= 2])
    moved = dict(sol.rig_from_camera)
    moved["cam2/color"] = moved["cam2/color"] @ g.pose(np.eye(3), [0.01, 0.0, 0.0])
    errors = held_out_errors(held, moved, k)
    assert errors["cam2/color"].rms_px > 0.5
    assert max(errors, key=lambda key: errors[key].rms_px) == "cam2/color"


def test_a_chain_rig_is_tied_through_its_only_neighbour():
    """A camera that sees the board only with one neighbour is calibrated through it, within the limits."""
    cams = ring(4, arc_deg=150)
    fs, k = views(cams, 240, noise_px=0.1)
    chained = []
    for f in fs:  # even framesets: only cam0 and cam1 saw the board; odd: all but cam0
        pair = f.frameset_id % 2 == 0
        keep = [v for v in f.views if (v.key in ("cam0/color", "cam1/color") if pair else v.key != "cam0/color")]
        chained.append(FramesetViews(f.frameset_id, f.rig_time_ns, tuple(keep)))
    sol = solve(chained, sorted(cams), k, {}, 0.1)
    assert {p if c == "cam0/color" else c for p, c, _ in sol.tree if "cam0/color" in (p, c)} == {"cam1/color"}
    assert all(sol.pair_views.get(f"cam0/color {o}", 0) == 0 for o in ("cam2/color", "cam3/color"))
    pos, ang = _pose_errors(sol, cams)
    assert max(pos.values()) < 0.002 and max(ang.values()) < 0.1, (pos, ang)


def test_a_camera_sharing_no_view_is_named_with_its_nearest_neighbour(five):
    """A camera that never saw the board with another is left out, and the report names whom to pair it with."""
    cams, fs, k, _ = five
    apart = []
    for f in fs:  # cam4's views moved to framesets of their own
        lone = tuple(v for v in f.views if v.key == "cam4/color")
        rest = tuple(v for v in f.views if v.key != "cam4/color")
        apart += [FramesetViews(f.frameset_id, f.rig_time_ns, rest)] if rest else []
        apart += [FramesetViews(f.frameset_id + 10_000, f.rig_time_ns, lone)] if lone else []
    positions = {key: m[:3, 3] for key, m in _truth(cams).items()}
    sol = solve(apart, sorted(cams), k, {}, 0.1, positions)
    assert set(sol.rig_from_camera) == {"cam0/color", "cam1/color", "cam2/color", "cam3/color"}
    assert sol.disconnected == {"cam4/color": "cam4/color shares no board view with the others: show the board "
                                              "to cam4/color and cam3/color at once"}


FREE_OFFSETS = {"cam0/color": 0, "cam1/color": 7_000_000, "cam2/color": 15_000_000}


def test_a_free_running_rig_with_a_waved_board_is_calibrated_by_modelling_the_motion():
    """Members exposed up to 15 ms apart while the board is waved (the stamps exact): the board's motion within each
    frameset is modelled, no view is rejected, and every camera is within 2 mm and 0.1 deg."""
    cams = ring(3)
    fs, k = views(cams, 80, offsets_ns=FREE_OFFSETS, speed=6.0)
    sol = solve(fs, sorted(cams), k, {}, 0.1)
    assert not sol.selection.rejected and sol.moving == len(sol.used)
    pos, ang = _pose_errors(sol, cams)
    assert max(pos.values()) < 0.002 and max(ang.values()) < 0.1, (pos, ang)


def test_a_free_running_rig_with_uncertain_stamps_is_refused_with_the_reason():
    """The same take with every stamp uncertain by 2 ms: what cannot be modelled (speed x stamp error) is over
    0.1 px in every view, so the calibration is refused, saying why."""
    cams = ring(3)
    fs, k = views(cams, 80, offsets_ns=FREE_OFFSETS, speed=6.0)
    loose = [FramesetViews(f.frameset_id, f.rig_time_ns, tuple(replace(v, error_bound_ns=2_000_000) for v in f.views))
             for f in fs]
    with pytest.raises(CalibrationError, match=r"views in [0-9]+ of 80 framesets with the board were rejected "
                                               r"because the board moved between their members: expected corner "
                                               r"error from [0-9.]+ px to [0-9.]+ px, limit 0.1 px"):
        solve(loose, sorted(cams), k, {}, 0.1)


ROLLING_LINE_NS = 16_000_000 / 240
"""A rolling shutter reading 240 rows in 16 ms (the Azure Kinect's colour at the simulator's 320 x 240)."""


@pytest.fixture(scope="module")
def rolling():
    """Four rolling-shutter cameras exposed 4 ms apart (8 ms exposures), a board moving ~0.3 m/s and ~1 rad/s:
    every corner seen at its own row's instant, the stamps exact, 0.05 px noise."""
    cams = ring(4, radius_m=1.6)
    offsets = {key: i * 4_000_000 for i, key in enumerate(sorted(cams))}
    fs, k = views(cams, 60, noise_px=0.05, offsets_ns=offsets, speed=2.0, line_ns=ROLLING_LINE_NS,
                  exposure_ns=8_000_000)
    return cams, fs, k, {key: ROLLING_LINE_NS for key in cams}


def test_rolling_shutter_and_member_offsets_are_modelled(rolling):
    """With the board's motion modelled, no view is rejected, every camera is within 1 mm and 0.05 deg of truth
    (the noise floor of this take), and the held-out error is the corner noise (0.05 px per axis: ~0.07 px)."""
    cams, fs, k, line = rolling
    sol = solve(fs, sorted(cams), k, line, 0.1)
    assert not sol.selection.rejected and sol.moving == len(sol.used) > 40
    pos, ang = _pose_errors(sol, cams)
    assert max(pos.values()) < 0.001 and max(ang.values()) < 0.05, (pos, ang)
    assert all(0.05 < e.rms_px < 0.1 for e in sol.errors.values()), sol.errors


def test_without_the_motion_model_the_same_take_is_wrong(rolling):
    """The same views solved as one instant per frameset (every view let in): poses off by over 2 mm or 0.1 deg,
    and the held-out errors larger: the model is what makes the take usable."""
    cams, fs, k, line = rolling
    sol = solve(fs, sorted(cams), k, line, 100.0, motion=False)
    assert sol.moving == 0
    pos, ang = _pose_errors(sol, cams)
    assert max(pos.values()) > 0.003 or max(ang.values()) > 0.12, (pos, ang)
    assert max(e.rms_px for e in sol.errors.values()) > 0.1, sol.errors


def test_a_free_running_rig_calibrates_from_the_moments_the_board_is_still():
    """Unsynchronized members, board held still between moves: the moving framesets are rejected, the rest
    calibrate within 2 mm and 0.1 deg."""
    cams = ring(3)
    offsets = {"cam0/color": 0, "cam1/color": 7_000_000, "cam2/color": 15_000_000}
    fs, k = views(cams, 120, offsets_ns=offsets, hold=True, noise_px=0.05)
    sol = solve(fs, sorted(cams), k, {}, 0.1)
    assert sol.selection.rejected and sol.selection.kept
    assert all(e > 0.1 for _, e in sol.selection.rejected)
    pos, ang = _pose_errors(sol, cams)
    assert max(pos.values()) < 0.002 and max(ang.values()) < 0.1, (pos, ang)


def test_expected_error_is_speed_times_lag_including_the_rolling_shutter():
    """A view 10 ms off the set while its corners move 100 px/s expects 0.5 px (mean-centred); rows add line time."""
    from rigsync.calib.select import expected_error_px
    from rigsync.calib.views import BoardView

    ids = np.arange(6, dtype=np.int32)
    obj = np.zeros((6, 3))
    px = np.tile([[100.0, 50.0]], (6, 1))
    a = BoardView("a/c", 1, 0, ids, obj, px)
    b = BoardView("b/c", 1, 10_000_000, ids, obj, px, error_bound_ns=0)
    fs = FramesetViews(1, 5_000_000, (a, b))
    speeds = {("a/c", 1): 0.0, ("b/c", 1): 100.0 / 1e9}
    assert expected_error_px(fs, speeds, {}) == pytest.approx(0.5)
    # a rolling shutter of 10 us per row: the lowest corner (row 50) is exposed 0.5 ms later: +0.05 px
    assert expected_error_px(fs, speeds, {"b/c": 10_000.0}) == pytest.approx(0.55)
    assert expected_error_px(fs, {("a/c", 1): 0.0, ("b/c", 1): None}, {}) == float("inf")


def test_with_motion_modelled_only_the_stamp_error_and_acceleration_count():
    """A frameset whose members are 10 ms apart has its motion modelled: a view's expected error is its speed times
    its stamp error bound plus half its acceleration times its time from the set's reference squared."""
    from rigsync.calib.select import expected_error_px, view_errors_px
    from rigsync.calib.views import BoardView

    ids = np.arange(6, dtype=np.int32)
    obj = np.zeros((6, 3))
    px = np.tile([[100.0, 50.0]], (6, 1))
    a = BoardView("a/c", 1, 0, ids, obj, px)
    b = BoardView("b/c", 1, 10_000_000, ids, obj, px, error_bound_ns=50_000)
    fs = FramesetViews(1, 5_000_000, (a, b))
    speeds = {("a/c", 1): 100.0 / 1e9, ("b/c", 1): 100.0 / 1e9}
    accels = {("a/c", 1): 1000.0 / 1e18, ("b/c", 1): 1000.0 / 1e18}
    # b: 100 px/s x 50 us + 1000 px/s^2 x (5 ms from the reference)^2 / 2; a: no stamp error, the same 5 ms
    assert view_errors_px(fs, speeds, {}, accels) == pytest.approx([0.0125, 0.005 + 0.0125])
    assert expected_error_px(fs, speeds, {}, {("a/c", 1): None, ("b/c", 1): 0.0}) == float("inf")
    # a rolling shutter moves each corner's time by line time x row: b's row-50 corners 0.5 ms later
    assert view_errors_px(fs, speeds, {"b/c": 10_000.0}, accels)[1] == pytest.approx(0.005 + 0.5e-15 * 5.25e6 ** 2)


def test_the_lagging_view_is_taken_out_and_the_rest_kept():
    """Without the motion model: three views, one 30 ms late on a moving board: it alone is taken out (its error
    stated), the others kept."""
    from rigsync.calib.select import select
    from rigsync.calib.views import BoardView

    ids = np.arange(6, dtype=np.int32)
    grid = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [0, 1, 0], [1, 1, 0], [2, 1, 0]], dtype=float) * 0.08
    sets = []
    for f in range(3):  # each camera's corners move 100 px/s to the right
        t = f * FRAME_NS
        views_ = [BoardView(key, f, t + lag, ids, grid, np.c_[100.0 + 100.0 * (t + lag) / 1e9 + grid[:, 0],
                                                              50.0 + grid[:, 1]])
                  for key, lag in (("a/c", 0), ("b/c", 0), ("c/c", 30_000_000))]
        sets.append(FramesetViews(f, t, tuple(views_)))
    sel = select(sets, {}, 0.1, motion=False)
    assert [fs.cameras() for fs in sel.kept] == [("a/c", "b/c")] * 3
    assert [fs.cameras() for fs, _ in sel.rejected] == [("c/c",)] * 3
    assert all(e == pytest.approx(100.0 * 0.020) for _, e in sel.rejected)  # 20 ms from the mean of the three


def test_solved_intrinsics_recover_the_true_camera():
    """--intrinsics solve from one camera's board views (0.1 px noise): focal length within 2%, and the principal
    point's error within three times the uncertainty the solve states."""
    from rigsync.calib.intrinsics import solve_intrinsics

    cams = ring(3, radius_m=1.1, arc_deg=60)  # near: the board fills much of the image, seen at many tilts
    fs, k = views(cams, 150, noise_px=0.1)
    own = [(v.board_m, v.pixels) for f in fs for v in f.views if v.key == "cam1/color"][::3]
    solved = solve_intrinsics("cam1/color", own, 320, 240)
    got, pp_deg = solved.intrinsics, solved.angle_deg
    truth = k["cam1/color"]
    assert abs(got.fx / truth.fx - 1) < 0.02 and abs(got.fy / truth.fy - 1) < 0.02, (got, truth)
    # the principal point's stated uncertainty covers its error (within 3 sigma), and is not needlessly loose
    err_deg = np.degrees(max(abs(got.cx - truth.cx) / got.fx, abs(got.cy - truth.cy) / got.fy))
    assert err_deg < 3 * pp_deg < 3.0, (err_deg, pp_deg)
    assert got.distortion_model == "plumb_bob" and len(got.distortion) == 5
    with pytest.raises(CalibrationError, match="needs the board in at least 8 of its images, it is in 3"):
        solve_intrinsics("cam1/color", own[:3], 320, 240)


def test_a_camera_origin_makes_that_camera_the_identity(five):
    """--origin CAMERA: that camera's pose is the identity, the others keep their relative poses."""
    cams, _, _, sol = five
    placed = place("cam2/color", sol.root, sol.rig_from_camera, sol.rig_from_board, {})
    assert placed.origin == "cam2/color" and np.allclose(placed.rig_from_camera["cam2/color"], np.eye(4))
    rel = g.inverse(sol.rig_from_camera["cam2/color"]) @ sol.rig_from_camera["cam0/color"]
    assert np.allclose(placed.rig_from_camera["cam0/color"], rel)
    from rigsync.core.errors import OptionError

    with pytest.raises(OptionError, match='--origin = "cam9/color": not a calibrated camera'):
        place("cam9/color", sol.root, sol.rig_from_camera, sol.rig_from_board, {})
    with pytest.raises(OptionError, match="the rig file declares no pose for cam0/color"):
        place("rig-file", sol.root, sol.rig_from_camera, sol.rig_from_board, {})
    assert cams


def test_a_camera_left_out_takes_the_cameras_only_tied_through_it():
    """cam0 and cam1 keep two framesets each: both are left out as sharing too few views, named with whom to pair
    them, and the rest calibrated."""
    cams = ring(4, arc_deg=150)
    fs, k = views(cams, 120, noise_px=0.1)
    cut = []
    for f in fs:  # cam1 keeps two framesets, only with cam0; cam0 keeps nothing else
        keep = [v for v in f.views if v.key not in ("cam0/color", "cam1/color")
                or (f.frameset_id in (10, 11) and v.key in ("cam0/color", "cam1/color"))]
        cut.append(FramesetViews(f.frameset_id, f.rig_time_ns, tuple(keep)))
    sol = solve(cut, sorted(cams), k, {}, 0.1)
    assert set(sol.rig_from_camera) == {"cam2/color", "cam3/color"}
    for key in ("cam0/color", "cam1/color"):
        assert sol.disconnected[key].startswith(f"{key} shares only "), sol.disconnected
        assert "with the others (needs 3): show the board to" in sol.disconnected[key]
