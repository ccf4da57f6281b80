"""Simulator render throughput: renders per second at 320x240, against a plain copy of the same image.

Run: ``python bench/bench_render.py [--seconds 1.0] [--width 320 --height 240]``

The ``+ledclock`` cases render the same view of a scene with the LED clock (``[sim] ledclock = true``), its
LEDs integrated over a 4 ms exposure (global shutter, then rolling with a 16 ms readout); ``x plain`` is their
time against the same encoding without it, measured in the same run.

The capture benchmark needs ~1920 renders per second (32 RGB-D cameras at 30 fps) on one core alongside
everything else, so a colour or depth render must stay well under 0.3 ms. The baseline is ``numpy.copy`` of
an array of the rendered image's shape and dtype, measured in the same run: the floor any render pays, since
each render returns a fresh image. Times cycle through a full orbit, so the sphere is sometimes in view.

The last table renders a scene with the hand-held calibration board (``[sim.board]``) moving 0.8 m in front
of the camera (it covers about a fifth of the image) against the static scene, same view and encoding,
measured in alternating rounds (best round of each): ``x static`` is the board's cost as a multiple.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.random import Generator
from numpy.typing import NDArray

from rigsync.boards.ledclock import default_board
from rigsync.core.frame import StreamKind
from rigsync.core.geometry import Pose
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers.sim.board_motion import BoardMotion
from rigsync.drivers.sim.ledclock_scene import LedClock
from rigsync.drivers.sim.scene import Scene, SceneConfig, ViewRenderer
from rigsync.spec.model import LEDCLOCK_FACES


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
    lantern = Scene(SceneConfig(seed=0), LedClock(default_board(), (0.0, 0.0, 0.49), LEDCLOCK_FACES, 0,
                                                  10**11, 2e-5))
    board = Scene(SceneConfig(seed=0, board_motion=BoardMotion(center_m=(0.0, -0.8, 1.0), seed=0)))
    view = scene.view(Pose((0.0, -2.0, 1.2), (0.0, 0.0, 1.0)), Intrinsics.from_hfov(args.width, args.height, 70.0))
    step_ns = scene.config.object_orbit_period_ns // 997  # sweeps the orbit, never repeating a frame exactly
    rolling = 16_000_000 / args.height
    cases: list[tuple[str, StreamKind, bool, dict[str, bool]]] = [
        ("rgb8", StreamKind.COLOR, False, {}),
        ("16UC1", StreamKind.DEPTH, False, {}),
        ("mono8", StreamKind.IR, False, {}),
        ("mono8 +dots", StreamKind.IR, True, {}),
        ("16UC1 interfered", StreamKind.DEPTH, False, {"interfered": True}),
        ("rgb8 corrupt", StreamKind.COLOR, False, {"corrupt": True}),
        ("rgb8 +ledclock", StreamKind.COLOR, False, {}),
        ("rgb8 +ledclock rs", StreamKind.COLOR, False, {}),
        ("mono8 +ledclock", StreamKind.IR, False, {}),
    ]
    print(f"{args.width}x{args.height}, {args.seconds:.1f} s per case, numpy {np.__version__}")
    print(f"{'case':<18} {'renders/s':>10} {'us/render':>10} {'copies/s':>10} {'us/copy':>8} {'x copy':>7}"
          f" {'x plain':>7}")
    plain: dict[str, float] = {}
    for name, kind, dots, flags in cases:
        encoding = name.split()[0]
        led = "+ledclock" in name
        renderer = (lantern if led else scene).renderer(view, kind, encoding, ir_dots=dots)
        rng = np.random.default_rng(0) if flags else None
        image = renderer.render(0)
        line_ns = rolling if name.endswith(" rs") else 0.0

        def render(i: int, r: ViewRenderer = renderer, g: Generator | None = rng, f: dict[str, bool] = flags,
                   line: float = line_ns) -> object:
            t = i * step_ns
            return r.render(t, exposure_end_ns=t + 4_000_000, line_ns=line, rng=g, **f)

        def copy(_i: int, a: NDArray[Any] = image) -> object:
            return np.copy(a)

        renders = rate(render, args.seconds)
        copies = rate(copy, args.seconds)
        if not flags and not dots and not led:
            plain[encoding] = renders
        ratio = f"{plain[encoding] / renders:>7.1f}" if led else ""
        print(
            f"{name:<18} {renders:>10.0f} {1e6 / renders:>10.1f} {copies:>10.0f} {1e6 / copies:>8.1f}"
            f" {copies / renders:>7.1f} {ratio}"
        )
    print("\nhand-held board against the static scene, interleaved rounds, best of each")
    print(f"{'case':<18} {'us static':>10} {'us board':>10} {'x static':>8}")
    for name, kind, line in (("rgb8", StreamKind.COLOR, 0.0), ("rgb8 rs", StreamKind.COLOR, rolling),
                             ("16UC1", StreamKind.DEPTH, 0.0), ("mono8", StreamKind.IR, 0.0)):
        static_us, board_us = paired([_renders(w.renderer(view, kind, name.split()[0]), step_ns, line)
                                      for w in (scene, board)], args.seconds)
        print(f"{name + ' +board':<18} {static_us:>10.1f} {board_us:>10.1f} {board_us / static_us:>8.1f}")


def _renders(renderer: ViewRenderer, step_ns: int, line_ns: float) -> Callable[[int], object]:
    """Render frame ``i`` of a 4 ms exposure every ``step_ns``, rows ``line_ns`` apart."""
    def render(i: int) -> object:
        t = i * step_ns
        return renderer.render(t, exposure_end_ns=t + 4_000_000, line_ns=line_ns)
    return render


def paired(fns: list[Callable[[int], object]], seconds: float, rounds: int = 10) -> list[float]:
    """Microseconds per call of each of ``fns``, measured in alternating rounds; the best round of each (the
    machine's load hits every function alike)."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for j, fn in enumerate(fns):
            best[j] = min(best[j], 1e6 / rate(fn, seconds / rounds))
    return best


if __name__ == "__main__":
    main()
