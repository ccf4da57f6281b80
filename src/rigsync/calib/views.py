"""What the solver works from: board views (one camera's detected corners in one frameset) and their framesets."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

MIN_CORNERS = 6
"""A view needs this many detected corners to take part (a pose from fewer is too weak)."""
MIN_SPREAD = 0.2
"""... and corners that span an area: the smaller spread of their board positions at least this fraction of the
larger (corners along one row give no pose)."""


def spans_area(board_m: F64) -> bool:
    """Whether a view's corners (board frame) span an area rather than lie along a line."""
    if len(board_m) < MIN_CORNERS:
        return False
    s = np.linalg.svd(board_m[:, :2] - board_m[:, :2].mean(axis=0), compute_uv=False)
    return bool(s[1] >= MIN_SPREAD * s[0])


@dataclass(frozen=True, eq=False)
class BoardView:
    """One camera's detection of the board in one frameset."""

    key: str
    """``<device>/<stream>``."""
    frameset_id: int
    rig_time_ns: int
    """Rig clock, the member's start of exposure."""
    ids: npt.NDArray[np.int32]
    """ChArUco corner ids, (N,)."""
    board_m: F64
    """The corners in the board frame, (N, 3), metres."""
    pixels: F64
    """The detected corners, (N, 2), pixels."""
    error_bound_ns: int = 0
    """The member's stamp error bound (``/rigsync/framesets``)."""
    exposure_ns: int = 0
    """The member's exposure (``/rigsync/frames``; 0: not known): its corners were seen at mid-exposure."""

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.board_m.shape != (n, 3) or self.pixels.shape != (n, 2):
            raise ValueError(f"{self.key} frameset {self.frameset_id}: ids {self.ids.shape}, board_m "
                             f"{self.board_m.shape} and pixels {self.pixels.shape} disagree")


@dataclass(frozen=True, slots=True)
class FramesetViews:
    """A frameset's board views (the cameras that saw the board in it)."""

    frameset_id: int
    rig_time_ns: int
    views: tuple[BoardView, ...]

    def cameras(self) -> tuple[str, ...]:
        return tuple(v.key for v in self.views)


def with_exposures(framesets: list[FramesetViews], exposure_ns: dict[tuple[str, int], int]) -> list[FramesetViews]:
    """The views with each member's exposure, by ``(key, rig_time_ns)`` (views not found keep 0)."""
    return [FramesetViews(fs.frameset_id, fs.rig_time_ns, tuple(
        replace(v, exposure_ns=exposure_ns.get((v.key, v.rig_time_ns), 0)) for v in fs.views)) for fs in framesets]
