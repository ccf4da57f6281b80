"""``verify --ledclock`` on simulated captures with the LED clock in view, against the simulator's truth."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rigsync.boards.ledclock import default_board
from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.drivers.sim.ledclock_scene import LEDCLOCK_TRUTH_TOPIC
from rigsync.plan import build_plan
from rigsync.record import open_recording
from rigsync.spec import loads_rig
from rigsync.verify.ledclock import LedClockResult, decode_recording, ledclock_section
from rigsync.verify.limits import VerifyLimits
from rigsync.verify.result import Status

EXAMPLES = Path(__file__).parents[2] / "examples"
EXPOSURE_US = 500
"""Manual exposure: the 40 us row (800 us cycle) shows a whole streak, its ends place the start."""


def _rig(example: str, keep: tuple[str, ...], width: int) -> str:
    """The example with the LED clock on, rendered ``width`` wide, ``EXPOSURE_US`` exposures, only ``keep``."""
    text = (EXAMPLES / example).read_text()
    text = text.replace("[sim]\n", f"[sim]\nrender_width = {width}\nledclock = true\n", 1)
    text = re.sub(r"exposure_us = \d+", f"exposure_us = {EXPOSURE_US}", text)
    devices, sync = text.split("[[sync]]", 1)
    blocks = devices.split("[[devices]]")
    names = "|".join(keep)
    kept = "".join("[[devices]]" + b for b in blocks[1:] if re.search(f'id = "({names})"', b))
    sync = re.sub(r'\{ device = "(?!' + names + r')[^"]+" \},? ?', "", sync)
    return blocks[0] + kept + "[[sync]]" + sync


@pytest.fixture(scope="module")
def ptp_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ledclock") / "gige.mcap"
    rig = loads_rig(_rig("gige_ptp_four.toml", ("cam-0", "cam-1"), 960), "gige_ptp_four.toml")
    with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=1.0, fast=True)) as session:
        session.run()
    return out


@pytest.fixture(scope="module")
def ptp_decoded(ptp_capture: Path) -> LedClockResult:
    with open_recording(ptp_capture) as rec:
        return decode_recording(rec, default_board())


def _truth(path: Path) -> dict[tuple[str, int], int]:
    with open_recording(path) as rec:
        return {(f"{t.device}/{t.stream}", t.seq): t.exposure_start_ns for t in rec.truth()}


def test_ptp_rig_exposure_starts_match_the_truth(ptp_capture: Path, ptp_decoded: LedClockResult) -> None:
    """PTP GigE cameras (global shutter, 500 us): every frame decoded or counted with a reason, and the
    image-measured start, mapped to rig time, within 20 us of the true start at p99 (up to one constant)."""
    truth = _truth(ptp_capture)
    r = ptp_decoded
    for key, s in r.streams.items():
        frames = [k for k in r.frames if k[0] == key]  # every recorded image of the stream
        assert len(s.decoded) + len(s.failed) == len(frames)
        assert len(s.decoded) >= 0.8 * len(frames)
        assert s.line_ns == 0.0  # a global shutter is read as one
    keys = list(r.mapped_ns)
    diff = np.array([r.mapped_ns[k] - (truth[k] - r.origin_ns) for k in keys])
    diff -= np.median(diff)
    assert np.percentile(np.abs(diff), 99) < 20_000


def test_ptp_rig_image_skew_matches_the_true_skew(ptp_capture: Path, ptp_decoded: LedClockResult) -> None:
    """Skew measured from the images within 20 us of the true skew at p99, per frameset of the PTP group."""
    truth = _truth(ptp_capture)
    r = ptp_decoded
    errors = []
    with open_recording(ptp_capture) as rec:
        for fs in rec.framesets():
            keys = [(f"{m.device}/{m.stream}", m.seq) for m in fs.members]
            keys = [k for k in keys if k in r.mapped_ns]
            if len(keys) >= 2:
                image = np.ptp([r.mapped_ns[k] for k in keys])
                true = np.ptp([truth[k] for k in keys])
                errors.append(image - true)
    assert len(errors) >= 10
    assert np.percentile(np.abs(errors), 99) < 20_000


def test_ptp_rig_section_passes_and_a_skew_beyond_the_limit_fails(ptp_capture: Path,
                                                                    ptp_decoded: LedClockResult) -> None:
    """The section passes at the rig's default limits (its PTP group's 10 us); with cam-1 declared 200 us late
    (which it is not), its image skew is ~200 us and the skew check fails, naming a camera of the group."""
    with open_recording(ptp_capture) as rec:
        limits = VerifyLimits.of_recording(rec)
        ok = ledclock_section(ptp_decoded, rec, limits)
        skewed = ledclock_section(dataclasses.replace(ptp_decoded, offsets_ns={"cam-1/color": 200_000}), rec, limits)
    assert {c.id for c in ok.checks} == {"LEDCLOCK-SKEW", "LEDCLOCK-STAMP-ERROR", "LEDCLOCK-STAMP-BOUND"}
    assert all(c.status is Status.PASS for c in ok.checks), [c.detail for c in ok.checks if c.status is not Status.PASS]
    assert {p.key for p in ok.plots} == {"ledclock-skew-vs-stamps", "ledclock-skew-over-time", "ledclock-stamp-error"}
    skew = next(c for c in skewed.checks if c.id == "LEDCLOCK-SKEW")
    assert skew.status is Status.FAIL and skew.value is not None and 190 < skew.value < 210
    assert skew.devices and set(skew.devices) <= {"cam-0", "cam-1"}


def test_board_truth_is_recorded(ptp_capture: Path) -> None:
    """The simulator records its board clock (the test's ground truth for board time, never read by verify)."""
    with open_recording(ptp_capture) as rec:
        assert [m for _, m in rec.json_messages(LEDCLOCK_TRUTH_TOPIC)]


def test_cli_verify_ledclock_json(ptp_capture: Path) -> None:
    """``rigsync verify REC --ledclock --json`` adds the LED clock's checks and facts, and passes (exit 0)."""
    done = subprocess.run([sys.executable, "-m", "rigsync.cli.main", "verify", str(ptp_capture), "--ledclock",
                           "--json"], check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    verdict = json.loads(done.stdout)
    ids = {c["id"] for c in verdict["checks"]}
    assert {"LEDCLOCK-SKEW", "LEDCLOCK-STAMP-ERROR", "LEDCLOCK-STAMP-BOUND"} <= ids
    assert "cam-0/color: frames decoded" in verdict["facts"]["ledclock"]


def test_cli_verify_ledclock_bad_board_file(ptp_capture: Path, tmp_path: Path) -> None:
    """A board file that is not one: exit 2, the message names the file and the field, no traceback."""
    bad = tmp_path / "board.toml"
    bad.write_text("[board]\nname = 3\n")
    done = subprocess.run([sys.executable, "-m", "rigsync.cli.main", "verify", str(ptp_capture), "--ledclock",
                           str(bad)], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert str(bad) in done.stderr + done.stdout and "Traceback" not in done.stderr
