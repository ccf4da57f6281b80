"""The simulator's LED clock: LED pixels equal the analytic prediction from the board's definition over each row's
true exposure mapped to board time, the board runs on its own crystal, rigs without it render as before, its clock
truth is recorded, and bad ``[sim.ledclock]`` settings are refused naming the field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from rigsync.boards.ledclock import default_board
from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.core.errors import RigFileError
from rigsync.core.frame import Frame, StreamKind
from rigsync.core.geometry import Pose
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers.sim._model import SIM_EPOCH_NS
from rigsync.drivers.sim.ledclock_render import LEVEL_COUNTER, LEVEL_STEP
from rigsync.drivers.sim.ledclock_scene import LEDCLOCK_TRUTH_TOPIC, LedClock
from rigsync.drivers.sim.received import stream_line_ns
from rigsync.drivers.sim.scene import Scene, SceneConfig, ViewRenderer
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.record.reader import open_recording
from rigsync.spec import load_rig, loads_rig
from rigsync.spec.model import LEDCLOCK_FACES

EXAMPLES = Path(__file__).parents[2] / "examples"
OFFSET_NS = 123_456_789_012
DRIFT = 25e-6
CONFIG = SceneConfig(seed=3, object_height_m=3.0)
"""The sphere flies high, out of view: it never hides an LED here."""
START_NS = SIM_EPOCH_NS + 600 * 1_000_000_000 + 7_777


def _clock(noise: float = 0.0) -> LedClock:
    return LedClock(default_board(), (0.0, 0.0, 0.49), LEDCLOCK_FACES, SIM_EPOCH_NS, OFFSET_NS, DRIFT, noise)


def _renderer(kind: StreamKind = StreamKind.COLOR, encoding: str = "rgb8", noise: float = 0.0) -> ViewRenderer:
    """A camera 2.5 m in front of the +X face, 640 pixels wide (LEDs ~5 pixels apart)."""
    scene = Scene(CONFIG, _clock(noise))
    view = scene.view(Pose((2.5, 0.0, 1.4), (0.0, 0.0, 1.0)), Intrinsics.from_hfov(640, 480, 60.0))
    return scene.renderer(view, kind, encoding, camera=2)


def _board_ns(true_ns: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Board time, independently of the simulator: offset + t * (1 + drift), exact integers."""
    t = [int(x) - SIM_EPOCH_NS for x in true_ns]
    return np.array([OFFSET_NS + x + round(x * 25 / 1_000_000) for x in t], dtype=np.int64)


def _predicted(r: ViewRenderer, base: npt.NDArray[Any], start: int, end: int, line: float) -> npt.NDArray[Any]:
    """Each LED pixel (first channel) as the board's definition predicts it: the static image plus every LED's
    weight x level x lit time / its row's step (counter: / the exposure), lit time from ``lit_ns`` over the
    pixel row's window in board time, times the camera's gain."""
    assert r.leds is not None
    fp, board = r.leds.leds, r.leds.clock.board
    row_start = start + np.rint(fp.rows * line).astype(np.int64)
    lit = board.lit_ns(_board_ns(row_start), _board_ns(row_start + (end - start)))
    layout = board.layout()
    norm = np.array([row.step_ns for row in board.rows] + [end - start], dtype=np.float64)[layout.row]
    level = np.where(layout.row == len(board.rows), LEVEL_COUNTER, LEVEL_STEP)
    light = np.zeros(fp.pix.size)
    np.add.at(light, fp.pixel, fp.weight * (level / norm)[fp.led] * lit[fp.row, fp.led])
    flat = base.reshape(base.shape[0] * base.shape[1], -1)[fp.pix, 0].astype(np.float64)
    return np.clip(np.rint(flat + r.leds.gain * light), 0, 255)


