"""The LED clock in the simulator's world: a lantern of boards on one crystal, and that crystal's clock.

Layout: a box whose side faces (those ``[sim.ledclock] faces`` names; default all four, facing -Y, +X, +Y, -X)
each carry the same board (``boards/ledclock.toml`` unless the rig file names another), printed as seen from
outside: a white face, four black ArUco markers, and every row of LEDs (and the counter) on a dark strip.
All boards are driven by one clock, so every camera around the ring reads the same board time. The box is
as wide as the board and as tall; by default it stands on the Z axis just under the ChArUco board, where the
cameras of the example rings see one or two of its faces.

Board time (the board's crystal, integer nanoseconds since its firmware started the rows) of a true instant
``true_ns`` (the simulator's truth clock) is ``offset_ns + t + round(t * drift)`` with ``t = true_ns - epoch_ns``
(the simulation's start): an independent clock with its own offset and frequency error, never the truth.
``t`` is an exact integer and ``t * drift`` a float product whose error is far below a nanosecond over days.

What the LEDs look like in an image (integrated over each row's exposure) is
:mod:`rigsync.drivers.sim.ledclock_render`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from rigsync.boards.ledclock import LedClockBoard, default_board, load_board
from rigsync.drivers.sim._scene_geometry import F64, Rect
from rigsync.spec.model import LEDCLOCK_FACES, LedClockSimSpec

__all__ = ["LEDCLOCK_TRUTH_TOPIC", "LedClock", "charuco_bottom_z_m"]

LEDCLOCK_TRUTH_TOPIC = "/rigsync/sim/ledclock"
"""Where a capture records the board clock's truth (tests only; the pipeline never reads it)."""

WHITE_LEVEL = 215.0
BLACK_LEVEL = 20.0
DARK_LEVEL = 15.0
"""The dark strips under the LEDs, and an unlit LED."""
STRIP_MARGIN = 0.25
"""A row's dark strip reaches this fraction of an LED's diameter beyond its LEDs' edges."""
BOX_LEVEL = WHITE_LEVEL
"""Top, bottom and board-less side faces of the lantern: white, a quiet zone around the markers at the edges."""
GAP_M = 0.01
"""Between the lantern's top and the ChArUco board's bottom edge."""

_OUTWARD = {"-y": (0.0, -1.0), "+x": (1.0, 0.0), "+y": (0.0, 1.0), "-x": (-1.0, 0.0)}


def charuco_bottom_z_m(board_center_z_m: float, squares_rows: int, square_m: float, margin_m: float) -> float:
    """Height of the ChArUco board's bottom edge (the scene's layout, :mod:`._scene_world`)."""
    return board_center_z_m - (squares_rows * square_m + 2 * margin_m) / 2


