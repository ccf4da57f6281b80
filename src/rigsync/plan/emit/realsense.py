"""``realsense_options.json`` (per RealSense camera: sensor options, streams, frame timeout) and the
``realsense_setup.py`` snippet that applies it with pyrealsense2 before streaming.

Names: option keys are pyrealsense2 ``rs.option`` members, i.e. librealsense ``RS2_OPTION_*`` lower-cased
(``RS2_OPTION_INTER_CAM_SYNC_MODE`` -> ``inter_cam_sync_mode``; the binding lower-cases rs2_option_to_string and
replaces spaces by underscores, librealsense wrappers/python ``make_pythonic_str``). Sensor names are
``rs.camera_info.name`` values: ``Stereo Module`` (depth/IR) and ``RGB Camera`` (librealsense unit tests).
Units: Stereo Module ``exposure`` in microseconds (1-165000, librealsense #6384); RGB Camera ``exposure`` in
units of 100 us (range 1-10000, librealsense #8243). Inter-cam sync mode: 0 default, 1 master, 2 slave,
3 full slave, 4-258 Genlock with burst = mode - 3, set BEFORE streaming (seeds/004 section 5).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from rigsync.catalog import get_model
from rigsync.catalog.base import Vendor
from rigsync.core.frame import StreamKind
from rigsync.plan.emit._common import GENERATOR, devices_of, header, stream_of, us, write_files
from rigsync.plan.emit._realsense_setup import SETUP_SCRIPT
from rigsync.plan.model import DevicePlan, Plan
from rigsync.spec.model import DeviceSpec

OPTIONS_FILE = "realsense_options.json"
SETUP_FILE = "realsense_setup.py"

DEFAULT_TIMEOUT_MS = 5_000
RANDOM_TRIGGER_TIMEOUT_MS = 60_000
"""Triggers at random times (a pressure pad): wait long; raise it for sparser triggers (seeds/004, time-lapse)."""
RGB_EXPOSURE_UNIT_US = 100

Options = dict[str, int]
Stream = dict[str, str | int]
Camera = dict[str, str | int | dict[str, Options] | list[Stream]]

_STREAM = {StreamKind.DEPTH: "depth", StreamKind.COLOR: "color", StreamKind.IR: "infrared"}


def _stereo(device: DeviceSpec, dp: DevicePlan) -> Options:
    opts: Options = {"inter_cam_sync_mode": int(dp.vendor_role)}
    s = stream_of(device, StreamKind.DEPTH) or stream_of(device, StreamKind.IR)
    if s is not None and s.exposure_us is not None:
        opts |= {"enable_auto_exposure": 0, "exposure": s.exposure_us}
    else:
        opts["enable_auto_exposure"] = 1
    opts["emitter_enabled"] = 1
    return opts


def _rgb(device: DeviceSpec) -> Options | None:
    s = stream_of(device, StreamKind.COLOR)
    if s is None:
        return None
    if s.exposure_us is None:
        return {"enable_auto_exposure": 1}
    return {"enable_auto_exposure": 0, "exposure": max(1, round(s.exposure_us / RGB_EXPOSURE_UNIT_US))}


def _streams(device: DeviceSpec) -> list[Stream]:
    out: list[Stream] = []
    for s in device.streams:
        entry: Stream = {"stream": _STREAM[s.kind]}
        if s.kind is StreamKind.IR:
            entry["index"] = 1  # left imager
        entry |= {"width": s.width, "height": s.height, "format": s.pixel_format, "fps": round(s.fps)}
        out.append(entry)
    return out


def frame_timeout_ms(plan: Plan, dp: DevicePlan) -> int:
    """How long ``wait_for_frames`` may wait: three trigger periods of a triggered camera, at least 5 s."""
    if dp.group is None or dp.trigger is None:
        return DEFAULT_TIMEOUT_MS
    group = plan.group(dp.group)
    if group.random_triggers:
        return RANDOM_TRIGGER_TIMEOUT_MS
    period_ms = (group.trigger_period_ns or 0) / 1e6
    return max(DEFAULT_TIMEOUT_MS, math.ceil(3 * period_ms * dp.burst))


def options(plan: Plan) -> dict[str, str | list[str] | list[Camera]]:
    """The options document; cameras in the plan's start order (slaves and Genlock first, the master last)."""
    cameras: list[Camera] = []
    for spec, dp in devices_of(plan, Vendor.INTEL, start_order=True):
        sensors = {"Stereo Module": _stereo(spec, dp)}
        rgb = _rgb(spec)
        if rgb is not None:
            sensors["RGB Camera"] = rgb
        camera: Camera = {"device": spec.id, "serial": spec.serial, "model": get_model(spec.model).name,
                          "sensors": sensors, "streams": _streams(spec), "frame_timeout_ms": frame_timeout_ms(plan, dp)}
        if dp.delay_ns:
            camera["trigger_delay_us"] = us(dp.delay_ns)
        cameras.append(camera)
    return {
        "rig": plan.rig.name,
        "generated_by": GENERATOR,
        "notes": [
            "Set every option before streaming starts (seeds/004); start cameras in the listed order.",
            "inter_cam_sync_mode: 0 default, 1 master, 2 slave, 3 full slave, 4-258 Genlock (burst = mode - 3).",
            "Stereo Module exposure is in microseconds; RGB Camera exposure in units of 100 us.",
            "In Genlock the projector is always on and the D435 colour sensor free-runs (seeds/004).",
            "trigger_delay_us: RealSense has no trigger-delay option; the trigger source must fire this camera's "
            "output that long after the group trigger (staggered capture, seeds/004).",
        ],
        "cameras": cameras,
    }


def files(plan: Plan) -> dict[str, str]:
    """The options JSON and the setup snippet, if the rig has RealSense cameras."""
    if not devices_of(plan, Vendor.INTEL):
        return {}
    setup = SETUP_SCRIPT.replace("{header}", header(plan, SETUP_FILE))
    return {OPTIONS_FILE: json.dumps(options(plan), indent=2) + "\n", SETUP_FILE: setup}


def write(plan: Plan, directory: Path) -> list[Path]:
    return write_files(directory, files(plan))