def _led_pixels(r: ViewRenderer, img: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    assert r.leds is not None
    return img.reshape(img.shape[0] * img.shape[1], -1)[r.leds.leds.pix, 0].astype(np.float64)


def test_led_pixels_equal_the_prediction_over_the_true_exposure_in_board_time() -> None:
    """A global-shutter frame's LED pixels equal the static image plus the light lit_ns predicts over the
    exposure window mapped to board time (to the rounding of one level), and the window matters."""
    r = _renderer()
    assert r.leds is not None and r.leds.leds.pix.size > 1000
    base = r.render(START_NS)  # an empty window: no LED light
    end = START_NS + 3_000_000
    img = r.render(START_NS, exposure_end_ns=end)
    got, want = _led_pixels(r, img), _predicted(r, base, START_NS, end, 0.0)
    assert np.max(np.abs(got - want)) <= 1 and np.mean(got == want) > 0.95
    lit_pixels = np.count_nonzero(got - _led_pixels(r, base) > 20)
    assert lit_pixels > 100  # streaks and counter bits are visible
    # The same window in true time (no offset, no drift) predicts another image.
    assert np.count_nonzero(np.abs(got - _predicted_true_time(r, base, START_NS, end)) > 2) > 20
    # Away from the LEDs nothing changed.
    mask = np.ones(img.shape[:2], bool).reshape(-1)
    mask[r.leds.leds.pix] = False
    assert np.array_equal(img.reshape(-1, 3)[mask], base.reshape(-1, 3)[mask])


def _predicted_true_time(r: ViewRenderer, base: npt.NDArray[Any], start: int, end: int) -> npt.NDArray[Any]:
    assert r.leds is not None
    clock = r.leds.clock
    r.leds.clock = LedClock(clock.board, clock.center_m, clock.faces, SIM_EPOCH_NS, 0, 0.0)
    try:
        return _led_pixels(r, r.render(start, exposure_end_ns=end))
    finally:
        r.leds.clock = clock


def _lit_measured(r: ViewRenderer, base: npt.NDArray[Any], img: npt.NDArray[Any], led: int, start: int,
                  end: int) -> float:
    """Lit time of one LED read back from its most covered pixel (ns), less the faint light other LEDs' blur
    adds there (from their true lit times)."""
    assert r.leds is not None
    fp, board = r.leds.leds, r.leds.clock.board
    entries = np.flatnonzero(fp.led == led)
    e = entries[np.argmax(fp.weight[entries])]
    others = np.flatnonzero((fp.pixel == fp.pixel[e]) & (fp.led != led))
    lit = board.lit_ns(_board_ns(np.array([start])), _board_ns(np.array([end])))[0]
    steps = np.array([row.step_ns for row in board.rows] + [end - start], dtype=float)[board.layout().row]
    level = np.where(board.layout().row == len(board.rows), LEVEL_COUNTER, LEVEL_STEP)
    stray = r.leds.gain * float(np.sum(fp.weight[others] * level[fp.led[others]] * lit[fp.led[others]]
                                       / steps[fp.led[others]]))
    pixel = fp.pix[fp.pixel[e]]
    added = float(img.reshape(-1, 3)[pixel, 0]) - float(base.reshape(-1, 3)[pixel, 0]) - stray
    return added / (r.leds.gain * fp.weight[e] * LEVEL_STEP) * steps[led]


def test_a_window_across_a_counter_step_blurs_the_changing_bits() -> None:
    """An exposure across a step of the Gray counter matches the prediction too: the bit that changes is lit
    for the part of the exposure it was on, the others for all or none of it."""
    r = _renderer()
    assert r.leds is not None
    unit = r.leds.clock.board.counter.unit_ns
    b0 = int(_board_ns(np.array([START_NS]))[0])
    start = START_NS + (unit - b0 % unit) - 1_000_000  # 1 ms before the counter steps (drift: ~1 ns off)
    base = r.render(start)
    end = start + 3_000_000
    img = r.render(start, exposure_end_ns=end)
    got, want = _led_pixels(r, img), _predicted(r, base, start, end, 0.0)
    assert np.max(np.abs(got - want)) <= 1
    lit = r.leds.clock.board.lit_ns(_board_ns(np.array([start])), _board_ns(np.array([end])))[0]
    counter = lit[-r.leds.clock.board.counter.bits:]
    full = int(_board_ns(np.array([end]))[0] - _board_ns(np.array([start]))[0])  # 3 ms x (1 + drift)
    partial = counter[(counter > 0) & (counter < full)]
    assert partial.size == 1 and min(abs(partial[0] - 1_000_000), abs(partial[0] - 2_000_000)) < 2_000


def test_streak_ends_follow_the_exposure_start_at_sub_step_precision() -> None:
    """Moving the exposure start by a quarter of a 640 us step moves the lit time of the streak's first LED by
    that much (read back from the image within 1 level, ~12 us), and no other LED of the row changes."""
    r = _renderer()
    assert r.leds is not None
    board = r.leds.clock.board
    layout = board.layout()
    row = 3
    assert board.rows[row].step_ns == 640_000
    base = r.render(START_NS)
    leds = np.flatnonzero(layout.row == row)
    b0 = int(_board_ns(np.array([START_NS]))[0])
    start0 = START_NS - b0 % board.rows[row].step_ns + 10_000  # 10 us into an LED's step
    first = int(leds[board.rows[row].led_at(int(_board_ns(np.array([start0]))[0]))])
    readings = []
    for shift in (0, 80_000, 160_000, 240_000):
        start = start0 + shift
        img = r.render(start, exposure_end_ns=start + 4_000_000)
        b = _board_ns(np.array([start, start + 4_000_000]))
        truth = int(board.rows[row].lit_ns(first - int(leds[0]), b[0], b[1]))
        assert abs(truth - (630_000 - shift)) < 100
        measured = _lit_measured(r, base, img, first, start, start + 4_000_000)
        assert abs(measured - truth) < 12_000, (shift, measured, truth)
        readings.append(measured)
    assert np.allclose(np.diff(readings), -80_000, atol=20_000)


def test_rolling_shutter_rows_are_exposed_line_ns_apart() -> None:
    """With a rolling shutter each image row's LEDs are integrated over the window shifted by row x line_ns,
    which changes the image against a global shutter."""
    r = _renderer()
    line_ns = 30_000.0  # ~14 ms over the image: the LED rows' windows differ by steps of the slow rows
    base = r.render(START_NS)
    end = START_NS + 2_000_000
    rolling = r.render(START_NS, exposure_end_ns=end, line_ns=line_ns)
    got = _led_pixels(r, rolling)
    assert np.max(np.abs(got - _predicted(r, base, START_NS, end, line_ns))) <= 1
    assert np.count_nonzero(np.abs(got - _predicted(r, base, START_NS, end, 0.0)) > 2) > 50


def test_board_time_runs_on_its_own_crystal() -> None:
    """Board time is offset + t x (1 + drift) to the nanosecond over ten minutes, never true time."""
    clock = _clock()
    t = np.array([SIM_EPOCH_NS, SIM_EPOCH_NS + 1, START_NS, SIM_EPOCH_NS + 3_600_000_000_000], dtype=np.int64)
    assert clock.board_ns(t).tolist() == _board_ns(t).tolist()
    assert int(clock.board_ns(np.array([START_NS]))[0]) - (START_NS - SIM_EPOCH_NS) - OFFSET_NS == 15_000_000


def _rig(extra: str, example: str = "realsense_genlock") -> str:
    """The example with ``extra``: keys of [sim], or a [sim.ledclock] table (added at the end)."""
    text = (EXAMPLES / f"{example}.toml").read_text()
    if extra.startswith("["):
        return f"{text}\n{extra}\n"
    return text.replace("[sim]\n", f"[sim]\n{extra}\n", 1)


def test_rig_file_sets_the_crystal_or_draws_it_from_the_seed() -> None:
    """``drift_ppm`` and ``offset_s`` are taken as given; unset, they are drawn from the seed within the board's
    crystal tolerance, differently for another seed, and the lantern stands under the ChArUco board."""
    rig = loads_rig(_rig("[sim.ledclock]\ndrift_ppm = -12.5\noffset_s = 42.25\nnoise = 0"), "r.toml")
    clock = SimWorld(rig, build_plan(rig)).scene.ledclock
    assert clock is not None and clock.offset_ns == 42_250_000_000 and clock.drift == pytest.approx(-12.5e-6, rel=1e-12)
    assert clock.noise == 0 and clock.center_m == pytest.approx((0.0, 0.0, 0.49))
    drawn = []
    for seed in (1, 2):
        rig = loads_rig(re.sub(r"(?m)^seed = \d+$", f"seed = {seed}", _rig("ledclock = true")), "r.toml")
        c = SimWorld(rig, build_plan(rig)).scene.ledclock
        assert c is not None and abs(c.drift) <= c.board.crystal_ppm * 1e-6 and c.offset_ns >= 10_000_000_000
        drawn.append((c.drift, c.offset_ns))
    assert drawn[0] != drawn[1]


def test_without_the_led_clock_nothing_changes_off_the_lantern() -> None:
    """Without an LED clock the exposure window and line time change no pixel; with it, the pixels whose rays
    all miss the lantern are those of the scene without it, and depth shows the box but never the LEDs."""
    view_pose = Pose((2.5, 0.0, 1.4), (0.0, 0.0, 1.0))
    k = Intrinsics.from_hfov(320, 240, 70.0)
    plain = Scene(SceneConfig(seed=3))
    lantern = Scene(SceneConfig(seed=3), _clock(noise=1.0))
    p = plain.renderer(plain.view(view_pose, k), StreamKind.COLOR, "rgb8")
    assert p.leds is None
    before = p.render(START_NS)
    assert np.array_equal(p.render(START_NS, exposure_end_ns=START_NS + 5_000_000, line_ns=50_000.0), before)
    w = lantern.renderer(lantern.view(view_pose, k), StreamKind.COLOR, "rgb8")
    with_lantern = w.render(START_NS, exposure_end_ns=START_NS + 5_000_000)
    changed = np.any(with_lantern != before, axis=2)
    ys, xs = np.nonzero(changed)
    clock = _clock()
    corners = np.concatenate([clock.face_corners_m("+x"), clock.face_corners_m("+x") - np.array([0.6, 0.0, 0.0])])
    uv, _ = w.view.project(corners)
    assert xs.min() >= uv[:, 0].min() - 1 and xs.max() <= uv[:, 0].max() + 1
    assert ys.min() >= uv[:, 1].min() - 1 and ys.max() <= uv[:, 1].max() + 1
    depth = lantern.renderer(lantern.view(view_pose, k), StreamKind.DEPTH, "16UC1")
    assert depth.leds is None
    centre = [[0.3, 0.0, 0.49]]  # the +X face's centre, between LED rows
    uv, z = w.view.project(centre)
    u, v = (int(np.rint(c)) for c in uv[0])
    assert abs(int(depth.render(START_NS, exposure_end_ns=START_NS + 5_000_000)[v, u]) - z[0] * 1000) <= 2


def test_noise_is_seeded_per_frame() -> None:
    """Sensor noise on the LED pixels is the same for the same frame and differs between frames and cameras."""
    r = _renderer(noise=2.0)
    end = START_NS + 1_000_000
    a, b = r.render(START_NS, exposure_end_ns=end), r.render(START_NS, exposure_end_ns=end)
    assert np.array_equal(a, b)
    quiet = _renderer(noise=0.0).render(START_NS, exposure_end_ns=end)
    diff = _led_pixels(r, a) - _led_pixels(r, quiet)
    assert 1.5 < np.std(diff) < 2.5


def test_ir_mono16_is_scaled() -> None:
    """IR frames show the LEDs too; in mono16 the added light is 257 times the mono8 one."""
    r8 = _renderer(StreamKind.IR, "mono8")
    r16 = _renderer(StreamKind.IR, "mono16")
    end = START_NS + 3_000_000
    d8 = r8.render(START_NS, exposure_end_ns=end).astype(float) - r8.render(START_NS).astype(float)
    d16 = r16.render(START_NS, exposure_end_ns=end).astype(float) - r16.render(START_NS).astype(float)
    assert d8.max() > 50
    lit = d8 > 20
    assert np.allclose(d16[lit] / 257, d8[lit], atol=1.0)


def test_capture_records_the_board_clock_truth(tmp_path: Path) -> None:
    """A capture with the LED clock records its clock truth once on /rigsync/sim/ledclock, equal to the world's;
    one without records none."""
    text = _rig("[sim.ledclock]\ndrift_ppm = 7\noffset_s = 5", "realsense_genlock")
    text = re.sub(r"(?m)^render_width\s*=.*$", "", text)
    rig = loads_rig(text, "r.toml")
    out = tmp_path / "led.mcap"
    with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=0.5, fast=True)) as session:
        session.run()
    with open_recording(out) as rec:
        messages = [payload for _, payload in rec.json_messages(LEDCLOCK_TRUTH_TOPIC)]
    assert len(messages) == 1
    truth = messages[0]
    assert truth["offset_ns"] == 5_000_000_000 and truth["drift_ppm"] == pytest.approx(7.0)
    assert truth["epoch_true_ns"] == SIM_EPOCH_NS and truth["board"] == "ledclock-a"
    assert sorted(truth["faces"]) == sorted(LEDCLOCK_FACES) and len(truth["faces"]["+x"]) == 4


