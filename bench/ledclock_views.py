"""How each example rig's cameras see the simulator's LED clock, per render width: which lantern faces, how far
apart their LEDs are in pixels, and whether OpenCV finds the board's ArUco markers.

Run: ``python bench/ledclock_views.py [--widths 320 640 960 1280] [examples/studio.toml ...]``

For every colour and IR stream of every example (default: all of ``examples/``), with ``[sim] ledclock = true``
and ``render_width`` set to each width: a face counts as seen when every LED centre projects into the image
and the pixel there sees that face (the static world; the sphere passing in front is not counted). ``pitch px``
is the smallest distance between adjacent LEDs of a row on the best seen face (the one whose LEDs are furthest
apart); ``markers`` counts the board's markers ``cv2.aruco.ArucoDetector`` (the board's dictionary, default
parameters) finds in one rendered frame (a 5 ms exposure; the four faces carry the same ids, so two faces
can show up to 8), on a frame converted to 8-bit grey; ``sphere %`` is the share of the sphere's orbit (400
instants) during which its bounding box covers an LED pixel of the camera (an upper bound of when it hides
LEDs).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import cv2
import numpy as np

from rigsync.core.frame import StreamKind
from rigsync.drivers.sim._scene_geometry import cast, sphere_bbox
from rigsync.drivers.sim.received import stream_line_ns
from rigsync.drivers.sim.scene import ViewRenderer
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.spec import loads_rig
from rigsync.spec.model import LEDCLOCK_FACES

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.toml"))


def with_ledclock(path: Path, width: int) -> SimWorld:
    """The example's simulated world with the LED clock on, rendered ``width`` pixels wide."""
    text = re.sub(r"(?m)^render_width\s*=.*$", "", path.read_text())
    text = text.replace("[sim]\n", f"[sim]\nrender_width = {width}\nledclock = true\n", 1)
    rig = loads_rig(text, str(path))
    return SimWorld(rig, build_plan(rig))


def hidden(world: SimWorld, renderer: ViewRenderer, instants: int = 400) -> float:
    """Percentage of the sphere's orbit during which its bounding box covers an LED pixel of the view."""
    assert renderer.leds is not None
    k, scene = renderer.view.intrinsics, world.scene
    ys, xs = np.divmod(renderer.leds.leds.pix, k.width)
    count = 0
    for i in range(instants):
        centre = renderer.view.to_camera([scene.object_position_m(i * scene.config.object_orbit_period_ns // instants)])
        u0, u1, v0, v1 = sphere_bbox(renderer.view, tuple(centre[0]), scene.config.object_radius_m)
        count += bool(np.any((xs >= u0) & (xs < u1) & (ys >= v0) & (ys < v1)))
    return 100.0 * count / instants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[320, 640, 960, 1280])
    parser.add_argument("examples", type=Path, nargs="*", default=EXAMPLES)
    args = parser.parse_args()
    print(f"{'example':<26} {'stream':<22} {'width':>5} {'faces seen':<12} {'pitch px':>8} {'markers':>7}"
          f" {'sphere %':>8}")
    for path in args.examples:
        for width in args.widths:
            world = with_ledclock(path, width)
            clock = world.scene.ledclock
            assert clock is not None
            layout = clock.board.layout()
            first_row = layout.row == 0
            detector = cv2.aruco.ArucoDetector(
                cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, clock.board.markers.dictionary)))
            rects = [clock.side_rect(name) for name in LEDCLOCK_FACES]
            for dev in world.devices:
                for stream in dev.streams:
                    if stream.spec.kind is StreamKind.DEPTH:
                        continue
                    renderer = world._received.renderer(stream)
                    view, k = renderer.view, renderer.view.intrinsics
                    seen, pitches = [], []
                    for name, rect in zip(LEDCLOCK_FACES, rects, strict=True):
                        if name not in clock.faces:
                            continue
                        points = np.stack([rect.point(x / 1000, y / 1000)
                                           for x, y in zip(layout.x_mm, layout.y_mm, strict=True)])
                        uv, z = view.project(points)
                        if np.any(z <= 0) or not np.all((uv >= 0) & (uv <= [k.width - 1, k.height - 1])):
                            continue
                        d = points - view.position_m
                        hits = cast(world.scene._world.rects, view.position_m, (d[:, 0], d[:, 1], d[:, 2]))
                        own = [i for i, r in enumerate(world.scene._world.rects) if r is rect or (
                            np.allclose(r.origin, rect.origin) and np.allclose(r.right, rect.right))]
                        if not np.all(np.isin(hits.index, own)):
                            continue
                        seen.append(name)
                        row = uv[first_row]
                        pitches.append(float(np.min(np.linalg.norm(np.diff(row, axis=0), axis=1))))
                    start = world.now_ns + 1_000_000_000
                    image = renderer.render(start, exposure_end_ns=start + 5_000_000, line_ns=stream_line_ns(stream))
                    grey = image if image.ndim == 2 else cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY)
                    if grey.dtype != np.uint8:
                        grey = (grey // 257).astype(np.uint8)
                    _, ids, _ = detector.detectMarkers(grey)
                    found = [] if ids is None else [i for i in ids.ravel() if i in clock.board.markers.ids]
                    pitch = f"{max(pitches):.1f}" if pitches else "-"
                    print(f"{path.stem:<26} {dev.spec.id + '/' + stream.spec.name:<22} {width:>5} "
                          f"{','.join(seen) or '-':<12} {pitch:>8} {len(found):>7} {hidden(world, renderer):>8.0f}")


if __name__ == "__main__":
    main()
