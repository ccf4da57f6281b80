"""What the Orbbec driver's tests run against: the installed pyorbbecsdk2's own structs, enums, stream config and
Frame objects, and a strict fake of the device layer that needs a camera (Context, DeviceList, Device, DeviceInfo,
Pipeline). Importing this module needs pyorbbecsdk2 (ImportError otherwise); the fake's public methods are the
SDK's names, checked against the installed classes by ``test_orbbec.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyorbbecsdk as ob

from rigsync.drivers.base import Driver
from rigsync.drivers.orbbec import OrbbecApi, OrbbecDriver
from rigsync.plan import build_plan
from rigsync.spec import loads_rig
from rigsync.spec.model import RigSpec

RIG = """
[[hosts]]
name = "h"

[[devices]]
id = "primary"
driver = "orbbec"
model = "orbbec-femto-bolt"
serial = "CP3S34D00051"
host = "h"
connection = "usb:c0"
streams = [
  { kind = "depth", width = 320, height = 288, fps = 30 },
  { kind = "color", width = 1280, height = 720, fps = 30, format = "nv12", exposure_us = 8000 },
]

[[devices]]
id = "secondary"
driver = "orbbec"
model = "orbbec-femto-bolt"
serial = "CP3L44P00054"
host = "h"
connection = "usb:c1"
streams = [{ kind = "depth", width = 320, height = 288, fps = 30 }]

[[devices]]
id = "alone"
driver = "orbbec"
model = "orbbec-femto-bolt"
serial = "CP3L44P00099"
host = "h"
connection = "usb:c2"
streams = [{ kind = "depth", width = 320, height = 288, fps = 30 }]

[[sync]]
name = "bolts"
method = "hardware"
topology = "daisy-chain"
source = { device = "primary" }
members = [
  { device = "primary" },
  { device = "secondary", depth_delay_us = 160 },
]
"""

FEMTO_MODES = int(ob.OBMultiDeviceSyncMode.STANDALONE) | int(ob.OBMultiDeviceSyncMode.PRIMARY) | int(
    ob.OBMultiDeviceSyncMode.SECONDARY)
HOST_START_NS = 7_000_000_000_000
LATENCY_US = 21_000
"""Fake exposure-to-host-receive delay."""


class FakeHostClock:
    """The host's monotonic clock, virtual: waiting on it lets running fake pipelines deliver what is due."""

    def __init__(self) -> None:
        self.now = HOST_START_NS
        self.pipelines: list[FakePipeline] = []

    def now_ns(self) -> int:
        return self.now

    def wait_until(self, host_ns: int) -> None:
        self.now = max(self.now, host_ns)
        for pipeline in list(self.pipelines):
            pipeline.deliver_until(self.now)


class FakeDeviceInfo:
    def __init__(self, serial: str, name: str) -> None:
        self.serial, self.name = serial, name

    def get_serial_number(self) -> str:
        return self.serial

    def get_name(self) -> str:
        return self.name

    def get_firmware_version(self) -> str:
        return "1.0.9"

    def get_connection_type(self) -> str:
        return "USB3.2"


class FakeDevice:
    """A device's control interface: stores the real OBMultiDeviceSyncConfig it is given."""

    def __init__(self, serial: str, name: str, bitmap: int, device_us0: int) -> None:
        self.info = FakeDeviceInfo(serial, name)
        self.bitmap = bitmap
        self.device_us0 = device_us0
        self.sync: Any = ob.OBMultiDeviceSyncConfig()
        self.sync.mode = ob.OBMultiDeviceSyncMode.STANDALONE

    def get_device_info(self) -> FakeDeviceInfo:
        return self.info

    def get_supported_multi_device_sync_mode_bitmap(self) -> int:
        return self.bitmap

    def set_multi_device_sync_config(self, config: Any) -> None:
        if not isinstance(config, ob.OBMultiDeviceSyncConfig):
            raise TypeError(f"set_multi_device_sync_config takes OBMultiDeviceSyncConfig, not {type(config)}")
        self.sync = config

    def get_multi_device_sync_config(self) -> Any:
        return self.sync


class FakeDeviceList:
    def __init__(self, devices: list[FakeDevice]) -> None:
        self.devices = devices

    def get_count(self) -> int:
        return len(self.devices)

    def get_device_by_index(self, index: int) -> FakeDevice:
        return self.devices[index]

    def get_device_serial_number_by_index(self, index: int) -> str:
        return self.devices[index].info.serial


