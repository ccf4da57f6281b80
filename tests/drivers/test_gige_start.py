"""The GigE Vision driver's configuration side against Aravis's fake camera: the scheduled start at a PTP time (the
acquisition gate, written and read back through the registers our GenICam XML declares), the master's output line
(read back, and judged by ``rigsync check``), and the capture's one line for a PTP camera that cannot be armed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest
from tests.drivers.gige_fakes import emergent_xml, fake_gige_cameras, read_feature, write_features
from tests.drivers.test_check_gige import rig_text
from tests.drivers.test_gige import config
from tests.drivers.test_gvcp_action import camera_stand_in

from rigsync.capture.clocks import RigClocks
from rigsync.capture.preflight import run_check
from rigsync.capture.start import start_devices
from rigsync.core.errors import DriverError
from rigsync.drivers import gige, gige_config
from rigsync.drivers.base import Device, DeviceConfig, DeviceTiming
from rigsync.drivers.gige import GigeDriver
from rigsync.drivers.gige_schedule import GATE_LEAD_NS, gate_ns, join_u64, split_u64
from rigsync.drivers.gvcp_action import ActionCommand, ActionKeys, build_ack, parse_action
from rigsync.plan import build_plan
from rigsync.plan.emit.genicam import ptp_frame_sync
from rigsync.spec import loads_rig

CAM, SUB, EMERGENT = "RSG-GATE-1", "RSG-GATE-2", "RSG-EVT-3"
CAMERAS = {CAM: ("127.0.0.71", []), SUB: ("127.0.0.72", []), EMERGENT: ("127.0.0.73", [])}
NOW_NS = 1_795_000_000_123_456_789
"""The camera's PTP time as the tests state it (written to TimestampLatchValue: the fake has no clock of its own)."""
PERIOD_30_NS = 33_333_333


