"""``rigsync check``: every device there, its sync setting read back, its frames arriving at its rate; each
failure named with its fix, through the same Driver/Device contract real drivers implement."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.capture.rigs import RIG, fault

from rigsync.capture.preflight import MIN_RATE, CheckRow, run_check
from rigsync.drivers.base import Device, DeviceInfo, Driver
from rigsync.drivers.factory import open_drivers
from rigsync.plan import build_plan
from rigsync.spec import loads_rig

STAR = (Path(__file__).parents[2] / "examples" / "kinect_star.toml").read_text()
PTP_FOUR = (Path(__file__).parents[2] / "examples" / "gige_ptp_four.toml").read_text()


def check(text: str, seconds: float = 1.0, wrap: type[Driver] | None = None) -> list[CheckRow]:
    rig = loads_rig(text, "check.toml")
    plan = build_plan(rig)
    drivers = open_drivers(rig, plan, fast=True)
    if wrap is not None:
        drivers = {name: wrap(d) for name, d in drivers.items()}  # type: ignore[call-arg]
    return run_check(plan, drivers, seconds=seconds)


def by(rows: list[CheckRow], device: str, what: str) -> CheckRow:
    (row,) = [r for r in rows if r.device == device and r.check == what]
    return row


def test_a_wired_star_passes_every_check_in_plan_order() -> None:
    """Three Kinects: present, each reads back its planned role, each delivers every stream at its 30 fps after
    its start-up; rows in plan order (subordinates first), the checks of a device together."""
    rows = check(STAR, seconds=2.0)
    assert all(r.ok for r in rows)
    assert [(r.device, r.check) for r in rows] == [(d, c) for d in ("kinect-sub1", "kinect-sub2", "kinect-master")
                                                   for c in ("present", "settings", "frames")]
    assert by(rows, "kinect-master", "settings").detail == "reads back role = master"
    assert by(rows, "kinect-sub1", "settings").detail == "reads back role = subordinate"
    counts = [int(part.split()[1]) for part in by(rows, "kinect-sub1", "frames").detail.split(", ")]
    assert len(counts) == 3 and all(50 <= n <= 60 for n in counts)  # 2 s at 30 fps, less the start-up


def test_a_triggered_camera_that_delivers_nothing_names_its_trigger_cable() -> None:
    """A subordinate off the bus throughout: its frame check fails with 0 frames, and the fix names the device
    that triggers it and the port its cable goes into; the others pass."""
    rows = check(STAR + fault("disconnect", 0, 1e6, device="kinect-sub2"))
    row = by(rows, "kinect-sub2", "frames")
    assert not row.ok and row.detail.startswith("color 0 (0.0/s), depth 0 (0.0/s), ir 0 (0.0/s) in 1 s, expected")
    assert row.fix.startswith("it waits for its trigger from kinect-master: check the cable into kinect-sub2 sync-in, ")
    assert [r for r in rows if not r.ok] == [row]


def test_an_untriggered_device_that_delivers_nothing_is_told_to_check_its_connection() -> None:
    """A free-running webcam off the bus: no trigger to blame; the fix is its connection."""
    row = by(check(RIG + fault("disconnect", 0, 1e6, device="cam")), "cam", "frames")
    assert not row.ok and row.fix.startswith("check its connection")


def test_a_device_below_its_rate_fails_and_one_at_it_passes() -> None:
    """A webcam away for most of the check delivers some frames, fewer than half its rate: below its rate."""
    rows = check(RIG + fault("disconnect", 0.35, 1e6, device="cam"), seconds=1.0)
    row = by(rows, "cam", "frames")
    assert not row.ok and row.fix.startswith("below its rate") and not row.detail.startswith("color 0 ")
    assert by(rows, "k0", "frames").ok and MIN_RATE == 0.5


class Hiding(Driver):
    """The simulator's driver with one serial missing from its bus, and one device reporting another role."""

    def __init__(self, inner: Driver) -> None:
        self.inner, self.name = inner, inner.name

    def discover(self) -> list[DeviceInfo]:
        return [i for i in self.inner.discover() if i.serial != "K1"]

    def open(self, serial: str) -> Device:
        device = self.inner.open(serial)
        if serial == "W0":
            device.readback = lambda: {"role": "master"}  # type: ignore[method-assign]
        return device

    def clock(self):  # type: ignore[no-untyped-def]
        return self.inner.clock()


def test_a_missing_device_and_a_wrong_setting_fail_with_their_fix() -> None:
    """A serial the driver does not find: 'present' fails naming the serial and how many were found, and it is
    left out of the other checks; a device reading back another role than planned fails its settings check."""
    rows = check(RIG, wrap=Hiding)
    missing = by(rows, "k1", "present")
    assert not missing.ok and missing.detail == "serial K1 not found by the sim driver (2 found)"
    assert "rigsync devices RIG" in missing.fix and [r.check for r in rows if r.device == "k1"] == ["present"]
    wrong = by(rows, "cam", "settings")
    assert not wrong.ok and wrong.detail == "planned standalone, reads back role = master"
    assert by(rows, "k0", "frames").ok


