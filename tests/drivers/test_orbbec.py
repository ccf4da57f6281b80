"""The Orbbec driver over the real pyorbbecsdk2 structs, enums, stream config and Frame objects, with a strict fake
of the device layer (Context / Device / Pipeline), whose names and arities are checked against the installed SDK."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ob = pytest.importorskip(
    "pyorbbecsdk", exc_type=ImportError,
    reason="pyorbbecsdk2 is not installed or cannot load libusb-1.0 (pip install --no-deps pyorbbecsdk2 and "
           "apt-get install libusb-1.0-0; .ci/run does both)")

from tests.drivers.orbbec_fakes import (  # noqa: E402
    LATENCY_US,
    RIG,
    FakeBus,
    FakeContext,
    FakeDevice,
    FakeDeviceInfo,
    FakeDeviceList,
    FakePipeline,
    make,
)

from rigsync.capture.preflight import run_check  # noqa: E402
from rigsync.capture.streams import device_config  # noqa: E402
from rigsync.core.errors import DriverError  # noqa: E402
from rigsync.core.frame import Frame, FrameFlags, TimestampSemantics  # noqa: E402
from rigsync.drivers.base import DeviceConfig, DeviceEvent, EventKind  # noqa: E402
from rigsync.drivers.orbbec import OrbbecDriver, model_key  # noqa: E402
from rigsync.plan import build_plan  # noqa: E402
from rigsync.plan.emit.orbbec import device_sync_config  # noqa: E402
from rigsync.spec import loads_rig  # noqa: E402


def config(driver: OrbbecDriver, device_id: str) -> DeviceConfig:
    """What capture configures the device with."""
    return device_config(driver.plan, driver.rig.device(device_id))


def _arities(doc: str, name: str) -> list[range]:
    """Parameter counts (self included) each overload in a pybind11 docstring accepts, defaults considered."""
    ranges = []
    for args in re.findall(rf"{name}\((.*?)\) ->", doc):
        params, depth, current = [], 0, ""
        for ch in args + ",":
            depth += 1 if ch in "[(" else -1 if ch in "])" else 0
            if ch == "," and depth == 0:
                params.append(current.strip())
                current = ""
            else:
                current += ch
        params = [p for p in params if p]
        required = sum("=" not in p for p in params)
        ranges.append(range(required, len(params) + 1))
    return ranges


@pytest.mark.parametrize(("fake", "real"), [
    (FakeContext, ob.Context), (FakeDevice, ob.Device), (FakeDeviceInfo, ob.DeviceInfo),
    (FakeDeviceList, ob.DeviceList), (FakePipeline, ob.Pipeline)])
def test_fake_device_layer_matches_the_installed_sdk(fake: type, real: type) -> None:
    """Every method of the fake device layer exists on the SDK's class with an overload of the same arity."""
    methods = [n for n, v in vars(fake).items() if callable(v) and not n.startswith("_") and n != "deliver_until"]
    assert methods
    for name in methods:
        assert hasattr(real, name), f"{real.__name__} has no {name}"
        code = vars(fake)[name].__code__
        assert any(code.co_argcount in r for r in _arities(getattr(real, name).__doc__, name)), \
            f"{real.__name__}.{name} takes no {code.co_argcount} arguments"


