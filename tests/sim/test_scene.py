"""The simulator's shared scene: geometry, rendering, timecode read-back, damage and determinism."""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
import pytest

from rigsync.core.frame import StreamKind
from rigsync.core.geometry import Pose
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers.sim._scene_geometry import cast, rect_window
from rigsync.drivers.sim.scene import BoardSide, CameraView, Scene, SceneConfig, read_timecode
from rigsync.drivers.sim.timecode import TIMECODE_UNIT_NS, TIMECODE_WRAP_NS

SMALL = Intrinsics.from_hfov(320, 240, 70.0)


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene(SceneConfig(seed=11))


def ring_pose(angle_deg: float, radius_m: float, height_m: float, look_z_m: float = 1.0) -> Pose:
    a = math.radians(angle_deg)
    return Pose((radius_m * math.cos(a), radius_m * math.sin(a), height_m), (0.0, 0.0, look_z_m))


RING = [
    (angle, radius, height, hfov)
    for angle in range(0, 360, 30)
    for radius, height, hfov in ((1.5, 0.5, 90.0), (2.5, 1.5, 60.0), (4.0, 2.5, 60.0), (4.0, 0.5, 90.0))
]


@pytest.mark.parametrize(("angle", "radius", "height", "hfov"), RING)
def test_timecode_reads_back_from_around_the_ring(
    scene: Scene, angle: float, radius: float, height: float, hfov: float
) -> None:
    """From every ring pose (behind the board too) colour and IR frames decode to the exposure start, floored."""
    view = scene.view(ring_pose(angle, radius, height), Intrinsics.from_hfov(320, 240, hfov))
    colour = scene.renderer(view, StreamKind.COLOR, "rgb8")
    ir = scene.renderer(view, StreamKind.IR, "mono8", ir_dots=True)
    rng = np.random.default_rng(int(angle * 100 + radius * 10 + height))
    times = [int(t) for t in rng.integers(0, 2**62, 12)] + [0, TIMECODE_UNIT_NS - 1, TIMECODE_WRAP_NS]
    for t in times:
        for renderer in (colour, ir):
            read = read_timecode(renderer.render(t), renderer)
            assert read is not None, f"no panel read at t={t} from {view.pose}"
            assert 0 <= (t - read) % TIMECODE_WRAP_NS < TIMECODE_UNIT_NS


def test_timecode_is_absent_where_the_panel_is_not(scene: Scene) -> None:
    """read_timecode returns None for depth frames and for a camera that does not see the panel."""
    view = scene.view(ring_pose(0, 2.5, 1.5), SMALL)
    depth = scene.renderer(view, StreamKind.DEPTH, "16UC1")
    assert read_timecode(depth.render(0), depth) is None
    away = scene.view(Pose((3.0, 0.0, 1.0), (8.0, 0.0, 1.0)), SMALL)
    colour = scene.renderer(away, StreamKind.COLOR, "rgb8")
    assert read_timecode(colour.render(0), colour) is None


