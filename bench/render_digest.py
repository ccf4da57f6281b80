"""A digest of simulator renders, to show that a change leaves the scene's images byte for byte as they were.

Run it on two checkouts and compare: ``PYTHONPATH=src python bench/render_digest.py`` prints the SHA-256 of 72
renders of the default scene (no hand-held board, no LED clock): colour, IR with projector dots and depth, from
8 views around the ring, at 3 times each, with a 5 ms exposure and a rolling readout.
"""

from __future__ import annotations

import hashlib
import math

from rigsync.core.frame import StreamKind
from rigsync.core.geometry import Pose
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers.sim.scene import Scene, SceneConfig


def digest() -> str:
    """SHA-256 (hex) of the 72 renders."""
    h = hashlib.sha256()
    scene = Scene(SceneConfig(seed=5))
    for angle in range(0, 360, 45):
        a = math.radians(angle)
        view = scene.view(Pose((2.5 * math.cos(a), 2.5 * math.sin(a), 1.5)), Intrinsics.from_hfov(320, 240, 70.0))
        for kind, encoding, dots in ((StreamKind.COLOR, "rgb8", False), (StreamKind.IR, "mono8", True),
                                     (StreamKind.DEPTH, "16UC1", False)):
            renderer = scene.renderer(view, kind, encoding, ir_dots=dots)
            for t in (0, 123_456_789, 2_000_000_000):
                h.update(renderer.render(t, exposure_end_ns=t + 5_000_000, line_ns=100.0).tobytes())
    return h.hexdigest()


if __name__ == "__main__":
    print(digest())
