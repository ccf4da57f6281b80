"""``rigsync check`` on a rig of fake GigE Vision cameras (Aravis's ``arv-fake-gv-camera-0.8`` on loopback): the
PTP role is judged on the ``PtpStatus`` the camera reports, a camera that does not answer fails 'present'. The
RealSense case (a recording whose sync mode differs from the plan) is tests/drivers/test_realsense.py's
``test_check_compares_a_recordings_sync_mode_with_the_plan``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.drivers.gige_fakes import fake_gige_cameras, write_features

from rigsync.capture.preflight import CheckRow, run_check
from rigsync.drivers.gige import GigeDriver
from rigsync.plan import build_plan
from rigsync.spec import loads_rig

A, B, GONE = "RSG-CHK-A", "RSG-CHK-B", "RSG-CHK-GONE"
CAMERAS = {A: ("127.0.0.31", []), B: ("127.0.0.32", [])}
"""The fakes that run (GONE has none)."""


def rig_text(*serials: str) -> str:
    devices = "".join(f"""
[[devices]]
id = "cam{n}"
model = "gige-ptp-area-scan"
serial = "{serial}"
host = "h"
connection = "eth:lo"
driver = "gige"
streams = [{{ kind = "color", width = 1920, height = 1200, fps = 20, format = "mono8" }}]
""" for n, serial in enumerate(serials))
    members = ", ".join(f'{{ device = "cam{n}" }}' for n in range(len(serials)))
    return f"""
[[hosts]]
name = "h"
nics = [{{ name = "lo", kind = "ethernet", timestamping = "software" }}]
{devices}
[[sync]]
name = "ptp"
method = "ptp"
members = [{members}]
[sync.ptp]
grandmaster = "external"
"""


@pytest.fixture(scope="module")
def fake_cameras() -> Iterator[dict[str, str]]:
    with fake_gige_cameras(CAMERAS) as cameras:
        yield cameras


def check(tmp_path: Path, *serials: str) -> dict[tuple[str, str], CheckRow]:
    rig = loads_rig(rig_text(*serials), str(tmp_path / "rig.toml"))
    rows = run_check(build_plan(rig), {"gige": GigeDriver()}, seconds=0.5)
    return {(r.device, r.check): r for r in rows}


def test_a_rig_of_ptp_slaves_passes_every_check(fake_cameras: dict[str, str], tmp_path: Path) -> None:
    """Both cameras answer, take the PTP role, report PtpStatus Slave and stream at their rate: every row
    passes, the settings row showing what the camera reported."""
    write_features(A, PtpStatus="Slave", PtpOffsetFromMaster=12)
    write_features(B, PtpStatus="Slave", PtpOffsetFromMaster=-7)
    rows = check(tmp_path, A, B)
    assert [(k, r.ok) for k, r in rows.items()] == [
        (("cam0", "present"), True), (("cam0", "settings"), True), (("cam0", "frames"), True),
        (("cam1", "present"), True), (("cam1", "settings"), True), (("cam1", "frames"), True)]
    assert rows[("cam0", "present")].detail == "Aravis Fake at gige:127.0.0.31"
    assert rows[("cam0", "settings")].detail == ("reads back PtpEnable = True, PtpStatus = Slave, "
                                                 "PtpOffsetFromMaster = 12, TriggerMode = Off, "
                                                 "acquisition = ptp-timestamps, start = gate")


def test_a_camera_that_does_not_answer_fails_present(fake_cameras: dict[str, str], tmp_path: Path) -> None:
    """A serial no fake answers for fails 'present' with its serial and is left out of the other checks; the
    camera that is there still passes."""
    write_features(A, PtpStatus="Slave")
    rows = check(tmp_path, A, GONE)
    missing = rows[("cam1", "present")]
    assert not missing.ok and missing.detail.startswith(f"serial {GONE} not found by the gige driver (")
    assert "rigsync devices RIG" in missing.fix
    assert [k for k in rows if k[0] == "cam1"] == [("cam1", "present")]
    assert all(r.ok for k, r in rows.items() if k[0] == "cam0")


@pytest.mark.parametrize("status", ["Listening", "Uncalibrated"])
def test_a_ptp_camera_not_slave_fails_settings_naming_ptpstatus(fake_cameras: dict[str, str], tmp_path: Path,
                                                                 status: str) -> None:
    """A camera whose PtpStatus (written through a second Aravis client) is not Slave fails its settings row with
    the status it reports; the other camera, Slave, passes."""
    write_features(A, PtpStatus="Slave")
    write_features(B, PtpStatus=status)
    rows = check(tmp_path, A, B)
    bad = rows[("cam1", "settings")]
    assert not bad.ok and bad.detail.startswith(f"planned PtpStatus=Slave, reads back PtpEnable = True, "
                                                f"PtpStatus = {status},")
    assert rows[("cam0", "settings")].ok and rows[("cam1", "present")].ok
