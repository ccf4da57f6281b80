"""A picture of the solved rig: every camera's frustum and the board's positions, in the rig frame (matplotlib).

Each frustum is a ``Line3DCollection`` with the gid ``frustum:<key>``; the board positions one scatter with the
gid ``boards`` (its centre in each used frameset), so the figure can be checked by its artists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rigsync.calib.geometry import F64
from rigsync.core.intrinsics import Intrinsics

FRUSTUM_M = 0.3
"""Depth of the drawn frusta."""


def _frustum(rig_from_camera: F64, k: Intrinsics, depth_m: float) -> list[list[F64]]:
    corners = [((u - k.cx) / k.fx * depth_m, (v - k.cy) / k.fy * depth_m, depth_m)
               for u, v in ((0, 0), (k.width, 0), (k.width, k.height), (0, k.height))]
    pts = [rig_from_camera[:3, :3] @ np.asarray(c) + rig_from_camera[:3, 3] for c in corners]
    centre = rig_from_camera[:3, 3]
    return [[centre, p] for p in pts] + [[pts[i], pts[(i + 1) % 4]] for i in range(4)]


def figure(rig_from_camera: dict[str, F64], intrinsics: dict[str, Intrinsics], board_centres: F64,
           title: str) -> Any:
    """The figure (not saved): frusta, camera names, board centres."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d.art3d import Line3DCollection

    fig = Figure(figsize=(7, 6), dpi=110)
    ax = fig.add_subplot(projection="3d")
    points = [board_centres] if len(board_centres) else []
    for key, m in sorted(rig_from_camera.items()):
        segments = _frustum(m, intrinsics[key], FRUSTUM_M)
        lines = Line3DCollection(segments, colors="tab:blue", linewidths=1.2)
        lines.set_gid(f"frustum:{key}")
        ax.add_collection3d(lines)
        ax.text(*m[:3, 3], key, fontsize=7)
        points.append(np.array([p for s in segments for p in s]))
    if len(board_centres):
        sc = ax.scatter(board_centres[:, 0], board_centres[:, 1], board_centres[:, 2], s=4, c="tab:orange",
                        label="board (used framesets)")
        sc.set_gid("boards")
        ax.legend(loc="upper left", fontsize=7)
    allp = np.vstack(points)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    mid, half = (lo + hi) / 2, max(float(np.max(hi - lo)) / 2, 0.5)
    ax.set_xlim(mid[0] - half, mid[0] + half)
    ax.set_ylim(mid[1] - half, mid[1] + half)
    ax.set_zlim(mid[2] - half, mid[2] + half)
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_zlabel("z (m)")
    ax.set_title(title, fontsize=9)
    return fig


def save_picture(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