def test_import_keeps_stdout_and_working_directory_clean(tmp_path: Path) -> None:
    """Using the driver's SDK prints nothing on stdout and writes no SDK Log/ directory where rigsync runs."""
    script = ("from rigsync.drivers.orbbec import ob\n"
              "ob.Frame.create_video_frame(ob.OBFrameType.DEPTH_FRAME, ob.OBFormat.Z16, 4, 4)\n"
              "ob.Context().query_devices()\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True, cwd=tmp_path)
    assert out.stdout == b""
    assert list(tmp_path.iterdir()) == []


def test_discovery_names_serial_model_firmware_connection() -> None:
    """Discovery lists each device by serial with its catalog model, firmware and connection."""
    driver, rig = make(FakeBus())
    found = {i.serial: i for i in driver.discover()}
    assert set(found) == {d.serial for d in rig.devices}
    info = found["CP3S34D00051"]
    assert (info.driver, info.model, info.name) == ("orbbec", "orbbec-femto-bolt", "Orbbec Femto Bolt")
    assert info.connection == "USB3.2 (firmware 1.0.9)"


@pytest.mark.parametrize(("sdk_name", "key"), [
    ("Orbbec Femto Bolt", "orbbec-femto-bolt"), ("Gemini 2", "orbbec-gemini-2"), ("Orbbec Gemini 2 L", ""),
    ("Orbbec Femto Mega", "")])
def test_sdk_device_names_map_to_catalog_models(sdk_name: str, key: str) -> None:
    """The SDK's device name gives the catalog model exactly; a model rigsync does not know gives none."""
    assert model_key(sdk_name) == key


def test_context_resyncs_clocks_and_stamps_monotonic() -> None:
    """The SDK context re-syncs device clocks every 60 s and stamps system timestamps on CLOCK_MONOTONIC."""
    bus = FakeBus()
    driver, _ = make(bus)
    driver.open("CP3S34D00051").close()
    assert bus.context.resync_ms == 60_000
    assert bus.context.clock_type == ob.OBClockType.MONOTONIC


@pytest.mark.parametrize(("device_id", "mode"), [
    ("primary", ob.OBMultiDeviceSyncMode.PRIMARY), ("secondary", ob.OBMultiDeviceSyncMode.SECONDARY),
    ("alone", ob.OBMultiDeviceSyncMode.STANDALONE)])
def test_plan_role_becomes_the_read_back_sync_mode(device_id: str, mode: Any) -> None:
    """The plan's role is set as the SDK's OBMultiDeviceSyncMode with the emitted JSON's fields, and reads back."""
    bus = FakeBus()
    driver, _ = make(bus)
    spec = driver.rig.device(device_id)
    with driver.open(spec.serial) as device:
        device.configure(config(driver, device_id))
        stored = next(d for d in bus.devices if d.info.serial == spec.serial).sync
        assert stored.mode == mode
        emitted = device_sync_config(spec.model, driver.plan.device(device_id))
        for field, value in emitted.items():
            if field != "mode":
                assert getattr(stored, field) == value, field
        readback = device.readback()
    assert readback["mode"] == mode.name == driver.plan.device(device_id).vendor_role
    assert readback["depth_delay_us"] == str(emitted["depth_delay_us"])
    assert readback["supported_modes"] == "STANDALONE PRIMARY SECONDARY"
    if device_id == "secondary":
        assert stored.depth_delay_us == 160
    if device_id == "primary":
        assert stored.trigger_out_enable is True


def test_mode_missing_from_the_device_bitmap_is_refused() -> None:
    """A planned mode the device's supported-mode bitmap lacks is a DriverError naming both, and nothing is set."""
    bus = FakeBus({"secondary": int(ob.OBMultiDeviceSyncMode.STANDALONE) | int(ob.OBMultiDeviceSyncMode.PRIMARY)})
    driver, _ = make(bus)
    with driver.open("CP3L44P00054") as device:
        with pytest.raises(DriverError, match=r"CP3L44P00054: sync mode SECONDARY is not supported .*"
                                              r"\(it supports STANDALONE, PRIMARY\)"):
            device.configure(config(driver, "secondary"))
        assert device.readback() == {}
    assert bus.devices[1].sync.mode == ob.OBMultiDeviceSyncMode.STANDALONE


def _run(driver: OrbbecDriver, device: Any, seconds: float, step_ns: int = 5_000_000) -> list[Frame | DeviceEvent]:
    clock = driver.clock()
    end = clock.now_ns() + round(seconds * 1e9)
    items: list[Frame | DeviceEvent] = []
    while clock.now_ns() < end:
        clock.wait_until(clock.now_ns() + step_ns)
        items += device.poll()
    return items


def test_frames_carry_exact_device_and_host_times() -> None:
    """SDK frames arrive with device_ts_ns = timestamp_us x 1000 and host_rx_ns = system timestamp_us x 1000,
    exactly, their pixels decoded, and the Femto Bolt's synced-role semantics (start of exposure)."""
    bus = FakeBus()
    driver, _ = make(bus)
    with driver.open("CP3S34D00051") as device:
        device.configure(config(driver, "primary"))
        device.start()
        items = _run(driver, device, 0.5)
        device.stop()
    frames = [i for i in items if isinstance(i, Frame)]
    sent = {(kind, k): (dev_us, sys_us) for kind, k, dev_us, sys_us in bus.sent}
    assert len(frames) == len(bus.sent) >= 2 * 14
    for f in frames:
        dev_us, sys_us = sent[("OBFrameType.DEPTH_FRAME" if f.stream == "depth" else "OBFrameType.COLOR_FRAME",
                               f.seq)]
        assert (f.device_ts_ns, f.host_rx_ns) == (dev_us * 1000, sys_us * 1000)
        assert f.semantics is TimestampSemantics.START_OF_EXPOSURE and f.device == "primary"
        assert f.image is not None
    depth = next(f for f in frames if f.stream == "depth" and f.seq == 3)
    assert depth.image is not None and depth.image.shape == (288, 320) and depth.image.dtype == np.uint16
    assert depth.encoding == "16UC1" and int(depth.image[0, 0]) == 3 * 257
    color = next(f for f in frames if f.stream == "color")
    assert color.image is not None and color.image.shape == (720, 1280, 3) and color.encoding == "bgr8"
    assert color.exposure_ns == 8_000_000


def test_standalone_frames_have_free_running_semantics() -> None:
    """In STANDALONE the Femto Bolt's timestamp is the middle of the exposure (catalog's free semantics)."""
    driver, _ = make(FakeBus())
    with driver.open("CP3L44P00099") as device:
        device.configure(config(driver, "alone"))
        device.start()
        frames = [i for i in _run(driver, device, 0.2) if isinstance(i, Frame)]
    assert frames and {f.semantics for f in frames} == {TimestampSemantics.CENTER_OF_EXPOSURE}


def test_overflow_is_an_overrun_with_the_first_lost_frame_number() -> None:
    """A full queue drops new frames and reports one OVERRUN per run of drops, with the count and first number."""
    bus = FakeBus()
    driver, _ = make(bus, queue_frames=4)
    with driver.open("CP3L44P00054") as device:
        device.configure(config(driver, "secondary"))
        device.start()
        bus.clock.wait_until(bus.clock.now_ns() + 10 * 33_333_000 + LATENCY_US * 1000)
        items = device.poll()
        assert [i.seq for i in items if isinstance(i, Frame)] == [0, 1, 2, 3]
        events = [i for i in items if isinstance(i, DeviceEvent)]
        assert [(e.device, e.kind, e.stream, e.seq, e.count) for e in events] == [
            ("secondary", EventKind.OVERRUN, "depth", 4, 7)]
        bus.clock.wait_until(bus.clock.now_ns() + 33_333_000)
        assert [i.seq for i in device.poll() if isinstance(i, Frame)] == [11]


def test_unplugged_device_is_reported_disconnected() -> None:
    """The SDK's device-changed callback removing an open device gives a DISCONNECTED event at that host time."""
    bus = FakeBus()
    driver, _ = make(bus)
    with driver.open("CP3L44P00054") as device:
        device.configure(config(driver, "secondary"))
        device.start()
        _run(driver, device, 0.1)
        unplugged_ns = bus.clock.now_ns()
        bus.unplug("CP3L44P00054")
        items = _run(driver, device, 0.1)
    assert items == [DeviceEvent("secondary", EventKind.DISCONNECTED, unplugged_ns)]


def test_poll_never_blocks_and_returns_nothing_when_idle() -> None:
    """poll() returns at once with nothing before any frame is due."""
    driver, _ = make(FakeBus())
    with driver.open("CP3L44P00054") as device:
        device.configure(config(driver, "secondary"))
        device.start()
        assert device.poll() == []


def test_rigsync_check_passes_with_the_planned_modes() -> None:
    """`rigsync check` over the Orbbec driver: each device reads back its planned mode and streams at rate."""
    driver, _ = make(FakeBus())
    rows = run_check(driver.plan, {"orbbec": driver}, seconds=1.0)
    assert rows and all(r.ok for r in rows), [r for r in rows if not r.ok]
    settings = {r.device: r.detail for r in rows if r.check == "settings"}
    assert "mode = PRIMARY" in settings["primary"] and "mode = SECONDARY" in settings["secondary"]


def test_frame_numbers_keep_counting_across_a_restart() -> None:
    """A stop and start does not reuse frame numbers: seq keeps counting for as long as the device is open."""
    driver, _ = make(FakeBus())
    with driver.open("CP3L44P00054") as device:
        device.configure(config(driver, "secondary"))
        device.start()
        first = [i.seq for i in _run(driver, device, 0.2) if isinstance(i, Frame)]
        device.stop()
        device.start()
        second = [i.seq for i in _run(driver, device, 0.2) if isinstance(i, Frame)]
    assert first == list(range(len(first))) and second == list(range(len(first), len(first) + len(second)))
    assert len(second) >= 4


def test_replugged_device_is_reconfigured_and_reported_reconnected() -> None:
    """A device that comes back gets the plan's sync config again, RECONNECTED at that host time, and streams
    again with frame numbers and device clock restarted, its first frame flagged AFTER_RECONNECT."""
    bus = FakeBus()
    driver, _ = make(bus)
    with driver.open("CP3L44P00054") as device:
        device.configure(config(driver, "secondary"))
        device.start()
        _run(driver, device, 0.1)
        bus.unplug("CP3L44P00054")
        _run(driver, device, 0.1)
        back_ns = bus.clock.now_ns()
        fresh = bus.replug("CP3L44P00054", device_us0=55)
        assert fresh.sync.mode == ob.OBMultiDeviceSyncMode.STANDALONE
        items = _run(driver, device, 0.2)
        assert device.readback()["mode"] == "SECONDARY"
    assert items[0] == DeviceEvent("secondary", EventKind.RECONNECTED, back_ns)
    assert fresh.sync.mode == ob.OBMultiDeviceSyncMode.SECONDARY and fresh.sync.depth_delay_us == 160
    frames = [i for i in items[1:] if isinstance(i, Frame)]
    assert len(frames) == len(items) - 1 >= 4
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert frames[0].device_ts_ns == 55_000
    assert [f.flags for f in frames] == [FrameFlags.AFTER_RECONNECT] + [FrameFlags.NONE] * (len(frames) - 1)


def test_the_real_sdk_context_takes_the_set_up_and_finds_no_device_here() -> None:
    """Through the registry, the driver runs on the installed SDK's own Context (clock type, 60 s re-sync and
    hot-plug callback accepted); with no camera attached, opening a serial names it and what is connected."""
    from rigsync.drivers.registry import driver_factory

    rig = loads_rig(RIG, "orbbec.toml")
    driver = driver_factory("orbbec")(rig, build_plan(rig))
    assert driver.discover() == []
    with pytest.raises(DriverError, match=r"orbbec device CP3S34D00051: no Orbbec device .* connected: none"):
        driver.open("CP3S34D00051")
