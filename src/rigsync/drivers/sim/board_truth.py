"""Where the simulator's board is in a camera's frame, from the truth: which face the camera sees, where every
chessboard corner projects (each at its own row's time for a rolling shutter), and whether the whole board is
in view. What a calibration test compares detections against, and what the example rigs' view counts use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rigsync.drivers.sim._board_paint import row_times_ns
from rigsync.drivers.sim._scene_geometry import F64, CameraView
from rigsync.drivers.sim.scene import BoardSide, Scene

__all__ = ["BoardSighting", "board_face", "board_sighting"]


def board_face(scene: Scene, view: CameraView, t_ns: int) -> BoardSide:
    """The face of the board turned towards the camera at true time ``t_ns`` (the one it would see)."""
    rotation, translation = scene.board_pose(t_ns, BoardSide.FRONT)
    camera_in_board = rotation.T @ (view.position_m - translation)
    return BoardSide.FRONT if camera_in_board[2] < 0 else BoardSide.BACK


@dataclass(frozen=True, eq=False)
class BoardSighting:
    """The board's chessboard corners in one frame of one camera, from the truth."""

    side: BoardSide
    """The face turned towards the camera (at the middle of the first row's exposure)."""
    corners_px: F64
    """(N, 2) pixel positions of ``charuco_board(side).getChessboardCorners()``, each where the board is at the
    middle of the exposure of the row it lands on."""
    depth_m: F64
    """(N,) camera z of each corner."""
    in_view: npt.NDArray[np.bool_]
    """(N,) in front of the camera, inside the image (at least ``margin_px`` from its edges) and not hidden by the
    static world (the sphere is not considered)."""
    incidence_deg: float
    """Angle between the board's normal and the line of sight to its centre (0: seen face-on; 90: edge-on)."""

    @property
    def full(self) -> bool:
        """Every corner in view."""
        return bool(self.in_view.all())


def board_sighting(scene: Scene, view: CameraView, exposure_start_ns: int, exposure_end_ns: int | None = None,
                   line_ns: float = 0.0, *, margin_px: float = 2.0) -> BoardSighting:
    """The board as one frame (an exposure of ``[exposure_start_ns, exposure_end_ns]``, rows ``line_ns`` apart)
    shows it. A corner hidden by the static world is not in view; the sphere is ignored (it is small)."""
    end = exposure_start_ns if exposure_end_ns is None else exposure_end_ns
    k = view.intrinsics
    first = int(row_times_ns(exposure_start_ns, end, line_ns, [0])[0])
    side = board_face(scene, view, first)
    objects = np.asarray(scene.charuco_board(side).getChessboardCorners(), dtype=np.float64)
    rows = np.zeros(len(objects))
    for _ in range(4 if line_ns else 1):  # each corner's row decides its time: iterate to the fixed point
        times = row_times_ns(exposure_start_ns, end, line_ns, np.clip(np.rint(rows), 0, k.height - 1))
        rotations, translations = scene.board_poses(times, side)
        world = np.einsum("nij,nj->ni", rotations, objects) + translations
        pixels, depth = view.project(world)
        rows = np.nan_to_num(pixels[:, 1])
    inside = ((depth > 1e-3) & (pixels[:, 0] >= margin_px) & (pixels[:, 0] <= k.width - 1 - margin_px)
              & (pixels[:, 1] >= margin_px) & (pixels[:, 1] <= k.height - 1 - margin_px))
    if inside.any():  # hidden by the static world (the timecode box, the LED clock's lantern)?
        u = np.clip(np.rint(pixels[inside, 0]), 0, k.width - 1).astype(np.intp)
        v = np.clip(np.rint(pixels[inside, 1]), 0, k.height - 1).astype(np.intp)
        inside[inside] = depth[inside] < scene.raster(view).depth_m[v, u] + 1e-3
    rotation = scene.board_pose(first, side)[0]
    centre = world.mean(axis=0)
    sight = centre - view.position_m
    cos = abs(float(rotation[:, 2] @ sight)) / max(float(np.linalg.norm(sight)), 1e-9)
    return BoardSighting(side=side, corners_px=pixels, depth_m=depth, in_view=inside,
                         incidence_deg=float(np.degrees(np.arccos(min(1.0, cos)))))
