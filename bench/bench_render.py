"""Simulator render throughput: renders per second at 320x240, against a plain copy of the same image.

Run: ``python bench/bench_render.py [--seconds 1.0] [--width 320 --height 240]``

The capture benchmark needs ~1920 renders per second (32 RGB-D cameras at 30 fps) on one core alongside
everything else, so a colour or depth render must stay well under 0.3 ms. The baseline is ``numpy.copy`` of
an array of the rendered image's shape and dtype, measured in the same run: the floor any render pays, since
each render returns a fresh image. Times cycle through a full orbit, so the sphere is sometimes in view.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.random import Generator
from numpy.typing import NDArray

from rigsync.core.frame import StreamKind
from rigsync.core.geometry import Pose
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers.sim.scene import Scene, SceneConfig, ViewRenderer


def rate(fn: Callable[[int], object], seconds: float) -> float:
    """Calls per second of ``fn(i)`` over at least ``seconds`` (after a short warm-up)."""
    for i in range(50):
        fn(i)
    calls = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        for _ in range(200):
            fn(calls)
            calls += 1
        elapsed = time.perf_counter() - start
    return calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="measuring time per case")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    args = parser.parse_args()

    scene = Scene(SceneConfig(seed=0))
    view = scene.view(Pose((0.0, -2.0, 1.2), (0.0, 0.0, 1.0)), Intrinsics.from_hfov(args.width, args.height, 70.0))
    step_ns = scene.config.object_orbit_period_ns // 997  # sweeps the orbit, never repeating a frame exactly
    cases: list[tuple[str, StreamKind, bool, dict[str, bool]]] = [
        ("rgb8", StreamKind.COLOR, False, {}),
        ("16UC1", StreamKind.DEPTH, False, {}),
        ("mono8", StreamKind.IR, False, {}),
        ("mono8 +dots", StreamKind.IR, True, {}),
        ("16UC1 interfered", StreamKind.DEPTH, False, {"interfered": True}),
        ("rgb8 corrupt", StreamKind.COLOR, False, {"corrupt": True}),
    ]
    print(f"{args.width}x{args.height}, {args.seconds:.1f} s per case, numpy {np.__version__}")
    print(f"{'case':<18} {'renders/s':>10} {'us/render':>10} {'copies/s':>10} {'us/copy':>8} {'x copy':>7}")
    for name, kind, dots, flags in cases:
        encoding = name.split()[0]
        renderer = scene.renderer(view, kind, encoding, ir_dots=dots)
        rng = np.random.default_rng(0) if flags else None
        image = renderer.render(0)

        def render(i: int, r: ViewRenderer = renderer, g: Generator | None = rng, f: dict[str, bool] = flags) -> object:
            return r.render(i * step_ns, rng=g, **f)

        def copy(_i: int, a: NDArray[Any] = image) -> object:
            return np.copy(a)

        renders = rate(render, args.seconds)
        copies = rate(copy, args.seconds)
        print(
            f"{name:<18} {renders:>10.0f} {1e6 / renders:>10.1f} {copies:>10.0f} {1e6 / copies:>8.1f}"
            f" {copies / renders:>7.1f}"
        )


if __name__ == "__main__":
    main()
