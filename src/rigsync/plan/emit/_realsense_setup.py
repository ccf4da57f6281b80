"""The text of the emitted ``realsense_setup.py`` (a file for the user, never imported by rigsync).

pyrealsense2 calls used (all in the librealsense Python wrapper): ``rs.context().query_devices()``,
``device.get_info(rs.camera_info.serial_number | name)``, ``device.query_sensors()``,
``sensor.supports(option)``, ``sensor.set_option(option, float)``, ``rs.config().enable_device(serial)``,
``config.enable_stream(stream, [index,] width, height, format, fps)``, ``rs.pipeline().start(config)``,
``pipeline.wait_for_frames(timeout_ms)``, ``pipeline.stop()``.
"""

SETUP_SCRIPT = '''\
"""{header}.

Applies realsense_options.json with pyrealsense2, then streams every camera.
Sync options take effect only when set BEFORE streaming starts (seeds/004, section 5), so all options are
applied first; cameras then start in the file's order: slaves and Genlock cameras first, the master last.

    python realsense_setup.py [realsense_options.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyrealsense2 as rs


def find_device(ctx, serial):
    for device in ctx.query_devices():
        if device.get_info(rs.camera_info.serial_number) == serial:
            return device
    raise SystemExit(f"RealSense {serial} is not connected")


def apply_options(device, sensors):
    by_name = {s.get_info(rs.camera_info.name): s for s in device.query_sensors()}
    for sensor_name, options in sensors.items():
        sensor = by_name.get(sensor_name)
        if sensor is None:
            raise SystemExit(f"no sensor {sensor_name!r} (found: {sorted(by_name)})")
        for name, value in options.items():
            option = getattr(rs.option, name)
            if not sensor.supports(option):
                print(f"warning: {sensor_name} does not support {name}; skipped", file=sys.stderr)
                continue
            sensor.set_option(option, float(value))


def start(camera):
    config = rs.config()
    config.enable_device(camera["serial"])
    for s in camera["streams"]:
        stream, fmt = getattr(rs.stream, s["stream"]), getattr(rs.format, s["format"])
        if "index" in s:
            config.enable_stream(stream, s["index"], s["width"], s["height"], fmt, s["fps"])
        else:
            config.enable_stream(stream, s["width"], s["height"], fmt, s["fps"])
    pipeline = rs.pipeline()
    pipeline.start(config)
    return pipeline


def main():
    default = Path(__file__).with_name("realsense_options.json")
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    cameras = json.loads(path.read_text())["cameras"]
    ctx = rs.context()
    for camera in cameras:
        device = find_device(ctx, camera["serial"])
        if device.get_info(rs.camera_info.name) != camera["model"]:
            print(f"warning: {camera['serial']} is a {device.get_info(rs.camera_info.name)}, "
                  f"the rig says {camera['model']}", file=sys.stderr)
        apply_options(device, camera["sensors"])
    pipelines = []
    try:
        for camera in cameras:
            pipelines.append((camera, start(camera)))
        while True:
            for camera, pipeline in pipelines:
                frames = pipeline.wait_for_frames(camera["frame_timeout_ms"])
                print(camera["device"], frames.get_frame_number(), frames.get_timestamp())
    except KeyboardInterrupt:
        pass
    finally:
        for _, pipeline in pipelines:
            pipeline.stop()


if __name__ == "__main__":
    main()
'''
