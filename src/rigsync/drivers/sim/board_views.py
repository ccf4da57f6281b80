"""How many framesets of a simulated take show the board to each camera and each pair of cameras, from the truth.

A calibration needs views of the board by every camera and by pairs of cameras at once (the pairs connect the
cameras' poses). Given the simulated rig's cameras and each frameset's members with their true exposure
windows, :func:`count_board_views` counts, per camera and per pair, the framesets in which the camera sees the
**full** board (every chessboard corner in the image, not hidden by the static world, the board seen at most
``max_incidence_deg`` off face-on), the pairs that both see at least ``min_corners`` corners (a calibrator
matches corners by id, so part of the board connects two cameras), and lists per frameset the cameras that see
**any** of it (a corner in view, less than 85 degrees off face-on): what a rig whose camera sees the board only
through one neighbour is checked against.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from rigsync.core.frame import StreamKind
from rigsync.drivers.sim._scene_geometry import CameraView
from rigsync.drivers.sim.board_truth import board_sighting
from rigsync.drivers.sim.received import stream_line_ns
from rigsync.drivers.sim.scene import Scene
from rigsync.drivers.sim.world import SimWorld

__all__ = ["BoardViewCounts", "SimCamera", "count_board_views", "in_step_framesets", "rig_cameras"]

Key = tuple[str, str]
"""(device id, stream name)."""
EDGE_ON_DEG = 85.0


@dataclass(frozen=True, eq=False)
class SimCamera:
    """One colour or IR stream of a simulated device, as it renders the scene."""

    view: CameraView
    line_ns: float
    """Row-to-row delay of its rendered rows (0: a global shutter)."""


def rig_cameras(world: SimWorld) -> dict[Key, SimCamera]:
    """Every colour and IR stream of the simulated rig (depth streams do not show the board's pattern)."""
    return {stream.key: SimCamera(world.scene.view(dev.pose, stream.intrinsics), stream_line_ns(stream))
            for dev in world.devices for stream in dev.streams
            if stream.spec.kind in (StreamKind.COLOR, StreamKind.IR)}


@dataclass
class BoardViewCounts:
    """Framesets showing the full board, per camera and per pair (pairs as sorted key pairs)."""

    framesets: int = 0
    cameras: Counter[Key] = field(default_factory=Counter)
    pairs: Counter[tuple[Key, Key]] = field(default_factory=Counter)
    shared: Counter[tuple[Key, Key]] = field(default_factory=Counter)
    """Framesets in which both cameras of a pair see at least ``min_corners`` corners (part of the board)."""
    partial: list[dict[Key, int]] = field(default_factory=list)
    """Per frameset, in order: the cameras that see any of the board, and how many of its corners."""

    def seen_with_others(self, device: str, allowed: Iterable[str]) -> int:
        """Framesets in which ``device`` sees any of the board together with a device not in ``allowed``."""
        ok = {device, *allowed}
        return sum(1 for seen in self.partial
                   if any(d == device for d, _ in seen) and any(d not in ok for d, _ in seen))


def in_step_framesets(cameras: Mapping[Key, SimCamera], period_ns: int, exposure_ns: int, seconds: float,
                      start_ns: int = 0) -> Iterator[dict[Key, tuple[int, int]]]:
    """Framesets of a perfectly synchronized rig: every camera exposes ``[t, t + exposure_ns]`` at
    ``t = start_ns + k * period_ns`` (true time), for ``seconds``: a capture's framesets without capturing."""
    for k in range(int(seconds * 1e9) // period_ns):
        t = start_ns + k * period_ns
        yield dict.fromkeys(cameras, (t, t + exposure_ns))


def count_board_views(scene: Scene, cameras: Mapping[Key, SimCamera],
                      framesets: Iterable[Mapping[Key, tuple[int, int]]], *,
                      max_incidence_deg: float = 60.0, min_corners: int = 8) -> BoardViewCounts:
    """Count board views over ``framesets``: each maps a member's key to its true exposure window
    ``(exposure_start_ns, exposure_end_ns)`` (first row); members that are not in ``cameras`` are ignored."""
    counts = BoardViewCounts()
    for members in framesets:
        counts.framesets += 1
        full: list[Key] = []
        partial: dict[Key, int] = {}
        for key, (start_ns, end_ns) in members.items():
            camera = cameras.get(key)
            if camera is None:
                continue
            seen = board_sighting(scene, camera.view, start_ns, end_ns, camera.line_ns)
            if seen.incidence_deg < EDGE_ON_DEG and seen.in_view.any():
                partial[key] = int(seen.in_view.sum())
                if seen.full and seen.incidence_deg <= max_incidence_deg:
                    full.append(key)
        counts.partial.append(partial)
        counts.cameras.update(full)
        counts.pairs.update(itertools.combinations(sorted(full), 2))
        counts.shared.update(itertools.combinations(sorted(k for k, n in partial.items() if n >= min_corners), 2))
    return counts
