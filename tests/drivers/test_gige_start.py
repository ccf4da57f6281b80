"""The GigE Vision driver's configuration side against Aravis's fake camera: the scheduled start at a PTP time (the
acquisition gate, written and read back through the registers our GenICam XML declares), the master's output line
(read back, and judged by ``rigsync check``), and the capture's one line for a PTP camera that cannot be armed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from tests.drivers.gige_fakes import fake_gige_cameras, read_feature, write_features
from tests.drivers.test_check_gige import rig_text
from tests.drivers.test_gige import config

from rigsync.capture.clocks import RigClocks
from rigsync.capture.preflight import run_check
from rigsync.capture.start import start_devices
from rigsync.core.errors import DriverError
from rigsync.drivers import gige
from rigsync.drivers.base import Device, DeviceTiming
from rigsync.drivers.gige import GigeDriver
from rigsync.drivers.gige_schedule import GATE_LEAD_NS, gate_ns, join_u64, split_u64
from rigsync.plan import build_plan
from rigsync.spec import loads_rig

CAM, SUB = "RSG-GATE-1", "RSG-GATE-2"
CAMERAS = {CAM: ("127.0.0.71", []), SUB: ("127.0.0.72", [])}
NOW_NS = 1_795_000_000_123_456_789
"""The camera's PTP time as the tests state it (written to TimestampLatchValue: the fake has no clock of its own)."""
PERIOD_30_NS = 33_333_333


@pytest.fixture(scope="module")
def fake_cameras() -> Iterator[dict[str, str]]:
    with fake_gige_cameras(CAMERAS) as cameras:
        yield cameras


def read_integer(serial: str, name: str) -> int:
    """An integer feature as a second client reads it."""
    camera = gige.Aravis.Camera.new(f"Aravis-Fake-{serial}")
    value = int(camera.get_integer(name))
    del camera
    return value


def armed(start_ns: int, *, role: str = "ptp", now_ns: int = NOW_NS, stream_while: bool = False) -> int | None:
    """Configure CAM at 30 fps with ``role``, state its clock, arm it for ``start_ns``."""
    write_features(CAM, TimestampLatchValue=now_ns, PtpAcquisitionGateTime=0)
    with GigeDriver().open(CAM) as device:
        device.configure(config(CAM, fps=30.0, role=role))
        if stream_while:
            device.start()
        return device.arm(start_ns)


def test_gate_is_the_start_or_the_first_frame_slot_the_lead_allows() -> None:
    """A start far enough ahead is the gate as asked; one too near or past moves by whole frame periods to the first
    slot GATE_LEAD_NS after the camera's time; without the camera's time the start is taken as asked."""
    assert gate_ns(NOW_NS + GATE_LEAD_NS, NOW_NS, PERIOD_30_NS) == NOW_NS + GATE_LEAD_NS
    assert gate_ns(NOW_NS + 30_000_000, NOW_NS, PERIOD_30_NS) == NOW_NS + 30_000_000 + 3 * PERIOD_30_NS
    assert gate_ns(NOW_NS - 1, NOW_NS, 10_000_000) == NOW_NS - 1 + 11 * 10_000_000
    assert gate_ns(NOW_NS, None, PERIOD_30_NS) == NOW_NS
    assert split_u64(NOW_NS) == (NOW_NS >> 32, NOW_NS & 0xFFFF_FFFF)
    assert join_u64(*split_u64(2**64 - 1)) == 2**64 - 1
    with pytest.raises(ValueError, match="unsigned 64-bit"):
        split_u64(-1)


def test_arm_writes_the_gate_and_returns_the_first_exposure(fake_cameras: dict[str, str]) -> None:
    """A PTP camera armed 0.5 s ahead of its clock: PtpAcquisitionGateTime reads back the start in ns exactly (and
    as its Emergent High/Low halves), and arm returns it as the first exposure."""
    start = NOW_NS + 500_000_000
    assert armed(start) == start
    assert read_integer(CAM, "PtpAcquisitionGateTime") == start
    assert (read_integer(CAM, "PtpAcquisitionGateTimeHigh"), read_integer(CAM, "PtpAcquisitionGateTimeLow")) == (
        start >> 32, start & 0xFFFF_FFFF)


def test_a_start_too_near_moves_to_the_next_frame_slot(fake_cameras: dict[str, str]) -> None:
    """Armed 30 ms before the start (less than the 100 ms lead) at 30 fps: the gate written and returned is three
    frame periods later, never earlier than asked."""
    start = NOW_NS + 30_000_000
    assert armed(start) == start + 3 * PERIOD_30_NS == read_integer(CAM, "PtpAcquisitionGateTime")


