"""The LED clock decoder with an object passing in front of the board (the simulator's sphere), against the
simulator's board clock: a partly hidden board is never decoded beyond its claimed uncertainty."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from rigsync.boards.ledclock import default_board
from rigsync.core.frame import StreamKind
from rigsync.core.geometry import Pose
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers.sim._model import SIM_EPOCH_NS
from rigsync.drivers.sim.ledclock_scene import LedClock
from rigsync.drivers.sim.scene import Scene, SceneConfig, ViewRenderer
from rigsync.record.reader import RecordedImage
from rigsync.spec.model import LEDCLOCK_FACES
from rigsync.verify.ledclock_decode import Undecodable
from rigsync.verify.ledclock_stream import StreamDecode, decode_stream

ORBIT_NS = 21_000_000_000
"""The sphere's revolution: ~0.01 rad per frame at the angles below, so consecutive frames hide the LEDs a little
more, then less."""
EXPOSURE_NS = 500_000
POSE = Pose((2.5, 0.0, 1.4), (0.0, 0.0, 1.0))
"""2.5 m in front of the lantern's +X face, 640 pixels wide: LEDs ~5 pixels apart."""


def _renderer(scene: Scene) -> ViewRenderer:
    view = scene.view(POSE, Intrinsics.from_hfov(640, 480, 60.0))
    return scene.renderer(view, StreamKind.COLOR, "rgb8", camera=2)


def _face(renderer: ViewRenderer, clock: LedClock) -> npt.NDArray[np.bool_]:
    """The image pixels inside the +X face's outline (markers, LEDs and the white around them)."""
    uv, _ = renderer.view.project(clock.face_corners_m("+x"))
    mask = np.zeros(renderer.shape[:2], dtype=np.uint8)
    cv2.fillConvexPoly(mask, np.round(uv).astype(np.int32), 1)
    return mask.reshape(-1).astype(bool)


@pytest.fixture(scope="module")
def passing() -> tuple[StreamDecode, dict[int, int], dict[int, float], dict[int, bool]]:
    """The sphere orbiting 1.2 m from the lantern at the height of the line from the camera to the board's upper LED
    rows: it crosses the camera's view of them. Per frame: the decode, the board time of the true exposure start,
    how many LEDs' worth of LED pixels the sphere hides, and whether it hides any of the board's face (against the
    same frame rendered without it)."""
    clock = LedClock(default_board(), (0.0, 0.0, 0.49), LEDCLOCK_FACES, SIM_EPOCH_NS, 123_456_789_012, 25e-6, 1.0)
    config = SceneConfig(seed=3, object_orbit_radius_m=1.2, object_height_m=0.93, object_bob_m=0.06,
                         object_orbit_period_ns=ORBIT_NS)
    scene = Scene(config, clock)
    with_sphere, without = _renderer(scene), _renderer(Scene(SceneConfig(seed=3, object_height_m=3.0), clock))
    start = SIM_EPOCH_NS + 600_000_000_000
    x, y, _ = scene.object_position_m(start)
    start += round(-math.atan2(y, x) / (2 * math.pi) * ORBIT_NS)  # the sphere between the camera and the board
    assert with_sphere.leds is not None
    pixels = with_sphere.leds.leds.pix
    per_led = pixels.size / default_board().layout().row.size  # pixels an LED lights, on average
    face = _face(with_sphere, clock)
    images, board_ns, hidden, seen = [], {}, {}, {}
    for seq, angle in enumerate(np.arange(-0.35, 0.35, 0.01)):
        t = start + int(angle / (2 * math.pi) * ORBIT_NS)
        image = with_sphere.render(t, exposure_end_ns=t + EXPOSURE_NS)
        clear = without.render(t, exposure_end_ns=t + EXPOSURE_NS)
        diff = np.any(image != clear, axis=2).reshape(-1)
        hidden[seq], seen[seq] = float(np.count_nonzero(diff[pixels])) / per_led, bool(diff[face].any())
        board_ns[seq] = int(clock.board_ns(t))
        image.setflags(write=False)
        images.append(RecordedImage("cam", "color", seq, t, t, image, "rgb8"))
    return decode_stream("cam/color", images, default_board()), board_ns, hidden, seen


def test_every_decoded_start_is_within_its_claimed_uncertainty(passing) -> None:  # type: ignore[no-untyped-def]
    """Every decoded frame, the partly hidden ones included, starts within 3 claimed sigmas of the board clock's
    truth (modulo the counter's wrap), and the claimed sigmas are those of a decode (below 3 us)."""
    out, board_ns, hidden, _ = passing
    wrap = default_board().counter.wrap_ns
    assert len(out.decoded) >= 40
    for seq, d in out.decoded.items():
        error = (d.start_ns - board_ns[seq] + wrap / 2) % wrap - wrap / 2
        assert abs(error) <= 3 * d.start_sigma_ns, (seq, hidden[seq], error, d.start_sigma_ns)
        assert d.start_sigma_ns < 3_000, (seq, d.start_sigma_ns)


def test_hidden_frames_are_counted_as_occluded(passing) -> None:  # type: ignore[no-untyped-def]
    """A frame in which the sphere hides two LEDs' worth of pixels or more is not decoded, with the reason
    'occluded' (a sliver of an LED hidden may leave a frame decoded, within its uncertainty: above); no frame in
    which it hides none of the board's face is 'occluded'."""
    out, _, hidden, seen = passing
    partly = [seq for seq, n in hidden.items() if n >= 2]
    assert len(partly) >= 20
    assert {seq: out.failed[seq].reason for seq in partly if seq in out.failed} == {
        seq: Undecodable.OCCLUDED for seq in partly}, {q: out.failed[q].detail for q in partly if q in out.failed}
    untouched = [seq for seq, changed in seen.items() if not changed]
    assert len(untouched) >= 20
    assert not [seq for seq in untouched if seq in out.failed and out.failed[seq].reason is Undecodable.OCCLUDED]
