"""The simulator's shared 3D scene, rendered from each simulated camera's pose with known intrinsics.

One static world (see :mod:`rigsync.drivers.sim._scene_world` for the layout: textured floor, a two-faced
ChArUco board at the centre, a box above it with a timecode panel on each side face) plus a sphere orbiting
the centre on a known trajectory. Cameras anywhere on a ring of radius ~1.5-4 m at height ~0.5-2.5 m
looking at (0, 0, ~1) see the board (front or back), at least one panel face and, most of the time, the
sphere. Everything is deterministic from ``SceneConfig.seed``; there is no global state and no I/O. With an
LED clock (:mod:`rigsync.drivers.sim.ledclock_scene`), its lantern stands under the board and colour and IR
frames show its LEDs integrated over each row's exposure (:mod:`rigsync.drivers.sim.ledclock_render`).

Speed: :meth:`Scene.renderer` precomputes everything static for a view (colour, depth and IR background
images, the pixels of every timecode cell); :meth:`ViewRenderer.render` copies the background and paints
only the panel cells and the sphere's bounding box.

Times are true time (the simulator's truth clock), integer nanoseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from rigsync.boards.charuco import CharucoBoardSpec, sim_board
from rigsync.core.frame import StreamKind
from rigsync.core.geometry import Pose
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers.sim import _scene_effects as effects
from rigsync.drivers.sim._board_paint import BoardPainter
from rigsync.drivers.sim._scene_geometry import F64, CameraView, sphere_bbox
from rigsync.drivers.sim._scene_world import (
    CELL_OFF_LEVEL,
    CELL_ON_LEVEL,
    IR_FULL_RANGE_M,
    LIGHT_DIR,
    Raster,
    World,
)
from rigsync.drivers.sim.board_motion import BoardMotion
from rigsync.drivers.sim.ledclock_render import LedPainter
from rigsync.drivers.sim.ledclock_scene import LedClock
from rigsync.drivers.sim.timecode import TIMECODE_BITS, TIMECODE_UNIT_NS, decode_word, gray_word

__all__ = ["BoardSide", "CameraView", "Scene", "SceneConfig", "ViewRenderer", "read_timecode"]

ENCODINGS: dict[StreamKind, tuple[str, ...]] = {
    StreamKind.COLOR: ("rgb8", "bgr8", "bgra8"),
    StreamKind.DEPTH: ("16UC1",),
    StreamKind.IR: ("mono8", "mono16"),
}
"""Foxglove RawImage encodings each stream kind can be rendered in."""

SIM_BOARD = sim_board()
"""The board file ``boards/sim_charuco.toml``: :class:`SceneConfig`'s board defaults (one source of truth)."""
OBJECT_RGB = (200, 35, 30)
OBJECT_IR_ALBEDO = 170.0


class BoardSide(StrEnum):
    """Which face of the ChArUco board: FRONT faces -Y (markers 0..n-1), BACK faces +Y (n..2n-1)."""

    FRONT = "front"
    BACK = "back"


def _config_error(field: str, value: object, problem: str) -> ValueError:
    return ValueError(f"SceneConfig.{field} = {value!r}: {problem}")


