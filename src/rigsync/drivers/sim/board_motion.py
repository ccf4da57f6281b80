"""The hand-held calibration board's trajectory: a smooth, deterministic (seeded) path through the shared volume.

The board's centre follows a Lissajous curve around ``center_m`` (one sine per world axis, amplitudes
``reach_m``, incommensurate periods); its orientation is the static board's (upright, front face towards -Y)
turned in the plane by a roll, tilted forward/back about world X by up to ``tilt_deg``, then turned about
world Z by ``heading_deg`` plus a wobble of up to ``tilt_deg`` plus, with ``spin_period_s > 0``, a full turn
every ``spin_period_s`` (so every camera around it sees both faces over time). ``speed`` divides every period
(1: a slow sweep, ~0.3 m/s; 4: a waved board, ~1.2 m/s and ~3 rad/s).

Board coordinates are those of ``cv2.aruco.CharucoBoard.getChessboardCorners()`` for the front face: origin at
the top-left square corner, x right, y down (as printed), z into the board; the back face's board coordinates
are the same for its own printed board, seen from behind (``CharucoBoardSpec.back_from_front``). Times are
true time, ns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from rigsync.spec.model import BOARD_MOTIONS, SimBoardSpec

F64 = npt.NDArray[np.float64]

__all__ = ["BoardMotion", "board_motion"]

_PERIODS_S = {"x": 9.1, "y": 7.3, "z": 5.9, "pitch": 6.7, "yaw": 8.3, "roll": 11.3}
"""Periods of each sine at speed 1 (incommensurate, so the path does not repeat within a take)."""
ROLL_DEG = 20.0
"""In-plane turn amplitude (views of the board at several in-plane angles help a calibrator)."""
_REST = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
"""world_from_board at rest: board x = world +X, board y (down) = world -Z, board z (into) = world +Y."""


def _error(field: str, value: object, problem: str) -> ValueError:
    return ValueError(f"BoardMotion.{field} = {value!r}: {problem}")


@dataclass(frozen=True, slots=True)
class BoardMotion:
    """How the hand-held board moves. Lengths in metres, angles in degrees, periods in seconds of true time."""

    center_m: tuple[float, float, float] = (0.0, 0.0, 1.0)
    reach_m: tuple[float, float, float] = (0.45, 0.3, 0.25)
    """Amplitude of the centre's path along world X, Y and Z."""
    tilt_deg: float = 40.0
    """Amplitude of the tilt about world X and of the wobble about world Z."""
    heading_deg: float = 0.0
    """Where the front face looks at rest, counter-clockwise from -Y seen from above."""
    spin_period_s: float = 0.0
    """One full turn about world Z every this many seconds (at speed 1); 0: no spin, the front stays in front."""
    speed: float = 1.0
    seed: int = 0
    _periods_ns: dict[str, tuple[int, int]] = field(init=False, repr=False, compare=False)
    """Per component: (period, seeded time offset), ns."""

    def __post_init__(self) -> None:
        if len(self.center_m) != 3 or len(self.reach_m) != 3 or min(self.reach_m) < 0:
            raise _error("reach_m", self.reach_m, "needs three amplitudes >= 0 (and center_m three coordinates)")
        if not 0 <= self.tilt_deg <= 80:
            raise _error("tilt_deg", self.tilt_deg, "must be in [0, 80]")
        if self.spin_period_s < 0:
            raise _error("spin_period_s", self.spin_period_s, "must be >= 0 (0: no spin)")
        if not 0 < self.speed <= 20:
            raise _error("speed", self.speed, "must be in (0, 20]")
        periods = {}
        for index, (name, period_s) in enumerate(_PERIODS_S.items()):
            period_ns = round(period_s * 1e9 / self.speed)
            periods[name] = period_ns, int(np.random.default_rng([self.seed, 0xB0A2D, index]).integers(0, period_ns))
        object.__setattr__(self, "_periods_ns", periods)

    def _phase(self, t_ns: npt.ArrayLike, name: str) -> F64:
        """``2 pi (t / period + seeded phase)`` of one component, exact in integer ns (true times are large)."""
        period_ns, offset_ns = self._periods_ns[name]
        t = np.asarray(t_ns, dtype=np.int64)
        return 2.0 * math.pi * ((t + offset_ns) % period_ns).astype(np.float64) / period_ns

    def centre(self, t_ns: npt.ArrayLike) -> F64:
        """World position (N, 3) of the board's centre at true times ``t_ns`` (N,)."""
        cx, cy, cz = self.center_m
        rx, ry, rz = self.reach_m
        return np.stack([cx + rx * np.sin(self._phase(t_ns, "x")),
                         cy + ry * np.sin(self._phase(t_ns, "y")),
                         cz + rz * np.sin(self._phase(t_ns, "z"))], axis=-1)

    def rotation(self, t_ns: npt.ArrayLike) -> F64:
        """world_from_board rotations (N, 3, 3) of the front face at true times ``t_ns`` (N,)."""
        tilt = math.radians(self.tilt_deg)
        pitch = tilt * np.sin(self._phase(t_ns, "pitch"))
        yaw = math.radians(self.heading_deg) + tilt * np.sin(self._phase(t_ns, "yaw"))
        if self.spin_period_s > 0:
            spin_ns = round(self.spin_period_s * 1e9 / self.speed)
            t = np.asarray(t_ns, dtype=np.int64)
            yaw = yaw + 2.0 * math.pi * (t % spin_ns).astype(np.float64) / spin_ns
        roll = math.radians(ROLL_DEG) * np.sin(self._phase(t_ns, "roll"))
        rotation: F64 = _rz(yaw) @ _rx(pitch) @ _REST @ _rz(roll)
        return rotation

    def pose(self, t_ns: npt.ArrayLike, squares_m: tuple[float, float]) -> tuple[F64, F64]:
        """``(R, t)`` (N, 3, 3) and (N, 3): ``x_world = R @ x_board + t`` for the front face's board coordinates;
        ``squares_m``: the size (width, height) of the board's squares area, whose centre follows the path."""
        rotation = self.rotation(t_ns)
        half = np.array([squares_m[0] / 2, squares_m[1] / 2, 0.0])
        return rotation, self.centre(t_ns) - rotation @ half


def board_motion(spec: SimBoardSpec | None, seed: int) -> BoardMotion | None:
    """The motion a rig file's ``[sim.board]`` asks for (None: the board stands still)."""
    if spec is None:
        return None
    return BoardMotion(center_m=spec.center_m, reach_m=spec.reach_m, tilt_deg=spec.tilt_deg,
                       heading_deg=spec.heading_deg, spin_period_s=spec.spin_s, speed=BOARD_MOTIONS[spec.motion],
                       seed=seed)


def _rz(a: F64) -> F64:
    """Rotations (N, 3, 3) by angles ``a`` (N,) about z."""
    c, s = np.cos(a), np.sin(a)
    out = np.zeros((*np.shape(a), 3, 3))
    out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1], out[..., 2, 2] = c, -s, s, c, 1.0
    return out


def _rx(a: F64) -> F64:
    """Rotations (N, 3, 3) by angles ``a`` (N,) about x."""
    c, s = np.cos(a), np.sin(a)
    out = np.zeros((*np.shape(a), 3, 3))
    out[..., 0, 0], out[..., 1, 1], out[..., 1, 2], out[..., 2, 1], out[..., 2, 2] = 1.0, c, -s, s, c
    return out
