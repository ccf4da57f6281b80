"""A two-Kinect rig in front of the simulator's board (both see its front, the floor and the box), captured for a
moment: the recording the 3D exports are tested on, and the simulator's true camera of each stream."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation
from tests.verify.rigs import capture, fault

from rigsync.core.calibration import RigCalibration
from rigsync.drivers.sim._scene_geometry import CameraView
from rigsync.record import Recording
from rigsync.spec import loads_rig

RIG = """
[sim]
render_width = 64
seed = 5

[[hosts]]
name = "h"
usb_controllers = [{ name = "u0" }, { name = "u1" }]

[[devices]]
id = "k0"
model = "azure-kinect-dk"
serial = "K0"
host = "h"
connection = "usb:u0"
pose = { position = [1.2, -2.0, 1.6], look_at = [0.0, 0.0, 0.7] }
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 8000 },
           { kind = "depth", width = 640, height = 576, fps = 30 },
           { kind = "ir", width = 640, height = 576, fps = 30 }]

[[devices]]
id = "k1"
model = "azure-kinect-dk"
serial = "K1"
host = "h"
connection = "usb:u1"
pose = { position = [-1.3, -1.9, 1.4], look_at = [0.0, 0.0, 0.8] }
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 8000 },
           { kind = "depth", width = 640, height = 576, fps = 30 }]

[[sync]]
name = "star"
method = "hardware"
topology = "star"
source = { device = "k0" }
members = [{ device = "k0", role = "master" }, { device = "k1", role = "subordinate", depth_delay_us = 160 }]
""" + fault("drop-burst", 0.6, 0.1, device="k1")


def capture_rig3d(out: Path) -> Path:
    return capture(RIG, out, 1.0)


def true_view(recording: Recording, device: str, stream: str) -> CameraView:
    """The simulator's camera of a stream: its device's pose (a device's streams share it), its intrinsics."""
    rig = loads_rig(RIG, "rig3d.toml")
    pose = next(d.pose for d in rig.devices if d.id == device)
    k = recording.intrinsics(device, stream)
    assert pose is not None and k is not None
    return CameraView.from_pose(pose, k)


def rotated(calibration: RigCalibration, device: str, degrees: float) -> RigCalibration:
    """``calibration`` with every camera of ``device`` turned by ``degrees`` about its own (1, 1, 0) axis (a bad
    pose: tilted and panned)."""
    turn = Rotation.from_rotvec(np.array([1.0, 1.0, 0.0]) / math.sqrt(2.0) * math.radians(degrees)).as_matrix()
    cams = tuple(dataclasses.replace(c, rotation=tuple((np.reshape(c.rotation, (3, 3)) @ turn).ravel().tolist()))
                 if c.device == device else c for c in calibration.cameras)
    return RigCalibration(cameras=cams, origin=calibration.origin)
