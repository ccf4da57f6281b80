"""Small rigs the verification tests capture (32-pixel renders, a few seconds on the virtual clock)."""

from __future__ import annotations

from pathlib import Path

from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.plan import build_plan
from rigsync.spec import loads_rig

GENLOCK = """
[sim]
render_width = 32
seed = 3

[[hosts]]
name = "h"

[[devices]]
id = "rs-master"
model = "realsense-d435"
serial = "RS0"
host = "h"
connection = "usb:c0"
streams = [{ kind = "depth", width = 848, height = 480, fps = 30, exposure_us = 8000 }]
sim = { drift_ppm = 40 }

[[devices]]
id = "rs-a"
model = "realsense-d435"
serial = "RS1"
host = "h"
connection = "usb:c1"
streams = [{ kind = "depth", width = 848, height = 480, fps = 90, exposure_us = 8000 }]
sim = { drift_ppm = -30 }

[[devices]]
id = "rs-b"
model = "realsense-d435"
serial = "RS2"
host = "h"
connection = "usb:c2"
streams = [{ kind = "depth", width = 848, height = 480, fps = 90, exposure_us = 8000 }]
sim = { drift_ppm = 10 }

[[sync]]
name = "gl"
method = "genlock"
topology = "star"
source = { device = "rs-master" }
members = [{ device = "rs-master" }, { device = "rs-a" }, { device = "rs-b" }]
"""

KINECT_STAR = """
[sim]
render_width = 32
seed = 7

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
streams = [{ kind = "color", width = 1280, height = 720, fps = 30 EXPOSURE }]

[[sync]]
name = "star"
method = "hardware"
topology = "star"
source = { device = "k0" }
members = [{ device = "k0" }, { device = "k1", delay_us = 160 }]
"""


def capture(text: str, out: Path, seconds: float, *, force: bool = False) -> Path:
    """Capture ``text`` for ``seconds`` on the virtual clock into ``out``."""
    plan = build_plan(loads_rig(text, str(out.with_suffix(".toml"))))
    assert force or not plan.errors, plan.errors
    with CaptureSession(plan, CaptureOptions(out=out, seconds=seconds, fast=True, force=force)) as session:
        session.run()
    return out


def fault(kind: str, at_s: float, duration_s: float, **target: str) -> str:
    where = "".join(f'{k} = "{v}"\n' for k, v in target.items())
    return f'\n[[faults]]\nkind = "{kind}"\nat_s = {at_s}\nduration_s = {duration_s}\n{where}'

TWO_HOSTS_PTP = """
[sim]
render_width = 32
seed = 11

[[hosts]]
name = "gm"
nics = [{ name = "eth0", timestamping = "hardware" }]

[[hosts]]
name = "b"
usb_controllers = [{ name = "u0" }]
nics = [{ name = "eth0", timestamping = "hardware" }]

[[devices]]
id = "cam-gm"
model = "gige-ptp-area-scan"
serial = "EVT-1"
host = "gm"
connection = "eth:eth0"
streams = [{ kind = "color", width = 1920, height = 1200, fps = 30, format = "bayer_rggb8", exposure_us = 2000 }]

[[devices]]
id = "cam-b"
model = "gige-ptp-area-scan"
serial = "EVT-2"
host = "b"
connection = "eth:eth0"
streams = [{ kind = "color", width = 1920, height = 1200, fps = 30, format = "bayer_rggb8", exposure_us = 2000 }]

[[devices]]
id = "web-b"
model = "uvc-webcam"
serial = "WEB-1"
host = "b"
connection = "usb:u0"
streams = [{ kind = "color", width = 640, height = 480, fps = 30 }]

[[sync]]
name = "lan"
method = "ptp"
members = [{ device = "cam-gm" }, { device = "cam-b" }]
[sync.ptp]
grandmaster = "gm"
"""

ORBBEC = """
[sim]
render_width = 32
seed = 21

[[hosts]]
name = "h"

[[devices]]
id = "primary"
model = "orbbec-femto-bolt"
serial = "CP1"
host = "h"
connection = "usb:c0"
streams = [{ kind = "color", width = 1920, height = 1080, fps = 30, format = "mjpeg", exposure_us = 10000 },
           { kind = "depth", width = 640, height = 576, fps = 30 }]

[[devices]]
id = "secondary"
model = "orbbec-femto-bolt"
serial = "CP2"
host = "h"
connection = "usb:c1"
streams = [{ kind = "color", width = 1920, height = 1080, fps = 30, format = "mjpeg", exposure_us = 10000 },
           { kind = "depth", width = 640, height = 576, fps = 30 }]

[[sync]]
name = "bolts"
method = "hardware"
topology = "daisy-chain"
source = { device = "primary" }
members = [{ device = "primary" }, { device = "secondary", depth_delay_us = 160 }]
"""
