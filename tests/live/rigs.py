"""The live view tests' rig: an RGB-D camera and a webcam, rendered 160x120; a drop-burst to add."""

RIG = """
[sim]
render_width = 160
seed = 5

[[hosts]]
name = "h"

[[devices]]
id = "rs"
model = "realsense-d435"
serial = "RS0"
host = "h"
connection = "usb:c0"
streams = [{ kind = "color", width = 640, height = 480, fps = 30, format = "rgb8" },
           { kind = "depth", width = 640, height = 480, fps = 30, exposure_us = 8000 }]

[[devices]]
id = "cam"
model = "uvc-webcam"
serial = "W0"
host = "h"
connection = "usb:c2"
streams = [{ kind = "color", width = 640, height = 480, fps = 30 }]
"""
DROPS = '\n[[faults]]\nkind = "drop-burst"\ndevice = "cam"\nat_s = 1.0\nduration_s = 0.2\n'
KEYS = ("rs/color", "rs/depth", "cam/color")
