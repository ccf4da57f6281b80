"""Mis-synced rigs proven from the images of the LED clock, each alongside what the stamps say, against the
simulator's truth: a host left out of PTP (its camera's stamps off by its clock's error), auto exposure on a
triggered Kinect (its exposures start milliseconds early). A Genlock camera that lost its trigger:
test_ledclock_genlock.py."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from tests.verify.rigs import capture

from rigsync.boards.ledclock import default_board
from rigsync.plan import build_plan
from rigsync.record import open_recording
from rigsync.spec import loads_rig
from rigsync.verify.ledclock import decode_recording, ledclock_section
from rigsync.verify.limits import VerifyLimits
from rigsync.verify.result import Check, Status, Verdict
from rigsync.verify.run import verify_recording
from rigsync.verify.stamps import verify_stamps

_GIGE = """
[[devices]]
id = "{id}"
model = "gige-ptp-area-scan"
serial = "{id}"
host = "{host}"
connection = "eth:eth0"
pose = {{ position = {position}, look_at = [0.0, 0.0, 1.0] }}
streams = [{{ kind = "color", width = 1920, height = 1200, fps = 30, format = "bayer_rggb8", exposure_us = 500 }}]
"""

HOST_OUT_OF_PTP = """
[sim]
render_width = 960
ledclock = true
seed = 11

[[hosts]]
name = "gm"
nics = [{ name = "eth0", timestamping = "hardware", speed_gbps = 10 }]

[[hosts]]
name = "b"
nics = [{ name = "eth0", timestamping = "hardware", speed_gbps = 10 }]
""" + "".join(_GIGE.format(id=d, host=h, position=p) for d, h, p in (
    ("cam-gm", "gm", "[2.264, 2.262, 1.8]"), ("cam-gm2", "gm", "[-2.264, -2.262, 1.8]"),
    ("cam-b", "b", "[-2.262, 2.264, 1.8]"))) + """
[[sync]]
name = "lan"
method = "ptp"
members = [{ device = "cam-gm" }, { device = "cam-gm2" }]
[sync.ptp]
grandmaster = "gm"
"""
"""Two PTP GigE cameras on host gm; host b, in no PTP group, runs a GigE camera its own clock stamps."""


EXAMPLES = Path(__file__).parents[2] / "examples"


def kinect_auto_exposure_rig() -> str:
    """examples/kinect_star.toml with the LED clock on, colour only (1920 wide renders: the rolling shutter's
    line time is read from the board's rows), 1 ms manual exposures, kinect-sub1 under auto exposure."""
    text = (EXAMPLES / "kinect_star.toml").read_text().replace("[sim]\n", "[sim]\nrender_width = 1920\n"
                                                                           "ledclock = true\n", 1)
    text, n = re.subn(r'  \{ kind = "depth"[^\n]*\n  \{ kind = "ir"[^\n]*\n', "", text)
    text = text.replace("exposure_us = 10000", "exposure_us = 1000")
    sub1 = text.index('id = "kinect-sub1"')
    at = text.index("exposure_us = 1000", sub1)
    assert n == 3
    return text[:at] + 'exposure = "auto"' + text[at + len("exposure_us = 1000"):]


def _by(verdict: Verdict, id: str) -> dict[str, Check]:
    return {c.subject: c for c in verdict.checks if c.id == id}


@pytest.fixture(scope="module")
def host_out_of_ptp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rig captured with ``--force`` (its plan says MULTI-HOST-PTP), 2 s."""
    plan_errors = [d.rule for d in build_plan(loads_rig(HOST_OUT_OF_PTP, "out.toml")).errors]
    assert plan_errors == ["MULTI-HOST-PTP"]
    return capture(HOST_OUT_OF_PTP, tmp_path_factory.mktemp("misync") / "host-out.mcap", 2.0, force=True)


def test_host_out_of_ptp_stamps_off_by_what_the_truth_says(host_out_of_ptp: Path) -> None:
    """Host b's camera, stamped by a clock no PTP disciplines: the stamps flag it (CLOCK-SYNC fails naming cam-b
    only), and the LED clock measures how far off its stamps are, the truth's error within 20 us (median and
    p99); the PTP cameras' stamps agree with the LED clock (p99 under their 10 us limit)."""
    verdict = verify_recording(host_out_of_ptp, ledclock=default_board())
    failed = {(c.id, c.subject): c.devices for c in verdict.checks if c.status is Status.FAIL}
    assert failed.get(("CLOCK-SYNC", "cam-b")) == ("cam-b",)
    assert {k for k in failed if k[0] in ("CLOCK-SYNC", "PTP-OFFSET", "SKEW")} == {("CLOCK-SYNC", "cam-b")}
    with open_recording(host_out_of_ptp) as rec:
        truth = {(t.device, t.seq): t.exposure_start_ns for t in rec.truth()}
        true_err = np.array([f.rig_time_ns - truth[(f.device, f.seq)] for f in rec.frames() if f.device == "cam-b"])
    assert abs(np.median(true_err)) > 100_000  # the host's clock is truly off: the check has something to show
    stamp = _by(verdict, "LEDCLOCK-STAMP-ERROR")
    b = stamp["cam-b/color"]
    p50_us = float(b.detail.split("(p50 ")[1].split(" us")[0])
    assert p50_us == pytest.approx(np.median(true_err) / 1e3, abs=20)
    assert b.value == pytest.approx(np.percentile(np.abs(true_err), 99) / 1e3, abs=20)
    assert all(stamp[f"{d}/color"].status is Status.PASS for d in ("cam-gm", "cam-gm2"))


