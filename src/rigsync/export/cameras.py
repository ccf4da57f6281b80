"""The cameras an export places in the rig frame: each recorded image stream's intrinsics and pose.

Poses come from a calibration file (``--calibration CAL.json``, :mod:`rigsync.core.calibration`) or, without one,
from the rig file the recording embeds (:func:`rig_file_calibration`: each device's declared ``pose``, origin
``rig-file``; intrinsics from the recording's camera_info, source ``factory``).

A stream the calibration does not hold takes the pose of a calibrated stream of the same device whose frame its
pixels are in (:data:`FRAME_OF`): depth is computed in the IR sensor's frame on Azure Kinect, Orbbec Femto and
RealSense (the left imager), and in the left colour camera's frame on ZED; so depth takes ``ir``'s pose, else
``color``'s (right for ZED, for depth aligned to colour, and in the simulator, where a device's streams share one
pose); ``ir`` takes ``depth``'s, else ``color``'s. A colour stream is never given another stream's pose.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from rigsync.core.calibration import CalibratedCamera, RigCalibration, load_calibration
from rigsync.core.errors import OptionError, RigsyncError
from rigsync.core.geometry import camera_to_world, default_pose
from rigsync.core.intrinsics import Intrinsics
from rigsync.export.rerun import DEPTH_METER
from rigsync.record import Recording

F64 = npt.NDArray[np.float64]

FRAME_OF: Final[dict[str, tuple[str, ...]]] = {"depth": ("ir", "color"), "ir": ("depth", "color")}
"""For a stream the calibration lacks: the same device's streams whose pose it takes, first calibrated wins."""

OPENGL_FROM_OPENCV: Final = np.diag([1.0, -1.0, -1.0, 1.0])
"""Camera axes OpenCV (x right, y down, z forward) -> OpenGL (x right, y up, z back); its own inverse."""


@dataclass(frozen=True, slots=True, eq=False)
class ExportCamera:
    """One recorded stream as an export places it."""

    key: str
    """``<device>/<stream>``, the recording's camera_info frame_id."""
    intrinsics: Intrinsics
    rig_from_camera: F64
    """4x4, OpenCV camera frame to rig frame, metres."""
    pose_of: str
    """The calibrated stream whose pose this is (``key`` itself, or one of :data:`FRAME_OF`)."""
    intrinsics_source: str


@dataclass(frozen=True, slots=True)
class ExportCameras:
    """The calibration an export uses, where it came from, and every exported stream placed by it."""

    calibration: RigCalibration
    source: str
    """``the rig file's declared poses`` or the calibration file's path."""
    cameras: dict[tuple[str, str], ExportCamera]
    unplaced: dict[str, str] = field(default_factory=dict)
    """Streams an export could leave out (``--calibrated``, ``--ply``'s colour) that it could not place: why."""

    def describe(self) -> list[str]:
        """One line per camera: where its pose and intrinsics come from, or why it was not placed."""
        lines = [f"poses: {self.source} (rig frame origin: {self.calibration.origin})"]
        for cam in self.cameras.values():
            borrowed = "" if cam.pose_of == cam.key else f" (the pose of {cam.pose_of}, same device)"
            lines.append(f"  {cam.key}: pose{borrowed}, intrinsics {cam.intrinsics_source}")
        lines.extend(f"  {key}: not placed: {why}" for key, why in self.unplaced.items())
        return lines


def matrix(camera: CalibratedCamera) -> F64:
    """``rig_from_camera`` of a calibrated camera as a 4x4 matrix."""
    m = np.eye(4)
    m[:3, :3] = np.asarray(camera.rotation, dtype=np.float64).reshape(3, 3)
    m[:3, 3] = camera.translation_m
    return m


def rig_file_calibration(recording: Recording) -> RigCalibration:
    """The rig file's declared poses as a calibration: every image stream with a camera_info, posed as its device
    (a device without a ``pose`` where the simulator puts it, :func:`~rigsync.core.geometry.default_pose`)."""
    from rigsync.spec import loads_rig

    if not recording.rig_toml:
        raise RigsyncError(f"{recording.path}: embeds no rig file, so it has no declared poses "
                           "(fix: give --calibration CAL.json, from rigsync calibrate)")
    rig = loads_rig(recording.rig_toml, recording.metadata.get("rigsync", {}).get("rig_path") or recording.path)
    poses = {d.id: d.pose or default_pose(i, len(rig.devices)) for i, d in enumerate(rig.devices)}
    cameras = []
    for info in recording.streams:
        k = recording.intrinsics(info.device, info.stream)
        if k is None or info.device not in poses:
            continue
        rotation, position = camera_to_world(poses[info.device])
        cameras.append(CalibratedCamera(
            key=f"{info.device}/{info.stream}", intrinsics=k, rotation=tuple(float(v) for v in rotation.ravel()),
            translation_m=(float(position[0]), float(position[1]), float(position[2])), intrinsics_source="factory"))
    if not cameras:
        raise RigsyncError(f"{recording.path}: no image stream has both a camera_info and a device in its rig file")
    return RigCalibration(cameras=tuple(cameras), origin="rig-file", recording=recording.path)


