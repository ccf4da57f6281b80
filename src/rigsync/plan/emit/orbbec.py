"""Orbbec ``multi_device_sync_config.json``, in the vendor's schema exactly as seeds/002 shows it.

Field meanings (Orbbec Multi-Device-Synchronization-Example docs/FemtoSeries.md and Gemini2Series.md,
"syncConfig Field Reference"; OrbbecSDK ``ob_multi_device_sync_config``):

- ``depth_delay_us``: IR/depth/ToF trigger signal input delay (the 160 us steps that keep ToF lasers apart);
- ``color_delay_us``: RGB trigger signal input delay;
- ``trigger_to_image_delay_us``: trigger input to image capture, for models that capture depth and colour
  together and "can not change the delay between the depth and color images" (it replaces the two above);
- ``trigger_out_enable`` / ``trigger_out_delay_us``: the device drives its sync output, and how late;
- ``frames_per_trigger``: frames per trigger, effective in the triggering modes.

Mapping from the plan. ToF models (Femto: separate depth and colour delays, each measured from the trigger):
``color_delay_us`` = the device's capture delay, ``depth_delay_us`` = capture delay + depth-after-colour delay,
``trigger_to_image_delay_us`` = 0 - this reproduces Orbbec's own FemtoSeries secondary example (depth 160,
others 0). Other models (depth and colour captured together): ``trigger_to_image_delay_us`` = the capture
delay, ``depth_delay_us`` = the depth-after-colour delay, ``color_delay_us`` = 0.

JSON has no comments: the header naming the rig and rigsync goes into the emit directory's README.txt.
"""

from __future__ import annotations

import json
from pathlib import Path

from rigsync.catalog import get_model
from rigsync.catalog.base import DepthTech, Vendor
from rigsync.plan.emit._common import devices_of, us, write_files
from rigsync.plan.model import DevicePlan, Plan

FILE_NAME = "multi_device_sync_config.json"

JsonValue = str | int | bool
DeviceEntry = dict[str, str | dict[str, JsonValue]]


def device_sync_config(model_key: str, dp: DevicePlan) -> dict[str, JsonValue]:
    """One device's ``config`` entry (also what the Orbbec driver sets through ``OBMultiDeviceSyncConfig``)."""
    delay_us, depth_after_color_us = us(dp.delay_ns), us(dp.depth_delay_ns)
    separate = get_model(model_key).depth_tech is DepthTech.TOF
    return {
        "mode": dp.vendor_role,
        "depth_delay_us": delay_us + depth_after_color_us if separate else depth_after_color_us,
        "color_delay_us": delay_us if separate else 0,
        "trigger_to_image_delay_us": 0 if separate else delay_us,
        "trigger_out_enable": dp.trigger_out,
        "trigger_out_delay_us": 0,
        "frames_per_trigger": dp.burst,
    }


def sync_config(plan: Plan) -> dict[str, list[DeviceEntry]]:
    """The config object: one entry per Orbbec device, in the order the rig declares them."""
    return {"devices": [{"serial_number": spec.serial, "config": device_sync_config(spec.model, dp)}
                        for spec, dp in devices_of(plan, Vendor.ORBBEC)]}


def files(plan: Plan) -> dict[str, str]:
    """``multi_device_sync_config.json`` if the rig has Orbbec devices, else nothing."""
    if not devices_of(plan, Vendor.ORBBEC):
        return {}
    return {FILE_NAME: json.dumps(sync_config(plan), indent=4) + "\n"}


def readme(plan: Plan) -> str:
    """What README.txt says about the JSON (which cannot carry a comment itself)."""
    if not devices_of(plan, Vendor.ORBBEC):
        return ""
    return (f"{FILE_NAME}: Orbbec multi-device sync config (seeds/002 schema). Load it with the vendor sample\n"
            "  (device.set_multi_device_sync_config per device), start the SECONDARY devices first and the PRIMARY\n"
            "  last, and re-sync device clocks periodically: ctx.enable_multi_device_sync(60000).\n")


def write(plan: Plan, directory: Path) -> list[Path]:
    return write_files(directory, files(plan))