class FakeContext:
    def __init__(self, devices: list[FakeDevice]) -> None:
        self.devices = devices
        self.clock_type: Any = None
        self.resync_ms: int | None = None
        self.changed: Callable[[FakeDeviceList, FakeDeviceList], None] | None = None

    def query_devices(self) -> FakeDeviceList:
        return FakeDeviceList(list(self.devices))

    def set_timestamp_clock_type(self, clock_type: Any) -> None:
        self.clock_type = clock_type

    def enable_multi_device_sync(self, repeat_interval_ms: int) -> None:
        self.resync_ms = repeat_interval_ms

    def set_device_changed_callback(self, callback: Callable[[FakeDeviceList, FakeDeviceList], None]) -> None:
        self.changed = callback


class FakePipeline:
    """Streams what the real ``Config`` enables as real frames (``Frame.create_video_frame``), one frameset per
    period, stamped on the device clock (us) and the host clock (system timestamp, us)."""

    def __init__(self, device: FakeDevice, clock: FakeHostClock, sent: list[tuple[str, int, int, int]]) -> None:
        self.device, self.clock, self.sent = device, clock, sent
        self.profiles: list[Any] = []
        self.callback: Callable[[Any], None] | None = None
        self.k = 0
        self.t0_ns = 0

    def start(self, config: Any, callback: Callable[[Any], None]) -> None:
        enabled = config.get_enabled_stream_profile_list()
        self.profiles = [enabled.get_stream_profile_by_index(i) for i in range(enabled.get_count())]
        self.callback = callback
        self.k, self.t0_ns = 0, self.clock.now_ns()
        self.clock.pipelines.append(self)

    def stop(self) -> None:
        if self in self.clock.pipelines:
            self.clock.pipelines.remove(self)

    def deliver_until(self, host_ns: int) -> None:
        period_us = 1_000_000 // self.profiles[0].as_video_stream_profile().get_fps()
        while self.callback is not None:
            exposure_us = self.t0_ns // 1000 + self.k * period_us
            if (exposure_us + LATENCY_US) * 1000 > host_ns:
                return
            frames = ob.Frame.create_frame_set()
            for profile in self.profiles:
                video = profile.as_video_stream_profile()
                frame_type = ob.convert_stream_type_to_frame_type(profile.get_type())
                frame = ob.Frame.create_video_frame(frame_type, profile.get_format(), video.get_width(),
                                                    video.get_height())
                frame.update_data(np.full(frame.get_data_size(), self.k % 251, np.uint8).tobytes())
                device_us = self.device.device_us0 + self.k * period_us
                ob.Frame.set_frame_device_timestamp_us(frame, device_us)
                frame.set_system_timestamp_us(exposure_us + LATENCY_US)
                frames.push_frame(frame)
                self.sent.append((str(frame_type), self.k, device_us, exposure_us + LATENCY_US))
            self.k += 1
            self.callback(frames)


class FakeBus:
    """The tests' hand on the fake device layer: which devices are plugged in, unplugging one."""

    def __init__(self, bitmaps: dict[str, int] | None = None) -> None:
        self.clock = FakeHostClock()
        self.sent: list[tuple[str, int, int, int]] = []
        rig = loads_rig(RIG, "orbbec.toml")
        self.devices = [FakeDevice(d.serial, "Orbbec Femto Bolt", (bitmaps or {}).get(d.id, FEMTO_MODES),
                                   1_000_000 * (i + 1) + 17) for i, d in enumerate(rig.devices)]
        self.context = FakeContext(self.devices)

    def api(self) -> OrbbecApi:
        return OrbbecApi(self.context, lambda device: FakePipeline(device, self.clock, self.sent))

    def unplug(self, serial: str) -> None:
        gone = [d for d in self.devices if d.info.serial == serial]
        self.devices[:] = [d for d in self.devices if d.info.serial != serial]
        for pipeline in list(self.clock.pipelines):
            if pipeline.device in gone:
                pipeline.stop()
        assert self.context.changed is not None
        self.context.changed(FakeDeviceList(gone), FakeDeviceList([]))

    def replug(self, serial: str, device_us0: int) -> FakeDevice:
        """The device comes back power-cycled: default sync settings, its clock restarted at ``device_us0``."""
        device = FakeDevice(serial, "Orbbec Femto Bolt", FEMTO_MODES, device_us0)
        self.devices.append(device)
        assert self.context.changed is not None
        self.context.changed(FakeDeviceList([]), FakeDeviceList([device]))
        return device


def make(bus: FakeBus, queue_frames: int = 64) -> tuple[OrbbecDriver, RigSpec]:
    rig = loads_rig(RIG, "orbbec.toml")
    return OrbbecDriver(rig, build_plan(rig), bus.api(), bus.clock, queue_frames=queue_frames), rig


def orbbec_driver() -> tuple[Driver, RigSpec]:
    """For the driver contract suite: the Orbbec driver over real SDK frames and the fake device layer."""
    return make(FakeBus())