@pytest.fixture(scope="module")
def fake_cameras(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Two cameras with the gate and action control, one also with Emergent's PTP frame-sync features."""
    with fake_gige_cameras(CAMERAS, {EMERGENT: emergent_xml(tmp_path_factory.mktemp("xml"))}) as cameras:
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
    monkeypatch.setitem(gige_config.FEATURE_NAMES, "ptp_gate", ("PtpAcquisitionGateTimeHigh",))
    start = NOW_NS + 2_000_000_000
    assert armed(start) == start == read_integer(CAM, "PtpAcquisitionGateTime")


def test_no_gate_for_other_roles_while_streaming_or_without_the_feature(fake_cameras: dict[str, str],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """arm returns None and leaves the gate register alone for a standalone camera and a streaming one; a camera
    with neither a gate nor action control returns None; a camera that cannot latch its time gets the start as asked."""
    start = NOW_NS + 500_000_000
    assert armed(start, role="standalone") is None
    assert armed(start, stream_while=True) is None
    assert read_integer(CAM, "PtpAcquisitionGateTime") == 0
    monkeypatch.setitem(gige_config.FEATURE_NAMES, "timestamp_latch", ("NoLatch",))
    assert armed(NOW_NS + 1, now_ns=NOW_NS) == NOW_NS + 1  # too near by the camera's time, but it cannot say so
    monkeypatch.setitem(gige_config.FEATURE_NAMES, "ptp_gate", ("NoGate",))
    monkeypatch.setitem(gige_config.FEATURE_NAMES, "action_selector", ("NoAction",))
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


def no_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cameras' gate hidden from the driver: a generic SFNC PTP camera with action control only."""
    monkeypatch.setitem(gige_config.FEATURE_NAMES, "ptp_gate", ("NoGate",))


def test_a_camera_without_gate_takes_the_action_keys_and_trigger(fake_cameras: dict[str, str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A PTP camera with action control but no gate: keys for this rig and group on ActionSelector 1, the
    AcquisitionStart trigger on Action1 with FrameStart off, Continuous; read back, seen by another client, and
    readback says acquisition ptp-timestamps started by action."""
    no_gate(monkeypatch)
    keys = ActionKeys.for_rig("lab", "g")
    write_features(CAM, ActionDeviceKey=0, ActionGroupKey=0, ActionGroupMask=0)
    with GigeDriver(rig_name="lab").open(CAM) as device:
        device.configure(config(CAM, fps=30.0, role="ptp"))
        settings, readback = device.settings(), device.readback()
    assert {k: settings[k] for k in ("AcquisitionMode", "ActionSelector", "ActionDeviceKey", "ActionGroupKey",
                                     "ActionGroupMask", "TriggerSelector", "TriggerMode", "TriggerSource")} == {
        "AcquisitionMode": "Continuous", "ActionSelector": "1", "ActionDeviceKey": str(keys.device_key),
        "ActionGroupKey": str(keys.group_key), "ActionGroupMask": "1", "TriggerSelector": "AcquisitionStart",
        "TriggerMode": "On", "TriggerSource": "Action1"}
    assert (readback["acquisition"], readback["start"], readback["TriggerSource"]) == (
        "ptp-timestamps", "action", "Action1")
    assert read_integer(CAM, "ActionDeviceKey") == keys.device_key
    write_features(CAM, TriggerSelector="FrameStart")
    assert read_feature(CAM, "TriggerMode") == "Off"


def test_start_sends_the_scheduled_action_for_the_armed_time(fake_cameras: dict[str, str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """arm returns the start (0.5 s ahead of the camera's clock) exactly; start sends one ACTION_CMD to the camera's
    GVCP address with this rig's keys and that time, and an acknowledged action lets it stream; without arming, the
    next start sends an immediate action (no time)."""
    no_gate(monkeypatch)
    start = NOW_NS + 500_000_000
    write_features(CAM, TimestampLatchValue=NOW_NS)
    with camera_stand_in(lambda c: [build_ack(c.request_id)]) as (addr, got), \
            GigeDriver(rig_name="lab").open(CAM) as device:
        assert device.action_address == ("127.0.0.71", 3956)
        device.action_address = addr
        device.configure(config(CAM, fps=30.0, role="ptp"))
        assert device.arm(start) == start
        device.start()
        device.stop()
        device.start()
        device.stop()
    keys = ActionKeys.for_rig("lab", "g")
    assert [parse_action(d) for d in got] == [ActionCommand(keys, start, 1), ActionCommand(keys, None, 2)]


def test_an_unacknowledged_action_fails_start_naming_the_camera(fake_cameras: dict[str, str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake camera implements no ACTION_CMD and never answers: start raises naming the camera and its GVCP
    address, and leaves it stopped."""
    no_gate(monkeypatch)
    write_features(CAM, TimestampLatchValue=NOW_NS)
    with GigeDriver().open(CAM) as device:
        device.configure(config(CAM, fps=30.0, role="ptp"))
        device.arm(NOW_NS + 500_000_000)
        with pytest.raises(DriverError, match=r"RSG-GATE-1.*not acknowledged: no ACTION_ACK from 127\.0\.0\.71:3956"):
            device.start()
        device.configure(config(CAM, fps=30.0, role="ptp"))  # stopped: settings may change again


def frame_sync_config(step_mode: str) -> DeviceConfig:
    cfg = config(EMERGENT, fps=30.0, role="ptp")
    return replace(cfg, sync=replace(cfg.sync, ptp_step_mode=step_mode))


def test_an_emergent_camera_gets_the_seeds_003_frame_sync_settings(fake_cameras: dict[str, str]) -> None:
    """A PTP camera with PtpMode and the gate: MultiFrame, trigger On from Software, frame count 1 and PtpMode from
    the group's step mode - the emitter's own lines -, read back and reported as ptp-frame-sync started by the
    gate; another client sees them."""
    write_features(EMERGENT, AcquisitionMode="Continuous", TriggerMode="Off", AcquisitionFrameCount=5)
    for step_mode, ptp_mode in (("one-step", "OneStep"), ("two-step", "TwoStep")):
        with GigeDriver().open(EMERGENT) as device:
            device.configure(frame_sync_config(step_mode))
            settings, readback = device.settings(), device.readback()
        wanted = {"AcquisitionMode": "MultiFrame", "TriggerMode": "On", "TriggerSource": "Software",
                  "AcquisitionFrameCount": "1", "PtpMode": ptp_mode}
        assert {f: v for f, v, _ in ptp_frame_sync(step_mode)} == wanted
        assert {k: settings[k] for k in wanted} == wanted
        assert {k: readback[k] for k in wanted} | {"acquisition": readback["acquisition"], "start": readback["start"]} \
            == wanted | {"acquisition": "ptp-frame-sync", "start": "gate"}
        assert (read_feature(EMERGENT, "PtpMode"), read_integer(EMERGENT, "AcquisitionFrameCount")) == (ptp_mode, 1)


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
