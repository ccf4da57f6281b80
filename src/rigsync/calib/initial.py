"""The initial estimate: each view's board pose by PnP, camera pairs that share board views, a spanning tree.

Every view gives ``camera_from_board`` (planar PnP, then Levenberg-Marquardt). Two cameras that saw the board in
the same frameset give ``a_from_b = a_from_board @ inverse(b_from_board)``; each pair's estimates are averaged
(chordal mean of the rotations, median of the translations). The tree keeps, from a root (the camera with the
most views), the pairs with the most shared views (a maximum spanning tree, Prim's order), and chains the
relative poses from the root: that is every connected camera's first ``rig_from_camera``, in the root's frame.
Each frameset's board starts where its best view (most corners) puts it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import cv2
import numpy as np

from rigsync.calib import geometry as g
from rigsync.calib.geometry import F64
from rigsync.calib.views import BoardView, FramesetViews
from rigsync.core.intrinsics import Intrinsics


def view_pose(view: BoardView, k: Intrinsics) -> F64:
    """``camera_from_board`` (4x4) of one view."""
    kmat, dist = g.camera_matrix(k), g.distortion(k)
    obj, img = view.board_m.astype(np.float64), view.pixels.astype(np.float64)
    ok, rvec, tvec = cv2.solvePnP(obj, img, kmat, dist, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        ok, rvec, tvec = cv2.solvePnP(obj, img, kmat, dist, flags=cv2.SOLVEPNP_ITERATIVE)
    rvec, tvec = cv2.solvePnPRefineLM(obj, img, kmat, dist, rvec, tvec)
    return g.pose_from_vector(np.concatenate([rvec.reshape(3), tvec.reshape(3)]))


def pair_key(a: str, b: str) -> str:
    """The calibration file's key of a pair: ``<key a> <key b>``, sorted."""
    return " ".join(sorted((a, b)))


def shared_views(framesets: list[FramesetViews]) -> dict[tuple[str, str], int]:
    """Framesets in which both cameras of each (sorted) pair saw the board."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for fs in framesets:
        keys = sorted(set(fs.cameras()))
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                counts[(a, b)] += 1
    return dict(counts)


def components(keys: list[str], pairs: dict[tuple[str, str], int]) -> list[list[str]]:
    """The cameras grouped by shared board views (connected components), largest first (ties: by name)."""
    parent = {k: k for k in keys}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for (a, b), n in pairs.items():
        if n > 0:
            parent[find(a)] = find(b)
    groups: dict[str, list[str]] = defaultdict(list)
    for k in keys:
        groups[find(k)].append(k)
    return sorted((sorted(v) for v in groups.values()), key=lambda v: (-len(v), v))


@dataclass(frozen=True, slots=True)
class Initial:
    """The initial estimate of one connected set of cameras, in the root camera's frame."""

    root: str
    rig_from_camera: dict[str, F64]
    rig_from_board: dict[int, F64]
    """Per frameset id."""
    tree: tuple[tuple[str, str, int], ...]
    """The spanning tree's edges: (parent, child, shared views)."""


def initial_estimate(framesets: list[FramesetViews], intrinsics: dict[str, Intrinsics],
                     cameras: list[str]) -> Initial:
    """The initial poses of ``cameras`` (one connected set) and of the board in ``framesets``."""
    members = set(cameras)
    cam_from_board: dict[tuple[str, int], F64] = {}
    views_of: dict[str, int] = defaultdict(int)
    for fs in framesets:
        for v in fs.views:
            if v.key in members:
                cam_from_board[(v.key, fs.frameset_id)] = view_pose(v, intrinsics[v.key])
                views_of[v.key] += 1
    relative: dict[tuple[str, str], list[F64]] = defaultdict(list)  # (a, b) -> a_from_b estimates
    for fs in framesets:
        keys = sorted(k for k in set(fs.cameras()) if k in members)
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                a_b = cam_from_board[(a, fs.frameset_id)] @ g.inverse(cam_from_board[(b, fs.frameset_id)])
                relative[(a, b)].append(a_b)
    root = max(cameras, key=lambda k: (views_of[k], k))
    rig_from_camera = {root: np.eye(4)}
    tree: list[tuple[str, str, int]] = []
    while len(rig_from_camera) < len(cameras):
        best: tuple[int, str, str] | None = None
        for (a, b), estimates in relative.items():
            if (a in rig_from_camera) != (b in rig_from_camera):
                cand = (len(estimates), a, b)
                if best is None or cand > best:
                    best = cand
        if best is None:
            raise ValueError(f"cameras {sorted(members - set(rig_from_camera))} share no board view with {root}")
        n, a, b = best
        estimates = relative[(a, b)]
        a_from_b = g.pose(g.mean_rotation([m[:3, :3] for m in estimates]),
                          np.median([m[:3, 3] for m in estimates], axis=0))
        if a in rig_from_camera:
            rig_from_camera[b] = rig_from_camera[a] @ a_from_b
            tree.append((a, b, n))
        else:
            rig_from_camera[a] = rig_from_camera[b] @ g.inverse(a_from_b)
            tree.append((b, a, n))
    rig_from_board: dict[int, F64] = {}
    for fs in framesets:
        seen = [v for v in fs.views if v.key in members]
        if seen:
            best_view = max(seen, key=lambda v: len(v.ids))
            rig_from_board[fs.frameset_id] = (rig_from_camera[best_view.key]
                                              @ cam_from_board[(best_view.key, fs.frameset_id)])
    return Initial(root, rig_from_camera, rig_from_board, tuple(tree))