@dataclass(frozen=True, slots=True)
class SceneConfig:
    """What the simulated world looks like. Lengths in metres, periods in nanoseconds of true time."""

    seed: int = 0
    """Seeds the floor texture, the sphere's phase and the IR projector pattern."""
    board_squares: tuple[int, int] = (SIM_BOARD.columns, SIM_BOARD.rows)
    """ChArUco squares (columns, rows); every board default is ``boards/sim_charuco.toml``'s."""
    board_square_m: float = SIM_BOARD.square_m
    board_marker_m: float = SIM_BOARD.marker_m
    board_margin_m: float = SIM_BOARD.margin_m
    """White border around the squares."""
    board_dictionary: str = SIM_BOARD.dictionary
    """``cv2.aruco`` predefined dictionary name; needs markers for both faces."""
    board_center_z_m: float = 0.92
    panel_half_width_m: float = 0.3
    """Half the width of the timecode box (each side face is twice this wide)."""
    panel_height_m: float = 0.3
    object_radius_m: float = 0.08
    object_orbit_radius_m: float = 0.9
    object_orbit_period_ns: int = 4_000_000_000
    """One revolution (counter-clockwise seen from above)."""
    object_height_m: float = 0.55
    """Mean height of the sphere's centre; kept low so it never hides a panel face from the ring."""
    object_bob_m: float = 0.1
    object_bob_period_ns: int = 1_500_000_000
    floor_half_size_m: float = 8.0
    max_depth_m: float = 10.0
    """Depth cameras report no return (0) beyond this range."""
    supersample: int = 2
    """Colour and IR backgrounds average supersample**2 rays per pixel."""
    board_motion: BoardMotion | None = None
    """None: the board stands still, upright at the centre; else it is hand-held and moves so (it replaces the
    upright board: one board in the scene)."""

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise _config_error("seed", self.seed, "must be >= 0")
        if len(self.board_squares) != 2 or min(self.board_squares) < 3:
            raise _config_error("board_squares", self.board_squares, "needs (columns, rows), each >= 3")
        if not 0 < self.board_marker_m < self.board_square_m:
            raise _config_error("board_marker_m", self.board_marker_m, "must be > 0 and < board_square_m")
        if self.board_margin_m < 0:
            raise _config_error("board_margin_m", self.board_margin_m, "must be >= 0")
        allowed = sorted(n for n in dir(cv2.aruco) if n.startswith("DICT_"))
        if self.board_dictionary not in allowed:
            raise ValueError(
                f"SceneConfig.board_dictionary = {self.board_dictionary!r}: unknown (allowed: {', '.join(allowed)})"
            )
        size = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.board_dictionary)).bytesList.shape[0]
        needed = 2 * ((self.board_squares[0] * self.board_squares[1]) // 2)
        if size < needed:
            raise _config_error(
                "board_dictionary", self.board_dictionary, f"has {size} markers, both faces need {needed}"
            )
        for name in ("panel_half_width_m", "panel_height_m", "object_radius_m", "floor_half_size_m"):
            if getattr(self, name) <= 0:
                raise _config_error(name, getattr(self, name), "must be > 0")
        if self.object_orbit_period_ns <= 0 or self.object_bob_period_ns <= 0:
            raise _config_error("object_*_period_ns", self.object_orbit_period_ns, "periods must be > 0")
        if not 0 < self.max_depth_m <= 65.535:
            raise _config_error("max_depth_m", self.max_depth_m, "must be in (0, 65.535] (16-bit millimetres)")
        if not 1 <= self.supersample <= 4:
            raise _config_error("supersample", self.supersample, "must be 1..4")

    @property
    def board_spec(self) -> CharucoBoardSpec:
        """The board as a board file describes it: two faces, markers ``0..n-1`` in front and ``n..2n-1`` behind."""
        cols, rows = self.board_squares
        return CharucoBoardSpec(columns=cols, rows=rows, square_m=self.board_square_m, marker_m=self.board_marker_m,
                                dictionary=self.board_dictionary, margin_m=self.board_margin_m,
                                face_first_ids=(0, (cols * rows) // 2), name=SIM_BOARD.name)


class Scene:
    """The shared world. Create once per simulated rig; make a view and renderers per camera stream.

    The static precomputation of a view is cached on the scene per (pose, intrinsics), so a camera's colour,
    depth and IR renderers share one ray cast; the cache lives as long as the scene.
    """

    def __init__(self, config: SceneConfig | None = None, ledclock: LedClock | None = None) -> None:
        self.config = config if config is not None else SceneConfig()
        self.ledclock = ledclock
        self._world = World(self.config, ledclock)
        self._board_spec = self.config.board_spec
        phases = np.random.default_rng([self.config.seed, 0x0B1]).random(2)
        self._orbit_phase_ns = int(phases[0] * self.config.object_orbit_period_ns)
        self._bob_phase_ns = int(phases[1] * self.config.object_bob_period_ns)
        self._rasters: dict[tuple[Pose, Intrinsics], Raster] = {}

    def object_position_m(self, t_ns: int) -> tuple[float, float, float]:
        """World position of the sphere's centre at true time ``t_ns``."""
        c = self.config
        a = 2.0 * math.pi * ((t_ns + self._orbit_phase_ns) % c.object_orbit_period_ns) / c.object_orbit_period_ns
        b = 2.0 * math.pi * ((t_ns + self._bob_phase_ns) % c.object_bob_period_ns) / c.object_bob_period_ns
        r = c.object_orbit_radius_m
        return r * math.cos(a), r * math.sin(a), c.object_height_m + c.object_bob_m * math.sin(b)

    @property
    def board_spec(self) -> CharucoBoardSpec:
        """The ChArUco board the scene shows, as a board file describes it (:mod:`rigsync.boards.charuco`)."""
        return self._board_spec

    def charuco_board(self, side: BoardSide) -> Any:
        """The ``cv2.aruco.CharucoBoard`` printed on one face (for detection and calibration)."""
        return self._world.boards[1 if BoardSide(side) is BoardSide.BACK else 0]

    def board_to_world(self, side: BoardSide) -> tuple[F64, F64]:
        """``(R, t)``: ``x_world = R @ x_board + t`` for that face's board coordinates (OpenCV convention:
        origin at the top-left square corner, x right, y down as printed, z into the board). The upright
        board's; a hand-held board moves: see :meth:`board_pose`."""
        return self._world.board_to_world(BoardSide(side) is BoardSide.BACK)

    def board_pose(self, t_ns: int, side: BoardSide = BoardSide.FRONT) -> tuple[F64, F64]:
        """``(R, t)``, world_from_board at true time ``t_ns`` of that face's board coordinates (those of
        ``charuco_board(side).getChessboardCorners()``): ``x_world = R @ x_board + t``. A static board's is
        :meth:`board_to_world` at every time."""
        rotation, translation = self.board_poses(np.array([t_ns], dtype=np.int64), side)
        return rotation[0], translation[0]

    def board_poses(self, t_ns: npt.NDArray[np.int64], side: BoardSide = BoardSide.FRONT) -> tuple[F64, F64]:
        """:meth:`board_pose` at each of the true times ``t_ns`` (N,): rotations (N, 3, 3), translations (N, 3)."""
        motion = self.config.board_motion
        if motion is None:
            r, t = self.board_to_world(side)
            return np.broadcast_to(r, (len(t_ns), 3, 3)), np.broadcast_to(t, (len(t_ns), 3))
        spec = self._board_spec
        rotation, translation = motion.pose(t_ns, spec.squares_m)
        if BoardSide(side) is BoardSide.BACK:
            flip, shift = spec.back_from_front()
            return rotation @ flip, rotation @ shift + translation
        return rotation, translation

    @property
    def panel_box_m(self) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        """World bounds ``(min_xyz, max_xyz)`` of the box whose four side faces carry the timecode panel."""
        hw, w = self.config.panel_half_width_m, self._world
        return (-hw, -hw, w.panel_bottom_z_m), (hw, hw, w.panel_bottom_z_m + self.config.panel_height_m)

    def view(self, pose: Pose, intrinsics: Intrinsics) -> CameraView:
        """A camera at ``pose`` with ``intrinsics`` (ideal pinhole: distortion must be zero)."""
        return CameraView.from_pose(pose, intrinsics)

    def raster(self, view: CameraView) -> Raster:
        """The static precomputation of a view (cached)."""
        key = (view.pose, view.intrinsics)
        raster = self._rasters.get(key)
        if raster is None:
            raster = self._rasters[key] = self._world.raster(view)
        return raster

    def renderer(self, view: CameraView, kind: StreamKind, encoding: str, *, ir_dots: bool = False,
                 camera: int = 0) -> ViewRenderer:
        """A renderer of one stream of one view; ``ir_dots`` adds an active-stereo projector pattern to IR;
        ``camera`` (the device's index) seeds the camera's own LED gain and sensor noise."""
        kind = StreamKind(kind)
        allowed = ENCODINGS[kind]
        if encoding not in allowed:
            raise ValueError(f"cannot render {kind.value} as {encoding!r} (allowed: {', '.join(allowed)})")
        if ir_dots and kind is not StreamKind.IR:
            raise ValueError(f"ir_dots applies to ir streams only, not {kind.value}")
        return ViewRenderer(self, view, self.raster(view), kind, encoding, ir_dots=ir_dots, camera=camera)


def _dots(seed: int, raster: Raster) -> npt.NDArray[np.float32]:
    """Projector dots (additive IR, before distance falloff), fixed in image coordinates."""
    rng = np.random.default_rng([seed, 0xD075, *raster.ir.shape])
    lit = rng.random(raster.ir.shape) < 0.08
    return np.where(lit, rng.uniform(90.0, 200.0, raster.ir.shape), 0.0).astype(np.float32)


def _falloff(range_m: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    with np.errstate(divide="ignore"):
        return np.asarray(np.minimum(1.0, (IR_FULL_RANGE_M / range_m) ** 2), dtype=np.float32)


class ViewRenderer:
    """Renders one stream (kind + encoding) of one view. Make it with :meth:`Scene.renderer`."""

    def __init__(
        self, scene: Scene, view: CameraView, raster: Raster, kind: StreamKind, encoding: str, *, ir_dots: bool,
        camera: int = 0,
    ) -> None:
        self.scene = scene
        self.view = view
        self.kind = kind
        self.encoding = encoding
        self.ir_dots = ir_dots
        k = view.intrinsics
        # Camera-frame ray directions (z = 1) per column / per row, for the sphere.
        self._xs = ((np.arange(k.width) - k.cx) / k.fx).astype(np.float32)
        self._ys = ((np.arange(k.height) - k.cy) / k.fy).astype(np.float32)[:, None]
        self._xs2, self._ys2p1 = self._xs**2, self._ys**2 + np.float32(1.0)
        lx, ly, lz = (float(c) for c in view.rotation @ LIGHT_DIR)
        self._light = (lx, ly, lz)
        self._dlx, self._dly = self._xs * lx, self._ys * ly + lz
        self._rot = tuple(float(x) for x in view.rotation.ravel())
        self._trans = tuple(float(x) for x in view.translation)
        self._radius = scene.config.object_radius_m
        self._static_depth = raster.depth_m
        self._dots: npt.NDArray[np.float32] | None = None
        self._pool: npt.NDArray[np.float32] | None = None
        self._samples = raster.face_samples
        self._scale = 1.0
        channels = [0, 1, 2]
        levels: tuple[float, float] | None = (float(CELL_OFF_LEVEL), float(CELL_ON_LEVEL))
        base: npt.NDArray[Any]
        if kind is StreamKind.COLOR:
            channels = [0, 1, 2] if encoding == "rgb8" else [2, 1, 0]
            base = raster.rgb[:, :, channels]
            if encoding == "bgra8":
                base = np.concatenate([base, np.full((*base.shape[:2], 1), 255, np.uint8)], axis=2)
            # Per-channel lookup table turning a grey shade (0..255) into the sphere's colour; alpha stays 255.
            ramp = np.arange(256, dtype=np.float64)[:, None] / 255.0
            lut = np.rint(ramp * np.array([OBJECT_RGB[c] for c in channels] + [255] * (encoding == "bgra8")))
            self._object_lut = lut.astype(np.uint8)[:, None, :]
        elif kind is StreamKind.IR:
            ir = raster.ir.astype(np.float32)
            if ir_dots:
                self._dots = _dots(scene.config.seed, raster)
                norm = np.sqrt(self._xs2[None, :] + self._ys2p1)
                ir += self._dots * _falloff(self._static_depth * norm)
            self._scale = 257.0 if encoding == "mono16" else 1.0
            base = np.clip(np.rint(ir), 0, 255) * np.float32(self._scale)
            base = base.astype(np.uint16 if encoding == "mono16" else np.uint8)
            levels = (CELL_OFF_LEVEL * self._scale, CELL_ON_LEVEL * self._scale)
        else:
            base = raster.depth_mm
            levels = None
            self._samples = ()
        self._base = np.ascontiguousarray(base)
        self._base.setflags(write=False)
        self._levels = levels
        # Timecode cells: flat element indices into the image, and which cell each element shows.
        painted = 3 if kind is StreamKind.COLOR else 1
        stride = self._base.shape[2] if self._base.ndim == 3 else 1
        pix = raster.cell_pix if levels is not None else np.zeros(0, np.intp)
        self._cell_idx = (pix[:, None] * stride + np.arange(painted)).ravel()
        self._cell_bit = np.repeat(raster.cell_bit[: pix.size], painted)
        self._cell_levels = np.asarray(levels or (0, 0), dtype=self._base.dtype)
        fills = [tuple(fill[c] for c in channels) for fill in (effects.GREEN_RGB, effects.PURPLE_RGB)]
        self._corrupt_fill = [(*f, 255) for f in fills] if stride == 4 else fills
        self.board: BoardPainter | None = None
        if scene.config.board_motion is not None:
            self.board = BoardPainter(scene._world, scene.config.board_motion, view, kind, scale=self._scale,
                                      dots=self._dots, max_depth_m=scene.config.max_depth_m)
        self.leds: LedPainter | None = None
        if scene.ledclock is not None and raster.leds is not None and kind is not StreamKind.DEPTH:
            seed = [scene.config.seed, 0x1ED, camera]
            gain = float(np.random.default_rng(seed).uniform(0.8, 1.2))
            self.leds = LedPainter(scene.ledclock, raster.leds, gain=gain, scale=self._scale,
                                   noise_seed=[*seed, list(StreamKind).index(kind)])

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of every rendered image."""
        return tuple(self._base.shape)

    def render(
        self,
        exposure_start_ns: int,
        *,
        exposure_end_ns: int | None = None,
        line_ns: float = 0.0,
        interfered: bool = False,
        corrupt: bool = False,
        rng: np.random.Generator | None = None,
    ) -> npt.NDArray[Any]:
        """A new image of the scene for an exposure starting at true time ``exposure_start_ns``.

        The sphere is drawn where it is at ``exposure_start_ns``, a hand-held board where it is at the middle of
        each row's exposure (:mod:`rigsync.drivers.sim._board_paint`), and the panel shows
        ``timecode.encode(exposure_start_ns)`` (it latches at the start of exposure). The LED clock's LEDs (if
        the scene has one) are integrated over ``[exposure_start_ns, exposure_end_ns]`` (None: the start, an
        empty window), row ``y`` of a rolling shutter ``y * line_ns`` later (0: a global shutter).
        ``interfered`` adds ToF multi-camera interference (depth and IR only; colour is unaffected),
        ``corrupt`` adds USB transport damage (tearing, green/purple band); both draw from ``rng``, which they
        require.
        """
        if (interfered or corrupt) and rng is None:
            raise ValueError("interfered or corrupt rendering needs rng (a numpy Generator) for determinism")
        img = self._base.copy()
        if self._cell_idx.size:
            word = gray_word(exposure_start_ns).to_bytes(TIMECODE_BITS // 8, "big")
            bits = np.unpackbits(np.frombuffer(word, dtype=np.uint8))
            img.reshape(-1)[self._cell_idx] = self._cell_levels[bits][self._cell_bit]
        end = exposure_start_ns if exposure_end_ns is None else exposure_end_ns
        if self.leds is not None:
            self.leds.paint(img, exposure_start_ns, end, line_ns)
        depth = self._static_depth
        if self.board is not None:
            depth = self.board.paint(img, depth, exposure_start_ns, end, line_ns)
        self._paint_object(img, exposure_start_ns, depth)
        if rng is not None:
            if interfered and self.kind is not StreamKind.COLOR:
                if self._pool is None:
                    self._pool = effects.interference_pool(self.scene.config.seed, *img.shape[:2])
                effects.interfere(img, self._pool, rng)
            if corrupt:
                fill = self._corrupt_fill[int(rng.integers(0, 2))] if self.kind is StreamKind.COLOR else None
                effects.corrupt(img, fill, rng)
        return img

    def _paint_object(self, img: npt.NDArray[Any], t_ns: int, depth_m: npt.NDArray[np.float32]) -> None:
        """Ray-trace the sphere inside its bounding box, depth-tested against ``depth_m`` (the rest of the scene)."""
        px, py, pz = self.scene.object_position_m(t_ns)
        r00, r01, r02, r10, r11, r12, r20, r21, r22 = self._rot
        x = r00 * px + r01 * py + r02 * pz + self._trans[0]
        y = r10 * px + r11 * py + r12 * pz + self._trans[1]
        z = r20 * px + r21 * py + r22 * pz + self._trans[2]
        r = self._radius
        u0, u1, v0, v1 = sphere_bbox(self.view, (x, y, z), r)
        if u0 >= u1 or v0 >= v1:
            return
        a = self._xs2[u0:u1] + self._ys2p1[v0:v1]
        b = self._xs[u0:u1] * x + (self._ys[v0:v1] * y + z)
        disc = b * b - a * (x * x + y * y + z * z - r * r)
        mask = disc > 0.0
        lam = (b - np.sqrt(np.maximum(disc, 0.0))) / a  # camera z of the near intersection
        mask &= lam < depth_m[v0:v1, u0:u1]
        mask8 = mask.view(np.uint8)
        sub = img[v0:v1, u0:u1]  # a view: cv2.copyTo below writes through it into img
        if self.kind is StreamKind.DEPTH:
            cv2.copyTo((lam * 1000.0 + 0.5).astype(np.uint16), mask8, sub)
            return
        # Lambert shading: normal = (lam * d - centre) / r.
        lx, ly, lz = self._light
        cos = lam * (self._dlx[u0:u1] + self._dly[v0:v1]) - (x * lx + y * ly + z * lz)
        shade = np.maximum(cos, 0.0) * (0.7 / r) + 0.3
        if self.kind is StreamKind.COLOR:
            grey = cv2.convertScaleAbs(shade, alpha=255.0)
            code = cv2.COLOR_GRAY2BGRA if sub.shape[2] == 4 else cv2.COLOR_GRAY2BGR
            cv2.copyTo(cv2.LUT(cv2.cvtColor(grey, code), self._object_lut), mask8, sub)
            return
        falloff = np.minimum((IR_FULL_RANGE_M * IR_FULL_RANGE_M) / (lam * lam * a), 1.0)
        value = shade * falloff * OBJECT_IR_ALBEDO
        if self._dots is not None:
            value += self._dots[v0:v1, u0:u1] * falloff
        value8 = cv2.convertScaleAbs(value)
        cv2.copyTo(value8 if self._scale == 1.0 else value8.astype(np.uint16) * np.uint16(257), mask8, sub)

    def read_timecode(self, image: npt.NDArray[Any]) -> int | None:
        """See :func:`read_timecode`."""
        return read_timecode(image, self)


def read_timecode(image: npt.NDArray[Any], renderer: ViewRenderer) -> int | None:
    """True time (ns, floored to ``TIMECODE_UNIT_NS``, modulo ``TIMECODE_WRAP_NS``) shown by the panel.

    ``image`` is a frame of ``renderer``'s stream (colour or IR). Uses the view's known panel geometry: on
    the visible panel face that appears largest (the best facing, nearest one) it samples, for each of the
    32 cells, the pixel whose centre is nearest the cell's centre. If any cell reads ambiguously (neither
    clearly lit nor clearly dark: hidden by the sphere, a green transport band...) it tries the next visible
    face. Returns None when no face is visible and readable (depth streams never show the panel). A hand-held
    board passing in front of the panel can hide it too: only read frames in which it does not. A torn
    frame can still read wrong: trust frames not flagged corrupt. Use :func:`timecode.unwrap_ns` to lift
    the result to full time.
    """
    if image.shape != renderer.shape:
        raise ValueError(f"image shape {image.shape} is not the renderer's {renderer.shape}")
    levels = renderer._levels
    if levels is None:
        return None
    off, on = levels
    threshold, tolerance = (off + on) / 2.0, 0.3 * (on - off)
    width = image.shape[1]
    for samples in renderer._samples:
        rows, cols = np.divmod(samples, width)
        values = (image[rows, cols, 1] if image.ndim == 3 else image[rows, cols]).astype(np.float64)
        if np.any(np.abs(values - threshold) < tolerance):
            continue
        word = 0
        for bit in values > threshold:
            word = (word << 1) | int(bit)
        return decode_word(word) * TIMECODE_UNIT_NS
    return None