class PtpReporting(Driver):
    """The simulator's driver with cam-0 reporting GigE features by name, its PtpStatus Slave, cam-1's not."""

    def __init__(self, inner: Driver) -> None:
        self.inner, self.name = inner, inner.name

    def discover(self) -> list[DeviceInfo]:
        return self.inner.discover()

    def open(self, serial: str) -> Device:
        device = self.inner.open(serial)
        status = {"EVT-HB-1000": "Slave", "EVT-HB-1001": "Listening"}.get(serial)
        if status is not None:
            device.readback = lambda: {"PtpEnable": "True", "PtpStatus": status}  # type: ignore[method-assign]
        return device

    def clock(self):  # type: ignore[no-untyped-def]
        return self.inner.clock()


def test_a_name_value_role_is_judged_on_the_value_reported_under_its_name() -> None:
    """A role Name=Value (GigE PtpStatus=Slave) passes when the device reports that value under that name, fails
    naming what it reports otherwise, and still passes when reported whole (the simulator's role = ...)."""
    rows = check(PTP_FOUR, seconds=0.2, wrap=PtpReporting)
    assert by(rows, "cam-0", "settings").ok
    bad = by(rows, "cam-1", "settings")
    assert not bad.ok and bad.detail == "planned PtpStatus=Slave, reads back PtpEnable = True, PtpStatus = Listening"
    assert by(rows, "cam-2", "settings").detail == "reads back role = PtpStatus=Slave"


def rigsync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rigsync.cli.main", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_command_prints_the_table_and_exits_1_on_a_failure(tmp_path: Path) -> None:
    """rigsync check: exit 0 and every row 'pass' for a wired rig; exit 1 and a FAIL row naming the device
    for a broken one."""
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(RIG)
    bad.write_text(RIG + fault("disconnect", 0, 1e6, device="k1"))
    ran = rigsync("check", str(good))
    assert ran.returncode == 0, ran.stderr
    assert "9 passed, 0 failed" in ran.stdout and "FAIL" not in ran.stdout
    ran = rigsync("check", str(bad), "--seconds", "0.5")
    assert ran.returncode == 1, ran.stderr
    assert "8 passed, 1 failed" in ran.stdout
    assert any("k1" in line and "FAIL" in line and "frames" in line for line in ran.stdout.splitlines())


@pytest.mark.parametrize("seconds", ["0", "-1", "61", "nan"])
def test_a_bad_duration_names_the_option(seconds: str, tmp_path: Path) -> None:
    """--seconds outside (0, 60]: exit 2, the option named, no traceback."""
    rig = tmp_path / "r.toml"
    rig.write_text(RIG)
    ran = rigsync("check", str(rig), "--seconds", seconds)
    assert ran.returncode == 2 and "--seconds" in ran.stderr and "Traceback" not in ran.stderr


def test_capture_with_check_refuses_a_failing_rig_and_records_nothing(tmp_path: Path) -> None:
    """rigsync capture --check on a rig whose subordinate delivers nothing: the table, an error naming the
    device and --no-check, exit 2, no recording; without --check (a simulated rig) it captures."""
    rig = tmp_path / "r.toml"
    rig.write_text(RIG + fault("disconnect", 0, 1e6, device="k1"))
    out = tmp_path / "c.mcap"
    ran = rigsync("capture", str(rig), "--fast", "--seconds", "1", "--out", str(out), "--quiet", "--check")
    assert ran.returncode == 2 and not out.exists()
    assert "FAIL" in ran.stdout and "the check failed for k1: nothing was recorded" in ran.stderr
    assert "--no-check" in ran.stderr
    ran = rigsync("capture", str(rig), "--fast", "--seconds", "1", "--out", str(out), "--quiet")
    assert ran.returncode == 0 and out.exists() and "FAIL" not in ran.stdout


EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_rig_passes_the_check(path: Path) -> None:
    """Each shipped rig, wired as planned in the simulator, passes every row: triggered streams judged at their
    group's trigger rate times the burst (Genlock at 30 Hz, not the sensor's 90 fps), PTP cameras after the
    group's start delay."""
    rows = check(path.read_text())
    assert rows and [r for r in rows if not r.ok] == []


def test_a_genlocked_stream_is_expected_at_its_trigger_rate() -> None:
    """realsense_genlock: the Genlock slaves' depth (90 fps sensors, burst 1 on a 30 Hz trigger) deliver ~30/s;
    a device that delivered 30/s would fail if judged at 90."""
    rows = check((Path(__file__).parents[2] / "examples" / "realsense_genlock.toml").read_text(), seconds=2.0)
    genlocked = [r for r in rows if r.check == "frames" and r.device.startswith("rs-genlock-")]
    assert len(genlocked) == 3
    for r in genlocked:
        rate = float(r.detail.split("(")[1].split("/s")[0])
        assert 27 <= rate <= 31, r.detail
