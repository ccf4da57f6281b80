"""``verify --ledclock`` on a RealSense Genlock rig (examples/realsense_genlock.toml): the depth imagers' IR
streams (global shutter, genlocked) film the LED clock; figures checked against the simulator's truth, and a
camera that lost its trigger fails, named by the stamps, while the images show the frames it did take in sync."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from tests.verify.rigs import capture, fault

from rigsync.boards.ledclock import default_board
from rigsync.drivers.sim.ledclock_scene import LEDCLOCK_TRUTH_TOPIC
from rigsync.record import open_recording
from rigsync.verify.ledclock import LedClockResult, decode_recording
from rigsync.verify.result import Check, Status, Verdict
from rigsync.verify.run import verify_recording

EXAMPLE = Path(__file__).parents[2] / "examples" / "realsense_genlock.toml"
RADIUS_M = 1.6
"""The example's ring brought in from 2.5 m: the IR imagers' 87 degree view at 848 px then puts ~7 px per LED."""
LANTERN_Z_M = 0.49
"""Height of the LED clock's centre in the simulator's scene (recorded on /rigsync/sim/ledclock)."""


def _pose(m: re.Match[str]) -> str:
    x, y = float(m[1]), float(m[2])
    n = float(np.hypot(x, y))
    position = f"[{x / n * RADIUS_M:.3f}, {y / n * RADIUS_M:.3f}, 0.6]"
    return f"pose = {{ position = {position}, look_at = [0, 0, {LANTERN_Z_M}] }}"


def genlock_ir_rig() -> str:
    """The example with the LED clock on, each camera's depth + colour replaced by its IR stream at a manual
    500 us exposure with the projector off (as a user filming the board sets the emitter off)."""
    text = EXAMPLE.read_text().replace("[sim]\n", "[sim]\nrender_width = 848\nledclock = true\n", 1)
    text = re.sub(r"pose = \{ position = \[([-\d.]+), ([-\d.]+), 1\.4\], look_at = \[0\.0, 0\.0, 1\.0\] \}",
                  _pose, text)
    text, n = re.subn(
        r'streams = \[\n  \{ kind = "depth", width = 848, height = 480, fps = (\d+), exposure_us = 8000 \},'
        r'\n[^\n]*\n\]\n',
        r'streams = [{ kind = "ir", width = 848, height = 480, fps = \1, format = "y8", exposure_us = 500 }]\n'
        r"sim = { ir_projector = false }\n", text)
    assert n == 4 and text.count("look_at = [0, 0,") == 4
    return text


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return capture(genlock_ir_rig(), tmp_path_factory.mktemp("genlock-ir") / "clean.mcap", 1.0)


@pytest.fixture(scope="module")
def clean_decoded(clean: Path) -> LedClockResult:
    with open_recording(clean) as rec:
        return decode_recording(rec, default_board())


@pytest.fixture(scope="module")
def lost(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rs-genlock-2's sync input without pulses from 0.5 s to 0.8 s."""
    rig = genlock_ir_rig() + fault("trigger-loss", 0.5, 0.3, device="rs-genlock-2")
    return capture(rig, tmp_path_factory.mktemp("genlock-ir") / "lost.mcap", 1.5)


def _truth(path: Path) -> dict[tuple[str, int], int]:
    with open_recording(path) as rec:
        return {(f"{t.device}/{t.stream}", t.seq): t.exposure_start_ns for t in rec.truth()}


def _by(verdict: Verdict, id: str) -> dict[str, Check]:
    return {c.subject: c for c in verdict.checks if c.id == id}