def test_timecode_reads_in_every_panel_encoding(scene: Scene) -> None:
    """bgr8, bgra8 and mono16 frames decode like rgb8 and mono8 do."""
    view = scene.view(ring_pose(135, 3.0, 2.0), SMALL)
    t = 987_654_321_987
    for kind, encoding in ((StreamKind.COLOR, "bgr8"), (StreamKind.COLOR, "bgra8"), (StreamKind.IR, "mono16")):
        renderer = scene.renderer(view, kind, encoding)
        assert read_timecode(renderer.render(t), renderer) == (t // TIMECODE_UNIT_NS) * TIMECODE_UNIT_NS
        assert renderer.read_timecode(renderer.render(t)) == (t // TIMECODE_UNIT_NS) * TIMECODE_UNIT_NS


def test_timecode_refuses_to_guess_ambiguous_cells(scene: Scene) -> None:
    """A frame whose cells are neither clearly lit nor dark (here uniform mid grey) reads as None, not a guess."""
    renderer = scene.renderer(scene.view(ring_pose(0, 2.5, 1.5), SMALL), StreamKind.COLOR, "rgb8")
    assert read_timecode(np.full(renderer.shape, 128, np.uint8), renderer) is None


def test_timecode_wrong_image_shape_is_refused(scene: Scene) -> None:
    """read_timecode refuses an image that is not from the renderer's stream."""
    renderer = scene.renderer(scene.view(ring_pose(0, 2.5, 1.5), SMALL), StreamKind.COLOR, "rgb8")
    with pytest.raises(ValueError, match="shape"):
        read_timecode(np.zeros((10, 10, 3), np.uint8), renderer)


@pytest.mark.parametrize(
    ("side", "position"),
    [(BoardSide.FRONT, (0.3, -1.6, 1.1)), (BoardSide.BACK, (-0.4, 1.8, 0.8)), (BoardSide.FRONT, (-0.6, -1.9, 1.4))],
)
def test_charuco_board_detected_and_pose_recovered(
    scene: Scene, side: BoardSide, position: tuple[float, float, float]
) -> None:
    """CharucoDetector finds the board in a 640x480 colour render and solvePnP recovers the camera within 3 cm."""
    intrinsics = Intrinsics.from_hfov(640, 480, 60.0)
    view = scene.view(Pose(position, (0.0, 0.0, 0.92)), intrinsics)
    image = scene.renderer(view, StreamKind.COLOR, "bgr8").render(0)
    board = scene.charuco_board(side)
    corners, ids, _, _ = cv2.aruco.CharucoDetector(board).detectBoard(image)
    assert ids is not None and len(ids) >= 20
    objects = board.getChessboardCorners()[ids.ravel()]
    k = np.array(intrinsics.k).reshape(3, 3)
    ok, rvec, tvec = cv2.solvePnP(objects, corners, k, None)
    assert ok
    rot_cb, _ = cv2.Rodrigues(rvec)
    camera_in_board = -rot_cb.T @ tvec.ravel()
    rot_bw, t_bw = scene.board_to_world(side)
    assert np.linalg.norm(rot_bw @ camera_in_board + t_bw - np.array(position)) < 0.03
    pixels, _ = view.project(objects @ rot_bw.T + t_bw)
    assert np.abs(pixels - corners.reshape(-1, 2)).max() < 1.0


def test_object_appears_where_projection_says(scene: Scene) -> None:
    """The sphere's pixels centre on project(object_position_m(t)), and depth there is its front surface."""
    view = scene.view(ring_pose(-60, 2.2, 1.2), SMALL)
    colour = scene.renderer(view, StreamKind.COLOR, "rgb8")
    depth = scene.renderer(view, StreamKind.DEPTH, "16UC1")
    period = scene.config.object_orbit_period_ns
    radius = scene.config.object_radius_m
    k = view.intrinsics
    checked = 0
    for t in range(0, period, period // 24):
        centre = scene.object_position_m(t)
        pixel, z = view.project([centre])
        u, v = pixel[0]
        if not (20 <= u < k.width - 20 and 20 <= v < k.height - 20):
            continue
        background = depth.render(t + period // 2).astype(np.float64) / 1000.0
        box = background[int(v) - 8 : int(v) + 9, int(u) - 8 : int(u) + 9]
        if not (box > z[0] + radius).all():  # partly hidden behind static geometry: skip
            continue
        img = colour.render(t).astype(np.int32)
        red = (img[..., 0] > 40) & (img[..., 0] > 2 * img[..., 1]) & (img[..., 0] > 2 * img[..., 2])
        vs, us = np.nonzero(red)
        assert len(us) > 20
        assert abs(us.mean() - u) < 1.0 and abs(vs.mean() - v) < 1.0
        pu, pv = round(u), round(v)
        d = np.array([(pu - k.cx) / k.fx, (pv - k.cy) / k.fy, 1.0])
        pc = view.to_camera([centre])[0]
        a, b, c = d @ d, d @ pc, pc @ pc - radius**2
        expected_mm = 1000.0 * (b - math.sqrt(b * b - a * c)) / a
        assert abs(float(depth.render(t)[pv, pu]) - expected_mm) <= 1.0
        checked += 1
    assert checked >= 3


def test_depth_of_frontal_board_is_its_distance(scene: Scene) -> None:
    """A camera 2 m in front of the board sees the whole board at 2000 mm (z-depth of a fronto-parallel plane)."""
    zc = scene.config.board_center_z_m
    view = scene.view(Pose((0.0, -2.0, zc), (0.0, 0.0, zc)), SMALL)
    image = scene.renderer(view, StreamKind.DEPTH, "16UC1").render(0)
    k = view.intrinsics
    assert abs(int(image[round(k.cy), round(k.cx)]) - 2000) <= 1
    half = scene.config.board_square_m * 2  # well inside the board
    (u0, v0), (u1, v1) = view.project([(-half, 0.0, zc + half), (half, 0.0, zc - half)])[0]
    patch = image[math.ceil(v0) : int(v1), math.ceil(u0) : int(u1)].astype(np.int64)
    assert patch.size > 100
    assert np.abs(patch - 2000).max() <= 1


def test_depth_back_projects_onto_known_surfaces(scene: Scene) -> None:
    """Every depth pixel from an oblique view back-projects within 3 mm onto the floor, board, panel box or sphere."""
    view = scene.view(ring_pose(-120, 2.0, 2.0, 0.8), SMALL)
    t = 1_234_567_890
    image = scene.renderer(view, StreamKind.DEPTH, "16UC1").render(t)
    k = view.intrinsics
    v, u = np.nonzero(image)
    z = image[v, u] / 1000.0
    cam = np.stack([(u - k.cx) / k.fx * z, (v - k.cy) / k.fy * z, z], axis=1)
    world = (cam - view.translation) @ view.rotation
    x, y, h = world.T
    tol = 0.003
    cfg = scene.config
    cols, rows = cfg.board_squares
    bw = cols * cfg.board_square_m / 2 + cfg.board_margin_m
    bh = rows * cfg.board_square_m / 2 + cfg.board_margin_m
    on_floor = np.abs(h) < tol
    on_board = (np.abs(y) < tol) & (np.abs(x) <= bw + tol) & (np.abs(h - cfg.board_center_z_m) <= bh + tol)
    lo, hi = (np.array(b) for b in scene.panel_box_m)
    inside = ((world >= lo - tol) & (world <= hi + tol)).all(axis=1)
    on_face = ((np.abs(world - lo) < tol) | (np.abs(world - hi) < tol)).any(axis=1)
    on_box = inside & on_face
    on_sphere = np.abs(np.linalg.norm(world - scene.object_position_m(t), axis=1) - cfg.object_radius_m) < tol
    assert on_floor.sum() > 1000 and on_board.sum() > 100 and on_box.sum() > 100
    assert (on_floor | on_board | on_box | on_sphere).all()


def _flags_view(scene: Scene) -> CameraView:
    return scene.view(ring_pose(-90, 2.0, 1.2), SMALL)


def test_interference_corrupts_depth_deterministically(scene: Scene) -> None:
    """interfered=True changes much of a depth frame, identically for identically seeded rngs."""
    renderer = scene.renderer(_flags_view(scene), StreamKind.DEPTH, "16UC1")
    clean = renderer.render(5_000_000)
    a = renderer.render(5_000_000, interfered=True, rng=np.random.default_rng(7))
    b = renderer.render(5_000_000, interfered=True, rng=np.random.default_rng(7))
    c = renderer.render(5_000_000, interfered=True, rng=np.random.default_rng(8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    valid = clean > 0
    assert (a[valid] != clean[valid]).mean() > 0.2
    assert (a[valid] == 0).mean() > 0.01  # dropouts


def test_corruption_tears_and_colours_frames_deterministically(scene: Scene) -> None:
    """corrupt=True tears a colour frame and fills a band of rows green or purple, identically per rng seed."""
    renderer = scene.renderer(_flags_view(scene), StreamKind.COLOR, "rgb8")
    clean = renderer.render(5_000_000)
    a = renderer.render(5_000_000, corrupt=True, rng=np.random.default_rng(3))
    b = renderer.render(5_000_000, corrupt=True, rng=np.random.default_rng(3))
    assert np.array_equal(a, b)
    assert (a != clean).any(axis=2).mean() > 0.1
    uniform_rows = [(row == row[0]).all() and tuple(row[0]) in {(0, 135, 0), (215, 40, 215)} for row in a]
    assert sum(uniform_rows) >= clean.shape[0] // 10
    depth = scene.renderer(_flags_view(scene), StreamKind.DEPTH, "16UC1")
    assert not np.array_equal(depth.render(0, corrupt=True, rng=np.random.default_rng(3)), depth.render(0))


def test_damage_without_rng_is_refused(scene: Scene) -> None:
    """interfered or corrupt rendering without an rng raises instead of using hidden randomness."""
    renderer = scene.renderer(_flags_view(scene), StreamKind.DEPTH, "16UC1")
    with pytest.raises(ValueError, match="rng"):
        renderer.render(0, interfered=True)
    with pytest.raises(ValueError, match="rng"):
        renderer.render(0, corrupt=True)


def _all_streams(scene: Scene, view: CameraView, t: int) -> list[np.ndarray[Any, Any]]:
    return [
        scene.renderer(view, StreamKind.COLOR, "rgb8").render(t),
        scene.renderer(view, StreamKind.DEPTH, "16UC1").render(t),
        scene.renderer(view, StreamKind.IR, "mono8", ir_dots=True).render(t),
    ]


def test_renders_are_deterministic_per_seed() -> None:
    """Two scenes with the same seed render identical frames; another seed changes the floor texture."""
    pose = ring_pose(40, 3.0, 1.8)
    first = _all_streams(Scene(SceneConfig(seed=5)), Scene(SceneConfig(seed=5)).view(pose, SMALL), 77_000_000)
    again_scene = Scene(SceneConfig(seed=5))
    again = _all_streams(again_scene, again_scene.view(pose, SMALL), 77_000_000)
    for x, y in zip(first, again, strict=True):
        assert np.array_equal(x, y)
    other = Scene(SceneConfig(seed=6))
    other_colour = other.renderer(other.view(pose, SMALL), StreamKind.COLOR, "rgb8").render(77_000_000)
    assert not np.array_equal(other_colour, first[0])


def test_each_render_is_a_new_array(scene: Scene) -> None:
    """render returns a fresh array each call, so the caller may keep or modify it."""
    renderer = scene.renderer(_flags_view(scene), StreamKind.COLOR, "rgb8")
    a = renderer.render(1_000)
    b = renderer.render(1_000)
    assert not np.shares_memory(a, b)
    a[:] = 0
    assert np.array_equal(renderer.render(1_000), b)


def test_encodings_have_their_layouts(scene: Scene) -> None:
    """Each Foxglove encoding has its shape, dtype and channel order; mono16 is mono8 scaled by 257."""
    view = _flags_view(scene)
    t = 9_000_000

    def render(kind: StreamKind, encoding: str, **kw: bool) -> np.ndarray[Any, Any]:
        return scene.renderer(view, kind, encoding, **kw).render(t)

    rgb, bgr = render(StreamKind.COLOR, "rgb8"), render(StreamKind.COLOR, "bgr8")
    bgra = render(StreamKind.COLOR, "bgra8")
    assert rgb.shape == (240, 320, 3) and rgb.dtype == np.uint8
    assert np.array_equal(bgr, rgb[..., ::-1])
    assert bgra.shape == (240, 320, 4) and np.array_equal(bgra[..., :3], bgr) and (bgra[..., 3] == 255).all()
    depth = render(StreamKind.DEPTH, "16UC1")
    assert depth.shape == (240, 320) and depth.dtype == np.uint16
    mono8, mono16 = render(StreamKind.IR, "mono8"), render(StreamKind.IR, "mono16")
    assert mono8.dtype == np.uint8 and mono16.dtype == np.uint16
    assert np.array_equal(mono16, mono8.astype(np.uint16) * 257)
    dots = render(StreamKind.IR, "mono8", ir_dots=True)
    assert (dots >= mono8).all() and (dots > mono8).mean() > 0.02


def test_bad_requests_are_refused(scene: Scene) -> None:
    """Unknown encodings, dots on non-IR streams, distorted intrinsics and bad configs raise ValueError."""
    view = _flags_view(scene)
    with pytest.raises(ValueError, match="allowed: rgb8, bgr8, bgra8"):
        scene.renderer(view, StreamKind.COLOR, "16UC1")
    with pytest.raises(ValueError, match="ir_dots"):
        scene.renderer(view, StreamKind.COLOR, "rgb8", ir_dots=True)
    distorted = Intrinsics(320, 240, 300.0, 300.0, 159.5, 119.5, distortion=(0.1, 0.0, 0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="distortion"):
        scene.view(ring_pose(0, 2.0, 1.0), distorted)
    with pytest.raises(ValueError, match="up vector"):
        scene.view(Pose((0.0, 0.0, 5.0), (0.0, 0.0, 0.0)), SMALL)
    with pytest.raises(ValueError, match="board_dictionary"):
        SceneConfig(board_dictionary="DICT_4X4_NOPE")
    with pytest.raises(ValueError, match="both faces need"):
        SceneConfig(board_squares=(9, 7), board_dictionary="DICT_4X4_50")


CLOSE = [(45, 0.4, 1.9, 120.0), (10, 0.3, 0.3, 90.0)]
"""Views from close by: the board's and the panel's corners near or behind the camera plane."""


@pytest.mark.parametrize(("angle", "radius", "height", "hfov"), [*RING[::4], *CLOSE])
def test_windowed_cast_hits_exactly_what_the_full_cast_hits(
        scene: Scene, angle: int, radius: float, height: float, hfov: float) -> None:
    """Casting each rect only against the pixels of its projected window (the raster's speed-up) finds the same
    hits, bit for bit, as casting every rect against every pixel, at sub-pixel offsets too; views from close by
    (rects near or behind the camera plane) included. Some rect is windowed, and some rect is seen."""
    world = scene._world
    view = CameraView.from_pose(ring_pose(angle, radius, height), Intrinsics.from_hfov(160, 120, hfov))
    windowed = 0
    for ou, ov in ((0.0, 0.0), (-0.25, 0.25), (0.25, -0.25)):
        d = view.ray_directions(ou, ov)
        windows = [rect_window(view, r, ou, ov) for r in world.rects]
        windowed += sum(w is not None for w in windows)
        full, cut = cast(world.rects, view.position_m, d), cast(world.rects, view.position_m, d, windows)
        for a, b in ((full.depth_m, cut.depth_m), (full.index, cut.index), (full.s, cut.s), (full.t, cut.t)):
            assert a.tobytes() == b.tobytes()
        assert (full.index >= 0).any()
    assert windowed > 0