@pytest.mark.parametrize(("extra", "field", "problem"), [
    ('ledclock = "yes"', "sim.ledclock", "expected a table"),
    ("[sim.ledclock]\nfaces = [\"up\"]", "sim.ledclock.faces", "needs one or more different side faces"),
    ("[sim.ledclock]\nfaces = []", "sim.ledclock.faces", "needs one or more different side faces"),
    ("[sim.ledclock]\nboard = \"nowhere.toml\"", "sim.ledclock.board", "no such board file"),
    ("[sim.ledclock]\ncolour = 1", "sim.ledclock.colour", "unknown key"),
    ("[sim.ledclock]\ncenter = [0, 0, 1000]", "sim.ledclock.center", "out of range"),
    ("[sim.ledclock]\nnoise = -1", "sim.ledclock.noise", "out of range"),
])
def test_bad_settings_are_refused_naming_the_field(extra: str, field: str, problem: str) -> None:
    """Each bad [sim.ledclock] setting is refused with the rig file, the field and what is wrong."""
    with pytest.raises(RigFileError) as info:
        loads_rig(_rig(extra), "rig.toml")
    assert info.value.field == field and problem in str(info.value), str(info.value)
    assert str(info.value).startswith(f"rig.toml: {field}")


def test_a_bad_board_file_is_refused_naming_its_field(tmp_path: Path) -> None:
    """A board file with a bad value is refused naming the board file and its field."""
    board = (Path(__file__).parents[2] / "boards" / "ledclock.toml").read_text().replace("leds = 20", "leds = 1", 1)
    (tmp_path / "b.toml").write_text(board)
    rig = tmp_path / "rig.toml"
    rig.write_text(_rig('[sim.ledclock]\nboard = "b.toml"'))
    with pytest.raises(RigFileError) as info:
        load_rig(rig)
    assert info.value.field == "rows[0].leds" and "b.toml" in str(info.value)
    (tmp_path / "b.toml").write_text(board.replace("leds = 1", "leds = 20").replace("ledclock-a", "mine"))
    spec = load_rig(rig).sim.ledclock
    assert spec is not None and spec.board == str(tmp_path / "b.toml")


