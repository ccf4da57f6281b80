"""Board views a calibration rig gives: captures a rig (``rigsync capture --fast``) and counts, from the
simulator's truth, the framesets in which each camera and each pair of cameras sees the full board
(:mod:`rigsync.drivers.sim.board_views`), and whether a camera ever sees the board with cameras other than
the ones named.

Run: ``python bench/calib_views.py examples/calib_three.toml [--seconds 15] [--alone-with cam-c=cam-b]``
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from rigsync.cli.main import main as rigsync
from rigsync.drivers.sim.board_views import BoardViewCounts, Key, count_board_views, rig_cameras
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.record.reader import open_recording
from rigsync.spec.loader import load_rig


def framesets(path: Path) -> Iterator[dict[Key, tuple[int, int]]]:
    """Each recorded frameset's members with their true exposure windows."""
    with open_recording(path) as rec:
        truth = {(t.device, t.stream, t.seq): (t.exposure_start_ns, t.exposure_end_ns) for t in rec.truth()}
        for fs in rec.framesets():
            yield {(m.device, m.stream): truth[(m.device, m.stream, m.seq)] for m in fs.members}


def board_views(rig_path: Path, seconds: float, out: Path) -> BoardViewCounts:
    """Capture ``rig_path`` for ``seconds`` into ``out`` and count its board views."""
    code = rigsync(["capture", str(rig_path), "--seconds", str(seconds), "--fast", "--quiet", "--out", str(out)])
    if code != 0:
        raise SystemExit(f"capture failed ({code})")
    rig = load_rig(rig_path)
    world = SimWorld(rig, build_plan(rig))
    return count_board_views(world.scene, rig_cameras(world), framesets(out))


def table(counts: BoardViewCounts) -> str:
    """Markdown: framesets with the full board per camera, then per pair, then pairs sharing part of it."""
    lines = [f"{counts.framesets} framesets", "", "| camera | full board |", "| --- | --- |"]
    lines += [f"| {d}/{s} | {n} |" for (d, s), n in sorted(counts.cameras.items())]
    lines += ["", "| pair | full board in both |", "| --- | --- |"]
    lines += [f"| {a[0]} + {b[0]} | {n} |" for (a, b), n in sorted(counts.pairs.items())]
    lines += ["", "| pair | both see 8+ corners |", "| --- | --- |"]
    lines += [f"| {a[0]} + {b[0]} | {n} |" for (a, b), n in sorted(counts.shared.items())]
    return "\n".join(lines)


def _alone(specs: list[str]) -> Mapping[str, set[str]]:
    return {camera: set(others.split(",")) for camera, others in (s.split("=") for s in specs)}


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rig", type=Path)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--alone-with", action="append", default=[], metavar="CAM=OTHER[,OTHER]",
                        help="report framesets where CAM sees the board with a camera not listed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        counts = board_views(args.rig, args.seconds, Path(tmp) / "take.mcap")
    print(f"{args.rig} ({args.seconds:g} s)")
    print(table(counts))
    for camera, others in _alone(args.alone_with).items():
        print(f"{camera} sees the board with a camera other than {sorted(others)} in "
              f"{counts.seen_with_others(camera, others)} framesets")


if __name__ == "__main__":
    run()