def test_genlock_ir_exposure_starts_match_the_truth(clean: Path, clean_decoded: LedClockResult) -> None:
    """Four genlocked IR imagers: at least half of each camera's frames decoded (the others counted with a reason:
    the sphere passes in front of the board),
    global shutter, 500 us read from the images, and every start within 20 us of the true start at p99 (one
    constant removed: rig time has its own origin), and on board time within 20 us of the board clock's truth."""
    truth = _truth(clean)
    r = clean_decoded
    assert set(r.streams) == {f"{d}/ir" for d in ("rs-master", "rs-genlock-1", "rs-genlock-2", "rs-genlock-3")}
    for key, s in r.streams.items():
        assert len(s.decoded) + len(s.failed) == sum(1 for k in r.frames if k[0] == key)
        assert len(s.decoded) >= (len(s.decoded) + len(s.failed)) / 2, (key, {q: f.detail for q, f in s.failed.items()})
        assert s.line_ns == 0.0
        assert all(abs(d.duration_ns - 500_000) < 20_000 for d in s.decoded.values())
    keys = list(r.mapped_ns)
    diff = np.array([r.mapped_ns[k] - (truth[k] - r.origin_ns) for k in keys])
    diff -= np.median(diff)
    assert np.percentile(np.abs(diff), 99) < 20_000
    # On board time itself, against the simulator's board clock (no constant removed, modulo the counter's wrap).
    with open_recording(clean) as rec:
        board = next(m for _, m in rec.json_messages(LEDCLOCK_TRUTH_TOPIC))
    wrap = default_board().counter.wrap_ns
    on_board = []
    for key, seq in keys:
        t = truth[(key, seq)] - board["epoch_true_ns"]
        true_board_ns = board["offset_ns"] + t + round(t * board["drift_ppm"] * 1e-6)
        on_board.append((r.streams[key].decoded[seq].start_ns - true_board_ns + wrap / 2) % wrap - wrap / 2)
    assert np.percentile(np.abs(on_board), 99) < 20_000


def test_genlock_ir_image_skew_matches_the_true_skew(clean: Path, clean_decoded: LedClockResult) -> None:
    """Per frameset of the Genlock group, the spread of the image-measured starts within 20 us of the true
    spread at p99."""
    truth = _truth(clean)
    r = clean_decoded
    errors = []
    with open_recording(clean) as rec:
        for fs in rec.framesets():
            keys = [k for m in fs.members if (k := (f"{m.device}/{m.stream}", m.seq)) in r.mapped_ns]
            if len(keys) >= 2:
                errors.append(np.ptp([r.mapped_ns[k] for k in keys]) - np.ptp([truth[k] for k in keys]))
    assert len(errors) >= 15
    assert np.percentile(np.abs(errors), 99) < 20_000


def test_genlock_ir_rig_passes_from_stamps_and_images(clean: Path) -> None:
    """The whole verdict (stamps and LED clock) passes; the image-measured skew is the true one (under 20 us)
    and every stamp lies within its error bound of the LED clock."""
    verdict = verify_recording(clean, ledclock=default_board())
    assert verdict.passed, [(c.id, c.subject, c.detail) for c in verdict.checks if c.status is Status.FAIL]
    skew = _by(verdict, "LEDCLOCK-SKEW")["group genlock"]
    assert skew.status is Status.PASS and skew.value is not None and skew.value < 20
    bounds = _by(verdict, "LEDCLOCK-STAMP-BOUND")
    assert len(bounds) == 4 and all(c.status is Status.PASS and c.value == 0.0 for c in bounds.values())


def test_lost_genlock_trigger_fails_naming_the_camera_and_the_images_agree(lost: Path) -> None:
    """rs-genlock-2 without trigger pulses for 0.3 s takes no frames then: the stamps fail (frame numbers, drops,
    rate), naming rs-genlock-2 only; the images show no frame of it in the gap (decoded starts on the truth's
    frames only) and the frames it did take in sync with the group (image skew within 20 us of the truth)."""
    verdict = verify_recording(lost, ledclock=default_board())
    assert not verdict.passed
    failed = {(c.id, c.subject): c.devices for c in verdict.checks if c.status is Status.FAIL}
    assert failed == {("FRAME-NUMBER", "group genlock"): ("rs-genlock-2",),
                      ("DROPS", "rs-genlock-2"): ("rs-genlock-2",), ("RATE", "rs-genlock-2"): ("rs-genlock-2",)}
    truth = _truth(lost)
    with open_recording(lost) as rec:
        r = decode_recording(rec, default_board())
        sets = list(rec.framesets())
    taken = sorted(truth[k] for k in truth if k[0] == "rs-genlock-2/ir")
    gap_ns = max(np.diff(taken))
    assert 0.3e9 <= gap_ns < 0.3e9 + 2 * 33_333_334
    # The same gap in what the images decoded: no start of rs-genlock-2 inside it.
    mapped = sorted(v + r.origin_ns for k, v in r.mapped_ns.items() if k[0] == "rs-genlock-2/ir")
    assert max(np.diff(mapped)) >= 0.3e9
    missing = sum(1 for fs in sets if len(fs.members) == 3)
    assert _by(verdict, "DROPS")["rs-genlock-2"].value == pytest.approx(missing / len(sets), abs=1e-6)
    skew = _by(verdict, "LEDCLOCK-SKEW")["group genlock"]
    assert skew.status is Status.PASS and skew.value is not None and skew.value < 20