def test_delivered_frames_are_rendered_over_their_true_rows_windows() -> None:
    """Each frame the world delivers shows the LEDs over its truth window: a rolling-shutter Kinect colour frame
    with rows readout / height apart, its global-shutter IR frame with one window."""
    rig = loads_rig(_rig("[sim.ledclock]\nnoise = 0", "kinect_star"), "r.toml")
    world = SimWorld(rig, build_plan(rig))
    truth: dict[tuple[str, str, int], tuple[int, int]] = {}
    world.truth_sink = lambda t: truth.__setitem__((t.device, t.stream, t.seq), (t.exposure_start_ns,
                                                                                  t.exposure_end_ns))
    for device_id in world.plan.start_order:
        world.start_device(device_id)
    world.advance_to(world.now_ns + 400_000_000)
    frames = [f for f in world.take("kinect-master") if isinstance(f, Frame)]
    seen = set()
    for frame in frames:
        stream = next(s for s in world.device("kinect-master").streams if s.spec.name == frame.stream)
        if stream.spec.kind is StreamKind.DEPTH:
            continue
        renderer = world._received.renderer(stream)
        start, end = truth[("kinect-master", frame.stream, frame.seq)]
        rows = 16_000_000 / renderer.shape[0] if stream.spec.kind is StreamKind.COLOR else 0.0
        assert stream_line_ns(stream) == rows
        assert np.array_equal(frame.image, renderer.render(start, exposure_end_ns=end, line_ns=rows))
        seen.add(frame.stream)
    assert seen == {"color", "ir"}
