"""Rig texts and fault snippets the capture tests share."""

from __future__ import annotations

from typing import Any

RIG = """
[sim]
render_width = 32
seed = 5

[[hosts]]
name = "h"

[[devices]]
id = "k0"
model = "azure-kinect-dk"
serial = "K0"
host = "h"
connection = "usb:c0"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 8000 }]

[[devices]]
id = "k1"
model = "azure-kinect-dk"
serial = "K1"
host = "h"
connection = "usb:c1"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 8000 },
           { kind = "depth", width = 640, height = 576, fps = 30 }]

[[devices]]
id = "cam"
model = "uvc-webcam"
serial = "W0"
host = "h"
connection = "usb:c2"
streams = [{ kind = "color", width = 640, height = 480, fps = 30 }]

[[sync]]
name = "star"
method = "hardware"
topology = "star"
source = { device = "k0" }
members = [{ device = "k0" }, { device = "k1" }]
"""


def fault(kind: str, at_s: float, duration_s: float = 0.0, **extra: Any) -> str:
    fields = "".join(f'{k} = {v!r}\n'.replace("'", '"') for k, v in extra.items())
    return f'\n[[faults]]\nkind = "{kind}"\nat_s = {at_s}\nduration_s = {duration_s}\n{fields}'