def test_the_high_low_pair_is_written_upper_half_first(fake_cameras: dict[str, str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A camera whose table entry is the Emergent pair: both halves are written, and the 64-bit register they form
    reads back the start."""
    monkeypatch.setitem(gige.FEATURE_NAMES, "ptp_gate", ("PtpAcquisitionGateTimeHigh",))
    start = NOW_NS + 2_000_000_000
    assert armed(start) == start == read_integer(CAM, "PtpAcquisitionGateTime")


def test_no_gate_for_other_roles_while_streaming_or_without_the_feature(fake_cameras: dict[str, str],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """arm returns None and leaves the gate register alone for a standalone camera and a streaming one; a camera
    with none of the gate's names returns None; a camera that cannot latch its time gets the start as asked."""
    start = NOW_NS + 500_000_000
    assert armed(start, role="standalone") is None
    assert armed(start, stream_while=True) is None
    assert read_integer(CAM, "PtpAcquisitionGateTime") == 0
    monkeypatch.setitem(gige.FEATURE_NAMES, "timestamp_latch", ("NoLatch",))
    assert armed(NOW_NS + 1, now_ns=NOW_NS) == NOW_NS + 1  # too near by the camera's time, but it cannot say so
    monkeypatch.setitem(gige.FEATURE_NAMES, "ptp_gate", ("NoGate",))
    assert armed(start) is None
    with GigeDriver().open(CAM) as device, pytest.raises(DriverError, match="configure"):
        device.arm(start)


def test_master_drives_its_output_line_and_reads_it_back(fake_cameras: dict[str, str]) -> None:
    """A master sets Line1 to Output with ExposureActive (read back, and seen by another client), and readback
    reports them under their SFNC names; a standalone camera reports no line."""
    write_features(CAM, LineSelector="Line1", LineMode="Input", LineSource="Off")
    with GigeDriver().open(CAM) as device:
        device.configure(config(CAM, role="master"))
        settings, readback = device.settings(), device.readback()
    for got in (settings, readback):
        assert (got["LineSelector"], got["LineMode"], got["LineSource"]) == ("Line1", "Output", "ExposureActive")
    write_features(CAM, LineSelector="Line1")
    assert (read_feature(CAM, "LineMode"), read_feature(CAM, "LineSource")) == ("Output", "ExposureActive")
    with GigeDriver().open(CAM) as device:
        device.configure(config(CAM))
        assert "LineSource" not in device.readback()


HARDWARE_RIG = rig_text(CAM, SUB).replace('method = "ptp"', 'method = "hardware"\ntopology = "star"\n'
                                          'source = { device = "cam0" }').split("[sync.ptp]")[0]


def test_check_passes_a_gige_master_and_fails_one_whose_line_is_not_exposure_active(
        fake_cameras: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """rigsync check on a hardware group led by a GigE master: its settings row passes on LineSource =
    ExposureActive; with the camera's line source register changed to Off after configuration, it fails with the
    planned role and what the camera reports."""
    plan = build_plan(loads_rig(HARDWARE_RIG, str(tmp_path / "rig.toml")))
    assert plan.device("cam0").vendor_role == "LineSource=ExposureActive"
    rows = {(r.device, r.check): r for r in run_check(plan, {"gige": GigeDriver()}, seconds=0.2)}
    good = rows[("cam0", "settings")]
    assert good.ok and good.detail.endswith("LineSelector = Line1, LineMode = Output, LineSource = ExposureActive")
    configure = gige.GigeDevice.configure

    def configure_then_line_off(self: gige.GigeDevice, cfg: Any) -> None:
        configure(self, cfg)
        cam = cast(Any, self)._cam
        cam.set_string("LineSelector", "Line1")
        cam.set_string("LineSource", "Off")  # the register changes under the driver (a camera that reverted it)

    monkeypatch.setattr(gige.GigeDevice, "configure", configure_then_line_off)
    rows = {(r.device, r.check): r for r in run_check(plan, {"gige": GigeDriver()}, seconds=0.2)}
    bad = rows[("cam0", "settings")]
    assert not bad.ok and bad.detail.startswith("planned LineSource=ExposureActive, reads back ")
    assert bad.detail.endswith("LineSelector = Line1, LineMode = Output, LineSource = Off")


class _Stub(Device):
    """A device that arms to ``first`` (None: it cannot)."""

    def __init__(self, first: int | None) -> None:
        self.first, self.started = first, False

    def arm(self, start_rig_ns: int) -> int | None:
        return self.first

    def start(self) -> None:
        self.started = True

    def configure(self, config: Any) -> None: ...
    def poll(self) -> list[Any]: return []
    def intrinsics(self, stream: str) -> Any: ...
    def timing(self) -> DeviceTiming: return cast(DeviceTiming, None)
    def stop(self) -> None: ...
    def close(self) -> None: ...


class _Clocks:
    def rig_now(self) -> int:
        return NOW_NS


def test_start_says_in_one_line_which_ptp_camera_could_not_be_armed(tmp_path: Path) -> None:
    """start_devices warns once, naming the PTP camera whose arm returned None, and starts it with the others; an
    armed camera gets no warning."""
    plan = build_plan(loads_rig(rig_text(CAM, SUB), str(tmp_path / "rig.toml")))
    devices = {"cam0": _Stub(NOW_NS + 1_000_000_000), "cam1": _Stub(None)}
    warnings: list[str] = []
    started = start_devices(plan, devices, {}, cast(RigClocks, _Clocks()), None, {}, poll_clocks=lambda: None,
                            wait_for_rig=lambda _: None, warn=warnings.append)
    assert warnings == ["cam1 cannot be armed for the PTP start (no acquisition gate time or scheduled action): "
                        "started early, frames before the start are not recorded"]
    assert devices["cam0"].started and devices["cam1"].started
    assert started.ptp_start_rig_ns == -(-(NOW_NS + 1_000_000_000) // 1_000_000) * 1_000_000