def test_host_out_of_ptp_fails_the_stamp_error_limit_naming_its_camera(host_out_of_ptp: Path) -> None:
    """With ``[verify] max_stamp_error_us = 100`` (the rig's own limit), the LED clock fails cam-b's stamps, and
    only cam-b's: its error is the host clock's, several hundred microseconds."""
    rig = loads_rig(HOST_OUT_OF_PTP + "\n[verify]\nmax_stamp_error_us = 100\n", "limit.toml")
    verdict = verify_recording(host_out_of_ptp, rig, ledclock=default_board())
    stamp = _by(verdict, "LEDCLOCK-STAMP-ERROR")
    assert {k: (c.status, c.devices) for k, c in stamp.items()} == {
        "cam-b/color": (Status.FAIL, ("cam-b",)), "cam-gm/color": (Status.PASS, ()),
        "cam-gm2/color": (Status.PASS, ())}
    assert stamp["cam-b/color"].limit == 100


@pytest.fixture(scope="module")
def kinect_ae(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return capture(kinect_auto_exposure_rig(), tmp_path_factory.mktemp("misync") / "kinect-ae.mcap", 1.0)


def test_auto_exposure_on_a_triggered_kinect_fails_from_the_images(kinect_ae: Path) -> None:
    """kinect-sub1 under auto exposure ends its exposures on the frame clock, so they start milliseconds before
    the others' (seeds/001): the image-measured skew fails, naming kinect-sub1 first, and per frameset it is the
    true skew (median difference within 150 us: the rolling shutter's row-0 extrapolation over a long exposure);
    the stamps, which tell the truth here, fail SKEW naming kinect-sub1 too."""
    with open_recording(kinect_ae) as rec:
        limits = VerifyLimits.of_recording(rec)
        stamps = {c.subject: c for c in verify_stamps(rec, limits).checks if c.id == "SKEW"}["group star"]
        r = decode_recording(rec, default_board())
        image = {c.subject: c for c in ledclock_section(r, rec, limits).checks if c.id == "LEDCLOCK-SKEW"}
        truth = {(f"{t.device}/{t.stream}", t.seq): t.exposure_start_ns for t in rec.truth()}
        delay = {"kinect-master/color": 0, "kinect-sub1/color": 160_000, "kinect-sub2/color": 320_000}
        true_skew, image_skew = [], []
        for fs in rec.framesets():
            keys = [(f"{m.device}/{m.stream}", m.seq) for m in fs.members]
            if len(keys) == 3 and all(k in r.mapped_ns for k in keys):
                true_skew.append(np.ptp([truth[k] - delay[k[0]] for k in keys]))
                image_skew.append(np.ptp([r.mapped_ns[k] - delay[k[0]] for k in keys]))
    assert (stamps.status, stamps.devices) == (Status.FAIL, ("kinect-sub1",))
    check = image["group star"]
    assert check.status is Status.FAIL and check.devices[0] == "kinect-sub1"
    assert len(true_skew) >= 5
    assert np.median(true_skew) > 1_000_000  # truly milliseconds apart
    assert np.median(np.abs(np.subtract(image_skew, true_skew))) < 150_000