@dataclass(frozen=True, eq=False)
class LedClock:
    """The lantern: its boards' definition, where it stands, and its crystal's clock."""

    board: LedClockBoard
    center_m: tuple[float, float, float]
    faces: tuple[str, ...]
    """Side faces carrying a board (the others are plain box faces)."""
    epoch_ns: int
    """True time of the simulation's start (``SIM_EPOCH_NS``)."""
    offset_ns: int
    """Board time at true time ``epoch_ns``."""
    drift: float
    """Frequency error of the board's crystal (fraction: 1e-6 is 1 ppm fast)."""
    noise: float = 1.0
    """Sensor noise on the LED pixels (standard deviation, levels of 255)."""

    def __post_init__(self) -> None:
        if self.offset_ns < 0:
            raise ValueError(f"LedClock.offset_ns = {self.offset_ns}: board time starts at 0 (must be >= 0)")
        if not -1e-3 <= self.drift <= 1e-3:
            raise ValueError(f"LedClock.drift = {self.drift}: out of range (-1e-3 to 1e-3)")

    @classmethod
    def from_spec(cls, spec: LedClockSimSpec, seed: int, charuco_bottom_z_m: float, epoch_ns: int) -> LedClock:
        """The lantern a rig file's ``[sim.ledclock]`` describes; unset crystal values drawn from ``seed``."""
        board = load_board(Path(spec.board)) if spec.board is not None else default_board()
        rng = np.random.default_rng([seed, 0x1EDC])
        drift_ppm = spec.drift_ppm if spec.drift_ppm is not None else rng.uniform(-board.crystal_ppm,
                                                                                   board.crystal_ppm)
        offset_s = spec.offset_s if spec.offset_s is not None else rng.uniform(10.0, 1000.0)
        center = spec.center if spec.center is not None else (
            0.0, 0.0, charuco_bottom_z_m - GAP_M - board.height_mm / 2000)
        return cls(board, center, spec.faces, epoch_ns, round(offset_s * 1e9), drift_ppm / 1e6, spec.noise)

    # -- the clock -----------------------------------------------------------------------------------

    def board_ns(self, true_ns: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Board time of true instants (integer ns of the simulator's truth clock)."""
        t = np.asarray(true_ns, dtype=np.int64) - np.int64(self.epoch_ns)
        return np.asarray(self.offset_ns + t + np.rint(t.astype(np.float64) * self.drift).astype(np.int64),
                          dtype=np.int64)

    def truth(self) -> dict[str, Any]:
        """The board clock and placement as ``/rigsync/sim/ledclock`` records them."""
        return {
            "board": self.board.name,
            "board_file": self.board.path,
            "offset_ns": self.offset_ns,
            "drift_ppm": self.drift * 1e6,
            "epoch_true_ns": self.epoch_ns,
            "board_ns": "offset_ns + t + round(t * drift_ppm * 1e-6), t = true_ns - epoch_true_ns",
            "center_m": list(self.center_m),
            "faces": {name: self.face_corners_m(name).tolist() for name in self.faces},
        }

    # -- geometry ------------------------------------------------------------------------------------

    @property
    def half_m(self) -> float:
        return self.board.width_mm / 2000

    @property
    def height_m(self) -> float:
        return self.board.height_mm / 1000

    def side_rect(self, name: str) -> Rect:
        """The side face looking towards ``name`` (origin at its top-left corner as seen from outside)."""
        cx, cy, cz = self.center_m
        nx, ny = _OUTWARD[name]
        hw, top = self.half_m, cz + self.height_m / 2
        right = (-ny, nx, 0.0)  # seen from outside, with z up
        origin = (cx + hw * (nx - right[0]), cy + hw * (ny - right[1]), top)
        return Rect.make(origin, right, (0.0, 0.0, -1.0), 2 * hw, self.height_m)

    def rects(self) -> list[tuple[Rect, bool]]:
        """Every face of the box (four sides, top, bottom), each with whether it carries a board."""
        cx, cy, cz = self.center_m
        hw, h = self.half_m, self.height_m
        out = [(self.side_rect(name), name in self.faces) for name in LEDCLOCK_FACES]
        out.append((Rect.make((cx - hw, cy + hw, cz + h / 2), (1, 0, 0), (0, -1, 0), 2 * hw, 2 * hw), False))
        out.append((Rect.make((cx - hw, cy - hw, cz - h / 2), (1, 0, 0), (0, 1, 0), 2 * hw, 2 * hw), False))
        return out

    def face_corners_m(self, name: str) -> F64:
        """World corners (4, 3) of a board face: top-left, top-right, bottom-right, bottom-left as printed."""
        r = self.side_rect(name)
        return np.stack([r.point(0, 0), r.point(r.width_m, 0), r.point(r.width_m, r.height_m),
                         r.point(0, r.height_m)])

    # -- texture -------------------------------------------------------------------------------------

    def face_grey(self, s_m: F64, t_m: F64) -> npt.NDArray[np.float32]:
        """Printed grey level (0..255) of a board face at local coordinates (metres, x right, y down)."""
        b = self.board
        x, y = s_m * 1000.0, t_m * 1000.0
        grey = np.full(x.shape, WHITE_LEVEL, dtype=np.float32)
        layout = b.layout()
        margin = b.led_diameter_mm * (0.5 + STRIP_MARGIN)
        for row in np.unique(layout.row):
            on = layout.row == row
            xs, ys = layout.x_mm[on], layout.y_mm[on]
            inside = (x >= xs.min() - margin) & (x <= xs.max() + margin) & (np.abs(y - ys[0]) <= margin)
            grey[inside] = DARK_LEVEL
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, b.markers.dictionary))
        cells = dictionary.markerSize + 2
        for marker, corners in b.markers.corners_mm(b.width_mm, b.height_mm).items():
            bits = cv2.aruco.generateImageMarker(dictionary, marker, cells, borderBits=1)
            (x0, y0), size = corners[0], b.markers.size_mm
            inside = (x >= x0) & (x < x0 + size) & (y >= y0) & (y < y0 + size)
            col = np.clip(((x[inside] - x0) / size * cells).astype(np.intp), 0, cells - 1)
            row_ = np.clip(((y[inside] - y0) / size * cells).astype(np.intp), 0, cells - 1)
            grey[inside] = np.where(bits[row_, col] > 127, np.float32(WHITE_LEVEL), np.float32(BLACK_LEVEL))
        return grey