def _place(recording: Recording, calibration: RigCalibration, device: str, stream: str,
           where: str | None) -> ExportCamera:
    keys = {c.key for c in calibration.cameras}
    key = f"{device}/{stream}"
    k = recording.intrinsics(device, stream)
    if key in keys:
        cam = calibration.camera(key)
        _check_size(cam.intrinsics, k, key, where)
        return ExportCamera(key, cam.intrinsics, matrix(cam), key, cam.intrinsics_source)
    pose_of = next((f"{device}/{s}" for s in FRAME_OF.get(stream, ()) if f"{device}/{s}" in keys), None)
    if pose_of is None or k is None:
        why = "is disconnected in it" if key in calibration.disconnected else "is not in it"
        borrow = ("its recorded camera_info is missing" if pose_of is not None else
                  f"no stream of {device} it could take the pose of is either ({', '.join(FRAME_OF.get(stream, ()))})"
                  if stream in FRAME_OF else "a colour camera takes no other stream's pose")
        raise OptionError("--calibration", where, f"the recorded camera {key} {why} and {borrow}",
                          f"a calibration of every exported camera (calibrated: {', '.join(sorted(keys))})")
    return ExportCamera(key, k, matrix(calibration.camera(pose_of)), pose_of, "factory")


class OtherImagesError(OptionError):
    """``--calibration`` holds a camera calibrated for another image size than the recording's."""


def _check_size(calibrated: Intrinsics, recorded: Intrinsics | None, key: str, where: str | None) -> None:
    """Refuse intrinsics for another image size than the recording's (a calibration of another rig set-up: its
    focal lengths and centre would be silently wrong for these images)."""
    if recorded is None or (calibrated.width, calibrated.height) == (recorded.width, recorded.height):
        return
    raise OtherImagesError("--calibration", where, f"{key} is calibrated for {calibrated.width}x{calibrated.height} "
                      f"images but recorded at {recorded.width}x{recorded.height} (a calibration of another set-up)",
                      "a calibration of this rig at the recorded image size")


def export_cameras(recording: Recording, calibration_path: str | os.PathLike[str] | None,
                   streams: Iterable[tuple[str, str]], optional: Iterable[tuple[str, str]] = ()) -> ExportCameras:
    """Place ``streams`` of ``recording`` by the calibration file (or, without one, the rig file's poses), and those
    of ``optional`` that can be (the others in :attr:`ExportCameras.unplaced`, with why)."""
    if calibration_path is None:
        calibration, source = rig_file_calibration(recording), "the rig file's declared poses"
        where = None
    else:
        calibration, source = load_calibration(calibration_path), os.fspath(calibration_path)
        where = source
    cameras = {(d, s): _place(recording, calibration, d, s, where) for d, s in streams}
    unplaced = {}
    for d, s in optional:
        if (d, s) in cameras:
            continue
        try:
            cameras[(d, s)] = _place(recording, calibration, d, s, where)
        except OtherImagesError:
            raise  # a calibration for other images is wrong, not a camera to leave out
        except OptionError as err:
            unplaced[f"{d}/{s}"] = err.problem
    return ExportCameras(calibration, source, cameras, unplaced)


def depth_streams(recording: Recording) -> list[tuple[str, str]]:
    """The recording's depth streams (encoding ``16UC1`` or ``32FC1``)."""
    return [(s.device, s.stream) for s in recording.streams if s.encoding in DEPTH_METER]


def picture_streams(recording: Recording) -> list[tuple[str, str]]:
    """The streams a photogrammetry or radiance-field tool takes: 8-bit colour or grey, not depth, not 16-bit IR."""
    return [(s.device, s.stream) for s in recording.streams
            if s.encoding not in DEPTH_METER and s.encoding != "mono16"]


def quaternion_wxyz(rotation: F64) -> tuple[float, float, float, float]:
    """The unit quaternion ``(w, x, y, z)`` of a 3x3 rotation, ``w >= 0`` (Shepperd's method, stable everywhere)."""
    r = np.asarray(rotation, dtype=np.float64)
    trace = r[0, 0] + r[1, 1] + r[2, 2]
    i = int(np.argmax([trace, r[0, 0], r[1, 1], r[2, 2]]))
    if i == 0:
        s = 2.0 * np.sqrt(1.0 + trace)
        q = (0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s)
    elif i == 1:
        s = 2.0 * np.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2])
        q = ((r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s)
    elif i == 2:
        s = 2.0 * np.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2])
        q = ((r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s)
    else:
        s = 2.0 * np.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1])
        q = ((r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s)
    sign = -1.0 if q[0] < 0 else 1.0
    n = float(np.linalg.norm(q))
    return (sign * q[0] / n, sign * q[1] / n, sign * q[2] / n, sign * q[3] / n)


def distortion_k1_k6_p1_p2(k: Intrinsics, key: str) -> dict[str, float]:
    """OpenCV's ``k1 k2 p1 p2 k3 k4 k5 k6`` of ``plumb_bob`` or ``rational_polynomial`` intrinsics by name."""
    names = ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")
    if k.distortion_model not in ("plumb_bob", "rational_polynomial") or len(k.distortion) > len(names):
        raise RigsyncError(f"{key}: distortion model {k.distortion_model!r} with {len(k.distortion)} coefficients "
                           "cannot be exported (allowed: plumb_bob, rational_polynomial)")
    values = dict.fromkeys(names, 0.0)
    values.update(zip(names, (float(v) for v in k.distortion), strict=False))
    return values
